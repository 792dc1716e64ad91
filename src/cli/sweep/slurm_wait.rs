//! `--slurm --wait`: a Slurm sweep followed to its end through its runs' files and
//! `squeue`, with the progress bar, the lines and the table of a local sweep.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{bad, point_label, show_counts, show_event};
use crate::cli::out::runs_bar;
use crate::cli::out::{json_line, say};
use fail_lab::engine::{Event, RunEvent, RunState, Status};
use fail_lab::experiments::Registry;
use fail_lab::slurm::status;
use fail_lab::sweep::{Counts, SweepRecord};

/// How often the runs folder and the queue are read.
const POLL: Duration = Duration::from_millis(500);

/// The event a local sweep would have seen last from a run that ended as `state` reads.
fn terminal_event(state: &RunState) -> Option<Event> {
    let reason = state.reason.clone().unwrap_or_default();
    Some(match state.status {
        Status::Finished => Event::Finished {
            summary: state.summary.clone().unwrap_or_default(),
            elapsed_s: state.elapsed_s,
        },
        Status::Stopped => Event::Stopped { step: state.step },
        Status::Diverged => Event::Diverged {
            step: state.step,
            // the saved reason starts with where it diverged, which the line shows itself
            reason: reason
                .strip_prefix(&format!("at step {}: ", state.step))
                .unwrap_or(&reason)
                .to_string(),
        },
        Status::Failed => Event::Failed { reason },
        _ => return None,
    })
}

/// Tells entry `i`, which has just ended: as a local sweep tells a run's last event, or,
/// for a run Slurm ended or never started, its status and reason.
fn tell_end(
    rec: &SweepRecord,
    i: usize,
    state: Option<&RunState>,
    json: bool,
    bar: &indicatif::ProgressBar,
) {
    let e = &rec.runs[i];
    let Ok(point) = rec.point_of(e, &Registry) else {
        return;
    };
    let run = e.run.clone().unwrap_or_default();
    if let Some(ev) = state.and_then(terminal_event) {
        show_event(&RunEvent { run, event: ev }, &point, e.seed, json, bar);
        return;
    }
    let reason = e.reason.clone().unwrap_or_default();
    if json {
        json_line(serde_json::json!({
            "event": "failed", "run": run, "point": point.to_json(),
            "status": e.status, "reason": reason,
        }));
    }
    say(
        bar,
        format!(
            "{} {run} · {}: {reason}",
            e.status,
            point_label(&point, e.seed)
        ),
    );
}

/// Follows sweep `id` until every run it submitted has ended, then prints the table (or
/// the `sweep_finished` line) and saves the record. Ctrl-C stops following only.
pub fn wait(id: &str, out: &Path, show: super::Show) -> ExitCode {
    let json = show.json;
    let stop = crate::cli::run::stop_on_signals();
    let mut rec = match SweepRecord::load(out, id) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let bar = runs_bar(rec.runs.len());
    let started = Instant::now();
    let mut open: Vec<bool> = rec.runs.iter().map(|e| !e.is_done()).collect();
    let mut warned = false;
    loop {
        if let Ok(fresh) = SweepRecord::load(out, id) {
            // a --cancel in another process notes itself in the record
            rec.slurm = fresh.slurm;
        }
        // a run that ended is not read again
        let r = status::refresh_only(&mut rec, out, |i, _| open[i]);
        if let (Some(e), false) = (r.queue_error(), warned) {
            say(&bar, format!("warning: {e}; waiting for the runs' files"));
            warned = true;
        }
        for (i, e) in rec.runs.iter().enumerate() {
            if open[i] && !e.is_open() {
                open[i] = false;
                tell_end(&rec, i, r.states[i].as_ref(), json, &bar);
            }
        }
        show_counts(&bar, Counts::of(&rec.runs));
        if !open.iter().any(|&o| o) && !r.any_active() {
            break;
        }
        let until = Instant::now() + POLL;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if stop.load(Ordering::Relaxed) {
            bar.finish_and_clear();
            eprintln!(
                "stopped following sweep {id}; its Slurm job goes on: `fail-lab sweep --status \
                 {id}`, `fail-lab sweep --cancel {id}`"
            );
            return ExitCode::from(130);
        }
    }
    bar.finish_and_clear();
    let states = status::refresh(&mut rec, out).states;
    super::conclude(&rec, &states, out, started, show)
}
