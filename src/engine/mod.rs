//! Run lifecycle: each run trains in its own thread, streams [`Event`]s out and takes
//! [`Command`]s in over crossbeam channels, and writes its files as it goes; a list of planned
//! runs trained a few at a time (`batch.rs`) and saved runs found by what they ran (`saved.rs`).

pub mod batch;
pub mod checkpoint;
pub mod owner;
pub mod pool;
pub mod resume;
pub mod saved;
pub mod series;
pub mod state;
pub mod store;
mod worker;

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::experiments::ctx::{check_loss, Ctx, Figure, Halt, Restore, Summary};
use crate::experiments::{self, Registry};
use crate::spec::{Params, Scenario};

pub use owner::Owner;
pub use series::{Point, Series};
pub use state::{RunState, Status};
pub use store::{EndRecord, RunWriter, EXPORTS_DIR, SWEEPS_DIR};
use worker::{CheckpointPolicy, WorkerCtx};

/// Something that happened in a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        experiment: String,
        title: String,
        params: Params,
        seed: u64,
        dir: PathBuf,
    },
    Metric {
        step: u64,
        name: String,
        value: f64,
    },
    Progress {
        step: u64,
        total: u64,
        steps_per_sec: f64,
    },
    Log(String),
    Figure {
        step: u64,
        figure: Figure,
    },
    Paused,
    Resumed,
    Finished {
        summary: Summary,
        elapsed_s: f64,
    },
    Stopped {
        step: u64,
    },
    Diverged {
        step: u64,
        reason: String,
    },
    Failed {
        reason: String,
    },
}

impl Event {
    /// True for the last event a run sends.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Event::Finished { .. }
                | Event::Stopped { .. }
                | Event::Diverged { .. }
                | Event::Failed { .. }
        )
    }
}

/// An event with the run it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEvent {
    pub run: String,
    pub event: Event,
}

/// What the user can ask of a running run; the worker applies it between steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Pause,
    Resume,
    Stop,
}

/// Where runs go and how they compute.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    pub runs_dir: PathBuf,
    /// Compute threads per run (1 is fastest at the paper's sizes).
    pub compute_threads: usize,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        Self {
            runs_dir: PathBuf::from("runs"),
            compute_threads: 1,
        }
    }
}

/// A run in progress.
pub struct RunHandle {
    pub id: String,
    pub dir: PathBuf,
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl RunHandle {
    pub fn send(&self, c: Command) {
        let _ = self.commands.send(c);
    }

    pub fn pause(&self) {
        self.send(Command::Pause)
    }

    pub fn resume(&self) {
        self.send(Command::Resume)
    }

    pub fn stop(&self) {
        self.send(Command::Stop)
    }

    /// Hands each event of this run (from `rx`) to `on_event` until the channel closes or
    /// `on_event` says to end (false). Once `stopping()` holds, asks the run to stop (once: it
    /// writes its checkpoint at its next step and ends `Stopped`) and calls `on_stop`.
    pub fn follow(
        &self,
        rx: &crossbeam_channel::Receiver<RunEvent>,
        stopping: impl Fn() -> bool,
        mut on_stop: impl FnMut(),
        mut on_event: impl FnMut(RunEvent) -> bool,
    ) {
        let mut stop_sent = false;
        loop {
            if !stop_sent && stopping() {
                on_stop();
                self.stop();
                stop_sent = true;
            }
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(ev) => {
                    if !on_event(ev) {
                        break;
                    }
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            }
        }
    }

    /// True once the worker thread has ended (its files are complete).
    pub fn is_done(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Waits for the worker thread to end.
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A seed from the clock, for scenarios that do not fix one.
pub fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_nanos() as u64 ^ (std::process::id() as u64) << 32) % 1_000_000_007
}

/// Checks a scenario against its experiment (including checks across parameters).
pub fn validate(scenario: &Scenario) -> Result<&'static experiments::ExperimentDef, String> {
    let def = experiments::find(&scenario.experiment).ok_or_else(|| {
        format!(
            "unknown experiment \"{}\"; known: {}",
            scenario.experiment,
            crate::spec::Catalog::experiment_ids(&Registry).join(", ")
        )
    })?;
    (def.validate)(&scenario.params)?;
    Ok(def)
}

/// Starts `scenario` in a new thread. The run's directory and `spec.toml` exist when this
/// returns; its events arrive on `events`.
pub fn launch(
    scenario: &Scenario,
    opts: &LaunchOptions,
    events: Sender<RunEvent>,
) -> Result<RunHandle, String> {
    let def = validate(scenario)?;
    launch_fn(scenario, def.run, opts, events)
}

/// Starts `run` as the body of a run of `scenario` (which is not checked against the
/// registry): the engine's lifecycle around any experiment function.
pub fn launch_fn(
    scenario: &Scenario,
    run: experiments::RunFn,
    opts: &LaunchOptions,
    events: Sender<RunEvent>,
) -> Result<RunHandle, String> {
    let (id, dir) = store::create_run_dir(&opts.runs_dir, &scenario.experiment).map_err(|e| {
        format!(
            "cannot create a run directory in {}: {e}",
            opts.runs_dir.display()
        )
    })?;
    let scenario = resolved(scenario);
    let writer = first_files(&scenario, &id, &dir, "")?;
    start(&scenario, run, (id, dir), writer, None, opts, events)
}

/// Starts `scenario` as run `id`, in `<runs>/<id>`, a folder that must not exist yet, with
/// `spec_extra` (TOML) after the scenario in its `spec.toml`: a run whose name and sweep
/// were chosen before it started (a cluster task's, see [`crate::slurm::task`]).
pub fn launch_named(
    scenario: &Scenario,
    id: &str,
    spec_extra: &str,
    opts: &LaunchOptions,
    events: Sender<RunEvent>,
) -> Result<RunHandle, String> {
    let def = validate(scenario)?;
    let dir = store::create_named_run_dir(&opts.runs_dir, id)
        .map_err(|e| format!("cannot create run folder {id}: {e}"))?;
    let scenario = resolved(scenario);
    let writer = first_files(&scenario, id, &dir, spec_extra)?;
    start(
        &scenario,
        def.run,
        (id.to_string(), dir),
        writer,
        None,
        opts,
        events,
    )
}

/// The scenario with the seed it runs with: its own, or a fresh one.
pub(crate) fn resolved(scenario: &Scenario) -> Scenario {
    let mut scenario = scenario.clone();
    scenario.seed.get_or_insert_with(fresh_seed);
    scenario
}

/// Writes a new run's first files in `dir` (`spec.toml`, then `spec_extra`): `scenario` has
/// its seed resolved.
pub(crate) fn first_files(
    scenario: &Scenario,
    id: &str,
    dir: &Path,
    spec_extra: &str,
) -> Result<RunWriter, String> {
    RunWriter::create_with(id, dir, scenario, spec_extra)
        .map_err(|e| format!("cannot write {}: {e}", dir.display()))
}

/// Where a run continues from: a checkpoint handed to the experiment, the training time
/// before it and the latest value of each metric in the files kept.
pub(crate) struct Continuation {
    pub restore: Restore,
    pub elapsed_s: f64,
    pub latest: std::collections::BTreeMap<String, f64>,
}

/// The default time between checkpoints.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);

/// Starts the worker thread of a run whose files `writer` writes.
pub(crate) fn start(
    scenario: &Scenario,
    run: experiments::RunFn,
    (id, dir): (String, PathBuf),
    writer: RunWriter,
    cont: Option<Continuation>,
    opts: &LaunchOptions,
    events: Sender<RunEvent>,
) -> Result<RunHandle, String> {
    let scenario = resolved(scenario);
    let seed = scenario.seed.unwrap_or_default();
    let (cmd_tx, cmd_rx) = crossbeam_channel::unbounded();
    let threads = opts.compute_threads;
    let run_id = id.clone();
    let policy = CheckpointPolicy {
        every: match scenario.checkpoint_every {
            None => Some(CHECKPOINT_EVERY),
            Some(s) if s > 0.0 => Some(Duration::from_secs_f64(s)),
            Some(_) => None,
        },
        keep: scenario.keep_checkpoints.clone(),
        experiment: scenario.experiment.clone(),
        params: scenario.params.clone(),
        seed,
        threads,
        last: Instant::now(),
        written: 0,
        write_s: 0.0,
        last_write_s: 0.0,
        bytes: 0,
        warned: false,
    };
    let thread = std::thread::Builder::new()
        .name(format!("run-{id}"))
        .spawn(move || {
            let mut ctx = WorkerCtx::new(run_id, writer, events, cmd_rx);
            ctx.checkpoints = policy;
            if let Some(c) = cont {
                ctx.elapsed_before = c.elapsed_s;
                ctx.latest = c.latest;
                ctx.step = c.restore.step;
                ctx.restore = Some(c.restore);
            }
            ctx.send(Event::Started {
                experiment: scenario.experiment.clone(),
                title: scenario.title.clone(),
                params: scenario.params.clone(),
                seed,
                dir: ctx.writer.dir().to_path_buf(),
            });
            let params = scenario.params.clone();
            let result = crate::nn::with_compute_threads(threads, || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(&params, seed, &mut ctx)
                }))
            });
            ctx.end(result);
        })
        .map_err(|e| format!("cannot start a worker thread: {e}"))?;
    Ok(RunHandle {
        id,
        dir,
        commands: cmd_tx,
        thread: Some(thread),
    })
}

/// Runs `scenario` to its end in a worker thread and returns its events in order (for tests
/// and scripts that do not need to watch).
pub fn run_to_end(
    scenario: &Scenario,
    opts: &LaunchOptions,
) -> Result<(String, Vec<Event>), String> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let handle = launch(scenario, opts, tx)?;
    let id = handle.id.clone();
    let mut out = Vec::new();
    for ev in rx.iter() {
        let done = ev.event.is_terminal();
        out.push(ev.event);
        if done {
            break;
        }
    }
    handle.join();
    Ok((id, out))
}

/// The text of a caught panic.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// The runs directory the lab and `run` use unless told otherwise.
pub fn default_runs_dir() -> &'static Path {
    Path::new("runs")
}
