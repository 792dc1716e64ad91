//! The checks of part 1: E1's learning curves at d = 5, 10 and 30, T1's ratio to the bound and
//! its slope in d, and L3's accuracy on every input.

use crate::experiments::check::{Budget, CheckOutcome};
use crate::experiments::common::{
    first_reaching, fmt_steps, least_squares_slope, mean, run_collect,
};

/// The check of E1.
pub fn e1(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let full = budget == Budget::Full;
    let mut details = Vec::new();
    let (mut pass, mut measured) = e1_d5(full, progress, &mut details)?;
    let (ok, m) = e1_d10(full, progress, &mut details)?;
    pass &= ok;
    measured.push_str(&m);
    let (ok, m) = e1_d30(full, progress, &mut details)?;
    pass &= ok;
    measured.push_str(&m);
    Ok(CheckOutcome {
        id: "E1",
        paper: if full {
            "d=5 >=0.99 by 2.1k; d=10 >=0.95 at 9.5k; d=30 in [0.43,0.57] for 50k (no more evals outside than sampling gives)".into()
        } else {
            "d=5 (|S|=3) >=0.99 within 5k; d=10 5k steps (not judged); d=30 at chance, in [0.43,0.57] (no more evals outside than sampling gives)".into()
        },
        measured,
        pass,
        details,
    })
}

/// d = 5: >= 0.99 within 5,000 iterations, every seed. The quick budget fixes
/// |S| = ceil(d/2) = 3 (the spec's choice for reproducible demos): with |S| drawn from
/// Binomial(5, 1/2) the full parity |S| = 5 comes up one time in 31 and needs ~5,000
/// iterations, too close to the limit for a check that must not flake.
fn e1_d5(
    full: bool,
    progress: &mut dyn FnMut(&str),
    details: &mut Vec<String>,
) -> Result<(bool, String), String> {
    let seeds5: &[u64] = if full { &[0, 1, 2] } else { &[0, 1] };
    let subset5 = if full { "0" } else { "3" };
    let mut pass = true;
    let mut hits5 = Vec::new();
    for &seed in seeds5 {
        progress(&format!("E1 d = 5, seed {seed}"));
        let c = run_collect(
            "E1",
            &[
                ("d", "5"),
                ("steps", "5000"),
                ("eval_every", "10"),
                ("subset_size", subset5),
                ("snr_samples", "0"),
            ],
            seed,
        )?
        .ctx;
        let hit = first_reaching(c.series("test_accuracy"), 0.99);
        pass &= hit.is_some();
        details.push(format!(
            "d = 5, seed {seed}: accuracy >= 0.99 at {}",
            fmt_steps(hit)
        ));
        hits5.push(fmt_steps(hit));
    }
    Ok((pass, format!("d=5: 0.99 at {}", hits5.join(", "))))
}

/// Iterations of the quick budget's d = 10 run.
const E1_QUICK_D10_STEPS: u64 = 5000;

/// d = 10. Full: >= 0.95 within 25,000 iterations on at least 2 of 3 seeds. Quick: one seed
/// for 5,000 iterations, reported and not judged (the paper's d = 10 curve gets to 0.95 near
/// 9,500): it is there so that the quick runs draw Figure 1's three curves, d = 5, 10, 30.
fn e1_d10(
    full: bool,
    progress: &mut dyn FnMut(&str),
    details: &mut Vec<String>,
) -> Result<(bool, String), String> {
    let (seeds, steps) = if full {
        (0..3u64, 25_000)
    } else {
        (0..1, E1_QUICK_D10_STEPS)
    };
    let steps_text = steps.to_string();
    let mut ok = 0;
    let mut hits = Vec::new();
    for seed in seeds {
        progress(&format!("E1 d = 10, seed {seed}, {steps} steps"));
        let c = run_collect(
            "E1",
            &[
                ("d", "10"),
                ("steps", steps_text.as_str()),
                ("eval_every", "50"),
            ],
            seed,
        )?
        .ctx;
        let acc = c.series("test_accuracy");
        let hit = first_reaching(acc, 0.95);
        ok += usize::from(hit.is_some());
        if full {
            details.push(format!(
                "d = 10, seed {seed}: accuracy >= 0.95 at {}",
                fmt_steps(hit)
            ));
            hits.push(fmt_steps(hit));
        } else {
            let last = acc.last().map_or(f64::NAN, |p| p.1);
            let best = acc.iter().map(|p| p.1).fold(f64::NAN, f64::max);
            details.push(format!(
                "d = 10, seed {seed}, {steps} steps (reported, not judged: Figure 1's middle \
                 curve; the paper reaches 0.95 near 9,500): accuracy {last:.3} at the end, best \
                 {best:.3}, >= 0.95 at {}",
                fmt_steps(hit)
            ));
            hits.push(format!("{last:.2}"));
        }
    }
    if full {
        Ok((ok >= 2, format!("; d=10: 0.95 at {}", hits.join(", "))))
    } else {
        Ok((
            true,
            format!("; d=10: {} at {}", hits.join(", "), fmt_steps(Some(steps))),
        ))
    }
}

/// The band of accuracies E1's check calls chance at d = 30 (the paper's range over 50k
/// iterations), for evaluations of [`E1_EVAL_SAMPLES`] fresh samples each.
pub const E1_CHANCE: (f64, f64) = (0.43, 0.57);

/// Samples per evaluation of E1's check (the experiment's default, the spec's 500).
pub const E1_EVAL_SAMPLES: u64 = 500;

/// The largest share of a run that sampling alone may push out of the band before the run
/// no longer counts as at chance: a false alarm on at most 1% of runs that are at chance.
const E1_FALSE_ALARM: f64 = 0.01;

/// A run's evaluations against [`E1_CHANCE`]. Each evaluation is `n` fresh samples, so even
/// a network at chance has each one outside the band with a small probability (0.0015 at
/// n = 500), and over 50,000 iterations' 501 evaluations some fall outside more often than
/// not. The run is at chance when no more fall outside than sampling alone puts there at
/// most 99 runs in 100 (see [`E1_FALSE_ALARM`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChanceBand {
    /// Evaluations outside the band.
    pub outside: usize,
    /// Evaluations in all.
    pub evaluations: usize,
    /// How many sampling alone puts outside, on average, for a network at chance.
    pub expected: f64,
    /// The most that sampling alone puts outside in 99 runs of 100.
    pub allowed: usize,
}

impl ChanceBand {
    /// Judges `evals`, each an accuracy on `n` fresh samples, against [`E1_CHANCE`].
    pub fn judge(evals: &[f64], n: u64) -> Self {
        let (lo, hi) = E1_CHANCE;
        let outside = evals.iter().filter(|&&a| a < lo || a > hi).count();
        let p = binomial_half_outside(n, lo, hi);
        let evaluations = evals.len();
        Self {
            outside,
            evaluations,
            expected: p * evaluations as f64,
            allowed: binomial_quantile(evaluations, p, 1.0 - E1_FALSE_ALARM),
        }
    }

    pub fn holds(&self) -> bool {
        self.outside <= self.allowed
    }
}

/// P(X/n < lo or X/n > hi) for X ~ Binomial(n, 1/2): how often an evaluation of a network at
/// chance on n fresh samples falls outside [lo, hi].
pub fn binomial_half_outside(n: u64, lo: f64, hi: f64) -> f64 {
    let ln_half_n = n as f64 * 0.5f64.ln();
    // ln C(n, k), built up k by k
    let mut ln_c = 0.0;
    let mut p = 0.0;
    for k in 0..=n {
        if k > 0 {
            ln_c += ((n - k + 1) as f64).ln() - (k as f64).ln();
        }
        let acc = k as f64 / n as f64;
        if acc < lo || acc > hi {
            p += (ln_c + ln_half_n).exp();
        }
    }
    p.min(1.0)
}

/// The smallest m with P(Y <= m) >= q for Y ~ Binomial(trials, p).
pub fn binomial_quantile(trials: usize, p: f64, q: f64) -> usize {
    if p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return trials;
    }
    // pmf(0) = (1 - p)^trials, then pmf(m) = pmf(m - 1) (trials - m + 1) / m p / (1 - p)
    let mut pmf = (trials as f64 * (1.0 - p).ln()).exp();
    let mut cdf = pmf;
    let mut m = 0;
    while cdf < q && m < trials {
        m += 1;
        pmf *= (trials - m + 1) as f64 / m as f64 * p / (1.0 - p);
        cdf += pmf;
    }
    m
}

/// d = 30: at chance by [`ChanceBand`] (no more evaluations outside [`E1_CHANCE`] than
/// sampling alone gives); (full) mean after 10k within 0.50 +- 0.02.
fn e1_d30(
    full: bool,
    progress: &mut dyn FnMut(&str),
    details: &mut Vec<String>,
) -> Result<(bool, String), String> {
    let steps30 = if full { "50000" } else { "5000" };
    progress(&format!("E1 d = 30, {steps30} steps"));
    let c = run_collect(
        "E1",
        &[("d", "30"), ("steps", steps30), ("eval_every", "100")],
        0,
    )?
    .ctx;
    let evals = c.series("test_accuracy");
    let lo = evals.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = evals.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let (low, high) = E1_CHANCE;
    let accs: Vec<f64> = evals.iter().map(|p| p.1).collect();
    let band = ChanceBand::judge(&accs, E1_EVAL_SAMPLES);
    let mut pass = !accs.is_empty() && band.holds();
    details.push(format!(
        "d = 30: {} evaluations over {steps30} steps in [{lo:.3}, {hi:.3}]; {} outside \
         [{low:.2}, {high:.2}] (sampling alone, {E1_EVAL_SAMPLES} samples each: {:.2} on \
         average, at most {} in 99 runs of 100)",
        evals.len(),
        band.outside,
        band.expected,
        band.allowed
    ));
    let mut measured = format!(
        "; d=30: [{lo:.2}, {hi:.2}], {}/{} outside (chance {:.2}, <= {})",
        band.outside, band.evaluations, band.expected, band.allowed
    );
    if full {
        let late: Vec<f64> = evals.iter().filter(|p| p.0 > 10_000).map(|p| p.1).collect();
        let mean = mean(&late);
        pass &= (mean - 0.5).abs() <= 0.02;
        details.push(format!(
            "d = 30: mean after 10k = {mean:.4} (allowed 0.50 +- 0.02)"
        ));
        measured.push_str(&format!(", mean {mean:.3}"));
    }
    Ok((pass, measured))
}

/// The check of T1.
pub fn t1(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let d_max = if budget == Budget::Full { "14" } else { "12" };
    progress(&format!("T1 d = 4..{d_max}, 16 initialisations each"));
    let c = run_collect(
        "T1",
        &[("d_min", "4"), ("d_max", d_max), ("inits", "16")],
        0,
    )?
    .ctx;
    let ratios = c.series("ratio");
    let singles = c.series("ratio_max_init");
    let mut details = Vec::new();
    let mut pass = !ratios.is_empty();
    // the theorem: no single initialisation exceeds the bound
    for (&(d, r), &(_, top)) in ratios.iter().zip(singles) {
        let bound_ok = top <= 1.0 + 1e-9;
        // the spec: the (averaged) ratio stays in [0.9, 1] for d >= 6
        let near_ok = d < 6 || (0.9..=1.0 + 1e-9).contains(&r);
        pass &= bound_ok && near_ok;
        details.push(format!(
            "d = {d:2}: mean Var / mean (G^2/2^d) = {r:.4}, largest single init {top:.4}{}",
            if !bound_ok {
                "  <- above the bound"
            } else if !near_ok {
                "  <- outside [0.9, 1]"
            } else {
                ""
            }
        ));
    }
    let lv = c.series("log2_var");
    let pts: Vec<(f64, f64)> = lv
        .iter()
        .filter(|p| p.0 >= 6)
        .map(|p| (p.0 as f64, p.1))
        .collect();
    let slope = least_squares_slope(&pts);
    let slope_ok = (-1.1..=-0.7).contains(&slope);
    pass &= slope_ok;
    details.push(format!(
        "slope of log2 Var per unit of d (d >= 6): {slope:.3} (allowed [-1.1, -0.7])"
    ));
    let six: Vec<f64> = ratios.iter().filter(|p| p.0 >= 6).map(|p| p.1).collect();
    let lo = six.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = six.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let top = singles.iter().map(|p| p.1).fold(0.0f64, f64::max);
    Ok(CheckOutcome {
        id: "T1",
        paper: "Var <= G^2/2^d; ratio 0.9..1 for d>=6 (reference computation: 0.94..0.999)".into(),
        measured: format!(
            "max single-init ratio {top:.3}; ratio {lo:.3}..{hi:.3} for d=6..{d_max}; slope {slope:.2}"
        ),
        pass,
        details,
    })
}

/// The check of L3.
pub fn l3(_budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    progress("L3 d = 2..12");
    let c = run_collect("L3", &[("d_min", "2"), ("d_max", "12"), ("trials", "5")], 0)?.ctx;
    let acc = c.series("accuracy");
    let worst = acc.iter().map(|p| p.1).fold(1.0f64, f64::min);
    let details = acc
        .iter()
        .map(|(d, a)| format!("d = {d:2}: worst accuracy over 5 random v* = {a:.4}"))
        .collect();
    Ok(CheckOutcome {
        id: "L3",
        paper: "width 3(d/2+1) ReLU net is 100% on every parity (with the e=0 triad)".into(),
        measured: format!(
            "worst accuracy {:.1}% over d=2..12, 5 v* each",
            worst * 100.0
        ),
        pass: acc.len() == 11 && worst == 1.0,
        details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_evaluation_of_a_coin_on_500_samples_leaves_the_band_once_in_680() {
        // exact: sum of C(500, k) / 2^500 over k/500 < 0.43 or > 0.57
        let p = binomial_half_outside(500, 0.43, 0.57);
        assert!((p - 0.001_472_457_6).abs() < 1e-9, "{p}");
        // a band that takes in every accuracy leaves nothing outside
        assert_eq!(binomial_half_outside(500, 0.0, 1.0), 0.0);
        // 501 evaluations (50,000 iterations): 0.74 outside on average, at most 3 in 99
        // runs of 100; 51 (5,000 iterations): at most 1
        assert_eq!(binomial_quantile(501, p, 0.99), 3);
        assert_eq!(binomial_quantile(51, p, 0.99), 1);
        assert_eq!(binomial_quantile(10, 0.0, 0.99), 0);
        assert_eq!(binomial_quantile(10, 1.0, 0.99), 10);
    }

    #[test]
    fn a_run_at_chance_may_leave_the_band_as_often_as_sampling_does_and_no_more() {
        // 501 evaluations at 0.5 but one at 0.58, as a coin gives in about half its runs
        let mut evals = vec![0.5; 501];
        evals[235] = 0.58;
        let band = ChanceBand::judge(&evals, 500);
        assert_eq!((band.outside, band.evaluations, band.allowed), (1, 501, 3));
        assert!((band.expected - 0.7377).abs() < 1e-3, "{band:?}");
        assert!(band.holds());
        // a run that learns a little for a stretch is not at chance
        for e in &mut evals[300..304] {
            *e = 0.60;
        }
        let band = ChanceBand::judge(&evals, 500);
        assert_eq!(band.outside, 5);
        assert!(!band.holds());
        // with more samples per evaluation the band is wider than sampling needs: nothing
        // may leave it
        let band = ChanceBand::judge(&[0.5, 0.58], 20_000);
        assert_eq!(band.allowed, 0);
        assert!(!band.holds());
    }
}
