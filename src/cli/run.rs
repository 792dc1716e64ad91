//! `fail-lab run`: one scenario to its end, headless, with a progress bar on stderr, its
//! events as JSON lines on request, and its files in the runs folder; `--resume RUN`
//! continues a stopped or killed run from its last checkpoint, `--fork RUN[@STEP]` starts a
//! new run from one of its checkpoints with changed parameters.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use fail_lab::engine::{self, Event, LaunchOptions, RunState, Status};
use fail_lab::experiments::Registry;
use fail_lab::spec::{load_scenario, Scenario};

use super::args::{scenario_device, CheckpointArgs, DeviceArg, ThreadsArg};
use super::out::{bad, fmt_value, json_line, say, steps_bar};

#[derive(Args)]
pub struct RunArgs {
    /// The scenario file (TOML)
    #[arg(required_unless_present_any = ["resume", "fork"])]
    file: Option<PathBuf>,
    /// Continue run RUN (an id in the runs folder, or its folder) from its last checkpoint,
    /// in its folder; a run with no checkpoint trains again from step 0
    #[arg(long, value_name = "RUN", conflicts_with_all = ["file", "fork", "seed"])]
    resume: Option<String>,
    /// Start a new run from the checkpoint of RUN at STEP (one it kept, or its latest), with
    /// the parameters changed by --set (only ones that keep the networks' shapes)
    #[arg(long, value_name = "RUN[@STEP]", conflicts_with_all = ["file", "seed"])]
    fork: Option<String>,
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
    #[command(flatten)]
    threads: ThreadsArg,
    #[command(flatten)]
    checkpoints: CheckpointArgs,
    #[command(flatten)]
    device: DeviceArg,
}

/// The `run` subcommand: exit code 0 for a finished run, 1 for one that did not finish, 2 for
/// bad input.
pub fn main(args: RunArgs, runs_dir: &Path) -> ExitCode {
    let threads = match args.threads.share() {
        Ok(n) => n,
        Err(code) => return code,
    };
    // a folder that cannot be made is named with the flag that chose it
    let flag = if args.out.is_some() {
        "--out"
    } else {
        "--runs"
    };
    let out = args.out.clone().unwrap_or_else(|| runs_dir.to_path_buf());
    if let Err(e) = std::fs::create_dir_all(&out) {
        return bad(format!(
            "{flag} {}: cannot make the folder: {e}",
            out.display()
        ));
    }
    if let Some(target) = &args.resume {
        if !args.set.is_empty() {
            return bad(format!(
                "--resume {target}: a resumed run keeps its parameters; --fork {target} --set \
                 ... starts a new run from its checkpoint with other ones"
            ));
        }
        return resume(target, &out, &args, threads);
    }
    if let Some(target) = &args.fork {
        return fork(target, &out, &args, threads);
    }
    let file = args
        .file
        .clone()
        .expect("clap requires a file without --resume or --fork");
    run(&file, &args, &out, threads)
}

/// `--device` (else the scenario file's `device`) probed and made the default; a GPU in use
/// is named on stderr.
fn apply_device(device: &DeviceArg, scenario: Option<&str>) -> Result<(), ExitCode> {
    let info = device.apply(scenario)?;
    if info.device != fail_lab::nn::ComputeDevice::Cpu {
        eprintln!("device: {}", info.label());
    }
    Ok(())
}

/// The compute threads of one run of `scenario`.
fn threads_for(threads: engine::pool::Threads, scenario: &Scenario) -> usize {
    match threads {
        engine::pool::Threads::Fixed(n) => n,
        engine::pool::Threads::Auto { cores } => {
            if fail_lab::experiments::uses_threads(&scenario.experiment, &scenario.params) {
                cores
            } else {
                1
            }
        }
    }
}

/// A run named by id in `runs` or by its folder.
fn run_folder(target: &str, runs: &Path) -> PathBuf {
    let as_path = PathBuf::from(target);
    if as_path.join("spec.toml").exists() {
        as_path
    } else {
        runs.join(target)
    }
}

/// What `--resume` and `--fork` share before they start: the run's scenario from its
/// folder, the device, and the launch options (`--checkpoint-every` is the run's own).
fn from_checkpoint(
    flag: &str,
    target: &str,
    dir: &Path,
    out: &Path,
    args: &RunArgs,
    threads: engine::pool::Threads,
) -> Result<(Scenario, LaunchOptions), ExitCode> {
    let scenario =
        engine::resume::run_scenario(dir).map_err(|e| bad(format!("{flag} {target}: {e}")))?;
    if args.checkpoints.checkpoint_every.is_some() {
        let whose = if flag == "--fork" {
            "the fork keeps its parent's interval"
        } else {
            "the run keeps its spec's interval"
        };
        eprintln!("note: --checkpoint-every is ignored with {flag}: {whose}");
    }
    apply_device(&args.device, None)?;
    let opts = LaunchOptions {
        runs_dir: out.to_path_buf(),
        compute_threads: threads_for(threads, &scenario),
    };
    Ok((scenario, opts))
}

/// `--resume RUN`: the run goes on in its folder from its last checkpoint.
fn resume(target: &str, out: &Path, args: &RunArgs, threads: engine::pool::Threads) -> ExitCode {
    let dir = run_folder(target, out);
    let (scenario, opts) = match from_checkpoint("--resume", target, &dir, out, args, threads) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let stop = stop_on_signals();
    let (tx, rx) = crossbeam_channel::unbounded();
    let c = match engine::resume::resume(&dir, &opts, tx) {
        Ok(c) => c,
        Err(e) => return bad(format!("--resume {target}: {e}")),
    };
    for n in &c.notes {
        eprintln!("note: {n}");
    }
    if let Some(step) = c.from_step {
        eprintln!(
            "resuming {} from its checkpoint of step {step}",
            c.handle.id
        );
    }
    watch(c.handle, &rx, &stop, &scenario, args.json)
}

/// `--fork RUN[@STEP]`: a new run from a checkpoint of RUN, with `--set`'s changes.
fn fork(target: &str, out: &Path, args: &RunArgs, threads: engine::pool::Threads) -> ExitCode {
    let (dir, step) = match engine::resume::parse_fork_target(target, out) {
        Ok(t) => t,
        Err(e) => return bad(e),
    };
    let (scenario, opts) = match from_checkpoint("--fork", target, &dir, out, args, threads) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let stop = stop_on_signals();
    let (tx, rx) = crossbeam_channel::unbounded();
    let c = match engine::resume::fork(&dir, step, &args.set, &opts, tx) {
        Ok(c) => c,
        Err(e) => return bad(e),
    };
    for n in &c.notes {
        eprintln!("note: {n}");
    }
    let child = engine::resume::run_scenario(&c.handle.dir).unwrap_or(scenario);
    eprintln!(
        "forked {} from {} at step {}",
        c.handle.id,
        dir.display(),
        c.from_step.unwrap_or(0)
    );
    watch(c.handle, &rx, &stop, &child, args.json)
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

fn run(file: &Path, args: &RunArgs, out: &Path, threads: engine::pool::Threads) -> ExitCode {
    let mut scenario = match prepare(file, &args.set, args.seed) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = args.checkpoints.apply(&mut scenario) {
        return bad(e);
    }
    let threads = threads_for(threads, &scenario);
    if let Err(code) = apply_device(&args.device, scenario_device(file).as_deref()) {
        return code;
    }
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
    watch(handle, &rx, &stop, &scenario, args.json)
}

/// Follows a started run to its end on stderr (and stdout with `json`); stops it on a
/// signal (it writes a checkpoint first).
fn watch(
    handle: engine::RunHandle,
    rx: &crossbeam_channel::Receiver<engine::RunEvent>,
    stop: &AtomicBool,
    scenario: &Scenario,
    json: bool,
) -> ExitCode {
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
        bar: steps_bar(),
        json,
    };
    let started = Instant::now();
    follow(&handle, rx, stop, &mut view);
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
pub fn stop_on_signals() -> Arc<AtomicBool> {
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
    let bar = view.bar.clone();
    handle.follow(
        rx,
        || stop.load(Ordering::Relaxed),
        || say(&bar, "stopping: finishing the current step and writing the run's files and its checkpoint, for --resume (again to quit at once)"),
        |ev| {
            view.state.apply(&ev.event);
            view.show(&ev.run, &ev.event);
            !ev.event.is_terminal()
        },
    );
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
        let mut names: Vec<&String> = summary.metrics.keys().collect();
        names.sort_by(|a, b| fail_lab::stats::natural_cmp(a, b));
        for (k, v) in names.into_iter().map(|k| (k, &summary.metrics[k])) {
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
