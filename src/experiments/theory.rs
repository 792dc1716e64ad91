//! What the paper's theory predicts for a run's metric, as curves to draw beside it: each
//! check's formula where it applies, named with the formula. One place for every formula;
//! the charts (`fail-lab plot`, the lab) only draw what this returns.
//!
//! - T1 (Theorem 1): `Var ≤ G²/2^d` over d: the run's own `log2_bound` (log2 G²/2^d at each
//!   d) under its `log2_var`, and the bound 1 under `ratio = Var / (G²/2^d)`;
//! - E4 (§3.3): at initialisation the end-to-end gradient's variance is about k times the
//!   decomposition's with the same mean, so `init/snr_ratio = SNR_Dec / SNR_E2E = k`;
//! - E5 (Theorem 3): `cond(WᵀW) = Ω(n^3.5)`: the curve `c·n^3.5` with `c` fitted to the run's
//!   points (least squares in log, the exponent held at 3.5), so that a steeper growth (the
//!   measured one is close to n⁴) shows as a departure from it;
//! - every gradient SNR chart (E2, E3, E4): the float32 precision floor, `2^-23`, below which
//!   a signal in 32-bit floats is lost (E3's caption: the end-to-end SNR for k ≥ 3).
//!
//! E3's SNR ratio has no formula in the paper (its check bounds it, `≤ 0.05` at k = 2), so
//! none is drawn for it.

/// A curve the theory predicts: its legend (the formula, and where it comes from) and its
/// points, in the metric's coordinates (x as the run records it: d, k or n).
#[derive(Debug, Clone, PartialEq)]
pub struct TheoryCurve {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// What a run's metric is recorded against, its x axis: steps for training, or the quantity a
/// measuring experiment steps through (T1's d, E3's and E4's initial SNR over k, E5's n).
pub fn x_axis(experiment: &str, metric: &str) -> &'static str {
    match experiment {
        "T1" => "d",
        "E3" => "k",
        "E5" => "n",
        "E4" if metric.starts_with("init/") => "k",
        _ => "step",
    }
}

/// The precision of a 32-bit float, `2^-23` (its machine epsilon).
pub const FLOAT32_EPS: f64 = f32::EPSILON as f64;

/// The exponent of Theorem 3's lower bound on cond(WᵀW) in n.
pub const COND_EXPONENT: f64 = 3.5;

/// True for a gradient signal-to-noise metric (`e2e/grad_snr`, `init/snr_dec`), not its
/// standard error or a ratio of two.
pub fn is_snr(metric: &str) -> bool {
    let last = metric.rsplit('/').next().unwrap_or(metric);
    last.contains("snr") && !last.ends_with("_se") && !last.contains("ratio")
}

/// The constant `c` of `c·n^e` closest to the points in log (each point's `ln y − e·ln n`
/// averaged); `None` without a point where both are positive.
pub fn fit_constant(points: &[(f64, f64)], exponent: f64) -> Option<f64> {
    let logs: Vec<f64> = points
        .iter()
        .filter(|(n, y)| *n > 0.0 && *y > 0.0 && y.is_finite())
        .map(|(n, y)| y.ln() - exponent * n.ln())
        .collect();
    (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp())
}

/// A horizontal line at `y` over the x range of `points`.
fn level(label: String, y: f64, points: &[(f64, f64)]) -> Option<TheoryCurve> {
    let (lo, hi) = points
        .iter()
        .map(|p| p.0)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    lo.is_finite().then(|| TheoryCurve {
        label,
        points: vec![(lo, y), (hi, y)],
    })
}

/// The theory's curves for `metric` of a run of `experiment`; `series(name)` gives the run's
/// points of a metric (empty when it has none). Empty where no formula applies.
pub fn theory(
    experiment: &str,
    metric: &str,
    series: &dyn Fn(&str) -> Vec<(f64, f64)>,
) -> Vec<TheoryCurve> {
    let own = series(metric);
    if own.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    match (experiment, metric) {
        ("T1", "log2_var") => {
            let bound = series("log2_bound");
            if !bound.is_empty() {
                out.push(TheoryCurve {
                    label: "Theorem 1: Var ≤ G²/2^d (log2)".into(),
                    points: bound,
                });
            }
        }
        ("T1", "ratio") => out.extend(level("Theorem 1: Var / (G²/2^d) ≤ 1".into(), 1.0, &own)),
        ("E4", "init/snr_ratio") => out.push(TheoryCurve {
            label: "§3.3: SNR_Dec / SNR_E2E = k".into(),
            points: own.iter().map(|&(k, _)| (k, k)).collect(),
        }),
        ("E5", "cond_wtw") => {
            if let Some(c) = fit_constant(&own, COND_EXPONENT) {
                let (lo, hi) = own
                    .iter()
                    .map(|p| p.0)
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                        (a.min(x), b.max(x))
                    });
                let points = (0..=32)
                    .map(|i| {
                        let n = lo * (hi / lo).powf(i as f64 / 32.0);
                        (n, c * n.powf(COND_EXPONENT))
                    })
                    .collect();
                out.push(TheoryCurve {
                    label: format!(
                        "Theorem 3: c·n^3.5, c = {} fitted",
                        crate::stats::format::value(c)
                    ),
                    points,
                });
            }
        }
        _ => {}
    }
    if is_snr(metric) {
        out.extend(level(
            "float32 precision: 2^-23 ≈ 1.19e-7".into(),
            FLOAT32_EPS,
            &own,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of<'a>(metrics: &'a [(&'a str, Vec<(f64, f64)>)]) -> impl Fn(&str) -> Vec<(f64, f64)> + 'a {
        move |name: &str| {
            metrics
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, p)| p.clone())
                .unwrap_or_default()
        }
    }

    #[test]
    fn measuring_experiments_name_what_they_step_through() {
        assert_eq!(x_axis("E1", "test_accuracy"), "step");
        assert_eq!(x_axis("T1", "log2_var"), "d");
        assert_eq!(x_axis("E5", "cond_wtw"), "n");
        assert_eq!(x_axis("E4", "init/snr_ratio"), "k");
        assert_eq!(x_axis("E4", "e2e/loss"), "step");
    }

    #[test]
    fn t1_draws_its_bound_under_the_variance_and_1_under_the_ratio() {
        let m = [
            ("log2_var", vec![(4.0, 0.1), (6.0, -1.9)]),
            ("log2_bound", vec![(4.0, 0.2), (6.0, -1.8)]),
            ("ratio", vec![(4.0, 0.94), (6.0, 0.96)]),
        ];
        let t = theory("T1", "log2_var", &of(&m));
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].label, "Theorem 1: Var ≤ G²/2^d (log2)");
        assert_eq!(t[0].points, vec![(4.0, 0.2), (6.0, -1.8)]);
        let r = theory("T1", "ratio", &of(&m));
        assert_eq!(r[0].points, vec![(4.0, 1.0), (6.0, 1.0)]);
        // a metric the theory says nothing of, or one the run lacks
        assert!(theory("T1", "ratio_min_init", &of(&m)).is_empty());
        assert!(theory("E1", "test_accuracy", &of(&m)).is_empty());
    }

    #[test]
    fn e4s_ratio_is_k_and_snr_charts_get_the_float32_floor() {
        let m = [
            ("init/snr_ratio", vec![(10.0, 10.02), (100.0, 99.8)]),
            ("init/snr_e2e", vec![(10.0, 1.1e-4), (100.0, 9.8e-6)]),
            ("e2e/grad_snr", vec![(1.0, 1e-4), (4.0, 0.0)]),
        ];
        let t = theory("E4", "init/snr_ratio", &of(&m));
        assert_eq!(t.len(), 1, "a ratio is no SNR: no floor");
        assert_eq!(t[0].points, vec![(10.0, 10.0), (100.0, 100.0)]);
        assert!(t[0].label.contains("= k"));
        let f = theory("E4", "init/snr_e2e", &of(&m));
        assert_eq!(f[0].points, vec![(10.0, FLOAT32_EPS), (100.0, FLOAT32_EPS)]);
        assert_eq!(FLOAT32_EPS, 2f64.powi(-23));
        assert!(f[0].label.contains("2^-23"));
        assert_eq!(theory("E3", "e2e/grad_snr", &of(&m)).len(), 1);
        assert!(!is_snr("e2e/grad_snr_se") && !is_snr("ratio") && is_snr("dec/grad_snr"));
    }

    #[test]
    fn e5s_curve_is_c_n_to_the_3_5_through_the_points() {
        // exactly 2·n^3.5: c = 2, the curve through every point
        let pts: Vec<(f64, f64)> = [25.0f64, 50.0, 100.0]
            .iter()
            .map(|&n| (n, 2.0 * n.powf(3.5)))
            .collect();
        assert!((fit_constant(&pts, 3.5).unwrap() - 2.0).abs() < 1e-9);
        let m = [("cond_wtw", pts)];
        let t = theory("E5", "cond_wtw", &of(&m));
        assert_eq!(t[0].label, "Theorem 3: c·n^3.5, c = 2 fitted");
        let (n0, y0) = t[0].points[0];
        let (n1, y1) = *t[0].points.last().unwrap();
        assert_eq!((n0, n1), (25.0, 100.0));
        assert!((y0 / (2.0 * 25f64.powf(3.5)) - 1.0).abs() < 1e-9);
        assert!((y1 / (2.0 * 100f64.powf(3.5)) - 1.0).abs() < 1e-9);
        // the table of the specification: 5.9e5, 8.7e6, 1.35e8, 2.1e9 at n = 25..200 grow
        // faster than n^3.5: the fitted curve lies under the largest n's value
        let spec = [
            (25.0, 5.9e5),
            (50.0, 8.7e6),
            (100.0, 1.35e8),
            (200.0, 2.1e9),
        ];
        let c = fit_constant(&spec, 3.5).unwrap();
        assert!(c * 200f64.powf(3.5) < 2.1e9 && c * 25f64.powf(3.5) > 5.9e5);
    }
}
