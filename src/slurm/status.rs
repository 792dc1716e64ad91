//! A Slurm sweep's entries as they stand: `squeue` for each job first, then the runs'
//! files, then each task's log where Slurm may have ended it.

use std::path::{Path, PathBuf};

use super::job::log_path;
use super::queue::{self, ending_in_log, Ending, TaskState};
use super::sweep::slurm_dir;
use crate::engine::RunState;
use crate::sweep::record::{RunEntry, SweepRecord, MISSING, QUEUED, SUBMITTED};

/// One job's tasks as `squeue` gave them (or why it could not).
#[derive(Debug, Clone)]
pub struct JobQueue {
    pub job: String,
    pub tasks: Result<Vec<TaskState>, String>,
}

/// A Slurm sweep's state: the runs' states (`None` for entries with no run folder and for
/// those Slurm ended, whose status and reason say why) and each job's queue.
#[derive(Debug, Clone)]
pub struct Refreshed {
    pub states: Vec<Option<RunState>>,
    pub queues: Vec<JobQueue>,
}

impl Refreshed {
    /// True while a task of a job is waiting or running.
    pub fn any_active(&self) -> bool {
        self.queues.iter().any(|q| {
            q.tasks
                .as_ref()
                .is_ok_and(|t| t.iter().any(|s| s.is_active()))
        })
    }

    /// The first `squeue` failure, if any.
    pub fn queue_error(&self) -> Option<&str> {
        self.queues
            .iter()
            .find_map(|q| q.tasks.as_ref().err().map(|e| e.as_str()))
    }
}

/// What is known of an entry's array task.
struct TaskView<'a> {
    job: &'a str,
    task: usize,
    state: Option<&'a TaskState>,
    queue_error: Option<&'a str>,
    ending: Option<Ending>,
    cancelled: bool,
    log: PathBuf,
}

/// The status and reason of an entry whose run's files read `files`, when Slurm says
/// more: `None` keeps what the files say (finished, diverged, failed, running).
fn slurm_status(files: &str, t: &TaskView) -> Option<(String, String)> {
    let ended_by_slurm = || -> Option<(String, String)> {
        if let Some(e) = &t.ending {
            return Some((e.label.clone(), e.line.clone()));
        }
        if let Some(label) = t.state.and_then(TaskState::end_label) {
            let s = t.state.map(TaskState::describe).unwrap_or_default();
            return Some((
                label.into(),
                format!("Slurm: task {}_{}: {s}", t.job, t.task),
            ));
        }
        t.cancelled.then(|| {
            (
                "cancelled".into(),
                "cancelled with fail-lab sweep --cancel".into(),
            )
        })
    };
    match files {
        "stopped" | "interrupted" => ended_by_slurm(),
        s if s == MISSING => {
            if let Some(st) = t.state.filter(|s| s.is_active()) {
                let why = if st.is_pending() {
                    format!("Slurm: {}", st.describe())
                } else {
                    format!(
                        "Slurm: task {}_{} is {} and starts it after the runs before it",
                        t.job, t.task, st.state
                    )
                };
                return Some((QUEUED.into(), why));
            }
            if let Some(ended) = ended_by_slurm() {
                return Some(ended);
            }
            if let Some(e) = t.queue_error {
                return Some((SUBMITTED.into(), format!("state unknown: {e}")));
            }
            let why = if t.log.exists() {
                format!(
                    "its task ended without starting it; see {}",
                    t.log.display()
                )
            } else {
                format!(
                    "task {}_{} left Slurm's queue without starting it",
                    t.job, t.task
                )
            };
            Some(("not run".into(), why))
        }
        _ => None,
    }
}

/// Brings a Slurm sweep's entries up to date: `squeue` for each job first, then the runs'
/// files, then each task's log where Slurm may have ended it. Entries of a sweep that was
/// never submitted read as [`SweepRecord::refresh`] gives them.
pub fn refresh(rec: &mut SweepRecord, runs_dir: &Path) -> Refreshed {
    refresh_only(rec, runs_dir, |_, _| true)
}

/// [`refresh`] of the entries `pick` chooses (by index; a follower reads only those that
/// have not ended); the others keep their status and have no state.
pub fn refresh_only(
    rec: &mut SweepRecord,
    runs_dir: &Path,
    pick: impl Fn(usize, &RunEntry) -> bool,
) -> Refreshed {
    let queues: Vec<JobQueue> = rec
        .slurm
        .iter()
        .flat_map(|s| &s.jobs)
        .map(|j| JobQueue {
            job: j.id.clone(),
            tasks: queue::queue_states(&j.id),
        })
        .collect();
    let mut states = rec.refresh_only(runs_dir, &pick);
    let Some(slurm) = rec.slurm.clone() else {
        return Refreshed { states, queues };
    };
    let dir = slurm_dir(runs_dir, &rec.id);
    let index = slurm.task_index();
    for (i, e) in rec.runs.iter_mut().enumerate() {
        let maybe_slurms = matches!(e.status.as_str(), "stopped" | "interrupted" | MISSING);
        if !maybe_slurms || !pick(i, e) {
            continue;
        }
        let Some(&(job, task)) = e.run.as_deref().and_then(|r| index.get(r)) else {
            continue;
        };
        let q = queues.iter().find(|q| q.job == job.id);
        let log = log_path(&dir, &job.id, task);
        let view = TaskView {
            job: &job.id,
            task,
            state: q
                .and_then(|q| q.tasks.as_ref().ok())
                .and_then(|ts| ts.iter().find(|s| s.task == task)),
            queue_error: q.and_then(|q| q.tasks.as_ref().err().map(|e| e.as_str())),
            ending: ending_in_log(&log),
            cancelled: job.cancelled.contains(&task),
            log,
        };
        if let Some((status, reason)) = slurm_status(&e.status, &view) {
            e.status = status;
            e.reason = Some(reason);
            states[i] = None;
        }
    }
    Refreshed { states, queues }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(state: Option<&TaskState>, ending: Option<Ending>) -> TaskView<'_> {
        TaskView {
            job: "7",
            task: 1,
            state,
            queue_error: None,
            ending,
            cancelled: false,
            log: PathBuf::from("/nonexistent/7_1.out"),
        }
    }

    fn ts(state: &str, reason: Option<&str>) -> TaskState {
        TaskState {
            task: 1,
            state: state.into(),
            reason: reason.map(str::to_string),
        }
    }

    #[test]
    fn an_entry_reads_as_slurm_says_when_its_files_do_not() {
        let pending = ts("PENDING", Some("JobArrayTaskLimit"));
        let (s, why) = slurm_status(MISSING, &view(Some(&pending), None)).unwrap();
        assert_eq!(
            (s.as_str(), why.as_str()),
            ("queued", "Slurm: PENDING (JobArrayTaskLimit)")
        );
        let running = ts("RUNNING", None);
        let (s, why) = slurm_status(MISSING, &view(Some(&running), None)).unwrap();
        assert_eq!(s, "queued");
        assert!(why.contains("task 7_1 is RUNNING"), "{why}");
        let timeout = ts("TIMEOUT", Some("TimeLimit"));
        let (s, _) = slurm_status("stopped", &view(Some(&timeout), None)).unwrap();
        assert_eq!(s, "time limit");
        let ending = Ending {
            label: "cancelled".into(),
            line: "*** JOB 8 ON vm CANCELLED AT x ***".into(),
        };
        let (s, why) = slurm_status("interrupted", &view(None, Some(ending))).unwrap();
        assert_eq!(
            (s.as_str(), why.as_str()),
            ("cancelled", "*** JOB 8 ON vm CANCELLED AT x ***")
        );
        for kept in ["finished", "diverged", "failed", "running"] {
            assert_eq!(
                slurm_status(kept, &view(Some(&timeout), None)),
                None,
                "{kept}"
            );
        }
        assert_eq!(
            slurm_status("stopped", &view(None, None)),
            None,
            "stopped by hand"
        );
        let (s, why) = slurm_status(MISSING, &view(None, None)).unwrap();
        assert_eq!(s, "not run");
        assert!(why.contains("left Slurm's queue"), "{why}");
        let mut unknown = view(None, None);
        unknown.queue_error = Some("squeue: not found");
        assert_eq!(slurm_status(MISSING, &unknown).unwrap().0, "submitted");
    }
}
