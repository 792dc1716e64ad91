//! Drawing: a pure function of the [`App`] state onto a ratatui frame.

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, BorderType, Borders, Chart, Clear, Dataset, GraphType, LegendPosition, Paragraph,
    Wrap,
};
use ratatui::Frame;

use crate::engine::{Series, Status};
use crate::experiments::{self, ctx::Figure, Family};
use crate::spec::Value;

use super::app::{App, Overlay, Pane, Screen};
use super::chart::{self, Look};
use super::editor::{self, Editor, Field};
use super::figure::ImageView;
use super::fmt::{self, clip};
use super::keys::{self, Context};
use super::runs::RunRow;
use super::theme::{status_icon, Theme};
use super::tree::Node;

/// The smallest terminal the lab draws in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draws the whole screen.
pub fn render(f: &mut Frame, app: &App) {
    let area = f.area();
    let t = app.settings.theme;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(f, app, area);
        return;
    }
    let [header, body, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(f, app, header);
    match app.screen {
        Screen::Main => render_main(f, app, body),
        Screen::Compare => render_compare(f, app, body),
        Screen::Figure => render_figure(f, app, body),
    }
    render_hints(f, app, hints);
    match &app.overlay {
        Some(Overlay::Help { scroll }) => render_help(f, t, body, *scroll),
        Some(Overlay::ConfirmQuit) => {
            let n = app.runs.active();
            confirm(
                f,
                t,
                body,
                " Quit? ",
                &[
                    format!("{n} run(s) are still active (training, paused or queued)."),
                    "Stop them and quit? What they recorded so far stays in the runs folder."
                        .into(),
                ],
                "[y] stop them and quit   [n] stay",
            )
        }
        Some(Overlay::ConfirmDelete(num)) => {
            let what = app
                .runs
                .get(*num)
                .map(|r| {
                    let dir = r
                        .state
                        .dir
                        .as_ref()
                        .map(|d| d.display().to_string())
                        .unwrap_or_else(|| "(no files)".into());
                    format!("run #{num} ({}) and its folder {dir}", r.label())
                })
                .unwrap_or_default();
            confirm(
                f,
                t,
                body,
                " Delete? ",
                &[format!("Delete {what}?"), "This cannot be undone.".into()],
                "[y] delete   [n] keep",
            )
        }
        Some(Overlay::SaveAs(input)) => {
            let dir = app.scenarios.dir.display().to_string();
            let verdict = editor::check_file_name(&app.scenarios.dir, &input.text);
            let w = 64.min(body.width.saturating_sub(4));
            let area = centered(body, w, 7);
            f.render_widget(Clear, area);
            let block = Block::bordered()
                .border_type(BorderType::Rounded)
                .border_style(t.border(true))
                .title(Span::styled(" Save the edited scenario as ", t.title()));
            let inner = block.inner(area);
            f.render_widget(block, area);
            let mut lines = vec![
                Line::from(Span::styled(format!("in {dir}/"), t.dim())),
                input_line(t, &input.text, input.cursor, inner.width as usize),
            ];
            lines.push(match verdict {
                Ok(p) => Line::from(Span::styled(
                    clip(&format!("will write {}", p.display()), inner.width as usize),
                    t.ok(),
                )),
                Err(e) => Line::from(Span::styled(clip(&e, inner.width as usize), t.error())),
            });
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "[Enter] save   [Esc] cancel",
                t.dim(),
            )));
            f.render_widget(Paragraph::new(lines), inner);
        }
        None => {}
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
    right.push_str(&format!(
        " · limit {} · {} ",
        app.pool.limit(),
        app.settings.device
    ));
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
    let all = keys::hints(app.context());
    let globals: Vec<(&str, &str)> = keys::bindings(Context::Global)
        .iter()
        .filter_map(|b| b.hint)
        .filter(|h| all.contains(h))
        .collect();
    let len = |(k, a): &(&str, &str)| k.chars().count() + a.chars().count() + 4;
    // the context's own keys while they fit, always leaving room for help and quit
    let mut room = (area.width as usize).saturating_sub(1 + globals.iter().map(len).sum::<usize>());
    let mut shown: Vec<(&str, &str)> = Vec::new();
    for h in all.iter().filter(|h| !globals.contains(h)) {
        if len(h) > room {
            break;
        }
        room -= len(h);
        shown.push(*h);
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

fn pane_block<'a>(t: Theme, title: Line<'a>, focused: bool) -> Block<'a> {
    Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(t.border(focused))
        .title(title)
}

fn render_main(f: &mut Frame, app: &App, area: Rect) {
    let h = area.height;
    let top = ((h as f32 * 0.34).round() as u16).clamp(7, 14);
    let runs = ((h as f32 * 0.25).round() as u16).clamp(6, 14);
    let [top_a, runs_a, chart_a] = Layout::vertical([
        Constraint::Length(top),
        Constraint::Length(runs),
        Constraint::Min(0),
    ])
    .areas(area);
    let left = ((area.width as f32 * 0.3).round() as u16).clamp(26, 42);
    let [tree_a, params_a] =
        Layout::horizontal([Constraint::Length(left), Constraint::Min(0)]).areas(top_a);
    render_tree(f, app, tree_a);
    render_params(f, app, params_a);
    render_runs(f, app, runs_a);
    render_run_chart(f, app, chart_a);
}

// -------------------------------------------------------------------------------------------
// scenarios

fn render_tree(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let focused = app.focus == Pane::Scenarios;
    let block = pane_block(
        t,
        Line::from(Span::styled(" Scenarios ", t.title())),
        focused,
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let s = &app.scenarios;
    let rows = s.rows();
    let sel = s.selected_index(&rows);
    let height = inner.height as usize;
    let offset = scroll_offset(sel, rows.len(), height);
    let w = inner.width as usize;
    let mut lines = Vec::new();
    for (i, row) in rows.iter().enumerate().skip(offset).take(height) {
        let fold = match row.fold {
            Some(true) => "▾ ",
            Some(false) => "▸ ",
            None => "",
        };
        let indent = "  ".repeat(row.depth);
        let (text, style, suffix) = match row.node {
            Node::Family(fam) => {
                let none = !experiments::registry().iter().any(|e| e.family == fam);
                (
                    format!("{} {}", fam.number(), short_family(fam)),
                    if none { t.dim() } else { t.heading() },
                    "",
                )
            }
            Node::Experiment(id) => {
                let name = experiments::find(id).map(|d| d.name).unwrap_or("");
                (format!("{id} {name}"), t.text(), "")
            }
            Node::Scenario(k) => {
                let e = &s.entries[k];
                let (text, style) = if e.path.is_none() {
                    ("defaults".to_string(), t.dim())
                } else {
                    (tree_title(s, k), t.text())
                };
                (text, style, if e.is_edited() { " *" } else { "" })
            }
            Node::BrokenGroup => ("files with errors".into(), t.error(), ""),
            Node::Broken(k) => (
                s.broken[k]
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                t.error(),
                "",
            ),
        };
        let room = w.saturating_sub(indent.len() + fold.chars().count() + suffix.chars().count());
        let mut spans = vec![
            Span::raw(indent),
            Span::styled(fold, t.dim()),
            Span::styled(clip(&text, room), style),
        ];
        if !suffix.is_empty() {
            spans.push(Span::styled(suffix, t.edited()));
        }
        let mut line = Line::from(spans);
        if i == sel {
            line = highlight(line, t.selected(focused), w);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// A scenario's title in the tree, without the words it shares with its siblings
/// ("Random parity, d = 5" under E1 shows as "d = 5" when "d = 10" sits next to it).
fn tree_title(s: &super::tree::Scenarios, k: usize) -> String {
    let title = s.entries[k].current.title.as_str();
    let siblings: Vec<&str> = s
        .scenarios_of(&s.entries[k].current.experiment)
        .into_iter()
        .filter(|&i| s.entries[i].path.is_some())
        .map(|i| s.entries[i].current.title.as_str())
        .collect();
    if siblings.len() < 2 {
        return title.to_string();
    }
    // the longest common prefix that ends at a word boundary
    let mut common = siblings[0].len();
    for other in &siblings[1..] {
        common = common.min(
            siblings[0]
                .char_indices()
                .zip(other.chars())
                .take_while(|((_, a), b)| a == b)
                .last()
                .map(|((i, c), _)| i + c.len_utf8())
                .unwrap_or(0),
        );
    }
    let prefix = &siblings[0][..common];
    // cut after the last ", " or ": " of the shared words
    let cut = [", ", ": ", " - ", " · "]
        .iter()
        .filter_map(|sep| prefix.rfind(sep).map(|i| i + sep.len()))
        .max()
        .unwrap_or(0);
    let rest = title.get(cut..).unwrap_or(title).trim_start();
    if cut == 0 || rest.is_empty() || siblings.iter().any(|t| t.len() <= cut) {
        title.to_string()
    } else {
        rest.to_string()
    }
}

fn short_family(f: Family) -> &'static str {
    match f {
        Family::Parities => "Parities",
        Family::Decomposition => "Decomposition vs E2E",
        Family::Conditioning => "Architecture, conditioning",
        Family::FlatActivations => "Flat activations",
    }
}

/// The first visible row so that `sel` is on screen.
fn scroll_offset(sel: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    sel.saturating_sub(height - 1).min(len - height)
}

/// Pads a line to `width` and gives it the selection style.
fn highlight(line: Line<'_>, style: Style, width: usize) -> Line<'_> {
    let used: usize = line.spans.iter().map(|s| s.content.chars().count()).sum();
    let mut spans: Vec<Span> = line
        .spans
        .into_iter()
        .map(|s| {
            let st = s.style.patch(style);
            Span::styled(s.content, st)
        })
        .collect();
    if used < width {
        spans.push(Span::styled(" ".repeat(width - used), style));
    }
    Line::from(spans)
}

// -------------------------------------------------------------------------------------------
// parameters

fn render_params(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let focused = app.focus == Pane::Params;
    let s = &app.scenarios;
    match s.selected {
        Node::Scenario(k) => {
            let e = &s.entries[k];
            let mut title = vec![Span::styled(
                format!(
                    " {} · {} ",
                    e.current.experiment,
                    clip(&e.current.title, area.width.saturating_sub(14) as usize)
                ),
                t.title(),
            )];
            if e.is_edited() {
                title.push(Span::styled("edited ", t.edited()));
            }
            let block = pane_block(t, Line::from(title), focused).title_bottom(
                Line::from(Span::styled(format!(" {} ", e.origin()), t.dim())).right_aligned(),
            );
            let inner = block.inner(area);
            f.render_widget(block, area);
            render_fields(f, app, inner, &e.current, &e.original, focused);
        }
        Node::Experiment(id) => {
            let block = pane_block(
                t,
                Line::from(Span::styled(format!(" {id} "), t.title())),
                focused,
            );
            let inner = block.inner(area);
            f.render_widget(block, area);
            let mut lines = Vec::new();
            if let Some(d) = experiments::find(id) {
                lines.push(Line::from(Span::styled(
                    format!("{} {}", d.id, d.name),
                    t.heading(),
                )));
                lines.push(Line::from(d.shows));
                lines.push(Line::from(Span::styled(
                    format!(
                        "parameters: {}",
                        (d.params)()
                            .iter()
                            .map(|p| p.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    t.dim(),
                )));
                lines.push(Line::from(Span::styled(
                    "select one of its scenarios below it to edit and start",
                    t.dim(),
                )));
            }
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
        }
        Node::Family(fam) => {
            let block = pane_block(
                t,
                Line::from(Span::styled(
                    format!(" {} {} ", fam.number(), fam.title()),
                    t.title(),
                )),
                focused,
            );
            let inner = block.inner(area);
            f.render_widget(block, area);
            let mut lines = Vec::new();
            let exps: Vec<_> = experiments::registry()
                .iter()
                .filter(|e| e.family == fam)
                .collect();
            if exps.is_empty() {
                lines.push(Line::from(Span::styled(
                    "no experiment of this family in this build",
                    t.dim(),
                )));
            }
            for e in exps {
                lines.push(Line::from(vec![
                    Span::styled(format!("{:<4}", e.id), t.heading()),
                    Span::raw(e.shows),
                ]));
            }
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
        }
        Node::BrokenGroup | Node::Broken(_) => {
            let block = pane_block(
                t,
                Line::from(Span::styled(" Files with errors ", t.error())),
                focused,
            );
            let inner = block.inner(area);
            f.render_widget(block, area);
            let lines: Vec<Line> = match s.selected {
                Node::Broken(k) => vec![Line::from(Span::styled(
                    s.broken[k].error.clone(),
                    t.error(),
                ))],
                _ => s
                    .broken
                    .iter()
                    .map(|b| Line::from(Span::styled(b.error.clone(), t.error())))
                    .collect(),
            };
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
        }
    }
}

fn render_fields(
    f: &mut Frame,
    app: &App,
    area: Rect,
    s: &crate::spec::Scenario,
    original: &crate::spec::Scenario,
    focused: bool,
) {
    let t = app.settings.theme;
    let fields = Editor::fields(s);
    let ed = &app.editor;
    let footer_h = if area.height >= 8 {
        3
    } else if focused {
        2
    } else {
        1
    };
    let [table_a, footer_a] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(footer_h)]).areas(area);
    let w = table_a.width as usize;
    let name_w = fields
        .iter()
        .map(|f| f.name().chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 14);
    let value_w = 11usize.min(w / 4).max(6);
    let range_w = 14usize.min(w / 4);
    let help_w = w.saturating_sub(name_w + value_w + range_w + 4);
    let height = table_a.height as usize;
    let offset = scroll_offset(ed.row, fields.len(), height);
    let mut lines = Vec::new();
    for (i, field) in fields.iter().enumerate().skip(offset).take(height) {
        let edited = field.show(s) != field.show(original);
        let is_default = match field {
            Field::Param(d) => s.params.get(d.name) == Some(&d.default),
            Field::Seed => true,
        };
        let value_style = if edited {
            t.edited().add_modifier(Modifier::BOLD)
        } else if is_default {
            t.text()
        } else {
            t.heading()
        };
        let selected = i == ed.row;
        let value_span = match (&ed.input, selected && focused) {
            (Some(input), true) => {
                // the value being typed, with its cursor
                input_spans(t, &input.text, input.cursor, value_w)
            }
            _ => vec![Span::styled(pad(&field.show(s), value_w), value_style)],
        };
        let mut spans = vec![
            Span::styled(pad(field.name(), name_w), t.text()),
            Span::raw(" "),
        ];
        spans.extend(value_span);
        spans.push(Span::raw(" "));
        spans.push(Span::styled(pad(&field.range_short(), range_w), t.dim()));
        spans.push(Span::raw(" "));
        spans.push(Span::styled(clip(field.help(), help_w), t.dim()));
        let mut line = Line::from(spans);
        if selected && ed.input.is_none() {
            line = highlight(line, t.selected(focused), w);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), table_a);

    // the footer: the value's verdict while typing, the field's help when focused, else the
    // scenario's description
    let fw = footer_a.width as usize;
    let mut foot: Vec<Line> = Vec::new();
    let sel = fields.get(ed.row);
    if let (Some(field), Some(verdict), true) = (sel, ed.verdict(s), focused) {
        match verdict {
            Ok(v) => {
                let shown = match v {
                    Some(v) => v.to_string(),
                    None => "a fresh random seed per run".into(),
                };
                foot.push(Line::from(Span::styled(
                    clip(&format!("✓ {} = {shown}", field.name()), fw),
                    t.ok(),
                )));
            }
            Err(m) => foot.push(Line::from(Span::styled(format!("✗ {m}"), t.error()))),
        }
        foot.push(Line::from(Span::styled(
            clip(&format!("allowed: {}", field.allowed()), fw),
            t.dim(),
        )));
    } else if let (Some(field), true) = (sel, focused) {
        let default = match field {
            Field::Param(d) => format!(" · default {}", d.default),
            Field::Seed => String::new(),
        };
        foot.push(Line::from(vec![
            Span::styled(format!("{}: ", field.name()), t.heading()),
            Span::raw(field.help().to_string()),
        ]));
        foot.push(Line::from(Span::styled(
            format!(
                "{} · allowed: {}{default}",
                field.type_name(),
                field.allowed()
            ),
            t.dim(),
        )));
    } else {
        let text = if s.description.is_empty() {
            experiments::find(&s.experiment)
                .map(|d| d.shows.to_string())
                .unwrap_or_default()
        } else {
            s.description
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        foot.push(Line::from(Span::styled(text, t.dim())));
    }
    if let Err(e) = editor::cross_check(s) {
        foot.insert(0, Line::from(Span::styled(format!("✗ {e}"), t.error())));
    }
    f.render_widget(Paragraph::new(foot).wrap(Wrap { trim: true }), footer_a);
}

fn pad(s: &str, w: usize) -> String {
    let c = clip(s, w);
    let n = c.chars().count();
    format!("{c}{}", " ".repeat(w.saturating_sub(n)))
}

fn rpad(s: &str, w: usize) -> String {
    let c = clip(s, w);
    let n = c.chars().count();
    format!("{}{c}", " ".repeat(w.saturating_sub(n)))
}

/// A text field of `w` cells with a visible cursor (drawn, not the terminal's).
fn input_spans(t: Theme, text: &str, cursor: usize, w: usize) -> Vec<Span<'static>> {
    let chars: Vec<char> = text.chars().collect();
    let w = w.max(2);
    // keep the cursor in view
    let start = cursor.saturating_sub(w - 1);
    let mut spans = Vec::new();
    let before: String = chars[start..cursor.min(chars.len())].iter().collect();
    let at: String = chars
        .get(cursor)
        .map(|c| c.to_string())
        .unwrap_or_else(|| " ".into());
    let after: String = chars
        .iter()
        .skip(cursor + 1)
        .take(w.saturating_sub(before.chars().count() + 1))
        .collect();
    let used = before.chars().count() + 1 + after.chars().count();
    let field = t.text().add_modifier(Modifier::UNDERLINED);
    spans.push(Span::styled(before, field));
    spans.push(Span::styled(at, field.add_modifier(Modifier::REVERSED)));
    spans.push(Span::styled(after, field));
    spans.push(Span::styled(" ".repeat(w.saturating_sub(used)), field));
    spans
}

fn input_line(t: Theme, text: &str, cursor: usize, w: usize) -> Line<'static> {
    Line::from(input_spans(t, text, cursor, w))
}

// -------------------------------------------------------------------------------------------
// runs

struct Cols {
    exp: usize,
    differs: usize,
    status: usize,
    step: usize,
    speed: usize,
    eta: usize,
    latest: usize,
    trend: usize,
    /// The gradient SNR's sparkline (0: no room for it).
    snr: usize,
}

fn columns(w: usize) -> Cols {
    // fixed: mark+icon 2, # 3, separators
    let wide = w >= 120;
    let exp = if wide { 18 } else { 4 };
    let status = if w >= 100 { 11 } else { 8 };
    let step = 11;
    let speed = 7;
    let eta = 6;
    let latest = if wide { 30 } else { 7 };
    let fixed = 2 + 1 + 3 + 1 + exp + 1 + status + 1 + step + 1 + speed + 1 + eta + 1 + latest + 1;
    let rest = w.saturating_sub(fixed);
    let sparks = (rest / 2).clamp(6, 24).min(rest);
    let differs = rest.saturating_sub(sparks + 1);
    // the main metric's trend, and the gradient SNR's next to it when there is room
    let (trend, snr) = if sparks >= 13 {
        let snr = sparks / 2;
        (sparks - snr - 1, snr)
    } else {
        (sparks, 0)
    };
    Cols {
        exp,
        differs,
        status,
        step,
        speed,
        eta,
        latest,
        trend,
        snr,
    }
}

/// The run's whole-model gradient SNR: `grad_snr`, or the first `<method>/grad_snr` of a run
/// that compares methods.
fn snr_metric(s: &crate::engine::RunState) -> Option<&str> {
    if s.metrics.contains_key("grad_snr") {
        return Some("grad_snr");
    }
    s.metrics
        .keys()
        .find(|k| k.ends_with("/grad_snr"))
        .map(String::as_str)
}

fn status_text(s: Status, w: usize) -> String {
    let label = match (s, w < 11) {
        (Status::Interrupted, true) => "cut off",
        (Status::Elsewhere, true) => "external",
        (Status::Elsewhere, false) if w < s.label().len() => "elsewhere",
        _ => s.label(),
    };
    pad(label, w)
}

/// What the chart and figure panes say above a run's data: why it ended badly, or which
/// process trains it.
fn status_note(s: &crate::engine::RunState) -> Option<String> {
    match (s.status, &s.reason, &s.owner) {
        (Status::Diverged | Status::Failed | Status::Interrupted, Some(reason), _) => {
            Some(format!("{}: {reason}", s.status.label()))
        }
        (Status::Elsewhere, _, Some(owner)) => Some(format!(
            "{} in {}; read from its files as they grow",
            s.status.label(),
            owner.describe()
        )),
        _ => None,
    }
}

fn render_runs(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let focused = app.focus == Pane::Runs;
    let marked = app.runs.marked().len();
    let mut title = vec![Span::styled(" Runs ", t.title())];
    if marked > 0 {
        title.push(Span::styled(format!("{marked} marked "), t.edited()));
    }
    let block = pane_block(t, Line::from(title), focused);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = inner.width as usize;
    if app.runs.rows.is_empty() {
        let lines = vec![
            Line::from(Span::styled("No runs yet.", t.heading())),
            Line::from(Span::styled(
                "Select a scenario and press Enter to start one; saved runs come back here.",
                t.dim(),
            )),
        ];
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
        return;
    }
    let c = columns(w);
    let header = format!(
        "   {} {} {} {} {} {} {} {} {}",
        rpad("#", 3),
        pad("exp", c.exp),
        pad("differs", c.differs),
        pad("status", c.status),
        rpad("step", c.step),
        rpad("speed", c.speed),
        rpad("ETA", c.eta),
        rpad("latest", c.latest),
        pad("trend", c.trend),
    );
    let header = if c.snr > 0 {
        format!("{header} {}", pad("snr (log)", c.snr))
    } else {
        header
    };
    let mut lines = vec![Line::from(Span::styled(clip(&header, w), t.heading()))];
    let height = (inner.height as usize).saturating_sub(1);
    let sel = app.runs.selected_index().unwrap_or(0);
    let offset = scroll_offset(sel, app.runs.rows.len(), height);
    for r in app.runs.display().skip(offset).take(height) {
        let mut line = run_line(t, app, r, &c, w);
        if Some(r.num) == app.runs.selected {
            line = highlight(line, t.selected(focused), w);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn run_line<'a>(t: Theme, app: &App, r: &'a RunRow, c: &Cols, w: usize) -> Line<'a> {
    let s = &r.state;
    let mark = if r.marked { "*" } else { " " };
    let exp = if c.exp > 6 {
        let name = experiments::find(&s.experiment)
            .map(|d| d.name)
            .unwrap_or("");
        format!("{} {name}", s.experiment)
    } else {
        s.experiment.clone()
    };
    let mut spans = vec![
        Span::styled(mark, t.edited()),
        Span::styled(status_icon(s.status), t.status(s.status)),
        Span::raw(" "),
        Span::raw(rpad(&r.num.to_string(), 3)),
        Span::raw(" "),
        Span::raw(pad(&exp, c.exp)),
        Span::raw(" "),
        Span::raw(pad(&r.differs_text(), c.differs)),
        Span::raw(" "),
        Span::styled(status_text(s.status, c.status), t.status(s.status)),
        Span::raw(" "),
    ];
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    if let (Some(reason), true) = (
        &s.reason,
        matches!(
            s.status,
            Status::Diverged | Status::Failed | Status::Interrupted
        ),
    ) {
        let step = if s.step > 0 && !reason.starts_with("at step") {
            format!("at {}: ", fmt::count(s.step))
        } else {
            String::new()
        };
        spans.push(Span::styled(
            clip(&format!("{step}{reason}"), w.saturating_sub(used)),
            t.status(s.status),
        ));
        return Line::from(spans);
    }
    let step = if s.total > 0 {
        format!("{}/{}", fmt::count(s.step), fmt::count(s.total))
    } else if s.step > 0 {
        fmt::count(s.step)
    } else {
        String::new()
    };
    let live = matches!(s.status, Status::Running | Status::Elsewhere);
    let speed = if live {
        fmt::rate(s.steps_per_sec)
    } else {
        String::new()
    };
    let eta = s.eta_secs().map(fmt::duration).unwrap_or_default();
    let main = r.main_metric();
    let latest = if c.latest > 10 {
        r.metric_names()
            .iter()
            .take(3)
            .filter_map(|m| s.latest(m).map(|v| format!("{m} {}", fmt::value(v))))
            .collect::<Vec<_>>()
            .join(" · ")
    } else {
        main.and_then(|m| s.latest(m))
            .map(fmt::value)
            .unwrap_or_default()
    };
    let trend = main
        .and_then(|m| s.metrics.get(m))
        .map(|series| chart::sparkline(series, c.trend, app.chart.look(main.unwrap_or("")).log_y))
        .unwrap_or_default();
    spans.extend([
        Span::raw(rpad(&step, c.step)),
        Span::raw(" "),
        Span::styled(rpad(&speed, c.speed), t.dim()),
        Span::raw(" "),
        Span::styled(rpad(&eta, c.eta), t.dim()),
        Span::raw(" "),
        Span::styled(rpad(&latest, c.latest), t.heading()),
        Span::raw(" "),
        Span::styled(pad(&trend, c.trend), t.series(0).0),
    ]);
    if c.snr > 0 {
        let snr = snr_metric(s)
            .and_then(|m| s.metrics.get(m))
            .map(|series| chart::sparkline(series, c.snr, true))
            .unwrap_or_default();
        spans.extend([
            Span::raw(" "),
            Span::styled(pad(&snr, c.snr), t.series(1).0),
        ]);
    }
    Line::from(spans)
}

// -------------------------------------------------------------------------------------------
// charts

/// Everything one chart needs: prepared lines with their names and styles.
struct Plot {
    lines: Vec<(String, chart::Line, Style, ratatui::symbols::Marker)>,
    x: (f64, f64),
    y: (f64, f64),
    look: Look,
    x_label: String,
}

fn plot_series(
    t: Theme,
    series: &[(String, &Series)],
    look: Look,
    width: u16,
    first_colour: usize,
) -> Option<Plot> {
    let x = chart::x_range(series.iter().map(|(_, s)| *s))?;
    let cols = (width as usize).max(1) * t.marker.dots_per_cell();
    let lines: Vec<_> = series
        .iter()
        .enumerate()
        .map(|(i, (name, s))| {
            let (style, marker) = t.series(first_colour + i);
            (name.clone(), chart::line(s, look, x, cols), style, marker)
        })
        .collect();
    let y = chart::y_bounds(lines.iter().map(|l| &l.1))?;
    Some(Plot {
        lines,
        x,
        y,
        look,
        x_label: "step".into(),
    })
}

/// The metrics that measure the same thing as `name` for the run's other methods: for
/// `group/rest`, every other `*/rest`, in name order.
fn siblings<'a>(
    metrics: &'a std::collections::BTreeMap<String, Series>,
    name: &str,
) -> Vec<(String, &'a Series)> {
    let Some((group, rest)) = name.split_once('/') else {
        return Vec::new();
    };
    metrics
        .iter()
        .filter(|(other, _)| {
            other
                .split_once('/')
                .is_some_and(|(g, r)| r == rest && g != group)
        })
        .map(|(other, s)| (other.clone(), s))
        .collect()
}

fn draw_plot(f: &mut Frame, t: Theme, plot: &Plot, area: Rect, legend: bool) {
    let datasets: Vec<Dataset> = plot
        .lines
        .iter()
        .map(|(name, line, style, marker)| {
            let d = Dataset::default()
                .marker(*marker)
                .graph_type(GraphType::Line)
                .style(*style)
                .data(&line.points);
            if legend {
                d.name(name.clone())
            } else {
                d
            }
        })
        .collect();
    let xl = chart::x_labels(plot.x);
    let yl = chart::y_labels(plot.y, plot.look.log_y);
    let ylab_w = yl.iter().map(|s| s.chars().count()).max().unwrap_or(1);
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .title(Span::styled(plot.x_label.clone(), t.dim()))
                .bounds([plot.x.0, plot.x.1])
                .labels(xl.to_vec())
                .style(t.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([plot.y.0, plot.y.1])
                .labels(yl.iter().map(|s| rpad(s, ylab_w)).collect::<Vec<_>>())
                .style(t.dim()),
        )
        .legend_position(legend.then(|| emptiest_corner(plot)))
        .hidden_legend_constraints((Constraint::Percentage(60), Constraint::Percentage(60)));
    f.render_widget(chart, area);
}

/// The corner of the plot with the fewest points, where a legend hides the least.
fn emptiest_corner(plot: &Plot) -> LegendPosition {
    corner_of(
        plot.lines.iter().flat_map(|l| l.1.points.iter().copied()),
        plot.x,
        plot.y,
    )
}

/// The corner of `[x0, x1] x [y0, y1]` holding the fewest of `points`.
fn corner_of(
    points: impl Iterator<Item = (f64, f64)>,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> LegendPosition {
    let w = (x1 - x0).max(f64::MIN_POSITIVE);
    let h = (y1 - y0).max(f64::MIN_POSITIVE);
    let mut counts = [0usize; 4]; // top-left, top-right, bottom-left, bottom-right
    for (x, y) in points {
        let (fx, fy) = ((x - x0) / w, (y - y0) / h);
        let left = fx < 0.35;
        let right = fx > 0.65;
        let top = fy > 0.6;
        let bottom = fy < 0.4;
        counts[0] += usize::from(left && top);
        counts[1] += usize::from(right && top);
        counts[2] += usize::from(left && bottom);
        counts[3] += usize::from(right && bottom);
    }
    let best = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    [
        LegendPosition::TopLeft,
        LegendPosition::TopRight,
        LegendPosition::BottomLeft,
        LegendPosition::BottomRight,
    ][best]
}

fn render_run_chart(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let focused = app.focus == Pane::Chart;
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
    let metric = app.chart_metric();
    let look = metric
        .as_deref()
        .map(|m| app.chart.look(m))
        .unwrap_or_default();
    let mut title = vec![Span::styled(
        format!(
            " Run {} · {} ",
            r.label(),
            metric.as_deref().unwrap_or("no metrics yet")
        ),
        t.title(),
    )];
    if look.log_y {
        title.push(Span::styled("log ", t.edited()));
    }
    if look.smooth {
        title.push(Span::styled("smoothed ", t.edited()));
    }
    let keys = Line::from(vec![
        Span::styled(" m", t.key()),
        Span::raw(" metric "),
        Span::styled("y", t.key()),
        Span::raw(" log "),
        Span::styled("s", t.key()),
        Span::raw(" smooth "),
    ])
    .right_aligned();
    let block = pane_block(t, Line::from(title), focused).title(keys);
    let inner = block.inner(area);
    f.render_widget(block, area);

    let mut chart_a = inner;
    if let Some(note) = status_note(&r.state) {
        let [msg, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        f.render_widget(
            Paragraph::new(Span::styled(
                clip(&note, msg.width as usize),
                t.status(r.state.status),
            )),
            msg,
        );
        chart_a = rest;
    }
    // the metrics list with sparklines, when there is room
    let names = r.metric_names();
    if inner.width >= 70 && !names.is_empty() {
        let list_w = (inner.width / 3).clamp(24, 40);
        let [c, list] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(list_w)]).areas(chart_a);
        chart_a = c;
        render_metric_list(f, app, r, metric.as_deref(), list);
    }
    let Some(m) = metric else {
        let text = if r.state.status.is_active() || r.state.is_elsewhere() {
            "waiting for the first metric…"
        } else {
            "this run recorded no metrics"
        };
        f.render_widget(Paragraph::new(Span::styled(text, t.dim())), chart_a);
        return;
    };
    let Some(series) = r.state.metrics.get(&m) else {
        return;
    };
    // `e2e/test_accuracy` next to `dec/test_accuracy`: a run that trains several methods
    // side by side (E2, E4, E10) shows the same quantity of every method in one chart
    let mut shown = vec![(m.clone(), series)];
    shown.extend(siblings(&r.state.metrics, &m));
    let legend = shown.len() > 1;
    match plot_series(t, &shown, look, chart_a.width, 0) {
        Some(p) if p.lines.iter().any(|l| !l.1.points.is_empty()) => {
            draw_plot(f, t, &p, chart_a, legend)
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
            chart_a,
        ),
    }
}

fn render_metric_list(f: &mut Frame, app: &App, r: &RunRow, shown: Option<&str>, area: Rect) {
    let t = app.settings.theme;
    let w = area.width as usize;
    let names = r.metric_names();
    let sel = shown
        .and_then(|m| names.iter().position(|n| *n == m))
        .unwrap_or(0);
    let height = area.height as usize;
    let offset = scroll_offset(sel, names.len(), height);
    let val_w = 7;
    let spark_w = 8.min(w / 4);
    let name_w = w.saturating_sub(val_w + spark_w + 3);
    let mut lines = Vec::new();
    for (i, n) in names.iter().enumerate().skip(offset).take(height) {
        let s = &r.state.metrics[*n];
        let v = s.last().map(|p| fmt::value(p.value)).unwrap_or_default();
        let sp = chart::sparkline(s, spark_w, app.chart.look(n).log_y);
        let marker = if i == sel { "▸" } else { " " };
        let style = if i == sel { t.heading() } else { t.text() };
        lines.push(Line::from(vec![
            Span::styled(marker, t.key()),
            Span::styled(pad(&fmt::clip_middle(n, name_w), name_w), style),
            Span::raw(" "),
            Span::styled(rpad(&v, val_w), style),
            Span::raw(" "),
            Span::styled(sp, t.series(0).0),
        ]));
    }
    f.render_widget(Paragraph::new(lines), area);
}

// -------------------------------------------------------------------------------------------
// compare

fn render_compare(f: &mut Frame, app: &App, area: Rect) {
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
    let mode = if app.compare.side_by_side {
        "side by side"
    } else {
        "overlay"
    };
    let mut title = vec![Span::styled(
        format!(
            " Compare {} runs · {} · {mode} ",
            rows.len(),
            metric.as_deref().unwrap_or("no metrics")
        ),
        t.title(),
    )];
    if look.log_y {
        title.push(Span::styled("log ", t.edited()));
    }
    if look.smooth {
        title.push(Span::styled("smoothed ", t.edited()));
    }
    let keys = Line::from(vec![
        Span::styled(" v", t.key()),
        Span::raw(" layout "),
        Span::styled("m", t.key()),
        Span::raw(" metric "),
        Span::styled("Esc", t.key()),
        Span::raw(" back "),
    ])
    .right_aligned();
    let table_lines = compare_table(app, &rows, metric.as_deref());
    let table_h = (table_lines.len() as u16 + 2).clamp(5, area.height / 2);
    let [chart_a, table_a] =
        Layout::vertical([Constraint::Min(6), Constraint::Length(table_h)]).areas(area);
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(t.border(true))
        .title(Line::from(title))
        .title(keys);
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
    } else {
        // one small chart per run, on shared axes
        let n = rows.len().max(1);
        let per_row = ((inner.width / 36).max(1) as usize).min(n);
        let grid_rows = n.div_ceil(per_row);
        let shared = plot_series(t, &series, look, inner.width / per_row as u16, 0);
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
                let Some(m) = metric.as_deref() else { continue };
                let Some(s) = r.state.metrics.get(m) else {
                    f.render_widget(Paragraph::new(Span::styled("no data", t.dim())), ci_area);
                    continue;
                };
                if let Some(mut p) = plot_series(t, &[(r.label(), s)], look, ci_area.width, k) {
                    if let Some(sh) = &shared {
                        // same axes for every run, so heights compare
                        p.x = sh.x;
                        p.y = sh.y;
                        let cols = (ci_area.width as usize).max(1) * t.marker.dots_per_cell();
                        p.lines[0].1 = chart::line(s, look, sh.x, cols);
                    }
                    draw_plot(f, t, &p, ci_area, false);
                }
            }
        }
    }

    let tb = Block::bordered()
        .border_style(t.border(false))
        .title(Span::styled(
            " Parameters that differ · final values ",
            t.title(),
        ));
    let tin = tb.inner(table_a);
    f.render_widget(tb, table_a);
    let max_scroll = table_lines.len().saturating_sub(tin.height as usize);
    let scroll = app.compare.scroll.min(max_scroll);
    f.render_widget(
        Paragraph::new(table_lines.into_iter().skip(scroll).collect::<Vec<_>>()),
        tin,
    );
}

fn compare_table<'a>(app: &App, rows: &[&'a RunRow], metric: Option<&str>) -> Vec<Line<'a>> {
    let t = app.settings.theme;
    let n = rows.len().max(1);
    let name_w = 20usize;
    let total_w = 200usize; // clipped by the paragraph
    let col_w = ((total_w - name_w) / n).clamp(9, 18);
    let mut out = Vec::new();
    let mut head = vec![Span::styled(pad("", name_w), t.heading())];
    for (i, r) in rows.iter().enumerate() {
        head.push(Span::styled(
            pad(&format!("#{}", r.num), col_w),
            t.series(i).0.add_modifier(Modifier::BOLD),
        ));
    }
    out.push(Line::from(head));
    let cell_row = |name: String, vals: Vec<String>, style: Style| {
        let mut spans = vec![Span::styled(
            pad(&fmt::clip_middle(&name, name_w - 1), name_w),
            t.dim(),
        )];
        for v in vals {
            spans.push(Span::styled(pad(&v, col_w), style));
        }
        Line::from(spans)
    };
    // experiment and seed when they differ, then the parameters that differ
    let exps: Vec<String> = rows.iter().map(|r| r.state.experiment.clone()).collect();
    if exps.iter().any(|e| *e != exps[0]) {
        out.push(cell_row("experiment".into(), exps, t.text()));
    }
    let seeds: Vec<String> = rows
        .iter()
        .map(|r| r.state.seed.map(|s| s.to_string()).unwrap_or("-".into()))
        .collect();
    if seeds.iter().any(|s| *s != seeds[0]) {
        out.push(cell_row("seed".into(), seeds, t.text()));
    }
    let mut names: Vec<String> = Vec::new();
    for r in rows {
        for (k, _) in r.state.params.iter() {
            if !names.iter().any(|n| n == k) {
                names.push(k.to_string());
            }
        }
    }
    let mut differing = 0;
    for k in &names {
        let vals: Vec<Option<&Value>> = rows.iter().map(|r| r.state.params.get(k)).collect();
        if vals.iter().all(|v| *v == vals[0]) {
            continue;
        }
        differing += 1;
        out.push(cell_row(
            k.clone(),
            vals.iter()
                .map(|v| v.map(super::runs::short_value).unwrap_or("-".into()))
                .collect(),
            t.edited(),
        ));
    }
    if differing == 0 {
        out.push(Line::from(Span::styled("(same parameters)", t.dim())));
    }
    out.push(cell_row(
        "status".into(),
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
    ));
    // final values: the summary where a run has one, else the latest value
    out.push(Line::from(Span::styled("final values", t.heading())));
    let mut metrics: Vec<String> = metric.map(|m| vec![m.to_string()]).unwrap_or_default();
    for r in rows {
        for m in r.metric_names() {
            if !metrics.iter().any(|x| x == m) {
                metrics.push(m.to_string());
            }
        }
        if let Some(s) = &r.state.summary {
            for k in s.metrics.keys() {
                if !metrics.iter().any(|x| x == k) {
                    metrics.push(k.clone());
                }
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
        out.push(cell_row(m, vals, style));
    }
    out
}

// -------------------------------------------------------------------------------------------
// figure

fn render_figure(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let Some(r) = app.runs.selected_row() else {
        f.render_widget(
            Paragraph::new(Span::styled("no run selected", t.dim())).block(
                Block::bordered()
                    .border_style(t.border(true))
                    .title(Span::styled(" Figure ", t.title())),
            ),
            area,
        );
        return;
    };
    let figs = r.figures();
    let log_h = if figs.is_empty() {
        area.height
    } else {
        (area.height / 3).clamp(4, 12)
    };
    let [fig_a, log_a] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(log_h)]).areas(area);
    let last = figs.len().saturating_sub(1);
    let shown = app.figure_index.unwrap_or(last).min(last);
    if let Some((step, fig)) = figs.get(shown) {
        let latest = if app.figure_index.is_none() {
            " (latest)"
        } else {
            ""
        };
        let title = Line::from(vec![Span::styled(
            clip(
                &format!(
                    " Run {} · figure {}/{}{latest} · step {} · {} ",
                    r.label(),
                    shown + 1,
                    figs.len(),
                    fmt::count(*step),
                    fig.title(),
                ),
                (area.width as usize).saturating_sub(24),
            ),
            t.title(),
        )]);
        let block = Block::bordered()
            .border_type(BorderType::Thick)
            .border_style(t.border(true))
            .title(title)
            .title(
                Line::from(vec![
                    Span::styled(" ←→", t.key()),
                    Span::raw(" figure "),
                    Span::styled("Esc", t.key()),
                    Span::raw(" back "),
                ])
                .right_aligned(),
            );
        let inner = block.inner(fig_a);
        f.render_widget(block, fig_a);
        match fig {
            Figure::Image {
                width,
                height,
                pixels,
                ..
            } => {
                let view = ImageView {
                    width: *width,
                    height: *height,
                    pixels,
                    theme: t,
                };
                f.render_widget(view, inner);
            }
            Figure::Curves {
                x_label,
                y_label,
                series,
                ..
            } => render_curves(f, t, x_label, y_label, series, inner),
        }
    }
    let mut lines: Vec<Line> = Vec::new();
    if let Some(note) = status_note(&r.state).or_else(|| {
        r.state
            .reason
            .as_ref()
            .map(|reason| format!("{}: {reason}", r.state.status.label()))
    }) {
        lines.push(Line::from(Span::styled(note, t.status(r.state.status))));
    }
    let room = (log_a.height as usize).saturating_sub(2 + lines.len());
    let skip = r.state.logs.len().saturating_sub(room);
    lines.extend(
        r.state
            .logs
            .iter()
            .skip(skip)
            .map(|l| Line::from(l.as_str())),
    );
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            if figs.is_empty() {
                "no figures and no log lines: this experiment draws none"
            } else {
                "no log lines"
            },
            t.dim(),
        )));
    }
    let title = if figs.is_empty() {
        format!(" Run {} · log (no figures) ", r.label())
    } else {
        " Log ".to_string()
    };
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .border_style(t.border(figs.is_empty()))
                .title(Span::styled(title, t.title())),
        ),
        log_a,
    );
}

fn render_curves(
    f: &mut Frame,
    t: Theme,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
    area: Rect,
) {
    let finite: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|(_, pts)| {
            pts.iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect()
        })
        .collect();
    let all = finite.iter().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        f.render_widget(
            Paragraph::new(Span::styled("this figure has no finite points", t.dim())),
            area,
        );
        return;
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let (y0, y1) = if y1 > y0 {
        chart::nice(y0, y1)
    } else {
        chart::nice(y0 - 0.5, y1 + 0.5)
    };
    let datasets: Vec<Dataset> = series
        .iter()
        .zip(&finite)
        .enumerate()
        .map(|(i, ((name, _), pts))| {
            let (style, marker) = t.series(i);
            Dataset::default()
                .name(name.clone())
                .marker(marker)
                .graph_type(GraphType::Line)
                .style(style)
                .data(pts)
        })
        .collect();
    let xl = [x0, (x0 + x1) / 2.0, x1].map(fmt::value);
    let yl = [y0, (y0 + y1) / 2.0, y1].map(fmt::value);
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .title(Span::styled(x_label.to_string(), t.dim()))
                .bounds([x0, x1])
                .labels(xl.to_vec())
                .style(t.dim()),
        )
        .y_axis(
            Axis::default()
                .title(Span::styled(y_label.to_string(), t.dim()))
                .bounds([y0, y1])
                .labels(yl.to_vec())
                .style(t.dim()),
        )
        .legend_position(Some(corner_of(
            finite.iter().flatten().copied(),
            (x0, x1),
            (y0, y1),
        )))
        .hidden_legend_constraints((Constraint::Percentage(60), Constraint::Percentage(60)));
    f.render_widget(chart, area);
}

// -------------------------------------------------------------------------------------------
// overlays

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn confirm(f: &mut Frame, t: Theme, area: Rect, title: &str, text: &[String], keys: &str) {
    let w = 70.min(area.width.saturating_sub(4));
    let body_lines: usize = text
        .iter()
        .map(|l| {
            l.chars()
                .count()
                .div_ceil((w as usize).saturating_sub(4).max(1))
        })
        .sum();
    let h = (body_lines as u16 + 4).min(area.height);
    let a = centered(area, w, h);
    f.render_widget(Clear, a);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(t.border(true))
        .title(Span::styled(title.to_string(), t.title()));
    let inner = block.inner(a);
    f.render_widget(block, a);
    let mut lines: Vec<Line> = text.iter().map(|l| Line::from(l.clone())).collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(keys.to_string(), t.key())));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
}

/// The help screen's lines (every key of every context).
pub fn help_lines(t: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for ctx in Context::HELP {
        lines.push(Line::from(Span::styled(ctx.title(), t.heading())));
        for b in keys::bindings(ctx) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<20}", b.keys), t.key()),
                Span::raw(b.action),
            ]));
        }
        lines.push(Line::from(""));
    }
    lines.push(Line::from(Span::styled(
        "Charts: --marker halfblock|dot|block draws without Braille; NO_COLOR=1 drops colours.",
        t.dim(),
    )));
    lines.push(Line::from(Span::styled(
        "Runs are saved under the runs folder and come back at the next start.",
        t.dim(),
    )));
    lines
}

fn render_help(f: &mut Frame, t: Theme, area: Rect, scroll: usize) {
    let lines = help_lines(t);
    let two_columns = area.width >= 150;
    let w = if two_columns {
        156.min(area.width.saturating_sub(2))
    } else {
        78.min(area.width.saturating_sub(2))
    };
    let h = area.height.saturating_sub(2).max(3);
    let a = centered(area, w, h);
    f.render_widget(Clear, a);
    let inner_h = h.saturating_sub(2) as usize;
    // two columns split at the section boundary nearest the middle
    let (left, right): (Vec<Line>, Vec<Line>) = if two_columns {
        let mid = lines.len() / 2;
        let split = (0..lines.len())
            .filter(|&i| i == 0 || lines[i - 1].spans.is_empty() || lines[i - 1].width() == 0)
            .min_by_key(|&i| i.abs_diff(mid))
            .unwrap_or(mid);
        let mut l = lines;
        let r = l.split_off(split);
        (l, r)
    } else {
        (lines, Vec::new())
    };
    let total = left.len().max(right.len());
    let max_scroll = total.saturating_sub(inner_h);
    let scroll = scroll.min(max_scroll);
    let pos = if max_scroll > 0 {
        format!(" {}/{} ", scroll + inner_h.min(total), total)
    } else {
        String::new()
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.border(true))
        .title(Span::styled(" Keys · fail-lab help ", t.title()))
        .title(
            Line::from(vec![
                Span::styled(pos, t.dim()),
                Span::styled("Esc", t.key()),
                Span::raw(" close "),
            ])
            .right_aligned(),
        );
    let inner = block.inner(a);
    f.render_widget(block, a);
    let cols: Vec<Rect> = if two_columns {
        Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)])
            .split(inner)
            .to_vec()
    } else {
        vec![inner]
    };
    for (col, part) in cols.iter().zip([left, right]) {
        f.render_widget(
            Paragraph::new(part.into_iter().skip(scroll).collect::<Vec<_>>()),
            *col,
        );
    }
}
