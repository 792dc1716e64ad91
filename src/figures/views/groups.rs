//! Views of groups of runs: a metric's mean over each group's seeds with a band, the share
//! of runs past a threshold by step, and a summary metric against a swept parameter (with
//! growth fits).

use crate::engine::RunState;
use crate::spec::Value;
use crate::stats::fit::{Growth, GrowthFit};
use crate::sweep::{group_runs, Aggregate, Group, Measure};

use super::super::model::{Axis, ErrorBars, ErrorPoint, Figure, Line, Panel};
use super::{differing_labels, empty_note, step_axis, BandKind};

/// One metric of groups of runs (the same experiment and parameters, any seed): each
/// group's mean over its runs, step by step, with a band.
pub fn groups(runs: &[RunState], metric: &str, band: BandKind, log_y: bool) -> Figure {
    let gs = group_runs(runs);
    let labels = differing_labels(gs.iter().map(|g| &g.params));
    let mut p = Panel::new(metric, step_axis(), Axis::new(metric).log(log_y));
    for (g, label) in gs.iter().zip(labels) {
        let members: Vec<&RunState> = g.members.iter().map(|&i| &runs[i]).collect();
        let b = crate::sweep::group::metric_band(&members, metric);
        let label = if label.is_empty() {
            g.experiment.clone()
        } else {
            label
        };
        let agg = Aggregate::of(&members);
        let mut line = Line::new(
            format!(
                "{label} ({})",
                crate::stats::format::count_cell_as(
                    crate::stats::format::count_name(g.params.iter().map(|(k, _)| k)),
                    agg.seeds.len(),
                    agg.runs
                )
            ),
            b.iter().map(|p| (p.step as f64, p.stats.mean)).collect(),
        );
        line.band = b
            .iter()
            .map(|p| {
                let (lo, hi) = band.range_of(&p.stats, &g.experiment, metric);
                (p.step as f64, lo, hi)
            })
            .collect();
        if line.points.is_empty() {
            p.notes.push(empty_note(&format!(
                "the runs of {label} recorded no {metric}"
            )));
        }
        p.lines.push(line);
    }
    let mut f = Figure::new(format!("{metric} by group"), vec![p], 1);
    f.notes.push(format!(
        "{} runs in {} groups; {}",
        runs.len(),
        gs.len(),
        band.label()
    ));
    f
}

/// The cumulative success curves of groups of runs on a time to a threshold (`metric`, or
/// the first `steps_to_*` of their summaries): the share of each group's finished runs (one
/// per seed) that had reached it by each step, a run that never did counting as censored at
/// its last step (Kaplan–Meier).
pub fn success(runs: &[RunState], metric: Option<&str>) -> Result<Figure, String> {
    let gs = group_runs(runs);
    let labels = differing_labels(gs.iter().map(|g| &g.params));
    let aggs: Vec<Aggregate> = gs
        .iter()
        .map(|g| Aggregate::of(&g.members.iter().map(|&i| &runs[i]).collect::<Vec<_>>()))
        .collect();
    let thresholds: Vec<String> = aggs
        .iter()
        .flat_map(|a| a.metric_names(""))
        .filter(|n| crate::sweep::group::is_threshold(n))
        .collect();
    let metric = match metric {
        Some(m) if thresholds.iter().any(|t| t == m) => m.to_string(),
        Some(m) => {
            return Err(format!(
                "--success {m}: not a time to a threshold of these runs; they have: {}",
                if thresholds.is_empty() {
                    "none (no finished run reports a steps_to_* metric)".into()
                } else {
                    thresholds.join(", ")
                }
            ))
        }
        None => thresholds.first().cloned().ok_or(
            "--success: no finished run of these reports a time to a threshold (steps_to_*)",
        )?,
    };
    let mut p = Panel::new(
        format!("runs past {metric}"),
        step_axis(),
        Axis::new("share of runs").range(0.0, 1.0),
    );
    let mut n = 0;
    for ((g, label), agg) in gs.iter().zip(labels).zip(&aggs) {
        let Some(Measure::Threshold(sv)) = agg.metrics.get(&metric) else {
            continue;
        };
        n += sv.n;
        let label = if label.is_empty() {
            g.experiment.clone()
        } else {
            label
        };
        p.lines.push(Line::new(
            format!("{label} ({}/{} reached)", sv.hits(), sv.n),
            sv.success_curve(0.0),
        ));
    }
    let mut f = Figure::new(format!("{metric}: cumulative success"), vec![p], 1);
    f.notes.push(format!(
        "{n} finished runs (one per seed) in {} groups; a run that never got there counts as \
         censored at its last step (Kaplan-Meier)",
        gs.len()
    ));
    Ok(f)
}

/// A parameter's value as a number on an axis.
fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

/// Each group's parameter `x` as a number, and the label of its other parameters that vary.
fn x_and_rest<'a>(gs: &'a [Group], x: &str) -> Result<Vec<(&'a Group, f64, String)>, String> {
    let mut out = Vec::new();
    let mut rests = Vec::new();
    for g in gs {
        let value = g
            .params
            .get(x)
            .ok_or_else(|| format!("--x {x}: the runs have no parameter {x}"))?;
        let xv = numeric(value)
            .ok_or_else(|| format!("--x {x}: its values ({value}) are not numbers"))?;
        // the same x everywhere, so that only the other parameters label the series
        let mut rest = g.params.clone();
        rest.insert(x, Value::Int(0));
        rests.push(rest);
        out.push((g, xv));
    }
    let labels = differing_labels(rests.iter());
    Ok(out
        .into_iter()
        .zip(labels)
        .map(|((g, xv), l)| (g, xv, l))
        .collect())
}

/// How a summary metric is drawn against a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Against {
    /// What the error bars span.
    pub band: BandKind,
    pub log_x: bool,
    pub log_y: bool,
    /// A growth law fitted to each series (censored points left out).
    pub fit: Option<Growth>,
}

/// The points of a summary metric against `x`, a series per value of the other parameters
/// that differ: each group's mean (a result) or Kaplan–Meier median (a time to a threshold)
/// with its bar; `censored` series hold the groups where fewer than half the runs reached the
/// threshold, drawn at the longest budget (their median is only known to exceed it).
struct AgainstSeries {
    bars: ErrorBars,
    censored: bool,
}

/// The series of [`summary_against`], how many groups had no value, and whether the metric
/// is a time to a threshold.
fn against_series(
    runs: &[RunState],
    metric: &str,
    x: &str,
    band: BandKind,
) -> Result<(Vec<AgainstSeries>, usize, bool), String> {
    let gs = group_runs(runs);
    let mut out: Vec<AgainstSeries> = Vec::new();
    let mut missing = 0;
    let mut threshold = false;
    for (g, xv, label) in x_and_rest(&gs, x)? {
        let members: Vec<&RunState> = g.members.iter().map(|&i| &runs[i]).collect();
        let agg = Aggregate::of(&members);
        let Some(m) = agg.metrics.get(metric) else {
            missing += 1;
            continue;
        };
        let label = if label.is_empty() {
            metric.to_string()
        } else {
            label
        };
        let point = |mean: f64, (lo, hi): (f64, f64)| ErrorPoint {
            x: xv,
            mean,
            lo,
            hi,
        };
        let (label, point, censored) = match m {
            Measure::Result(s) => {
                let bar = band.range_of(s, &g.experiment, metric);
                (label, point(s.mean, bar), false)
            }
            Measure::Threshold(sv) => {
                threshold = true;
                match (sv.median(), sv.reached.first(), sv.reached.last()) {
                    (Some(med), Some(&lo), Some(&hi)) => (label, point(med, (lo, hi)), false),
                    _ => {
                        let h = sv.horizon();
                        (format!("{label}: median > budget"), point(h, (h, h)), true)
                    }
                }
            }
        };
        match out.iter_mut().find(|e| e.bars.label == label) {
            Some(e) => e.bars.points.push(point),
            None => out.push(AgainstSeries {
                bars: ErrorBars {
                    label,
                    points: vec![point],
                    colour: None,
                },
                censored,
            }),
        }
    }
    for e in &mut out {
        e.bars.points.sort_by(|a, b| a.x.total_cmp(&b.x));
    }
    Ok((out, missing, threshold))
}

/// A growth law fitted to one series of [`summary_against`]: its label, the fit (`None` with
/// fewer than two usable points), and how many of its points are censored (left out).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesFit {
    pub label: String,
    pub fit: Option<GrowthFit>,
    pub censored: usize,
}

/// `growth` fitted to each series of `metric` against `x` (the groups' means, or medians of a
/// time to a threshold). A group where fewer than half the runs reached the threshold has no
/// median and is left out and counted: the fit then describes the groups that got there.
pub fn fits_against(
    runs: &[RunState],
    metric: &str,
    x: &str,
    growth: Growth,
) -> Result<Vec<SeriesFit>, String> {
    let (series, _, _) = against_series(runs, metric, x, BandKind::MinMax)?;
    let censored_of = |label: &str| {
        series
            .iter()
            .filter(|c| c.censored && c.bars.label == format!("{label}: median > budget"))
            .map(|c| c.bars.points.len())
            .sum::<usize>()
    };
    let mut out: Vec<SeriesFit> = series
        .iter()
        .filter(|e| !e.censored)
        .map(|e| {
            let pts: Vec<(f64, f64)> = e.bars.points.iter().map(|p| (p.x, p.mean)).collect();
            SeriesFit {
                label: e.bars.label.clone(),
                fit: GrowthFit::of(growth, &pts),
                censored: censored_of(&e.bars.label),
            }
        })
        .collect();
    // a series whose every point is censored still says so
    for c in series.iter().filter(|c| c.censored) {
        let label = c
            .bars
            .label
            .trim_end_matches(": median > budget")
            .to_string();
        if !out.iter().any(|f| f.label == label) {
            out.push(SeriesFit {
                label,
                fit: None,
                censored: c.bars.points.len(),
            });
        }
    }
    Ok(out)
}

/// A summary metric (final value) of groups of runs against parameter `x`: the mean over
/// each group's finished runs with an error bar (a time to a threshold: its Kaplan–Meier
/// median, the bar over the runs that got there), a series for each value of the other
/// parameters that differ; with `how.fit`, the fitted growth law of each series drawn and
/// stated with its exponent's 95% interval and R².
pub fn summary_against(
    runs: &[RunState],
    metric: &str,
    x: &str,
    how: Against,
) -> Result<Figure, String> {
    let gs = group_runs(runs);
    let mut p = Panel::new(
        format!("{metric} against {x}"),
        Axis::new(x).log(how.log_x),
        Axis::new(metric).log(how.log_y),
    );
    let (series, missing, threshold) = against_series(runs, metric, x, how.band)?;
    p.errors = series.into_iter().map(|s| s.bars).collect();
    let band = how.band;
    let mut fit_notes = Vec::new();
    if let Some(growth) = how.fit {
        for sf in fits_against(runs, metric, x, growth)? {
            let censored = match sf.censored {
                0 => String::new(),
                n => format!(
                    "; {n} point(s) left out, fewer than half their runs got there (the median \
                     exceeds the budget)"
                ),
            };
            let Some(fit) = sf.fit else {
                fit_notes.push(format!(
                    "{}: too few points for a {} fit{censored}",
                    sf.label,
                    growth.name()
                ));
                continue;
            };
            let xs: Vec<f64> = p
                .errors
                .iter()
                .find(|e| e.label == sf.label)
                .map(|e| e.points.iter().map(|q| q.x).collect())
                .unwrap_or_default();
            let (lo, hi) = xs
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let curve: Vec<(f64, f64)> = (0..=48)
                .map(|i| {
                    let t = i as f64 / 48.0;
                    let xv = if how.log_x && lo > 0.0 {
                        lo * (hi / lo).powf(t)
                    } else {
                        lo + (hi - lo) * t
                    };
                    (xv, fit.at(xv))
                })
                .collect();
            let text = format!("{} fit: y {}", sf.label, fit.describe());
            p.lines.push(Line::new(text.clone(), curve));
            fit_notes.push(format!("{text}{censored}"));
        }
    }
    if p.is_empty() {
        p.notes.push(empty_note(&format!(
            "no finished run has a summary value of {metric}"
        )));
    }
    let mut f = Figure::new(format!("{metric} against {x}"), vec![p], 1);
    f.notes.push(format!(
        "{} runs in {} groups, finished runs only; error bars: {}",
        runs.len(),
        gs.len(),
        band.label().trim_start_matches("band: ")
    ));
    if threshold {
        f.notes.push(format!(
            "{metric}: points are Kaplan-Meier medians over each group's runs (a run that \
             never got there counts as censored at its last step), bars the range of the \
             runs that got there; where fewer than half did, the point sits at the longest \
             budget and is labelled so"
        ));
    }
    if missing > 0 {
        f.notes.push(format!(
            "{missing} groups have no finished run with {metric}"
        ));
    }
    f.notes.extend(fit_notes);
    Ok(f)
}
