//! Does the lab slow training down? Steps per second of one scenario run headless
//! (`fail-lab run`) and run from the lab (the real binary in a pseudo-terminal, drawing its
//! screen as a user would see it), alternated over a few rounds.
//!
//! `cargo bench --bench tui_throughput` prints each round and the median ratio (the target
//! is at least 95%). Both figures come from the runs' own `summary.json` (steps / training
//! seconds), so start-up is not counted. The terminal output is drained, not parsed: a real
//! terminal emulator runs in another process, often on another machine. Settings:
//! `FAIL_LAB_BENCH_STEPS` (default 5000), `FAIL_LAB_BENCH_ROUNDS` (default 5),
//! `FAIL_LAB_BENCH_D` (default 30, the paper's hard case: width 300, batch 128).
//!
//! On a busy machine the two speeds swing with everything else that runs, so the rounds
//! alternate which goes first, and the lab's own cost is also given in a form that does not
//! depend on the load: the CPU time of its UI thread (Linux) per second of training.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn scenario(dir: &Path, d: u64, steps: u64) -> PathBuf {
    let scen = dir.join("scenarios");
    std::fs::create_dir_all(&scen).expect("scenario folder");
    let path = scen.join("bench.toml");
    std::fs::write(
        &path,
        format!(
            "experiment = \"E1\"\ntitle = \"throughput, d = {d}\"\nseed = 0\n\n[params]\n\
             d = {d}\nsteps = {steps}\neval_every = 100\neval_samples = 500\n"
        ),
    )
    .expect("scenario file");
    path
}

/// Steps per second of the single run under `runs`, from its summary.
fn rate(runs: &Path) -> f64 {
    let dir = std::fs::read_dir(runs)
        .expect("runs folder")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a run directory");
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["status"], "finished", "{text}");
    v["step"].as_f64().expect("step") / v["elapsed_s"].as_f64().expect("elapsed_s")
}

fn headless(dir: &Path, scen: &Path) -> f64 {
    let runs = dir.join("runs-headless");
    let _ = std::fs::remove_dir_all(&runs);
    let out = Command::new(env!("CARGO_BIN_EXE_fail-lab"))
        .args([
            "run",
            scen.to_str().unwrap(),
            "--out",
            runs.to_str().unwrap(),
        ])
        .output()
        .expect("fail-lab run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rate(&runs)
}

/// CPU seconds used so far by thread `tid` of process `pid` (Linux), if known.
fn thread_cpu(pid: u32, tid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
    // fields after the command name, which is in parentheses and may hold spaces
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// What one run from the lab measured.
struct LabRound {
    rate: f64,
    /// Bytes per second the lab wrote to its terminal while the run trained.
    bytes_per_s: f64,
    /// CPU seconds of the UI thread per second of wall time while the run trained.
    ui_cpu: Option<f64>,
}

/// Starts the scenario from the lab and waits for it to finish.
fn in_lab(dir: &Path) -> LabRound {
    let runs = dir.join("runs-lab");
    let _ = std::fs::remove_dir_all(&runs);
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_fail-lab"));
    cmd.args([
        "--scenarios",
        dir.join("scenarios").to_str().unwrap(),
        "--runs",
        runs.to_str().unwrap(),
    ]);
    cmd.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(cmd).expect("the lab");
    drop(pty.slave);
    let bytes = Arc::new(AtomicU64::new(0));
    let b2 = bytes.clone();
    let mut reader = pty.master.try_clone_reader().expect("reader");
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            b2.fetch_add(n as u64, Ordering::Relaxed);
        }
    });
    let mut w = pty.master.take_writer().expect("writer");
    std::thread::sleep(Duration::from_millis(1500));
    let before = bytes.load(Ordering::Relaxed);
    let pid = child.process_id();
    let cpu_before = pid.and_then(|p| thread_cpu(p, p));
    let t = Instant::now();
    // the bench scenario is the first one, selected at start
    w.write_all(b"\r").expect("key");
    w.flush().expect("flush");
    loop {
        let finished = std::fs::read_dir(&runs)
            .map(|d| d.flatten().any(|e| e.path().join("summary.json").exists()))
            .unwrap_or(false);
        if finished {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "the run did not finish"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let secs = t.elapsed().as_secs_f64();
    let sent = bytes.load(Ordering::Relaxed) - before;
    let cpu_after = pid.and_then(|p| thread_cpu(p, p));
    w.write_all(b"q").expect("key");
    w.flush().expect("flush");
    let t = Instant::now();
    while child.try_wait().ok().flatten().is_none() {
        if t.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    LabRound {
        rate: rate(&runs),
        bytes_per_s: sent as f64 / secs,
        ui_cpu: cpu_before.zip(cpu_after).map(|(a, b)| (b - a) / secs),
    }
}

fn main() {
    let steps = env_or("FAIL_LAB_BENCH_STEPS", 5000);
    let rounds = env_or("FAIL_LAB_BENCH_ROUNDS", 5).max(1);
    let d = env_or("FAIL_LAB_BENCH_D", 30);
    let dir = std::env::temp_dir().join(format!("fail-lab-throughput-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let scen = scenario(&dir, d, steps);
    println!("E1 d = {d}, {steps} steps, {rounds} rounds (alternating which goes first)");
    let mut ratios = Vec::new();
    let mut ui = Vec::new();
    for round in 1..=rounds {
        let (h, lab) = if round % 2 == 1 {
            let h = headless(&dir, &scen);
            (h, in_lab(&dir))
        } else {
            let lab = in_lab(&dir);
            (headless(&dir, &scen), lab)
        };
        let ratio = lab.rate / h;
        ratios.push(ratio);
        ui.extend(lab.ui_cpu);
        let cpu = lab
            .ui_cpu
            .map(|c| format!("{:.1}% of a core", c * 100.0))
            .unwrap_or_else(|| "n/a".into());
        println!(
            "round {round}: headless {h:>7.0} steps/s   lab {:>7.0} steps/s   ratio {:>5.1}%   \
             UI thread {cpu}   terminal output {:.1} KB/s",
            lab.rate,
            ratio * 100.0,
            lab.bytes_per_s / 1024.0
        );
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!(
        "median ratio lab / headless: {:.1}% (target >= 95%)",
        median * 100.0
    );
    if !ui.is_empty() {
        ui.sort_by(f64::total_cmp);
        println!(
            "the lab's UI thread used {:.1}% of one core (median) while the run trained",
            ui[ui.len() / 2] * 100.0
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
