//! A metric's series over the runs of a group, step by step: the band a chart draws.
//!
//! **How series are aligned.** The band's steps are the union of every run's steps. At a
//! step `s`, a run takes part when `s` lies within its own first and last step, with its
//! latest value at or before `s`. Runs that share their steps (the usual case: the same
//! parameters evaluate at the same steps) are thus aligned exactly, a run that ended early
//! leaves the band after its last step (`n` falls), and a run evaluated on other steps holds
//! its last value until its next point. Non-finite values take no part.

use super::Stats;

/// One step of a band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    pub step: u64,
    pub stats: Stats,
}

/// The band of `runs` (each a run's `(step, value)` points in step order), aligned as the
/// module says.
pub fn band(runs: &[Vec<(u64, f64)>]) -> Vec<BandPoint> {
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

/// The range a metric's values can take, by its name (and experiment): accuracies lie in
/// [0, 1], losses, errors, norms and variances at or above 0 (E4's loss, -zᵀN(x), in
/// [-1, 1]). A band's edge beyond it (the mean ± sd of values near a bound) is drawn at the
/// bound. `None` on a side that has no bound known.
pub fn metric_bounds(experiment: &str, metric: &str) -> (Option<f64>, Option<f64>) {
    let name = metric
        .rsplit('/')
        .next()
        .unwrap_or(metric)
        .to_ascii_lowercase();
    if name.ends_with("accuracy") {
        return (Some(0.0), Some(1.0));
    }
    if name.contains("loss") && experiment == "E4" {
        return (Some(-1.0), Some(1.0));
    }
    let non_negative = ["loss", "mse", "mae", "rmse", "error", "err", "norm"]
        .iter()
        .any(|w| name.contains(w))
        || (name.contains("var") && !name.starts_with("log"));
    if non_negative {
        return (Some(0.0), None);
    }
    (None, None)
}

/// `(lo, hi)` brought within `bounds`.
pub fn clip((lo, hi): (f64, f64), bounds: (Option<f64>, Option<f64>)) -> (f64, f64) {
    let up = |v: f64| bounds.0.map_or(v, |b| v.max(b));
    let down = |v: f64| bounds.1.map_or(v, |b| v.min(b));
    (down(up(lo)), down(up(hi)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn bands_of_runs_on_the_same_steps_are_aligned_exactly() {
        let a = vec![(0, 1.0), (10, 2.0), (20, 3.0)];
        let b = vec![(0, 3.0), (10, 6.0), (20, 5.0)];
        let band = band(&[a, b]);
        let steps: Vec<u64> = band.iter().map(|p| p.step).collect();
        assert_eq!(steps, vec![0, 10, 20]);
        assert!(close(band[1].stats.mean, 4.0));
        assert!(close(band[1].stats.sd, 8f64.sqrt()));
        assert_eq!((band[2].stats.min, band[2].stats.max), (3.0, 5.0));
    }

    #[test]
    fn bands_of_runs_of_other_lengths_and_steps_hold_values_within_each_run() {
        // a: 0..30 every 10; b: steps 0 and 15 only (ends at 15); c starts at 10
        let a = vec![(0, 1.0), (10, 2.0), (20, 3.0), (30, 4.0)];
        let b = vec![(0, 10.0), (15, 20.0)];
        let c = vec![(10, 5.0), (30, 7.0)];
        let band = band(&[a, b, c]);
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
        assert!(band(&[Vec::new()]).is_empty());
    }

    #[test]
    fn bands_stay_within_what_a_metric_can_be() {
        let acc = metric_bounds("E1", "test_accuracy");
        assert_eq!(acc, (Some(0.0), Some(1.0)));
        // 0.9 +- 0.25 of an accuracy is drawn from 0.65 to 1, not to 1.15
        assert_eq!(clip((0.65, 1.15), acc), (0.65, 1.0));
        assert_eq!(
            metric_bounds("E2", "dec/test_accuracy"),
            (Some(0.0), Some(1.0))
        );
        assert_eq!(
            metric_bounds("E4", "e2e/test_loss"),
            (Some(-1.0), Some(1.0))
        );
        assert_eq!(metric_bounds("E1", "train_loss"), (Some(0.0), None));
        assert_eq!(clip((-0.2, 0.4), (Some(0.0), None)), (0.0, 0.4));
        assert_eq!(metric_bounds("T1", "log2_var"), (None, None));
        assert_eq!(metric_bounds("E3", "e2e/grad_snr"), (None, None));
        assert_eq!(clip((-3.0, 3.0), (None, None)), (-3.0, 3.0));
    }
}
