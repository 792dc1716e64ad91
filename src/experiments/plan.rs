//! The runs a check needs, as data: what `fail-lab reproduce` plans, trains apart from the
//! checks (on several threads, or as tasks of a cluster) and hands back to them.
//!
//! A check asks for its runs through [`run_collect`](super::common::run_collect) and
//! [`cached_run`](super::common::cached_run); both turn the request into a [`RunRequest`]
//! (experiment, every parameter resolved, seed) and ask the calling thread's [`RunSource`]:
//!
//! - [`RunSource::Direct`], the default: a run the process holds ([`hold`]) is handed out,
//!   any other is trained in this thread, as a check called on its own always did;
//! - [`RunSource::Plan`]: the request is recorded and an empty run handed back, so the check
//!   goes on to its next request without training. A check's requests depend on its budget
//!   only, never on what a run measured, so the recorded list is the list of runs it trains
//!   ([`plan`]; `tests/reproduce.rs` compares the two);
//! - [`RunSource::Held`]: only runs the process holds, trained by `reproduce`'s workers or
//!   read from saved runs; any other request is an error ([`RunError::NotPlanned`]).
//!
//! The source belongs to the calling thread ([`with_source`]), not to the process: planning
//! in one thread never empties the runs another thread trains (tests run side by side in one
//! process). A check asks for its runs in the thread that calls it.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::check::{Budget, CheckDef};
use super::common::{Finished, RunError};
use super::ctx::CollectCtx;
use super::registry::{find, params_with, run_direct};
use crate::spec::{Params, Scenario, Value};

/// One run a check asks for: an experiment, every one of its parameters, a seed. Runs are
/// deterministic in these three, so equal requests are one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    pub experiment: String,
    pub params: Params,
    pub seed: u64,
}

impl RunRequest {
    /// `experiment` at its defaults with `overrides` (name, value as text), each checked.
    pub fn new(experiment: &str, overrides: &[(&str, &str)], seed: u64) -> Result<Self, String> {
        let params = params_with(experiment, overrides)?;
        let id = find(experiment).map_or(experiment, |d| d.id);
        Ok(Self {
            experiment: id.to_string(),
            params,
            seed,
        })
    }

    /// Text that identifies the request: equal for equal requests, different otherwise.
    pub fn key(&self) -> String {
        format!(
            "{} {} {}",
            self.experiment,
            self.seed,
            self.params.to_json()
        )
    }

    /// The parameters that differ from the experiment's defaults, as `name=value`, by name.
    pub fn changed(&self) -> Vec<String> {
        let defaults = find(&self.experiment)
            .map(|d| Params::defaults(&(d.params)()))
            .unwrap_or_default();
        self.params
            .differing(&defaults)
            .into_iter()
            .filter_map(|k| self.params.get(k).map(|v| format!("{k}={v}")))
            .collect()
    }

    /// The request in one line: `E1 d=5 steps=5000 · seed 0`.
    pub fn label(&self) -> String {
        let mut parts = vec![self.experiment.clone()];
        parts.extend(self.changed());
        format!("{} · seed {}", parts.join(" "), self.seed)
    }

    /// The request as a scenario: `fail-lab run` trains it alone through the engine, with the
    /// same seed and the same experiment function, so it gives the same numbers.
    pub fn scenario(&self) -> Scenario {
        let mut what = vec![self.experiment.clone()];
        what.extend(self.changed());
        Scenario {
            experiment: self.experiment.clone(),
            title: format!("check run: {}", what.join(" ")),
            description: "A run of the paper checks (`fail-lab reproduce`); \
                          `reproduce --from-runs` finds it by experiment, parameters and seed."
                .into(),
            seed: Some(self.seed),
            params: self.params.clone(),
            source: None,
            checkpoint_every: None,
            keep_checkpoints: Vec::new(),
        }
    }
}

/// Where a check's runs come from, in the calling thread: see the module's notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunSource {
    /// Runs the process holds, and any other trained in this thread.
    #[default]
    Direct,
    /// Nothing trains: each request is recorded and gets an empty run.
    Plan,
    /// Only runs the process holds; any other request is an error.
    Held,
}

/// The calling thread's source and the requests made under it.
struct Scope {
    source: RunSource,
    asked: Vec<RunRequest>,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Runs `f` with `source` as this thread's run source and gives what it returned with every
/// request it made, in order (repeats included). The previous source comes back afterwards,
/// also when `f` panics.
pub fn with_source<R>(source: RunSource, f: impl FnOnce() -> R) -> (R, Vec<RunRequest>) {
    struct Restore(Option<Option<Scope>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(prev) = self.0.take() {
                SCOPE.with(|s| *s.borrow_mut() = prev);
            }
        }
    }
    let scope = Scope {
        source,
        asked: Vec::new(),
    };
    let _restore = Restore(Some(SCOPE.with(|s| s.borrow_mut().replace(scope))));
    let out = f();
    let asked = SCOPE.with(|s| {
        s.borrow_mut()
            .as_mut()
            .map(|sc| std::mem::take(&mut sc.asked))
            .unwrap_or_default()
    });
    (out, asked)
}

/// This thread's run source.
pub fn current_source() -> RunSource {
    SCOPE.with(|s| {
        s.borrow()
            .as_ref()
            .map_or(RunSource::Direct, |sc| sc.source)
    })
}

/// How far apart the seeds of two replicas of a check lie: replica `r` adds `r · SEED_STRIDE`
/// to every seed the check uses, far above the few seeds (0..5) a check uses itself, so that
/// no two replicas share a run.
pub const SEED_STRIDE: u64 = 1000;

thread_local! {
    static REPLICA: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Runs `f` as replica `replica` of the checks it calls, in this thread: every seed a check
/// asks for (through [`seeded`]) is shifted by `replica · SEED_STRIDE`. Replica 0 is the
/// checks as written. The previous replica comes back afterwards, also when `f` panics.
pub fn with_replica<R>(replica: u64, f: impl FnOnce() -> R) -> R {
    struct Restore(u64);
    impl Drop for Restore {
        fn drop(&mut self) {
            REPLICA.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(REPLICA.with(|r| r.replace(replica)));
    f()
}

/// The seed a check's `seed` stands for in this thread's replica (see [`with_replica`]).
pub fn seeded(seed: u64) -> u64 {
    seed + REPLICA.with(|r| r.get()) * SEED_STRIDE
}

/// Records `req` in this thread's scope and gives the source to answer it from.
fn note(req: &RunRequest) -> RunSource {
    SCOPE.with(|s| match s.borrow_mut().as_mut() {
        Some(sc) => {
            sc.asked.push(req.clone());
            sc.source
        }
        None => RunSource::Direct,
    })
}

type RunCell = Arc<OnceLock<Result<Arc<Finished>, RunError>>>;

/// The runs this process holds, by [`RunRequest::key`].
fn store() -> &'static Mutex<HashMap<String, RunCell>> {
    static STORE: OnceLock<Mutex<HashMap<String, RunCell>>> = OnceLock::new();
    STORE.get_or_init(Default::default)
}

fn cell(req: &RunRequest) -> RunCell {
    let mut map = store().lock().unwrap_or_else(|e| e.into_inner());
    map.entry(req.key()).or_default().clone()
}

/// Keeps the result of `req` for every later request of it in this process (a result held
/// already stays: runs are deterministic, both are the same).
pub fn hold(req: &RunRequest, result: Result<Finished, RunError>) {
    let _ = cell(req).set(result.map(Arc::new));
}

/// The result this process holds for `req`, if any.
pub fn held(req: &RunRequest) -> Option<Result<Arc<Finished>, RunError>> {
    let map = store().lock().unwrap_or_else(|e| e.into_inner());
    map.get(&req.key()).and_then(|c| c.get().cloned())
}

/// Trains `req` in this thread, keeping everything it emits.
pub fn train(req: &RunRequest) -> Result<Finished, RunError> {
    let mut ctx = CollectCtx::new();
    let summary = run_direct(&req.experiment, &req.params, req.seed, &mut ctx).map_err(|halt| {
        RunError::Halted {
            id: req.experiment.clone(),
            seed: req.seed,
            halt,
        }
    })?;
    Ok(Finished { summary, ctx })
}

/// A check's request, answered from this thread's source. With `keep`, a run trained here is
/// held for the requests after it (checks that compare the same runs share them: whichever
/// asks first spends the time).
pub(crate) fn obtain(req: RunRequest, keep: bool) -> Result<Arc<Finished>, RunError> {
    match note(&req) {
        RunSource::Plan => Ok(Arc::new(Finished::default())),
        RunSource::Held => held(&req).unwrap_or_else(|| Err(RunError::NotPlanned(req.label()))),
        RunSource::Direct if keep => cell(&req).get_or_init(|| train(&req).map(Arc::new)).clone(),
        RunSource::Direct => held(&req).unwrap_or_else(|| train(&req).map(Arc::new)),
    }
}

/// Each request once, in the order of its first appearance.
pub fn dedup(reqs: impl IntoIterator<Item = RunRequest>) -> Vec<RunRequest> {
    let mut seen = HashSet::new();
    reqs.into_iter().filter(|r| seen.insert(r.key())).collect()
}

/// The runs `check` trains at `budget`, each once, in the order it asks for them; found by
/// running the check with [`RunSource::Plan`] (no training: a few milliseconds).
pub fn requests_of(check: &CheckDef, budget: Budget) -> Vec<RunRequest> {
    let (_, asked) = with_source(RunSource::Plan, || (check.run)(budget, &mut |_| {}));
    dedup(asked)
}

/// The runs replica `replica` of `check` trains at `budget` (see [`with_replica`]).
pub fn requests_of_replica(check: &CheckDef, budget: Budget, replica: u64) -> Vec<RunRequest> {
    with_replica(replica, || requests_of(check, budget))
}

/// The runs the paper's figures need beyond the checks' own, for replica `replica` (see
/// [`with_replica`]): at the full budget, Figure 3's E2 runs at the paper's lengths (20,000
/// end-to-end and 2,500 decomposition iterations; the check trains both 2,500), one per
/// k = 1..4, and Figure 6's E8 and E9 runs to its last snapshot, 50,000 iterations (their
/// checks stop at 500 and 10,000). Every other figure draws the checks' runs, and at the quick
/// budget every figure does.
pub fn figure_requests(budget: Budget, replica: u64) -> Vec<RunRequest> {
    if budget == Budget::Quick {
        return Vec::new();
    }
    with_replica(replica, || {
        let figure3 = (1..=4).filter_map(|k: u32| {
            let k = k.to_string();
            let o = [
                ("k", k.as_str()),
                ("method", "both"),
                ("steps_e2e", "20000"),
                ("steps_dec", "2500"),
                ("snr_samples", "0"),
            ];
            RunRequest::new("E2", &o, seeded(0)).ok()
        });
        // Figure 6's snapshots are at 500, 10k and 50k iterations
        let figure6 = ["E8", "E9"]
            .into_iter()
            .filter_map(|id| RunRequest::new(id, &[("steps", "50000")], seeded(0)).ok());
        figure3.chain(figure6).collect()
    })
}

/// Whether run `long` answers request `short` (see
/// [`ExperimentDef::prefix_budgets`](super::ExperimentDef::prefix_budgets)): the same
/// experiment and seed, every parameter equal except budgets that only lengthen the run, and
/// each of those at least `short`'s. Gives the cut that turns `long` into `short`: for each
/// budget `long` runs past, the metric prefix and `short`'s last step under it.
pub fn covers(long: &RunRequest, short: &RunRequest) -> Option<Vec<(&'static str, u64)>> {
    if long.experiment != short.experiment || long.seed != short.seed || long.key() == short.key() {
        return None;
    }
    let def = find(&long.experiment)?;
    let budgets = def.prefix_budgets;
    let is_budget = |name: &str| budgets.iter().any(|b| b.0 == name);
    let names: HashSet<&str> = long
        .params
        .iter()
        .chain(short.params.iter())
        .map(|p| p.0)
        .collect();
    if names
        .iter()
        .any(|n| !is_budget(n) && long.params.get(n) != short.params.get(n))
    {
        return None;
    }
    let mut cut = Vec::new();
    for &(param, prefix) in budgets {
        let (l, s) = (long.params.get(param)?, short.params.get(param)?);
        let (Value::Int(l), Value::Int(s)) = (l, s) else {
            return None;
        };
        match l.cmp(s) {
            std::cmp::Ordering::Less => return None,
            std::cmp::Ordering::Greater if (def.prefix_aligned)(&short.params, *s) => {
                cut.push((prefix, (*s).max(0) as u64))
            }
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Equal => {}
        }
    }
    Some(cut)
}

/// `reqs` without the requests another of them covers ([`covers`]), and those left out, each
/// with the request that answers it: a check's 2,500-iteration E2 run is the start of
/// Figure 3's 20,000-iteration one, and is read from it rather than trained twice.
pub fn drop_covered(reqs: Vec<RunRequest>) -> (Vec<RunRequest>, Vec<(RunRequest, RunRequest)>) {
    let mut covered = Vec::new();
    let kept: Vec<RunRequest> = reqs
        .iter()
        .filter(
            |short| match reqs.iter().find(|long| covers(long, short).is_some()) {
                Some(long) => {
                    covered.push(((*short).clone(), long.clone()));
                    false
                }
                None => true,
            },
        )
        .cloned()
        .collect();
    (kept, covered)
}

/// The run `short` read from the finished run `long` that covers it ([`covers`]): the points
/// of each cut metric up to `short`'s last step, every other metric whole. In the summary, a
/// value under a cut prefix is the last kept point of its series, or left out where it has
/// none (a best-so-far); a note says which run it was read from.
pub fn cut_to(long_req: &RunRequest, long: &Finished, cut: &[(&str, u64)]) -> Finished {
    let limit = |name: &str| {
        cut.iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .map(|c| c.1)
    };
    let mut ctx = CollectCtx::new();
    for (name, points) in &long.ctx.metrics {
        let kept: Vec<(u64, f64)> = match limit(name) {
            Some(last) => points.iter().copied().filter(|p| p.0 <= last).collect(),
            None => points.clone(),
        };
        ctx.last_step = ctx.last_step.max(kept.last().map_or(0, |p| p.0));
        ctx.metrics.insert(name.clone(), kept);
    }
    ctx.logs = long.ctx.logs.clone();
    ctx.figures = long.ctx.figures.clone();
    let mut summary = long.summary.clone();
    summary.metrics = long
        .summary
        .metrics
        .iter()
        .filter_map(|(name, v)| match limit(name) {
            None => Some((name.clone(), *v)),
            Some(_) => ctx.metrics.get(name)?.last().map(|p| (name.clone(), p.1)),
        })
        .collect();
    let steps: Vec<String> = cut
        .iter()
        .map(|(p, s)| format!("{p}* to step {s}"))
        .collect();
    summary.notes.push(format!(
        "read from run {} ({})",
        long_req.label(),
        steps.join(", ")
    ));
    Finished { summary, ctx }
}

/// Holds each covered request of `covered` ([`drop_covered`]) as its part of the run that
/// covers it, once that one is held; a covering run that failed fails its covered ones too.
pub fn hold_covered(covered: &[(RunRequest, RunRequest)]) {
    for (short, long) in covered {
        let Some(cut) = covers(long, short) else {
            continue;
        };
        match held(long) {
            Some(Ok(f)) => hold(short, Ok(cut_to(long, &f, &cut))),
            Some(Err(e)) => hold(short, Err(e)),
            None => {}
        }
    }
}

/// The runs `checks` train at `budget`, each once: check by check, in the order each asks.
pub fn plan(checks: &[&CheckDef], budget: Budget) -> Vec<RunRequest> {
    dedup(checks.iter().flat_map(|c| requests_of(c, budget)))
}

/// Writes each request as a scenario file in `dir` (made if missing): `001-e1.toml`, ...,
/// in order, each one that `fail-lab run FILE --out RUNS` trains as the checks would. Gives
/// the files' paths.
pub fn write_specs(reqs: &[RunRequest], dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let width = reqs.len().to_string().len().max(3);
    let mut paths = Vec::with_capacity(reqs.len());
    for (i, r) in reqs.iter().enumerate() {
        let path = dir.join(format!(
            "{:0width$}-{}.toml",
            i + 1,
            r.experiment.to_lowercase()
        ));
        std::fs::write(&path, r.scenario().to_toml())?;
        paths.push(path);
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::common::{cached_run, run_collect};
    use crate::experiments::Registry;
    use crate::spec::parse_scenario;

    fn tiny(seed: u64) -> RunRequest {
        RunRequest::new(
            "e1",
            &[("d", "4"), ("steps", "20"), ("eval_every", "10")],
            seed,
        )
        .unwrap()
    }

    #[test]
    fn a_request_resolves_every_parameter_and_names_what_differs() {
        let r = tiny(7);
        assert_eq!(r.experiment, "E1");
        assert_eq!(r.params.int("width"), 0);
        assert_eq!(r.changed(), vec!["d=4", "eval_every=10", "steps=20"]);
        assert_eq!(r.label(), "E1 d=4 eval_every=10 steps=20 · seed 7");
        assert_ne!(r.key(), tiny(8).key());
        let same = RunRequest::new(
            "E1",
            &[("steps", "20"), ("d", "4"), ("eval_every", "10")],
            7,
        );
        assert_eq!(same.unwrap().key(), r.key());
        let err = RunRequest::new("E1", &[("widht", "3")], 0).unwrap_err();
        assert!(err.contains("no parameter widht"), "{err}");
    }

    #[test]
    fn a_request_as_a_scenario_reads_back_the_same() {
        let r = tiny(3);
        let text = r.scenario().to_toml();
        let back = parse_scenario(&text, None, &Registry).unwrap();
        assert_eq!(back.experiment, "E1");
        assert_eq!(back.seed, Some(3));
        assert_eq!(back.params, r.params);
    }

    #[test]
    fn planning_records_requests_and_trains_nothing() {
        let ((a, b), asked) = with_source(RunSource::Plan, || {
            let a = run_collect(
                "E1",
                &[("d", "4"), ("steps", "20"), ("eval_every", "10")],
                1,
            );
            let b = cached_run(
                "E1",
                &[("d", "4"), ("steps", "20"), ("eval_every", "10")],
                2,
            );
            (a.unwrap(), b.unwrap())
        });
        assert!(a.ctx.metrics.is_empty() && a.summary.metrics.is_empty());
        assert!(b.ctx.metrics.is_empty());
        assert_eq!(asked, vec![tiny(1), tiny(2)]);
        assert!(held(&tiny(2)).is_none(), "planning held a run");
        assert_eq!(current_source(), RunSource::Direct);
    }

    #[test]
    fn held_answers_only_what_is_held() {
        let r = tiny(11);
        let (res, _) = with_source(RunSource::Held, || {
            run_collect(
                "E1",
                &[("d", "4"), ("steps", "20"), ("eval_every", "10")],
                11,
            )
        });
        match res {
            Err(RunError::NotPlanned(label)) => assert_eq!(label, r.label()),
            other => panic!("expected NotPlanned, got {other:?}"),
        }
        let trained = train(&r).unwrap();
        hold(&r, Ok(trained));
        let (res, asked) = with_source(RunSource::Held, || {
            run_collect(
                "E1",
                &[("d", "4"), ("steps", "20"), ("eval_every", "10")],
                11,
            )
        });
        // evaluations at steps 0, 10 and 20
        assert_eq!(res.unwrap().ctx.series("test_accuracy").len(), 3);
        assert_eq!(asked.len(), 1);
    }

    fn e2(steps_e2e: &str, steps_dec: &str, seed: u64, extra: &[(&str, &str)]) -> RunRequest {
        let mut o = vec![
            ("k", "2"),
            ("method", "both"),
            ("steps_e2e", steps_e2e),
            ("steps_dec", steps_dec),
            ("batch", "16"),
            ("test_size", "100"),
            ("snr_samples", "0"),
        ];
        o.extend_from_slice(extra);
        RunRequest::new("E2", &o, seed).unwrap()
    }

    #[test]
    fn a_longer_run_covers_a_shorter_one_only_where_its_budgets_alone_differ() {
        let short = e2("300", "200", 5, &[]);
        assert_eq!(
            covers(&e2("500", "200", 5, &[]), &short),
            Some(vec![("e2e/", 300)])
        );
        assert_eq!(
            covers(&e2("500", "400", 5, &[]), &short),
            Some(vec![("e2e/", 300), ("dec/", 200)])
        );
        // shorter, another seed, another parameter, itself, an experiment with no budgets
        assert_eq!(covers(&short, &e2("500", "200", 5, &[])), None);
        assert_eq!(covers(&e2("500", "200", 6, &[]), &short), None);
        assert_eq!(
            covers(&e2("500", "200", 5, &[("lr", "0.01")]), &short),
            None
        );
        assert_eq!(covers(&e2("500", "100", 5, &[]), &short), None);
        assert_eq!(covers(&short, &short), None);
        // a budget off the evaluation grid evaluates at its own last step: not a prefix
        assert_eq!(
            covers(&e2("500", "200", 5, &[]), &e2("250", "200", 5, &[])),
            None
        );
        let (e1_short, e1_long) = (
            tiny(1),
            RunRequest::new(
                "E1",
                &[("d", "4"), ("steps", "40"), ("eval_every", "10")],
                1,
            )
            .unwrap(),
        );
        assert_eq!(covers(&e1_long, &e1_short), None);
        let (kept, covered) = drop_covered(vec![short.clone(), e2("500", "200", 5, &[]), tiny(1)]);
        assert_eq!(kept, vec![e2("500", "200", 5, &[]), tiny(1)]);
        assert_eq!(covered, vec![(short, e2("500", "200", 5, &[]))]);
    }

    /// What makes reading a short run from a long one honest: E2's end-to-end points up to
    /// step 300 of a 500-step run are those of the 300-step run, bit for bit, and its
    /// decomposition is the same run.
    #[test]
    fn an_e2_run_read_from_a_longer_one_is_the_shorter_run_bit_for_bit() {
        let (short, long) = (e2("300", "200", 5, &[]), e2("500", "200", 5, &[]));
        let trained = train(&short).unwrap();
        let long_run = train(&long).unwrap();
        let cut = covers(&long, &short).unwrap();
        let read = cut_to(&long, &long_run, &cut);
        assert_eq!(read.ctx.metrics, trained.ctx.metrics);
        assert_eq!(read.ctx.last_step, trained.ctx.last_step);
        assert!(
            long_run.ctx.series("e2e/test_accuracy").len()
                > trained.ctx.series("e2e/test_accuracy").len()
        );
        for (name, v) in &read.summary.metrics {
            assert_eq!(Some(v), trained.summary.metrics.get(name), "{name}");
        }
        assert!(
            read.summary
                .notes
                .iter()
                .any(|n| n.contains("read from run E2") && n.contains("e2e/* to step 300")),
            "{:?}",
            read.summary.notes
        );
        // held for the checks: the covered request is answered from the longer run
        hold(&long, Ok(long_run));
        hold_covered(&[(short.clone(), long.clone())]);
        let (got, _) = with_source(RunSource::Held, || obtain(short.clone(), false));
        assert_eq!(got.unwrap().ctx.metrics, trained.ctx.metrics);
    }

    #[test]
    fn the_source_comes_back_after_a_panic() {
        let r = std::panic::catch_unwind(|| {
            with_source(RunSource::Plan, || {
                assert_eq!(current_source(), RunSource::Plan);
                panic!("inside");
            })
        });
        assert!(r.is_err());
        assert_eq!(current_source(), RunSource::Direct);
    }

    #[test]
    fn a_replica_shifts_every_seed_a_check_asks_for() {
        let ask = || {
            with_source(RunSource::Plan, || {
                run_collect(
                    "E1",
                    &[("d", "4"), ("steps", "20"), ("eval_every", "10")],
                    2,
                )
            })
            .1
        };
        assert_eq!(ask(), vec![tiny(2)]);
        assert_eq!(with_replica(3, ask), vec![tiny(3 * SEED_STRIDE + 2)]);
        assert_eq!(seeded(2), 2, "the replica ends with the call");
    }

    #[test]
    fn the_full_figures_add_e2_e8_and_e9_at_the_papers_lengths_per_replica() {
        assert!(figure_requests(Budget::Quick, 0).is_empty());
        let all = figure_requests(Budget::Full, 2);
        let (runs, figure6): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| r.experiment == "E2");
        // Figure 6 shows E8 and E9 at 500, 10k and 50k iterations
        let ids: Vec<&str> = figure6.iter().map(|r| r.experiment.as_str()).collect();
        assert_eq!(ids, ["E8", "E9"]);
        for r in &figure6 {
            assert_eq!((r.seed, r.params.int("steps")), (2 * SEED_STRIDE, 50_000));
        }
        let ks: Vec<i64> = runs.iter().map(|r| r.params.int("k")).collect();
        assert_eq!(ks, vec![1, 2, 3, 4]);
        for r in &runs {
            assert_eq!(r.seed, 2 * SEED_STRIDE);
            assert_eq!(r.params.int("steps_e2e"), 20_000);
            assert_eq!(r.params.int("steps_dec"), 2_500);
            assert_eq!(r.params.str("method"), "both");
        }
    }

    #[test]
    fn dedup_keeps_the_first_of_each() {
        let got = dedup([tiny(1), tiny(2), tiny(1), tiny(3), tiny(2)]);
        assert_eq!(got, vec![tiny(1), tiny(2), tiny(3)]);
    }

    #[test]
    fn write_specs_writes_one_scenario_per_request() {
        let dir = std::env::temp_dir().join(format!("fail-lab-specs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let paths = write_specs(&[tiny(1), tiny(2)], &dir).unwrap();
        let names: Vec<_> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, vec!["001-e1.toml", "002-e1.toml"]);
        let back = crate::spec::load_scenario(&paths[1], &Registry).unwrap();
        assert_eq!(back.seed, Some(2));
        assert_eq!(back.params, tiny(2).params);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
