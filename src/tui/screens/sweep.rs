//! The sweep screen: the grid as a table (one row per grid point: its values, its runs by
//! status, and every summary metric as mean ± sd over the seeds that finished), sortable by
//! any column; under it, one summary metric against one swept parameter with error bars,
//! a line per combination of the other swept parameters, the way the paper's figures tell
//! their story (accuracy against d; the SNR against k on a log axis).

use std::cmp::Ordering;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};
use ratatui::Frame;

use crate::engine::RunState;
use crate::figures::views::log_by_default;
use crate::spec::Value;
use crate::stats::format;
use crate::sweep::group::sorted_names;
use crate::sweep::group::Aggregate;
use crate::sweep::Measure;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::keymap::{Cmd, Context};
use crate::tui::model::run_list::{short_value, Runs};
use crate::tui::model::run_tree::{axis_number, BandKind, Node, Tally};
use crate::tui::widgets::{highlight, key_legend, pad, rpad, scroll_offset, titled};

/// The screen's choices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepScreen {
    pub id: String,
    /// The table's selected row (in the sorted order).
    pub row: usize,
    /// Sort by this column (swept parameters, then metrics), `None`: grid order.
    pub sort: Option<usize>,
    pub reverse: bool,
    /// The metric of the chart (an index into the metrics).
    pub metric: usize,
    /// The swept parameter on the chart's x axis.
    pub axis: usize,
    /// Log scale on the y axis, per metric, against the default.
    pub log_flip: std::collections::BTreeSet<String>,
    pub spread: BandKind,
    /// The table's cells give each result's 95% interval.
    pub ci: bool,
    /// A growth law fitted to each line of the chart (off, power, exponential).
    pub fit: Option<crate::stats::fit::Growth>,
    /// The chart's x axis (the swept parameter) on a log scale.
    pub log_x: bool,
}

impl SweepScreen {
    pub fn open(&mut self, id: &str) {
        if self.id != id {
            *self = SweepScreen {
                id: id.to_string(),
                ..SweepScreen::default()
            };
        }
    }

    pub fn log_y(&self, metric: &str) -> bool {
        log_by_default(metric) != self.log_flip.contains(metric)
    }
}

/// One grid point of the table.
#[derive(Debug, Clone)]
pub struct GridRow {
    pub key: String,
    pub experiment: String,
    /// The swept parameters' values, in the grid's order.
    pub values: Vec<Option<Value>>,
    pub agg: Aggregate,
    pub tally: Tally,
}

/// The sweep's swept parameters, its summary metrics, and its grid points in grid order.
pub fn grid(runs: &Runs, id: &str) -> (Vec<String>, Vec<String>, Vec<GridRow>) {
    let axes = runs
        .sweeps
        .get(id)
        .map(|s| s.axes.clone())
        .unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    let rows: Vec<GridRow> = runs
        .tree
        .sweep_groups(id)
        .into_iter()
        .map(|g| {
            let rows: Vec<_> = g.members.iter().filter_map(|&n| runs.get(n)).collect();
            let states: Vec<&RunState> = rows.iter().map(|r| &r.state).collect();
            let agg = Aggregate::of(&states);
            names.extend(agg.metrics.keys().cloned());
            let values = axes
                .iter()
                .map(|a| rows.first().and_then(|r| r.state.params.get(a).cloned()))
                .collect();
            GridRow {
                key: g.key.clone(),
                experiment: g.experiment.clone(),
                values,
                agg,
                tally: Tally::of(&rows, None),
            }
        })
        .collect();
    // the experiment's main metric first, then in natural order
    let main = runs
        .tree
        .sweep(id)
        .and_then(|s| crate::experiments::find(&s.experiment))
        .map_or("", |d| d.main_metric);
    let metrics = sorted_names(names.iter().map(String::as_str), main);
    (axes, metrics, rows)
}

fn cmp_values(a: &Option<Value>, b: &Option<Value>) -> Ordering {
    match (
        a.as_ref().and_then(axis_number),
        b.as_ref().and_then(axis_number),
    ) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => {
            let s = |v: &Option<Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
            crate::stats::natural_cmp(&s(a), &s(b))
        }
    }
}

/// The rows in the screen's order: by the sort column (runs without a value last), else in
/// grid order.
pub fn sorted(
    s: &SweepScreen,
    axes: &[String],
    metrics: &[String],
    mut rows: Vec<GridRow>,
) -> Vec<GridRow> {
    let Some(col) = s.sort else {
        return rows;
    };
    let mean = |r: &GridRow, m: &str| r.agg.metrics.get(m).and_then(Measure::sort_key);
    rows.sort_by(|a, b| {
        let o = if col < axes.len() {
            cmp_values(&a.values[col], &b.values[col])
        } else {
            let m = &metrics[(col - axes.len()).min(metrics.len().saturating_sub(1))];
            match (mean(a, m), mean(b, m)) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => return Ordering::Less,
                (None, Some(_)) => return Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
        };
        if s.reverse {
            o.reverse()
        } else {
            o
        }
    });
    rows
}

/// What a key does on the sweep screen.
pub fn on_cmd(s: &mut SweepScreen, runs: &mut Runs, cmd: Cmd, out: &mut Vec<Action>) {
    let (axes, metrics, rows) = grid(runs, &s.id);
    let columns = axes.len() + metrics.len();
    match cmd {
        Cmd::Back => out.push(Action::CloseScreen),
        Cmd::Up => s.row = s.row.saturating_sub(1),
        Cmd::Down => s.row = (s.row + 1).min(rows.len().saturating_sub(1)),
        Cmd::Sort if columns > 0 => {
            s.sort = Some(s.sort.map_or(0, |c| (c + 1) % columns));
            s.reverse = false;
        }
        Cmd::SortReverse => s.reverse = !s.reverse,
        Cmd::NextMetric | Cmd::PrevMetric if !metrics.is_empty() => {
            let d = if cmd == Cmd::NextMetric { 1 } else { -1 };
            s.metric = (s.metric as isize + d).rem_euclid(metrics.len() as isize) as usize;
        }
        Cmd::NextAxis if !axes.is_empty() => s.axis = (s.axis + 1) % axes.len(),
        Cmd::LogY => {
            if let Some(m) = metrics.get(s.metric) {
                if !s.log_flip.remove(m) {
                    s.log_flip.insert(m.clone());
                }
            }
        }
        Cmd::Band => s.spread = s.spread.next(),
        Cmd::Interval => s.ci = !s.ci,
        Cmd::LogX => s.log_x = !s.log_x,
        Cmd::Fit => {
            use crate::stats::fit::Growth;
            s.fit = match s.fit {
                None => Some(Growth::Power),
                Some(Growth::Power) => Some(Growth::Exp),
                Some(Growth::Exp) => None,
            }
        }
        Cmd::ToChart => {
            // the selected grid point, in the runs table
            let rows = sorted(s, &axes, &metrics, rows);
            if let Some(r) = rows.get(s.row) {
                runs.select_node(Node::Sweep(s.id.clone()));
                runs.set_open(&Node::Sweep(s.id.clone()), true);
                runs.select_node(Node::Group(r.key.clone()));
                out.push(Action::CloseScreen);
                out.push(Action::Focus(crate::tui::panes::Pane::Chart));
            }
        }
        _ => {}
    }
}

/// A grid point's cell: what the headless sweep table shows for it.
fn cell_text(r: &GridRow, metric: &str, ci: bool) -> String {
    r.agg.cell(metric, ci)
}

/// Draws the sweep screen.
pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let s = &app.sweep_screen;
    let (axes, metrics, rows) = grid(&app.runs, &s.id);
    let rows = sorted(s, &axes, &metrics, rows);
    let table_h = (rows.len() as u16 + 3).clamp(5, area.height / 2);
    let [table_a, chart_a] =
        Layout::vertical([Constraint::Length(table_h), Constraint::Min(4)]).areas(area);
    let keys = key_legend(
        t,
        Context::Sweep,
        &[
            (&[Cmd::Sort], "sort"),
            (&[Cmd::NextMetric], "metric"),
            (&[Cmd::NextAxis], "x"),
            (&[Cmd::Back], "back"),
        ],
    );
    let done: usize = rows.iter().map(|r| r.tally.ended()).sum();
    let info = app.runs.sweeps.get(&s.id);
    let total = info.map_or(0, |i| i.total);
    // a Slurm sweep's tasks that have not started, as the queue says
    let queue = info
        .and_then(|i| i.queue.as_ref())
        .map(|q| format!("· {q} "))
        .unwrap_or_default();
    let block = titled(
        Block::bordered()
            .border_type(BorderType::Thick)
            .border_style(t.border(true)),
        Line::from(Span::styled(
            format!(
                " Sweep {} · {} points · {done}/{total} runs ended {queue}",
                s.id,
                rows.len()
            ),
            t.title(),
        )),
        keys,
        area.width,
    );
    let inner = block.inner(table_a);
    f.render_widget(block, table_a);
    render_table(f, app, &axes, &metrics, &rows, inner);
    super::sweep_chart::render_chart(f, app, &axes, &metrics, &rows, chart_a);
}

/// The runs column: the count of seeds and runs, then the runs by status.
const RUNS_W: usize = 18;

fn render_table(
    f: &mut Frame,
    app: &App,
    axes: &[String],
    metrics: &[String],
    rows: &[GridRow],
    area: Rect,
) {
    let t = app.settings.theme;
    let s = &app.sweep_screen;
    let w = area.width as usize;
    let col_w = |name: &str| name.chars().count().max(8);
    // a metric's column is as wide as its widest cell
    let metric_w: Vec<usize> = metrics
        .iter()
        .map(|m| {
            rows.iter()
                .map(|r| cell_text(r, m, s.ci).chars().count())
                .chain([m.chars().count() + 1, 8])
                .max()
                .unwrap_or(8)
        })
        .collect();
    // the metric columns that fit whole, from one that keeps the chosen metric (m) in view
    let fixed: usize = axes.iter().map(|a| col_w(a) + 1).sum::<usize>() + RUNS_W;
    let span = |a: usize, b: usize| metric_w[a..b].iter().map(|w| w + 1).sum::<usize>();
    let chosen = s.metric.min(metrics.len().saturating_sub(1));
    let mut first = 0;
    while first < chosen && fixed + span(first, chosen + 1) > w {
        first += 1;
    }
    let mut last = first;
    while last < metrics.len() && fixed + span(first, last + 1) <= w {
        last += 1;
    }
    let shown = first..last.max(first + usize::from(!metrics.is_empty()));
    let mut header = vec![];
    let sort_mark = |i: usize| match (s.sort, s.reverse) {
        (Some(c), false) if c == i => "↑",
        (Some(c), true) if c == i => "↓",
        _ => "",
    };
    for (i, a) in axes.iter().enumerate() {
        header.push(Span::styled(
            rpad(&format!("{}{a}", sort_mark(i)), col_w(a)) + " ",
            t.heading(),
        ));
    }
    header.push(Span::styled(pad("runs", RUNS_W), t.heading()));
    for (i, m) in metrics
        .iter()
        .enumerate()
        .skip(shown.start)
        .take(shown.len())
    {
        let style = if i == s.metric {
            t.heading().add_modifier(Modifier::UNDERLINED)
        } else {
            t.heading()
        };
        header.push(Span::styled(
            rpad(&format!("{}{m}", sort_mark(axes.len() + i)), metric_w[i]) + " ",
            style,
        ));
    }
    let mut lines = vec![Line::from(header)];
    // beside a swept `n`, the count of seeds is `n_seeds=3`
    let count = format::count_name(axes.iter().map(String::as_str));
    if rows.is_empty() {
        lines.push(Line::from(Span::styled(
            "this sweep has no run in the runs folder yet",
            t.dim(),
        )));
    }
    let height = (area.height as usize).saturating_sub(1);
    let offset = scroll_offset(s.row, rows.len(), height);
    for (i, r) in rows.iter().enumerate().skip(offset).take(height) {
        let mut spans = Vec::new();
        for (a, v) in axes.iter().zip(&r.values) {
            let v = v.as_ref().map(short_value).unwrap_or("-".into());
            spans.push(Span::raw(rpad(&v, col_w(a)) + " "));
        }
        let mut counts = format!(
            "{} ",
            format::count_cell_as(count, r.tally.seeds, r.tally.total)
        );
        for (st, n) in &r.tally.counts {
            counts.push_str(&format!("{}{n} ", crate::tui::theme::status_icon(*st)));
        }
        spans.push(Span::styled(pad(&counts, RUNS_W), t.dim()));
        for (m, w) in metrics
            .iter()
            .zip(&metric_w)
            .skip(shown.start)
            .take(shown.len())
        {
            spans.push(Span::raw(rpad(&cell_text(r, m, s.ci), *w) + " "));
        }
        let mut line = Line::from(spans);
        if i == s.row {
            line = highlight(line, t.selected(true), w);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::super::sweep_chart::curves;
    use super::*;
    use crate::stats::Stats;

    fn stats(mean: f64, sd: f64, min: f64, max: f64) -> Stats {
        Stats {
            n: 3,
            mean,
            sd,
            min,
            max,
        }
    }

    fn row(d: i64, lr: f64, acc: Option<Stats>) -> GridRow {
        let mut agg = Aggregate::default();
        if let Some(s) = acc {
            agg.metrics.insert("acc".into(), Measure::Result(s));
        }
        GridRow {
            key: format!("{d}-{lr}"),
            experiment: "E1".into(),
            values: vec![Some(Value::Int(d)), Some(Value::Float(lr))],
            agg,
            tally: Tally::default(),
        }
    }

    #[test]
    fn rows_sort_by_a_parameter_or_a_metric_with_missing_values_last() {
        let axes = vec!["d".to_string(), "lr".to_string()];
        let metrics = vec!["acc".to_string()];
        let rows = vec![
            row(10, 0.1, Some(stats(0.6, 0.1, 0.5, 0.7))),
            row(4, 0.1, None),
            row(30, 0.1, Some(stats(0.9, 0.0, 0.9, 0.9))),
        ];
        let mut s = SweepScreen::default();
        let keys = |rows: Vec<GridRow>| rows.into_iter().map(|r| r.key).collect::<Vec<_>>();
        assert_eq!(
            keys(sorted(&s, &axes, &metrics, rows.clone())),
            ["10-0.1", "4-0.1", "30-0.1"]
        );
        s.sort = Some(0);
        assert_eq!(
            keys(sorted(&s, &axes, &metrics, rows.clone())),
            ["4-0.1", "10-0.1", "30-0.1"]
        );
        s.sort = Some(2);
        s.reverse = true;
        assert_eq!(
            keys(sorted(&s, &axes, &metrics, rows)),
            ["30-0.1", "10-0.1", "4-0.1"]
        );
    }

    #[test]
    fn curves_follow_one_parameter_with_a_line_per_value_of_the_others() {
        let axes = vec!["d".to_string(), "lr".to_string()];
        let rows = vec![
            row(10, 0.1, Some(stats(0.6, 0.1, 0.5, 0.7))),
            row(5, 0.1, Some(stats(0.9, 0.05, 0.8, 1.0))),
            row(5, 0.01, Some(stats(0.7, 0.0, 0.7, 0.7))),
            row(30, 0.01, None),
        ];
        let c = curves(&axes, &rows, "acc", 0, BandKind::MinMax);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].0, "lr=0.1");
        assert_eq!(c[0].1, vec![(5.0, 0.9, 0.8, 1.0), (10.0, 0.6, 0.5, 0.7)]);
        assert_eq!(c[1].1, vec![(5.0, 0.7, 0.7, 0.7)]);
        let sd = curves(&axes, &rows, "acc", 0, BandKind::Sd);
        assert!((sd[0].1[0].2 - 0.85).abs() < 1e-12 && (sd[0].1[0].3 - 0.95).abs() < 1e-12);
    }
}
