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

/// What a group's row says of its runs in `w` characters: the main metric over the group
/// (`0.64 ± 0.10`) and, once its runs have ended, its time to a threshold (`0/4 >1500`),
/// named as room allows; a narrow column keeps the main metric's center whole.
fn main_text(tally: &Tally, main: Option<&str>, w: usize) -> String {
    let Some(value) = tally.main.as_ref().map(Measure::short) else {
        return String::new();
    };
    let mut tries = Vec::new();
    let named = |v: &str| main.map_or(v.to_string(), |m| format!("{m} {v}"));
    if let Some((name, m)) = &tally.threshold {
        let short = m.short();
        let level = name.trim_start_matches("steps_to_");
        tries.push(format!("{} · {name} {short}", named(&value)));
        tries.push(format!("{value} · {name} {short}"));
        tries.push(format!("{value} · to {level} {short}"));
        tries.push(format!("{value} · {short}"));
    }
    tries.push(named(&value));
    tries.push(value);
    tries
        .into_iter()
        .find(|t| t.chars().count() <= w)
        .or_else(|| {
            let center = tally.main.as_ref().and_then(Measure::center)?;
            Some(crate::stats::format::value(center))
        })
        .unwrap_or_default()
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
    // the count in the step column; a long one (`n=1 seed, 3 runs`) takes the speed
    // column too (a group has no speed of its own), or shortens to `n=1 (3)`
    let full = tally.count_cell();
    let wide = c.step + if c.speed > 0 { c.speed + 1 } else { 0 };
    if full.chars().count() <= c.step || full.chars().count() > wide {
        let count = if full.chars().count() <= c.step {
            full
        } else {
            format!("n={} ({})", tally.seeds, tally.total)
        };
        cell(&mut spans, rpad(&count, c.step), c.step, t.text());
        cell(&mut spans, rpad("", c.speed), c.speed, t.dim());
    } else {
        cell(&mut spans, rpad(&full, wide), wide, t.text());
    }
    let eta = tally.eta_s.map(fmt::duration).unwrap_or_default();
    cell(&mut spans, rpad(&eta, c.eta), c.eta, t.dim());
    let latest = main_text(&tally, main.as_deref(), c.latest);
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
    // the longest label that fits whole: `sweep d × lr · 3 seeds · queue`, then shorter
    // (`d × lr · 3 seeds`, `d × lr`), never a cut `sweep d …`
    let queue = info
        .and_then(|i| i.queue.as_ref())
        .map(|q| format!(" · {q}"))
        .unwrap_or_default();
    let seeds = format!("{seeds} seed{}", if seeds == 1 { "" } else { "s" });
    let tries = if axes.is_empty() {
        vec![
            format!("sweep {seeds}{queue}"),
            format!("sweep {seeds}"),
            seeds,
        ]
    } else {
        vec![
            format!("sweep {axes} · {seeds}{queue}"),
            format!("sweep {axes} · {seeds}"),
            format!("{axes} · {seeds}"),
            format!("sweep {axes}"),
            axes.clone(),
        ]
    };
    let exp = pad(&experiment, c.exp.min(4));
    let room = label_width(c).saturating_sub(exp.chars().count() + 1);
    let label = tries
        .iter()
        .find(|l| l.chars().count() <= room)
        .unwrap_or(&tries[tries.len() - 1]);
    let label = format!("{exp} {label}");
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
