//! The sweep screen's chart: one summary metric against one swept parameter with error
//! bars, a line per combination of the other swept parameters; on request a growth law
//! fitted to each line ([`crate::sweep::scaling`]), drawn with its exponent, and the groups
//! too few of whose runs reached a threshold drawn apart, at their budget.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::sweep::GridRow;
use crate::stats::fit::Growth;
use crate::sweep::scaling::{by_series, ScalePoint, Scaling};
use crate::sweep::Measure;
use crate::tui::app::App;
use crate::tui::fmt::clip;
use crate::tui::keymap::{Cmd, Context};
use crate::tui::model::run_list::short_value;
use crate::tui::model::run_tree::{axis_number, BandKind};
use crate::tui::plot::{self, draw_plot, Look, Plot};
use crate::tui::widgets::{key_legend, titled};

/// One line per combination of the other swept parameters: (label, points x, mean, lo, hi).
type Curve = (String, Vec<(f64, f64, f64, f64)>);

/// The label of a grid point's line: the other swept parameters' values (`k=3 lr=0.1`), or
/// the metric's name when only one parameter is swept.
fn series_label(axes: &[String], r: &GridRow, x: usize, metric: &str) -> String {
    let label: Vec<String> = axes
        .iter()
        .zip(&r.values)
        .enumerate()
        .filter(|(i, _)| *i != x)
        .map(|(_, (a, v))| format!("{a}={}", v.as_ref().map(short_value).unwrap_or("-".into())))
        .collect();
    if label.is_empty() {
        metric.to_string()
    } else {
        label.join(" ")
    }
}

/// The grid points that have `metric` and a number for parameter `x`: label, x, measure.
fn placed<'a>(
    axes: &[String],
    rows: &'a [GridRow],
    metric: &str,
    x: usize,
) -> Vec<(String, f64, &'a Measure, &'a str)> {
    rows.iter()
        .filter_map(|r| {
            let xv = r
                .values
                .get(x)
                .and_then(|v| v.as_ref())
                .and_then(axis_number)?;
            let m = r.agg.metrics.get(metric)?;
            Some((
                series_label(axes, r, x, metric),
                xv,
                m,
                r.experiment.as_str(),
            ))
        })
        .collect()
}

pub(super) fn curves(
    axes: &[String],
    rows: &[GridRow],
    metric: &str,
    x: usize,
    spread: BandKind,
) -> Vec<Curve> {
    let mut out: Vec<Curve> = Vec::new();
    for (label, xv, m, experiment) in placed(axes, rows, metric, x) {
        let point = match m {
            Measure::Result(st) => {
                let (lo, hi) = spread.range_of(st, experiment, metric);
                (xv, st.mean, lo, hi)
            }
            // a median time, with the range of the runs that got there; a point where
            // fewer than half did has no median: it is drawn apart (see `fits`)
            Measure::Threshold(sv) => match (sv.median(), sv.reached.first(), sv.reached.last()) {
                (Some(med), Some(&lo), Some(&hi)) => (xv, med, lo, hi),
                _ => continue,
            },
        };
        let at = match out.iter().position(|c| c.0 == label) {
            Some(i) => i,
            None => {
                out.push((label, Vec::new()));
                out.len() - 1
            }
        };
        out[at].1.push(point);
    }
    for c in &mut out {
        c.1.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

/// `growth` fitted to each line of `metric` against parameter `x`, censored groups kept.
pub(super) fn fits(
    axes: &[String],
    rows: &[GridRow],
    metric: &str,
    x: usize,
    growth: Growth,
) -> Vec<(String, Scaling)> {
    by_series(
        growth,
        placed(axes, rows, metric, x)
            .into_iter()
            .map(|(label, x, measure, _)| (label, ScalePoint { x, measure })),
    )
}

/// Groups too few of whose runs reached the threshold, over every line: (x, budget).
fn censored_of(fits: &[(String, Scaling)]) -> Vec<(f64, f64)> {
    fits.iter()
        .flat_map(|(_, s)| s.censored.iter().copied())
        .collect()
}

/// The plot of the curves: each mean as a line through its points, a dot at each, and an
/// error bar from low to high; each fit's curve, and the censored groups as marks of their
/// own at their budget.
fn curves_plot(
    app: &App,
    curves: &[Curve],
    fits: &[(String, Scaling)],
    look: Look,
    x_label: &str,
) -> Option<Plot> {
    let t = app.settings.theme;
    let axis = |log: bool| {
        move |v: f64| -> Option<f64> {
            match (v.is_finite(), log) {
                (false, _) => None,
                (true, true) => (v > 0.0).then(|| v.log10()),
                (true, false) => Some(v),
            }
        }
    };
    let (tf, tx) = (axis(look.log_y), axis(look.log_x));
    // a point in chart coordinates, if both axes can show it
    let at = |x: f64, y: f64| Some((tx(x)?, tf(y)?));
    let mut lines = Vec::new();
    let mut fills = Vec::new();
    let (mut x0, mut x1) = (f64::INFINITY, f64::NEG_INFINITY);
    for (i, (label, pts)) in curves.iter().enumerate() {
        let (style, marker) = t.series(i);
        let mean: Vec<(f64, f64)> = pts.iter().filter_map(|p| at(p.0, p.1)).collect();
        for p in pts {
            let Some(x) = tx(p.0) else { continue };
            x0 = x0.min(x);
            x1 = x1.max(x);
            if let (Some(lo), Some(hi)) = (tf(p.2), tf(p.3)) {
                let bar = plot::Line {
                    points: vec![(x, lo), (x, hi)],
                    dropped: 0,
                };
                lines.push((String::new(), bar, style, marker));
            }
        }
        fills.push((mean.clone(), style.add_modifier(Modifier::BOLD)));
        lines.push((
            label.clone(),
            plot::Line {
                points: mean,
                dropped: 0,
            },
            style,
            marker,
        ));
    }
    for (i, (label, fit)) in fits.iter().enumerate() {
        let Some(gf) = fit.fit else { continue };
        let colour = curves.iter().position(|c| &c.0 == label).unwrap_or(i);
        let (style, marker) = t.series(colour);
        let points: Vec<(f64, f64)> = fit
            .curve(48, look.log_x)
            .into_iter()
            .filter_map(|(x, y)| at(x, y))
            .collect();
        let b = crate::stats::format::value(gf.exponent());
        let name = match fit.growth {
            Growth::Power => format!("fit ∝ x^{b}"),
            Growth::Exp => format!("fit ∝ e^({b} x)"),
        };
        lines.push((
            name,
            plot::Line { points, dropped: 0 },
            style.add_modifier(Modifier::DIM),
            marker,
        ));
    }
    let censored: Vec<(f64, f64)> = censored_of(fits)
        .into_iter()
        .filter_map(|(x, h)| at(x, h))
        .collect();
    for &(x, _) in &censored {
        x0 = x0.min(x);
        x1 = x1.max(x);
    }
    if !x0.is_finite() {
        return None;
    }
    // the censored marks sit inside the y range too
    let held = plot::Line {
        points: censored.clone(),
        dropped: 0,
    };
    let y = plot::y_bounds(lines.iter().map(|l| &l.1).chain([&held]))?;
    let pad_x = ((x1 - x0) * 0.05).max(if look.log_x { 0.02 } else { 0.5 });
    let mut marks = Vec::new();
    if !censored.is_empty() {
        let n = censored.len();
        marks.push((
            format!("censored ({n}): median > budget"),
            censored,
            t.edited(),
            ratatui::symbols::Marker::Dot,
        ));
    }
    Some(Plot {
        lines,
        fills,
        marks,
        x: (x0 - pad_x, x1 + pad_x),
        y,
        look,
        x_label: x_label.to_string(),
        x_steps: false,
    })
}

pub(super) fn render_chart(
    f: &mut Frame,
    app: &App,
    axes: &[String],
    metrics: &[String],
    rows: &[GridRow],
    area: Rect,
) {
    let t = app.settings.theme;
    let s = &app.sweep_screen;
    let metric = metrics.get(s.metric.min(metrics.len().saturating_sub(1)));
    let axis = axes.get(s.axis.min(axes.len().saturating_sub(1)));
    let log_y = metric.is_some_and(|m| s.log_y(m));
    let look = Look {
        log_y,
        smooth: false,
        log_x: s.log_x,
    };
    let scale = match (s.log_x, log_y) {
        (true, true) => "· log-log ",
        (true, false) => "· log-x ",
        (false, true) => "· log ",
        (false, false) => "",
    };
    let title = match (metric, axis) {
        (Some(m), Some(a)) => format!(
            " {m} against {a} · mean over the seeds, bars {} {scale}",
            s.spread.short_label().trim_start_matches("band "),
        ),
        _ => " Summary against a swept parameter ".into(),
    };
    let keys = key_legend(
        t,
        Context::Sweep,
        &[
            (&[Cmd::LogY], "log"),
            (&[Cmd::Band], "bars"),
            (&[Cmd::Fit], "fit"),
        ],
    );
    let block = titled(
        Block::bordered().border_style(t.border(false)),
        Line::from(Span::styled(clip(&title, area.width as usize), t.title())),
        keys,
        area.width,
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let (plot, notes) = match (metric, axis) {
        (Some(m), Some(a)) => {
            let x = axes.iter().position(|x| x == a).unwrap_or(0);
            let fits = s.fit.map(|g| fits(axes, rows, m, x, g)).unwrap_or_default();
            let notes: Vec<String> = fits
                .iter()
                .map(|(label, sc)| {
                    let text = sc.describe(a);
                    if fits.len() > 1 {
                        format!("{label}: {text}")
                    } else {
                        text
                    }
                })
                .collect();
            let c = curves(axes, rows, m, x, s.spread);
            (curves_plot(app, &c, &fits, look, a), notes)
        }
        _ => (None, Vec::new()),
    };
    // the fits' words under the chart, a line each (at most half the chart)
    let note_h = (notes.len() as u16).min(inner.height / 2);
    let [chart_a, notes_a] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(note_h)]).areas(inner);
    let w = notes_a.width as usize;
    let lines: Vec<Line> = notes
        .iter()
        .map(|n| Line::from(Span::styled(clip(n, w), t.text())))
        .collect();
    f.render_widget(Paragraph::new(lines), notes_a);
    match plot {
        Some(p) => draw_plot(f, t, &p, chart_a, true),
        None => {
            let why = if axes.is_empty() {
                "this sweep varies only the seed: its runs are one group (see the runs table)"
            } else {
                "no finished run yet: summary metrics come when runs finish"
            };
            f.render_widget(Paragraph::new(Span::styled(why, t.dim())), chart_a);
        }
    }
}
