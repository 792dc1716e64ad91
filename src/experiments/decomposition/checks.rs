//! The checks of part 2: E2's accuracies of both methods, E3's SNR ratio and the flatness of
//! the decomposition's SNR in k, and E4's losses of both estimators and their SNR ratio.

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::portfolio::portfolio_init_snr;
use crate::experiments::check::{Budget, CheckOutcome};
use crate::experiments::common::{first_at_most, fmt_step, mean, run_collect, value_at};
use crate::experiments::ctx::CollectCtx;

/// E2 at a budget: (k values, steps of both methods, batch, test tuples).
pub fn e2_check_budget(budget: Budget) -> (Vec<usize>, u64, usize, usize) {
    match budget {
        // k = 1 and k = 3: the k = 3 case is the paper's failure (k = 4 fails the same way and
        // costs a third more). With a batch of 64 tuples (192 images per step) the
        // decomposition reaches its plateau (0.86) at about 600 steps, against about 400 with
        // the paper's 200; 800 steps leave a margin, and the check takes about 45 s of one
        // core. The test set of 500 tuples gives the accuracy to about +- 0.02.
        Budget::Quick => (vec![1, 3], E2_QUICK_STEPS, E2_QUICK_BATCH, 500),
        // the spec's check: 2,500 iterations of both methods, the paper's batch and test set
        Budget::Full => (vec![1, 2, 3, 4], 2500, 200, 2000),
    }
}

const E2_QUICK_STEPS: u64 = 800;
const E2_QUICK_BATCH: usize = 64;

/// The highest end-to-end accuracy E2's check allows at k >= 3 at any evaluation after the
/// first: a run below it at every one is at chance.
pub const E2_E2E_CHANCE_MAX: f64 = 0.56;

/// The check of E2.
pub fn e2(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let (ks, steps, batch, test) = e2_check_budget(budget);
    let mut details = Vec::new();
    let mut pass = true;
    let mut measured = Vec::new();
    for &k in &ks {
        let (ok, line) = e2_at_k(budget, k, progress, &mut details)?;
        pass &= ok;
        measured.push(line);
    }
    Ok(CheckOutcome {
        id: "E2",
        paper: match budget {
            Budget::Quick => format!(
                "quick: k=1,3, {steps} steps, batch {batch}, test {test}: e2e k=1 >=0.90; k=3 dec >=0.80, e2e <=0.56 always, gap >=0.25 (paper k=3: e2e 0.48, dec 0.86)"
            ),
            Budget::Full => "2,500 steps: dec >=0.90/0.85/0.80/0.75 (k=1..4), e2e k=1 >=0.90, e2e k=3,4 <=0.56 always, gap >=0.25 (paper: dec 0.945/0.908/0.862/0.839, e2e k>=3 0.48-0.49)".into(),
        },
        measured: measured.join("; "),
        pass,
        details,
    })
}

/// One k of E2's check: its verdict and its part of `measured`.
fn e2_at_k(
    budget: Budget,
    k: usize,
    progress: &mut dyn FnMut(&str),
    details: &mut Vec<String>,
) -> Result<(bool, String), String> {
    let (_, steps, batch, test) = e2_check_budget(budget);
    let mut pass = true;
    // at the quick budget k = 1 trains end-to-end only: the decomposition adds the same
    // per-image loss to it
    let method = if budget == Budget::Quick && k == 1 {
        "e2e"
    } else {
        "both"
    };
    progress(&format!(
        "E2 k = {k}, {method}, {steps} steps, batch {batch}"
    ));
    let c = run_collect(
        "E2",
        &[
            ("k", k.to_string()),
            ("method", method.into()),
            ("steps_e2e", steps.to_string()),
            ("steps_dec", steps.to_string()),
            ("batch", batch.to_string()),
            ("test_size", test.to_string()),
            ("eval_every", "100".into()),
            ("snr_samples", "0".into()),
        ],
        0,
    )?
    .ctx;
    let e2e = c.series("e2e/test_accuracy");
    let e2e_last = e2e.last().map(|p| p.1).unwrap_or(f64::NAN);
    let e2e_max = e2e.iter().skip(1).map(|p| p.1).fold(0.0f64, f64::max);
    let mut line = format!("k={k}: e2e {e2e_last:.3}");
    if k == 1 {
        let ok = e2e_last >= 0.90;
        pass &= ok;
        details.push(format!(
            "k = 1: end-to-end accuracy {e2e_last:.3} at {steps} (needs >= 0.90){}",
            if ok { "" } else { "  <- FAIL" }
        ));
    }
    if k >= 3 {
        let ok = e2e_max <= E2_E2E_CHANCE_MAX;
        pass &= ok;
        details.push(format!(
            "k = {k}: end-to-end accuracy at most {e2e_max:.3} over {} evaluations (needs <= {E2_E2E_CHANCE_MAX:.2} at every one){}",
            e2e.len().saturating_sub(1),
            if ok { "" } else { "  <- FAIL" }
        ));
    }
    if method == "both" {
        let (ok, dec_line) = e2_decomposition(k, steps, &c, e2e_last, details);
        pass &= ok;
        line.push_str(&dec_line);
    }
    Ok((pass, line))
}

/// The decomposition's part of one k of E2's check: its accuracy, and for k >= 3 its gap to
/// end-to-end.
fn e2_decomposition(
    k: usize,
    steps: u64,
    c: &CollectCtx,
    e2e_last: f64,
    details: &mut Vec<String>,
) -> (bool, String) {
    let dec = c.series("dec/test_accuracy");
    let dec_last = dec.last().map(|p| p.1).unwrap_or(f64::NAN);
    let need = [0.90, 0.85, 0.80, 0.75][(k - 1).min(3)];
    let mut pass = dec_last >= need;
    let at = |s: u64| {
        value_at(dec, s)
            .map(|v| format!("{v:.2}"))
            .unwrap_or_else(|| "-".into())
    };
    details.push(format!(
        "k = {k}: decomposition accuracy {dec_last:.3} at {steps} (needs >= {need:.2}); at 100/200/400: {}/{}/{}{}",
        at(100),
        at(200),
        at(400),
        if pass { "" } else { "  <- FAIL" }
    ));
    if k >= 3 {
        let gap = dec_last - e2e_last;
        let ok = gap >= 0.25;
        pass &= ok;
        details.push(format!(
            "k = {k}: gap decomposition - end-to-end {gap:.3} (needs >= 0.25){}",
            if ok { "" } else { "  <- FAIL" }
        ));
    }
    (pass, format!(", dec {dec_last:.3}"))
}

/// The largest SNR ratio (end-to-end over decomposition) E3's check allows at k >= 2.
///
/// The spec asks for 0.05 at k = 2 and 0.01 from k = 3. The estimate of a signal near zero
/// has a standard error of about 1.6 / n times the noise for n tuples (the 100 gradient
/// numbers move together: they are one ReLU feature vector times a scalar), so with SNR_dec
/// about 1e-3 the ratio's standard error is about 1600 / (n sqrt(inits)): 0.003 at the full
/// budget (150,000 tuples, 5 initialisations), which resolves 0.01; 0.03 at the quick one
/// (25,000), where the check demands 0.1 instead (an end-to-end SNR ten times below the
/// decomposition's, against 1 at k = 1).
pub fn e3_limit(budget: Budget, k: usize) -> f64 {
    match (budget, k) {
        (Budget::Quick, _) => 0.1,
        (Budget::Full, 2) => 0.05,
        (Budget::Full, _) => 0.01,
    }
}

/// E3 at a budget: (k values, initialisations, tuples per estimate).
pub fn e3_check_budget(budget: Budget) -> (Vec<usize>, usize, usize) {
    match budget {
        Budget::Quick => (vec![1, 2, 3, 4], 5, E3_QUICK_SAMPLES),
        Budget::Full => (vec![1, 2, 3, 4], 5, E3_FULL_SAMPLES),
    }
}

const E3_QUICK_SAMPLES: usize = 25_000;
const E3_FULL_SAMPLES: usize = 150_000;

/// The check of E3.
pub fn e3(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let (ks, inits, samples) = e3_check_budget(budget);
    progress(&format!(
        "E3 k = {ks:?}, {inits} initialisations, {samples} tuples per estimate"
    ));
    let ks_text = format!(
        "[{}]",
        ks.iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let s = run_collect(
        "E3",
        &[
            ("ks", ks_text),
            ("inits", inits.to_string()),
            ("samples", samples.to_string()),
        ],
        0,
    )?
    .summary;
    let get = |name: String| s.get(&name).unwrap_or(f64::NAN);
    let mut details = Vec::new();
    let mut pass = true;
    let mut measured = Vec::new();
    let decs: Vec<f64> = ks.iter().map(|k| get(format!("dec_snr_k{k}"))).collect();
    for &k in &ks {
        let ratio = get(format!("ratio_k{k}"));
        let se = get(format!("ratio_se_k{k}"));
        let limit = e3_limit(budget, k);
        let (ok, need) = if k == 1 {
            ((0.5..=2.0).contains(&ratio), "in [0.5, 2]".to_string())
        } else {
            (ratio <= limit, format!("<= {limit}"))
        };
        pass &= ok;
        details.push(format!(
            "k = {k}: SNR end-to-end / decomposition = {ratio:.4} (+- {se:.4}; needs {need}), SNR_dec {:.3e}, SNR_e2e {:.3e}{}",
            get(format!("dec_snr_k{k}")),
            get(format!("e2e_snr_k{k}")),
            if ok { "" } else { "  <- FAIL" }
        ));
        measured.push(format!("k={k}: {ratio:.3}"));
    }
    let lo = decs.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = decs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let spread = hi / lo - 1.0;
    let ok = spread < 0.3;
    pass &= ok;
    details.push(format!(
        "decomposition SNR {lo:.3e} .. {hi:.3e} across k: spread {:.0}% (needs < 30%){}",
        spread * 100.0,
        if ok { "" } else { "  <- FAIL" }
    ));
    Ok(CheckOutcome {
        id: "E3",
        paper: match budget {
            Budget::Quick => format!(
                "quick: {inits} inits, {samples} tuples per estimate (ratio resolution ~0.03): ratio k=1 in [0.5,2], k>=2 <=0.1; dec flat (<30%) (paper: ratio 0.975, ~0.002, ~0.001)"
            ),
            Budget::Full => format!(
                "{inits} inits, {samples} tuples per estimate: ratio k=1 in [0.5,2], k=2 <=0.05, k>=3 <=0.01; dec flat (<30%) (paper: ratio 0.975, ~0.002, ~0.001)"
            ),
        },
        measured: format!(
            "ratio {}; dec SNR {:.1e} (spread {:.0}%)",
            measured.join(", "),
            mean(&decs),
            spread * 100.0
        ),
        pass,
        details,
    })
}

/// E4 at a budget: (k values trained, seeds, k values of the exact SNR at initialisation).
pub fn e4_check_budget(budget: Budget) -> (Vec<usize>, Vec<u64>, Vec<usize>) {
    match budget {
        // k = 2000 behaves as k = 1000 with twice the work per step
        Budget::Quick => (vec![10, 1000], vec![0], vec![10, 100, 1000]),
        Budget::Full => (vec![10, 1000, 2000], vec![0, 1, 2], vec![10, 100, 1000]),
    }
}

/// The check of E4.
pub fn e4(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let (ks, seeds, snr_ks) = e4_check_budget(budget);
    let mut details = Vec::new();
    let mut pass = true;
    let mut measured = Vec::new();
    for &k in &ks {
        for &seed in &seeds {
            let (ok, line) = e4_trained(k, seed, progress, &mut details)?;
            pass &= ok;
            measured.push(line);
        }
    }
    let (ok, line) = e4_init_snr(&snr_ks, progress, &mut details)?;
    pass &= ok;
    measured.push(line);
    Ok(CheckOutcome {
        id: "E4",
        paper: format!(
            "{}k=10 both <=-0.99 by 1k, dec faster at 100; k>=1000 dec <=-0.95, e2e >-0.6 (k=1000) / >-0.35 (k=2000), gap >=0.4; SNR ratio ~k (paper: e2e -0.29/-0.24, dec -1.00)",
            if budget == Budget::Quick {
                "quick: k=10 and 1000, one seed; "
            } else {
                ""
            }
        ),
        measured: measured.join("; "),
        pass,
        details,
    })
}

/// One trained run of E4's check: for k <= 10 both reach -0.99 and the decomposition leads at
/// 100 steps; for larger k only the decomposition gets there.
fn e4_trained(
    k: usize,
    seed: u64,
    progress: &mut dyn FnMut(&str),
    details: &mut Vec<String>,
) -> Result<(bool, String), String> {
    progress(&format!("E4 k = {k}, seed {seed}, 2,500 steps"));
    let c = run_collect(
        "E4",
        &[
            ("k", k.to_string()),
            ("snr_ks", "[2]".into()),
            ("snr_samples", "0".into()),
        ],
        seed,
    )?
    .ctx;
    let e2e = c.series("e2e/test_loss");
    let dec = c.series("dec/test_loss");
    let (e_last, d_last) = (
        e2e.last().map(|p| p.1).unwrap_or(f64::NAN),
        dec.last().map(|p| p.1).unwrap_or(f64::NAN),
    );
    if k <= 10 {
        let (re, rd) = (first_at_most(e2e, -0.99), first_at_most(dec, -0.99));
        let (e100, d100) = (
            value_at(e2e, 100).unwrap_or(f64::NAN),
            value_at(dec, 100).unwrap_or(f64::NAN),
        );
        let ok = re.is_some_and(|s| s <= 1000) && rd.is_some_and(|s| s <= 1000);
        let faster = d100 < e100;
        details.push(format!(
            "k = {k}, seed {seed}: loss <= -0.99 at {} (e2e) / {} (dec) (needs <= 1000); at 100: dec {d100:.3} < e2e {e100:.3}{}",
            fmt_step(re),
            fmt_step(rd),
            if ok && faster { "" } else { "  <- FAIL" }
        ));
        Ok((
            ok && faster,
            format!("k={k}: e2e@100 {e100:.2}, dec@100 {d100:.2}"),
        ))
    } else {
        let e_max = if k >= 2000 { -0.35 } else { -0.6 };
        let gap = e_last - d_last;
        let ok = d_last <= -0.95 && e_last > e_max && gap >= 0.4;
        details.push(format!(
            "k = {k}, seed {seed}: at 2,500 dec {d_last:.3} (needs <= -0.95), e2e {e_last:.3} (needs > {e_max}), gap {gap:.3} (needs >= 0.4){}",
            if ok { "" } else { "  <- FAIL" }
        ));
        Ok((ok, format!("k={k}: e2e {e_last:.2}, dec {d_last:.2}")))
    }
}

/// The exact SNR at initialisation: the decomposition's is within 10% of k times the
/// end-to-end one's.
fn e4_init_snr(
    snr_ks: &[usize],
    progress: &mut dyn FnMut(&str),
    details: &mut Vec<String>,
) -> Result<(bool, String), String> {
    progress("E4 exact SNR at initialisation");
    let mut rng = StdRng::seed_from_u64(crate::experiments::plan::seeded(0));
    let mut pass = true;
    let mut ratios = Vec::new();
    for &k in snr_ks {
        let (e, d) = portfolio_init_snr(&mut rng, 1000, k).map_err(|h| h.to_string())?;
        let ratio = d / e;
        let ok = (ratio / k as f64 - 1.0).abs() <= 0.1;
        pass &= ok;
        details.push(format!(
            "k = {k}: exact SNR at init, decomposition {d:.3e}, end-to-end {e:.3e}, ratio {ratio:.1} (needs within 10% of {k}){}",
            if ok { "" } else { "  <- FAIL" }
        ));
        ratios.push(format!("{ratio:.0}"));
    }
    Ok((
        pass,
        format!("SNR ratio {} for k={snr_ks:?}", ratios.join("/")),
    ))
}
