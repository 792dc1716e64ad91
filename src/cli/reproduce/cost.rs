//! `reproduce --dry-run`: the plan of runs with what each costs, and the whole's estimate.

use std::path::Path;

use super::super::out::print_markdown;
use fail_lab::engine::saved::SavedRuns;
use fail_lab::experiments::cost;
use fail_lab::experiments::plan::RunRequest;

/// Seconds as `2 h 05 min`, `7 min 30 s` or `12.5 s`.
pub(super) fn fmt_duration(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "-".into();
    }
    let whole = s.round() as u64;
    if whole >= 3600 {
        format!("{} h {:02} min", whole / 3600, (whole % 3600) / 60)
    } else if whole >= 60 {
        format!("{} min {:02} s", whole / 60, whole % 60)
    } else {
        format!("{s:.1} s")
    }
}

/// Prints every planned run (label, iterations, estimated CPU time on one thread) as a
/// markdown table on stdout, then the totals: CPU time, and wall time on `jobs` cores with
/// the runs started longest first, as `reproduce` starts them. With a folder of saved runs
/// (`--save-runs`), each run there says whether it finished (it costs nothing more) or was
/// cut off (it costs what is left after its last recorded step), and the totals are of the
/// work left: what the next invocation trains.
pub(super) fn print_plan(reqs: &[RunRequest], jobs: usize, saved: Option<&Path>) {
    let saved = match saved.filter(|d| d.is_dir()).map(SavedRuns::scan) {
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            eprintln!("warning: {e}; every run counted as left to train");
            None
        }
        None => None,
    };
    let mut header = vec!["#", "run", "iterations", "estimated CPU"];
    if saved.is_some() {
        header.push("saved");
    }
    let mut cells = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    let mut unknown = 0;
    let (mut finished, mut cut_off) = (0, 0);
    let mut secs = Vec::with_capacity(reqs.len());
    for (i, r) in reqs.iter().enumerate() {
        let steps = match cost::phases(r).as_slice() {
            [] => "-".to_string(),
            [("", n)] => n.to_string(),
            many => many
                .iter()
                .map(|(m, n)| format!("{m} {n}"))
                .collect::<Vec<_>>()
                .join(" + "),
        };
        let est = cost::estimate_s(r);
        unknown += usize::from(est.is_none());
        let shown = est.map_or_else(|| "not measured".into(), fmt_duration);
        let mut row = vec![(i + 1).to_string(), r.label(), steps, shown];
        let mut left = est.unwrap_or(0.0);
        if let Some(s) = &saved {
            row.push(if s.find(r).is_some() {
                finished += 1;
                left = 0.0;
                "finished".into()
            } else if let Some(d) = s.resumable(r) {
                cut_off += 1;
                let at = last_step(d);
                let total = cost::phases(r).iter().map(|p| p.1).max().unwrap_or(0);
                if total > 0 {
                    left *= 1.0 - (at as f64 / total as f64).min(1.0);
                }
                format!("unfinished, step {at}")
            } else {
                "-".into()
            });
        }
        secs.push(left);
        cells.push(row);
    }
    print_markdown(&cells);
    println!();
    let cpu: f64 = secs.iter().sum();
    let iterations: u64 = reqs.iter().map(cost::steps).sum();
    let wall = fmt_duration(cost::wall_s(&longest_first(&secs), jobs));
    match saved {
        None => println!(
            "{} runs, {iterations} iterations; estimated {} of CPU, {wall} of wall time on {jobs} \
             cores (--jobs {jobs}, one compute thread each)",
            reqs.len(),
            fmt_duration(cpu),
        ),
        Some(_) => println!(
            "{} runs, {iterations} iterations: {finished} finished, {cut_off} unfinished (they go on \
             from their last checkpoint), {} to start; left: estimated {} of CPU, {wall} of wall \
             time on {jobs} cores (--jobs {jobs}, one compute thread each)",
            reqs.len(),
            reqs.len() - finished - cut_off,
            fmt_duration(cpu),
        ),
    }
    if unknown > 0 {
        println!("{unknown} runs of kinds with no measured step cost are left out of the estimate");
    }
    println!(
        "(estimates from the step costs in src/experiments/cost.rs, measured by \
         scripts/measure-step-costs.sh)"
    );
}

/// The last step a saved run recorded a metric at (0 if none).
fn last_step(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["step"].as_u64())
        .max()
        .unwrap_or(0)
}

/// `secs` from the largest down.
fn longest_first(secs: &[f64]) -> Vec<f64> {
    let mut v = secs.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_hours_minutes_or_seconds() {
        assert_eq!(fmt_duration(12.46), "12.5 s");
        assert_eq!(fmt_duration(450.0), "7 min 30 s");
        assert_eq!(fmt_duration(7500.0), "2 h 05 min");
        assert_eq!(fmt_duration(f64::NAN), "-");
    }
}
