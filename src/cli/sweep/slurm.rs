//! `fail-lab sweep --slurm`: the sweep's runs as one Slurm job array (`--dry-run` prints its
//! script), `--cancel ID`, and a Slurm sweep's `--status` and `--resume`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::{bad, point_label, slurm_wait};
use crate::cli::args::SbatchArgs;
use crate::cli::out::json_line;
use fail_lab::engine::RunState;
use fail_lab::experiments::Registry;
use fail_lab::slurm::status::{self, Refreshed};
use fail_lab::slurm::sweep::{self as ssweep, slurm_dir, Settings};
use fail_lab::sweep::record;
use fail_lab::sweep::SweepRecord;

#[derive(Args, Default)]
pub struct SlurmArgs {
    /// Submit the sweep to Slurm as one job array and return (the runs train on the
    /// cluster's nodes into the runs folder, which they must share); see docs/CLUSTER.md
    #[arg(long)]
    pub slurm: bool,
    #[command(flatten)]
    pub sbatch: SbatchArgs,
    /// Cancel sweep ID's Slurm jobs: running runs write their files and end, the others do
    /// not start; `--resume ID` submits them again
    #[arg(long, value_name = "ID", conflicts_with_all = ["file", "grid", "seeds", "set", "status", "resume", "slurm"])]
    pub cancel: Option<String>,
    /// With --cancel: only the array task that runs run RUN (with --runs-per-task, the
    /// task's other runs too)
    #[arg(long = "run", value_name = "RUN", requires = "cancel")]
    pub cancel_run: Option<String>,
}

impl SlurmArgs {
    /// Refuses Slurm options without `--slurm` (a resumed sweep may be a Slurm sweep: its
    /// record says, later) and the local pool's `--jobs` with it.
    pub fn check(&self, jobs: bool, resume: bool) -> Result<(), String> {
        if self.slurm && jobs {
            return Err(
                "--jobs sizes the local pool; a Slurm sweep runs --max-parallel \
                        array tasks at once"
                    .into(),
            );
        }
        if let (false, false, Some(name)) =
            (self.slurm, resume, self.sbatch.options_given().first())
        {
            return Err(format!("{name} is an option of --slurm; add --slurm"));
        }
        if self.sbatch.runs_per_task == Some(0) {
            return Err("--runs-per-task: got 0, allowed: at least 1 run per array task".into());
        }
        self.sbatch.options().check()
    }

    /// The submission's settings: the command line's, the rest from an earlier submission
    /// of the sweep, then the defaults (this binary, one run per task).
    fn settings(&self, threads: &str, rec: &SweepRecord) -> Result<Settings, String> {
        let earlier = rec.slurm.as_ref();
        let binary = match (&self.sbatch.binary, earlier) {
            (Some(b), _) => std::path::absolute(b).map_err(|e| format!("--binary: {e}"))?,
            (None, Some(s)) => PathBuf::from(&s.binary),
            (None, None) => std::env::current_exe()
                .map_err(|e| format!("cannot tell where this fail-lab is ({e}); give --binary"))?,
        };
        if !binary.is_file() {
            eprintln!(
                "warning: {} is not a file here; the tasks run it on the nodes",
                binary.display()
            );
        }
        Ok(Settings {
            binary,
            threads: threads.to_string(),
            runs_per_task: self
                .sbatch
                .runs_per_task
                .or(earlier.map(|s| s.runs_per_task))
                .unwrap_or(1),
            options: match earlier {
                Some(s) => self.sbatch.options().or(&s.options),
                None => self.sbatch.options(),
            },
        })
    }
}

/// Submits what `rec` has not done as one job array (a new sweep when `fresh`: its folder
/// goes when nothing was submitted), then returns or, with `--wait`, follows it.
pub fn submit(
    mut rec: SweepRecord,
    args: &SlurmArgs,
    threads: &str,
    out: &Path,
    show: super::Show,
    fresh: bool,
) -> ExitCode {
    let forget = |rec: &SweepRecord| {
        if fresh {
            let _ = std::fs::remove_dir_all(record::sweep_dir(out, &rec.id));
        }
    };
    let prepared = std::path::absolute(out)
        .map_err(|e| format!("{}: {e}", out.display()))
        .and_then(|abs| {
            let settings = args.settings(threads, &rec)?;
            ssweep::prepare(&rec, &abs, &settings, &Registry).map(|p| (p, abs))
        });
    let (prepared, abs) = match prepared {
        Ok(p) => p,
        Err(e) => {
            forget(&rec);
            return bad(e);
        }
    };
    if args.sbatch.dry_run {
        print_dry_run(&prepared);
        forget(&rec);
        return ExitCode::SUCCESS;
    }
    let (runs, tasks, per) = (
        prepared.run_count(),
        prepared.job.task_count(),
        prepared.job.per_task,
    );
    let job = match ssweep::submit(&mut rec, prepared, &abs) {
        Ok((job, _)) => job,
        Err(e) => {
            forget(&rec);
            let kept = if fresh {
                "no sweep was recorded"
            } else {
                "the sweep's record is as it was"
            };
            // Slurm's default MaxArraySize is 1001 (indices 0..=1000)
            let hint = if tasks > 1001 {
                format!(
                    "\n{tasks} array tasks may be more than this cluster allows in one array \
                     (MaxArraySize, often 1001); --runs-per-task {} makes at most 1,000",
                    runs.div_ceil(1000)
                )
            } else {
                String::new()
            };
            return bad(format!("{e}\nnothing was submitted; {kept}{hint}"));
        }
    };
    let logs = slurm_dir(out, &rec.id).join(format!("{job}_<task>.out"));
    eprintln!(
        "sweep {}: {runs} runs in {tasks} array tasks ({per} per task) submitted as Slurm job \
         {job}; logs in {}",
        rec.id,
        logs.display()
    );
    if show.json {
        json_line(serde_json::json!({
            "event": "submitted", "sweep": rec.id, "job": job, "runs": runs, "tasks": tasks,
        }));
    }
    if args.sbatch.wait {
        return slurm_wait::wait(&rec.id, out, show);
    }
    eprintln!(
        "follow it with `fail-lab sweep --status {id}`, stop it with `fail-lab sweep --cancel {id}`",
        id = rec.id
    );
    ExitCode::SUCCESS
}

/// `--dry-run`: the job script and the tasks file, each under its path, on stdout.
fn print_dry_run(p: &ssweep::Prepared) {
    let files = p.job.files(&p.tag);
    println!(
        "# {}\n{}",
        files.script.display(),
        p.job.script(&files.tasks)
    );
    println!("# {}\n{}", files.tasks.display(), p.job.tasks_text());
    eprintln!("dry run: nothing submitted, nothing kept");
}

/// Prints each job's tasks as squeue shows them (pending and running ones), on stderr.
pub(super) fn print_queues(r: &Refreshed) {
    for q in &r.queues {
        match &q.tasks {
            Ok(tasks) => {
                let active: Vec<String> = tasks
                    .iter()
                    .filter(|t| t.is_active())
                    .map(|t| format!("task {} {}", t.task, t.describe()))
                    .collect();
                if active.is_empty() {
                    eprintln!("Slurm job {}: no task waiting or running", q.job);
                } else {
                    eprintln!("Slurm job {}: {}", q.job, active.join(", "));
                }
            }
            Err(e) => eprintln!("Slurm job {}: {e}", q.job),
        }
    }
}

/// `--status` of a Slurm sweep: the queue on stderr, each entry that did not finish with
/// its reason, then the states for the table.
pub fn status_states(rec: &mut SweepRecord, out: &Path) -> Vec<Option<RunState>> {
    let r = status::refresh(rec, out);
    print_queues(&r);
    for e in rec
        .runs
        .iter()
        .filter(|e| !e.is_done() && e.status != "running")
    {
        let Ok(point) = rec.point_of(e, &Registry) else {
            continue;
        };
        let reason = e.reason.as_ref().map(|r| format!(" · {r}"));
        eprintln!(
            "  {} · {}: {}{}",
            e.run.as_deref().unwrap_or("(no run yet)"),
            point_label(&point, e.seed),
            e.status,
            reason.unwrap_or_default()
        );
    }
    r.states
}

/// Brings a Slurm sweep's record up to date before a resume; refuses while a task of it is
/// still waiting or running, or when the queue cannot be read.
pub fn refresh_for_resume(rec: &mut SweepRecord, out: &Path) -> Result<(), String> {
    let r = status::refresh(rec, out);
    if let Some(e) = r.queue_error() {
        return Err(format!(
            "sweep {}: cannot tell whether its Slurm jobs still run: {e}",
            rec.id
        ));
    }
    if r.any_active() {
        print_queues(&r);
        return Err(format!(
            "sweep {id}: its Slurm job still has tasks waiting or running; resume once they \
             have ended, or stop them first with `fail-lab sweep --cancel {id}`",
            id = rec.id
        ));
    }
    Ok(())
}

/// `--cancel ID [--run RUN]`.
pub fn cancel(id: &str, run: Option<&str>, out: &Path) -> ExitCode {
    if let Some(run) = run {
        return cancel_run(id, run, out);
    }
    let mut rec = match SweepRecord::load(out, id) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let done = match ssweep::cancel(&mut rec, None) {
        Ok(d) => d,
        Err(e) => return bad(e),
    };
    if let Err(e) = rec.save(out) {
        eprintln!("warning: cannot write the sweep record: {e}");
    }
    eprintln!(
        "cancelled Slurm job {} of sweep {id}: running runs write their files and end; \
         `fail-lab sweep --resume {id}` submits what did not finish",
        done.join(", ")
    );
    ExitCode::SUCCESS
}

/// `--cancel ID --run RUN`: the array task of one run (and the task's other runs with it).
fn cancel_run(id: &str, run: &str, out: &Path) -> ExitCode {
    let at = match ssweep::locate(out, run) {
        Some(at) if at.sweep == id => at,
        _ => return bad(format!("run {run} is not a run of sweep {id}'s Slurm jobs")),
    };
    let task = match ssweep::cancel_run(out, run) {
        Ok(t) => t,
        Err(e) => return bad(e),
    };
    eprintln!("cancelled Slurm task {task} (run {run})");
    let others: Vec<String> = SweepRecord::load(out, id)
        .map(|rec| {
            ssweep::runs_of_task(&rec, &at.job, at.task)
                .into_iter()
                .filter(|r| *r != run)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if !others.is_empty() {
        eprintln!("  the task's other runs end with it: {}", others.join(", "));
    }
    ExitCode::SUCCESS
}
