//! The frame: header, the current screen (or the main screen's panes), the hint bar and any
//! box on top. A pure function of the [`App`] state; each pane and screen draws itself.

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::engine::Status;

use super::app::App;
use super::fmt::clip;
use super::keymap::{self, Context};
use super::panes::{self, Pane};
use super::screens::dialogs::{self, Overlay};
use super::screens::{compare, figure, Screen};

/// The smallest terminal the lab draws in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draws the whole screen.
pub fn render(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(f, app, area);
        return;
    }
    let [header, body, hints] = frame_areas(area);
    render_header(f, app, header);
    match app.screen {
        Screen::Main => render_main(f, app, body),
        Screen::Compare => compare::render(f, app, body),
        Screen::Sweep => crate::tui::screens::sweep::render(f, app, body),
        Screen::Figure => figure::render(f, app, body),
    }
    render_hints(f, app, hints);
    if let Some(o) = &app.overlay {
        dialogs::render(f, app, o, body);
    }
}

/// Header, body and hint bar.
pub fn frame_areas(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Where each pane of the main screen is drawn (a zoomed pane fills the body, the others get
/// no room).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MainLayout {
    pub scenarios: Rect,
    pub params: Rect,
    pub runs: Rect,
    pub chart: Rect,
}

impl MainLayout {
    pub fn of(&self, p: Pane) -> Rect {
        match p {
            Pane::Scenarios => self.scenarios,
            Pane::Params => self.params,
            Pane::Runs => self.runs,
            Pane::Chart => self.chart,
        }
    }
}

/// The main screen: a left column with the scenario tree over the parameters, a right
/// column with the runs over the chart.
pub fn main_layout(app: &App, body: Rect) -> MainLayout {
    if !app.zoomed {
        return split_main(app, body);
    }
    let mut l = MainLayout::default();
    match app.focus {
        Pane::Scenarios => l.scenarios = body,
        Pane::Params => l.params = body,
        Pane::Runs => l.runs = body,
        Pane::Chart => l.chart = body,
    }
    l
}

/// The four panes side by side, as when none is zoomed.
fn split_main(app: &App, body: Rect) -> MainLayout {
    let h = body.height;
    // in a narrow terminal the left column widens while the keys are there
    let left_focused = matches!(app.focus, Pane::Scenarios | Pane::Params);
    let left_w = if body.width < 100 && left_focused {
        body.width / 2
    } else {
        ((body.width as f32 * 0.4).round() as u16).clamp(32, 56)
    };
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_w), Constraint::Min(0)]).areas(body);
    // the parameters get room for ten of them at 100x30, and the tree keeps at least 13
    // rows: the four families with the selection's experiment open. The split does not
    // follow the selection, so the panes stay put as it moves.
    let params_h = if h >= 36 {
        h / 2
    } else {
        15.min(h.saturating_sub(13)).max(7.min(h))
    };
    let [scenarios, params] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(params_h)]).areas(left);
    let rows = app.runs.rows.len().max(2) as u16;
    let runs_h = (rows + 3).clamp(5, (h * 2 / 5).max(5));
    let [runs, chart] =
        Layout::vertical([Constraint::Length(runs_h), Constraint::Min(0)]).areas(right);
    MainLayout {
        scenarios,
        params,
        runs,
        chart,
    }
}

/// The rows the scenario tree has on screen now (for folding it to fit), if the terminal's
/// size is known and the main screen can be drawn.
pub fn tree_rows(app: &App) -> Option<usize> {
    let area = app.area;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let [_, body, _] = frame_areas(area);
    let tree = if app.zoomed && app.focus == Pane::Scenarios {
        body
    } else {
        split_main(app, body).scenarios
    };
    Some(tree.height.saturating_sub(2) as usize)
}

fn render_main(f: &mut Frame, app: &App, body: Rect) {
    let l = main_layout(app, body);
    for (pane, area) in Pane::ORDER.iter().map(|p| (*p, l.of(*p))) {
        if area.area() == 0 {
            continue;
        }
        match pane {
            Pane::Scenarios => panes::scenarios::render(f, app, area),
            Pane::Params => panes::params::render(f, app, area),
            Pane::Runs => panes::runs_table::render(f, app, area),
            Pane::Chart => panes::chart::render(f, app, area),
        }
    }
}

fn too_small(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let mut lines = vec![
        Line::from(Span::styled("terminal too small", t.error())),
        Line::from(format!("{}x{}", area.width, area.height)),
        Line::from(format!("need at least {MIN_WIDTH}x{MIN_HEIGHT}")),
        Line::from(Span::styled("enlarge the window, or q to quit", t.dim())),
    ];
    if app.overlay == Some(Overlay::ConfirmQuit) {
        lines.push(Line::from(Span::styled(
            "runs are active: y stops them and quits, n stays",
            t.key(),
        )));
    }
    let h = (lines.len() as u16).min(area.height);
    let y = area.y + area.height.saturating_sub(h) / 2;
    f.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        Rect::new(area.x, y, area.width, h.max(area.height - (y - area.y))),
    );
}

fn render_header(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let running = app.runs.count(Status::Running);
    let paused = app.runs.count(Status::Paused);
    let queued = app.runs.count(Status::Queued);
    let elsewhere = app.runs.count(Status::Elsewhere);
    let mut right = format!("{running} running");
    if paused > 0 {
        right.push_str(&format!(" · {paused} paused"));
    }
    if elsewhere > 0 {
        right.push_str(&format!(" · {elsewhere} elsewhere"));
    }
    if queued > 0 {
        right.push_str(&format!(" · {queued} queued"));
    }
    right.push_str(&format!(" · limit {}", app.pool.limit()));
    if let Some((busy, cores)) = &app.settings.cores {
        let used = busy.load(std::sync::atomic::Ordering::Relaxed);
        right.push_str(&format!(" · cores {used}/{cores}"));
    }
    right.push_str(&format!(" · {} ", app.settings.device));
    if app.zoomed && app.screen == Screen::Main {
        right.insert_str(0, "zoomed · ");
    }
    let w = area.width as usize;
    let rw = right.chars().count();
    let mut spans = vec![Span::styled(" fail-lab", t.title())];
    let mut used = 9;
    match &app.message {
        Some(m) => {
            let room = w.saturating_sub(used + rw + 4);
            let style = if m.error { t.error() } else { t.ok() };
            let text = clip(&m.text, room);
            used += 3 + text.chars().count();
            spans.push(Span::styled(" · ", t.dim()));
            spans.push(Span::styled(text, style));
        }
        None => {
            let sub = " · failures of gradient-based deep learning";
            if used + sub.len() + rw < w {
                used += sub.chars().count();
                spans.push(Span::styled(sub, t.dim()));
            }
        }
    }
    spans.push(Span::raw(" ".repeat(w.saturating_sub(used + rw))));
    spans.push(Span::styled(clip(&right, w.saturating_sub(used)), t.dim()));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_hints(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let all = keymap::hints(app.context());
    let globals: Vec<(String, &str)> = keymap::hints(Context::Global)
        .into_iter()
        .filter(|h| all.contains(h))
        .collect();
    let len = |(k, a): &(String, &str)| k.chars().count() + a.chars().count() + 4;
    // the context's own keys while they fit, always leaving room for help and quit
    let mut room = (area.width as usize).saturating_sub(1 + globals.iter().map(len).sum::<usize>());
    let mut shown: Vec<(String, &str)> = Vec::new();
    for h in all.iter().filter(|h| !globals.contains(h)) {
        if len(h) > room {
            break;
        }
        room -= len(h);
        shown.push(h.clone());
    }
    shown.extend(globals);
    let mut spans = vec![Span::raw(" ")];
    for (k, a) in shown {
        spans.push(Span::styled(k, t.key()));
        spans.push(Span::raw(format!(" {a}")));
        spans.push(Span::styled(" · ", t.dim()));
    }
    spans.pop();
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
