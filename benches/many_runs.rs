//! How fast the lab opens a runs folder of many saved runs, and how much memory it holds.
//!
//! `cargo bench --bench many_runs` trains four real E1 runs of 20,000 steps once (kept under
//! `target/bench-runs/`), then makes a runs folder of `RUNS` (default 20,000) saved runs from
//! them: each run a folder of its own with its own `spec.toml` (its seed, its `d`, and for
//! the runs of sweeps their `[sweep_point]`), the four runs' metrics, logs and summaries
//! linked in. Half of the runs belong to sweeps of 200 runs (10 values of `d` x 20 seeds,
//! each with its `sweep.json`); the others are started by hand, five seeds per setting.
//!
//! A child process then opens the folder as `fail-lab` does (the scenarios, every saved run,
//! the sweeps' records), draws the first screen at 200x50 and walks 50 rows down the runs
//! table, drawing each time. It prints the time to the first screen, the time per key and
//! its peak memory (`VmHWM`). `RUNS=2000` makes a smaller folder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fail_lab::engine::{self, LaunchOptions};
use fail_lab::experiments::Registry;
use fail_lab::spec::Scenario;
use fail_lab::tui::panes::Pane;
use fail_lab::tui::{build_app, view, LabOptions};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const SOURCES: [(i64, u64); 4] = [(5, 0), (5, 1), (10, 0), (10, 1)];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-runs")
}

/// The four real runs the folder is made of (trained once, then kept).
fn sources() -> Vec<PathBuf> {
    let dir = root().join("sources");
    let done: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|e| {
            e.flatten()
                .map(|e| e.path())
                .filter(|p| p.join("summary.json").is_file())
                .collect()
        })
        .unwrap_or_default();
    if done.len() >= SOURCES.len() {
        return done;
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("training {} E1 runs of 20,000 steps (once)…", SOURCES.len());
    let opts = LaunchOptions {
        runs_dir: dir.clone(),
        compute_threads: 1,
    };
    for (d, seed) in SOURCES {
        let mut s = Scenario::with_defaults("E1", &Registry).unwrap();
        s.set(&format!("d={d}"), &Registry).unwrap();
        s.set("steps=20000", &Registry).unwrap();
        s.seed = Some(seed);
        engine::run_to_end(&s, &opts).unwrap();
    }
    sources()
}

/// A run's `spec.toml` with its own seed and `d`, and its sweep point if any.
fn spec_text(source: &Path, seed: u64, d: i64, sweep: Option<&str>) -> String {
    let text = std::fs::read_to_string(source.join("spec.toml")).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("seed =") {
            out.push_str(&format!("seed = {seed}\n"));
        } else if line.starts_with("d =") {
            out.push_str(&format!("d = {d}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if let Some(id) = sweep {
        out.push_str(&format!(
            "\n[sweep_point]\nsweep = \"{id}\"\n\n[sweep_point.point]\nd = {d}\n"
        ));
    }
    out
}

/// A sweep's record for its 200 runs.
fn sweep_record(id: &str, runs: &[(String, i64, u64)], scenario: &str) -> String {
    let entries: Vec<serde_json::Value> = runs
        .iter()
        .map(|(run, d, seed)| {
            serde_json::json!({"point": {"d": d}, "seed": seed, "run": run, "status": "finished"})
        })
        .collect();
    let ds: Vec<i64> = (0..10).map(|i| 4 + i).collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "version": 1, "id": id, "created": "20261201-000000", "experiment": "E1",
        "title": "bench sweep", "source": null, "scenario": scenario,
        "grid": [{"name": "d", "values": ds}],
        "seeds": (0..20).collect::<Vec<u64>>(), "runs": entries,
    }))
    .unwrap()
}

fn make_folder(n: usize) -> PathBuf {
    let dir = root().join(format!("many-{n}"));
    if dir.join("ready").is_file() {
        return dir;
    }
    let src = sources();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let t = Instant::now();
    let scenario = std::fs::read_to_string(src[0].join("spec.toml")).unwrap();
    let mut sweep_runs: Vec<(String, i64, u64)> = Vec::new();
    for i in 0..n {
        let source = &src[i % src.len()];
        let in_sweep = i < n / 2;
        let (sweep, d, seed) = if in_sweep {
            let s = i / 200;
            (
                Some(format!("20261201-{s:06}-E1-sweep")),
                4 + (i % 200 / 20) as i64,
                (i % 20) as u64,
            )
        } else {
            (None, 4 + (i / 5 % 27) as i64, (i % 5) as u64)
        };
        let id = format!("20261201-{:06}-E1", i);
        let run = dir.join(&id);
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(
            run.join("spec.toml"),
            spec_text(source, seed, d, sweep.as_deref()),
        )
        .unwrap();
        for f in [
            "metrics.jsonl",
            "log.txt",
            "summary.json",
            "figures.jsonl",
            "owner.json",
        ] {
            if source.join(f).is_file() {
                std::fs::hard_link(source.join(f), run.join(f)).unwrap();
            }
        }
        if let Some(s) = &sweep {
            sweep_runs.push((id, d, seed));
            if sweep_runs.len() == 200 {
                let rec = dir.join("sweeps").join(s);
                std::fs::create_dir_all(&rec).unwrap();
                std::fs::write(
                    rec.join("sweep.json"),
                    sweep_record(s, &sweep_runs, &scenario),
                )
                .unwrap();
                sweep_runs.clear();
            }
        }
    }
    std::fs::write(dir.join("ready"), "").unwrap();
    eprintln!("made {n} saved runs in {:.1} s", t.elapsed().as_secs_f64());
    dir
}

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The child: opens the folder as the lab does and draws.
fn measure(runs_dir: PathBuf) {
    let scenarios = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut opts = LabOptions::new(scenarios, runs_dir);
    opts.log_file = Some(std::env::temp_dir().join("fail-lab-many-runs.log"));
    let t = Instant::now();
    let mut app = build_app(&opts);
    let loaded = t.elapsed();
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    app.resize(200, 50);
    app.load_shown();
    term.draw(|f| view::render(f, &app)).unwrap();
    let first = t.elapsed();
    app.focus = Pane::Runs;
    let keys = Instant::now();
    for _ in 0..50 {
        app.handle_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
        app.load_shown();
        term.draw(|f| view::render(f, &app)).unwrap();
    }
    let per_key = keys.elapsed() / 50;
    println!(
        "{} runs: loaded in {:.2} s, first screen at {:.2} s, {:.1} ms per key (draw included), \
         peak memory {} MB",
        app.runs.rows.len(),
        loaded.as_secs_f64(),
        first.as_secs_f64(),
        per_key.as_secs_f64() * 1e3,
        peak_kib() / 1024
    );
}

fn main() {
    if let Ok(dir) = std::env::var("FAIL_LAB_MANY_RUNS_DIR") {
        return measure(PathBuf::from(dir));
    }
    let n: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = make_folder(n);
    for _ in 0..3 {
        let status = Command::new(std::env::current_exe().unwrap())
            .env("FAIL_LAB_MANY_RUNS_DIR", &dir)
            .status()
            .unwrap();
        assert!(status.success());
    }
}
