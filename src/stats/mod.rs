//! Every statistic fail-lab shows, in one place, so that the sweep table, the exports, the
//! lab, the plots and `reproduce` cannot disagree: a result's mean, sample standard deviation,
//! range and 95% interval ([`Stats`]); a time to a threshold that some runs never reach, as a
//! success count and a Kaplan–Meier median ([`Survival`]); a metric's band over the steps
//! ([`band`]); least-squares fits ([`fit`]); and how each is written for a person
//! ([`format`]). Nothing here knows of runs, files or screens: it takes numbers.

pub mod band;
pub mod fit;
pub mod format;
mod natural;
pub mod survival;

pub use band::{band, BandPoint};
pub use natural::natural_cmp;
pub use survival::Survival;

/// Mean, sample standard deviation (n - 1; 0 for one value), min, max and count of the
/// finite values of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub n: usize,
    pub mean: f64,
    pub sd: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    /// The statistics of the finite values; `None` when there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stats> {
        let xs: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        if xs.is_empty() {
            return None;
        }
        let n = xs.len();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Stats {
            n,
            mean,
            sd,
            min,
            max,
        })
    }

    /// The 95% confidence interval of the mean, t-based (Student's t with n - 1 degrees of
    /// freedom times sd / sqrt(n)); `None` for fewer than two values.
    pub fn ci95(&self) -> Option<(f64, f64)> {
        if self.n < 2 {
            return None;
        }
        let half = t_975(self.n - 1) * self.sd / (self.n as f64).sqrt();
        Some((self.mean - half, self.mean + half))
    }

    /// `{"mean", "sd", "min", "max", "n"}`, non-finite values as strings.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "mean": json_number(self.mean), "sd": json_number(self.sd),
            "min": json_number(self.min), "max": json_number(self.max), "n": self.n,
        })
    }
}

/// A float as JSON, non-finite values as strings (`"NaN"`, `"inf"`), as the run files write
/// them.
pub fn json_number(v: f64) -> serde_json::Value {
    if v.is_finite() {
        serde_json::json!(v)
    } else {
        serde_json::json!(v.to_string())
    }
}

/// The mean of a sample (NaN when it is empty).
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// The median of a sample: the middle value, or the mean of the two middle values (NaN when
/// it is empty).
pub fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.to_vec();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (the half-width factor of a
/// 95% interval): the table's values to 3 decimals up to 30, then the normal's 1.96 with
/// the first correction terms of its expansion in 1/df.
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        _ => {
            // Cornish-Fisher expansion of t around z = 1.959964
            let z = 1.959_964f64;
            let n = df as f64;
            let g1 = (z.powi(3) + z) / 4.0;
            let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
            z + g1 / n + g2 / (n * n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn stats_match_a_hand_computation() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squares of deviations sum to 32, sd = sqrt(32 / 7)
        let s = Stats::of([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.n, 8);
        assert!(close(s.mean, 5.0));
        assert!(close(s.sd, (32.0f64 / 7.0).sqrt()));
        assert_eq!((s.min, s.max), (2.0, 9.0));
        // 95% interval: t(7) = 2.365, sd / sqrt(8) = 0.75593: 5 +- 1.78778
        let (lo, hi) = s.ci95().unwrap();
        assert!((lo - (5.0 - 1.787_78)).abs() < 1e-4, "{lo}");
        assert!((hi - (5.0 + 1.787_78)).abs() < 1e-4, "{hi}");
    }

    #[test]
    fn one_value_has_no_spread_and_non_finite_values_are_left_out() {
        let s = Stats::of([0.75]).unwrap();
        assert_eq!(
            (s.n, s.mean, s.sd, s.min, s.max),
            (1, 0.75, 0.0, 0.75, 0.75)
        );
        assert_eq!(s.ci95(), None);
        let s = Stats::of([1.0, f64::NAN, 3.0, f64::INFINITY]).unwrap();
        assert_eq!((s.n, s.mean), (2, 2.0));
        assert!(close(s.sd, 2f64.sqrt()));
        assert!(Stats::of([f64::NAN]).is_none());
        assert!(Stats::of(Vec::new()).is_none());
    }

    #[test]
    fn t_quantiles_join_the_normal_smoothly() {
        assert_eq!(t_975(1), 12.706);
        assert_eq!(t_975(30), 2.042);
        // tables: t(40) = 2.021, t(60) = 2.000, t(120) = 1.980
        assert!((t_975(40) - 2.021).abs() < 2e-3, "{}", t_975(40));
        assert!((t_975(60) - 2.000).abs() < 2e-3, "{}", t_975(60));
        assert!((t_975(120) - 1.980).abs() < 1e-3, "{}", t_975(120));
        assert!(t_975(31) < t_975(30) && t_975(31) > 1.96);
        assert!(t_975(0).is_nan());
    }

    #[test]
    fn medians_of_odd_and_even_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(mean(&[1.0, 2.0, 6.0]), 3.0);
        assert!(mean(&[]).is_nan());
    }
}
