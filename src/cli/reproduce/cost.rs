//! `reproduce --dry-run`: the plan of runs with what each costs, and the whole's estimate.

use super::super::out::print_markdown;
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
/// the runs started longest first, as `reproduce` starts them.
pub(super) fn print_plan(reqs: &[RunRequest], jobs: usize) {
    let mut cells = vec![["#", "run", "iterations", "estimated CPU"]
        .map(String::from)
        .to_vec()];
    let mut unknown = 0;
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
        secs.push(est.unwrap_or(0.0));
        let shown = est.map_or_else(|| "not measured".into(), fmt_duration);
        cells.push(vec![(i + 1).to_string(), r.label(), steps, shown]);
    }
    print_markdown(&cells);
    println!();
    let cpu: f64 = secs.iter().sum();
    let iterations: u64 = reqs.iter().map(cost::steps).sum();
    println!(
        "{} runs, {iterations} iterations; estimated {} of CPU, {} of wall time on {jobs} \
         cores (--jobs {jobs}, one compute thread each)",
        reqs.len(),
        fmt_duration(cpu),
        fmt_duration(cost::wall_s(&longest_first(&secs), jobs)),
    );
    if unknown > 0 {
        println!("{unknown} runs of kinds with no measured step cost are left out of the estimate");
    }
    println!(
        "(estimates from the step costs in src/experiments/cost.rs, measured by \
         scripts/measure-step-costs.sh)"
    );
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
