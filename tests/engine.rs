//! The run engine: lifecycle events, pause / resume / stop between steps, a panicking
//! experiment, a diverging loss, and the files of a run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use fail_lab::engine::{self, Event, LaunchOptions, RunEvent, RunState, Status};
use fail_lab::experiments::{Ctx, Halt, Registry, Summary};
use fail_lab::spec::{Params, Scenario};

fn opts(name: &str) -> LaunchOptions {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("engine-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    LaunchOptions {
        runs_dir: dir,
        compute_threads: 1,
    }
}

fn scenario() -> Scenario {
    let mut s = Scenario::with_defaults("E1", &Registry).unwrap();
    s.seed = Some(1);
    s
}

/// A long run that sleeps a little each step, so commands have time to arrive.
fn slow_steps(_: &Params, _: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let total = 1_000_000;
    for step in 1..=total {
        std::thread::sleep(Duration::from_micros(200));
        if step % 10 == 0 {
            ctx.metric(step, "train_loss", 1.0 / step as f64);
        }
        ctx.step(step, total, 0.5)?;
    }
    Ok(Summary::default())
}

fn panics(_: &Params, _: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    ctx.metric(1, "train_loss", 0.7);
    ctx.step(1, 10, 0.7)?;
    let v: Vec<u32> = Vec::new();
    panic!("index {} out of range", v.len() + 3);
}

fn nan_loss(_: &Params, _: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    for step in 1..=10u64 {
        let loss = if step == 7 { f64::NAN } else { 1.0 };
        ctx.step(step, 10, loss)?;
    }
    Ok(Summary::default())
}

fn nan_metric(_: &Params, _: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    for step in 1..=10u64 {
        ctx.metric(
            step,
            "test_loss",
            if step == 4 { f64::INFINITY } else { 1.0 },
        );
        ctx.step(step, 10, 1.0)?;
    }
    Ok(Summary::default())
}

fn wait_for(rx: &Receiver<RunEvent>, what: &str, pred: impl Fn(&Event) -> bool) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(ev) = rx.recv_timeout(Duration::from_millis(50)) {
            let hit = pred(&ev.event);
            seen.push(ev.event);
            if hit {
                return seen;
            }
        }
    }
    panic!("no {what} event within 20 s; saw {} events", seen.len());
}

fn last_step(events: &[Event]) -> u64 {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Progress { step, .. } => Some(*step),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn pause_holds_the_worker_resume_continues_stop_ends_it() {
    let (tx, rx) = crossbeam_channel::unbounded();
    let o = opts("pause");
    let h = engine::launch_fn(&scenario(), slow_steps, &o, tx).unwrap();
    wait_for(
        &rx,
        "progress",
        |e| matches!(e, Event::Progress { step, .. } if *step > 20),
    );
    h.pause();
    let before = wait_for(&rx, "paused", |e| matches!(e, Event::Paused));
    let at_pause = last_step(&before);
    std::thread::sleep(Duration::from_millis(400));
    let during: Vec<Event> = rx.try_iter().map(|e| e.event).collect();
    assert!(
        during
            .iter()
            .all(|e| !matches!(e, Event::Progress { .. } | Event::Metric { .. })),
        "a paused run kept training: {during:?}"
    );
    h.resume();
    wait_for(&rx, "resumed", |e| matches!(e, Event::Resumed));
    let after = wait_for(
        &rx,
        "progress",
        |e| matches!(e, Event::Progress { step, .. } if *step > at_pause + 20),
    );
    assert!(last_step(&after) > at_pause);
    h.stop();
    let end = wait_for(&rx, "stopped", |e| e.is_terminal());
    assert!(
        matches!(end.last(), Some(Event::Stopped { .. })),
        "{:?}",
        end.last()
    );
    let dir = h.dir.clone();
    h.join();
    let saved = RunState::load(&dir).unwrap();
    assert_eq!(saved.status, Status::Stopped);
    assert!(
        saved.metrics["train_loss"].total() >= 2,
        "metrics up to the stop are on disk"
    );
}

#[test]
fn a_panicking_experiment_is_a_failed_run_not_a_crash() {
    let (tx, rx) = crossbeam_channel::unbounded();
    let h = engine::launch_fn(&scenario(), panics, &opts("panic"), tx).unwrap();
    let events = wait_for(&rx, "failed", |e| e.is_terminal());
    match events.last() {
        Some(Event::Failed { reason }) => {
            assert!(
                reason.contains("panicked: index 3 out of range"),
                "{reason}"
            )
        }
        other => panic!("expected a failed run, got {other:?}"),
    }
    let dir = h.dir.clone();
    h.join();
    let saved = RunState::load(&dir).unwrap();
    assert_eq!(saved.status, Status::Failed);
    assert_eq!(
        saved.latest("train_loss"),
        Some(0.7),
        "data before the panic is kept"
    );
    assert!(saved.reason.unwrap().contains("index 3 out of range"));
}

#[test]
fn a_nan_loss_ends_the_run_as_diverged_at_its_step() {
    let (_, events) = engine_run(nan_loss, "nan");
    assert_eq!(
        events.last(),
        Some(&Event::Diverged {
            step: 7,
            reason: "loss is NaN".into()
        })
    );
    let (_, events) = engine_run(nan_metric, "inf");
    assert_eq!(
        events.last(),
        Some(&Event::Diverged {
            step: 4,
            reason: "test_loss is inf".into()
        })
    );
}

fn engine_run(f: fail_lab::experiments::RunFn, name: &str) -> (PathBuf, Vec<Event>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let h = engine::launch_fn(&scenario(), f, &opts(name), tx).unwrap();
    let events = wait_for(&rx, "end", |e| e.is_terminal());
    let dir = h.dir.clone();
    h.join();
    (dir, events)
}

#[test]
fn a_finished_run_leaves_its_files_and_reloads_identically() {
    let mut s = scenario();
    s.set("d=5", &Registry).unwrap();
    s.set("steps=400", &Registry).unwrap();
    s.set("eval_every=50", &Registry).unwrap();
    let o = opts("files");
    let (id, events) = engine::run_to_end(&s, &o).unwrap();
    assert!(matches!(
        events.first(),
        Some(Event::Started { seed: 1, .. })
    ));
    assert!(matches!(events.last(), Some(Event::Finished { .. })));
    let mut live = RunState::new(&id, "E1", "", Params::default());
    for e in &events {
        live.apply(e);
    }
    let dir = o.runs_dir.join(&id);
    for f in ["spec.toml", "metrics.jsonl", "summary.json", "log.txt"] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    // spec.toml is a scenario again, with the resolved seed
    let again = fail_lab::spec::load_scenario(&dir.join("spec.toml"), &Registry).unwrap();
    assert_eq!(again.params, s.params);
    assert_eq!(again.seed, Some(1));
    let saved = RunState::load(&dir).unwrap();
    assert_eq!(saved.status, Status::Finished);
    assert_eq!(saved.step, 400);
    for name in ["test_accuracy", "train_loss"] {
        let a: Vec<_> = live.metrics[name].points().collect();
        let b: Vec<_> = saved.metrics[name].points().collect();
        assert_eq!(a, b, "{name}");
    }
    assert_eq!(saved.summary, live.summary);
    let (all, errors) = RunState::load_all(&o.runs_dir);
    assert_eq!(all.len(), 1);
    assert!(errors.is_empty());
}

#[test]
fn metrics_reach_the_disk_while_the_run_is_going() {
    let (tx, rx) = crossbeam_channel::unbounded();
    let h = engine::launch_fn(&scenario(), slow_steps, &opts("flush"), tx).unwrap();
    wait_for(
        &rx,
        "progress",
        |e| matches!(e, Event::Progress { step, .. } if *step > 100),
    );
    std::thread::sleep(Duration::from_millis(1200));
    let text = std::fs::read_to_string(h.dir.join("metrics.jsonl")).unwrap();
    let lines = text.lines().count();
    h.stop();
    let dir = h.dir.clone();
    h.join();
    assert!(
        lines >= 5,
        "only {lines} metric lines flushed after more than a second"
    );
    // a run that was killed (no summary.json) reloads as interrupted with its metrics
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    let saved = RunState::load(&dir).unwrap();
    assert_eq!(saved.status, Status::Interrupted);
    assert!(saved.metrics["train_loss"].total() >= 5);
}

#[test]
fn an_invalid_scenario_is_refused_before_any_thread_starts() {
    let mut s = scenario();
    s.set("d=4", &Registry).unwrap();
    s.set("subset_size=5", &Registry).unwrap();
    let (tx, _rx) = crossbeam_channel::unbounded();
    let o = opts("invalid");
    let err = engine::launch(&s, &o, tx).err().unwrap();
    assert!(
        err.contains("subset_size = 5 is larger than d = 4"),
        "{err}"
    );
    assert!(!o.runs_dir.exists() || std::fs::read_dir(&o.runs_dir).unwrap().next().is_none());
}
