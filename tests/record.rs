//! The record (`reproduce --full --seeds 3 --figures DIR`) as one command that can be cut off
//! and run again: what finished is kept, what was cut off goes on in its folder, and the plan
//! with its cost is printed without training (`--dry-run`).

use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fail-lab"))
}

fn out_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("record-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

/// The table's rows without the time column.
fn verdicts(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("| "))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            cells[..cells.len() - 1].join(" | ")
        })
        .collect()
}

/// The plan `args DIR --dry-run` prints (it must succeed).
fn dry_run(args: &[&str], dir: &PathBuf) -> String {
    let o = bin().args(args).arg(dir).arg("--dry-run").output().unwrap();
    let (plan, stderr) = text(&o);
    assert!(o.status.success(), "{plan}\n{stderr}");
    plan
}

fn run_folders(dir: &PathBuf) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

#[test]
fn a_second_invocation_trains_nothing_finished_and_continues_what_was_cut_off() {
    let dir = out_dir("resume");
    let args = ["reproduce", "--only", "E1,L3", "--jobs", "2", "--save-runs"];
    let o = bin().args(args).arg(&dir).output().unwrap();
    let (first, stderr) = text(&o);
    assert!(o.status.success(), "{first}\n{stderr}");
    assert!(stderr.contains("[5/5] done"), "{stderr}");
    let folders = run_folders(&dir);
    assert_eq!(folders.len(), 5);

    // again: every run is kept, none starts
    let o = bin().args(args).arg(&dir).output().unwrap();
    let (second, stderr) = text(&o);
    assert!(o.status.success(), "{second}\n{stderr}");
    assert!(stderr.contains("kept 5 finished runs"), "{stderr}");
    assert!(!stderr.contains("] start "), "{stderr}");
    assert_eq!(verdicts(&second), verdicts(&first));
    assert_eq!(run_folders(&dir), folders);

    // one run cut off (its summary gone, as when the process is killed): only it trains,
    // in its own folder, and the table is the same
    let cut = folders
        .iter()
        .find(|d| d.file_name().unwrap().to_string_lossy().contains("e1"))
        .unwrap();
    std::fs::remove_file(cut.join("summary.json")).unwrap();
    // the dry run says what is saved and what is left: four finished, one to go on with
    let plan = dry_run(&args, &dir);
    assert_eq!(plan.matches("| finished ").count(), 4, "{plan}");
    assert_eq!(plan.matches("| unfinished, step ").count(), 1, "{plan}");
    assert!(
        plan.contains("5 runs, 20000 iterations: 4 finished, 1 unfinished"),
        "{plan}"
    );
    let o = bin().args(args).arg(&dir).output().unwrap();
    let (third, stderr) = text(&o);
    assert!(o.status.success(), "{third}\n{stderr}");
    assert!(stderr.contains("kept 4 finished runs"), "{stderr}");
    assert!(
        stderr.contains("1 cut-off runs continue from their last checkpoint"),
        "{stderr}"
    );
    assert!(stderr.contains("[1/1] done"), "{stderr}");
    assert_eq!(verdicts(&third), verdicts(&first));
    assert_eq!(
        run_folders(&dir),
        folders,
        "the cut-off run went on in its folder"
    );
    assert!(cut.join("summary.json").is_file());
}

#[test]
fn the_dry_run_of_the_record_plans_every_run_with_its_cost_and_makes_nothing() {
    let dir = out_dir("dry");
    let o = bin()
        .args([
            "reproduce",
            "--full",
            "--seeds",
            "3",
            "--dry-run",
            "--figures",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(!dir.exists(), "a dry run made {}", dir.display());
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| #") && !l.starts_with("| -"))
        .collect();
    // Figure 3's runs at the paper's lengths, one per k and seed set
    for seed in [0, 1000, 2000] {
        for k in ["k=1 ", "k=2 ", "k=4 "] {
            assert!(
                rows.iter().any(
                    |r| r.contains(&format!("E2 {k}snr_samples=0 · seed {seed} "))
                        && r.contains("e2e 20000 + dec 2500")
                ),
                "no E2 {k}at 20,000 for seed {seed}:\n{stdout}"
            );
        }
        // E1 at d = 30 for 50,000 iterations (the experiment's defaults)
        assert!(
            rows.iter()
                .any(|r| r.contains(&format!("| E1 · seed {seed} ")) && r.contains("| 50000 ")),
            "{stdout}"
        );
    }
    for e in [
        "E4 k=2000",
        "E6 ",
        "E7 ",
        "E8 ",
        "E9 ",
        "E11 ",
        "E12 ",
        "E13 ",
        "E14 ",
        "E3 ",
    ] {
        assert!(rows.iter().any(|r| r.contains(e)), "no {e} run:\n{stdout}");
    }
    assert!(rows.iter().all(|r| !r.contains("not measured")), "{stdout}");
    // the check's 2,500-iteration E2 runs are the start of Figure 3's: read, not trained
    assert!(
        rows.iter().all(|r| !r.contains("steps_e2e=2500")),
        "{stdout}"
    );
    assert!(
        stderr.contains("12 more read from the start of longer runs"),
        "{stderr}"
    );
    let total = stdout
        .lines()
        .find(|l| l.contains(" runs, ") && l.contains("of wall time on"))
        .unwrap_or_else(|| panic!("no totals line:\n{stdout}"));
    assert!(
        total.starts_with(&format!("{} runs", rows.len())),
        "{total}"
    );
}

#[test]
fn without_figures_the_full_checks_train_their_own_2500_iteration_e2_runs() {
    let o = bin()
        .args(["reproduce", "--full", "--only", "E2", "--dry-run"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let e2: Vec<&str> = stdout.lines().filter(|l| l.contains("| E2 ")).collect();
    assert_eq!(e2.len(), 4, "{stdout}");
    assert!(
        e2.iter().all(|r| r.contains("e2e 2500 + dec 2500")),
        "{stdout}"
    );
    assert!(!stderr.contains("read from the start"), "{stderr}");
}

/// The record over several sittings (`scripts/full-record.sh`): a sitting keeps its finished
/// runs, without their checkpoints, in `assets/record/runs` with a line in
/// `assets/record/sittings.csv`, and a later sitting on a fresh checkout (no `runs/`) goes on
/// from them without training them again.
#[test]
fn a_later_sitting_goes_on_from_the_runs_an_earlier_one_kept() {
    let root = out_dir("sittings");
    std::fs::create_dir_all(&root).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/full-record.sh");
    let sitting = || {
        Command::new("bash")
            .arg(script)
            .env("FAIL_LAB_BIN", env!("CARGO_BIN_EXE_fail-lab"))
            .env("RECORD_ROOT", &root)
            .env("RECORD_PLAN", "--only L3,E1")
            .output()
            .unwrap()
    };
    let o = sitting();
    let (stdout, stderr) = text(&o);
    // two checks are not every figure: the record is not complete, and says so
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("not drawn in full"), "{stderr}");
    assert!(stderr.contains("5 runs finished (kept"), "{stderr}");
    let store = root.join("assets/record");
    let kept = run_folders(&store.join("runs"));
    assert_eq!(kept.len(), 5);
    for d in &kept {
        let mut files: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "figures.jsonl",
                "log.txt",
                "metrics.jsonl",
                "spec.toml",
                "summary.json"
            ],
            "{}",
            d.display()
        );
    }
    // a fresh checkout of the repository: the kept runs, no runs/
    std::fs::remove_dir_all(root.join("runs")).unwrap();
    let o = sitting();
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("kept 5 finished runs") && !stderr.contains("start E1"),
        "{stderr}"
    );
    assert_eq!(verdicts(&stdout).len(), 4, "{stdout}");
    let sittings = std::fs::read_to_string(store.join("sittings.csv")).unwrap();
    let lines: Vec<&str> = sittings.lines().collect();
    assert_eq!(lines.len(), 3, "{sittings}");
    assert_eq!(
        lines[0],
        "started,commit,cores,cpu,wall_s,cpu_s,runs_finished"
    );
    let first: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(first[6].split(' ').count(), 5, "{sittings}");
    assert!(first[4].parse::<f64>().is_ok(), "{sittings}");
    assert!(
        lines[2].ends_with(','),
        "the second sitting finished nothing: {sittings}"
    );
    // the kept runs gone (as when a complete record removes them) but runs/ still there: a
    // sitting keeps them again and counts none of them as its own
    std::fs::remove_dir_all(store.join("runs")).unwrap();
    let o = sitting();
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("0 runs finished (kept"), "{stderr}");
    assert_eq!(run_folders(&store.join("runs")).len(), 5);
    let sittings = std::fs::read_to_string(store.join("sittings.csv")).unwrap();
    let third = sittings.lines().nth(3).unwrap_or_default();
    assert!(third.ends_with(','), "{sittings}");
}

/// SIGTERM (or Ctrl-C) to a `reproduce` that saves its runs stops each running run at a
/// checkpoint, starts no other and ends with 130; the next call goes on from that checkpoint.
#[cfg(unix)]
#[test]
fn a_terminated_record_saves_its_running_run_at_a_checkpoint() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = out_dir("terminated");
    let args = ["reproduce", "--full", "--only", "E1", "--jobs", "1"];
    let mut child = bin()
        .args(args)
        .arg("--save-runs")
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("] start ") {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("reproduce ended before a run started: {seen}");
        }
        seen.push_str(&line);
    }
    // a few hundred steps in (E1's first run is 50,000 iterations long)
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: a plain kill(2) of the child's pid
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    seen.push_str(&rest);
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("stopping: no further run starts"), "{seen}");
    assert!(seen.contains("stopped after"), "{seen}");
    assert!(
        seen.contains("the same command goes on from them"),
        "{seen}"
    );
    assert_eq!(seen.matches("] start ").count(), 1, "{seen}");
    // the dry run finds it cut off at a step with a checkpoint, and the rest to start
    let plan = dry_run(&[&args[..], &["--save-runs"]].concat(), &dir);
    assert_eq!(plan.matches("| unfinished, step ").count(), 1, "{plan}");
    assert_eq!(plan.matches("| finished ").count(), 0, "{plan}");
    assert!(plan.contains(": 0 finished, 1 unfinished"), "{plan}");
}
