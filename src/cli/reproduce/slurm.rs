//! `reproduce --slurm`: the checks' planned runs as one Slurm job array writing into the
//! `--save-runs` folder (which the nodes must share); with `--wait`, followed to its end and
//! then judged from that folder, as `reproduce --from-runs` judges.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cli::args::SbatchArgs;
use fail_lab::engine::store::timestamp;
use fail_lab::experiments::plan::RunRequest;
use fail_lab::slurm::{job, queue_states, task, JobArray};

/// What became of the submission.
pub enum Submitted {
    /// Submitted (or only printed, with `--dry-run`): nothing to judge now.
    Later,
    /// Submitted and followed to its end: judge from the runs folder.
    Ended,
}

/// Writes one run file per request and the job array into `out/sweeps/reproduce-<time>/`
/// (the sweeps folder holds no runs: the lab and the runs' readers pass over it), submits it
/// (or prints it), and with `--wait` follows the queue until no task is left.
pub fn submit(
    reqs: &[RunRequest],
    out: &Path,
    threads: &str,
    args: &SbatchArgs,
) -> Result<Submitted, String> {
    args.options().check()?;
    if args.runs_per_task == Some(0) {
        return Err("--runs-per-task: got 0, allowed: at least 1 run per array task".into());
    }
    let out = std::path::absolute(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let stamp = timestamp(std::time::SystemTime::now());
    let dir = out
        .join(fail_lab::engine::SWEEPS_DIR)
        .join(format!("reproduce-{stamp}"));
    let mut lines = Vec::new();
    for (i, r) in reqs.iter().enumerate() {
        let name = format!("{stamp}-{}-{i:04}", r.experiment);
        let file = dir.join("runs").join(format!("{name}.toml"));
        task::write_run_file(&file, &r.scenario(), &name, "")
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        lines.push(job::run_line(&file, &out, threads));
    }
    let array = JobArray {
        name: "fail-lab-reproduce".into(),
        dir: dir.clone(),
        binary: args.binary_or_this()?,
        lines,
        per_task: args.runs_per_task.unwrap_or(1),
        options: args.options(),
    };
    let files = array
        .write("1")
        .map_err(|e| format!("cannot write the job into {}: {e}", dir.display()))?;
    if args.dry_run {
        let script = std::fs::read_to_string(&files.script).unwrap_or_default();
        println!("{script}");
        println!("{}", array.tasks_text());
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(Submitted::Later);
    }
    let id = match job::sbatch(&files.script) {
        Ok(id) => id,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    eprintln!(
        "{} runs in {} array tasks submitted as Slurm job {id}; logs in {}",
        reqs.len(),
        array.task_count(),
        dir.display()
    );
    if !args.wait {
        eprintln!(
            "judge them once the job has ended: fail-lab reproduce ... --from-runs {}",
            out.display()
        );
        return Ok(Submitted::Later);
    }
    follow(&id)?;
    Ok(Submitted::Ended)
}

/// Waits until Slurm has no task of job `id` waiting or running, saying what is left.
fn follow(id: &str) -> Result<(), String> {
    let t = Instant::now();
    let mut said = String::new();
    loop {
        let states = queue_states(id)?;
        let active = states.iter().filter(|s| s.is_active()).count();
        if active == 0 {
            eprintln!(
                "job {id} has ended after {:.0} s",
                t.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        let pending = states.iter().filter(|s| s.is_pending()).count();
        let now = format!(
            "job {id}: {} task(s) running, {pending} waiting",
            active - pending
        );
        if now != said {
            eprintln!("{now}");
            said = now;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}
