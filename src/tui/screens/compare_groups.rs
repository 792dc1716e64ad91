//! The compare screen when groups are marked: each group's mean with its band (and each
//! marked run as a group of one), overlaid or side by side on shared axes, over a table of
//! what sets the groups apart and of their final values as mean ± sd over the seeds.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};
use ratatui::Frame;

use super::compare::{fit_columns, left_out_title, table_box, title, Cells};
use crate::engine::RunState;
use crate::sweep::group::{sorted_names, Aggregate, Measure};
use crate::tui::app::App;
use crate::tui::bands::{band_plot, Band};
use crate::tui::fmt;
use crate::tui::keymap::{Cmd, Context};
use crate::tui::model::run_list::{short_value, RunRow};
use crate::tui::panes::group_chart::group_label;
use crate::tui::plot::{draw_plot, Look};
use crate::tui::widgets::{key_legend, pad, titled};

/// A compared item: a group, or a run alone.
struct Item<'a> {
    label: String,
    runs: Vec<&'a RunRow>,
}

fn items(app: &App) -> Vec<Item<'_>> {
    let mut out: Vec<Item> = app
        .compare
        .groups
        .iter()
        .filter_map(|k| app.runs.tree.group(k))
        .map(|g| Item {
            label: group_label(app, g),
            runs: g.members.iter().filter_map(|&n| app.runs.get(n)).collect(),
        })
        .collect();
    out.extend(
        app.compare
            .nums
            .iter()
            .filter_map(|&n| app.runs.get(n))
            .map(|r| Item {
                label: r.label(),
                runs: vec![r],
            }),
    );
    out
}

pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let items = items(app);
    let metric = app.compare_metric();
    let look = metric
        .as_deref()
        .map(|m| app.chart.look(m))
        .unwrap_or_default();
    let (table_lines, left_out) = table(app, &items, area.width.saturating_sub(2) as usize);
    let table_h = (table_lines.len() as u16 + 2).clamp(5, area.height / 2);
    let [chart_a, table_a] =
        Layout::vertical([Constraint::Min(6), Constraint::Length(table_h)]).areas(area);
    let keys = key_legend(
        t,
        Context::Compare,
        &[
            (&[Cmd::Layout], "layout"),
            (&[Cmd::Band], "band"),
            (&[Cmd::Back], "back"),
        ],
    );
    let mut head = title(app, items.len(), metric.as_deref(), look);
    head.spans.push(Span::styled(
        format!("{} ", app.chart.spread.short_label()),
        t.dim(),
    ));
    let block = titled(
        Block::bordered()
            .border_type(BorderType::Thick)
            .border_style(t.border(true)),
        head,
        keys,
        area.width,
    );
    let inner = block.inner(chart_a);
    f.render_widget(block, chart_a);
    let bands: Vec<Option<Band>> = items
        .iter()
        .map(|it| {
            let m = metric.as_deref()?;
            Band::of(it.label.clone(), &it.runs, m, app.chart.spread)
        })
        .collect();
    let all: Vec<Band> = bands.iter().flatten().cloned().collect();
    // an item with no point of the metric is said, not dropped silently
    let missing: Vec<&str> = items
        .iter()
        .zip(&bands)
        .filter(|(_, b)| b.is_none())
        .map(|(it, _)| it.label.as_str())
        .collect();
    let inner = match (missing.is_empty(), all.is_empty(), metric.as_deref()) {
        (false, false, Some(m)) if inner.height > 6 => {
            let [plot_a, note_a] =
                Layout::vertical([Constraint::Min(4), Constraint::Length(1)]).areas(inner);
            let note = format!("not drawn, no {m}: {}", missing.join(", "));
            f.render_widget(
                Paragraph::new(Span::styled(
                    crate::tui::fmt::clip(&note, note_a.width as usize),
                    t.dim(),
                )),
                note_a,
            );
            plot_a
        }
        _ => inner,
    };
    match band_plot(t, &all, look, inner, 0, true) {
        None => f.render_widget(
            Paragraph::new(Span::styled(
                "none of these runs has recorded this metric yet",
                t.dim(),
            )),
            inner,
        ),
        Some(p) if !app.compare.side_by_side => draw_plot(f, t, &p, inner, true),
        Some(shared) => side_by_side(f, app, &items, &bands, look, &shared, inner),
    }
    let title = left_out_title(
        items.len(),
        left_out,
        " What sets them apart · final values, mean ± sd over the seeds ",
    );
    table_box(f, app, &title, table_lines, table_a);
}

/// One small chart per item, on the shared axes of the overlay.
fn side_by_side(
    f: &mut Frame,
    app: &App,
    items: &[Item],
    bands: &[Option<Band>],
    look: Look,
    shared: &crate::tui::plot::Plot,
    inner: Rect,
) {
    let t = app.settings.theme;
    let n = items.len().max(1);
    let per_row = ((inner.width / 36).max(1) as usize).min(n);
    let rows = Layout::vertical(vec![Constraint::Fill(1); n.div_ceil(per_row)]).split(inner);
    for (ri, row) in rows.iter().enumerate() {
        let cells = Layout::horizontal(vec![Constraint::Fill(1); per_row]).split(*row);
        for (ci, cell) in cells.iter().enumerate() {
            let k = ri * per_row + ci;
            let Some(item) = items.get(k) else { continue };
            let b = Block::new()
                .borders(Borders::TOP)
                .border_style(t.dim())
                .title(Span::styled(format!(" {} ", item.label), t.series(k).0));
            let area = b.inner(*cell);
            f.render_widget(b, *cell);
            let one = bands[k].iter().cloned().collect::<Vec<_>>();
            match band_plot(t, &one, look, area, k, true) {
                Some(mut p) => {
                    p.x = shared.x;
                    p.y = shared.y;
                    draw_plot(f, t, &p, area, false);
                }
                None => f.render_widget(Paragraph::new(Span::styled("no data", t.dim())), area),
            }
        }
    }
}

/// Runs, seeds, the parameters that differ between the items, status counts, and every
/// summary metric as mean ± sd over the runs that finished: the items whose columns fit
/// whole in `width`, and how many were left out.
fn table(app: &App, items: &[Item], width: usize) -> (Vec<Line<'static>>, usize) {
    let t = app.settings.theme;
    let name_w = 20;
    let (col_w, fit) = fit_columns(width, name_w, items.len(), (15, 24));
    let left_out = items.len() - fit;
    let items = &items[..fit];
    let cells = Cells { t, name_w, col_w };
    let mut head = vec![Span::styled(pad("", cells.name_w), t.heading())];
    for (i, it) in items.iter().enumerate() {
        // a run's label too long for its column is its number (`#4`), as in the legend
        let label = match it.label.split_once(' ') {
            Some((num, _)) if it.label.chars().count() >= col_w && num.starts_with('#') => {
                num.to_string()
            }
            _ => fmt::clip_middle(&it.label, col_w - 1),
        };
        head.push(Span::styled(
            pad(&label, cells.col_w),
            t.series(i).0.add_modifier(Modifier::BOLD),
        ));
    }
    let mut out = vec![Line::from(head)];
    let col = |f: &dyn Fn(&Item) -> String| items.iter().map(f).collect::<Vec<String>>();
    out.push(cells.row("runs", col(&|it| it.runs.len().to_string()), t.text()));
    let seeds = col(&|it| {
        let s: Vec<String> = it
            .runs
            .iter()
            .map(|r| r.state.seed.map_or("-".into(), |s| s.to_string()))
            .collect();
        s.join(",")
    });
    out.push(cells.row("seeds", seeds, t.text()));
    let firsts: Vec<Option<&RunRow>> = items.iter().map(|it| it.runs.first().copied()).collect();
    let mut names: Vec<String> = Vec::new();
    for r in firsts.iter().flatten() {
        for (k, _) in r.state.params.iter() {
            if !names.iter().any(|x| x == k) {
                names.push(k.to_string());
            }
        }
    }
    for k in names {
        let vals: Vec<Option<String>> = firsts
            .iter()
            .map(|r| r.and_then(|r| r.state.params.get(&k)).map(short_value))
            .collect();
        if vals.iter().any(|v| *v != vals[0]) {
            let shown = vals.into_iter().map(|v| v.unwrap_or("-".into())).collect();
            out.push(cells.row(&k, shown, t.edited()));
        }
    }
    let aggs: Vec<Aggregate> = items
        .iter()
        .map(|it| {
            let states: Vec<&RunState> = it.runs.iter().map(|r| &r.state).collect();
            Aggregate::of(&states)
        })
        .collect();
    let status = aggs
        .iter()
        .map(|a| {
            a.status
                .iter()
                .map(|(s, n)| format!("{n} {s}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    out.push(cells.row("status", status, t.text()));
    out.push(Line::from(Span::styled("final values", t.heading())));
    let metrics = sorted_names(
        aggs.iter()
            .flat_map(|a| a.metrics.keys().map(String::as_str)),
        "",
    );
    for m in metrics {
        let vals = aggs
            .iter()
            .map(|a| a.metrics.get(&m).map_or("-".into(), Measure::short))
            .collect();
        out.push(cells.row(&m, vals, t.text()));
    }
    (out, left_out)
}
