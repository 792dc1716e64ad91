//! A sweep in progress: which entry of the record each queued ticket and each run is, kept
//! up to date from the pool's updates and the runs' events, the record saved at each change.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::grid::{scenario_at, GridPoint};
use super::record::{
    is_training, is_waiting, mark_run, RunEntry, SweepRecord, LAUNCH_FAILED, PENDING,
};
use crate::engine::pool::{Pool, PoolUpdate, Ticket};
use crate::engine::resume::resumable;
use crate::engine::{Event, RunEvent, RunState, Status};
use crate::spec::{Catalog, Scenario};

/// Entries by state, for a progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub finished: usize,
    /// Failed, diverged, stopped, interrupted, missing or not started.
    pub failed: usize,
    pub running: usize,
    pub queued: usize,
}

impl Counts {
    pub fn ended(&self) -> usize {
        self.finished + self.failed
    }

    /// The entries of a sweep by state: queued are those not started (pending here,
    /// queued or submitted on a cluster).
    pub fn of(entries: &[RunEntry]) -> Counts {
        let mut c = Counts::default();
        for e in entries {
            match e.status.as_str() {
                "finished" => c.finished += 1,
                s if is_training(s) => c.running += 1,
                s if is_waiting(s) => c.queued += 1,
                _ => c.failed += 1,
            }
        }
        c
    }
}

pub struct SweepRun {
    pub record: SweepRecord,
    runs_dir: PathBuf,
    base: Scenario,
    points: Vec<GridPoint>,
    tickets: HashMap<Ticket, usize>,
    by_run: HashMap<String, usize>,
    /// Queued entries that continue their stopped run in its folder (its spec already has
    /// its sweep point).
    continuing: HashSet<Ticket>,
    /// Whether [`SweepRun::submit`] continues an entry's stopped run from its checkpoint
    /// rather than training the entry again in a new folder.
    resume_stopped: bool,
    /// A record that could not be saved: the first error, reported once by the caller.
    pub save_error: Option<String>,
}

impl SweepRun {
    /// Reads back the base scenario and every entry's point (checked again by the
    /// experiment's definitions).
    pub fn new(
        record: SweepRecord,
        runs_dir: &Path,
        catalog: &dyn Catalog,
    ) -> Result<SweepRun, String> {
        let base = record.base(catalog)?;
        let points = record
            .runs
            .iter()
            .map(|e| record.point_of(e, catalog))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SweepRun {
            record,
            runs_dir: runs_dir.to_path_buf(),
            base,
            points,
            tickets: HashMap::new(),
            by_run: HashMap::new(),
            continuing: HashSet::new(),
            resume_stopped: false,
            save_error: None,
        })
    }

    /// Makes [`SweepRun::submit`] continue each entry whose run was stopped or cut off
    /// (`engine::resume::resumable`) from that run's last checkpoint, in the run's own
    /// folder (from step 0 there where it has none), instead of a new run from step 0.
    pub fn resuming_stopped(mut self) -> SweepRun {
        self.resume_stopped = true;
        self
    }

    /// Queues every entry that is not done (an earlier run of it is kept in `earlier`; with
    /// [`SweepRun::resuming_stopped`], a stopped run of it continues instead).
    /// Returns how many were queued.
    pub fn submit(&mut self, pool: &mut Pool) -> usize {
        self.submit_with(pool, |_, _| {})
    }

    /// [`SweepRun::submit`], telling `queued` each run's ticket and scenario as it goes to
    /// the pool (the lab adds a row for it).
    pub fn submit_with(
        &mut self,
        pool: &mut Pool,
        mut queued: impl FnMut(Ticket, &Scenario),
    ) -> usize {
        let mut n = 0;
        for (i, e) in self.record.runs.iter_mut().enumerate() {
            if e.is_done() {
                continue;
            }
            let stopped = e
                .run
                .as_ref()
                .map(|r| self.runs_dir.join(r))
                .filter(|dir| self.resume_stopped && resumable(dir));
            if let Some(dir) = stopped {
                e.status = PENDING.into();
                e.reason = None;
                let s = scenario_at(&self.base, &self.points[i], e.seed);
                let ticket = pool.submit_resume(s.clone(), dir);
                queued(ticket, &s);
                self.tickets.insert(ticket, i);
                self.continuing.insert(ticket);
                n += 1;
                continue;
            }
            if let Some(old) = e.run.take() {
                e.earlier.push(old);
            }
            e.status = PENDING.into();
            e.reason = None;
            let s = scenario_at(&self.base, &self.points[i], e.seed);
            let ticket = pool.submit(s.clone());
            queued(ticket, &s);
            self.tickets.insert(ticket, i);
            n += 1;
        }
        self.save();
        n
    }

    pub fn save(&mut self) {
        if let Err(e) = self.record.save(&self.runs_dir) {
            self.save_error.get_or_insert(format!(
                "cannot write the sweep record {}: {e}",
                self.record.id
            ));
        }
    }

    /// The entry index and grid point of run `id`, if it belongs to this sweep.
    pub fn point_of_run(&self, id: &str) -> Option<(usize, &GridPoint)> {
        self.by_run.get(id).map(|&i| (i, &self.points[i]))
    }

    /// Applies a pool update; returns a line worth telling (a run that could not start).
    pub fn on_update(&mut self, u: &PoolUpdate) -> Option<String> {
        match u {
            PoolUpdate::Launched { ticket, id } => {
                let i = self.tickets.remove(ticket)?;
                self.by_run.insert(id.clone(), i);
                let e = &mut self.record.runs[i];
                e.run = Some(id.clone());
                e.status = Status::Running.label().into();
                let marked = if self.continuing.remove(ticket) {
                    Ok(())
                } else {
                    mark_run(&self.runs_dir.join(id), &self.record.id, &self.points[i])
                };
                self.save();
                marked
                    .err()
                    .map(|err| format!("{id}: cannot add the sweep point to spec.toml: {err}"))
            }
            PoolUpdate::LaunchFailed { ticket, reason } => {
                let i = self.tickets.remove(ticket)?;
                self.continuing.remove(ticket);
                let e = &mut self.record.runs[i];
                e.status = LAUNCH_FAILED.into();
                e.reason = Some(reason.clone());
                self.save();
                Some(format!("a run could not start: {reason}"))
            }
            PoolUpdate::Ended { id } => {
                let &i = self.by_run.get(id)?;
                if self.record.runs[i].status == Status::Running.label() {
                    // its last event was not seen: read how it ended from its files
                    let status = RunState::load_summary(&self.runs_dir.join(id))
                        .map(|s| s.status.label().to_string())
                        .unwrap_or_else(|_| super::record::MISSING.into());
                    self.record.runs[i].status = status;
                    self.save();
                }
                None
            }
        }
    }

    /// Applies a run's event (only the last one matters here).
    pub fn on_event(&mut self, ev: &RunEvent) {
        let status = match &ev.event {
            Event::Finished { .. } => Status::Finished,
            Event::Stopped { .. } => Status::Stopped,
            Event::Diverged { .. } => Status::Diverged,
            Event::Failed { .. } => Status::Failed,
            _ => return,
        };
        if let Some(&i) = self.by_run.get(&ev.run) {
            let e = &mut self.record.runs[i];
            e.status = status.label().into();
            if let Event::Failed { reason } | Event::Diverged { reason, .. } = &ev.event {
                e.reason = Some(reason.clone());
            }
            self.save();
        }
    }

    /// The queued tickets the pool dropped (a stop before they started) go back to pending.
    pub fn dropped(&mut self, tickets: &[Ticket]) {
        for t in tickets {
            self.continuing.remove(t);
            if let Some(i) = self.tickets.remove(t) {
                self.record.runs[i].status = PENDING.into();
            }
        }
        self.save();
    }

    pub fn counts(&self) -> Counts {
        Counts::of(&self.record.runs)
    }

    /// True while a run of the sweep waits in the pool's queue or trains.
    pub fn has_work(&self) -> bool {
        !self.tickets.is_empty()
            || self
                .record
                .runs
                .iter()
                .any(|e| e.status == "running" || e.status == "paused")
    }

    /// True when every entry has ended one way or another.
    pub fn is_over(&self) -> bool {
        let c = self.counts();
        c.running == 0 && c.queued == 0
    }
}
