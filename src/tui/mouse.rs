//! Clicks and the wheel. A click focuses the pane under it and selects the row it hits (a
//! scenario, a parameter, a run, a metric of the chart's list); the wheel scrolls the list
//! under it, the chart's metrics, the compare table or the help. The keyboard does all of
//! this on its own; the mouse is a shortcut.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::app::App;
use super::panes::chart::metric_list_area;
use super::panes::metric_list;
use super::panes::params::Editor;
use super::panes::Pane;
use super::screens::dialogs::Overlay;
use super::screens::Screen;
use super::view::{frame_areas, main_layout, MIN_HEIGHT, MIN_WIDTH};
use super::widgets::scroll_offset;

/// Applies one mouse event; true if anything changed.
pub fn handle(app: &mut App, ev: MouseEvent) -> bool {
    let area = app.area;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return false;
    }
    let wheel = match ev.kind {
        MouseEventKind::ScrollDown => 1,
        MouseEventKind::ScrollUp => -1,
        MouseEventKind::Down(MouseButton::Left) => 0,
        _ => return false,
    };
    let at = Position::new(ev.column, ev.row);
    if let Some(Overlay::Help { scroll }) = &mut app.overlay {
        if wheel != 0 {
            *scroll = scroll.saturating_add_signed(wheel * 3);
            return true;
        }
        return false;
    }
    if app.overlay.is_some() {
        return false;
    }
    match app.screen {
        Screen::Compare if wheel != 0 => {
            app.compare.scroll = app.compare.scroll.saturating_add_signed(wheel);
            true
        }
        Screen::Main => {
            let [_, body, _] = frame_areas(area);
            let layout = main_layout(app, body);
            let Some(pane) = Pane::ORDER.into_iter().find(|p| layout.of(*p).contains(at)) else {
                return false;
            };
            let inner = inset(layout.of(pane));
            if wheel != 0 {
                scroll(app, pane, wheel);
            } else {
                app.focus = pane;
                if inner.contains(at) {
                    click(app, pane, inner, at);
                }
            }
            true
        }
        _ => false,
    }
}

/// A pane's area inside its border.
fn inset(r: Rect) -> Rect {
    Rect::new(
        r.x.saturating_add(1),
        r.y.saturating_add(1),
        r.width.saturating_sub(2),
        r.height.saturating_sub(2),
    )
}

fn scroll(app: &mut App, pane: Pane, d: isize) {
    match pane {
        Pane::Scenarios => app.scenarios.move_by(d),
        Pane::Params => {
            if let Some(e) = app.scenarios.current() {
                let s = e.current.clone();
                app.editor.move_by(d, &s);
            }
        }
        Pane::Runs => app.runs.move_by(d),
        Pane::Chart => {
            if let Some(r) = app.runs.selected_row() {
                app.chart.cycle(r, d);
            }
        }
    }
}

/// Selects what was clicked: the row at `at` of the pane's list.
fn click(app: &mut App, pane: Pane, inner: Rect, at: Position) {
    let line = (at.y - inner.y) as usize;
    let height = inner.height as usize;
    match pane {
        Pane::Scenarios => {
            let rows = app.scenarios.rows();
            let sel = app.scenarios.selected_index(&rows);
            let offset = scroll_offset(sel, rows.len(), height);
            if let Some(r) = rows.get(offset + line) {
                app.scenarios.selected = r.node;
            }
        }
        Pane::Params => {
            let Some(e) = app.scenarios.current() else {
                return;
            };
            let n = Editor::fields(&e.current).len();
            // the fields table is above a footer of up to three lines
            let table_h = height.saturating_sub(if height >= 9 { 3 } else { 2 });
            let offset = scroll_offset(app.editor.row, n, table_h);
            if line < table_h && offset + line < n && app.editor.input.is_none() {
                app.editor.row = offset + line;
            }
        }
        Pane::Runs => {
            // a header line, then one line per row (a click on a folded row's mark unfolds
            // it: the first three columns)
            let Some(sel) = app.runs.selected_index() else {
                return;
            };
            let rows = app.runs.display_rows();
            let offset = scroll_offset(sel, rows.len(), height.saturating_sub(1));
            if line >= 1 {
                if let Some((node, _)) = rows.into_iter().nth(offset + line - 1) {
                    let on_fold = at.x.saturating_sub(inner.x) < 3;
                    if on_fold && app.runs.cursor.as_ref() == Some(&node) {
                        let open = app.runs.is_open(&node);
                        app.runs.set_open(&node, !open);
                    }
                    app.runs.select_node(node);
                }
            }
        }
        Pane::Chart => {
            let Some(r) = app.runs.selected_row() else {
                return;
            };
            let Some(list) = metric_list_area(app, inner, r).filter(|l| l.contains(at)) else {
                return;
            };
            let shown = app.chart_metric();
            let found =
                metric_list::metric_at(r, &app.chart, shown.as_deref(), list, at.y - list.y)
                    .map(str::to_string);
            if let Some(n) = found {
                app.chart.metric = Some(n);
            }
        }
    }
}
