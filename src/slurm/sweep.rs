//! A sweep on Slurm: what its record keeps (the options, each submitted job array and the
//! runs of each array task), a submission of the entries that are not done, and
//! cancelling; the entries' statuses are in [`super::status`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::job::{run_line, write_atomic, JobArray, JobFiles, SbatchOptions};
use super::queue;
use crate::engine::{self, store};
use crate::spec::Catalog;
use crate::sweep::grid::scenario_at;
use crate::sweep::record::QUEUED;
use crate::sweep::record::{self, sweep_dir, sweep_point_toml, SweepRecord};

/// The folder of a sweep's Slurm files: scripts, tasks files, run files and the tasks' logs.
pub const SLURM_DIR: &str = "slurm";

/// `sweep.json`'s `slurm`: how the sweep's tasks run and every job array submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlurmRecord {
    /// The `fail-lab` binary the tasks run.
    pub binary: String,
    /// `--threads` of each run.
    pub threads: String,
    pub runs_per_task: usize,
    pub options: SbatchOptions,
    /// The first submission, then one per `--resume`.
    pub jobs: Vec<JobRecord>,
}

/// One submitted job array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Slurm's job id.
    pub id: String,
    pub submitted: String,
    /// The job script, in the sweep's `slurm/` folder.
    pub script: String,
    /// The runs of each array task, in the order it runs them.
    pub tasks: Vec<Vec<TaskRun>>,
    /// Array tasks cancelled through fail-lab.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancelled: Vec<usize>,
}

/// A run of an array task: the sweep's entry and the run's folder name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRun {
    pub entry: usize,
    pub run: String,
}

/// Where a run of a Slurm sweep is: the sweep, the job and the array task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTask {
    pub sweep: String,
    pub job: String,
    pub task: usize,
}

impl SlurmRecord {
    /// The job and array task that run (or ran) `run`.
    pub fn task_of_run(&self, run: &str) -> Option<(&JobRecord, usize)> {
        self.jobs.iter().rev().find_map(|j| {
            j.tasks
                .iter()
                .position(|t| t.iter().any(|r| r.run == run))
                .map(|i| (j, i))
        })
    }

    /// Every run of every job, with its job and array task.
    pub fn task_index(&self) -> HashMap<&str, (&JobRecord, usize)> {
        let mut out = HashMap::new();
        for j in &self.jobs {
            for (i, t) in j.tasks.iter().enumerate() {
                for r in t {
                    out.insert(r.run.as_str(), (j, i));
                }
            }
        }
        out
    }
}

/// `<runs>/sweeps/<id>/slurm`.
pub fn slurm_dir(runs_dir: &Path, sweep: &str) -> PathBuf {
    sweep_dir(runs_dir, sweep).join(SLURM_DIR)
}

/// The Slurm job and task of run `run` in `runs_dir`: through its `spec.toml`'s
/// `[sweep_point]` once it started, else by looking through the Slurm sweeps' records.
pub fn locate(runs_dir: &Path, run: &str) -> Option<RunTask> {
    let from_spec = record::run_sweep_point(&runs_dir.join(run)).map(|(s, _)| s);
    let candidates = match from_spec {
        Some(s) => vec![s],
        None => record::list(runs_dir),
    };
    candidates.into_iter().find_map(|sweep| {
        let rec = SweepRecord::load(runs_dir, &sweep).ok()?;
        let (job, task) = rec.slurm.as_ref()?.task_of_run(run)?;
        Some(RunTask {
            sweep,
            job: job.id.clone(),
            task,
        })
    })
}

/// How the tasks of a submission run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub binary: PathBuf,
    pub threads: String,
    pub runs_per_task: usize,
    pub options: SbatchOptions,
}

/// A submission made ready: the job array, the run files to write, and the runs of each
/// task. Nothing is on disk or in the record until [`Prepared::write`] and
/// [`Prepared::apply`].
#[derive(Debug, Clone)]
pub struct Prepared {
    pub job: JobArray,
    /// `job-<tag>.sh`, `tasks-<tag>.txt`.
    pub tag: String,
    pub run_files: Vec<(PathBuf, String)>,
    pub tasks: Vec<Vec<TaskRun>>,
    settings: Settings,
}

/// The folder name of entry `i`'s run: its run's, when that run was stopped or cut off (the
/// task continues it from its checkpoint); else `<sweep>-<i>`, or `<sweep>-<i>-<k>` when an
/// earlier run of the entry has that name.
fn run_name(rec: &SweepRecord, i: usize, runs_dir: &Path) -> String {
    let e = &rec.runs[i];
    if let Some(run) = &e.run {
        if !runs_dir.join(run).exists() {
            // reserved before but never started: the name is still free
            return run.clone();
        }
        if engine::resume::resumable(&runs_dir.join(run)) {
            // stopped or cut off: its task continues it from its checkpoint, in its folder
            return run.clone();
        }
    }
    let width = (rec.runs.len().saturating_sub(1)).to_string().len().max(3);
    let base = format!("{}-{i:0width$}", rec.id);
    let taken =
        |n: &str| runs_dir.join(n).exists() || e.earlier.iter().chain(&e.run).any(|r| r == n);
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|k| format!("{base}-{k}"))
        .find(|n| !taken(n))
        .unwrap_or(base)
}

/// Makes ready a submission of every entry of `rec` that is not done (finished or
/// diverged): a run file per entry (its scenario, `[task]` and `[sweep_point]`) and a tasks
/// file line `run <file> --out <runs> --threads T` for it, `runs_per_task` lines per array
/// task. `runs_dir` must be absolute (the tasks run elsewhere).
pub fn prepare(
    rec: &SweepRecord,
    runs_dir: &Path,
    settings: &Settings,
    catalog: &dyn Catalog,
) -> Result<Prepared, String> {
    let base = rec.base(catalog)?;
    let dir = slurm_dir(runs_dir, &rec.id);
    let mut run_files = Vec::new();
    let mut lines = Vec::new();
    let mut runs = Vec::new();
    for (i, e) in rec.runs.iter().enumerate() {
        if e.is_done() {
            continue;
        }
        let point = rec.point_of(e, catalog)?;
        let name = run_name(rec, i, runs_dir);
        let file = dir.join("runs").join(format!("{name}.toml"));
        let extra = sweep_point_toml(&rec.id, &point).map_err(|e| e.to_string())?;
        let scenario = scenario_at(&base, &point, e.seed);
        run_files.push((
            file.clone(),
            super::task::run_file_text(&scenario, &name, &extra),
        ));
        lines.push(run_line(&file, runs_dir, &settings.threads));
        runs.push(TaskRun {
            entry: i,
            run: name,
        });
    }
    let tag = (rec.slurm.as_ref().map_or(0, |s| s.jobs.len()) + 1).to_string();
    let job = JobArray {
        name: format!("fail-lab-{}", rec.id),
        dir,
        binary: settings.binary.clone(),
        lines,
        per_task: settings.runs_per_task.max(1),
        options: settings.options.clone(),
    };
    let tasks = (0..job.task_count())
        .map(|t| runs[job.lines_of(t)].to_vec())
        .collect();
    Ok(Prepared {
        job,
        tag,
        run_files,
        tasks,
        settings: settings.clone(),
    })
}

impl Prepared {
    /// How many runs it submits.
    pub fn run_count(&self) -> usize {
        self.job.lines.len()
    }

    /// Writes the run files, the tasks file and the script.
    pub fn write(&self) -> std::io::Result<JobFiles> {
        for (path, text) in &self.run_files {
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d)?;
            }
            write_atomic(path, text)?;
        }
        self.job.write(&self.tag)
    }

    /// Removes what [`Prepared::write`] wrote (a submission that did not happen).
    pub fn remove_files(&self) {
        let files = self.job.files(&self.tag);
        for p in self
            .run_files
            .iter()
            .map(|(p, _)| p)
            .chain([&files.script, &files.tasks])
        {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Records job `job_id` in `rec`: each submitted entry names its new run (an earlier
    /// run with a folder moves to `earlier`) and reads as queued.
    pub fn apply(self, rec: &mut SweepRecord, job_id: &str, runs_dir: &Path) {
        for t in self.tasks.iter().flatten() {
            let e = &mut rec.runs[t.entry];
            if let Some(old) = e.run.take() {
                if old != t.run && runs_dir.join(&old).exists() {
                    e.earlier.push(old);
                }
            }
            e.run = Some(t.run.clone());
            e.status = QUEUED.into();
            e.reason = None;
        }
        let job = JobRecord {
            id: job_id.to_string(),
            submitted: store::timestamp(std::time::SystemTime::now()),
            script: format!("job-{}.sh", self.tag),
            tasks: self.tasks,
            cancelled: Vec::new(),
        };
        let s = &self.settings;
        let slurm = rec.slurm.get_or_insert_with(|| SlurmRecord {
            binary: String::new(),
            threads: String::new(),
            runs_per_task: 1,
            options: SbatchOptions::default(),
            jobs: Vec::new(),
        });
        slurm.binary = s.binary.display().to_string();
        slurm.threads = s.threads.clone();
        slurm.runs_per_task = s.runs_per_task;
        slurm.options = s.options.clone();
        slurm.jobs.push(job);
    }
}

/// Writes a prepared submission, submits it with `sbatch` and records the job in `rec`,
/// saved before it returns. When sbatch fails, nothing is recorded and the files written
/// for it are removed; when the record cannot be saved, the job is cancelled, so no job
/// runs that its record does not know.
pub fn submit(
    rec: &mut SweepRecord,
    prepared: Prepared,
    runs_dir: &Path,
) -> Result<(String, JobFiles), String> {
    let files = prepared.write().map_err(|e| {
        format!(
            "cannot write the job's files in {}: {e}",
            prepared.job.dir.display()
        )
    })?;
    let job_id = match super::job::sbatch(&files.script) {
        Ok(id) => id,
        Err(e) => {
            prepared.remove_files();
            return Err(e);
        }
    };
    prepared.apply(rec, &job_id, runs_dir);
    if let Err(e) = rec.save(runs_dir) {
        let undo = match queue::cancel(&job_id, None) {
            Ok(()) => format!("job {job_id} was cancelled"),
            Err(c) => format!("cancelling job {job_id} failed too: {c}; cancel it by hand"),
        };
        return Err(format!("cannot write the sweep record: {e}; {undo}"));
    }
    Ok((job_id, files))
}

/// Cancels sweep `rec`'s Slurm work: every job (`run` `None`), or the array task that runs
/// `run`, and notes it in the record (not saved here). Returns what was cancelled, as
/// scancel names it (`12`, `12_3`).
pub fn cancel(rec: &mut SweepRecord, run: Option<&str>) -> Result<Vec<String>, String> {
    let id = rec.id.clone();
    let slurm = rec
        .slurm
        .as_mut()
        .ok_or_else(|| format!("sweep {id} was not submitted to Slurm; nothing to cancel"))?;
    let mut done = Vec::new();
    match run {
        Some(run) => {
            let (job, task) = slurm
                .task_of_run(run)
                .map(|(j, t)| (j.id.clone(), t))
                .ok_or_else(|| format!("run {run} is not a run of sweep {id}'s Slurm jobs"))?;
            queue::cancel(&job, Some(task))?;
            if let Some(j) = slurm.jobs.iter_mut().find(|j| j.id == job) {
                j.cancelled.push(task);
            }
            done.push(format!("{job}_{task}"));
        }
        None => {
            for j in &mut slurm.jobs {
                queue::cancel(&j.id, None)?;
                j.cancelled = (0..j.tasks.len()).collect();
                done.push(j.id.clone());
            }
        }
    }
    Ok(done)
}

/// Cancels the array task that runs `run` (found through [`locate`]) and notes it in its
/// sweep's record, saved: what the lab's stop key does to a run of a Slurm sweep. Returns
/// the task as scancel names it (`12_3`).
pub fn cancel_run(runs_dir: &Path, run: &str) -> Result<String, String> {
    let at = locate(runs_dir, run).ok_or_else(|| {
        format!(
            "run {run} is not a run of a Slurm sweep in {}",
            runs_dir.display()
        )
    })?;
    let mut rec = SweepRecord::load(runs_dir, &at.sweep)?;
    let done = cancel(&mut rec, Some(run))?;
    rec.save(runs_dir)
        .map_err(|e| format!("cancelled, but cannot write the sweep record: {e}"))?;
    Ok(done.into_iter().next().unwrap_or_default())
}

/// The runs array task `task` of job `job` runs (their folder names), in order.
pub fn runs_of_task<'a>(rec: &'a SweepRecord, job: &str, task: usize) -> Vec<&'a str> {
    rec.slurm
        .iter()
        .flat_map(|s| &s.jobs)
        .filter(|j| j.id == job)
        .flat_map(|j| j.tasks.get(task).into_iter().flatten())
        .map(|t| t.run.as_str())
        .collect()
}
