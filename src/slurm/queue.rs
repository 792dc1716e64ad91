//! What Slurm says of a job's array tasks (`squeue`, which needs no accounting store, unlike
//! `sacct`), how it ended a task (its log), and `scancel`.

use std::path::Path;

use super::run_slurm;

/// One array task as `squeue` shows it: its index, Slurm's state (`PENDING`, `RUNNING`,
/// `TIMEOUT`, ...) and the reason it waits or ended (`Resources`, `JobArrayTaskLimit`, ...;
/// `None` when Slurm gives none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    pub task: usize,
    pub state: String,
    pub reason: Option<String>,
}

impl TaskState {
    /// Waiting to start.
    pub fn is_pending(&self) -> bool {
        matches!(self.state.as_str(), "PENDING" | "REQUEUED" | "REQUEUE_HOLD")
    }

    /// Still in the queue or on a node: waiting, running or being set up or torn down.
    pub fn is_active(&self) -> bool {
        self.is_pending()
            || matches!(
                self.state.as_str(),
                "RUNNING"
                    | "CONFIGURING"
                    | "COMPLETING"
                    | "SUSPENDED"
                    | "RESIZING"
                    | "SIGNALING"
                    | "STAGE_OUT"
                    | "REQUEUE_FED"
                    | "STOPPED"
            )
    }

    /// How Slurm ended the task, as a run's status reads (`time limit`, `cancelled`, ...);
    /// `None` while it is active or when it completed.
    pub fn end_label(&self) -> Option<&'static str> {
        Some(match self.state.as_str() {
            "TIMEOUT" | "DEADLINE" => "time limit",
            "CANCELLED" => "cancelled",
            "NODE_FAIL" | "BOOT_FAIL" => "node failure",
            "PREEMPTED" => "preempted",
            "OUT_OF_MEMORY" => "out of memory",
            "FAILED" => "failed",
            _ => return None,
        })
    }

    /// `PENDING (JobArrayTaskLimit)`.
    pub fn describe(&self) -> String {
        match &self.reason {
            Some(r) => format!("{} ({r})", self.state),
            None => self.state.clone(),
        }
    }
}

/// The squeue format: array job id, task index, state, reason.
const FORMAT: &str = "%F|%K|%T|%r";

/// Reads `squeue -h -r -t all -o '%F|%K|%T|%r'` lines of job `job` (other jobs' lines and
/// a task index that is not a number are left out; a reason of `None` is no reason).
pub fn parse_squeue(job: &str, text: &str) -> Vec<TaskState> {
    let mut out: Vec<TaskState> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.trim().split('|');
            let (id, task, state) = (f.next()?, f.next()?, f.next()?);
            let reason = f.next().unwrap_or("").trim();
            if id.trim() != job {
                return None;
            }
            Some(TaskState {
                task: task.trim().parse().ok()?,
                state: state.trim().to_string(),
                reason: (!reason.is_empty() && reason != "None").then(|| reason.to_string()),
            })
        })
        .collect();
    out.sort_by_key(|t| t.task);
    out
}

/// Every array task of job `job_id` that Slurm still knows (pending and running ones, and
/// ended ones for a few minutes after: `MinJobAge`), ordered by index. A job Slurm no
/// longer knows gives an empty list; a missing or failing `squeue` an error saying so.
pub fn queue_states(job_id: &str) -> Result<Vec<TaskState>, String> {
    let args: Vec<String> = ["-h", "-r", "-t", "all", "-j", job_id, "-o", FORMAT]
        .iter()
        .map(|s| s.to_string())
        .collect();
    match run_slurm("squeue", &args) {
        Ok(text) => Ok(parse_squeue(job_id, &text)),
        Err(e) if e.contains("Invalid job id") => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// `scancel JOB` (every task of the job) or `scancel JOB_TASK` (one array task). Slurm sends
/// the running tasks SIGTERM, so a run writes its files before it ends.
pub fn cancel(job_id: &str, task: Option<usize>) -> Result<(), String> {
    let target = match task {
        Some(t) => format!("{job_id}_{t}"),
        None => job_id.to_string(),
    };
    run_slurm("scancel", &[target]).map(|_| ())
}

/// How Slurm ended a task, read from its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    /// As a run's status reads: `time limit`, `cancelled`, `node failure`, `preempted`,
    /// `out of memory`.
    pub label: String,
    /// The log's line that says so.
    pub line: String,
}

/// Finds the line slurmstepd writes when it ends a task
/// (`slurmstepd: error: *** JOB 12 ON node CANCELLED AT 2026-12-01T22:40:37 DUE TO TIME
/// LIMIT ***`), an out-of-memory kill, or the job script's own line when Slurm warned it of
/// the time limit ([`super::job::TIME_LIMIT_LINE`]); the last such line counts.
pub fn parse_ending(log: &str) -> Option<Ending> {
    log.lines().rev().find_map(|l| {
        let line = l.trim();
        if line.starts_with(super::job::TIME_LIMIT_LINE) {
            return Some(Ending {
                label: "time limit".into(),
                line: line.to_string(),
            });
        }
        if line.contains("oom_kill event") || line.contains("oom-kill event") {
            return Some(Ending {
                label: "out of memory".into(),
                line: line.to_string(),
            });
        }
        let (_, rest) = line.split_once("*** ")?;
        if !(rest.starts_with("JOB ") || rest.starts_with("STEP ")) || !rest.contains("CANCELLED") {
            return None;
        }
        let label = match rest.split_once(" DUE TO ") {
            Some((_, why)) => match why.trim_end_matches('*').trim() {
                "TIME LIMIT" => "time limit".to_string(),
                "NODE FAILURE" => "node failure".to_string(),
                "PREEMPTION" => "preempted".to_string(),
                other => other.to_lowercase(),
            },
            None => "cancelled".to_string(),
        };
        Some(Ending {
            label,
            line: line.to_string(),
        })
    })
}

/// [`parse_ending`] of the log at `path` (none when it cannot be read).
pub fn ending_in_log(path: &Path) -> Option<Ending> {
    parse_ending(&std::fs::read_to_string(path).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_lines_of_the_job_by_task() {
        let text = "7|3|PENDING|JobArrayTaskLimit\n7|1|RUNNING|None\n8|0|RUNNING|None\n\
                    7|2|TIMEOUT|TimeLimit\n7|N/A|PENDING|Priority\n";
        let t = parse_squeue("7", text);
        assert_eq!(t.len(), 3);
        assert_eq!(
            (t[0].task, t[0].state.as_str(), t[0].reason.clone()),
            (1, "RUNNING", None)
        );
        assert_eq!(t[1].end_label(), Some("time limit"));
        assert!(t[2].is_pending() && t[2].is_active());
        assert_eq!(t[2].describe(), "PENDING (JobArrayTaskLimit)");
        assert!(!t[1].is_active());
    }

    #[test]
    fn slurmstepd_lines_give_the_ending() {
        let log = "fail-lab task: line 1: run a.toml\n\
                   slurmstepd-vm: error: *** JOB 2 ON vm CANCELLED AT 2026-12-01T22:40:37 DUE TO TIME LIMIT ***\n";
        let e = parse_ending(log).unwrap();
        assert_eq!(e.label, "time limit");
        assert!(e.line.starts_with("slurmstepd-vm: error: *** JOB 2"));
        let cancelled = "slurmstepd: error: *** JOB 3 ON vm CANCELLED AT 2026-12-01T22:39:15 ***";
        assert_eq!(parse_ending(cancelled).unwrap().label, "cancelled");
        let node = "slurmstepd: error: *** JOB 4 ON n1 CANCELLED AT 2026-12-01T22:39:15 DUE TO NODE FAILURE ***";
        assert_eq!(parse_ending(node).unwrap().label, "node failure");
        assert_eq!(parse_ending("finished 20261201-e1 in 0.1 s\n"), None);
    }
}
