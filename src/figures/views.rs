//! Figures of runs, the views the lab draws: one run's metrics, runs overlaid, groups of
//! runs (same parameters, other seeds) as a mean with a band, a summary metric against a
//! swept parameter with error bars, and an experiment's own figures.

use std::collections::BTreeMap;

use crate::engine::{RunState, Series};
use crate::experiments::ctx::Figure as RunFigure;
use crate::spec::Value;
use crate::stats::band::{clip, metric_bounds};
use crate::stats::fit::{Growth, GrowthFit};
use crate::stats::Stats;
use crate::sweep::{group_runs, Aggregate, Group, Measure};

use super::model::{Axis, ErrorBars, ErrorPoint, Figure, Image, Line, Panel};

/// What a band (or error bar) spans around the mean: in the lab's charts (`b` switches it)
/// and in the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BandKind {
    /// From the smallest to the largest value.
    #[default]
    MinMax,
    /// One sample standard deviation either side of the mean.
    Sd,
}

impl BandKind {
    pub fn parse(s: &str) -> Result<BandKind, String> {
        match s {
            "minmax" => Ok(BandKind::MinMax),
            "sd" => Ok(BandKind::Sd),
            _ => Err(format!(
                "--band {s}: allowed: minmax (smallest to largest) or sd (mean +- one sd)"
            )),
        }
    }

    /// The other kind (the lab's `b` key).
    pub fn next(self) -> Self {
        match self {
            BandKind::MinMax => BandKind::Sd,
            BandKind::Sd => BandKind::MinMax,
        }
    }

    /// How the lab names it in a chart's title.
    pub fn short_label(self) -> &'static str {
        match self {
            BandKind::MinMax => "band min..max",
            BandKind::Sd => "band ±1 sd",
        }
    }

    /// The (lo, hi) of some statistics.
    pub fn range(self, s: &Stats) -> (f64, f64) {
        match self {
            BandKind::MinMax => (s.min, s.max),
            BandKind::Sd => (s.mean - s.sd, s.mean + s.sd),
        }
    }

    /// The (lo, hi) of some statistics of `metric`, within what the metric can be (an
    /// accuracy's mean + sd stops at 1).
    pub fn range_of(self, s: &Stats, experiment: &str, metric: &str) -> (f64, f64) {
        clip(self.range(s), metric_bounds(experiment, metric))
    }

    fn label(self) -> &'static str {
        match self {
            BandKind::MinMax => "band: min..max over seeds",
            BandKind::Sd => "band: mean +- sd over seeds",
        }
    }
}

/// Log scale by default for metrics that span decades: SNRs and variances.
pub fn log_by_default(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    (n.contains("snr") || n.contains("var")) && !n.starts_with("log")
}

/// The metrics that measure the same thing as `name` for the run's other methods: for
/// `group/rest`, every other `*/rest`, in name order.
pub fn siblings<'a>(
    metrics: &'a BTreeMap<String, Series>,
    name: &str,
) -> Vec<(String, &'a Series)> {
    metrics
        .iter()
        .filter(|(other, _)| same_quantity(name, other))
        .map(|(other, s)| (other.clone(), s))
        .collect()
}

/// `other` measures what `name` measures, for another method: `dec/x` for `e2e/x`.
fn same_quantity(name: &str, other: &str) -> bool {
    match (name.split_once('/'), other.split_once('/')) {
        (Some((g, r)), Some((og, or))) => r == or && g != og,
        _ => false,
    }
}

/// The metrics a parity run's hidden-progress chart draws together, all on [0, 1]-ish scales:
/// the loss plateau, the accuracy, and the correlation of the output with the target parity
/// against the largest with other subsets of its size.
pub const HIDDEN_PROGRESS: &[&str] = &[
    "train_loss",
    "test_accuracy",
    "fourier_target",
    "fourier_max_other",
];

/// The hidden-progress metrics of a run, those it has, in [`HIDDEN_PROGRESS`] order; empty
/// for a run without `fourier_target` (not a parity run).
pub fn hidden_progress(metrics: &BTreeMap<String, Series>) -> Vec<(String, &Series)> {
    if !metrics.contains_key("fourier_target") {
        return Vec::new();
    }
    HIDDEN_PROGRESS
        .iter()
        .filter_map(|m| metrics.get(*m).map(|s| (m.to_string(), s)))
        .collect()
}

/// A metric's points as (step, value).
pub fn series_points(s: &Series) -> Vec<(f64, f64)> {
    s.points().map(|p| (p.step as f64, p.value)).collect()
}

/// `d=5 k=3`: the parameters whose values differ among `params`, for each of them.
pub fn differing_labels<'a>(params: impl Iterator<Item = &'a crate::spec::Params>) -> Vec<String> {
    let all: Vec<&crate::spec::Params> = params.collect();
    let Some(first) = all.first() else {
        return Vec::new();
    };
    let mut names: Vec<&str> = all.iter().flat_map(|p| p.differing(first)).collect();
    names.sort_unstable();
    names.dedup();
    all.iter()
        .map(|p| {
            let parts: Vec<String> = names
                .iter()
                .filter_map(|n| p.get(n).map(|v| format!("{n}={v}")))
                .collect();
            parts.join(" ")
        })
        .collect()
}

/// How each run is named in a legend: what sets it apart (parameters, else seed), else its id.
pub fn run_labels(runs: &[&RunState]) -> Vec<String> {
    let by_params = differing_labels(runs.iter().map(|r| &r.params));
    let seeds_differ = runs.windows(2).any(|w| w[0].seed != w[1].seed);
    runs.iter()
        .zip(by_params)
        .map(|(r, mut label)| {
            if seeds_differ {
                if let Some(s) = r.seed {
                    label = format!("{label} seed {s}").trim().to_string();
                }
            }
            if label.is_empty() {
                r.id.clone()
            } else {
                label
            }
        })
        .collect()
}

fn step_axis() -> Axis {
    Axis::new("step")
}

/// The note of a panel with nothing to draw.
fn empty_note(what: &str) -> String {
    format!("no points: {what}")
}

/// One panel per metric of one run (every metric when `metrics` is empty).
pub fn run_metrics(run: &RunState, metrics: &[String], log_y: bool) -> Figure {
    let names: Vec<&String> = if metrics.is_empty() {
        run.metrics.keys().collect()
    } else {
        metrics.iter().collect()
    };
    let mut panels: Vec<Panel> = names
        .iter()
        .map(|m| {
            let mut p = Panel::new(m.as_str(), step_axis(), Axis::new(m).log(log_y));
            let pts = run.metrics.get(*m).map(series_points).unwrap_or_default();
            if pts.is_empty() {
                p.notes
                    .push(empty_note(&format!("{} recorded no {m}", run.id)));
            }
            // the panel's title names the metric: no legend for its one line
            p.lines.push(Line::new("", pts));
            p
        })
        .collect();
    if panels.is_empty() {
        let mut p = Panel::new("metrics", step_axis(), Axis::new("value"));
        p.notes
            .push(empty_note(&format!("{} recorded no metric", run.id)));
        panels.push(p);
    }
    let cols = (panels.len() as f64).sqrt().ceil() as usize;
    let mut f = Figure::new(format!("{} · {}", run.id, run.title), panels, cols);
    f.notes.push(run_note(run));
    f
}

/// `E1 · seed 0 · finished at step 5000`.
pub fn run_note(run: &RunState) -> String {
    let seed = run.seed.map(|s| format!(" · seed {s}")).unwrap_or_default();
    format!(
        "{} {}{seed} · {} at step {}",
        run.id,
        run.experiment,
        run.status.label(),
        run.step
    )
}

/// One metric of a run, with the same quantity of its other methods (E2's `e2e/...` beside
/// `dec/...`), as the lab's chart draws it.
pub fn run_metric(run: &RunState, metric: &str, log_y: bool) -> Figure {
    let mut p = Panel::new(
        format!("Run {}", run.id),
        step_axis(),
        Axis::new(metric).log(log_y),
    );
    if let Some(s) = run.metrics.get(metric) {
        p.lines.push(Line::new(metric, series_points(s)));
        p.lines.extend(
            siblings(&run.metrics, metric)
                .into_iter()
                .map(|(name, s)| Line::new(name, series_points(s))),
        );
    }
    let mut f = Figure::new(format!("{} · {}", run.id, run.title), vec![p], 1);
    f.notes.push(run_note(run));
    f
}

/// One metric of runs on shared axes, a line per run, and per method where the runs trained
/// several (E2's end-to-end and decomposition).
pub fn overlay(runs: &[&RunState], metric: &str, log_y: bool) -> Figure {
    let names = runs
        .iter()
        .flat_map(|r| r.metrics.keys().map(String::as_str));
    let methods = method_siblings(names, metric);
    let title = match methods.len() {
        1 => metric.to_string(),
        _ => metric
            .split_once('/')
            .map_or(metric, |(_, rest)| rest)
            .to_string(),
    };
    let mut p = Panel::new(&title, step_axis(), Axis::new(&title).log(log_y));
    for (i, (r, label)) in runs.iter().zip(run_labels(runs)).enumerate() {
        for (j, m) in methods.iter().enumerate() {
            let pts = r.metrics.get(m).map(series_points).unwrap_or_default();
            if pts.is_empty() {
                p.notes
                    .push(empty_note(&format!("{} recorded no {m}", r.id)));
            }
            let mut line = Line::new(
                match (runs.len(), methods.len()) {
                    (_, 1) => label.clone(),
                    (1, _) => method_name(m).to_string(),
                    _ => format!("{label} · {}", method_name(m)),
                },
                pts,
            );
            // one run: a colour per method (end to end red, decomposition blue, as the
            // paper draws them); several: a colour per run, a dash per method after the first
            if runs.len() > 1 && methods.len() > 1 {
                line.colour = Some(i);
                line.dashed = j > 0;
            }
            p.lines.push(line);
        }
    }
    if let [run] = runs {
        let mut f = Figure::new(format!("{} · {}", run.id, run.title), vec![p], 1);
        f.notes.push(run_note(run));
        return f;
    }
    let mut f = Figure::new(&title, vec![p], 1);
    f.notes.push(format!(
        "runs: {}",
        runs.iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    f
}

/// `metric` and the same metric under the experiment's other methods, as the lab overlays
/// them ([`siblings`]): `e2e/test_accuracy` with `dec/test_accuracy` where a run recorded it.
pub fn method_siblings<'a>(names: impl Iterator<Item = &'a str>, metric: &str) -> Vec<String> {
    let mut others: Vec<String> = names
        .filter(|n| same_quantity(metric, n))
        .map(str::to_string)
        .collect();
    others.sort();
    others.dedup();
    std::iter::once(metric.to_string()).chain(others).collect()
}

/// A method's name in a legend, from its metrics' prefix.
fn method_name(metric: &str) -> &str {
    match metric.split_once('/').map_or(metric, |(m, _)| m) {
        "e2e" => "end-to-end",
        "dec" => "decomposition",
        other => other,
    }
}

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
            format!("{label} ({})", agg.count_cell()),
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

/// An experiment's figure (curves or a picture) as a panel.
pub fn experiment_panel(fig: &RunFigure) -> Panel {
    match fig {
        RunFigure::Curves {
            title,
            x_label,
            y_label,
            series,
        } => {
            let mut p = Panel::new(title.as_str(), Axis::new(x_label), Axis::new(y_label));
            p.lines = series
                .iter()
                .map(|(name, pts)| Line::new(name.as_str(), pts.clone()))
                .collect();
            if p.is_empty() {
                p.notes.push(empty_note("the figure has no points"));
            }
            p
        }
        RunFigure::Image {
            title,
            width,
            height,
            pixels,
        } => {
            let mut p = Panel::new(title.as_str(), Axis::default(), Axis::default());
            p.image = Some(Image {
                width: *width,
                height: *height,
                pixels: pixels.clone(),
            });
            p
        }
    }
}

/// At most this many of a run's own figures go in one file.
pub const MAX_OWN_FIGURES: usize = 12;

/// A run's own figures whose titles contain `filter` (all when empty), oldest step first;
/// the latest [`MAX_OWN_FIGURES`] of them when there are more. Reads `figures.jsonl` if the
/// run has not yet.
pub fn experiment_figures(run: &mut RunState, filter: &str) -> Figure {
    if run.figures.is_empty() {
        run.load_figures();
    }
    let mut figs: Vec<&(u64, RunFigure)> = run
        .figures
        .values()
        .filter(|(_, f)| f.title().contains(filter))
        .collect();
    figs.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.title().cmp(b.1.title())));
    let left_out = figs.len().saturating_sub(MAX_OWN_FIGURES);
    let mut panels: Vec<Panel> = figs[left_out..]
        .iter()
        .map(|(_, f)| experiment_panel(f))
        .collect();
    if panels.is_empty() {
        let what = if filter.is_empty() {
            format!("{} drew no figure of its own", run.id)
        } else {
            format!("no figure of {} has \"{filter}\" in its title", run.id)
        };
        let mut p = Panel::new("figure", Axis::new("x"), Axis::new("y"));
        p.notes.push(empty_note(&what));
        panels.push(p);
    }
    let cols = (panels.len() as f64).sqrt().ceil() as usize;
    let mut f = Figure::new(format!("{} · {}", run.id, run.title), panels, cols);
    f.notes.push(run_note(run));
    if left_out > 0 {
        f.notes.push(format!(
            "the latest {MAX_OWN_FIGURES} of {} figures; --figure TEXT picks by title",
            figs.len()
        ));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An E1 run at `d` and `seed`, stopped at step 1500, that reached 0.99 at `hit` if it did.
    fn e1(d: i64, seed: u64, hit: Option<f64>) -> RunState {
        let params = crate::experiments::params_with("E1", &[("d", &d.to_string())]).unwrap();
        let mut r = RunState::new(&format!("r{d}-{seed}"), "E1", "t", params);
        r.seed = Some(seed);
        r.status = crate::engine::Status::Finished;
        r.step = 1500;
        let mut s = crate::experiments::ctx::Summary::default();
        s.set("test_accuracy", 1.0);
        if let Some(h) = hit {
            s.set("steps_to_0.99", h);
        }
        r.summary = Some(s);
        r
    }

    #[test]
    fn a_growth_fit_uses_the_medians_and_leaves_out_what_never_got_there() {
        // steps = 5 e^(0.5 d) at d = 4, 6, 8 (both seeds); at d = 10 no run got there
        let mut runs = Vec::new();
        for d in [4, 6, 8] {
            let t = (5.0 * (0.5 * d as f64).exp()).round();
            runs.extend([e1(d, 0, Some(t)), e1(d, 1, Some(t))]);
        }
        runs.extend([e1(10, 0, None), e1(10, 1, None)]);
        let fits = fits_against(&runs, "steps_to_0.99", "d", Growth::Exp).unwrap();
        assert_eq!(fits.len(), 1, "{fits:?}");
        let f = fits[0].fit.unwrap();
        assert!((f.exponent() - 0.5).abs() < 0.01, "{f:?}");
        assert_eq!((f.line.n, fits[0].censored), (3, 1));

        let how = Against {
            fit: Some(Growth::Exp),
            log_y: true,
            ..Against::default()
        };
        let fig = summary_against(&runs, "steps_to_0.99", "d", how).unwrap();
        let note = fig.notes.iter().find(|n| n.contains(" fit: y ")).unwrap();
        assert!(
            note.contains("∝ e^(0.5") && note.contains("1 point(s) left out"),
            "{note}"
        );
        assert_eq!(fig.panels[0].lines.len(), 1, "the fitted curve is drawn");
        // a power law fitted to the same points says so with its own exponent
        let p = fits_against(&runs, "steps_to_0.99", "d", Growth::Power).unwrap();
        assert!(p[0].fit.unwrap().exponent() > 1.0);
    }

    #[test]
    fn log_scale_for_snr_and_variances_only() {
        assert!(log_by_default("grad_snr"));
        assert!(log_by_default("grad_var_targets"));
        assert!(log_by_default("SNR_end_to_end"));
        assert!(!log_by_default("log2_var"), "already a logarithm");
        assert!(!log_by_default("test_accuracy"));
    }

    #[test]
    fn siblings_are_the_same_quantity_of_the_other_methods() {
        let mut m = BTreeMap::new();
        for name in [
            "e2e/test_accuracy",
            "dec/test_accuracy",
            "dec/loss",
            "steps",
        ] {
            m.insert(name.to_string(), Series::default());
        }
        let names: Vec<String> = siblings(&m, "e2e/test_accuracy")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["dec/test_accuracy"]);
        assert!(siblings(&m, "steps").is_empty());
    }
}
