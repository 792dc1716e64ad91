//! The planned runs of `reproduce`: trained on worker threads with a progress bar (and saved,
//! with `--save-runs`), or read from a folder of saved runs; either way held for the checks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::cost::fmt_duration;
use crate::cli::out::{say, work_bar};
use fail_lab::engine::batch::{self, BatchOptions, BatchUpdate};
use fail_lab::engine::saved::{load_finished, SavedRuns};
use fail_lab::experiments::common::RunError;
use fail_lab::experiments::cost;
use fail_lab::experiments::plan::{self, RunRequest};
use fail_lab::experiments::Halt;

/// How many missing runs the message of `--from-runs` lists.
const MISSING_SHOWN: usize = 8;

/// Trains `reqs`, `jobs` at a time on `threads` compute threads each, holds their results and
/// gives each one's seconds. With a folder to save in, a run already finished there is read
/// back rather than trained again, and one cut off there continues from its last checkpoint:
/// an interrupted record goes on where it stopped. The runs start longest first (by their
/// estimated cost); one bar over the work left (weighted by the same estimates), and a line
/// on stderr as each run starts and ends. Once `stop` is raised, no further run starts and
/// each saved run stops at a checkpoint, which the next call continues.
pub(super) fn train(
    reqs: &[RunRequest],
    jobs: usize,
    threads: usize,
    save: Option<&Path>,
    stop: Option<Arc<AtomicBool>>,
) -> Vec<f64> {
    let saved = match save.map(SavedRuns::scan) {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            eprintln!("warning: {e}; every run trains");
            SavedRuns::default()
        }
        None => SavedRuns::default(),
    };
    let mut secs = vec![0.0; reqs.len()];
    let mut todo = Vec::new();
    for (i, r) in reqs.iter().enumerate() {
        match saved.find(r).map(|d| (d, load_finished(d))) {
            Some((_, Ok((f, s)))) => {
                plan::hold(r, Ok(f));
                secs[i] = s;
            }
            Some((d, Err(e))) => {
                eprintln!("warning: {} trains again: {e}", d.display());
                todo.push(i);
            }
            None => todo.push(i),
        }
    }
    let kept = reqs.len() - todo.len();
    if kept > 0 {
        eprintln!(
            "kept {kept} finished runs of {} (not trained again)",
            save.map(|d| d.display().to_string()).unwrap_or_default()
        );
    }
    // the longest first (by estimate), so that no long run starts last while the other
    // cores idle
    let weights = cost::weights_ms(reqs);
    todo.sort_by_key(|&i| std::cmp::Reverse(weights[i]));
    let left: Vec<RunRequest> = todo.iter().map(|&i| reqs[i].clone()).collect();
    let resume: HashMap<String, PathBuf> = left
        .iter()
        .filter_map(|r| Some((r.key(), saved.resumable(r)?.to_path_buf())))
        .collect();
    if !resume.is_empty() {
        eprintln!(
            "{} cut-off runs continue from their last checkpoint",
            resume.len()
        );
    }
    let trained = train_left(&left, jobs, threads, save, resume, stop);
    for (&i, s) in todo.iter().zip(trained) {
        secs[i] = s;
    }
    secs
}

/// Trains every request of `reqs` (none held yet) and holds them; see [`train`].
fn train_left(
    reqs: &[RunRequest],
    jobs: usize,
    threads: usize,
    save: Option<&Path>,
    resume: HashMap<String, PathBuf>,
    stop: Option<Arc<AtomicBool>>,
) -> Vec<f64> {
    let n = reqs.len();
    if n == 0 {
        return Vec::new();
    }
    let at_once = jobs.clamp(1, n);
    // each run's weight in the bar: its estimated CPU milliseconds (a run with no estimate
    // counts as the median of the others)
    let weights = cost::weights_ms(reqs);
    let total: u64 = weights.iter().sum();
    eprintln!(
        "training {n} runs, {at_once} at once, {threads} compute thread(s) each; estimated {} \
         of CPU{}",
        fmt_duration(total as f64 / 1000.0),
        save.map(|d| format!("; saved in {}", d.display()))
            .unwrap_or_default()
    );
    let bar = work_bar(total);
    bar.enable_steady_tick(std::time::Duration::from_millis(250));
    let width = n.to_string().len();
    let (mut started, mut ended) = (0, 0);
    // the work done: of the ended runs, and of each running one its share so far
    let (mut done_ms, mut running) = (0u64, HashMap::<usize, u64>::new());
    let t = Instant::now();
    let opts = BatchOptions {
        jobs: at_once,
        compute_threads: threads,
        save_to: save.map(Path::to_path_buf),
        resume,
        stop: stop.clone(),
    };
    let stopping = || stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed));
    let mut told = false;
    let trained = batch::train_all(reqs, &opts, |u| {
        if !told && stopping() {
            say(
                &bar,
                "stopping: no further run starts, each running run stops at its next step and \
                 saves a checkpoint (again to quit at once)",
            );
            told = true;
        }
        match u {
            BatchUpdate::Started { index } => {
                started += 1;
                say(
                    &bar,
                    format!("[{started:>width$}/{n}] start {}", reqs[*index].label()),
                );
                running.insert(*index, 0);
            }
            BatchUpdate::Progress { index, step, total } => {
                let share = weights[*index] as f64 * (*step as f64 / (*total).max(1) as f64);
                running.insert(*index, (share as u64).min(weights[*index]));
            }
            BatchUpdate::Ended {
                index,
                elapsed_s,
                error,
            } => {
                ended += 1;
                let how = match error {
                    None => format!("{elapsed_s:.1} s"),
                    Some(e) if stopping() => format!("stopped after {elapsed_s:.1} s: {e}"),
                    Some(e) => format!("FAILED after {elapsed_s:.1} s: {e}"),
                };
                say(
                    &bar,
                    format!(
                        "[{ended:>width$}/{n}] done  {} · {how}",
                        reqs[*index].label()
                    ),
                );
                running.remove(index);
                done_ms += weights[*index];
            }
        }
        bar.set_position(done_ms + running.values().sum::<u64>());
        bar.set_message(format!(
            "{ended}/{n} runs done, {} running",
            started - ended
        ));
    });
    bar.finish_and_clear();
    eprintln!("trained {n} runs in {:.1} s", t.elapsed().as_secs_f64());
    if let Some(d) = save {
        eprintln!("runs saved in {}", d.display());
    }
    reqs.iter()
        .zip(trained)
        .map(|(r, t)| {
            plan::hold(r, t.result);
            t.elapsed_s
        })
        .collect()
}

/// Reads the finished run of each request from `dir`, holds it and gives its training
/// seconds (as it saved them). Refuses when any is missing (exit code 1), listing how many
/// and the first few, and how to make them (`save_command`); a folder that cannot be read is
/// bad input (exit code 2).
pub(super) fn load(
    reqs: &[RunRequest],
    dir: &Path,
    save_command: &str,
) -> Result<Vec<f64>, ExitCode> {
    let saved = SavedRuns::scan(dir).map_err(|e| {
        eprintln!("error: --from-runs: {e}");
        ExitCode::from(2)
    })?;
    let missing: Vec<&RunRequest> = reqs.iter().filter(|r| saved.find(r).is_none()).collect();
    if !missing.is_empty() {
        report_missing(reqs.len(), &missing, &saved, dir, save_command);
        return Err(ExitCode::from(1));
    }
    eprintln!(
        "reading {} runs from {} ({} finished runs there)",
        reqs.len(),
        dir.display(),
        saved.finished()
    );
    let mut secs = Vec::with_capacity(reqs.len());
    for r in reqs {
        let found = saved.find(r).map(load_finished);
        let (result, s) = match found {
            Some(Ok((f, s))) => (Ok(f), s),
            Some(Err(e)) => (Err(unreadable(r, e)), 0.0),
            None => (Err(unreadable(r, "not found".into())), 0.0),
        };
        plan::hold(r, result);
        secs.push(s);
    }
    Ok(secs)
}

fn unreadable(r: &RunRequest, e: String) -> RunError {
    RunError::Halted {
        id: r.experiment.clone(),
        seed: r.seed,
        halt: Halt::Failed(format!("cannot read the saved run: {e}")),
    }
}

fn report_missing(
    total: usize,
    missing: &[&RunRequest],
    saved: &SavedRuns,
    dir: &Path,
    save_command: &str,
) {
    eprintln!(
        "error: --from-runs {}: {} of the {total} runs the checks need are not there finished \
         (the folder holds {} finished runs, {} unfinished, {} unreadable); missing:",
        dir.display(),
        missing.len(),
        saved.finished(),
        saved.unfinished,
        saved.unreadable.len()
    );
    for r in missing.iter().take(MISSING_SHOWN) {
        eprintln!("  {}", r.label());
    }
    if missing.len() > MISSING_SHOWN {
        eprintln!("  and {} more", missing.len() - MISSING_SHOWN);
    }
    eprintln!(
        "make them with `{save_command}` (or train each one with `fail-lab run SPEC --out {}`)",
        dir.display()
    );
}
