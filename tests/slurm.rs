//! Sweeps on Slurm, against a real slurmctld and slurmd (`scripts/local-slurm.sh start`):
//! a sweep submitted with `--slurm --wait` ends with the local sweep's table, several runs
//! per array task, cancelling (the whole job, one task), a time limit, the queue's states
//! and reasons, `--resume`; and, without Slurm, `--dry-run`, a missing `sbatch` and a
//! planned run written where its `[task]` says.
//!
//! The Slurm tests are opt-in: they run only with `FAIL_LAB_SLURM_TESTS=1` (`.ci/run` sets it
//! after starting its own single-node Slurm, and then they fail without Slurm). Otherwise
//! they are skipped, saying so, whatever is on the PATH: on a cluster's login node `sbatch`
//! is a real cluster, and a test must never submit to it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use fail_lab::engine::{RunState, Status};
use fail_lab::slurm::{self, sweep::locate};
use fail_lab::sweep::{record, SweepRecord};

const D5: &str = "scenarios/e1-parity-d5.toml";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fail-lab"))
}

fn out_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("slurm-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A runs folder whose sweeps' Slurm jobs are cancelled when the test ends, passed or
/// failed, so a failing test leaves nothing in the queue.
struct SlurmOut(PathBuf);

impl SlurmOut {
    fn new(name: &str) -> SlurmOut {
        SlurmOut(out_dir(name))
    }
}

impl std::ops::Deref for SlurmOut {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl Drop for SlurmOut {
    fn drop(&mut self) {
        for id in record::list(&self.0) {
            let jobs = SweepRecord::load(&self.0, &id)
                .ok()
                .and_then(|r| r.slurm)
                .map(|s| s.jobs)
                .unwrap_or_default();
            for j in jobs {
                let _ = slurm::cancel(&j.id, None);
            }
        }
    }
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

/// Written past the test harness's capture, so a skip shows in the test log.
fn note(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Whether the Slurm tests run (see the file's comment); when Slurm is expected, it must
/// answer.
fn slurm_here(test: &str) -> bool {
    // opt-in only: on a cluster's login node an sbatch on the PATH is a real cluster that
    // these tests must never submit to
    if std::env::var("FAIL_LAB_SLURM_TESTS").as_deref() != Ok("1") {
        note(&format!(
            "{test}: skipped: the Slurm tests run only with FAIL_LAB_SLURM_TESTS=1, on a \
             single-node Slurm of their own (`scripts/local-slurm.sh start` as root, as .ci/run \
             does); they never touch a cluster by default"
        ));
        return false;
    }
    let o = Command::new("sinfo").args(["-h", "-o", "%t"]).output();
    match o {
        Ok(o) if o.status.success() => true,
        Ok(o) => panic!(
            "Slurm is expected here but sinfo fails: {}; run scripts/local-slurm.sh start",
            text(&o).1
        ),
        Err(e) => panic!("Slurm is expected here but sinfo cannot run: {e}"),
    }
}

/// Runs `cmd` to its end, failing the test if it takes longer than `limit`.
fn run_for(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > limit {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("still running after {limit:?}: {}", text(&o).1);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

/// Waits until `cond` holds, failing the test after `limit`.
fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < limit, "{what}: not after {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn sweep(out: &Path, args: &[&str]) -> Command {
    let mut c = bin();
    c.arg("sweep").args(args).arg("--out").arg(out);
    c
}

/// `fail-lab sweep ARGS --out OUT` within `limit`: its exit code, stdout and stderr.
fn sweep_run(out: &Path, args: &[&str], limit: Duration) -> (Option<i32>, String, String) {
    let o = run_for(&mut sweep(out, args), limit);
    let (stdout, stderr) = text(&o);
    (o.status.code(), stdout, stderr)
}

/// [`sweep_run`], which must succeed: its stdout and stderr.
fn sweep_ok(out: &Path, args: &[&str], limit: Duration) -> (String, String) {
    let (code, stdout, stderr) = sweep_run(out, args, limit);
    assert_eq!(code, Some(0), "{args:?}: {stderr}");
    (stdout, stderr)
}

/// `fail-lab sweep ARGS --out OUT`, which must exit with `code` and say `says`.
fn sweep_fails(out: &Path, args: &[&str], code: i32, says: &str) {
    let o = run_for(&mut sweep(out, args), MINUTE);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(stderr.contains(says), "{args:?}: {stderr}");
}

fn only_sweep(out: &Path) -> SweepRecord {
    let ids = record::list(out);
    assert_eq!(ids.len(), 1, "{ids:?}");
    SweepRecord::load(out, &ids[0]).unwrap()
}

/// The table's lines (its title names the sweep's id, which differs).
fn table(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("| ") || l.contains(" runs: "))
        .collect()
}

/// The table row whose first cell is `first`, whatever setup columns sit between it and `n`.
fn row_of<'a>(stdout: &'a str, first: &str) -> &'a str {
    let head = format!("| {first} ");
    stdout
        .lines()
        .find(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("no row for {first}: {stdout}"))
}

fn job_of(rec: &SweepRecord) -> String {
    rec.slurm.as_ref().unwrap().jobs.last().unwrap().id.clone()
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn a_slurm_sweep_ends_with_the_local_sweeps_table() {
    if !slurm_here("a_slurm_sweep_ends_with_the_local_sweeps_table") {
        return;
    }
    let grid = ["--grid", "d=4,6", "--seeds", "3", "--set", "steps=300"];
    let local = out_dir("table-local");
    let o = run_for(&mut sweep(&local, &[&[D5][..], &grid].concat()), MINUTE);
    assert!(o.status.success(), "{}", text(&o).1);
    let out = SlurmOut::new("table-slurm");
    let args = [
        &[D5][..],
        &grid,
        &["--slurm", "--max-parallel", "2", "--wait"],
    ]
    .concat();
    let s = run_for(&mut sweep(&out, &args), 3 * MINUTE);
    let (stdout, stderr) = text(&s);
    assert!(s.status.success(), "{stderr}");
    assert_eq!(table(&stdout), table(&text(&o).0), "{stdout}");
    assert!(stdout.contains("6 runs: 6 finished"), "{stdout}");
    assert_eq!(
        stderr.matches("finished ").count(),
        6,
        "a line per run: {stderr}"
    );

    let rec = only_sweep(&out);
    let job = rec.slurm.as_ref().unwrap();
    assert_eq!(job.options.max_parallel, Some(2));
    assert_eq!(job.jobs.len(), 1);
    assert_eq!(job.jobs[0].tasks.len(), 6, "one run per task by default");
    let script =
        std::fs::read_to_string(slurm::sweep::slurm_dir(&out, &rec.id).join("job-1.sh")).unwrap();
    assert!(script.contains("#SBATCH --array=0-5%2"), "{script}");
    for e in &rec.runs {
        assert_eq!(e.status, "finished");
        let dir = out.join(e.run.as_ref().unwrap());
        assert!(dir.join("summary.json").is_file(), "{}", dir.display());
        let (sweep_id, _) = record::run_sweep_point(&dir).expect("[sweep_point]");
        assert_eq!(sweep_id, rec.id);
        let spec = std::fs::read_to_string(dir.join("spec.toml")).unwrap();
        assert!(!spec.contains("[task]"), "{spec}");
    }
    let (runs, errors) = RunState::load_all(&out);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(runs.len(), 6);
}

#[test]
fn runs_per_task_3_gives_2_array_tasks() {
    if !slurm_here("runs_per_task_3_gives_2_array_tasks") {
        return;
    }
    let out = SlurmOut::new("per-task");
    let args = [
        D5,
        "--grid",
        "d=4,6",
        "--seeds",
        "3",
        "--set",
        "steps=200",
        "--slurm",
        "--runs-per-task",
        "3",
        "--json",
        "--wait",
    ];
    let o = run_for(&mut sweep(&out, &args), 3 * MINUTE);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(lines[0]["event"], "submitted");
    assert_eq!(
        (lines[0]["runs"].as_u64(), lines[0]["tasks"].as_u64()),
        (Some(6), Some(2))
    );
    let finished: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["event"] == "finished").collect();
    assert_eq!(finished.len(), 6, "{stdout}");
    assert!(finished
        .iter()
        .all(|l| l["point"]["d"].is_number() && l["summary"].is_object()));
    let last = lines.last().unwrap();
    assert_eq!(
        (last["event"].as_str(), last["finished"].as_u64()),
        (Some("sweep_finished"), Some(6))
    );

    let rec = only_sweep(&out);
    let jr = &rec.slurm.as_ref().unwrap().jobs[0];
    assert_eq!(jr.tasks.len(), 2);
    assert_eq!(jr.tasks.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3]);
    let dir = slurm::sweep::slurm_dir(&out, &rec.id);
    for t in 0..2 {
        let log = std::fs::read_to_string(slurm::job::log_path(&dir, &jr.id, t)).unwrap();
        assert_eq!(log.matches("fail-lab task: line").count(), 3, "{log}");
    }
    let fifth = rec.runs[4].run.clone().unwrap();
    let at = locate(&out, &fifth).expect("the run's job and task");
    assert_eq!(
        (at.sweep.as_str(), at.job.as_str(), at.task),
        (rec.id.as_str(), jr.id.as_str(), 1)
    );
}

#[test]
fn cancelling_a_running_sweep_keeps_its_finished_runs_and_marks_the_rest_cancelled() {
    if !slurm_here("cancelling_a_running_sweep") {
        return;
    }
    let out = SlurmOut::new("cancel");
    // two quick runs, then two that would train for minutes, one task at a time
    let args = [
        D5,
        "--grid",
        "steps=200,5000000",
        "--seeds",
        "2",
        "--slurm",
        "--max-parallel",
        "1",
    ];
    let o = run_for(&mut sweep(&out, &args), MINUTE);
    assert!(o.status.success(), "{}", text(&o).1);
    let rec = only_sweep(&out);
    let long = out.join(rec.runs[2].run.as_ref().unwrap());
    wait_for("the first long run trains", 2 * MINUTE, || {
        RunState::load(&long).is_ok_and(|s| s.status == Status::Elsewhere && s.step > 0)
    });
    let o = run_for(&mut sweep(&out, &["--status", &rec.id]), MINUTE);
    let (stdout, stderr) = text(&o);
    assert!(
        row_of(&stdout, "200    ").contains("| 2 | 2 finished "),
        "{stdout}"
    );
    assert!(stderr.contains("PENDING"), "the last task waits: {stderr}");

    let o = run_for(&mut sweep(&out, &["--cancel", &rec.id]), MINUTE);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(text(&o).1.contains("cancelled Slurm job"), "{}", text(&o).1);
    wait_for("the cancelled run writes its files", MINUTE, || {
        long.join("summary.json").is_file()
    });
    let mut rec = SweepRecord::load(&out, &rec.id).unwrap();
    wait_for("the job leaves the queue", MINUTE, || {
        !slurm::refresh(&mut rec, &out).any_active()
    });
    let statuses: Vec<&str> = rec.runs.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(statuses, ["finished", "finished", "cancelled", "cancelled"]);
    assert!(
        rec.runs[2].reason.as_ref().unwrap().contains("CANCELLED"),
        "{:?}",
        rec.runs[2]
    );
    let metrics = std::fs::read_to_string(long.join("metrics.jsonl")).unwrap();
    assert!(
        metrics.lines().count() > 0,
        "the cancelled run keeps its metrics"
    );
    assert!(
        !out.join(rec.runs[3].run.as_ref().unwrap()).exists(),
        "never started"
    );

    let o = run_for(&mut sweep(&out, &["--status", &rec.id]), MINUTE);
    let (stdout, _) = text(&o);
    assert!(
        row_of(&stdout, "5000000").contains("| 2 | 2 cancelled "),
        "{stdout}"
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_task_at_its_time_limit_checkpoints_and_its_run_resumes_from_there() {
    if !slurm_here("a_task_at_its_time_limit_checkpoints_and_its_run_resumes_from_there") {
        return;
    }
    let out = SlurmOut::new("time-limit");
    // Slurm counts limits in whole minutes and checks them every 30 s or so; it warns the
    // task (SIGUSR1) 15 s before a 1-minute limit
    let args = [
        D5,
        "--set",
        "steps=50000000",
        "--slurm",
        "--time",
        "1",
        "--wait",
    ];
    let o = run_for(&mut sweep(&out, &args), 4 * MINUTE);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stdout.contains("| 1 | 1 time limit |"), "{stdout}");
    assert!(
        stderr.contains("the time limit is near") || stderr.contains("DUE TO TIME LIMIT"),
        "{stderr}"
    );
    let rec = only_sweep(&out);
    assert_eq!(rec.runs[0].status, "time limit", "saved in the record");
    let dir = out.join(rec.runs[0].run.as_ref().unwrap());
    let state = RunState::load(&dir).unwrap();
    assert!(
        state.step > 0 && !state.metrics.is_empty(),
        "keeps its flushed metrics"
    );
    // warned before the limit, the run stopped at a checkpoint of its last step
    let c = fail_lab::engine::checkpoint::read(&dir.join(fail_lab::engine::checkpoint::LATEST))
        .expect("a checkpoint written before the task ended");
    assert!(c.header.step > 0);
    // resumed (here, for a few seconds), it goes on from that step, none repeated
    let mut run = bin()
        .args(["run", "--resume"])
        .arg(&dir)
        .args(["--threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let log = dir.join("log.txt");
    let resumed = format!("resumed from the checkpoint of step {}", c.header.step);
    wait_for("the resume's log line", MINUTE, || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains(&resumed))
    });
    std::thread::sleep(Duration::from_secs(3));
    let _ = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status();
    run.wait().unwrap();
    let state = RunState::load(&dir).unwrap();
    assert!(
        state.step > c.header.step,
        "{} after {}",
        state.step,
        c.header.step
    );
    let acc: Vec<u64> = std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .filter_map(fail_lab::engine::store::parse_metric_line)
        .filter(|(_, name, _)| name == "test_accuracy")
        .map(|(step, _, _)| step)
        .collect();
    assert!(acc.iter().any(|&s| s > c.header.step), "{acc:?}");
    assert!(
        acc.windows(2).all(|w| w[0] < w[1]),
        "no step repeated or out of order in metrics.jsonl"
    );
}

#[test]
fn held_tasks_show_slurms_reason_cancel_one_task_then_resume_what_did_not_finish() {
    if !slurm_here("held_tasks_show_slurms_reason") {
        return;
    }
    let out = SlurmOut::new("held");
    let args = [
        D5,
        "--seeds",
        "3",
        "--set",
        "steps=200",
        "--slurm",
        "--sbatch-arg=--hold",
    ];
    sweep_ok(&out, &args, MINUTE);
    let mut rec = only_sweep(&out);
    let job = job_of(&rec);
    let tasks = slurm::queue_states(&job).unwrap();
    assert_eq!(tasks.len(), 3, "{tasks:?}");
    let held = |t: &slurm::TaskState| t.is_pending() && t.reason.as_deref() == Some("JobHeldUser");
    assert!(tasks.iter().all(held), "{tasks:?}");
    let (code, stdout, stderr) = sweep_run(&out, &["--status", &rec.id], MINUTE);
    assert_eq!(code, Some(1), "not all finished: {stderr}");
    assert!(stdout.contains("| 3 | 3 queued |"), "{stdout}");
    assert!(
        stderr.contains("queued · Slurm: PENDING (JobHeldUser)"),
        "{stderr}"
    );

    let second = rec.runs[1].run.clone().unwrap();
    let (_, said) = sweep_ok(&out, &["--cancel", &rec.id, "--run", &second], MINUTE);
    assert!(
        said.contains(&format!("cancelled Slurm task {job}_1")),
        "{said}"
    );
    wait_for("task 1 is cancelled", MINUTE, || {
        // the cancel is noted in the record on disk
        rec = SweepRecord::load(&out, &rec.id).unwrap();
        slurm::refresh(&mut rec, &out);
        rec.runs[1].status == "cancelled"
    });
    let others = (rec.runs[0].status.as_str(), rec.runs[2].status.as_str());
    assert_eq!(others, ("queued", "queued"));
    sweep_fails(
        &out,
        &["--resume", &rec.id],
        2,
        "still has tasks waiting or running",
    );

    sweep_ok(&out, &["--cancel", &rec.id], MINUTE);
    // a new --sbatch-arg replaces the recorded ones, so the resubmitted job is not held
    let resume = [
        "--resume",
        &rec.id,
        "--sbatch-arg=--comment=again",
        "--wait",
    ];
    let (stdout, _) = sweep_ok(&out, &resume, 3 * MINUTE);
    assert!(stdout.contains("3 runs: 3 finished"), "{stdout}");
    let rec = SweepRecord::load(&out, &rec.id).unwrap();
    let s = rec.slurm.as_ref().unwrap();
    assert_eq!(
        (s.jobs.len(), s.options.extra.clone()),
        (2, vec!["--comment=again".to_string()])
    );
    let fresh = rec.runs.iter().all(|e| e.earlier.is_empty());
    assert!(fresh, "no run had started before");
}

#[test]
fn dry_run_prints_the_script_and_the_tasks_and_keeps_nothing() {
    // needs no Slurm: nothing is submitted
    let out = out_dir("dry-run");
    let args = [
        D5,
        "--grid",
        "d=4,6",
        "--seeds",
        "2",
        "--set",
        "steps=200",
        "--slurm",
        "--dry-run",
        "--runs-per-task",
        "3",
        "--max-parallel",
        "2",
        "--partition",
        "gpu",
        "--time",
        "1:30:00",
        "--mem",
        "2G",
        "--gres",
        "gpu:1",
        "--account",
        "lab",
        "--cpus-per-task",
        "2",
        "--sbatch-arg=--qos=short",
        "--binary",
        "/opt/fail-lab",
    ];
    let o = run_for(&mut sweep(&out, &args), MINUTE);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    for line in [
        "#!/bin/bash",
        "#SBATCH --array=0-1%2",
        "#SBATCH --partition=gpu",
        "#SBATCH --account=lab",
        "#SBATCH --time=1:30:00",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --mem=2G",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --qos=short",
        "#SBATCH --no-requeue",
        // a quarter of the limit, at most 2 minutes, before it
        "#SBATCH --signal=B:USR1@120",
        "BIN=/opt/fail-lab",
        "PER=3",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line}:\n{stdout}");
    }
    assert!(stdout.contains("/slurm/%A_%a.out"), "{stdout}");
    let runs: Vec<&str> = stdout.lines().filter(|l| l.starts_with("run ")).collect();
    assert_eq!(runs.len(), 4, "{stdout}");
    assert!(runs
        .iter()
        .all(|l| l.contains(" --out ") && l.ends_with("--threads auto")));
    assert!(stderr.contains("nothing submitted"), "{stderr}");
    assert!(record::list(&out).is_empty(), "no sweep kept");
}

#[test]
fn a_missing_sbatch_says_so_and_leaves_no_sweep() {
    let out = out_dir("no-sbatch");
    let args = [D5, "--seeds", "2", "--set", "steps=200", "--slurm"];
    let o = run_for(sweep(&out, &args).env("PATH", "/nonexistent"), MINUTE);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    for says in [
        "`sbatch` was not found",
        "scripts/local-slurm.sh start",
        "nothing was submitted; no sweep was recorded",
    ] {
        assert!(stderr.contains(says), "{says}: {stderr}");
    }
    assert!(record::list(&out).is_empty());
    sweep_fails(
        &out,
        &[D5, "--partition", "gpu"],
        2,
        "--partition is an option of --slurm",
    );
    sweep_fails(
        &out,
        &[D5, "--slurm", "--time", "soon"],
        2,
        "--time soon: allowed: minutes",
    );
}

#[test]
fn a_planned_run_writes_the_folder_its_task_names_once() {
    let out = out_dir("planned");
    let scenario =
        fail_lab::spec::load_scenario(Path::new(D5), &fail_lab::experiments::Registry).unwrap();
    let mut s = scenario.clone();
    s.set("steps=200", &fail_lab::experiments::Registry)
        .unwrap();
    let file = out.join("plan.toml");
    let extra = "[sweep_point]\nsweep = \"s1\"\n\n[sweep_point.point]\nd = 5\n";
    slurm::task::write_run_file(&file, &s, "planned-run-7", extra).unwrap();
    let run = |out: &Path| run_for(bin().arg("run").arg(&file).arg("--out").arg(out), MINUTE);
    let o = run(&out);
    assert!(o.status.success(), "{}", text(&o).1);
    let dir = out.join("planned-run-7");
    assert!(dir.join("summary.json").is_file());
    let (sweep_id, point) = record::run_sweep_point(&dir).unwrap();
    assert_eq!(
        (sweep_id.as_str(), point["d"].as_integer()),
        ("s1", Some(5))
    );
    let spec = std::fs::read_to_string(dir.join("spec.toml")).unwrap();
    assert!(!spec.contains("[task]"), "{spec}");
    let o = run(&out);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("exists already"), "{}", text(&o).1);
}

#[test]
fn reproduce_on_slurm_waits_for_its_runs_and_judges_them_as_it_would_here() {
    if !slurm_here("reproduce_on_slurm") {
        return;
    }
    let out = out_dir("reproduce");
    let o = run_for(
        bin().args([
            "reproduce",
            "--quick",
            "--only",
            "T1",
            "--slurm",
            "--wait",
            "--save-runs",
            out.to_str().unwrap(),
        ]),
        Duration::from_secs(300),
    );
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("submitted as Slurm job"), "{stderr}");
    assert!(
        stdout.contains("| T1 ") && stdout.contains("1 checks passed"),
        "{stdout}"
    );
    // the same verdict from the saved runs, later, without Slurm
    let again = bin()
        .args([
            "reproduce",
            "--quick",
            "--only",
            "T1",
            "--from-runs",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again).1);
    let row = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("| T1 "))
            .map(str::to_string)
    };
    assert_eq!(row(&stdout), row(&text(&again).0));
    // Slurm options need --slurm; --slurm needs the shared folder
    let o = bin()
        .args(["reproduce", "--only", "T1", "--max-parallel", "2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o)
            .1
            .contains("--max-parallel is an option of --slurm"),
        "{}",
        text(&o).1
    );
    let o = bin()
        .args(["reproduce", "--only", "T1", "--slurm"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// With an `sbatch` on the PATH (a login node's, say) and no `FAIL_LAB_SLURM_TESTS=1`, the
/// Slurm tests are skipped and submit nothing: this test runs one of them in a child process
/// of this test binary with a recording `sbatch` first on the PATH.
#[test]
fn the_slurm_tests_never_submit_without_being_asked_to() {
    let dir = out_dir("opt-in");
    std::fs::create_dir_all(&dir).unwrap();
    let called = dir.join("sbatch-was-called");
    for tool in ["sbatch", "sinfo", "squeue"] {
        let path = dir.join(tool);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"$0 $*\" >> {}\nexit 0\n",
                called.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "runs_per_task_3_gives_2_array_tasks",
            "--nocapture",
        ])
        .env("PATH", path)
        .env_remove("FAIL_LAB_SLURM_TESTS")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "the test ran: {stdout}");
    assert!(stderr.contains("skipped"), "{stderr}");
    assert!(!called.exists(), "a Slurm tool was called");
}
