//! The worker's side of a run: [`WorkerCtx`] implements [`Ctx`] for the experiment on the
//! run's thread (events to the owner, commands from it, metrics to the run's files), and
//! [`CheckpointPolicy`] says when it writes checkpoints.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::*;

const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// When a run writes checkpoints, and what they cost so far.
pub(super) struct CheckpointPolicy {
    /// Time between checkpoints; `None`: only when the run stops or pauses.
    pub(super) every: Option<Duration>,
    /// Steps whose checkpoints are kept.
    pub(super) keep: Vec<u64>,
    pub(super) experiment: String,
    pub(super) params: Params,
    pub(super) seed: u64,
    pub(super) threads: usize,
    pub(super) last: Instant,
    pub(super) written: u64,
    pub(super) write_s: f64,
    pub(super) last_write_s: f64,
    pub(super) bytes: u64,
    pub(super) warned: bool,
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
pub(super) struct WorkerCtx {
    pub(super) run: String,
    pub(super) writer: RunWriter,
    pub(super) events: Sender<RunEvent>,
    pub(super) commands: Receiver<Command>,
    pub(super) started: Instant,
    pub(super) paused_for: Duration,
    pub(super) step: u64,
    pub(super) total: u64,
    pub(super) last_progress: (Instant, u64),
    pub(super) pending: Option<Halt>,
    pub(super) latest: std::collections::BTreeMap<String, f64>,
    pub(super) reported_write_error: bool,
    pub(super) checkpoints: CheckpointPolicy,
    /// The checkpoint this run continues from, until the experiment asks for it.
    pub(super) restore: Option<Restore>,
    /// Training time before the checkpoint a resumed run continues from.
    pub(super) elapsed_before: f64,
}

impl WorkerCtx {
    pub(super) fn new(
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

    pub(super) fn send(&self, event: Event) {
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

    pub(super) fn end(&mut self, result: std::thread::Result<Result<Summary, Halt>>) {
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
