//! Runs on a Slurm cluster: a list of `fail-lab` command lines submitted as one job array,
//! followed through the runs folder they write and through `squeue`, cancelled with
//! `scancel`. No UI here; `fail-lab sweep --slurm` (`src/cli/sweep/`) and the lab build on it.
//!
//! - [`job`]: [`SbatchOptions`] (what maps to sbatch's options), [`JobArray`] (the tasks
//!   file, one line of arguments of the binary per run, `per_task` lines per array task, and
//!   the job script), [`job::sbatch`];
//! - [`task`]: a run planned before it starts, a scenario file whose `[task]` table names the
//!   run folder `fail-lab run FILE --out DIR` writes, so the folder of every run is known
//!   when the job is submitted;
//! - [`queue`]: [`queue_states`] (the tasks `squeue` shows, with state and reason),
//!   [`cancel`], and how Slurm ended a task, from the log slurmstepd writes in;
//! - [`sweep`]: a sweep on Slurm: its record ([`SlurmRecord`], in `sweep.json`), a
//!   submission of what is not done, cancelling;
//! - [`status`]: a Slurm sweep's entries as they stand (the runs' files, the queue, the
//!   tasks' logs).
//!
//! # For the lab
//!
//! - `queue_states(job_id) -> Result<Vec<TaskState>, String>`: each task's index, state and
//!   reason (`PENDING (JobArrayTaskLimit)`); an empty list once Slurm forgot the job.
//! - `cancel(job_id, Some(task))` stops one array task, `cancel(job_id, None)` the job;
//!   [`sweep::cancel`] does it for a sweep's record and notes it there, and
//!   `sweep::cancel_run(runs_dir, run_id)` finds a run's task, cancels it and saves the note
//!   (the lab's stop key on a Slurm run).
//! - `sweep::locate(runs_dir, run_id) -> Option<RunTask>`: a run's sweep, job and task (also
//!   for a run whose task has not started: its folder name is in the record);
//!   `SlurmRecord::task_of_run` does the same from a loaded record.
//! - `refresh(&mut record, runs_dir) -> Refreshed`: every entry's status (`queued` with
//!   Slurm's state and reason, `time limit`, `cancelled`, `node failure`, `not run`, or the
//!   run's own) and reason in the record, the runs' states, and each job's queue.
//!
//! # Submitting other runs (not a sweep)
//!
//! Any list of runs goes the same way: write each run's scenario with
//! [`task::write_run_file`] (a fixed folder name, so the runs can be found before they
//! start), make one line per run with [`job::run_line`], and submit a [`JobArray`] of those
//! lines with [`JobArray::write`] and [`job::sbatch`]; follow the folders and
//! [`queue_states`].

pub mod job;
pub mod queue;
pub mod status;
pub mod sweep;
pub mod task;

pub use job::{JobArray, SbatchOptions};
pub use queue::{cancel, queue_states, TaskState};
pub use status::{refresh, Refreshed};
pub use sweep::{JobRecord, RunTask, SlurmRecord};

/// Runs Slurm command `program` with `args`; its stdout, or an error that says what is
/// missing or what the command printed.
pub(crate) fn run_slurm(program: &str, args: &[String]) -> Result<String, String> {
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "`{program}` was not found: Slurm's commands are needed (on a cluster, run \
                     this where sbatch and squeue work, e.g. a login node; on this machine, \
                     `scripts/local-slurm.sh start` as root sets up a single-node Slurm)"
                )
            } else {
                format!("cannot run `{program}`: {e}")
            }
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let printed: Vec<&str> = [stderr.trim(), stdout.trim()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let code = out
        .status
        .code()
        .map_or("a signal".to_string(), |c| c.to_string());
    Err(format!(
        "`{program} {}` failed (exit {code}); it printed: {}",
        args.join(" "),
        if printed.is_empty() {
            "nothing".to_string()
        } else {
            printed.join(" / ")
        }
    ))
}
