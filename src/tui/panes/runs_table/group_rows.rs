//! The runs table's rows for a group (runs that differ only in their seed) and for a sweep:
//! what their runs add up to, on the columns of a run's row.

use ratatui::text::{Line, Span};

use super::{cell, exp_text, snr_metric, Cols};
use crate::engine::Series;
use crate::sweep::Measure;
use crate::tui::app::App;
use crate::tui::fmt::{self, clip};
use crate::tui::model::run_list::RunRow;
use crate::tui::model::run_tree::{band_of, GroupNode, Node, Tally};
use crate::tui::plot;
use crate::tui::theme::{status_icon, Theme};
use crate::tui::widgets::{pad, rpad};

/// `▾` for an open row, `▸` for a folded one.
fn fold_mark(open: bool) -> &'static str {
    if open {
        "▾"
    } else {
        "▸"
    }
}

/// Status counts as `✓3 ●1 ✗1`, each in its status's colour.
fn counts_spans(t: Theme, tally: &Tally, w: usize) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut used = 0;
    for (s, n) in &tally.counts {
        let text = format!("{}{n} ", status_icon(*s));
        used += text.chars().count();
        if used > w {
            break;
        }
        out.push(Span::styled(text, t.status(*s)));
    }
    out
}

/// The runs of `nums` that the table knows.
fn rows_of<'a>(app: &'a App, nums: &[usize]) -> Vec<&'a RunRow> {
    nums.iter().filter_map(|&n| app.runs.get(n)).collect()
}

/// The main metric over the group (`0.64 ± 0.10`), with its time to a threshold once its
/// runs have ended (`· steps_to_0.99 2/4 >1500`) when `wide`.
fn main_text(tally: &Tally, wide: bool) -> String {
    let mut text = tally.main.as_ref().map(Measure::short).unwrap_or_default();
    if let (true, Some((name, m))) = (wide, &tally.threshold) {
        text.push_str(&format!(" · {name} {}", m.short()));
    }
    text
}

/// The room of a group's or sweep's label and status counts: the experiment, `differs` and
/// status columns of a run's row.
fn label_width(c: &Cols) -> usize {
    c.exp + 1 + c.differs + if c.status > 0 { c.status + 1 } else { 0 }
}

/// The sweep's or group's label, then its status counts as room allows.
fn label_cells(t: Theme, label: &str, tally: &Tally, w: usize) -> Vec<Span<'static>> {
    let room = w.saturating_sub(label.chars().count() + 1);
    let counts = counts_spans(t, tally, room);
    let used: usize = counts.iter().map(|s| s.content.chars().count()).sum();
    let mut spans = vec![Span::styled(
        pad(label, w.saturating_sub(used)),
        t.heading(),
    )];
    spans.extend(counts);
    spans.push(Span::raw(" "));
    spans
}

/// A grid point's (or a hand group's) row: n, status counts, the main metric's latest value
/// as mean ± sd, and sparklines of the mean over its runs.
pub(super) fn group_line(t: Theme, app: &App, g: &GroupNode, c: &Cols, depth: u8) -> Line<'static> {
    let runs = rows_of(app, &g.members);
    let main = runs
        .first()
        .and_then(|r| r.main_metric())
        .map(str::to_string);
    let tally = Tally::of(&runs, main.as_deref());
    let node = Node::Group(g.key.clone());
    let marked = app.runs.marked_groups.contains(&g.key);
    let label = crate::tui::panes::group_chart::group_label(app, g);
    // a grid point under its sweep needs no experiment: its label takes that room too
    let label = if depth > 0 {
        format!("{}{label}", "  ".repeat(depth as usize))
    } else if label == g.experiment {
        exp_text(&g.experiment, c.exp)
    } else {
        format!("{} {label}", pad(&exp_text(&g.experiment, c.exp), c.exp))
    };
    let mut spans = vec![
        Span::styled(if marked { "*" } else { " " }, t.edited()),
        Span::styled(fold_mark(app.runs.is_open(&node)), t.key()),
        Span::raw(" "),
        Span::raw(rpad("", 3)),
        Span::raw(" "),
    ];
    spans.extend(label_cells(t, &label, &tally, label_width(c)));
    cell(
        &mut spans,
        rpad(&tally.count_cell(), c.step),
        c.step,
        t.text(),
    );
    cell(&mut spans, rpad("", c.speed), c.speed, t.dim());
    let eta = tally.eta_s.map(fmt::duration).unwrap_or_default();
    cell(&mut spans, rpad(&eta, c.eta), c.eta, t.dim());
    let latest = match &main {
        Some(m) if c.latest > 10 => format!("{m} {}", main_text(&tally, c.latest > 40)),
        // a narrow column keeps the mean whole
        _ if main_text(&tally, false).chars().count() > c.latest => tally
            .main
            .as_ref()
            .and_then(Measure::center)
            .map(fmt::value)
            .unwrap_or_default(),
        _ => main_text(&tally, false),
    };
    cell(
        &mut spans,
        rpad(&clip(&latest, c.latest), c.latest),
        c.latest,
        t.heading(),
    );
    let log = main.as_deref().is_some_and(|m| app.chart.look(m).log_y);
    let trend = main
        .as_deref()
        .map(|m| mean_sparkline(&runs, m, c.trend, log))
        .unwrap_or_default();
    cell(&mut spans, pad(&trend, c.trend), c.trend, t.series(0).0);
    if c.snr > 0 {
        let snr = runs
            .first()
            .and_then(|r| snr_metric(&r.state))
            .map(|m| mean_sparkline(&runs, m, c.snr, true))
            .unwrap_or_default();
        cell(&mut spans, pad(&snr, c.snr), c.snr, t.series(1).0);
    }
    spans.pop();
    Line::from(spans)
}

/// The sparkline of the mean of metric `name` over `runs`.
fn mean_sparkline(runs: &[&RunRow], name: &str, width: usize, log_y: bool) -> String {
    let band = band_of(runs, name);
    let mean = band.iter().fold(Series::default(), |mut s, p| {
        s.push(p.step, p.stats.mean);
        s
    });
    plot::sparkline(&mean, width, log_y)
}

/// A sweep's row: its swept parameters, its runs by status, and a bar of its progress.
pub(super) fn sweep_line(t: Theme, app: &App, id: &str, c: &Cols) -> Line<'static> {
    let node = Node::Sweep(id.to_string());
    let runs = rows_of(app, &app.runs.tree.runs_of(&node));
    let tally = Tally::of(&runs, None);
    let info = app.runs.sweeps.get(id);
    let planned = info.map_or(tally.total, |i| i.total.max(tally.total));
    let experiment = app
        .runs
        .tree
        .sweep(id)
        .map(|s| s.experiment.clone())
        .unwrap_or_default();
    let axes = info.map(|i| i.axes.join(" × ")).unwrap_or_default();
    let seeds = {
        let mut s: Vec<u64> = runs.iter().filter_map(|r| r.state.seed).collect();
        s.sort_unstable();
        s.dedup();
        s.len()
    };
    let mut label = if axes.is_empty() {
        format!("sweep {} seeds", seeds)
    } else {
        format!("sweep {axes} · {seeds} seeds")
    };
    if let Some(q) = info.and_then(|i| i.queue.as_ref()) {
        label.push_str(&format!(" · {q}"));
    }
    let label = format!("{} {label}", pad(&experiment, c.exp.min(4)));
    let mut spans = vec![
        Span::raw(" "),
        Span::styled(fold_mark(app.runs.is_open(&node)), t.key()),
        Span::raw(" "),
        Span::raw(rpad("", 3)),
        Span::raw(" "),
    ];
    spans.extend(label_cells(t, &label, &tally, label_width(c)));
    let done = tally.ended();
    let progress = format!("{done}/{planned}");
    cell(&mut spans, rpad(&progress, c.step), c.step, t.text());
    cell(&mut spans, rpad("", c.speed), c.speed, t.dim());
    let eta = tally.eta_s.map(fmt::duration).unwrap_or_default();
    cell(&mut spans, rpad(&eta, c.eta), c.eta, t.dim());
    // the sweep's id where there is room (the chart's title has it too)
    let id_text = if c.latest > 10 {
        clip(id, c.latest)
    } else {
        String::new()
    };
    cell(&mut spans, rpad(&id_text, c.latest), c.latest, t.dim());
    let bar = progress_bar(
        done,
        planned,
        c.trend + if c.snr > 0 { c.snr + 1 } else { 0 },
    );
    spans.push(Span::styled(bar, t.series(0).0));
    Line::from(spans)
}

/// `█████░░░░░`: `done` of `total` over `width` cells.
fn progress_bar(done: usize, total: usize, width: usize) -> String {
    let full = (done.min(total) * width).checked_div(total).unwrap_or(0);
    format!("{}{}", "█".repeat(full), "░".repeat(width - full))
}
