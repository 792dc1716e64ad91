//! Checkpoints: a run stopped (or killed) and resumed gives bit for bit the metrics and the
//! summary of the same run uninterrupted (E1, E2, E4, SP, LP, E6, E7, E9, E10, E12, E13,
//! E14); an experiment that keeps none says so; bad checkpoints are passed over with
//! a message naming the file; a fork starts from a checkpoint with changed parameters and
//! refuses the ones that do not fit it.

use std::fs;
use std::path::{Path, PathBuf};

use crossbeam_channel::Receiver;
use fail_lab::engine::resume::{self, Continued};
use fail_lab::engine::{self, checkpoint, Event, LaunchOptions, RunEvent};
use fail_lab::experiments::Registry;
use fail_lab::spec::Scenario;

fn opts(name: &str) -> LaunchOptions {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("checkpoint-tests")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    LaunchOptions {
        runs_dir: dir,
        compute_threads: 1,
    }
}

fn scenario(id: &str, sets: &[&str]) -> Scenario {
    let mut s = Scenario::with_defaults(id, &Registry).unwrap();
    s.seed = Some(7);
    for a in sets {
        s.set(a, &Registry).unwrap();
    }
    // checkpoints only where asked (kept steps) or when the run stops
    s.checkpoint_every = Some(0.0);
    s
}

fn small_e1() -> Scenario {
    scenario(
        "E1",
        &[
            "d=10",
            "steps=1500",
            "batch=32",
            "lr=0.05",
            "eval_every=50",
            "eval_samples=64",
            "snr_samples=16",
            "snr_every=250",
        ],
    )
}

fn small_e2(method: &str) -> Scenario {
    scenario(
        "E2",
        &[
            "k=2",
            &format!("method={method}"),
            "steps_e2e=40",
            "steps_dec=30",
            "batch=6",
            "test_size=16",
            "channels=2",
            "n2_width=6",
            "eval_every=10",
            "snr_samples=4",
        ],
    )
}

fn small_e4() -> Scenario {
    scenario(
        "E4",
        &[
            "d=40",
            "k=4",
            "steps=300",
            "batch=16",
            "eval_every=25",
            "eval_samples=64",
            "snr_samples=16",
        ],
    )
}

/// Events until the terminal one.
fn until_end(rx: &Receiver<RunEvent>) -> Vec<Event> {
    let mut out = Vec::new();
    for ev in rx.iter() {
        let done = ev.event.is_terminal();
        out.push(ev.event);
        if done {
            break;
        }
    }
    out
}

/// The run's metric lines and the summary's `status`, `step`, `total` and values (not its
/// time).
fn outcome(dir: &Path) -> (String, serde_json::Value) {
    let metrics = fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let s: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let end = serde_json::json!({
        "status": s["status"], "step": s["step"], "total": s["total"], "summary": s["summary"],
    });
    (metrics, end)
}

fn uninterrupted(s: &Scenario, o: &LaunchOptions) -> PathBuf {
    let (tx, rx) = crossbeam_channel::unbounded();
    let h = engine::launch(s, o, tx).unwrap();
    let dir = h.dir.clone();
    assert!(matches!(
        until_end(&rx).last(),
        Some(Event::Finished { .. })
    ));
    h.join();
    dir
}

fn resume_to_end(dir: &Path, o: &LaunchOptions) -> (Option<u64>, Vec<String>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let Continued {
        handle,
        from_step,
        notes,
    } = resume::resume(dir, o, tx).unwrap();
    let events = until_end(&rx);
    assert!(
        matches!(events.last(), Some(Event::Finished { .. })),
        "{:?}",
        events.last()
    );
    handle.join();
    (from_step, notes)
}

/// A run killed after its checkpoint at `at` (its files go on past it, it has no summary),
/// resumed: the same files as the uninterrupted run.
fn killed_and_resumed_is_bit_for_bit(name: &str, mut s: Scenario, at: u64) {
    let o = opts(name);
    let whole = outcome(&uninterrupted(&s, &o));
    s.keep_checkpoints = vec![at];
    let dir = uninterrupted(&s, &o);
    assert_eq!(outcome(&dir), whole, "checkpoints change nothing");
    // killed: everything after the checkpoint's step is on disk, no summary
    fs::remove_file(dir.join("summary.json")).unwrap();
    let (from, notes) = resume_to_end(&dir, &o);
    assert_eq!(from, Some(at), "{notes:?}");
    let (metrics, end) = outcome(&dir);
    assert_eq!(end, whole.1);
    assert!(
        metrics == whole.0,
        "{name}: metrics.jsonl differs after the resume"
    );
}

#[test]
fn e1_killed_and_resumed_is_bit_for_bit() {
    killed_and_resumed_is_bit_for_bit("e1-killed", small_e1(), 730);
}

#[test]
fn e2_killed_and_resumed_is_bit_for_bit() {
    // both methods side by side; the checkpoint after decomposition's last step
    killed_and_resumed_is_bit_for_bit("e2-killed", small_e2("both"), 33);
    killed_and_resumed_is_bit_for_bit("e2-killed-early", small_e2("both"), 10);
}

#[test]
fn e4_killed_and_resumed_is_bit_for_bit() {
    killed_and_resumed_is_bit_for_bit("e4-killed", small_e4(), 137);
}

fn small_sp(stop_solved: bool) -> Scenario {
    scenario(
        "SP",
        &[
            "n=10",
            "k=2",
            "width=64",
            "steps=1200",
            "batch=32",
            "lr=0.1",
            "eval_every=50",
            "eval_samples=128",
            "other_subsets=8",
            "snr_samples=8",
            "snr_every=150",
            &format!("stop_solved={stop_solved}"),
        ],
    )
}

#[test]
fn sp_killed_and_resumed_is_bit_for_bit() {
    killed_and_resumed_is_bit_for_bit("sp-killed", small_sp(false), 437);
    // a run that ends once solved (at step 100), resumed from before that
    killed_and_resumed_is_bit_for_bit("sp-killed-solved", small_sp(true), 73);
}

#[test]
fn lp_killed_and_resumed_is_bit_for_bit() {
    let s = scenario(
        "LP",
        &[
            "d=5",
            "width=16",
            "steps=300",
            "batch=16",
            "eval_every=40",
            "eval_samples=64",
            "targets=4",
            "probe=16",
            "snr_samples=8",
        ],
    );
    killed_and_resumed_is_bit_for_bit("lp-killed", s, 163);
}

/// E6, E7 and E9 (part 3) on a small training set.
fn small_curves(id: &str, sets: &[&str]) -> Scenario {
    let mut all = vec![
        "n=16",
        "train_size=64",
        "val_size=16",
        "batch=8",
        "steps=120",
        "eval_every=25",
        "probe=4",
    ];
    all.extend_from_slice(sets);
    scenario(id, &all)
}

#[test]
fn e6_e7_e9_killed_and_resumed_are_bit_for_bit() {
    killed_and_resumed_is_bit_for_bit("e6-killed", small_curves("E6", &[]), 50);
    killed_and_resumed_is_bit_for_bit("e7-killed", small_curves("E7", &[]), 61);
    killed_and_resumed_is_bit_for_bit("e9-killed", small_curves("E9", &["k=2"]), 77);
}

/// Part 4's methods (E12-E14 alone, E10 the four in turn) at a small size.
fn small_flat(id: &str, sets: &[&str]) -> Scenario {
    let mut all = vec![
        "n=10",
        "batch=32",
        "eval_every=20",
        "test_samples=200",
        "probe=4",
    ];
    all.extend_from_slice(sets);
    scenario(id, &all)
}

#[test]
fn e12_e13_e14_killed_and_resumed_are_bit_for_bit() {
    for (id, sets) in [
        ("E12", &["steps=150", "width=16"][..]),
        ("E13", &["steps=150", "width=16"]),
        ("E14", &["steps=150"]),
    ] {
        let s = small_flat(id, sets);
        killed_and_resumed_is_bit_for_bit(&format!("{id}-killed"), s, 83);
    }
}

#[test]
fn e10_killed_and_resumed_in_its_third_method_is_bit_for_bit() {
    // 60 steps each for E11-E13, 40 for E14: step 150 is E13's 30th
    let s = small_flat("E10", &["steps=60", "e14_steps=40", "width=16"]);
    killed_and_resumed_is_bit_for_bit("e10-killed", s.clone(), 150);
    // the checkpoint at a method's last step, before the next one starts
    killed_and_resumed_is_bit_for_bit("e10-killed-edge", s, 60);
}

#[test]
fn an_experiment_without_checkpoints_says_it_starts_again() {
    let o = opts("t1-none");
    let s = scenario("L3", &[]);
    let whole = outcome(&uninterrupted(&s, &o));
    let dir = uninterrupted(&s, &o);
    fs::remove_file(dir.join("summary.json")).unwrap();
    assert!(!dir.join(checkpoint::LATEST).exists());
    let (from, notes) = resume_to_end(&dir, &o);
    assert_eq!(from, None);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("L3 keeps no checkpoints") && n.contains("step 0")),
        "{notes:?}"
    );
    assert_eq!(outcome(&dir), whole);
    let (tx, _rx) = crossbeam_channel::unbounded();
    let e = resume::fork(&dir, None, &[], &o, tx).err().unwrap();
    assert!(e.contains("L3 keeps no checkpoints"), "{e}");
}

#[test]
fn a_stopped_run_writes_a_checkpoint_and_resumes_bit_for_bit() {
    let o = opts("e1-stopped");
    let mut s = small_e1();
    s.set("steps=20000", &Registry).unwrap();
    let whole = outcome(&uninterrupted(&s, &o));
    let (tx, rx) = crossbeam_channel::unbounded();
    let h = engine::launch(&s, &o, tx).unwrap();
    let dir = h.dir.clone();
    for ev in rx.iter() {
        if matches!(ev.event, Event::Metric { step, .. } if step >= 500) {
            break;
        }
    }
    h.stop();
    let stopped_at = match until_end(&rx).last() {
        Some(Event::Stopped { step }) => *step,
        other => panic!("expected a stop, got {other:?}"),
    };
    h.join();
    assert!(stopped_at < 20000);
    let c = checkpoint::read(&dir.join(checkpoint::LATEST)).unwrap();
    assert_eq!(c.header.step, stopped_at);
    let (from, _) = resume_to_end(&dir, &o);
    assert_eq!(from, Some(stopped_at));
    let (metrics, end) = outcome(&dir);
    assert_eq!(end, whole.1);
    assert!(
        metrics == whole.0,
        "metrics.jsonl differs after a stop and a resume"
    );
    let log = fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(log.contains(&format!("resumed from the checkpoint of step {stopped_at}")));
}

#[test]
fn a_bad_latest_checkpoint_falls_back_to_the_previous_and_none_starts_again() {
    let o = opts("e1-bad");
    let mut s = small_e1();
    let whole = outcome(&uninterrupted(&s, &o));
    s.keep_checkpoints = vec![400, 900];
    let dir = uninterrupted(&s, &o);
    fs::remove_file(dir.join("summary.json")).unwrap();
    // the latest (step 900) replaced by something that is not a checkpoint
    fs::write(dir.join(checkpoint::LATEST), "not a checkpoint at all").unwrap();
    let (from, notes) = resume_to_end(&dir, &o);
    assert_eq!(from, Some(400));
    assert!(
        notes
            .iter()
            .any(|n| n.contains("checkpoint.bin") && n.contains("not a fail-lab checkpoint")),
        "{notes:?}"
    );
    assert_eq!(outcome(&dir), whole);
    // the kept checkpoint of step 900 is intact
    assert_eq!(
        checkpoint::read(&dir.join(checkpoint::kept_name(900)))
            .unwrap()
            .header
            .step,
        900
    );
    // no checkpoint at all: from step 0, and said so
    fs::remove_file(dir.join("summary.json")).unwrap();
    for name in [checkpoint::LATEST, checkpoint::PREVIOUS] {
        let _ = fs::remove_file(dir.join(name));
    }
    let (from, notes) = resume_to_end(&dir, &o);
    assert_eq!(from, None);
    assert!(
        notes.iter().any(|n| n.contains("trains again from step 0")),
        "{notes:?}"
    );
    assert_eq!(outcome(&dir), whole);
}

#[test]
fn a_finished_run_is_not_resumed() {
    let o = opts("e1-finished");
    let dir = uninterrupted(&small_e1(), &o);
    let (tx, _rx) = crossbeam_channel::unbounded();
    let e = resume::resume(&dir, &o, tx).err().unwrap();
    assert!(e.contains("finished") && e.contains("--fork"), "{e}");
}

#[test]
fn a_fork_switches_e2e_to_decomposition_and_refuses_shape_changes() {
    let o = opts("e2-fork");
    let mut s = small_e2("e2e");
    s.keep_checkpoints = vec![20];
    let parent = uninterrupted(&s, &o);
    let parent_id = parent.file_name().unwrap().to_string_lossy().to_string();
    // a parameter that changes the network's shapes is refused before anything starts
    let (tx, _rx) = crossbeam_channel::unbounded();
    let e = resume::fork(&parent, Some(20), &["k=3".into()], &o, tx)
        .err()
        .unwrap();
    assert!(e.starts_with("--set k: a fork cannot change k"), "{e}");
    let (tx, _rx) = crossbeam_channel::unbounded();
    let e = resume::fork(&parent, Some(25), &[], &o, tx).err().unwrap();
    assert!(e.contains("no checkpoint at step 25; kept: 20"), "{e}");
    // end-to-end switched to decomposition at step 20
    let (tx, rx) = crossbeam_channel::unbounded();
    let sets = ["method=dec".to_string(), "steps_dec=40".to_string()];
    let c = resume::fork(&parent, Some(20), &sets, &o, tx).unwrap();
    let child = c.handle.dir.clone();
    assert!(matches!(
        until_end(&rx).last(),
        Some(Event::Finished { .. })
    ));
    c.handle.join();
    assert_eq!(resume::fork_of(&child), Some((parent_id, 20)));
    let metrics = fs::read_to_string(child.join("metrics.jsonl")).unwrap();
    let steps: Vec<(u64, String)> = metrics
        .lines()
        .filter_map(engine::store::parse_metric_line)
        .map(|(s, n, _)| (s, n))
        .collect();
    assert_eq!(
        steps.first().map(|p| p.0),
        Some(20),
        "the fork starts at its step"
    );
    assert!(steps.iter().all(|(_, n)| n.starts_with("dec/")));
    assert!(steps.contains(&(40, "dec/test_accuracy".into())));
    // the fork at step 20 trained the parent's network: its first evaluation is the parent's
    let parent_metrics = fs::read_to_string(parent.join("metrics.jsonl")).unwrap();
    let at20 = |text: &str, name: &str| {
        text.lines()
            .filter_map(engine::store::parse_metric_line)
            .find(|(s, n, _)| *s == 20 && n == name)
            .map(|p| p.2)
    };
    assert_eq!(
        at20(&metrics, "dec/test_accuracy"),
        at20(&parent_metrics, "e2e/test_accuracy")
    );
}

#[test]
fn a_cluster_task_run_again_continues_its_run_from_the_checkpoint() {
    let o = opts("task-again");
    let mut s = small_e1();
    let whole = outcome(&uninterrupted(&s, &o));
    s.keep_checkpoints = vec![600];
    fs::create_dir_all(&o.runs_dir).unwrap();
    let file = o.runs_dir.join("task.toml");
    fail_lab::slurm::task::write_run_file(&file, &s, "task-run-1", "").unwrap();
    let launch = || {
        let (tx, rx) = crossbeam_channel::unbounded();
        let h = fail_lab::slurm::task::launch(&file, &s, &o, tx).unwrap();
        let end = until_end(&rx);
        h.join();
        end
    };
    assert!(matches!(launch().last(), Some(Event::Finished { .. })));
    let dir = o.runs_dir.join("task-run-1");
    // killed by a time limit after its checkpoint: the task is started again
    fs::remove_file(dir.join("summary.json")).unwrap();
    assert!(matches!(launch().last(), Some(Event::Finished { .. })));
    let log = fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(
        log.contains("resumed from the checkpoint of step 600"),
        "{log}"
    );
    assert_eq!(outcome(&dir), whole);
}

#[test]
fn the_binary_resumes_and_forks_and_refuses_what_does_not_fit() {
    let o = opts("cli");
    let mut s = small_e1();
    s.keep_checkpoints = vec![500];
    let dir = uninterrupted(&s, &o);
    fs::remove_file(dir.join("summary.json")).unwrap();
    // cut off: the process that trained it (here, this one) is gone
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let gone = fail_lab::engine::Owner {
        pid,
        ..fail_lab::engine::Owner::current()
    };
    gone.write(&dir).unwrap();
    let id = dir.file_name().unwrap().to_string_lossy().to_string();
    let bin = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_fail-lab"));
        c.arg("--runs").arg(&o.runs_dir).arg("run");
        c
    };
    let text = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).to_string();
    let out = bin().args(["--resume", &id]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("resuming {id} from its checkpoint of step 500")),
        "{}",
        text(&out)
    );
    let out = bin().args(["--resume", &id]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("there is nothing to resume"),
        "{}",
        text(&out)
    );
    let out = bin()
        .args(["--fork", &format!("{id}@500"), "--set", "width=50"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("error: --set width: a fork cannot change width"),
        "{}",
        text(&out)
    );
    let out = bin()
        .args(["--fork", &format!("{id}@500"), "--set", "lr=0.2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("forked"), "{}", text(&out));
    let out = bin()
        .args(["--resume", &id, "--set", "lr=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin().args(["--resume", "no-such-run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no-such-run"), "{}", text(&out));
}
