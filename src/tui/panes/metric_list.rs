//! The chart pane's list of a run's metrics: under a heading per kind (accuracy, loss,
//! gradient SNR, other), each with its latest value and a sparkline, and searched as it is
//! typed (`/`): the list keeps the metrics whose names hold every word typed, and the chart
//! shows the first of them.

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::chart::ChartState;
use super::runs_table::note_rows;
use crate::tui::app::App;
use crate::tui::fmt;
use crate::tui::keymap::Cmd;
use crate::tui::model::run_list::RunRow;
use crate::tui::model::run_row::metric_kind;
use crate::tui::plot;
use crate::tui::widgets::{input_spans, pad, rpad, scroll_offset, TextInput};

/// The search being typed, and the metric shown before it (Esc goes back to it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricSearch {
    pub input: TextInput,
    pub before: Option<String>,
}

/// True when `name` holds every word of `query` (any case).
pub fn matches(query: &str, name: &str) -> bool {
    let name = name.to_lowercase();
    query
        .split_whitespace()
        .all(|w| name.contains(&w.to_lowercase()))
}

/// The heading of a kind of metric (see [`metric_kind`]).
pub fn kind_label(kind: u8) -> &'static str {
    match kind {
        0 => "accuracy",
        1 => "loss",
        2 => "gradient SNR",
        _ => "other",
    }
}

/// One row of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row<'a> {
    /// A kind's heading and how many of its metrics follow.
    Heading(&'static str, usize),
    Metric(&'a str),
}

/// The metrics a search keeps (all of them without one), in display order.
pub fn found<'a>(r: &'a RunRow, query: Option<&str>) -> Vec<&'a str> {
    r.metric_names()
        .into_iter()
        .filter(|n| query.is_none_or(|q| matches(q, n)))
        .collect()
}

/// The list's rows: the metrics a search keeps, each kind under its heading.
pub fn rows<'a>(r: &'a RunRow, query: Option<&str>) -> Vec<Row<'a>> {
    let names = found(r, query);
    let mut out = Vec::with_capacity(names.len() + 4);
    let mut last = None;
    for (i, n) in names.iter().enumerate() {
        let kind = metric_kind(n);
        if last != Some(kind) {
            let count = names[i..]
                .iter()
                .take_while(|m| metric_kind(m) == kind)
                .count();
            out.push(Row::Heading(kind_label(kind), count));
            last = Some(kind);
        }
        out.push(Row::Metric(n));
    }
    out
}

/// Where the list goes in a chart pane's inner area: beside the chart when there is room
/// for both, over the chart's right part while a search is typed (below the status note,
/// if the run has one).
pub fn area(inner: Rect, r: &RunRow, searching: bool) -> Option<Rect> {
    if r.state.metrics.is_empty() || (inner.width < 70 && !searching) {
        return None;
    }
    // wide enough for the longest name whole, a value and a sparkline, up to half the pane
    let longest = r.state.metrics.keys().map(|k| k.chars().count()).max();
    let want = longest.unwrap_or(0) as u16 + 17;
    let w = want
        .clamp(34, 50)
        .min((inner.width / 2).max(28))
        .min(inner.width);
    let note = (note_rows(&r.state, inner.width).len() as u16).min(inner.height);
    Some(Rect::new(
        inner.right() - w,
        inner.y + note,
        w,
        inner.height - note,
    ))
}

/// The first row of the list (under the search line, while one is typed) and the rows in
/// view from there, with the row of the metric shown kept in view.
pub fn window(rows: &[Row], shown: Option<&str>, height: usize) -> (usize, Option<usize>) {
    let sel = shown.and_then(|m| rows.iter().position(|r| *r == Row::Metric(m)));
    (scroll_offset(sel.unwrap_or(0), rows.len(), height), sel)
}

/// The metric at `y` rows below the list's top, if a metric row is there.
pub fn metric_at<'a>(
    r: &'a RunRow,
    chart: &ChartState,
    shown: Option<&str>,
    list: Rect,
    y: u16,
) -> Option<&'a str> {
    let query = chart.search.as_ref().map(|s| s.input.text.as_str());
    let rows = rows(r, query);
    let top = u16::from(query.is_some());
    let height = (list.height.saturating_sub(top)) as usize;
    let (offset, _) = window(&rows, shown, height);
    match rows.get(offset + y.checked_sub(top)? as usize)? {
        Row::Metric(m) => Some(m),
        Row::Heading(..) => None,
    }
}

pub fn render(f: &mut Frame, app: &App, r: &RunRow, shown: Option<&str>, area: Rect) {
    let t = app.settings.theme;
    let w = area.width as usize;
    let search = app.chart.search.as_ref();
    let query = search.map(|s| s.input.text.as_str());
    let rows = rows(r, query);
    let mut lines = Vec::new();
    if let Some(s) = search {
        let n = rows.iter().filter(|r| matches!(r, Row::Metric(_))).count();
        let count = format!(" {n}/{}", r.state.metrics.len());
        let field_w = w.saturating_sub(count.chars().count() + 2).max(2);
        let mut spans = vec![Span::styled("/ ", t.key())];
        spans.extend(input_spans(t, &s.input.text, s.input.cursor, field_w));
        spans.push(Span::styled(count, t.dim()));
        lines.push(Line::from(spans));
    }
    let height = (area.height as usize).saturating_sub(lines.len());
    if rows.is_empty() {
        lines.push(Line::from(Span::styled(
            fmt::clip("no metric has these words", w),
            t.dim(),
        )));
    }
    let (offset, sel) = window(&rows, shown, height);
    let val_w = 7;
    let spark_w = if w >= 34 { 6 } else { 0 };
    let name_w = w.saturating_sub(val_w + spark_w + 2 + usize::from(spark_w > 0));
    // cut so that two names never read the same, keeping the method's prefix
    let names: Vec<&str> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Metric(m) => Some(*m),
            Row::Heading(..) => None,
        })
        .collect();
    let cut = fmt::clip_distinct(&names, name_w);
    let cut_of = |m: &str| names.iter().position(|n| *n == m).map(|i| cut[i].clone());
    for (i, row) in rows.iter().enumerate().skip(offset).take(height) {
        match row {
            Row::Heading(label, n) => {
                let text = format!("{label} ({n})");
                lines.push(Line::from(vec![
                    Span::raw(" "),
                    Span::styled(fmt::clip(&text, w.saturating_sub(1)), t.dim()),
                ]));
            }
            Row::Metric(m) => {
                let s = &r.state.metrics[*m];
                let v = s.last().map(|p| fmt::value(p.value)).unwrap_or_default();
                let here = sel == Some(i);
                let marker = if here { "▸" } else { " " };
                let style = if here { t.heading() } else { t.text() };
                let mut spans = vec![
                    Span::styled(marker, t.key()),
                    Span::styled(pad(&cut_of(m).unwrap_or_default(), name_w), style),
                    Span::raw(" "),
                    Span::styled(rpad(&v, val_w), style),
                ];
                if spark_w > 0 {
                    let sp = plot::sparkline(s, spark_w, app.chart.look(m).log_y);
                    spans.push(Span::raw(" "));
                    spans.push(Span::styled(sp, t.series(0).0));
                }
                lines.push(Line::from(spans));
            }
        }
    }
    f.render_widget(ratatui::widgets::Clear, area);
    f.render_widget(Paragraph::new(lines), area);
}

/// Starts a search (`/`) from the metric shown.
pub fn start(chart: &mut ChartState) {
    chart.search = Some(MetricSearch {
        input: TextInput::new(""),
        before: chart.metric.clone(),
    });
}

/// What a key does while a search is typed in the list of run `r`: the chart follows
/// the first metric found; ↑↓ go through the others; Enter keeps the one shown, Esc goes
/// back to the one before.
pub fn on_typing(chart: &mut ChartState, r: Option<&RunRow>, cmd: Cmd, key: &KeyEvent) {
    let Some(mut s) = chart.search.take() else {
        return;
    };
    match cmd {
        Cmd::Cancel => {
            chart.metric = s.before;
            return;
        }
        Cmd::Apply => return,
        Cmd::Up | Cmd::Down => {
            if let Some(r) = r {
                let found = found(r, Some(&s.input.text));
                if !found.is_empty() {
                    let now = chart.metric_of(r);
                    let i = now.and_then(|m| found.iter().position(|n| *n == m));
                    let n = found.len() as isize;
                    let d = if cmd == Cmd::Down { 1 } else { -1 };
                    let next = match i {
                        Some(i) => (i as isize + d).rem_euclid(n) as usize,
                        None => 0,
                    };
                    chart.metric = Some(found[next].to_string());
                }
            }
        }
        _ => {
            s.input.edit(cmd, key);
            if let Some(r) = r {
                let found = found(r, Some(&s.input.text));
                let now = chart.metric_of(r);
                if !now.is_some_and(|m| found.contains(&m.as_str())) {
                    if let Some(first) = found.first() {
                        chart.metric = Some(first.to_string());
                    }
                }
            }
        }
    }
    chart.search = Some(s);
}
