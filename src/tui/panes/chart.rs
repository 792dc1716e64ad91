//! The chart pane: the selected run's metric over steps (with the same quantity of the run's
//! other methods beside it), and the list of its metrics with sparklines.

use std::collections::HashMap;

use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::engine::{Series, Status};

use super::group_chart;
use super::metric_list::{self, MetricSearch};
use super::runs_table::note_rows;
use super::Pane;
use crate::experiments::theory::TheoryCurve;
use crate::figures::views::{hidden_progress, log_by_default, siblings};
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::fmt;
use crate::tui::keymap::{Cmd, Context};
use crate::tui::model::run_list::{RunRow, Runs};
use crate::tui::model::run_tree::{BandKind, Node};
use crate::tui::plot::{self, draw_plot, plot_series, Look};
use crate::tui::widgets::{key_legend, pane_block, pane_frame, titled};

/// The chart's choices: which metric, log scale per metric, smoothing. The compare screen
/// shares them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartState {
    /// The metric asked for; a run without it shows its main metric.
    pub metric: Option<String>,
    pub log_override: HashMap<String, bool>,
    pub smooth: bool,
    /// How groups' bands spread: min..max or ± sd.
    pub spread: BandKind,
    /// A group's chart shows the share of its runs past its threshold instead of a metric.
    pub success: bool,
    /// A parity run's chart shows its hidden progress (`views::HIDDEN_PROGRESS`) instead of
    /// one metric.
    pub hidden: bool,
    /// The x axis (steps, or what an experiment counts in them: T1's d, E5's n) on a log
    /// scale, for every metric.
    pub log_x: bool,
    /// The theory's reference lines ([`crate::experiments::theory`]) left out of the chart
    /// (they are drawn where a formula applies unless T hides them).
    pub hide_theory: bool,
    /// The search typed in the list of metrics (`/`), while it is typed.
    pub search: Option<MetricSearch>,
}

impl ChartState {
    pub fn look(&self, metric: &str) -> Look {
        Look {
            log_y: self
                .log_override
                .get(metric)
                .copied()
                .unwrap_or_else(|| log_by_default(metric)),
            smooth: self.smooth,
            log_x: self.log_x,
        }
    }

    /// The metric shown for a run: the one asked for if the run has it, else its main one.
    pub fn metric_of(&self, r: &RunRow) -> Option<String> {
        match &self.metric {
            Some(m) if r.state.metrics.contains_key(m) => Some(m.clone()),
            _ => r.main_metric().map(str::to_string),
        }
    }

    /// Log scale on or off for one metric.
    pub fn toggle_log(&mut self, metric: &str) {
        let now = self.look(metric).log_y;
        self.log_override.insert(metric.to_string(), !now);
    }

    /// The next (or previous) metric of a run.
    pub fn cycle(&mut self, r: &RunRow, d: isize) {
        let names: Vec<String> = r.metric_names().into_iter().map(str::to_string).collect();
        if names.is_empty() {
            return;
        }
        let i = self
            .metric_of(r)
            .and_then(|c| names.iter().position(|n| *n == c))
            .unwrap_or(0) as isize;
        let n = names.len() as isize;
        self.metric = Some(names[(i + d).rem_euclid(n) as usize].clone());
    }
}

/// What a key does in the chart pane (and the chart keys of the main screen).
pub fn on_cmd(chart: &mut ChartState, runs: &mut Runs, cmd: Cmd, out: &mut Vec<Action>) {
    match cmd {
        Cmd::NextMetric | Cmd::PrevMetric => {
            if let Some(r) = shown_row(runs) {
                chart.cycle(r, if cmd == Cmd::NextMetric { 1 } else { -1 });
            }
        }
        Cmd::LogY => {
            if let Some(m) = shown_row(runs).and_then(|r| chart.metric_of(r)) {
                chart.toggle_log(&m);
            }
        }
        Cmd::LogX => chart.log_x = !chart.log_x,
        Cmd::Theory => chart.hide_theory = !chart.hide_theory,
        Cmd::Band => chart.spread = chart.spread.next(),
        Cmd::Success => chart.success = !chart.success,
        Cmd::HiddenProgress => chart.hidden = !chart.hidden,
        Cmd::Smooth => chart.smooth = !chart.smooth,
        Cmd::Figure => out.push(Action::OpenFigure),
        // a run's list of metrics (a group's or a sweep's chart has none)
        Cmd::Filter
            if runs
                .selected_row()
                .is_some_and(|r| !r.state.metrics.is_empty()) =>
        {
            metric_list::start(chart)
        }
        Cmd::Up => runs.move_by(-1),
        Cmd::Down => runs.move_by(1),
        Cmd::Back => out.push(Action::Focus(Pane::Runs)),
        _ => {}
    }
}

/// What a key does while a metric's name is searched (`/` in the chart).
pub fn on_search(chart: &mut ChartState, runs: &Runs, cmd: Cmd, key: &KeyEvent) {
    metric_list::on_typing(chart, shown_row(runs), cmd, key)
}

/// The run whose metrics the chart's keys go by: the selected run, or the first run of the
/// selected group or sweep.
fn shown_row(runs: &Runs) -> Option<&RunRow> {
    runs.selected_row().or_else(|| {
        let first = *runs.selected_runs().first()?;
        runs.get(first)
    })
}

/// Draws the selected run's chart, or the selected group's or sweep's bands.
pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let focused = app.focus == Pane::Chart;
    match &app.runs.cursor {
        Some(Node::Group(key)) => {
            if let Some(g) = app.runs.tree.group(key) {
                let what = format!("Group {}", group_chart::group_label(app, g));
                return group_chart::render(f, app, area, &what, &[g]);
            }
        }
        Some(Node::Sweep(id)) => {
            let mut groups = app.runs.tree.sweep_groups(id);
            groups.truncate(group_chart::MAX_GROUPS);
            return group_chart::render(f, app, area, &format!("Sweep {id}"), &groups);
        }
        _ => {}
    }
    let Some(r) = app.runs.selected_row() else {
        let block = pane_block(t, Line::from(Span::styled(" Chart ", t.title())), focused);
        let inner = block.inner(area);
        f.render_widget(block, area);
        f.render_widget(
            Paragraph::new(Span::styled(
                "No run selected: start one from the scenarios, or select one in the runs.",
                t.dim(),
            ))
            .wrap(Wrap { trim: true }),
            inner,
        );
        return;
    };
    let hidden = if app.chart.hidden {
        hidden_progress(&r.state.metrics)
    } else {
        Vec::new()
    };
    let metric = if hidden.is_empty() {
        app.chart_metric()
    } else {
        Some("hidden progress".to_string())
    };
    let look = match metric.as_deref() {
        // the hidden-progress curves share one linear axis
        Some(_) if !hidden.is_empty() => Look {
            log_y: false,
            smooth: app.chart.smooth,
            log_x: app.chart.log_x,
        },
        Some(m) => app.chart.look(m),
        None => Look::default(),
    };
    // the hidden progress has no metric to change nor a log scale: H goes back to one
    let keys = if hidden.is_empty() {
        key_legend(
            t,
            Context::Chart,
            &[
                (&[Cmd::NextMetric], "metric"),
                (&[Cmd::LogY], "log"),
                (&[Cmd::Smooth], "smooth"),
            ],
        )
    } else {
        key_legend(
            t,
            Context::Chart,
            &[
                (&[Cmd::HiddenProgress], "one metric"),
                (&[Cmd::Smooth], "smooth"),
            ],
        )
    };
    let mut block = titled(
        pane_frame(t, focused),
        title(app, r, metric.as_deref(), look, area.width),
        keys,
        area.width,
    );
    if let Some(p) = pace(&r.state) {
        block =
            block.title_bottom(Line::from(Span::styled(format!(" {p} "), t.dim())).right_aligned());
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    let chart_a = beside_chart(f, app, r, metric.as_deref(), inner);
    let Some(m) = metric else {
        let text = if r.state.status.is_active() || r.state.is_elsewhere() {
            "waiting for the first metric…"
        } else {
            "this run recorded no metrics"
        };
        f.render_widget(Paragraph::new(Span::styled(text, t.dim())), chart_a);
        return;
    };
    if hidden.is_empty() {
        draw_metric(f, app, r, &m, look, chart_a);
    } else {
        draw_lines(f, app, &hidden, look, chart_a);
    }
    // a search in a pane too narrow for the list beside the chart: the list over it
    if let Some(list) = metric_list_area(app, inner, r).filter(|l| l.intersects(chart_a)) {
        metric_list::render(f, app, r, Some(&m), list);
    }
}

/// "Run #4 d=10 · test_accuracy log smoothed", made to fit `width`: whole parts give way in
/// turn, the run's parameters, the word `Run`, the run's number; the metric's name is cut
/// in its middle only when it alone does not fit. The pace and the ETA are
/// on the frame's bottom edge (see [`pace`]), whole at every size.
pub fn title(app: &App, r: &RunRow, metric: Option<&str>, look: Look, width: u16) -> Line<'static> {
    let t = app.settings.theme;
    let flags = look.flags(t);
    // the two corners of the frame
    let room = (width as usize).saturating_sub(2);
    let fixed = flags.iter().map(|f| f.width()).sum::<usize>();
    let metric = metric.unwrap_or("no metrics yet");
    let room = room.saturating_sub(fixed);
    // whole parts dropped in turn: the run's parameters, then the run, then the metric cut
    let head = [
        format!(" Run {} · {metric} ", r.label()),
        format!(" Run #{} · {metric} ", r.num),
        format!(" #{} · {metric} ", r.num),
        format!(" {metric} "),
    ]
    .into_iter()
    .find(|h| h.chars().count() <= room)
    .unwrap_or_else(|| {
        format!(
            " {} ",
            fmt::clip_middle(metric, room.saturating_sub(2).max(1))
        )
    });
    let fits = head.chars().count() <= room;
    let mut title = vec![Span::styled(head, t.title())];
    if fits {
        title.extend(flags);
    }
    Line::from(title)
}

/// How fast a live run trains and when it ends: `4.3k/s · ETA 9s`, `1.9/s · ETA 2h55m`.
pub fn pace(s: &crate::engine::RunState) -> Option<String> {
    if !matches!(s.status, Status::Running | Status::Elsewhere) || s.steps_per_sec <= 0.0 {
        return None;
    }
    let mut pace = fmt::rate(s.steps_per_sec);
    if let Some(eta) = s.eta_secs() {
        pace.push_str(&format!(" · ETA {}", fmt::duration(eta)));
    }
    Some(pace)
}

/// Draws the run's status note above and its metric list beside the chart; returns the
/// chart's area.
fn beside_chart(f: &mut Frame, app: &App, r: &RunRow, metric: Option<&str>, inner: Rect) -> Rect {
    let t = app.settings.theme;
    let mut chart_a = inner;
    let note = note_rows(&r.state, inner.width);
    if !note.is_empty() {
        let [msg, rest] =
            Layout::vertical([Constraint::Length(note.len() as u16), Constraint::Min(0)])
                .areas(inner);
        let style = t.status(r.state.status);
        let lines: Vec<Line> = note
            .into_iter()
            .map(|l| Line::from(Span::styled(l, style)))
            .collect();
        f.render_widget(Paragraph::new(lines), msg);
        chart_a = rest;
    }
    // the metrics list with sparklines, when there is room (over the chart while searched)
    if let Some(list) = metric_list_area(app, inner, r) {
        if inner.width >= 70 {
            metric_list::render(f, app, r, metric, list);
            chart_a.width -= list.width;
        }
    }
    chart_a
}

/// Where the list of metrics goes in a chart pane's inner area (see [`metric_list::area`]).
pub fn metric_list_area(app: &App, inner: Rect, r: &RunRow) -> Option<Rect> {
    metric_list::area(inner, r, app.chart.search.is_some())
}

/// The metric's chart, with the same quantity of the run's other methods beside it.
fn draw_metric(f: &mut Frame, app: &App, r: &RunRow, m: &str, look: Look, area: Rect) {
    let Some(series) = r.state.metrics.get(m) else {
        return;
    };
    // `e2e/test_accuracy` next to `dec/test_accuracy`: a run that trains several methods
    // side by side (E2, E4, E10) shows the same quantity of every method in one chart
    let mut shown = vec![(m.to_string(), series)];
    shown.extend(siblings(&r.state.metrics, m));
    let theory = if app.chart.hide_theory {
        Vec::new()
    } else {
        let points = |name: &str| {
            r.state
                .metrics
                .get(name)
                .map(crate::figures::views::series_points)
                .unwrap_or_default()
        };
        crate::experiments::theory::theory(&r.state.experiment, m, &points)
    };
    let x_label = crate::experiments::theory::x_axis(&r.state.experiment, m);
    draw_lines_with(f, app, &shown, &theory, x_label, look, area);
}

/// Several series on one chart, with a legend when there is more than one.
fn draw_lines(f: &mut Frame, app: &App, shown: &[(String, &Series)], look: Look, area: Rect) {
    draw_lines_with(f, app, shown, &[], "step", look, area)
}

/// [`draw_lines`] with the theory's curves drawn dim beside them, each named by its formula
/// in the legend.
fn draw_lines_with(
    f: &mut Frame,
    app: &App,
    shown: &[(String, &Series)],
    theory: &[TheoryCurve],
    x_label: &str,
    look: Look,
    area: Rect,
) {
    let t = app.settings.theme;
    let legend = shown.len() > 1 || !theory.is_empty();
    let with_theory = plot_series(t, shown, look, area.width, 0).map(|mut p| {
        p.x_label = x_label.to_string();
        for c in theory {
            let points: Vec<(f64, f64)> = c
                .points
                .iter()
                .filter(|(x, y)| y.is_finite() && (!look.log_y || *y > 0.0) && x.is_finite())
                .map(|&(x, y)| {
                    let y = if look.log_y { y.log10() } else { y };
                    (plot::chart_x(x, look.log_x), y)
                })
                .collect();
            let (_, marker) = t.series(0);
            p.lines.push((
                c.label.clone(),
                plot::Line { points, dropped: 0 },
                t.dim(),
                marker,
            ));
        }
        if !theory.is_empty() {
            p.y = plot::y_bounds(p.lines.iter().map(|l| &l.1)).unwrap_or(p.y);
        }
        p
    });
    match with_theory {
        Some(p) if p.lines.iter().any(|l| !l.1.points.is_empty()) => {
            draw_plot(f, t, &p, area, legend)
        }
        _ => f.render_widget(
            Paragraph::new(Span::styled(
                if look.log_y {
                    "no positive values to draw on a log scale (y switches it off)"
                } else {
                    "no finite values to draw yet"
                },
                t.dim(),
            )),
            area,
        ),
    }
}
