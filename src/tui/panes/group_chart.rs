//! The chart pane on a group row (its metric's mean over the seeds with a band) and on a
//! sweep row (every grid point's mean, with its band, in one chart).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::Pane;
use crate::engine::RunState;
use crate::sweep::group::{is_threshold, Aggregate, Measure};
use crate::tui::app::App;
use crate::tui::bands::{draw_bands, Band};
use crate::tui::fmt;
use crate::tui::keymap::{Cmd, Context};
use crate::tui::model::run_list::RunRow;
use crate::tui::model::run_tree::{point_label, GroupNode};
use crate::tui::plot::{self, draw_plot, Look, Plot};
use crate::tui::widgets::{key_legend, pane_frame, titled};

/// A sweep row's chart draws at most this many of its groups (the first, in grid order).
pub const MAX_GROUPS: usize = 12;

/// The metric a group's chart shows: the one asked for if a run of it has it, else the
/// main metric of its first run.
pub fn group_metric(app: &App, runs: &[&RunRow]) -> Option<String> {
    match &app.chart.metric {
        Some(m) if runs.iter().any(|r| r.state.metrics.contains_key(m)) => Some(m.clone()),
        _ => runs
            .iter()
            .find_map(|r| r.main_metric())
            .map(str::to_string),
    }
}

/// A group's label: its grid point in a sweep, else what sets its runs apart.
pub fn group_label(app: &App, g: &GroupNode) -> String {
    let first = g.members.first().and_then(|&n| app.runs.get(n));
    match (&g.sweep, first) {
        (Some(id), Some(r)) => {
            let axes = app
                .runs
                .sweeps
                .get(id)
                .map(|s| s.axes.clone())
                .unwrap_or_default();
            let label = point_label(&axes, &r.state.params);
            if label.is_empty() {
                r.differs_text()
            } else {
                label
            }
        }
        (None, Some(r)) if !r.differs.is_empty() => r.differs_text(),
        (None, Some(r)) => r.state.experiment.clone(),
        _ => String::new(),
    }
}

pub fn group_runs<'a>(app: &'a App, g: &GroupNode) -> Vec<&'a RunRow> {
    g.members.iter().filter_map(|&n| app.runs.get(n)).collect()
}

/// The bands of `groups` on the metric of the first group's runs.
pub fn bands_of(app: &App, groups: &[&GroupNode]) -> (Option<String>, Vec<Band>) {
    let all: Vec<&RunRow> = groups.iter().flat_map(|g| group_runs(app, g)).collect();
    let Some(metric) = group_metric(app, &all) else {
        return (None, Vec::new());
    };
    let bands = groups
        .iter()
        .filter_map(|g| {
            let runs = group_runs(app, g);
            Band::of(group_label(app, g), &runs, &metric, app.chart.spread)
        })
        .collect();
    (Some(metric), bands)
}

/// The share of each group's finished runs (one per seed) that reached the first threshold
/// of their summaries (`steps_to_*`) by each step: the threshold and a plot, and the runs
/// counted; `None` when no finished run has a threshold.
pub fn success_plot(app: &App, groups: &[&GroupNode]) -> Option<(String, Plot, usize)> {
    let t = app.settings.theme;
    let aggs: Vec<(String, Aggregate)> = groups
        .iter()
        .map(|g| {
            let states: Vec<&RunState> = group_runs(app, g).iter().map(|r| &r.state).collect();
            (group_label(app, g), Aggregate::of(&states))
        })
        .collect();
    let metric = aggs
        .iter()
        .flat_map(|(_, a)| a.metric_names(""))
        .find(|n| is_threshold(n))?;
    let mut lines = Vec::new();
    let mut counted = 0;
    let mut x_hi: f64 = 1.0;
    for (i, (label, agg)) in aggs.iter().enumerate() {
        let Some(Measure::Threshold(s)) = agg.metrics.get(&metric) else {
            continue;
        };
        counted += s.n;
        x_hi = x_hi.max(s.horizon());
        let (style, marker) = t.series(i);
        let curve = plot::Line {
            points: s.success_curve(0.0),
            dropped: 0,
        };
        let label = format!("{label} {}/{}", s.hits(), s.n);
        lines.push((label, curve, style, marker));
    }
    Some((
        metric,
        Plot {
            lines,
            fills: Vec::new(),
            marks: Vec::new(),
            x: (0.0, x_hi),
            y: (0.0, 1.0),
            look: Look::default(),
            x_label: "step".into(),
            x_steps: true,
        },
        counted,
    ))
}

/// Draws the groups' success curves; false when they have no threshold.
fn render_success(f: &mut Frame, app: &App, area: Rect, what: &str, groups: &[&GroupNode]) -> bool {
    let t = app.settings.theme;
    let Some((metric, plot, n)) = success_plot(app, groups) else {
        return false;
    };
    let title = format!(" {what} · share past {metric} · {n} runs, a seed each ");
    let keys = key_legend(t, Context::Chart, &[(&[Cmd::Success], "metric")]);
    let block = titled(
        pane_frame(t, app.focus == Pane::Chart),
        Line::from(Span::styled(title, t.title())),
        keys,
        area.width,
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    draw_plot(f, t, &plot, inner, true);
    true
}

/// Draws the chart of a group row (one group) or a sweep row (its groups).
pub fn render(f: &mut Frame, app: &App, area: Rect, what: &str, groups: &[&GroupNode]) {
    let t = app.settings.theme;
    let focused = app.focus == Pane::Chart;
    if app.chart.success && render_success(f, app, area, what, groups) {
        return;
    }
    let (metric, bands) = bands_of(app, groups);
    let look = metric
        .as_deref()
        .map(|m| app.chart.look(m))
        .unwrap_or_default();
    let runs: usize = groups.iter().map(|g| g.members.len()).sum();
    let flags = look.flags(t);
    let spread = (groups.len() == 1).then(|| format!("{} ", app.chart.spread.short_label()));
    let fixed = flags.iter().map(|f| f.width()).sum::<usize>()
        + spread.as_ref().map_or(0, |s| s.chars().count());
    let head = fit_title(
        what,
        runs,
        metric.as_deref().unwrap_or("no metrics yet"),
        (area.width as usize).saturating_sub(2 + fixed),
    );
    let mut title = vec![Span::styled(head, t.title())];
    title.extend(flags);
    if let Some(spread) = spread {
        title.push(Span::styled(spread, t.dim()));
    }
    let keys = key_legend(
        t,
        Context::Chart,
        &[
            (&[Cmd::NextMetric], "metric"),
            (&[Cmd::LogY], "log"),
            (&[Cmd::Band], "band"),
            (&[Cmd::Success], "reached"),
        ],
    );
    let block = titled(pane_frame(t, focused), Line::from(title), keys, area.width);
    let inner = block.inner(area);
    f.render_widget(block, area);
    // one group's band; a sweep's grid points as their means (bands would hide each other)
    if !draw_bands(f, t, &bands, look, inner, true, groups.len() == 1) {
        f.render_widget(
            Paragraph::new(Span::styled(
                "no metric points yet in these runs (queued, or loading)",
                t.dim(),
            )),
            inner,
        );
    }
}

/// ` Group d=5 · 3 runs · test_accuracy ` in `room` characters: whole parts are dropped in
/// turn, the count of runs first, then the group's label or the sweep's id (` Sweep ·
/// test_accuracy `), then the word before it; the metric's name is cut in its middle only
/// when it alone does not fit.
pub fn fit_title(what: &str, runs: usize, metric: &str, room: usize) -> String {
    let kind = what.split(' ').next().unwrap_or(what);
    [
        format!(" {what} · {runs} runs · {metric} "),
        format!(" {what} · {metric} "),
        format!(" {kind} · {metric} "),
        format!(" {metric} "),
    ]
    .into_iter()
    .find(|t| t.chars().count() <= room)
    .unwrap_or_else(|| {
        format!(
            " {} ",
            fmt::clip_middle(metric, room.saturating_sub(2).max(1))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::fit_title;

    #[test]
    fn a_group_chart_title_fits_with_its_metric_readable() {
        let long = fit_title("Group d=5 lr=0.01", 3, "test_accuracy", 200);
        assert_eq!(long, " Group d=5 lr=0.01 · 3 runs · test_accuracy ");
        // an 80-column screen's chart pane: the runs' count gives way first
        let t = fit_title("Group d=5 lr=0.01", 3, "test_accuracy", 36);
        assert_eq!(t, " Group d=5 lr=0.01 · test_accuracy ");
        // then the group's label, whole: never a cut label beside a cut metric
        let t = fit_title("Group d=5 lr=0.01", 3, "test_accuracy", 30);
        assert_eq!(t, " Group · test_accuracy ");
        let sweep = "Sweep 20261206-195203-sp";
        assert_eq!(
            fit_title(sweep, 4, "e2e/test_accuracy", 46),
            " Sweep 20261206-195203-sp · e2e/test_accuracy "
        );
        assert_eq!(
            fit_title(sweep, 4, "e2e/test_accuracy", 45),
            " Sweep · e2e/test_accuracy "
        );
        assert_eq!(
            fit_title(sweep, 4, "e2e/test_accuracy", 20),
            " e2e/test_accuracy "
        );
        for room in 10..60 {
            let t = fit_title(sweep, 4, "e2e/test_accuracy", room);
            assert!(t.chars().count() <= room, "{room}: {t}");
            // the id whole or absent; the metric whole wherever it fits alone
            assert!(t.contains(sweep) || !t.contains("2026"), "{room}: {t}");
            assert!(room < 19 || t.contains("e2e/test_accuracy"), "{room}: {t}");
        }
    }
}
