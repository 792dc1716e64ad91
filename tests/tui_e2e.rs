//! The real binary in a pseudo-terminal, read back through a vt100 screen parser: start the
//! lab, pick the parity d = 5 scenario, start a run, watch its step counter and chart move,
//! open the help, quit, and check that the process ended and the terminal was restored.
#![cfg(unix)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

struct Lab {
    screen: Arc<Mutex<vt100::Parser>>,
    /// Every byte the lab wrote to its terminal.
    raw: Arc<Mutex<Vec<u8>>>,
    /// Tells the reader thread to let go of its copy of the terminal's master side.
    stop_reading: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    child: Box<dyn Child + Send + Sync>,
    /// `None` once the test has closed the terminal (a hang-up).
    master: Option<Box<dyn MasterPty + Send>>,
    runs: PathBuf,
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fail-lab-e2e-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Lab {
    fn start(tag: &str, cols: u16, rows: u16) -> Lab {
        Lab::start_in(temp_dir(tag), cols, rows)
    }

    /// The lab on the runs folder `dir/runs` (which may hold runs of an earlier lab).
    fn start_in(dir: PathBuf, cols: u16, rows: u16) -> Lab {
        let runs = dir.join("runs");
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_fail-lab"));
        cmd.args([
            "--scenarios",
            scenarios.to_str().unwrap(),
            "--runs",
            runs.to_str().unwrap(),
            "--max-running",
            "2",
        ]);
        cmd.cwd(&dir);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        let child = pty.slave.spawn_command(cmd).expect("the lab starts");
        drop(pty.slave);
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        // non-blocking, so that the reader can be told to stop and close its copy of the
        // master (the terminal hangs up only when every copy is closed)
        let fd = pty.master.as_raw_fd().expect("a pty fd");
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            assert!(flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == 0);
        }
        let mut reader = pty.master.try_clone_reader().unwrap();
        let (s2, stop_reading) = (screen.clone(), Arc::new(AtomicBool::new(false)));
        let raw: Arc<Mutex<Vec<u8>>> = Default::default();
        let (raw2, stop2) = (raw.clone(), stop_reading.clone());
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        raw2.lock().unwrap().extend_from_slice(&buf[..n]);
                        s2.lock().unwrap().process(&buf[..n]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if stop2.load(Ordering::Relaxed) {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        });
        Lab {
            screen,
            raw,
            stop_reading,
            reader: Some(reader),
            child,
            master: Some(pty.master),
            runs,
        }
    }

    /// Resizes the terminal, as a user dragging the window's corner.
    fn resize(&self, cols: u16, rows: u16) {
        self.master
            .as_ref()
            .unwrap()
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        self.screen.lock().unwrap().set_size(rows, cols);
    }

    /// What the alternate screen held as the lab left it (the bytes up to its last
    /// leave-alternate-screen replayed on a terminal of the last size), or `None` if it
    /// never left it.
    fn alternate_screen_as_left(&self, cols: u16, rows: u16) -> Option<String> {
        let raw = self.raw.lock().unwrap();
        let leave = b"\x1b[?1049l";
        let at = raw.windows(leave.len()).rposition(|w| w == leave)?;
        let mut p = vt100::Parser::new(rows, cols, 0);
        p.process(&raw[..at]);
        assert!(p.screen().alternate_screen());
        Some(p.screen().contents())
    }

    fn master_fd(&self) -> i32 {
        let master = self.master.as_ref().expect("the terminal is open");
        master.as_raw_fd().expect("a pty fd")
    }

    /// Closes the terminal's master side, as a dropped SSH connection or a killed tmux pane
    /// does: the lab's terminal hangs up.
    fn hang_up(&mut self) {
        self.stop_reading.store(true, Ordering::Relaxed);
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        self.master = None;
    }

    fn text(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Waits until the screen satisfies `ok`; fails with the screen after `secs`.
    fn wait_for(&self, what: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
        let t = Instant::now();
        loop {
            let s = self.text();
            if ok(&s) {
                return s;
            }
            if t.elapsed() > Duration::from_secs(secs) {
                panic!("waited {secs} s for {what}; the screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&mut self, bytes: &str) {
        let fd = self.master_fd();
        let mut rest = bytes.as_bytes();
        while !rest.is_empty() {
            let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
            if n > 0 {
                rest = &rest[n as usize..];
            } else {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        // a lone Esc must not merge with the next key into an escape sequence
        std::thread::sleep(Duration::from_millis(120));
    }

    fn wait_exit(&mut self, secs: u64) -> portable_pty::ExitStatus {
        let t = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // let the reader take the last bytes (the terminal restore)
                std::thread::sleep(Duration::from_millis(200));
                return status;
            }
            if t.elapsed() > Duration::from_secs(secs) {
                let _ = self.child.kill();
                panic!("the lab did not exit within {secs} s:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Checks the terminal is as the lab found it: main screen, cursor shown, line mode back.
    fn assert_restored(&self) {
        let p = self.screen.lock().unwrap();
        assert!(
            !p.screen().alternate_screen(),
            "still on the alternate screen"
        );
        assert!(!p.screen().hide_cursor(), "the cursor is still hidden");
        drop(p);
        let fd = self.master_fd();
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0);
        assert!(
            t.c_lflag & libc::ICANON != 0,
            "raw mode left on (ICANON off)"
        );
        assert!(t.c_lflag & libc::ECHO != 0, "raw mode left on (ECHO off)");
    }

    /// Picks the d = 30 parity preset and starts it; returns once it is training.
    fn start_the_d30_run(&mut self) {
        self.wait_for("the main screen", 30, |s| s.contains("Scenarios"));
        self.send("j");
        self.send("j");
        self.wait_for("the d = 30 preset", 5, |s| s.contains("d = 30 (fails) ─"));
        self.send("\r");
        self.wait_for("a running run", 60, |s| {
            s.contains("1 running") && step_of(s, "50k").is_some_and(|x| x > 0.0)
        });
    }

    /// The lab exits by itself (with success) and its one run was stopped with its summary.
    fn assert_exited_with_the_run_stopped(&mut self) {
        let status = self.wait_exit(60);
        assert!(status.success(), "exit status {status:?}");
        let dirs = self.run_dirs();
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        let summary = std::fs::read_to_string(dirs[0].join("summary.json")).unwrap();
        assert!(summary.contains("\"stopped\""), "{summary}");
    }

    fn run_dirs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.runs)
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        self.stop_reading.store(true, Ordering::Relaxed);
        if let Some(d) = self.runs.parent() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// `12.4k/400k` or `950/400k` on the screen: the step of the run whose total is `total`.
fn step_of(screen: &str, total: &str) -> Option<f64> {
    let needle = format!("/{total}");
    let at = screen.find(&needle)?;
    let before = &screen[..at];
    let start = before
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'k' || c == 'M'))
        .map(|i| i + 1)
        .unwrap_or(0);
    let n = &before[start..];
    let (num, mul) = match n.strip_suffix('k') {
        Some(x) => (x, 1e3),
        None => match n.strip_suffix('M') {
            Some(x) => (x, 1e6),
            None => (n, 1.0),
        },
    };
    num.parse::<f64>().ok().map(|x| x * mul)
}

/// The lines of the chart pane (from its title to the hint bar).
fn chart_pane(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains("Run #1"))
        .unwrap_or(lines.len());
    lines[start..].join("\n")
}

fn has_braille(s: &str) -> bool {
    s.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
}

#[test]
fn start_a_parity_run_watch_it_move_open_help_and_quit() {
    let mut lab = Lab::start("main", 100, 30);
    let s = lab.wait_for("the main screen", 30, |s| {
        s.contains("Scenarios") && s.contains("Runs")
    });
    // the parity d = 5 preset is the first scenario, selected at start
    assert!(s.contains("Random parity, d = 5"), "{s}");
    {
        let p = lab.screen.lock().unwrap();
        assert!(p.screen().alternate_screen() && p.screen().hide_cursor());
    }

    // make the run long enough to watch: steps = 400000 in the editor
    lab.send("\t");
    for _ in 0..20 {
        if lab.text().contains("steps: training iterations") {
            break;
        }
        lab.send("j");
    }
    lab.wait_for("the steps field", 5, |s| {
        s.contains("steps: training iterations")
    });
    lab.send("\r");
    lab.send("\x15"); // Ctrl-U
    lab.send("400000");
    lab.wait_for("the value checked as typed", 5, |s| {
        s.contains("✓ steps = 400000")
    });
    lab.send("\r");
    lab.wait_for("the edited value", 5, |s| {
        s.contains("400000") && s.contains("edited")
    });

    lab.send("r");
    let s1 = lab.wait_for("a running run with a step count", 60, |s| {
        s.contains("running")
            && step_of(s, "400k").is_some_and(|x| x > 0.0)
            && has_braille(&chart_pane(s))
    });
    let step1 = step_of(&s1, "400k").unwrap();
    let chart1 = chart_pane(&s1);
    let s2 = lab.wait_for("the step counter to advance", 60, |s| {
        step_of(s, "400k").is_some_and(|x| x > step1) && chart_pane(s) != chart1
    });
    assert!(has_braille(&chart_pane(&s2)), "{s2}");

    lab.send("?");
    lab.wait_for("the help", 10, |s| s.contains("Keys · fail-lab help"));
    lab.send("\x1b");
    lab.wait_for("the help to close", 10, |s| {
        !s.contains("Keys · fail-lab help")
    });

    lab.send("q");
    lab.wait_for("the quit question", 10, |s| s.contains("Quit?"));
    lab.send("y");
    let status = lab.wait_exit(60);
    assert!(status.success(), "exit status {status:?}");
    lab.assert_restored();

    // the stopped run's files are complete
    let dirs = lab.run_dirs();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let summary = std::fs::read_to_string(dirs[0].join("summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(v["status"], "stopped");
    assert!(v["step"].as_u64().unwrap() as f64 >= step1);
    let metrics = std::fs::read_to_string(dirs[0].join("metrics.jsonl")).unwrap();
    assert!(metrics.lines().count() > 2);
    let spec = std::fs::read_to_string(dirs[0].join("spec.toml")).unwrap();
    assert!(
        spec.contains("steps = 400000") && spec.contains("d = 5"),
        "{spec}"
    );
}

#[test]
fn sigterm_stops_runs_and_writes_their_files_before_exit() {
    let mut lab = Lab::start("term", 100, 30);
    lab.wait_for("the main screen", 30, |s| s.contains("Scenarios"));
    // two runs of the d = 30 preset (50,000 steps: still running when the signal comes)
    lab.send("j");
    lab.send("j");
    lab.wait_for("the d = 30 preset", 5, |s| s.contains("d = 30 (fails) ─"));
    lab.send("\r");
    lab.send("\r");
    lab.wait_for("two running runs", 60, |s| {
        s.contains("2 running") && step_of(s, "50k").is_some_and(|x| x > 0.0)
    });
    let pid = lab.child.process_id().expect("a pid") as i32;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = lab.wait_exit(60);
    assert!(status.success(), "exit status {status:?}");
    lab.assert_restored();
    let dirs = lab.run_dirs();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for d in dirs {
        let summary = std::fs::read_to_string(d.join("summary.json"))
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        let v: serde_json::Value = serde_json::from_str(&summary).unwrap();
        assert_eq!(v["status"], "stopped", "{summary}");
        let metrics = std::fs::read_to_string(d.join("metrics.jsonl")).unwrap();
        let last = metrics.lines().last().expect("metrics were flushed");
        let step = serde_json::from_str::<serde_json::Value>(last).unwrap()["step"]
            .as_u64()
            .unwrap();
        // every metric up to the stop is on disk
        assert!(v["step"].as_u64().unwrap() >= step);
    }
}

#[test]
fn a_small_terminal_gets_a_message_then_the_lab_after_a_resize() {
    let mut lab = Lab::start("small", 70, 20);
    lab.wait_for("the size message", 30, |s| {
        s.contains("terminal too small") && s.contains("need at least 80x24")
    });
    lab.master
        .as_ref()
        .unwrap()
        .resize(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    lab.screen.lock().unwrap().set_size(24, 80);
    lab.wait_for("the lab at 80x24", 30, |s| {
        s.contains("Scenarios") && !s.contains("too small")
    });
    lab.send("q");
    let status = lab.wait_exit(30);
    assert!(status.success());
    lab.assert_restored();
}

#[test]
fn a_hang_up_arriving_twice_still_lets_the_run_write_its_files() {
    // a dropped SSH connection often delivers SIGHUP twice (terminal and shell)
    let mut lab = Lab::start("hup", 100, 30);
    lab.start_the_d30_run();
    let pid = lab.child.process_id().expect("a pid") as i32;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    std::thread::sleep(Duration::from_millis(5));
    let _ = unsafe { libc::kill(pid, libc::SIGHUP) };
    lab.assert_exited_with_the_run_stopped();
}

#[test]
fn closing_the_terminal_ends_the_lab_and_keeps_the_runs_files() {
    // a dropped SSH connection or a killed tmux pane: the terminal is gone, not just signalled
    let mut lab = Lab::start("gone", 100, 30);
    lab.start_the_d30_run();
    lab.hang_up();
    // wait_exit kills the process and fails if it is still there (it used to spin forever
    // inside the terminal library, a core busy, deaf to the hang-up)
    lab.assert_exited_with_the_run_stopped();
    let log = std::fs::read_to_string(lab.runs.join("lab.log")).unwrap();
    assert!(log.contains("lab closed"), "{log}");
}

impl Lab {
    /// In the parameters pane: moves to the field whose help starts with `help`, types
    /// `value` in it and applies it.
    fn set_field(&mut self, help: &str, value: &str) {
        for _ in 0..30 {
            if self.text().contains(help) {
                break;
            }
            self.send("j");
        }
        self.wait_for(help, 5, |s| s.contains(help));
        self.send("\r");
        self.send("\x15"); // Ctrl-U
        self.send(value);
        self.wait_for("the value checked as typed", 5, |s| s.contains('✓'));
        self.send("\r");
    }
}

#[test]
fn a_sweep_started_from_the_parameters_pane_shows_its_groups_and_its_screen() {
    let mut lab = Lab::start("sweep", 120, 36);
    lab.wait_for("the main screen", 30, |s| s.contains("Scenarios"));
    lab.send("\t");
    lab.set_field("d: input bits", "4,6");
    lab.set_field("steps: training iterations", "300");
    lab.set_field("seeds: seeds of a sweep", "2");
    lab.wait_for("the seeds in the editor", 5, |s| s.contains("2 (0..1)"));
    // four runs: below the question's threshold, so it starts at once
    lab.send("r");
    let s = lab.wait_for("the sweep's groups, every run finished", 120, |s| {
        s.contains("sweep d · 2 seeds")
            && s.contains("d=4")
            && s.contains("d=6")
            && s.contains("4/4")
            && s.matches("✓2").count() >= 2
    });
    assert!(s.contains("n=2"), "{s}");
    // the chart of the sweep row draws both grid points' means
    assert!(s.contains("(n=2)"), "{s}");
    lab.send("\t");
    lab.send("S");
    let s = lab.wait_for("the sweep screen", 10, |s| {
        s.contains("Sweep ") && s.contains("test_accuracy against d")
    });
    assert!(s.contains("4/4 runs ended"), "{s}");
    lab.send("\x1b");
    // the editor still holds the grid, not saved: q asks first
    lab.send("q");
    lab.wait_for("the quit question", 10, |s| {
        s.contains("Quit?") && s.contains("edits not saved")
    });
    lab.send("y");
    let status = lab.wait_exit(60);
    assert!(status.success(), "exit status {status:?}");
    lab.assert_restored();
    // four ordinary runs, each marked as the sweep's, and the sweep's record
    let runs: Vec<PathBuf> = lab
        .run_dirs()
        .into_iter()
        .filter(|d| d.file_name().is_some_and(|n| n != "sweeps"))
        .collect();
    assert_eq!(runs.len(), 4, "{runs:?}");
    for r in &runs {
        let spec = std::fs::read_to_string(r.join("spec.toml")).unwrap();
        assert!(
            spec.contains("[sweep_point]") && spec.contains("steps = 300"),
            "{spec}"
        );
        assert!(r.join("summary.json").is_file());
    }
    let records: Vec<PathBuf> = std::fs::read_dir(lab.runs.join("sweeps"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("sweep.json"))
        .collect();
    assert_eq!(records.len(), 1);
    let rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&records[0]).unwrap()).unwrap();
    let entries = rec["runs"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    assert!(entries.iter().all(|e| e["status"] == "finished"), "{rec}");
}

#[test]
fn quitting_or_a_signal_after_a_resize_leaves_no_lab_rows_on_the_shell() {
    // a terminal resized while the lab is on its alternate screen (tmux, for one) may carry
    // that screen's rows onto the main one as it is given back: the lab blanks it first
    for (how, tag) in [
        ("q", "resize-q"),
        ("TERM", "resize-term"),
        ("HUP", "resize-hup"),
    ] {
        let mut lab = Lab::start(tag, 100, 30);
        lab.wait_for("the main screen", 30, |s| s.contains("Scenarios"));
        lab.resize(200, 60);
        lab.wait_for("the lab redrawn at 200x60", 30, |s| {
            s.contains("Scenarios") && s.lines().any(|l| l.trim_end().chars().count() > 150)
        });
        let pid = lab.child.process_id().expect("a pid") as i32;
        match how {
            "q" => lab.send("q"),
            "TERM" => assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0),
            _ => assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0),
        }
        let status = lab.wait_exit(60);
        assert!(status.success(), "{how}: exit status {status:?}");
        lab.assert_restored();
        let main = lab.text();
        assert!(
            !main.contains("Scenarios") && !main.contains('│'),
            "{how}: lab rows on the main screen:\n{main}"
        );
        let left = lab
            .alternate_screen_as_left(200, 60)
            .expect("the alternate screen was left");
        assert!(
            left.trim().is_empty(),
            "{how}: the alternate screen still held the lab as it was left:\n{left}"
        );
    }
}

impl Lab {
    /// Moves the focus with Tab until the hint bar offers `hint` (a pane's own keys).
    fn focus_pane_with(&mut self, hint: &str) {
        for _ in 0..6 {
            if self.text().lines().last().is_some_and(|l| l.contains(hint)) {
                return;
            }
            self.send("\t");
        }
        self.wait_for(hint, 5, |s| {
            s.lines().last().is_some_and(|l| l.contains(hint))
        });
    }
}

/// The step of a stopped run from its summary.
fn summary_step(dir: &Path) -> u64 {
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["status"], "stopped", "{text}");
    v["step"].as_u64().unwrap()
}

#[test]
fn a_run_stopped_in_the_lab_is_resumed_from_its_checkpoint_after_a_restart() {
    let dir = temp_dir("resume");
    let mut lab = Lab::start_in(dir.clone(), 100, 30);
    lab.start_the_d30_run();
    lab.focus_pane_with("stop");
    lab.send("x");
    // the stop may ask to be confirmed
    let s = lab.wait_for("the stop or its question", 10, |s| {
        s.contains("Stop?") || s.contains("stopped")
    });
    if s.contains("Stop?") {
        lab.send("y");
    }
    lab.wait_for("the run stopped", 60, |s| {
        !s.contains("Stop?") && s.contains("stopped")
    });
    lab.send("q");
    let s = lab.wait_for("the lab to quit", 10, |s| {
        s.contains("Quit?") || !s.contains("Runs")
    });
    if s.contains("Quit?") {
        lab.send("y");
    }
    let status = lab.wait_exit(60);
    assert!(status.success(), "exit status {status:?}");
    let dirs = lab.run_dirs();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let run = dirs[0].clone();
    let stopped_at = summary_step(&run);
    assert!(
        run.join("checkpoint.bin").is_file(),
        "a stopped run writes its checkpoint"
    );
    // the first lab's folder is the second's
    lab.runs = PathBuf::new();
    drop(lab);

    let mut lab = Lab::start_in(dir, 100, 30);
    lab.wait_for("the stopped run", 30, |s| s.contains("/50k"));
    lab.focus_pane_with("stop");
    lab.send("R");
    let s = lab.wait_for("the run training past its stop", 60, |s| {
        s.contains("1 running") && step_of(s, "50k").is_some_and(|x| x > stopped_at as f64)
    });
    assert!(!s.contains("#2"), "no new run: {s}");
    lab.send("q");
    lab.wait_for("the quit question", 10, |s| s.contains("Quit?"));
    lab.send("y");
    let status = lab.wait_exit(60);
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(
        lab.run_dirs(),
        vec![run.clone()],
        "the run goes on in its folder"
    );
    assert!(summary_step(&run) > stopped_at);
    let log = std::fs::read_to_string(run.join("log.txt")).unwrap();
    assert!(
        log.contains(&format!("resumed from the checkpoint of step {stopped_at}")),
        "{log}"
    );
    // metrics.jsonl goes on with no step repeated: each metric's steps only go up
    let mut last: std::collections::BTreeMap<String, u64> = Default::default();
    for line in std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (step, name) = (v["step"].as_u64().unwrap(), v["name"].as_str().unwrap());
        if let Some(&before) = last.get(name) {
            assert!(step > before, "{name}: step {step} after {before}");
        }
        last.insert(name.to_string(), step);
    }
}
