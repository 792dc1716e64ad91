//! Sweeps: grid expansion and its checks, the `[sweep]` table, the sweep command as a user runs
//! it (bad input, the grid's table, `--json`), its record, groups and bands of its runs, and a
//! sweep stopped half way, shown by `--status` and completed by `--resume`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use fail_lab::engine::{RunState, Status};
use fail_lab::experiments::Registry;
use fail_lab::spec::sweep::{parse_grid_arg, parse_seeds, parse_sweep_table, seeds_from_toml};
use fail_lab::spec::{parse_scenario, Scenario, Value};
use fail_lab::sweep::{self, group_runs, record, Aggregate, Plan, SweepRecord};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fail-lab"))
}

fn out_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("sweep-tests")
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

const D5: &str = "scenarios/e1-parity-d5.toml";

fn base() -> Scenario {
    fail_lab::spec::load_scenario(Path::new(D5), &Registry).unwrap()
}

fn sweep_ids(out: &Path) -> Vec<String> {
    record::list(out)
}

/// Run folders directly under `out` (the sweeps folder is not one).
fn run_dirs(out: &Path) -> Vec<PathBuf> {
    let (runs, errors) = RunState::load_all(out);
    assert!(errors.is_empty(), "{errors:?}");
    runs.into_iter().filter_map(|r| r.dir).collect()
}

#[test]
fn seed_specs_count_range_and_list() {
    assert_eq!(parse_seeds("3").unwrap(), vec![0, 1, 2]);
    assert_eq!(parse_seeds("2..5").unwrap(), vec![2, 3, 4]);
    assert_eq!(parse_seeds("1,4,7").unwrap(), vec![1, 4, 7]);
    assert_eq!(
        seeds_from_toml(&toml::Value::Integer(2)).unwrap(),
        vec![0, 1]
    );
    let v: toml::Table = toml::from_str("a = \"0..2\"\nb = [1, 4]").unwrap();
    assert_eq!(seeds_from_toml(&v["a"]).unwrap(), vec![0, 1]);
    assert_eq!(seeds_from_toml(&v["b"]).unwrap(), vec![1, 4]);
    for (spec, says) in [
        ("0", "0 seeds make no run"),
        ("5..5", "holds no seed"),
        ("1,1", "seed 1 is given twice"),
        ("x", "\"x\" is not a seed spec"),
        ("-1", "is not a seed spec"),
    ] {
        let e = parse_seeds(spec).unwrap_err();
        assert!(e.contains(says), "{spec}: {e}");
        assert!(
            e.contains("a count N >= 1"),
            "{spec}: says what is allowed: {e}"
        );
    }
    assert!(seeds_from_toml(&toml::Value::Integer(0)).is_err());
    assert!(seeds_from_toml(&toml::Value::Integer(20_000)).is_err());
}

#[test]
fn the_grid_is_the_cross_product_last_axis_fastest_each_point_with_every_seed() {
    let axes = vec![
        parse_grid_arg("d=4,6", "E1", &Registry).unwrap(),
        parse_grid_arg("lr=0.1,0.01,0.001", "E1", &Registry).unwrap(),
    ];
    let plan = Plan::new(base(), Default::default(), axes, Some(vec![7, 8])).unwrap();
    assert_eq!((plan.point_count(), plan.run_count()), (6, 12));
    let runs: Vec<String> = plan
        .runs()
        .iter()
        .map(|(p, s)| format!("{} s{s}", p.label()))
        .collect();
    assert_eq!(
        runs[..4],
        [
            "d=4, lr=0.1 s7",
            "d=4, lr=0.1 s8",
            "d=4, lr=0.01 s7",
            "d=4, lr=0.01 s8"
        ]
    );
    assert_eq!(runs[11], "d=6, lr=0.001 s8");
    let (p, seed) = &plan.runs()[5];
    let s = plan.scenario_for(p, *seed);
    assert_eq!(s.params.get("d"), Some(&Value::Int(4)));
    assert_eq!(s.params.get("lr"), Some(&Value::Float(0.001)));
    assert_eq!(s.seed, Some(8));
    assert_eq!(
        s.params.get("steps"),
        base().params.get("steps"),
        "the rest from the file"
    );
}

#[test]
fn the_sweep_table_keeps_file_order_and_the_command_line_replaces_an_axis() {
    let text = std::fs::read_to_string(D5).unwrap()
        + "\n[sweep]\nlr = [0.1, 0.01]\nd = [4, 6, 8]\nseeds = \"3..5\"\n";
    let s = parse_scenario(&text, Some("f.toml"), &Registry).unwrap();
    assert_eq!(
        s,
        base_with_source(&s),
        "the [sweep] table leaves the scenario as it is"
    );
    let table = parse_sweep_table(&text, Some("f.toml"), "E1", &Registry).unwrap();
    let names: Vec<&str> = table.axes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["lr", "d"]);
    assert_eq!(table.seeds, Some(vec![3, 4]));
    let cli = vec![parse_grid_arg("d=10", "E1", &Registry).unwrap()];
    let plan = Plan::new(s, table, cli, None).unwrap();
    let labels: Vec<String> = plan.points().iter().map(|p| p.label()).collect();
    assert_eq!(labels, ["lr=0.1, d=10", "lr=0.01, d=10"]);
    assert_eq!(plan.seeds, vec![3, 4], "the file's seeds without --seeds");
}

fn base_with_source(s: &Scenario) -> Scenario {
    let mut b = base();
    b.source = s.source.clone();
    b
}

#[test]
fn bad_sweep_tables_name_the_line_the_parameter_and_what_is_allowed() {
    let head = std::fs::read_to_string(D5).unwrap();
    let line = head.lines().count() + 3;
    for (table, says) in [
        (
            "d = [4, 99]",
            "sweep.d: got 99, allowed: an integer in 2..=63 (input bits)",
        ),
        (
            "dd = [4]",
            "sweep.dd: unknown parameter for E1; did you mean `d`?",
        ),
        ("d = []", "sweep.d: an empty list sweeps nothing"),
        ("d = 4", "sweep.d: expected an array of values to sweep"),
        ("d = [4, 4]", "sweep.d: the value 4 is given twice"),
        ("seeds = 0", "sweep.seeds: 0 seeds make no run"),
        ("seed = 3", "sweep.seed: a sweep's seeds are `seeds = N`"),
    ] {
        let text = format!("{head}\n[sweep]\n{table}\n");
        let e = parse_sweep_table(&text, Some("f.toml"), "E1", &Registry)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(&format!("f.toml:{line}: ")), "{table}: {e}");
        assert!(e.contains(says), "{table}: {e}");
    }
    let text = format!("sweep = 3\n{head}");
    let e = parse_scenario(&text, None, &Registry)
        .unwrap_err()
        .to_string();
    assert!(e.contains("sweep: expected a table"), "{e}");
}

#[test]
fn grid_values_are_checked_with_the_words_of_set() {
    let mut s = base();
    let set = s.set("d=99", &Registry).unwrap_err().to_string();
    let grid = parse_grid_arg("d=4,99", "E1", &Registry)
        .unwrap_err()
        .to_string();
    assert_eq!(set.replace("--set", "--grid"), grid);
    let e = parse_grid_arg("lrr=0.1", "E1", &Registry)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--grid lrr: unknown parameter for E1; did you mean `lr`?"),
        "{e}"
    );
    let e = parse_grid_arg("d=", "E1", &Registry)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--grid d: no value given"), "{e}");
    let e = parse_grid_arg("d", "E1", &Registry)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not of the form name=v1,v2"), "{e}");
}

#[test]
fn every_point_is_checked_across_parameters_and_the_size_is_capped() {
    let mut s = base();
    s.set("subset_size=5", &Registry).unwrap();
    let axes = vec![parse_grid_arg("d=8,4,6", "E1", &Registry).unwrap()];
    let e = Plan::new(s, Default::default(), axes, None).unwrap_err();
    assert!(
        e.starts_with("grid point d=4: subset_size = 5 is larger than d = 4"),
        "{e}"
    );
    let axes = vec![parse_grid_arg("d=4,5,6", "E1", &Registry).unwrap()];
    let e = Plan::new(base(), Default::default(), axes, Some((0..4000).collect())).unwrap_err();
    assert!(
        e.contains("would start 12000 runs (3 d x 4000 seeds); at most 10000"),
        "{e}"
    );
}

#[test]
fn bad_input_exits_2_and_starts_no_run() {
    let out = out_dir("bad");
    for (args, says) in [
        (
            vec!["--grid", "d=4,99"],
            "--grid d: got 99, allowed: an integer in 2..=63",
        ),
        (vec!["--grid", "dd=4"], "did you mean `d`?"),
        (
            vec!["--grid", "d=4,6", "--set", "subset_size=5"],
            "grid point d=4: subset_size = 5",
        ),
        (vec!["--seeds", "0"], "--seeds: 0 seeds make no run"),
        (
            vec!["--grid", "d=4,5", "--seeds", "6000"],
            "would start 12000 runs",
        ),
        (vec!["--jobs", "0"], "--jobs: got 0"),
        (
            vec!["--threads", "0"],
            "--threads 0: allowed: a whole number of threads >= 1, or `auto`",
        ),
        (
            vec!["--grid", "d=4", "--grid", "d=5"],
            "--grid d: given twice",
        ),
    ] {
        let o = bin()
            .args(["sweep", D5])
            .args(&args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let (_, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(!out.exists() || run_dirs(&out).is_empty(), "no run started");
    assert!(sweep_ids(&out).is_empty(), "no sweep record written");
    let o = bin()
        .args(["sweep", "--status", "nope", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("no sweep in"), "{}", text(&o).1);
}

/// The acceptance: six runs on the pool and the grid's table.
#[test]
fn acceptance_two_points_three_seeds_make_six_runs_and_a_table() {
    let out = out_dir("accept");
    let o = bin()
        .args([
            "sweep",
            D5,
            "--grid",
            "d=4,6",
            "--seeds",
            "3",
            "--set",
            "steps=1500",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 4, "header, rule, two points:\n{stdout}");
    assert!(
        rows[0].contains("| d ") && rows[0].contains("test_accuracy"),
        "{stdout}"
    );
    let cells = |row: &str| -> Vec<String> {
        row.trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let header = cells(rows[0]);
    assert_eq!(
        header[..5],
        ["d", "width", "n", "runs", "subset_size (drawn)"],
        "a derived parameter and a property of the draw are not results: {stdout}"
    );
    for (row, d) in [(rows[2], "4"), (rows[3], "6")] {
        let c = cells(row);
        assert_eq!(c[..4], [d, &format!("{d}0"), "3", "3 finished"], "{stdout}");
        let at = |name: &str| &c[header.iter().position(|h| h == name).unwrap()];
        assert!(at("test_accuracy").contains(" ± "), "{stdout}");
        // a time to 0.99: how many of the 3 got there and their median, never a bare mean
        let t = at("steps_to_0.99");
        assert!(t.contains("/3 · median "), "{stdout}");
    }
    assert!(stdout.contains("6 runs: 6 finished"), "{stdout}");

    // the record, reloaded
    let ids = sweep_ids(&out);
    assert_eq!(ids.len(), 1);
    let mut rec = SweepRecord::load(&out, &ids[0]).unwrap();
    assert_eq!(rec.runs.len(), 6);
    assert_eq!(rec.seeds, vec![0, 1, 2]);
    assert_eq!(rec.grid[0].name, "d");
    assert!(rec
        .runs
        .iter()
        .all(|e| e.status == "finished" && e.run.is_some()));
    let states = rec.refresh(&out);
    assert!(states.iter().all(|s| s.is_some()));

    // six ordinary runs; nothing reports sweeps/ as a broken run
    let dirs = run_dirs(&out);
    assert_eq!(dirs.len(), 6);
    let (mut runs, _) = RunState::load_all(&out);
    // the runs folder is read from the summaries; the bands need the series
    assert!(runs
        .iter()
        .all(|r| r.metrics.is_empty() && r.series_on_disk()));
    runs.iter_mut().for_each(|r| assert!(r.load_series()));
    assert!(runs
        .iter()
        .all(|r| r.sweep.as_deref() == Some(rec.id.as_str())));
    let groups = group_runs(&runs);
    assert_eq!(groups.len(), 2);
    for g in &groups {
        let members: Vec<&RunState> = g.members.iter().map(|&i| &runs[i]).collect();
        let agg = Aggregate::of(&members);
        assert_eq!(agg.seeds.len(), 3);
        assert_eq!(agg.metrics["test_accuracy"].stats().unwrap().n, 3);
        let band = sweep::group::metric_band(&members, "test_accuracy");
        assert!(band.len() > 10 && band.iter().all(|p| p.stats.n == 3));
    }

    // a run of the sweep says so, and repeats alone as a run of its own
    let entry = &rec.runs[4];
    let dir = out.join(entry.run.as_ref().unwrap());
    let (sweep_id, point) = record::run_sweep_point(&dir).unwrap();
    assert_eq!(sweep_id, rec.id);
    assert_eq!(point["d"].as_integer(), Some(6));
    let spec = std::fs::read_to_string(dir.join("spec.toml")).unwrap();
    let again = parse_scenario(&spec, None, &Registry).unwrap();
    assert_eq!(
        (again.seed, again.params.get("d")),
        (Some(1), Some(&Value::Int(6)))
    );
    let o = bin()
        .args(["run"])
        .arg(dir.join("spec.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    let runs = run_dirs(&out);
    assert_eq!(runs.len(), 7);
    let repeat = runs.iter().find(|d| !dirs.contains(d)).unwrap();
    assert!(
        record::run_sweep_point(repeat).is_none(),
        "not attached to the sweep"
    );
    let rec2 = SweepRecord::load(&out, &ids[0]).unwrap();
    assert_eq!(rec2.runs.len(), 6, "the record is unchanged");
    let (runs, _) = RunState::load_all(&out);
    let sizes: Vec<usize> = group_runs(&runs).iter().map(|g| g.members.len()).collect();
    assert!(
        sizes.contains(&4),
        "the repeat joins its point's group: {sizes:?}"
    );
}

#[test]
fn json_lines_carry_the_run_and_the_point_and_end_with_sweep_finished() {
    let out = out_dir("json");
    let o = bin()
        .args([
            "sweep",
            D5,
            "--grid",
            "d=4",
            "--seeds",
            "5,9",
            "--set",
            "steps=300",
            "--json",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let (last, events) = lines.split_last().unwrap();
    assert!(events
        .iter()
        .all(|e| e["run"].is_string() && e["point"]["d"] == 4));
    assert_eq!(events.iter().filter(|e| e["event"] == "started").count(), 2);
    assert_eq!(
        events.iter().filter(|e| e["event"] == "finished").count(),
        2
    );
    assert_eq!(last["event"], "sweep_finished");
    assert_eq!(last["sweep"].as_str(), Some(sweep_ids(&out)[0].as_str()));
    let g = &last["groups"][0];
    assert_eq!(g["params"]["d"], 4);
    assert_eq!(g["seeds"], serde_json::json!([5, 9]));
    assert_eq!(
        (g["n"].as_u64(), g["status"]["finished"].as_u64()),
        (Some(2), Some(2))
    );
    let acc = &g["metrics"]["test_accuracy"];
    for k in ["mean", "sd", "min", "max"] {
        assert!(acc[k].is_number(), "{acc}");
    }
}

/// A sweep stopped after its first run: the finished run stays, `--status` shows what is
/// missing, `--resume` runs the rest and keeps the finished one.
#[cfg(unix)]
#[test]
fn a_sweep_stopped_half_way_shows_what_is_missing_and_resumes() {
    let out = out_dir("resume");
    let child = bin()
        .args([
            "sweep",
            D5,
            "--grid",
            "d=4",
            "--seeds",
            "6",
            "--jobs",
            "1",
            "--set",
            "steps=1500",
            "--set",
            "eval_every=1",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // wait for the first finished run in the record, then stop the sweep
    let t = Instant::now();
    loop {
        let done = sweep_ids(&out).first().and_then(|id| {
            let rec = SweepRecord::load(&out, id).ok()?;
            Some(rec.runs.iter().any(|e| e.status == "finished"))
        });
        if done == Some(true) {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "no run finished");
        std::thread::sleep(Duration::from_millis(5));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    let id = sweep_ids(&out)[0].clone();
    let rec = SweepRecord::load(&out, &id).unwrap();
    let finished: Vec<String> = rec
        .runs
        .iter()
        .filter(|e| e.status == "finished")
        .filter_map(|e| e.run.clone())
        .collect();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert!(!finished.is_empty());
    assert!(
        finished.len() < 6,
        "the signal came after the first run: {stderr}"
    );

    let o = bin()
        .args(["sweep", "--status", &id, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "not complete yet");
    let row = stdout.lines().find(|l| l.starts_with("| 4 ")).unwrap();
    assert!(
        row.contains(&format!("{} finished", finished.len())),
        "{stdout}"
    );
    assert!(
        row.contains("pending") || row.contains("stopped"),
        "{stdout}"
    );
    assert_eq!(
        run_dirs(&out).len(),
        rec.runs.iter().filter(|e| e.run.is_some()).count()
    );

    let o = bin()
        .args(["sweep", "--resume", &id, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("| 4 | 40    | 6 | 6 finished |"),
        "six distinct seeds: {stdout}"
    );
    let rec = SweepRecord::load(&out, &id).unwrap();
    assert!(rec.runs.iter().all(|e| e.status == "finished"));
    for f in &finished {
        assert!(
            rec.runs.iter().any(|e| e.run.as_ref() == Some(f)),
            "a finished run is kept, not run again"
        );
    }
    let o = bin()
        .args(["sweep", "--status", &id, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let states = rec.clone().refresh(&out);
    assert!(states
        .iter()
        .all(|s| s.as_ref().is_some_and(|s| s.status == Status::Finished)));
}

#[test]
fn a_sweep_with_auto_threads_shares_the_cores_and_gives_the_same_numbers() {
    // the runs' numbers do not depend on their threads (E1's batch keeps one pass)
    let summaries = |threads: &str| {
        let out = out_dir(&format!("threads-{threads}"));
        let o = bin()
            .args(["sweep", D5, "--grid", "d=4,6", "--seeds", "2"])
            .args(["--set", "steps=300", "--threads", threads, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        let (_, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(0), "{stderr}");
        let mut v: Vec<String> = run_dirs(&out)
            .iter()
            .map(|d| {
                let s = std::fs::read_to_string(d.join("metrics.jsonl")).unwrap();
                let spec = std::fs::read_to_string(d.join("spec.toml")).unwrap();
                let point: String = spec.lines().filter(|l| l.starts_with("d =")).collect();
                format!("{point} {s}")
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(summaries("1"), summaries("auto"));
}

/// The metric lines of a run's `metrics.jsonl` as (step, name), in file order.
fn metric_steps(dir: &Path) -> Vec<(u64, String)> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let (step, name, _) = fail_lab::engine::store::parse_metric_line(l).unwrap();
            (step, name)
        })
        .collect()
}

fn e1_sweep(out: &Path) -> Command {
    let mut c = bin();
    c.args([
        "sweep",
        D5,
        "--grid",
        "d=10",
        "--seeds",
        "1",
        "--jobs",
        "1",
        "--threads",
        "1",
        "--set",
        "steps=6000",
        "--set",
        "eval_every=20",
        "--out",
    ])
    .arg(out);
    c
}

/// A sweep stopped (SIGINT) while its run trains: `--resume` continues that run from the
/// checkpoint it wrote as it stopped, in its own folder, and its `metrics.jsonl` is the one
/// an uninterrupted sweep writes, with no step repeated or missing.
#[cfg(unix)]
#[test]
fn a_sweep_stopped_mid_run_continues_the_run_from_its_checkpoint() {
    let out = out_dir("resume-mid-run");
    let child = e1_sweep(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // wait until the run is well under way, then stop the sweep
    let t = Instant::now();
    let run = loop {
        let dir = sweep_ids(&out).first().and_then(|id| {
            let rec = SweepRecord::load(&out, id).ok()?;
            rec.runs[0].run.as_ref().map(|r| out.join(r))
        });
        if let Some(dir) = dir.filter(|d| {
            std::fs::read_to_string(d.join("metrics.jsonl")).is_ok_and(|m| m.lines().count() > 40)
        }) {
            break dir;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the run did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let summary = std::fs::read_to_string(run.join("summary.json")).unwrap();
    assert!(summary.contains("\"stopped\""), "{summary}");
    let stopped_at = metric_steps(&run).last().unwrap().0;
    assert!(
        stopped_at < 6000,
        "the run was stopped mid-way: {stopped_at}"
    );
    assert!(
        std::fs::read_dir(&run)
            .unwrap()
            .any(|f| f.unwrap().file_name() == "checkpoint.bin"),
        "a stopped run writes its checkpoint"
    );

    let id = sweep_ids(&out)[0].clone();
    let o = bin()
        .args(["sweep", "--resume", &id, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    let rec = SweepRecord::load(&out, &id).unwrap();
    assert_eq!(
        rec.runs[0].run.as_deref(),
        run.file_name().and_then(|n| n.to_str()),
        "the entry keeps its run, continued in its folder"
    );
    assert!(rec.runs[0].earlier.is_empty(), "{:?}", rec.runs[0].earlier);
    assert_eq!(rec.runs[0].status, "finished");
    assert_eq!(run_dirs(&out).len(), 1, "no new run folder");
    let log = std::fs::read_to_string(run.join("log.txt")).unwrap();
    assert!(log.contains("resumed from the checkpoint of step"), "{log}");

    // no step repeated or missing: each metric's steps go up by the same stride to the end
    let steps = metric_steps(&run);
    let mut by_name: std::collections::BTreeMap<&str, Vec<u64>> = Default::default();
    for (step, name) in &steps {
        by_name.entry(name).or_default().push(*step);
    }
    let loss = &by_name["test_accuracy"];
    assert!(loss.len() > 3);
    for w in loss.windows(2) {
        assert_eq!(w[1] - w[0], loss[1] - loss[0], "{loss:?}");
    }
    assert_eq!(*loss.last().unwrap(), 6000);

    // and the same numbers, bit for bit, as the sweep that was not stopped
    let whole = out_dir("resume-mid-run-whole");
    let o = e1_sweep(&whole).output().unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    let whole_run = &run_dirs(&whole)[0];
    assert_eq!(
        std::fs::read_to_string(run.join("metrics.jsonl")).unwrap(),
        std::fs::read_to_string(whole_run.join("metrics.jsonl")).unwrap()
    );
}
