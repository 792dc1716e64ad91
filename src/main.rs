//! The `fail-lab` command: the lab (no subcommand), headless runs, the list; the paper checks
//! (`cli_reproduce/`) and sweeps (`cli_sweep/`) in modules of their own.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod cli_export;
mod cli_reproduce;
mod cli_sweep;

use clap::{Args, Parser, Subcommand};
use fail_lab::engine::{self, Event, LaunchOptions, RunState, Status};
use fail_lab::experiments::{registry, Family, Registry};
use fail_lab::spec::{load_scenario, Scenario};
use fail_lab::tui::{ChartMarker, LabOptions};

#[derive(Parser)]
#[command(
    name = "fail-lab",
    version,
    about = "A terminal lab for the experiments of 'Failures of Gradient-Based Deep Learning' \
             (Shalev-Shwartz, Shamir, Shammah, ICML 2017)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    lab: LabArgs,
}

#[derive(Args, Clone)]
struct LabArgs {
    /// Folder of scenario files
    #[arg(long, default_value = "scenarios", global = true)]
    scenarios: PathBuf,
    /// Folder where runs are saved
    #[arg(long, default_value = "runs", global = true)]
    runs: PathBuf,
    /// Lab: runs that train at once, more wait in a queue (default: one per core)
    #[arg(long, value_name = "N")]
    max_running: Option<usize>,
    /// Lab: how charts draw lines; halfblock, dot and block need no Braille font
    #[arg(long, default_value = "braille", value_parser = ["braille", "halfblock", "dot", "block"])]
    marker: String,
    /// Lab: the log file (default: lab.log in the runs folder)
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Lab: no mouse (clicks and the wheel), so the terminal selects text as usual
    #[arg(long)]
    no_mouse: bool,
    /// Lab: compute threads per run, a number >= 1 or `auto` (the free cores, shared among
    /// the runs that start together, for the experiments that train faster on them)
    #[arg(long = "threads", value_name = "N|auto", default_value = "auto")]
    lab_threads: String,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one scenario to its end, headless, with a progress bar on stderr
    Run {
        /// The scenario file (TOML)
        file: PathBuf,
        /// Override a parameter: --set name=value (repeatable)
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Seed (overrides the file's)
        #[arg(long)]
        seed: Option<u64>,
        /// Folder for the run's files (default: the --runs folder)
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print one JSON object per line on stdout (events: started, metric, finished, failed)
        #[arg(long)]
        json: bool,
        /// Compute threads for this run: a number >= 1, or `auto`: every free core for the
        /// experiments that train faster on them (E2, E3; E9, E12, E13 from a batch of 512),
        /// one for the others
        #[arg(
            long,
            default_value = "auto",
            value_name = "N|auto",
            allow_hyphen_values = true
        )]
        threads: String,
    },
    /// Run a scenario over a grid of parameter values and seeds, then print the grid's table
    Sweep(cli_sweep::SweepArgs),
    /// Write runs' metric points, summaries or a sweep's group table as CSV or JSON
    Export(cli_export::ExportArgs),
    /// Draw runs, sweeps or the paper's figures (--paper) as SVG or PNG
    Plot(cli_export::PlotArgs),
    /// List every experiment and preset
    List,
    /// Run each experiment's check from the spec and print a verdict table
    ///
    /// The checks' runs are planned first, trained --jobs at a time (or read from
    /// --from-runs DIR), then each check judges its runs.
    Reproduce(cli_reproduce::ReproduceArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => lab(&cli.lab),
        Some(Cmd::Run {
            file,
            set,
            seed,
            out,
            json,
            threads,
        }) => {
            let threads = match parse_share(&threads) {
                Ok(n) => n,
                Err(code) => return code,
            };
            let out = out.unwrap_or_else(|| cli.lab.runs.clone());
            run(&file, &set, seed, &out, json, threads)
        }
        Some(Cmd::Sweep(args)) => cli_sweep::main(args, &cli.lab.runs),
        Some(Cmd::Export(args)) => cli_export::export(args, &cli.lab.runs),
        Some(Cmd::Plot(args)) => cli_export::plot(args, &cli.lab.runs),
        Some(Cmd::List) => list(&cli.lab.scenarios),
        Some(Cmd::Reproduce(args)) => cli_reproduce::main(args),
    }
}

/// The compute threads of `--threads`: a whole number >= 1, or `auto`, the cores free when
/// the run starts (a run alone on the machine: every core it has). Bad input is reported
/// on stderr and gives exit code 2.
fn parse_threads(value: &str) -> Result<usize, ExitCode> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("auto") {
        return Ok(free_cores());
    }
    match v.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => {
            eprintln!(
                "error: --threads {value}: allowed: a whole number of threads >= 1, or `auto` \
                 (the cores free when the run starts, {} here)",
                free_cores()
            );
            Err(ExitCode::from(2))
        }
    }
}

/// `--threads` for runs that share the machine (the lab, a sweep): a number each, or `auto`,
/// the cores free when a run starts shared among the runs starting with it.
fn parse_share(value: &str) -> Result<engine::pool::Threads, ExitCode> {
    if value.trim().eq_ignore_ascii_case("auto") {
        return Ok(engine::pool::Threads::Auto {
            cores: free_cores(),
        });
    }
    parse_threads(value).map(engine::pool::Threads::Fixed)
}

/// Cores a lone run may use: every core this process may run on.
fn free_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn lab(args: &LabArgs) -> ExitCode {
    if args.max_running == Some(0) {
        eprintln!("error: --max-running must be at least 1");
        return ExitCode::from(2);
    }
    let mut opts = LabOptions::new(args.scenarios.clone(), args.runs.clone());
    opts.max_running = args.max_running.unwrap_or(0);
    opts.marker = ChartMarker::parse(&args.marker).unwrap_or(ChartMarker::Braille);
    opts.log_file = args.log.clone();
    opts.mouse = !args.no_mouse;
    opts.threads = match parse_share(&args.lab_threads) {
        Ok(t) => t,
        Err(code) => return code,
    };
    opts.device = fail_lab::nn::device_name().to_string();
    match fail_lab::tui::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Loads a scenario and applies `--set` and `--seed`.
fn prepare(file: &Path, set: &[String], seed: Option<u64>) -> Result<Scenario, String> {
    let mut scenario = load_scenario(file, &Registry).map_err(|e| e.to_string())?;
    for s in set {
        scenario.set(s, &Registry).map_err(|e| e.to_string())?;
    }
    if seed.is_some() {
        scenario.seed = seed;
    }
    engine::validate(&scenario).map_err(|e| format!("{}: {e}", file.display()))?;
    let has_grid = std::fs::read_to_string(file)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .is_some_and(|t| t.contains_key("sweep"));
    if has_grid {
        eprintln!(
            "note: {} has a [sweep] table; this runs its scenario once (`fail-lab sweep {0}` \
             runs the grid)",
            file.display()
        );
    }
    Ok(scenario)
}

fn fmt_value(v: f64) -> String {
    if v == 0.0 || (v.abs() >= 1e-3 && v.abs() < 1e5) {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.3e}")
    }
}

/// A line on stderr that does not tear the progress bar (plain when stderr is not a terminal).
fn say(bar: &indicatif::ProgressBar, line: impl AsRef<str>) {
    if bar.is_hidden() {
        eprintln!("{}", line.as_ref());
    } else {
        bar.println(line.as_ref());
    }
}

fn json_line(v: serde_json::Value) {
    use std::io::Write;
    // a closed pipe (`| head`) is not an error worth a panic; the run still completes
    let _ = writeln!(std::io::stdout().lock(), "{v}");
}

fn run(
    file: &Path,
    set: &[String],
    seed: Option<u64>,
    out: &Path,
    json: bool,
    threads: engine::pool::Threads,
) -> ExitCode {
    let scenario = match prepare(file, set, seed) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let threads = match threads {
        engine::pool::Threads::Fixed(n) => n,
        engine::pool::Threads::Auto { cores } => {
            if fail_lab::experiments::uses_threads(&scenario.experiment, &scenario.params) {
                cores
            } else {
                1
            }
        }
    };
    let stop = stop_on_signals();
    let (tx, rx) = crossbeam_channel::unbounded();
    let opts = LaunchOptions {
        runs_dir: out.to_path_buf(),
        compute_threads: threads,
    };
    let handle = match fail_lab::slurm::task::launch(file, &scenario, &opts, tx) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut view = RunView {
        state: RunState::new(
            &handle.id,
            &scenario.experiment,
            &scenario.title,
            scenario.params.clone(),
        ),
        main_metric: fail_lab::experiments::find(&scenario.experiment)
            .map(|d| d.main_metric)
            .unwrap_or(""),
        bar: progress_bar(),
        json,
    };
    let started = Instant::now();
    follow(&handle, &rx, &stop, &mut view);
    let dir = handle.dir.clone();
    handle.join();
    eprintln!(
        "files: {} ({:.1} s)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    if view.state.status == Status::Finished {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A flag raised by SIGINT, SIGTERM or SIGHUP; a second signal ends the process at once.
fn stop_on_signals() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        // a second signal ends the process at once
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop));
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }
    stop
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        None,
        indicatif::ProgressDrawTarget::stderr_with_hz(10),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} {bar:30} {pos}/{len} · {prefix} · ETA {eta} · {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// What a headless run shows: its state, the progress bar and whether it prints JSON.
struct RunView {
    state: RunState,
    main_metric: &'static str,
    bar: indicatif::ProgressBar,
    json: bool,
}

/// Follows the run's events until it ends, asking it to stop once `stop` is raised.
fn follow(
    handle: &engine::RunHandle,
    rx: &crossbeam_channel::Receiver<engine::RunEvent>,
    stop: &AtomicBool,
    view: &mut RunView,
) {
    let mut stop_sent = false;
    loop {
        if stop.load(Ordering::Relaxed) && !stop_sent {
            say(&view.bar, "stopping: finishing the current step and writing the run's files (again to quit at once)");
            handle.stop();
            stop_sent = true;
        }
        let ev = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(ev) => ev,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        };
        view.state.apply(&ev.event);
        view.show(&ev.run, &ev.event);
        if ev.event.is_terminal() {
            break;
        }
    }
}

impl RunView {
    /// Prints one event of run `run`: progress on the bar, lines on stderr, JSON on stdout.
    fn show(&mut self, run: &str, event: &Event) {
        match event {
            Event::Started {
                experiment,
                title,
                params,
                seed,
                dir,
            } => {
                if self.json {
                    json_line(serde_json::json!({
                        "event": "started", "run": run, "experiment": experiment, "title": title,
                        "seed": seed, "params": params.to_json(), "dir": dir,
                    }));
                }
                say(
                    &self.bar,
                    format!("{experiment} · {title} · seed {seed} · {}", dir.display()),
                );
            }
            Event::Metric { step, name, value } => self.metric(*step, name, *value),
            Event::Progress {
                step,
                total,
                steps_per_sec,
            } => {
                self.bar.set_length(*total);
                self.bar.set_position(*step);
                self.bar.set_prefix(format!("{steps_per_sec:.0} steps/s"));
            }
            Event::Log(line) => say(&self.bar, line),
            Event::Finished { summary, elapsed_s } => self.finished(run, summary, *elapsed_s),
            Event::Stopped { step } | Event::Diverged { step, .. } => self.stopped(run, *step),
            Event::Failed { reason } => {
                self.bar.finish_and_clear();
                if self.json {
                    json_line(serde_json::json!({
                        "event": "failed", "run": run, "status": "failed", "step": self.state.step, "reason": reason,
                    }));
                }
                eprintln!("{run} failed: {reason}");
            }
            Event::Figure { .. } | Event::Paused | Event::Resumed => {}
        }
    }

    fn metric(&mut self, step: u64, name: &str, value: f64) {
        if self.json {
            json_line(serde_json::json!({
                "event": "metric", "step": step, "name": name,
                "value": fail_lab::experiments::ctx::json_number(value),
            }));
        }
        let main_metric = self.main_metric;
        let mut names: Vec<&String> = self.state.metrics.keys().collect();
        names.sort_by_key(|n| (n.as_str() != main_metric, n.as_str()));
        let msg: Vec<String> = names
            .iter()
            .take(3)
            .filter_map(|n| {
                self.state
                    .latest(n)
                    .map(|v| format!("{n} {}", fmt_value(v)))
            })
            .collect();
        self.bar.set_message(msg.join("  "));
    }

    fn finished(&mut self, run: &str, summary: &fail_lab::experiments::Summary, elapsed_s: f64) {
        self.bar.finish_and_clear();
        if self.json {
            json_line(serde_json::json!({
                "event": "finished", "run": run, "elapsed_s": elapsed_s,
                "summary": summary.metrics.iter()
                    .map(|(k, v)| (k.clone(), fail_lab::experiments::ctx::json_number(*v)))
                    .collect::<serde_json::Map<_, _>>(),
                "notes": summary.notes,
            }));
        }
        eprintln!("finished {run} in {elapsed_s:.1} s");
        for (k, v) in &summary.metrics {
            eprintln!("  {k:<24} {}", fmt_value(*v));
        }
        for n in &summary.notes {
            eprintln!("  note: {n}");
        }
    }

    fn stopped(&mut self, run: &str, step: u64) {
        self.bar.finish_and_clear();
        let reason = self
            .state
            .reason
            .clone()
            .unwrap_or_else(|| "stopped by the user".into());
        if self.json {
            json_line(serde_json::json!({
                "event": "failed", "run": run, "status": self.state.status.label(),
                "step": step, "reason": reason,
            }));
        }
        eprintln!(
            "{run} {} at step {step}: {reason}",
            self.state.status.label()
        );
    }
}

fn list(scenarios: &Path) -> ExitCode {
    for family in Family::ALL {
        let exps: Vec<_> = registry().iter().filter(|e| e.family == family).collect();
        println!("{} {}", family.number(), family.title());
        if exps.is_empty() {
            println!("    (no experiments of this family in this build)");
        }
        let width = exps.iter().map(|e| e.name.len()).max().unwrap_or(0);
        for e in exps {
            println!("  {:<4} {:<width$}  {}", e.id, e.name, e.shows);
        }
    }
    println!();
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    println!("presets in {}/:", scenarios.display());
    if files.is_empty() {
        println!("  (none)");
    }
    let mut bad = 0;
    for f in files {
        match load_scenario(&f, &Registry) {
            Ok(s) => println!(
                "  {:<36} {:<4} {}",
                f.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                s.experiment,
                s.title
            ),
            Err(e) => {
                bad += 1;
                println!("  {e}");
            }
        }
    }
    if bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Rows as a markdown table on stdout (the first row is the header), columns padded.
fn print_markdown(cells: &[Vec<String>]) {
    let cols = cells.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &[String]| {
        let parts: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("| {} |", parts.join(" | "));
    };
    let Some((header, rest)) = cells.split_first() else {
        return;
    };
    line(header);
    line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
    for r in rest {
        line(r);
    }
}
