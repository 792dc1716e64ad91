//! The run engine: lifecycle events, pause / resume / stop between steps, a panicking
//! experiment, a diverging loss, and the files of a run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use fail_lab::engine::{self, Event, LaunchOptions, Owner, RunEvent, RunState, Status};
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
    let (mut all, errors) = RunState::load_all(&o.runs_dir);
    assert_eq!(all.len(), 1);
    assert!(errors.is_empty());
    // the folder is read from the summaries: the series wait on disk until asked for
    let lazy = &mut all[0];
    assert!(lazy.metrics.is_empty() && lazy.logs.is_empty() && lazy.series_on_disk());
    assert_eq!(
        (lazy.status, lazy.step, lazy.total),
        (Status::Finished, 400, 400)
    );
    assert_eq!(
        lazy.latest("test_accuracy"),
        live.latest("test_accuracy"),
        "the summary stands in for the series"
    );
    assert!(lazy.load_series());
    assert!(!lazy.load_series(), "read once");
    assert_eq!(lazy.metrics.len(), saved.metrics.len());
    for (name, series) in &saved.metrics {
        let a: Vec<_> = series.points().collect();
        let b: Vec<_> = lazy.metrics[name].points().collect();
        assert_eq!(a, b, "{name}");
    }
    assert_eq!(lazy.logs, saved.logs);
    assert_eq!(lazy.step, 400);
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
    // without its summary.json, the run's owner file names this process, which still runs:
    // it reads as training elsewhere, not as cut off
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    let owner = Owner::read(&dir).expect("the run has an owner file");
    assert_eq!(owner.pid, std::process::id());
    assert!(owner.is_current());
    let saved = RunState::load(&dir).unwrap();
    assert_eq!(saved.status, Status::Elsewhere);
    // a run that was killed (no summary.json, its process gone) reloads as interrupted with
    // its metrics
    dead_owner().write(&dir).unwrap();
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

// ---------------------------------------------------------------------------------------------
// runs of other processes: read from their files while they train

/// An owner that no longer runs: a process that ended (and was reaped) keeps nothing in
/// `/proc`; elsewhere, an id no process has.
fn dead_owner() -> Owner {
    let pid = match std::process::Command::new("true").spawn() {
        Ok(mut child) => {
            let pid = child.id();
            child.wait().unwrap();
            pid
        }
        Err(_) => u32::MAX / 2,
    };
    Owner {
        pid,
        ..Owner::current()
    }
}

/// A run folder made by hand, as another process would leave it.
fn hand_made_run(name: &str, owner: Option<&Owner>) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("engine-tests")
        .join(format!("by-hand-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(o) = owner {
        o.write(&dir).unwrap();
    }
    std::fs::write(
        dir.join("spec.toml"),
        "experiment = \"E1\"\ntitle = \"by hand\"\nseed = 3\n\n[params]\nd = 5\n",
    )
    .unwrap();
    dir
}

fn metric_line(step: u64, name: &str, value: f64) -> String {
    format!("{{\"step\":{step},\"name\":\"{name}\",\"value\":{value}}}\n")
}

fn append(path: &std::path::Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn steps(run: &RunState, metric: &str) -> Vec<(u64, f64)> {
    run.metrics[metric]
        .points()
        .map(|p| (p.step, p.value))
        .collect()
}

#[test]
fn a_run_whose_owner_still_runs_loads_as_training_elsewhere() {
    let me = Owner::current();
    let dir = hand_made_run("alive", Some(&me));
    append(
        &dir.join("metrics.jsonl"),
        &metric_line(10, "train_loss", 0.5),
    );
    append(&dir.join("log.txt"), "started\n");
    let run = RunState::load(&dir).unwrap();
    assert_eq!(run.status, Status::Elsewhere);
    assert!(run.is_elsewhere() && !run.status.is_active());
    assert_eq!(run.status.label(), "running elsewhere");
    assert_eq!(run.owner.as_ref().map(|o| o.pid), Some(std::process::id()));
    assert_eq!(run.reason, None);
    assert_eq!((run.step, run.seed), (10, Some(3)));
    assert_eq!(run.logs, ["started"]);
}

#[test]
fn a_run_whose_owner_is_gone_or_unknown_loads_as_interrupted() {
    let cases: Vec<(&str, Option<Owner>, Option<&str>)> = vec![
        ("dead", Some(dead_owner()), None),
        (
            "huge-pid",
            Some(Owner {
                pid: u32::MAX / 2,
                ..Owner::current()
            }),
            None,
        ),
        // older runs have no owner file; a garbled one counts as none
        ("no-owner", None, None),
        ("garbled", None, Some("{\"pid\": \"twelve\"")),
        ("zero", None, Some("{\"pid\": 0}")),
    ];
    for (name, owner, raw) in cases {
        let dir = hand_made_run(name, owner.as_ref());
        if let Some(raw) = raw {
            std::fs::write(dir.join("owner.json"), raw).unwrap();
        }
        append(
            &dir.join("metrics.jsonl"),
            &metric_line(400, "train_loss", 0.5),
        );
        // a line cut short by the kill is skipped
        append(&dir.join("metrics.jsonl"), "{\"step\":410,\"na");
        let run = RunState::load(&dir).unwrap();
        assert_eq!(run.status, Status::Interrupted, "{name}");
        assert_eq!(
            run.reason.as_deref(),
            Some("the process ended while this run was training"),
            "{name}"
        );
        assert_eq!(run.step, 400, "{name}");
        let mut run = run;
        assert!(!run.refresh(), "{name}: an ended run is not read again");
    }
}

#[test]
fn a_followed_run_reads_only_new_whole_lines_then_its_end() {
    let dir = hand_made_run("follow", Some(&Owner::current()));
    let metrics = dir.join("metrics.jsonl");
    for s in 1..=3 {
        append(&metrics, &metric_line(s * 10, "train_loss", 1.0 / s as f64));
    }
    // a line the writer has only half flushed
    append(&metrics, "{\"step\":40,\"name\":\"train_lo");
    append(&dir.join("log.txt"), "one\ntw");
    let mut run = RunState::load(&dir).unwrap();
    assert_eq!(run.status, Status::Elsewhere);
    assert_eq!(steps(&run, "train_loss").len(), 3);
    assert_eq!(run.logs, ["one"]);
    assert!(!run.refresh(), "nothing new");

    // the rest of the half line, two more, and another half line
    append(&metrics, "ss\",\"value\":0.25}\n");
    append(&metrics, &metric_line(50, "train_loss", 0.2));
    append(&metrics, &metric_line(50, "test_accuracy", 0.75));
    append(&metrics, "{\"step\":60,");
    append(&dir.join("log.txt"), "o\nthree\n");
    let fig = fail_lab::experiments::ctx::Figure::Image {
        title: "sample".into(),
        width: 1,
        height: 1,
        pixels: vec![0.5],
    };
    append(
        &dir.join("figures.jsonl"),
        &format!(
            "{}\n",
            serde_json::json!({"step": 50, "figure": fig.to_json()})
        ),
    );
    let before: Vec<Vec<u8>> = ["metrics.jsonl", "log.txt", "figures.jsonl", "owner.json"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect();
    assert!(run.refresh());
    assert_eq!(
        steps(&run, "train_loss"),
        vec![(10, 1.0), (20, 0.5), (30, 1.0 / 3.0), (40, 0.25), (50, 0.2)]
    );
    assert_eq!(steps(&run, "test_accuracy"), vec![(50, 0.75)]);
    assert_eq!(run.metrics["train_loss"].total(), 5, "no point read twice");
    assert_eq!(run.step, 50);
    assert_eq!(run.logs, ["one", "two", "three"]);
    assert_eq!(run.figures["sample"], (50, fig));
    assert_eq!(run.status, Status::Elsewhere);
    assert!(!run.refresh(), "the half line waits for its end");
    // only read: the files are as they were
    let after: Vec<Vec<u8>> = ["metrics.jsonl", "log.txt", "figures.jsonl", "owner.json"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect();
    assert_eq!(before, after);

    // the run ends: its last line, then its summary
    append(&metrics, "\"name\":\"train_loss\",\"value\":0.1}\n");
    let summary = serde_json::json!({
        "run": "follow", "status": "finished", "step": 60, "total": 60, "elapsed_s": 2.5,
        "reason": null, "summary": {"metrics": {"test_accuracy": 1.0}, "notes": ["done"]},
    });
    std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
    assert!(run.refresh());
    assert_eq!(run.status, Status::Finished);
    assert_eq!((run.step, run.total), (60, 60));
    assert_eq!(run.metrics["train_loss"].total(), 6);
    assert_eq!(run.latest("train_loss"), Some(0.1));
    assert_eq!(
        run.summary.as_ref().unwrap().get("test_accuracy"),
        Some(1.0)
    );
    assert!(!run.refresh(), "a finished run is not read again");
    // and a fresh load agrees
    let again = RunState::load(&dir).unwrap();
    assert_eq!(again.status, Status::Finished);
    assert_eq!(steps(&again, "train_loss"), steps(&run, "train_loss"));
}

#[cfg(target_os = "linux")]
#[test]
fn a_followed_run_whose_process_ends_without_a_summary_is_interrupted() {
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let owner = Owner::of_pid(child.id(), "fail-lab run").unwrap();
    let dir = hand_made_run("killed", Some(&owner));
    append(
        &dir.join("metrics.jsonl"),
        &metric_line(10, "train_loss", 0.5),
    );
    let mut run = RunState::load(&dir).unwrap();
    assert_eq!(run.status, Status::Elsewhere);
    // the last flush, cut short, and the process dies
    append(
        &dir.join("metrics.jsonl"),
        &metric_line(20, "train_loss", 0.4),
    );
    append(&dir.join("metrics.jsonl"), "{\"step\":30,\"name\":\"tr");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(run.refresh());
    assert_eq!(run.status, Status::Interrupted);
    assert_eq!(steps(&run, "train_loss"), vec![(10, 0.5), (20, 0.4)]);
    assert_eq!(
        run.reason.as_deref(),
        Some("the process ended while this run was training")
    );
}

/// Every preset, shrunk to a few steps: its progress never passes its total, a finished run
/// reads back at `total/total` (metrics whose x is not a step, E5's n or L3's d, included),
/// and its ETA is known only while it runs.
#[test]
fn progress_is_right_for_every_experiment() {
    let small: &[(&str, &str)] = &[
        ("steps", "30"),
        ("e14_steps", "20"),
        ("steps_e2e", "20"),
        ("steps_dec", "20"),
        ("eval_every", "10"),
        ("eval_samples", "100"),
        ("test_size", "100"),
        ("test_samples", "200"),
        ("train_size", "300"),
        ("val_size", "100"),
        ("samples", "200"),
        ("inits", "2"),
        ("d_max", "6"),
        ("targets", "4"),
    ];
    let mut seen = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let Ok(mut s) = fail_lab::spec::load_scenario(&file, &Registry) else {
            continue; // a sweep preset
        };
        if seen.contains(&s.experiment) {
            continue;
        }
        seen.push(s.experiment.clone());
        for (k, v) in small {
            if s.params.get(k).is_some() {
                s.set(&format!("{k}={v}"), &Registry).unwrap();
            }
        }
        s.seed = Some(1);
        let o = opts(&format!("progress-{}", s.experiment));
        let (id, events) = engine::run_to_end(&s, &o).unwrap();
        let what = format!("{} ({})", s.experiment, file.display());
        assert!(
            matches!(events.last(), Some(Event::Finished { .. })),
            "{what}: {:?}",
            events.last()
        );
        let mut live = RunState::new(&id, &s.experiment, "", Params::default());
        for e in &events {
            if let Event::Progress { step, total, .. } = e {
                assert!(
                    *total > 0 && step <= total,
                    "{what}: progress {step}/{total}"
                );
            }
            live.apply(e);
            if live.status == Status::Running && live.step < live.total {
                assert!(live.step <= live.total, "{what}");
            }
        }
        assert_eq!(live.step, live.total, "{what}: live");
        assert!(live.eta_secs().is_none(), "{what}: no ETA once finished");
        let mut saved = RunState::load(&o.runs_dir.join(&id)).unwrap();
        saved.load_series();
        assert!(
            saved.total > 0 && saved.step == saved.total,
            "{what}: saved {}/{}",
            saved.step,
            saved.total
        );
    }
    let all = fail_lab::experiments::registry().len();
    assert_eq!(seen.len(), all, "every experiment has a preset: {seen:?}");
}
