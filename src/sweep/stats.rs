//! Statistics over the runs of a group: a summary metric's mean, sample standard deviation,
//! min and max, and a metric's series as a band (the same, step by step).
//!
//! **How series are aligned.** The band's steps are the union of every run's steps. At a
//! step `s`, a run takes part when `s` lies within its own first and last step, with its
//! latest value at or before `s`. Runs that share their steps (the usual case: the same
//! parameters evaluate at the same steps) are thus aligned exactly, a run that ended early
//! leaves the band after its last step (`n` falls), and a run evaluated on other steps holds
//! its last value until its next point. Non-finite values take no part.

use crate::engine::Series;

/// Mean, sample standard deviation (n - 1; 0 for one value), min, max and count.
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

    pub fn to_json(&self) -> serde_json::Value {
        use crate::experiments::ctx::json_number;
        serde_json::json!({
            "mean": json_number(self.mean), "sd": json_number(self.sd),
            "min": json_number(self.min), "max": json_number(self.max), "n": self.n,
        })
    }
}

/// One step of a band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    pub step: u64,
    pub stats: Stats,
}

/// The band of `series` (one per run), aligned as the module says.
pub fn band(series: &[&Series]) -> Vec<BandPoint> {
    let runs: Vec<Vec<(u64, f64)>> = series
        .iter()
        .map(|s| s.points().map(|p| (p.step, p.value)).collect())
        .collect();
    let mut steps: Vec<u64> = runs.iter().flatten().map(|(s, _)| *s).collect();
    steps.sort_unstable();
    steps.dedup();
    // one cursor per run: the index of its latest point at or before the current step
    let mut cursor: Vec<Option<usize>> = vec![None; runs.len()];
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let mut values = Vec::with_capacity(runs.len());
        for (r, pts) in runs.iter().enumerate() {
            let mut i = cursor[r];
            while pts.get(i.map_or(0, |i| i + 1)).is_some_and(|p| p.0 <= step) {
                i = Some(i.map_or(0, |i| i + 1));
            }
            cursor[r] = i;
            let within = pts.last().is_some_and(|last| step <= last.0);
            if let (Some(i), true) = (i, within) {
                values.push(pts[i].1);
            }
        }
        if let Some(stats) = Stats::of(values) {
            out.push(BandPoint { step, stats });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(points: &[(u64, f64)]) -> Series {
        let mut s = Series::default();
        for &(step, v) in points {
            s.push(step, v);
        }
        s
    }

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
    }

    #[test]
    fn one_value_has_no_spread_and_non_finite_values_are_left_out() {
        let s = Stats::of([0.75]).unwrap();
        assert_eq!(
            (s.n, s.mean, s.sd, s.min, s.max),
            (1, 0.75, 0.0, 0.75, 0.75)
        );
        let s = Stats::of([1.0, f64::NAN, 3.0, f64::INFINITY]).unwrap();
        assert_eq!((s.n, s.mean), (2, 2.0));
        assert!(close(s.sd, 2f64.sqrt()));
        assert!(Stats::of([f64::NAN]).is_none());
        assert!(Stats::of(Vec::new()).is_none());
    }

    #[test]
    fn bands_of_runs_on_the_same_steps_are_aligned_exactly() {
        let a = series(&[(0, 1.0), (10, 2.0), (20, 3.0)]);
        let b = series(&[(0, 3.0), (10, 6.0), (20, 5.0)]);
        let band = band(&[&a, &b]);
        let steps: Vec<u64> = band.iter().map(|p| p.step).collect();
        assert_eq!(steps, vec![0, 10, 20]);
        assert!(close(band[1].stats.mean, 4.0));
        assert!(close(band[1].stats.sd, 8f64.sqrt()));
        assert_eq!((band[2].stats.min, band[2].stats.max), (3.0, 5.0));
    }

    #[test]
    fn bands_of_runs_of_other_lengths_and_steps_hold_values_within_each_run() {
        // a: 0..30 every 10; b: steps 0 and 15 only (ends at 15); c starts at 10
        let a = series(&[(0, 1.0), (10, 2.0), (20, 3.0), (30, 4.0)]);
        let b = series(&[(0, 10.0), (15, 20.0)]);
        let c = series(&[(10, 5.0), (30, 7.0)]);
        let band = band(&[&a, &b, &c]);
        let got: Vec<(u64, usize, f64)> = band
            .iter()
            .map(|p| (p.step, p.stats.n, p.stats.mean))
            .collect();
        let want = [
            (0, 2, 5.5),                       // a 1, b 10; c has not started
            (10, 3, (2.0 + 10.0 + 5.0) / 3.0), // b holds 10
            (15, 3, (2.0 + 20.0 + 5.0) / 3.0), // a holds 2, c holds 5
            (20, 2, (3.0 + 5.0) / 2.0),        // b ended at 15
            (30, 2, (4.0 + 7.0) / 2.0),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0, g.1), (w.0, w.1), "{got:?}");
            assert!(close(g.2, w.2), "{got:?}");
        }
        assert_eq!((band[2].stats.min, band[2].stats.max), (2.0, 20.0));
        assert!(band.iter().all(|p| p.stats.sd >= 0.0));
        assert!(close(band[3].stats.sd, 2f64.sqrt()));
    }

    #[test]
    fn a_band_of_no_runs_is_empty() {
        assert!(band(&[]).is_empty());
        let empty = Series::default();
        assert!(band(&[&empty]).is_empty());
    }
}
