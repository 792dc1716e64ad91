//! The compare screen: the marked runs' metric on one chart (or side by side on shared
//! axes), and a table of the parameters that differ and of the final values.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};
use ratatui::Frame;

use crate::engine::Series;
use crate::spec::Value;

use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::fmt;
use crate::tui::keymap::{Cmd, Context};
use crate::tui::model::run_list::{short_value, RunRow, Runs};
use crate::tui::panes::chart::ChartState;
use crate::tui::plot::{self, draw_plot, plot_series, Look};
use crate::tui::widgets::{key_legend, pad, titled};

/// The comparison's runs and layout.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompareState {
    pub nums: Vec<usize>,
    /// Groups compared (by key): each drawn as its mean with a band, the runs beside them
    /// as groups of one.
    pub groups: Vec<String>,
    pub side_by_side: bool,
    pub metric: Option<String>,
    pub scroll: usize,
}

impl CompareState {
    /// Starts a comparison of these runs.
    pub fn open(&mut self, nums: Vec<usize>, groups: Vec<String>) {
        self.nums = nums;
        self.groups = groups;
        self.scroll = 0;
    }

    /// The compared runs, those of the groups first.
    pub fn all_runs(&self, runs: &Runs) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .groups
            .iter()
            .filter_map(|k| runs.tree.group(k))
            .flat_map(|g| g.members.iter().copied())
            .collect();
        out.extend(&self.nums);
        out
    }

    /// Every metric of the compared runs, the first run's main metric first.
    pub fn metrics(&self, runs: &Runs) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in self.all_runs(runs).iter().filter_map(|n| runs.get(*n)) {
            for m in r.metric_names() {
                if !out.iter().any(|o| o == m) {
                    out.push(m.to_string());
                }
            }
        }
        out
    }

    /// The metric shown: the one asked for while the runs have it, else the first.
    pub fn metric_of(&self, runs: &Runs) -> Option<String> {
        let all = self.metrics(runs);
        match &self.metric {
            Some(m) if all.contains(m) => Some(m.clone()),
            _ => all.into_iter().next(),
        }
    }

    fn cycle(&mut self, runs: &Runs, d: isize) {
        let all = self.metrics(runs);
        if all.is_empty() {
            return;
        }
        let i = self
            .metric_of(runs)
            .and_then(|c| all.iter().position(|n| *n == c))
            .unwrap_or(0) as isize;
        self.metric = Some(all[(i + d).rem_euclid(all.len() as isize) as usize].clone());
    }
}

/// What a key does on the compare screen.
pub fn on_cmd(
    cmp: &mut CompareState,
    chart: &mut ChartState,
    runs: &Runs,
    cmd: Cmd,
    out: &mut Vec<Action>,
) {
    match cmd {
        Cmd::Back => out.push(Action::CloseScreen),
        Cmd::Layout => cmp.side_by_side = !cmp.side_by_side,
        Cmd::NextMetric => cmp.cycle(runs, 1),
        Cmd::PrevMetric => cmp.cycle(runs, -1),
        Cmd::LogY => {
            if let Some(m) = cmp.metric_of(runs) {
                chart.toggle_log(&m);
            }
        }
        Cmd::LogX => chart.log_x = !chart.log_x,
        Cmd::Smooth => chart.smooth = !chart.smooth,
        Cmd::Band => chart.spread = chart.spread.next(),
        Cmd::Down => cmp.scroll += 1,
        Cmd::Up => cmp.scroll = cmp.scroll.saturating_sub(1),
        _ => {}
    }
}

/// Draws the compare screen.
pub fn render(f: &mut Frame, app: &App, area: Rect) {
    if !app.compare.groups.is_empty() {
        return super::compare_groups::render(f, app, area);
    }
    let t = app.settings.theme;
    let metric = app.compare_metric();
    let look = metric
        .as_deref()
        .map(|m| app.chart.look(m))
        .unwrap_or_default();
    let rows: Vec<&RunRow> = app
        .compare
        .nums
        .iter()
        .filter_map(|n| app.runs.get(*n))
        .collect();
    let (table_lines, left_out) = compare_table(
        app,
        &rows,
        metric.as_deref(),
        area.width.saturating_sub(2) as usize,
    );
    let table_h = (table_lines.len() as u16 + 2).clamp(5, area.height / 2);
    let [chart_a, table_a] =
        Layout::vertical([Constraint::Min(6), Constraint::Length(table_h)]).areas(area);
    let keys = key_legend(
        t,
        Context::Compare,
        &[
            (&[Cmd::Layout], "layout"),
            (&[Cmd::NextMetric], "metric"),
            (&[Cmd::Back], "back"),
        ],
    );
    let block = titled(
        Block::bordered()
            .border_type(BorderType::Thick)
            .border_style(t.border(true)),
        title(app, rows.len(), metric.as_deref(), look),
        keys,
        area.width,
    );
    let inner = block.inner(chart_a);
    f.render_widget(block, chart_a);
    let series: Vec<(String, &Series)> = metric
        .as_deref()
        .map(|m| {
            rows.iter()
                .filter_map(|r| r.state.metrics.get(m).map(|s| (r.label(), s)))
                .collect()
        })
        .unwrap_or_default();
    if series.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled(
                "none of these runs has recorded this metric yet",
                t.dim(),
            )),
            inner,
        );
    } else if !app.compare.side_by_side {
        if let Some(p) = plot_series(t, &series, look, inner.width, 0) {
            draw_plot(f, t, &p, inner, true);
        }
    } else if let Some(m) = metric.as_deref() {
        side_by_side(f, app, &rows, &series, m, look, inner);
    }
    let title = left_out_title(
        rows.len(),
        left_out,
        " Parameters that differ · final values ",
    );
    table_box(f, app, &title, table_lines, table_a);
}

/// The width of a table's columns of `n` items in `width` characters after a `name_w`
/// column of names, between `min` and `max`, and how many whole columns fit (one at least).
pub(super) fn fit_columns(
    width: usize,
    name_w: usize,
    n: usize,
    (min, max): (usize, usize),
) -> (usize, usize) {
    let col_w = (width.saturating_sub(name_w) / n.max(1)).clamp(min, max);
    let fit = (width.saturating_sub(name_w) / col_w).max(1).min(n);
    (col_w, fit)
}

/// A table's title, saying how many of its `n` columns were left out, when any were.
pub(super) fn left_out_title(n: usize, left_out: usize, whole: &str) -> String {
    if left_out > 0 {
        format!(
            " What sets them apart · the first {} of {}: the others do not fit ",
            n - left_out,
            n
        )
    } else {
        whole.to_string()
    }
}

/// The compare screen's table in its box, scrolled as far as the screen asks and it goes.
pub(super) fn table_box(
    f: &mut Frame,
    app: &App,
    title: &str,
    lines: Vec<Line<'static>>,
    area: Rect,
) {
    let t = app.settings.theme;
    let tb = Block::bordered()
        .border_style(t.border(false))
        .title(Span::styled(title.to_string(), t.title()));
    let tin = tb.inner(area);
    f.render_widget(tb, area);
    let max_scroll = lines.len().saturating_sub(tin.height as usize);
    let scroll = app.compare.scroll.min(max_scroll);
    f.render_widget(
        Paragraph::new(lines.into_iter().skip(scroll).collect::<Vec<_>>()),
        tin,
    );
}

pub(super) fn title(app: &App, n: usize, metric: Option<&str>, look: Look) -> Line<'static> {
    let t = app.settings.theme;
    let mode = if app.compare.side_by_side {
        "side by side"
    } else {
        "overlay"
    };
    let what = if app.compare.groups.is_empty() {
        "runs"
    } else {
        "groups"
    };
    let mut title = vec![Span::styled(
        format!(
            " Compare {n} {what} · {} · {mode} ",
            metric.unwrap_or("no metrics")
        ),
        t.title(),
    )];
    title.extend(look.flags(t));
    Line::from(title)
}

/// One small chart per run, on shared axes so that heights compare.
fn side_by_side(
    f: &mut Frame,
    app: &App,
    rows: &[&RunRow],
    series: &[(String, &Series)],
    m: &str,
    look: Look,
    inner: Rect,
) {
    let t = app.settings.theme;
    let n = rows.len().max(1);
    let per_row = ((inner.width / 36).max(1) as usize).min(n);
    let grid_rows = n.div_ceil(per_row);
    let shared = plot_series(t, series, look, inner.width / per_row as u16, 0);
    let row_areas = Layout::vertical(vec![Constraint::Fill(1); grid_rows]).split(inner);
    for (gi, row_area) in row_areas.iter().enumerate() {
        let cells = Layout::horizontal(vec![Constraint::Fill(1); per_row]).split(*row_area);
        for (ci, cell) in cells.iter().enumerate() {
            let k = gi * per_row + ci;
            let Some(r) = rows.get(k) else { continue };
            let (style, _) = t.series(k);
            let b = Block::new()
                .borders(Borders::TOP)
                .border_style(t.dim())
                .title(Span::styled(format!(" {} ", r.label()), style));
            let ci_area = b.inner(*cell);
            f.render_widget(b, *cell);
            let Some(s) = r.state.metrics.get(m) else {
                f.render_widget(Paragraph::new(Span::styled("no data", t.dim())), ci_area);
                continue;
            };
            if let Some(mut p) = plot_series(t, &[(r.label(), s)], look, ci_area.width, k) {
                if let Some(sh) = &shared {
                    p.x = sh.x;
                    p.y = sh.y;
                    let cols = (ci_area.width as usize).max(1) * t.marker.dots_per_cell();
                    p.lines[0].1 = plot::line(s, look, sh.x, cols);
                }
                draw_plot(f, t, &p, ci_area, false);
            }
        }
    }
}

/// The table's columns: a name, then one value per run.
pub(super) struct Cells {
    pub t: crate::tui::theme::Theme,
    pub name_w: usize,
    pub col_w: usize,
}

impl Cells {
    pub fn row(&self, name: &str, vals: Vec<String>, style: Style) -> Line<'static> {
        let mut spans = vec![Span::styled(
            pad(&fmt::clip_middle(name, self.name_w - 1), self.name_w),
            self.t.dim(),
        )];
        for v in vals {
            spans.push(Span::styled(pad(&v, self.col_w), style));
        }
        Line::from(spans)
    }
}

/// The runs' table in `width` characters: the runs whose columns fit whole, and how many
/// were left out.
fn compare_table(
    app: &App,
    rows: &[&RunRow],
    metric: Option<&str>,
    width: usize,
) -> (Vec<Line<'static>>, usize) {
    let t = app.settings.theme;
    let name_w = 20usize;
    // wide enough for a status and its step (`finished 12.4k`)
    let (col_w, fit) = fit_columns(width, name_w, rows.len(), (15, 18));
    let left_out = rows.len() - fit;
    let rows = &rows[..fit];
    let cells = Cells { t, name_w, col_w };
    let mut head = vec![Span::styled(pad("", name_w), t.heading())];
    for (i, r) in rows.iter().enumerate() {
        head.push(Span::styled(
            pad(&format!("#{}", r.num), cells.col_w),
            t.series(i).0.add_modifier(Modifier::BOLD),
        ));
    }
    let mut out = vec![Line::from(head)];
    differing(&cells, rows, &mut out);
    out.push(
        cells.row(
            "status",
            rows.iter()
                .map(|r| {
                    if r.state.total > 0 {
                        format!("{} {}", r.state.status.label(), fmt::count(r.state.step))
                    } else {
                        r.state.status.label().to_string()
                    }
                })
                .collect(),
            t.text(),
        ),
    );
    out.push(Line::from(Span::styled("final values", t.heading())));
    final_values(&cells, rows, metric, &mut out);
    (out, left_out)
}

/// Experiment and seed when they differ, then the parameters that differ.
fn differing(cells: &Cells, rows: &[&RunRow], out: &mut Vec<Line<'static>>) {
    let t = cells.t;
    let exps: Vec<String> = rows.iter().map(|r| r.state.experiment.clone()).collect();
    if exps.iter().any(|e| *e != exps[0]) {
        out.push(cells.row("experiment", exps, t.text()));
    }
    let seeds: Vec<String> = rows
        .iter()
        .map(|r| r.state.seed.map(|s| s.to_string()).unwrap_or("-".into()))
        .collect();
    if seeds.iter().any(|s| *s != seeds[0]) {
        out.push(cells.row("seed", seeds, t.text()));
    }
    let mut names: Vec<String> = Vec::new();
    for r in rows {
        for (k, _) in r.state.params.iter() {
            if !names.iter().any(|n| n == k) {
                names.push(k.to_string());
            }
        }
    }
    let mut count = 0;
    for k in &names {
        let vals: Vec<Option<&Value>> = rows.iter().map(|r| r.state.params.get(k)).collect();
        if vals.iter().all(|v| *v == vals[0]) {
            continue;
        }
        count += 1;
        let shown = vals
            .iter()
            .map(|v| v.map(short_value).unwrap_or("-".into()))
            .collect();
        out.push(cells.row(k, shown, t.edited()));
    }
    if count == 0 {
        out.push(Line::from(Span::styled("(same parameters)", t.dim())));
    }
}

/// Final values: the summary where a run has one, else the latest value.
fn final_values(
    cells: &Cells,
    rows: &[&RunRow],
    metric: Option<&str>,
    out: &mut Vec<Line<'static>>,
) {
    let t = cells.t;
    let mut metrics: Vec<String> = metric.map(|m| vec![m.to_string()]).unwrap_or_default();
    for r in rows {
        let summary = r.state.summary.iter().flat_map(|s| s.metrics.keys());
        for m in r
            .metric_names()
            .into_iter()
            .chain(summary.map(String::as_str))
        {
            if !metrics.iter().any(|x| x == m) {
                metrics.push(m.to_string());
            }
        }
    }
    for m in metrics {
        let vals = rows
            .iter()
            .map(|r| {
                r.state
                    .summary
                    .as_ref()
                    .and_then(|s| s.get(&m))
                    .or_else(|| r.state.latest(&m))
                    .map(fmt::value)
                    .unwrap_or("-".into())
            })
            .collect();
        let style = if Some(m.as_str()) == metric {
            t.heading()
        } else {
            t.text()
        };
        out.push(cells.row(&m, vals, style));
    }
}
