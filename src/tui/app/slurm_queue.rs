//! Sweeps handed to Slurm, in the lab: their runs show as they appear in the runs folder
//! (runs of another process); what has not started yet shows on the sweep's row with
//! Slurm's state and reason, read with `squeue` every few seconds while the sweep has work
//! in the queue; `x` on a run of such a sweep, or on the sweep, calls `scancel`.

use std::time::{Duration, Instant};

use super::App;
use crate::slurm::{self, TaskState};
use crate::sweep::record::SweepRecord;
use crate::tui::model::run_tree::Node;

/// How often the queue of a Slurm sweep is asked.
pub const QUEUE_EVERY: Duration = Duration::from_secs(5);

/// What the queue says of a sweep's tasks: `3 queued · PENDING (Resources)`, `1 task
/// running`; `None` once none is in the queue.
pub fn queue_note(states: &[TaskState]) -> Option<String> {
    let pending: Vec<&TaskState> = states.iter().filter(|s| s.is_pending()).collect();
    let active = states.iter().filter(|s| s.is_active()).count();
    match (pending.first(), active) {
        (_, 0) => None,
        (Some(first), _) => Some(format!(
            "Slurm: {} queued · {}",
            pending.len(),
            first.describe()
        )),
        (None, n) => Some(format!("Slurm: {n} task(s) running")),
    }
}

impl App {
    /// Reads the queue of the Slurm sweeps that still have work there (at most every
    /// [`QUEUE_EVERY`]). Returns true if a note changed.
    pub fn follow_slurm(&mut self) -> bool {
        if self.next_queue.is_some_and(|t| Instant::now() < t) {
            return false;
        }
        self.next_queue = Some(Instant::now() + QUEUE_EVERY);
        let mut changed = false;
        let ids: Vec<String> = self
            .runs
            .sweeps
            .iter()
            .filter(|(_, i)| !i.slurm_jobs.is_empty() && i.queue_open)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            let Some(info) = self.runs.sweeps.get(&id) else {
                continue;
            };
            let mut states = Vec::new();
            let mut error = None;
            for job in &info.slurm_jobs {
                match slurm::queue_states(job) {
                    Ok(s) => states.extend(s),
                    Err(e) => error = Some(e),
                }
            }
            let note = match error {
                Some(e) => Some(format!("Slurm: {e}")),
                None => queue_note(&states),
            };
            if let Some(info) = self.runs.sweeps.get_mut(&id) {
                changed |= info.queue != note;
                // a sweep whose jobs left the queue is not asked again
                info.queue_open = note.is_some();
                info.queue = note;
            }
        }
        changed
    }

    /// `x` on a row that holds runs of a Slurm sweep and none of this lab's: cancels the
    /// run's array task, or every job of the sweep. Returns false when the row is not one.
    pub(crate) fn cancel_on_slurm(&mut self, node: &Node) -> bool {
        let sweep = match node {
            Node::Run(n) => self.runs.get(*n).and_then(|r| r.state.sweep.clone()),
            _ => self.runs.selected_sweep(),
        };
        let Some(id) = sweep.filter(|id| {
            self.runs
                .sweeps
                .get(id)
                .is_some_and(|i| !i.slurm_jobs.is_empty())
        }) else {
            return false;
        };
        let runs_dir = self.settings.runs_dir.clone();
        let result = match node {
            Node::Run(n) => {
                let run = self
                    .runs
                    .get(*n)
                    .map(|r| r.state.id.clone())
                    .unwrap_or_default();
                slurm::sweep::cancel_run(&runs_dir, &run).map(|task| format!("task {task}"))
            }
            _ => SweepRecord::load(&runs_dir, &id).and_then(|mut rec| {
                let done = slurm::sweep::cancel(&mut rec, None)?;
                rec.save(&runs_dir)
                    .map_err(|e| format!("cancelled, but cannot write the record: {e}"))?;
                Ok(format!("job {}", done.join(", ")))
            }),
        };
        match result {
            Ok(what) => {
                self.say(format!(
                    "scancel {what} (sweep {id}); its runs end as Slurm stops them"
                ));
                self.next_queue = None;
            }
            Err(e) => self.error(format!("cannot cancel on Slurm: {e}")),
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(task: usize, state: &str, reason: Option<&str>) -> TaskState {
        TaskState {
            task,
            state: state.into(),
            reason: reason.map(str::to_string),
        }
    }

    #[test]
    fn the_note_counts_what_waits_and_says_why() {
        let s = [
            state(0, "RUNNING", None),
            state(1, "PENDING", Some("JobArrayTaskLimit")),
            state(2, "PENDING", Some("JobArrayTaskLimit")),
        ];
        assert_eq!(
            queue_note(&s).as_deref(),
            Some("Slurm: 2 queued · PENDING (JobArrayTaskLimit)")
        );
        assert_eq!(
            queue_note(&s[..1]).as_deref(),
            Some("Slurm: 1 task(s) running")
        );
        assert_eq!(queue_note(&[]), None);
        assert_eq!(queue_note(&[state(0, "TIMEOUT", None)]), None);
    }
}
