//! `reproduce` as a plan of runs: the plan is the list of runs the checks train, a planned run
//! trained alone by `fail-lab run` gives the same numbers, and `--save-runs` / `--from-runs`
//! give the same table as training in-process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fail_lab::engine::saved::{load_finished, SavedRuns};
use fail_lab::engine::RunState;
use fail_lab::experiments::plan::{self, RunRequest, RunSource};
use fail_lab::experiments::{checks, Budget, CheckDef};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fail-lab"))
}

fn out_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("reproduce-tests")
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

fn check(id: &str) -> CheckDef {
    checks()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

/// The table's rows without the time column (the one thing that differs between two runs).
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

#[test]
fn the_quick_plan_is_the_list_of_runs_the_checks_train() {
    for id in ["E1", "T1", "L3"] {
        let c = check(id);
        let planned = plan::plan(&[&c], Budget::Quick);
        let (outcome, asked) =
            plan::with_source(RunSource::Direct, || (c.run)(Budget::Quick, &mut |_| {}));
        let outcome = outcome.unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(outcome.pass, "{id}: {}", outcome.measured);
        assert!(!planned.is_empty(), "{id}: an empty plan");
        assert_eq!(planned, plan::dedup(asked), "{id}");
    }
    let e1 = plan::plan(&[&check("E1")], Budget::Quick);
    let d: Vec<i64> = e1.iter().map(|r| r.params.int("d")).collect();
    assert_eq!(
        d,
        vec![5, 5, 10, 30],
        "E1's quick runs draw Figure 1's three curves"
    );
}

#[test]
fn planning_every_check_at_both_budgets_trains_nothing() {
    // how long planning takes is measured by the benchmarks, not here (CI machines are noisy)
    let all = checks();
    for budget in [Budget::Quick, Budget::Full] {
        for c in &all {
            let (outcome, asked) = plan::with_source(RunSource::Plan, || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    (c.run)(budget, &mut |_| {})
                }))
            });
            let outcome = outcome.unwrap_or_else(|_| panic!("{} {budget:?}: panicked", c.id));
            assert!(outcome.is_ok(), "{} {budget:?}: {outcome:?}", c.id);
            assert!(!asked.is_empty(), "{} {budget:?}: no run", c.id);
        }
        let refs: Vec<&CheckDef> = all.iter().collect();
        let reqs = plan::plan(&refs, budget);
        assert!(reqs.iter().all(|r| plan::held(r).is_none()));
    }
}

/// Trains each spec file with `fail-lab run FILE --out runs`.
fn run_specs(specs: &[PathBuf], runs: &Path) {
    for spec in specs {
        let o = bin()
            .arg("run")
            .arg(spec)
            .arg("--out")
            .arg(runs)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}: {}", spec.display(), text(&o).1);
    }
}

#[test]
fn a_planned_run_trained_alone_by_fail_lab_run_gives_the_same_numbers() {
    let dir = out_dir("alone");
    let req = RunRequest::new(
        "E1",
        &[("d", "6"), ("steps", "400"), ("eval_every", "50")],
        5,
    )
    .unwrap();
    let specs = plan::write_specs(std::slice::from_ref(&req), &dir.join("specs")).unwrap();
    run_specs(&specs, &dir.join("runs"));
    let saved = SavedRuns::scan(&dir.join("runs")).unwrap();
    let found = saved.find(&req).expect("the run is found by its request");
    let (back, _) = load_finished(found).unwrap();
    let here = plan::train(&req).unwrap();
    assert_eq!(here.ctx.series("test_accuracy").len(), 9);
    assert_eq!(back.ctx.metrics, here.ctx.metrics);
    assert_eq!(back.summary, here.summary);
}

#[test]
fn from_runs_judges_runs_made_by_fail_lab_run() {
    let dir = out_dir("l3");
    let reqs = plan::plan(&[&check("L3")], Budget::Quick);
    let specs = plan::write_specs(&reqs, &dir.join("specs")).unwrap();
    run_specs(&specs, &dir.join("runs"));
    let o = bin()
        .args(["reproduce", "--quick", "--only", "L3", "--from-runs"])
        .arg(dir.join("runs"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 checks passed"), "{stdout}");
    assert!(!stderr.contains("training"), "{stderr}");
}

#[test]
fn from_runs_lists_the_missing_runs_and_how_to_make_them() {
    let dir = out_dir("missing");
    std::fs::create_dir_all(&dir).unwrap();
    let o = bin()
        .args(["reproduce", "--only", "E1", "--from-runs"])
        .arg(&dir)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("4 of the 4 runs"), "{stderr}");
    assert!(
        stderr.contains("E1 d=10 eval_every=50 steps=5000 · seed 0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("fail-lab reproduce --quick --only E1 --save-runs"),
        "{stderr}"
    );
    assert!(!stdout.contains("| E1 "), "{stdout}");
}

#[test]
fn saved_runs_give_the_same_table_as_training() {
    let dir = out_dir("saved");
    let o = bin()
        .args(["reproduce", "--only", "E1,L3", "--jobs", "2", "--save-runs"])
        .arg(&dir)
        .output()
        .unwrap();
    let (trained, stderr) = text(&o);
    assert!(o.status.success(), "{trained}\n{stderr}");
    assert!(stderr.contains("[5/5] done"), "{stderr}");
    let (states, errors) = RunState::load_all(&dir);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(states.len(), 5);
    assert!(states
        .iter()
        .all(|s| s.status == fail_lab::engine::Status::Finished));
    let o = bin()
        .args(["reproduce", "--only", "E1,L3", "--from-runs"])
        .arg(&dir)
        .output()
        .unwrap();
    let (judged, stderr) = text(&o);
    assert!(o.status.success(), "{judged}\n{stderr}");
    assert_eq!(verdicts(&judged), verdicts(&trained));
    assert_eq!(verdicts(&judged).len(), 4, "{judged}");
}

#[test]
fn seed_sets_judge_each_check_again_and_pass_only_when_every_set_does() {
    let dir = out_dir("sets");
    let o = bin()
        .args(["reproduce", "--only", "L3", "--seeds", "3", "--save-runs"])
        .arg(&dir)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let row = stdout.lines().find(|l| l.starts_with("| L3 ")).unwrap();
    assert!(
        row.contains("3/3 seed sets pass") && row.contains("| pass "),
        "{row}"
    );
    // each set's own measurement, its seeds shifted by 1000 per set
    let sets: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("| L3 ") && l.contains(" | +"))
        .collect();
    assert_eq!(sets.len(), 3, "{stdout}");
    for (i, line) in sets.iter().enumerate() {
        assert!(line.contains(&format!("| +{} ", i * 1000)), "{line}");
        assert!(line.contains("worst accuracy 100.0%"), "{line}");
    }
    let (runs, _) = RunState::load_all(&dir);
    let mut seeds: Vec<u64> = runs.iter().filter_map(|r| r.seed).collect();
    seeds.sort_unstable();
    assert_eq!(seeds, [0, 1000, 2000]);
    // judged again from the saved runs: the same tables; a fourth set is not there
    let o = bin()
        .args(["reproduce", "--only", "L3", "--seeds", "3", "--from-runs"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(verdicts(&text(&o).0), verdicts(&stdout));
    let o = bin()
        .args(["reproduce", "--only", "L3", "--seeds", "4", "--from-runs"])
        .arg(&dir)
        .output()
        .unwrap();
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("seed 3000") && stderr.contains("--seeds 4"),
        "{stderr}"
    );
}

#[test]
fn bad_options_are_refused_with_exit_code_2() {
    let cases: [&[&str]; 5] = [
        &["reproduce", "--seeds", "0"],
        &["reproduce", "--jobs", "0"],
        &["reproduce", "--from-runs", "/nonexistent/fail-lab-runs"],
        &["reproduce", "--from-runs", "a", "--save-runs", "b"],
        &["reproduce", "--save-runs", "/dev/null/runs"],
    ];
    for args in cases {
        let o = bin().args(args).output().unwrap();
        let (_, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("error"), "{args:?}: {stderr}");
    }
}
