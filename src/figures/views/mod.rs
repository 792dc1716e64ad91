//! Figures of runs, the views the lab draws: one run's metrics, runs overlaid, groups of
//! runs (same parameters, other seeds) as a mean with a band, a summary metric against a
//! swept parameter with error bars, and an experiment's own figures.

use std::collections::BTreeMap;

use crate::engine::{RunState, Series};
use crate::experiments::ctx::Figure as RunFigure;
use crate::stats::band::{clip, metric_bounds};
use crate::stats::Stats;

use super::model::{Axis, Figure, Image, Line, Panel};

mod groups;
pub use groups::{fits_against, groups, success, summary_against, Against, SeriesFit};

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

/// The x axis of a run's metric: steps, or what a measuring experiment steps through.
fn x_axis_of(run: &RunState, metric: &str) -> Axis {
    Axis::new(crate::experiments::theory::x_axis(&run.experiment, metric))
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
            let mut p = Panel::new(m.as_str(), x_axis_of(run, m), Axis::new(m).log(log_y));
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
        x_axis_of(run, metric),
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

/// The theory's reference lines ([`crate::experiments::theory`]) on each panel whose y axis
/// is a metric of these runs, dashed, each named with its formula; a note says where they
/// come from. Several runs: each run's own curves, one line per formula (the first run's).
pub fn add_theory(fig: &mut Figure, runs: &[&RunState]) {
    let mut drawn = false;
    for p in &mut fig.panels {
        let metric = p.y.label.clone();
        let mut labels: Vec<String> = Vec::new();
        for r in runs {
            let series = |name: &str| r.metrics.get(name).map(series_points).unwrap_or_default();
            for c in crate::experiments::theory::theory(&r.experiment, &metric, &series) {
                if labels.contains(&c.label) {
                    continue;
                }
                labels.push(c.label.clone());
                let mut line = Line::new(c.label, c.points);
                line.dashed = true;
                p.lines.push(line);
                drawn = true;
            }
        }
    }
    if drawn {
        fig.notes.push(
            "dashed: what the paper's theory predicts (--no-theory leaves it out)".to_string(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fit::Growth;

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
