//! The lab: a ratatui terminal UI over the engine (never touches dfdx).
//!
//! - `model/`: the lab's data, with no drawing in it: the runs it knows (`run_list`,
//!   `run_row`), their tree of sweeps and groups (`run_tree`), the filter (`run_filter`);
//! - `app`: the state, worker events in, keys and clicks in (through the key table); its
//!   sweeps (`app/lab_sweeps`) and Slurm queues (`app/slurm_queue`);
//! - `keymap`: every key in one table, read by the dispatcher, the help and the hint bar;
//! - `action`: what keys ask for beyond a pane's own state, applied in one place;
//! - `panes/`: the main screen's panes, `screens/`: full screens and boxes; each file holds
//!   its state, its key handling (`on_cmd`) and its `render`;
//! - `view`: the frame and the main screen's layout, a pure function of the state;
//! - `plot`, `bands`, `widgets`, `fmt`, `theme`: drawing pieces;
//! - `export`: the export key, what is on screen as SVG and PNG;
//! - `mouse`: clicks and the wheel; `term`: the terminal, the loop, signals, the panic hook;
//! - `testing`: the fixture the lab's tests share.

pub mod action;
pub mod app;
pub mod bands;
pub mod export;
pub mod fmt;
pub mod keymap;
pub mod legend;
pub mod log;
pub mod model;
pub mod mouse;
pub mod panes;
pub mod plot;
pub mod screens;
pub mod term;
pub mod testing;
pub mod theme;
pub mod view;
pub mod widgets;

#[cfg(test)]
mod keys_tests;

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::engine::pool::{self, Pool, Threads};
use crate::engine::{LaunchOptions, RunState};

pub use app::{App, Settings};
pub use theme::{ChartMarker, Theme};

/// How the lab starts.
#[derive(Debug, Clone)]
pub struct LabOptions {
    pub scenarios_dir: PathBuf,
    pub runs_dir: PathBuf,
    /// Runs that train at once; more wait in a queue. 0: one per core.
    pub max_running: usize,
    pub marker: ChartMarker,
    /// `None`: colour unless `NO_COLOR` is set.
    pub color: Option<bool>,
    /// The lab's log file (default: `lab.log` in the runs folder).
    pub log_file: Option<PathBuf>,
    /// Shown in the header, e.g. "cpu".
    pub device: String,
    /// Compute threads per run: a number, or the cores free when each run starts.
    pub threads: Threads,
    /// Mouse reports (clicks and the wheel); off leaves the terminal's own text selection.
    pub mouse: bool,
}

impl LabOptions {
    pub fn new(scenarios_dir: PathBuf, runs_dir: PathBuf) -> Self {
        Self {
            scenarios_dir,
            runs_dir,
            max_running: 0,
            marker: ChartMarker::Braille,
            color: None,
            log_file: None,
            device: "cpu".into(),
            threads: Threads::Auto {
                cores: pool::default_limit(),
            },
            mouse: true,
        }
    }

    pub fn theme(&self) -> Theme {
        match self.color {
            Some(c) => Theme::new(c, self.marker),
            None => Theme::from_env(self.marker),
        }
    }
}

/// Builds the lab's state: scenarios from their folder, saved runs from theirs, a pool that
/// starts runs with the engine.
pub fn build_app(opts: &LabOptions) -> App {
    let (tx, rx) = crossbeam_channel::unbounded();
    let limit = if opts.max_running == 0 {
        pool::default_limit()
    } else {
        opts.max_running
    };
    let launch = LaunchOptions {
        runs_dir: opts.runs_dir.clone(),
        compute_threads: 1,
    };
    let busy = pool::Busy::default();
    let starting = pool::Starting::default();
    let launcher = pool::sharing_launcher(launch, tx, opts.threads, busy.clone(), starting.clone());
    let pool = Pool::new(limit, launcher).with_starting(starting);
    let scenarios = panes::scenarios::Scenarios::load(&opts.scenarios_dir);
    for b in &scenarios.broken {
        log::line(&format!("scenario file skipped: {}", b.error));
    }
    let (saved, errors) = RunState::load_all(&opts.runs_dir);
    for e in &errors {
        log::line(&format!("saved run skipped: {e}"));
    }
    log::line(&format!(
        "{} scenarios, {} saved runs from {}",
        scenarios.entries.len(),
        saved.len(),
        opts.runs_dir.display()
    ));
    let mut app = App::new(
        scenarios,
        model::run_list::Runs::new(saved),
        pool,
        rx,
        Settings {
            theme: opts.theme(),
            device: opts.device.clone(),
            runs_dir: opts.runs_dir.clone(),
            cores: Some((busy, pool::default_limit())),
        },
    );
    app.runs
        .sweeps
        .extend(model::run_tree::saved_sweeps(&opts.runs_dir));
    if !errors.is_empty() {
        app.error(format!(
            "{} saved run(s) could not be read (see the log)",
            errors.len()
        ));
    } else if !opts.scenarios_dir.is_dir() {
        app.say(crate::spec::presets::where_from(&opts.scenarios_dir));
    }
    app
}

/// How long the lab waits for runs to write their files when it quits or gets a signal.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(30);

/// Opens the lab in this terminal and runs it until the user quits or a signal arrives.
/// Every run still active is stopped and has its files written before this returns.
pub fn run(opts: LabOptions) -> Result<(), String> {
    use std::io::IsTerminal;
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err("the lab needs a terminal; for scripts use `fail-lab run <scenario>`".into());
    }
    let log_path = open_log(&opts);
    log::line(&format!("lab starting, pid {}", std::process::id()));
    let stop = Arc::new(AtomicBool::new(false));
    term::watch_signals(&stop);
    let mut app = build_app(&opts);

    term::install_panic_hook(Box::new(term::restore_terminal));
    term::enter_terminal(opts.mouse).map_err(|e| format!("cannot set up the terminal: {e}"))?;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        in_terminal(&mut app, &stop)
    }));
    // whatever ended the loop (a quit, a signal, a lost terminal, a panic): stop the runs so
    // their metrics are flushed and their summaries written
    let left = term::stop_all_runs(&mut app, SHUTDOWN_WAIT);
    term::restore_terminal();
    let saved = app
        .runs
        .rows
        .iter()
        .filter(|r| r.state.dir.is_some())
        .count();
    log::line(&format!("lab closed; {saved} runs on disk"));
    match outcome {
        Err(panic) => std::panic::resume_unwind(panic),
        Ok(exit) => report(exit, &opts, &log_path, saved, left),
    }
}

/// Opens the lab's log: in the runs folder, or a temporary file when that cannot be written
/// (a read-only runs folder must not keep anyone from looking at its runs).
fn open_log(opts: &LabOptions) -> PathBuf {
    let log_path = opts
        .log_file
        .clone()
        .unwrap_or_else(|| opts.runs_dir.join("lab.log"));
    match log::open(&log_path) {
        Ok(()) => log_path,
        Err(_) => {
            let fallback =
                std::env::temp_dir().join(format!("fail-lab-{}.log", std::process::id()));
            let _ = log::open(&fallback);
            fallback
        }
    }
}

/// The loop on the real terminal, until a quit, a signal or a lost terminal.
fn in_terminal(app: &mut App, stop: &AtomicBool) -> io::Result<term::Exit> {
    let backend = CrosstermBackend::new(io::BufWriter::new(io::stdout()));
    let mut terminal = Terminal::new(backend)?;
    terminal.hide_cursor()?;
    terminal.clear()?;
    let mut stats = term::LoopStats::default();
    let mut input = term::TerminalInput::start()?;
    let exit = term::event_loop(
        &mut terminal,
        app,
        &mut |wait| input.next(wait),
        stop,
        &mut stats,
    );
    if app.runs.active() > 0 && exit.is_ok() {
        // say what is happening while the runs write their files
        app.say("stopping the runs and writing their files…");
        let _ = terminal.draw(|f| view::render(f, app));
    }
    log::line(&format!(
        "loop ended: {exit:?} after {} frames, {} turns",
        stats.frames, stats.turns
    ));
    if term::terminal_hung_up() {
        // ratatui's Terminal prints to stderr when it cannot show the cursor as it is
        // dropped, and printing to a hung-up terminal panics; restore_terminal does what
        // can still be done
        std::mem::forget(terminal);
    }
    exit
}

/// What the user reads once the lab is closed. The terminal may be gone (a hang-up): print
/// what can be printed, never panic on it.
fn report(
    exit: io::Result<term::Exit>,
    opts: &LabOptions,
    log_path: &std::path::Path,
    saved: usize,
    left: usize,
) -> Result<(), String> {
    let say = |line: String| {
        let _ = writeln!(io::stderr(), "{line}");
    };
    match exit {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe || term::terminal_hung_up() => {
            log::line(&format!("the terminal is gone ({e}); runs saved"));
            Ok(())
        }
        Err(e) => Err(format!("terminal error: {e}")),
        Ok(exit) => {
            if exit == term::Exit::Signal {
                say(format!(
                    "fail-lab: stopped by a signal; runs saved in {}",
                    opts.runs_dir.display()
                ));
            } else {
                let _ = writeln!(
                    io::stdout(),
                    "{saved} runs in {} · log: {}",
                    opts.runs_dir.display(),
                    log_path.display()
                );
            }
            if left > 0 {
                say(format!(
                    "fail-lab: {left} run(s) did not stop in time; their files may be incomplete"
                ));
            }
            Ok(())
        }
    }
}
