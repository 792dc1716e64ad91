//! What a planned run costs: the iterations it trains (by method where it trains two) and an
//! estimate of its CPU seconds on one compute thread, from step times measured at the full
//! budget's settings ([`STEP_COSTS`]).

use std::cmp::Ordering;

use super::plan::RunRequest;

/// The iterations of each phase a run trains: `("", steps)` for a single loop, one entry per
/// method for E2 and E4 (`e2e`, `dec`), none for runs that are not a training loop (E3, T1,
/// E5, whose work is a fixed computation).
pub fn phases(req: &RunRequest) -> Vec<(&'static str, u64)> {
    let p = &req.params;
    let int = |name: &str| p.get(name).map(|_| p.int(name).max(0) as u64);
    let method = p.get("method").map(|_| p.str("method")).unwrap_or("");
    match (int("steps_e2e"), int("steps_dec"), int("steps")) {
        (Some(e2e), Some(dec), _) => match method {
            "e2e" => vec![("e2e", e2e)],
            "dec" => vec![("dec", dec)],
            _ => vec![("e2e", e2e), ("dec", dec)],
        },
        // E4: one loop, both estimators step by step
        (_, _, Some(steps)) => match method {
            "e2e" | "dec" | "both" => vec![(method_name(method), steps)],
            _ => vec![("", steps)],
        },
        _ => Vec::new(),
    }
}

fn method_name(m: &str) -> &'static str {
    match m {
        "e2e" => "e2e",
        "dec" => "dec",
        _ => "both",
    }
}

/// The iterations a run trains, over all its phases.
pub fn steps(req: &RunRequest) -> u64 {
    phases(req).iter().map(|p| p.1).sum()
}

/// The measured cost of one kind of run: CPU seconds per iteration of `phase` (`""` for a
/// single loop; `e2e`, `dec` for E2's methods, `both` for E4's lockstep) and seconds to start
/// it (data, test sets), for runs of `experiment` whose parameter `by.0` is `by.1`. A kind
/// with no loop (T1, L3, E3) has its whole run in `start_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepCost {
    pub experiment: &'static str,
    pub by: Option<(&'static str, i64)>,
    pub phase: &'static str,
    pub per_step_s: f64,
    pub start_s: f64,
}

const fn c(
    experiment: &'static str,
    by: Option<(&'static str, i64)>,
    phase: &'static str,
    per_step_s: f64,
    start_s: f64,
) -> StepCost {
    StepCost {
        experiment,
        by,
        phase,
        per_step_s,
        start_s,
    }
}

/// The step costs of every kind of run in `reproduce --full`'s plan, measured on one core of
/// an AMD EPYC (2 cores shared with other builds; CPU seconds, user + system) by
/// `scripts/measure-step-costs.sh 200`: each kind trained for 200 and 600 iterations at the
/// full budget's settings with `--threads 1`, the cost per iteration the difference over 400
/// (where it came out below 0, the start is 0 here), on 2026-12-06.
pub const STEP_COSTS: &[StepCost] = &[
    // `measure-step-costs.sh 5000 "E1 "`: E1's steps are too short to time at 200
    c("E1", Some(("d", 5)), "", 5.5e-5, 0.0),
    c("E1", Some(("d", 10)), "", 8.6e-5, 0.0),
    c("E1", Some(("d", 30)), "", 2.83e-4, 0.0),
    // `measure-step-costs.sh 100 "E2 "` after the backward pass went through the pool's
    // winners only (`nn::conv2d::sparse`), load average 3 to 5
    c("E2", Some(("k", 1)), "e2e", 0.0206, 0.445),
    c("E2", Some(("k", 2)), "e2e", 0.0482, 0.135),
    c("E2", Some(("k", 3)), "e2e", 0.0768, 0.09),
    c("E2", Some(("k", 4)), "e2e", 0.102, 0.485),
    c("E2", Some(("k", 1)), "dec", 0.0216, 0.295),
    c("E2", Some(("k", 2)), "dec", 0.0473, 0.455),
    c("E2", Some(("k", 3)), "dec", 0.0695, 0.875),
    c("E2", Some(("k", 4)), "dec", 0.102, 0.0),
    c("E4", Some(("k", 10)), "both", 7.5e-5, 0.005),
    c("E4", Some(("k", 1000)), "both", 0.0092, 0.04),
    c("E4", Some(("k", 2000)), "both", 0.0182, 0.15),
    // `measure-step-costs.sh 2000 KIND` for E6-E14
    c("E6", None, "", 1.82e-4, 0.055),
    c("E7", None, "", 1.88e-4, 0.0),
    c("E8", None, "", 7.25e-5, 0.035),
    c("E9", None, "", 1.83e-3, 0.025),
    c("E11", None, "", 2.18e-4, 0.025),
    c("E12", None, "", 1.22e-3, 0.05),
    c("E13", None, "", 1.3e-3, 0.0),
    c("E14", None, "", 1.68e-4, 0.015),
    // whole runs: T1 at d_max = 14, L3 (under the clock's 10 ms), E3 at 150,000 tuples
    c("T1", None, "", 0.0, 24.5),
    c("L3", None, "", 0.0, 0.01),
    c("E3", None, "", 0.0, 219.0),
];

/// The measured kind closest to `req`'s phase `phase`: same experiment and phase, the
/// nearest value of the kind's parameter (on a log scale).
fn kind(req: &RunRequest, phase: &str) -> Option<&'static StepCost> {
    let nearness = |k: &StepCost| match k.by {
        None => 0.0,
        Some((name, v)) => match req.params.get(name) {
            Some(crate::spec::Value::Int(x)) => ((*x).max(1) as f64 / v.max(1) as f64).ln().abs(),
            _ => f64::INFINITY,
        },
    };
    STEP_COSTS
        .iter()
        .filter(|k| k.experiment == req.experiment && k.phase == phase)
        .min_by(|a, b| {
            nearness(a)
                .partial_cmp(&nearness(b))
                .unwrap_or(Ordering::Equal)
        })
}

/// The estimated CPU seconds of `req` on one compute thread, from [`STEP_COSTS`]; `None` for
/// a run of a kind not measured.
pub fn estimate_s(req: &RunRequest) -> Option<f64> {
    let ph = phases(req);
    if ph.is_empty() {
        return kind(req, "").map(|k| k.start_s);
    }
    let mut start: f64 = 0.0;
    let mut total = 0.0;
    for (phase, steps) in ph {
        let k = kind(req, phase)?;
        total += k.per_step_s * steps as f64;
        start = start.max(k.start_s);
    }
    Some(total + start.max(0.0))
}

/// Each run's weight for a progress bar: its estimated CPU milliseconds, at least 1; a run
/// with no estimate weighs the median of the others (1 s when none has one).
pub fn weights_ms(reqs: &[RunRequest]) -> Vec<u64> {
    let est: Vec<Option<u64>> = reqs
        .iter()
        .map(|r| estimate_s(r).map(|s| ((s * 1000.0) as u64).max(1)))
        .collect();
    let mut known: Vec<u64> = est.iter().flatten().copied().collect();
    known.sort_unstable();
    let median = known.get(known.len() / 2).copied().unwrap_or(1000);
    est.into_iter().map(|e| e.unwrap_or(median)).collect()
}

/// The wall seconds of runs costing `secs` (in this order) on `jobs` workers that each take
/// the next run when free, as `reproduce` starts them.
pub fn wall_s(secs: &[f64], jobs: usize) -> f64 {
    let mut free = vec![0.0f64; jobs.max(1)];
    for &s in secs {
        let first = free
            .iter_mut()
            .min_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
        if let Some(f) = first {
            *f += s;
        }
    }
    free.into_iter().fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(exp: &str, o: &[(&str, &str)]) -> RunRequest {
        RunRequest::new(exp, o, 0).unwrap()
    }

    #[test]
    fn phases_follow_the_methods_a_run_trains() {
        let both = req("E2", &[("k", "3")]);
        assert_eq!(phases(&both), vec![("e2e", 20_000), ("dec", 2_500)]);
        assert_eq!(steps(&both), 22_500);
        let e2e = req("E2", &[("method", "e2e"), ("steps_e2e", "300")]);
        assert_eq!(phases(&e2e), vec![("e2e", 300)]);
        assert_eq!(phases(&req("E4", &[])), vec![("both", 2500)]);
        assert_eq!(phases(&req("E1", &[("steps", "70")])), vec![("", 70)]);
        assert!(phases(&req("T1", &[])).is_empty());
    }

    #[test]
    fn an_estimate_is_the_measured_cost_of_each_phase_plus_the_start() {
        let r = req("E2", &[("k", "3")]);
        let e2e = kind(&r, "e2e").unwrap();
        let dec = kind(&r, "dec").unwrap();
        assert_eq!(e2e.by, Some(("k", 3)));
        let want = 20_000.0 * e2e.per_step_s
            + 2_500.0 * dec.per_step_s
            + e2e.start_s.max(dec.start_s).max(0.0);
        assert!((estimate_s(&r).unwrap() - want).abs() < 1e-9);
        // a k not measured takes the nearest measured one
        let k6 = req("E2", &[("k", "6")]);
        assert_eq!(kind(&k6, "e2e").unwrap().by, Some(("k", 4)));
        // a kind never measured has no estimate
        assert!(estimate_s(&req("E5", &[])).is_none());
    }

    #[test]
    fn every_run_of_the_full_plan_has_an_estimate() {
        let checks = crate::experiments::checks();
        let all: Vec<&crate::experiments::CheckDef> = checks.iter().collect();
        let mut reqs = super::super::plan::plan(&all, crate::experiments::Budget::Full);
        reqs.extend(super::super::plan::figure_requests(
            crate::experiments::Budget::Full,
            0,
        ));
        for r in &reqs {
            assert!(
                estimate_s(r).is_some(),
                "no measured cost for {}",
                r.label()
            );
        }
    }

    #[test]
    fn weights_and_wall_time() {
        let rs = [req("E1", &[("d", "5")]), req("E5", &[])];
        let w = weights_ms(&rs);
        assert!(w.iter().all(|&x| x >= 1));
        assert_eq!(wall_s(&[3.0, 1.0, 1.0, 1.0], 2), 3.0);
        assert_eq!(wall_s(&[1.0, 1.0, 1.0], 1), 3.0);
        assert_eq!(wall_s(&[], 2), 0.0);
    }
}
