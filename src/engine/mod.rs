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

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::experiments::ctx::{check_loss, Ctx, Figure, Halt, Restore, Summary};
use crate::experiments::{self, Registry};
use crate::spec::{Params, Scenario};

pub use owner::Owner;
pub use series::{Point, Series};
pub use state::{RunState, Status};
pub use store::{EndRecord, RunWriter, EXPORTS_DIR, SWEEPS_DIR};

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

const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// When a run writes checkpoints, and what they cost so far.
struct CheckpointPolicy {
    /// Time between checkpoints; `None`: only when the run stops or pauses.
    every: Option<Duration>,
    /// Steps whose checkpoints are kept.
    keep: Vec<u64>,
    experiment: String,
    params: Params,
    seed: u64,
    threads: usize,
    last: Instant,
    written: u64,
    write_s: f64,
    last_write_s: f64,
    bytes: u64,
    warned: bool,
}

/// Timed checkpoints are at least this many times their last write's time apart.
const CHECKPOINT_SHARE_INV: f64 = 100.0;

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            every: Some(CHECKPOINT_EVERY),
            keep: Vec::new(),
            experiment: String::new(),
            params: Params::default(),
            seed: 0,
            threads: 1,
            last: Instant::now(),
            written: 0,
            write_s: 0.0,
            last_write_s: 0.0,
            bytes: 0,
            warned: false,
        }
    }
}

/// The worker's side of a run: implements [`Ctx`] for the experiment.
struct WorkerCtx {
    run: String,
    writer: RunWriter,
    events: Sender<RunEvent>,
    commands: Receiver<Command>,
    started: Instant,
    paused_for: Duration,
    step: u64,
    total: u64,
    last_progress: (Instant, u64),
    pending: Option<Halt>,
    latest: std::collections::BTreeMap<String, f64>,
    reported_write_error: bool,
    checkpoints: CheckpointPolicy,
    /// The checkpoint this run continues from, until the experiment asks for it.
    restore: Option<Restore>,
    /// Training time before the checkpoint a resumed run continues from.
    elapsed_before: f64,
}

impl WorkerCtx {
    fn new(
        run: String,
        writer: RunWriter,
        events: Sender<RunEvent>,
        commands: Receiver<Command>,
    ) -> Self {
        let now = Instant::now();
        Self {
            run,
            writer,
            events,
            commands,
            started: now,
            paused_for: Duration::ZERO,
            step: 0,
            total: 0,
            last_progress: (now, 0),
            pending: None,
            latest: Default::default(),
            reported_write_error: false,
            checkpoints: CheckpointPolicy::default(),
            restore: None,
            elapsed_before: 0.0,
        }
    }

    fn send(&self, event: Event) {
        // the receiver may be gone (a script that stopped listening): the run goes on
        let _ = self.events.send(RunEvent {
            run: self.run.clone(),
            event,
        });
    }

    fn progress(&mut self, force: bool) {
        let (t, s) = self.last_progress;
        let dt = t.elapsed();
        if !force && dt < PROGRESS_EVERY {
            return;
        }
        let rate = if dt.as_secs_f64() > 0.0 {
            (self.step.saturating_sub(s)) as f64 / dt.as_secs_f64()
        } else {
            0.0
        };
        self.send(Event::Progress {
            step: self.step,
            total: self.total,
            steps_per_sec: rate,
        });
        self.last_progress = (Instant::now(), self.step);
        self.writer.maybe_flush();
        if let (Some(e), false) = (&self.writer.error, self.reported_write_error) {
            let msg = format!("warning: {e}; the run goes on but its files are incomplete");
            self.reported_write_error = true;
            self.send(Event::Log(msg));
        }
    }

    /// The commands waiting, in order.
    fn waiting_commands(&mut self) -> Vec<Command> {
        let mut out = Vec::new();
        while let Ok(c) = self.commands.try_recv() {
            out.push(c);
        }
        out
    }

    /// Applies pending commands; blocks while paused. Returns true if asked to stop.
    fn poll_commands(&mut self) -> bool {
        let waiting = self.waiting_commands();
        self.apply_commands(waiting)
    }

    /// Applies `waiting`, then the commands that come after; blocks while paused. Returns
    /// true if asked to stop.
    fn apply_commands(&mut self, waiting: Vec<Command>) -> bool {
        let mut waiting = waiting.into_iter();
        loop {
            let next = match waiting.next() {
                Some(c) => Ok(c),
                None => self.commands.try_recv(),
            };
            match next {
                Ok(Command::Stop) => return true,
                Ok(Command::Pause) => {
                    self.progress(true);
                    self.writer.flush();
                    self.send(Event::Paused);
                    let since = Instant::now();
                    loop {
                        match self.commands.recv() {
                            Ok(Command::Resume) => break,
                            Ok(Command::Stop) | Err(_) => return true,
                            Ok(Command::Pause) => {}
                        }
                    }
                    self.paused_for += since.elapsed();
                    self.last_progress = (Instant::now(), self.step);
                    self.send(Event::Resumed);
                }
                Ok(Command::Resume) => {}
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn elapsed_s(&self) -> f64 {
        self.elapsed_before
            + (self.started.elapsed() - self.paused_for.min(self.started.elapsed())).as_secs_f64()
    }

    /// Writes a checkpoint of the state `save` gives at `step` (kept apart when `keep`). A
    /// failure is logged once and training goes on.
    fn write_checkpoint(
        &mut self,
        step: u64,
        keep: bool,
        save: &mut dyn FnMut() -> Result<Vec<u8>, Halt>,
    ) {
        let t0 = Instant::now();
        let written = save().map_err(|h| h.to_string()).and_then(|state| {
            let files = self.writer.flushed_lens().map_err(|e| e.to_string())?;
            let c = &self.checkpoints;
            let header = checkpoint::Header {
                version: env!("CARGO_PKG_VERSION").to_string(),
                experiment: c.experiment.clone(),
                params: c.params.clone(),
                seed: c.seed,
                step,
                total: self.total,
                elapsed_s: self.elapsed_s(),
                threads: c.threads,
                files,
            };
            checkpoint::write(self.writer.dir(), &header, &state, keep).map_err(|e| e.to_string())
        });
        let c = &mut self.checkpoints;
        c.last = Instant::now();
        match written {
            Ok(bytes) => {
                c.written += 1;
                c.last_write_s = t0.elapsed().as_secs_f64();
                c.write_s += c.last_write_s;
                c.bytes = bytes;
            }
            Err(e) if !c.warned => {
                c.warned = true;
                self.log(&format!(
                    "warning: no checkpoint at step {step}: {e}; the run goes on"
                ));
            }
            Err(_) => {}
        }
    }

    fn end(&mut self, result: std::thread::Result<Result<Summary, Halt>>) {
        self.progress(true);
        let c = &self.checkpoints;
        if c.written > 0 {
            let line = format!(
                "checkpoints: {} written in {:.3} s in all, the last {} bytes",
                c.written, c.write_s, c.bytes
            );
            self.writer.log(&line);
        }
        let last_values = || {
            let mut s = Summary::default();
            for (k, v) in &self.latest {
                s.set(k, *v);
            }
            s
        };
        let (status, reason, summary, event) = match result {
            Ok(Ok(summary)) => (
                "finished",
                None,
                summary.clone(),
                Event::Finished {
                    summary,
                    elapsed_s: self.elapsed_s(),
                },
            ),
            Ok(Err(Halt::Stopped { step })) => {
                ("stopped", None, last_values(), Event::Stopped { step })
            }
            Ok(Err(Halt::Diverged { step, reason })) => (
                "diverged",
                Some(format!("at step {step}: {reason}")),
                last_values(),
                Event::Diverged { step, reason },
            ),
            Ok(Err(Halt::Failed(reason))) => (
                "failed",
                Some(reason.clone()),
                last_values(),
                Event::Failed { reason },
            ),
            Err(panic) => {
                let reason = format!("the experiment panicked: {}", panic_message(panic.as_ref()));
                (
                    "failed",
                    Some(reason.clone()),
                    last_values(),
                    Event::Failed { reason },
                )
            }
        };
        if let Some(r) = &reason {
            self.writer.log(&format!("{status}: {r}"));
        }
        self.writer.finish(&EndRecord {
            status,
            step: self.step,
            total: self.total,
            elapsed_s: self.elapsed_s(),
            reason,
            summary,
        });
        self.send(event);
    }
}

impl Ctx for WorkerCtx {
    fn metric(&mut self, step: u64, name: &str, value: f64) {
        if !value.is_finite() && name.contains("loss") && self.pending.is_none() {
            self.pending = Some(Halt::Diverged {
                step,
                reason: format!("{name} is {value}"),
            });
        }
        self.latest.insert(name.to_string(), value);
        self.writer.metric(step, name, value);
        self.send(Event::Metric {
            step,
            name: name.to_string(),
            value,
        });
    }

    fn step(&mut self, step: u64, total: u64, loss: f64) -> Result<(), Halt> {
        self.step = step;
        self.total = total;
        if let Some(h) = self.pending.take() {
            return Err(h);
        }
        check_loss(step, loss)?;
        if self.poll_commands() {
            return Err(Halt::Stopped { step });
        }
        self.progress(step == total);
        Ok(())
    }

    fn log(&mut self, line: &str) {
        self.writer.log(line);
        self.send(Event::Log(line.to_string()));
    }

    fn figure(&mut self, step: u64, figure: Figure) {
        self.writer.figure(step, &figure);
        self.send(Event::Figure { step, figure });
    }

    fn step_saving(
        &mut self,
        step: u64,
        total: u64,
        loss: f64,
        save: &mut dyn FnMut() -> Result<Vec<u8>, Halt>,
    ) -> Result<(), Halt> {
        self.step = step;
        self.total = total;
        if let Some(h) = self.pending.take() {
            return Err(h);
        }
        check_loss(step, loss)?;
        let waiting = self.waiting_commands();
        let halting = waiting
            .iter()
            .any(|c| matches!(c, Command::Stop | Command::Pause));
        let keep = self.checkpoints.keep.contains(&step);
        let due = self.checkpoints.every.is_some_and(|e| {
            // never closer than 100 times the last write took: at most 1% of training time
            let floor =
                Duration::from_secs_f64(CHECKPOINT_SHARE_INV * self.checkpoints.last_write_s);
            self.checkpoints.last.elapsed() >= e.max(floor)
        });
        if halting || keep || due {
            self.write_checkpoint(step, keep, save);
        }
        if self.apply_commands(waiting) {
            return Err(Halt::Stopped { step });
        }
        self.progress(step == total);
        Ok(())
    }

    fn restore(&mut self) -> Option<Restore> {
        self.restore.take()
    }
}

/// The runs directory the lab and `run` use unless told otherwise.
pub fn default_runs_dir() -> &'static Path {
    Path::new("runs")
}
