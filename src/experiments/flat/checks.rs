//! The checks of part 4: E11 stuck or not by b*, E12's error, E13's errors next to the jumps,
//! E14 exact, and the ranking of the four. Runs are shared between the checks.

use super::train::NEAR_STEP;
use crate::experiments::check::{Budget, CheckOutcome};
use crate::experiments::common::{cached_run, mean, summary_value as metric};
use crate::experiments::ctx::Summary;

/// The final numbers of one standalone run, shared between the checks: E14's ranking reuses
/// the runs of E11, E12 and E13.
fn result_of(id: &str, overrides: &[(&str, &str)], seed: u64) -> Result<Summary, String> {
    cached_run(id, overrides, seed)
        .map(|f| f.summary.clone())
        .map_err(|e| e.with_seed())
}

/// Settings the checks use on top of an experiment's defaults: evaluation only at the end
/// matters, and a larger test set at the full budget.
fn check_overrides(budget: Budget) -> Vec<(&'static str, &'static str)> {
    match budget {
        Budget::Quick => vec![("eval_every", "2500"), ("test_samples", "5000")],
        Budget::Full => vec![("eval_every", "1000"), ("test_samples", "20000")],
    }
}

/// Seeds of E12, E13, E14 and the ranking: one at the quick budget, three (the spec's
/// minimum for the ranking) at the full one.
fn seeds(budget: Budget) -> Vec<u64> {
    match budget {
        Budget::Quick => vec![0],
        Budget::Full => vec![0, 1, 2],
    }
}

fn pct(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}

/// E11 in its failing configuration: b initialised at 0, b* fixed at -0.65.
fn e11_failing(budget: Budget, seed: u64) -> Result<Summary, String> {
    let mut o = check_overrides(budget);
    o.extend([("fix_b_star", "true"), ("b_star", "-0.65")]);
    result_of("E11", &o, seed)
}

fn e11_seeds(budget: Budget) -> Vec<u64> {
    match budget {
        Budget::Quick => vec![0],
        Budget::Full => vec![0, 1, 2],
    }
}

/// The check of E11.
pub fn e11(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let mut details = Vec::new();
    let mut measured = Vec::new();
    let (stuck, m) = e11_stuck(budget, progress, &mut details)?;
    measured.push(m);
    let (direction, m) = e11_direction(budget, progress, &mut details)?;
    measured.push(m);
    let (random, m) = e11_random(budget, progress, &mut details)?;
    measured.push(m);
    Ok(CheckOutcome {
        id: "E11",
        paper: "fails from b=0: 97% wrong (Fig 7a); b*=-0.65 >=90% wrong, cos<0.5; b*=0 cos>=0.99, >=3% wrong; >=1/5 random fail".into(),
        measured: measured.join("; "),
        pass: stuck && direction && random,
        details,
    })
}

/// b* = -0.65: stuck.
fn e11_stuck(
    budget: Budget,
    progress: &mut dyn FnMut(&str),
    details: &mut Vec<String>,
) -> Result<(bool, String), String> {
    let mut pass = true;
    let (mut wrongs, mut coss) = (Vec::new(), Vec::new());
    for seed in e11_seeds(budget) {
        progress(&format!("E11 b* = -0.65, seed {seed}"));
        let s = e11_failing(budget, seed)?;
        let (w, c) = (metric(&s, "wrong_level"), metric(&s, "cos_w_vstar"));
        let ok = w >= 0.9 && c < 0.5;
        pass &= ok;
        details.push(format!(
            "b* = -0.65, seed {seed}: wrong level {}, cos(w, v*) {c:.3}, b - b* {:.3} \
             (want >= 90% and cos < 0.5){}",
            pct(w),
            metric(&s, "b_minus_bstar"),
            if ok { "" } else { "  <- not stuck" }
        ));
        wrongs.push(w);
        coss.push(c);
    }
    let measured = format!(
        "b*=-0.65: {} wrong, cos {:.2}",
        pct(mean(&wrongs)),
        mean(&coss)
    );
    Ok((pass, measured))
}

/// b* = 0: learns the direction but not the levels.
fn e11_direction(
    budget: Budget,
    progress: &mut dyn FnMut(&str),
    details: &mut Vec<String>,
) -> Result<(bool, String), String> {
    let mut pass = true;
    let (mut wrongs, mut coss) = (Vec::new(), Vec::new());
    for seed in e11_seeds(budget) {
        progress(&format!("E11 b* = 0, seed {seed}"));
        let mut o = check_overrides(budget);
        o.extend([("fix_b_star", "true"), ("b_star", "0")]);
        let s = result_of("E11", &o, seed)?;
        let (w, c) = (metric(&s, "wrong_level"), metric(&s, "cos_w_vstar"));
        let ok = c >= 0.99 && w >= 0.03;
        pass &= ok;
        details.push(format!(
            "b* = 0, seed {seed}: wrong level {}, cos(w, v*) {c:.4} (want cos >= 0.99 and >= 3% \
             wrong){}",
            pct(w),
            if ok { "" } else { "  <- outside" }
        ));
        wrongs.push(w);
        coss.push(c);
    }
    let measured = format!("b*=0: {} wrong, cos {:.3}", pct(mean(&wrongs)), mean(&coss));
    Ok((pass, measured))
}

/// Random b*: at least one failure in 5 seeds.
fn e11_random(
    budget: Budget,
    progress: &mut dyn FnMut(&str),
    details: &mut Vec<String>,
) -> Result<(bool, String), String> {
    let mut failures = 0;
    for seed in 0..5u64 {
        progress(&format!("E11 random b*, seed {seed}"));
        let s = result_of("E11", &check_overrides(budget), seed)?;
        let (w, c) = (metric(&s, "wrong_level"), metric(&s, "cos_w_vstar"));
        let failed = c < 0.5 || w >= 0.5;
        failures += usize::from(failed);
        details.push(format!(
            "random b*, seed {seed}: b* = {:.3}, wrong level {}, cos(w, v*) {c:.3}{}",
            metric(&s, "b_star"),
            pct(w),
            if failed { "  (failed)" } else { "" }
        ));
    }
    details.push(format!(
        "random b*: {failures} of 5 seeds failed (cos < 0.5 or >= 50% wrong); want >= 1"
    ));
    Ok((failures >= 1, format!("random b*: {failures}/5 failed")))
}

/// The check of E12.
pub fn e12(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let mut details = Vec::new();
    let mut pass = true;
    let (mut maes, mut maes14) = (Vec::new(), Vec::new());
    for seed in seeds(budget) {
        progress(&format!("E12 seed {seed}"));
        let s = result_of("E12", &check_overrides(budget), seed)?;
        progress(&format!("E14 seed {seed}"));
        let s14 = result_of("E14", &check_overrides(budget), seed)?;
        let (mae, mae14) = (metric(&s, "mae"), metric(&s14, "mae"));
        let ok = (0.003..=0.05).contains(&mae);
        pass &= ok;
        details.push(format!(
            "seed {seed}: MAE {mae:.4} (want 0.003..0.05), MSE {:.2e}, off by > 0.01: {}, > 0.05: \
             {}, largest error {:.3}; E14 MAE {mae14:.5}{}",
            metric(&s, "mse"),
            pct(metric(&s, "off_0.01")),
            pct(metric(&s, "off_0.05")),
            metric(&s, "max_abs_err"),
            if ok { "" } else { "  <- outside" }
        ));
        maes.push(mae);
        maes14.push(mae14);
    }
    let (m, m14) = (mean(&maes), mean(&maes14));
    let ratio_ok = m >= 5.0 * m14;
    pass &= ratio_ok;
    details.push(format!(
        "mean MAE {m:.4} vs E14 {m14:.5}: ratio {:.1} (want >= 5)",
        m / m14
    ));
    Ok(CheckOutcome {
        id: "E12",
        paper: "MAE ~0.015, RMSE ~0.039 (Fig 7b); MAE in [0.003,0.05], >= 5x E14's".into(),
        measured: format!(
            "MAE {m:.4} (RMSE {:.3}), {:.0}x E14's, {} seed(s)",
            mean(
                &seeds(budget)
                    .iter()
                    .map(|&s| result_of("E12", &check_overrides(budget), s)
                        .map(|r| metric(&r, "rmse"))
                        .unwrap_or(f64::NAN))
                    .collect::<Vec<_>>()
            ),
            m / m14,
            maes.len()
        ),
        pass,
        details,
    })
}

/// The check of E13.
pub fn e13(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let mut details = Vec::new();
    let mut pass = true;
    let (mut wrongs, mut nears) = (Vec::new(), Vec::new());
    for seed in seeds(budget) {
        progress(&format!("E13 seed {seed}"));
        let s = result_of("E13", &check_overrides(budget), seed)?;
        let w = metric(&s, "wrong_level");
        let errors = metric(&s, "errors");
        // no error at all satisfies "every error is next to a step"
        let near = if errors > 0.0 {
            metric(&s, "err_near_step")
        } else {
            1.0
        };
        let ok = w <= 0.03 && near >= 0.9;
        pass &= ok;
        details.push(format!(
            "seed {seed}: wrong level {} ({errors} points; want <= 3%), {} of errors within \
             {NEAR_STEP} of a jump (want >= 90%), median distance {:.5}{}",
            pct(w),
            pct(near),
            metric(&s, "err_step_dist_median"),
            if ok { "" } else { "  <- outside" }
        ));
        wrongs.push(w);
        nears.push(near);
    }
    Ok(CheckOutcome {
        id: "E13",
        paper: "1.2% wrong, all within 0.003 of a step (Fig 7c); want <= 3%, >= 90% within 0.01"
            .into(),
        measured: format!(
            "{} wrong, {} of errors near a step, {} seed(s)",
            pct(mean(&wrongs)),
            pct(mean(&nears)),
            wrongs.len()
        ),
        pass,
        details,
    })
}

/// The check of E14.
pub fn e14(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let mut details = Vec::new();
    let mut pass = true;
    let mut r = Ranking::default();
    for seed in seeds(budget) {
        pass &= e14_seed(budget, seed, &mut r, progress, &mut details)?;
    }
    for seed in e11_seeds(budget) {
        progress(&format!("E11 b* = -0.65, seed {seed} (ranking)"));
        r.mae11.push(metric(&e11_failing(budget, seed)?, "mae"));
    }
    let (ranked, measured) = ranking(&r, &mut details);
    pass &= ranked;
    details.push(
        "runs are shared with the E11-E13 checks: whichever check runs one first spends its time"
            .into(),
    );
    Ok(CheckOutcome {
        id: "E14",
        paper: "0.47% wrong at 5k (Fig 7e); want <=1%, cos>=0.999, MAE<=0.005; E14<=E13 wrong, E14 MAE<=E12/5, E11 fail MAE>=0.1".into(),
        measured,
        pass,
        details,
    })
}

/// What E14's ranking compares, one value per seed.
#[derive(Debug, Default)]
struct Ranking {
    w14: Vec<f64>,
    mae14: Vec<f64>,
    w13: Vec<f64>,
    mae12: Vec<f64>,
    mae11: Vec<f64>,
}

/// One seed of E14's check: E14 exact, and the E13 and E12 runs of the ranking.
fn e14_seed(
    budget: Budget,
    seed: u64,
    r: &mut Ranking,
    progress: &mut dyn FnMut(&str),
    details: &mut Vec<String>,
) -> Result<bool, String> {
    progress(&format!("E14 seed {seed}"));
    let s = result_of("E14", &check_overrides(budget), seed)?;
    let (w, c, m) = (
        metric(&s, "wrong_level"),
        metric(&s, "cos_w_vstar"),
        metric(&s, "mae"),
    );
    let ok = w <= 0.01 && c >= 0.999 && m <= 0.005;
    details.push(format!(
        "seed {seed}: b* = {:.3}, wrong level {} (want <= 1%), cos(w, v*) {c:.5} (want >= \
         0.999), MAE {m:.5} (want <= 0.005), |w|/|v*| {:.4}, b - b* {:.1e}{}",
        metric(&s, "b_star"),
        pct(w),
        metric(&s, "w_norm_ratio"),
        metric(&s, "b_minus_bstar"),
        if ok { "" } else { "  <- outside" }
    ));
    r.w14.push(w);
    r.mae14.push(m);
    progress(&format!("E13 seed {seed} (ranking)"));
    let s13 = result_of("E13", &check_overrides(budget), seed)?;
    r.w13.push(metric(&s13, "wrong_level"));
    progress(&format!("E12 seed {seed} (ranking)"));
    let s12 = result_of("E12", &check_overrides(budget), seed)?;
    r.mae12.push(metric(&s12, "mae"));
    details.push(format!(
        "seed {seed} ranking: E14 wrong {} vs E13 {}; E14 MAE {m:.5} vs E12 {:.4}",
        pct(w),
        pct(r.w13[r.w13.len() - 1]),
        r.mae12[r.mae12.len() - 1]
    ));
    Ok(ok)
}

/// E14 <= E13 in wrong levels, E14's MAE at most a fifth of E12's, E11 failing; and the
/// check's `measured`.
fn ranking(r: &Ranking, details: &mut Vec<String>) -> (bool, String) {
    let (a14, a13) = (mean(&r.w14), mean(&r.w13));
    let (m14, m12, m11) = (mean(&r.mae14), mean(&r.mae12), mean(&r.mae11));
    let r1 = a14 <= a13;
    let r2 = m14 <= m12 / 5.0;
    let r3 = m11 >= 0.1;
    details.push(format!(
        "ranking over {} seeds: E14 wrong {} <= E13 {}: {}",
        r.w14.len(),
        pct(a14),
        pct(a13),
        if r1 { "yes" } else { "NO" }
    ));
    details.push(format!(
        "ranking: E14 MAE {m14:.5} <= E12 MAE / 5 = {:.5}: {}",
        m12 / 5.0,
        if r2 { "yes" } else { "NO" }
    ));
    details.push(format!(
        "ranking: E11 (b* = -0.65, b from 0) MAE {m11:.3} >= 0.1: {}",
        if r3 { "yes" } else { "NO" }
    ));
    let measured = format!(
        "{} wrong, MAE {m14:.5}; vs E13 {} wrong, E12 MAE {m12:.4}, E11 MAE {m11:.2}; {} seeds",
        pct(a14),
        pct(a13),
        r.w14.len()
    );
    (r1 && r2 && r3, measured)
}
