//! The parameters pane: one row per parameter (and the seed) of the selected scenario,
//! type-aware quick changes, and a text field validated on every key with the same messages
//! as `--set`.

use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::experiments;
use crate::spec::{Kind, Scenario, Value};

use super::scenarios::{tree_title, Entry, Node, Scenarios};
use super::Pane;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::fmt::{self, clip};
use crate::tui::keymap::Cmd;
use crate::tui::widgets::{highlight, input_spans, pad, pane_block, scroll_offset, TextInput};

mod field;
mod files;
pub mod grid;

pub use field::{fields_of, Field};
pub use files::{check_file_name, cross_check, saved_copy, saved_text, suggest_file_name};

/// The editor's state for the selected scenario.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Editor {
    pub row: usize,
    /// The text field, while a value is being typed.
    pub input: Option<TextInput>,
    /// The verdict on the text typed so far, made when it changes.
    pub typed: Option<Result<Option<Value>, String>>,
    /// The same for a list of values or the seeds (see [`grid`]).
    pub typed_grid: Option<Result<String, String>>,
}

/// What a key did to the editor.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The scenario's values changed.
    Value,
    /// Nothing changed (a refused value, a key without effect).
    None,
}

impl Editor {
    pub fn fields(s: &Scenario) -> Vec<Field> {
        fields_of(&s.experiment)
    }

    pub fn selected_field(&self, s: &Scenario) -> Option<Field> {
        Self::fields(s).into_iter().nth(self.row)
    }

    pub fn move_by(&mut self, delta: isize, s: &Scenario) {
        let n = Self::fields(s).len() as isize;
        if n > 0 {
            self.row = (self.row as isize + delta).clamp(0, n - 1) as usize;
        }
    }

    pub fn clamp(&mut self, s: &Scenario) {
        let n = Self::fields(s).len();
        self.row = self.row.min(n.saturating_sub(1));
    }

    /// Opens the text field on the selected value.
    pub fn begin(&mut self, s: &Scenario) {
        if let Some(f) = self.selected_field(s) {
            let text = match (&f, f.get(s)) {
                (Field::Seed, None) => String::new(),
                (_, Some(Value::IntList(xs))) => xs
                    .iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => f.show(s),
            };
            self.input = Some(TextInput::new(&text));
            self.retyped(s);
        }
    }

    /// The text changed: judges it again.
    pub fn retyped(&mut self, s: &Scenario) {
        self.typed = self.verdict(s);
    }

    /// The verdict on the text being typed: `Ok` with the value it would set, or the message.
    pub fn verdict(&self, s: &Scenario) -> Option<Result<Option<Value>, String>> {
        let input = self.input.as_ref()?;
        let f = self.selected_field(s)?;
        Some(f.parse(&input.text))
    }

    /// Enter in the text field: applies a valid value and closes the field.
    pub fn commit(&mut self, s: &mut Scenario) -> Result<Change, String> {
        let Some(f) = self.selected_field(s) else {
            self.input = None;
            return Ok(Change::None);
        };
        match self.verdict(s) {
            Some(Ok(v)) => {
                let before = f.get(s);
                f.set(s, v);
                self.input = None;
                self.typed = None;
                Ok(if f.get(s) != before {
                    Change::Value
                } else {
                    Change::None
                })
            }
            Some(Err(m)) => Err(m),
            None => Ok(Change::None),
        }
    }

    pub fn cancel(&mut self) {
        self.input = None;
        self.typed = None;
        self.typed_grid = None;
    }

    /// Opens the text field on the selected value, or on its list or seeds in the grid.
    fn begin_entry(&mut self, e: &Entry) {
        self.begin(&e.current);
        if let Some(f) = self.selected_field(&e.current) {
            if let Some(text) = grid::begin_text(e, &f) {
                self.input = Some(TextInput::new(&text));
            }
        }
        self.retyped_entry(e);
    }

    /// The text changed: judges it again, as one value and as a list.
    fn retyped_entry(&mut self, e: &Entry) {
        self.retyped(&e.current);
        self.typed_grid = match (self.selected_field(&e.current), &self.input) {
            (Some(f), Some(input)) => grid::verdict(e, &f, &input.text),
            _ => None,
        };
    }

    /// Enter: a list or the seeds go to the grid; one value to the scenario, and the
    /// parameter's list, if any, leaves the grid.
    fn commit_entry(&mut self, e: &mut Entry) -> Result<Change, String> {
        let (Some(f), Some(text)) = (
            self.selected_field(&e.current),
            self.input.as_ref().map(|i| i.text.clone()),
        ) else {
            return self.commit(&mut e.current);
        };
        if let Some(r) = grid::commit(e, &f, &text) {
            r?;
            self.cancel();
            return Ok(Change::Value);
        }
        let change = self.commit(&mut e.current)?;
        Ok(if grid::forget(e, &f) {
            Change::Value
        } else {
            change
        })
    }

    /// Left/right on a value: flips a boolean, cycles a choice, steps an integer by one.
    pub fn adjust(&mut self, s: &mut Scenario, dir: i64) -> Change {
        let Some(Field::Param(d)) = self.selected_field(s) else {
            return Change::None;
        };
        let cur = s.params.get(d.name).cloned();
        let next = match (&d.kind, cur) {
            (Kind::Bool, Some(Value::Bool(b))) => Some(Value::Bool(!b)),
            (Kind::Choice(c), Some(Value::Str(v))) if !c.is_empty() => {
                let i = c.iter().position(|x| *x == v).unwrap_or(0) as i64;
                let n = c.len() as i64;
                Some(Value::Str(
                    c[((i + dir).rem_euclid(n)) as usize].to_string(),
                ))
            }
            (Kind::Int { min, max }, Some(Value::Int(x))) => {
                Some(Value::Int(x.saturating_add(dir).clamp(*min, *max)))
            }
            _ => None,
        };
        match next.and_then(|v| d.check(v).ok()) {
            Some(v) if Some(&v) != s.params.get(d.name) => {
                s.params.insert(d.name, v);
                Change::Value
            }
            _ => Change::None,
        }
    }

    /// Sets the selected parameter back to the experiment's default (the seed back to the
    /// file's seed).
    pub fn reset(&mut self, s: &mut Scenario, original: &Scenario) -> Change {
        let Some(f) = self.selected_field(s) else {
            return Change::None;
        };
        let v = match &f {
            Field::Seed => original.seed.map(|x| Value::Int(x as i64)),
            Field::Seeds => None,
            Field::Param(d) => Some(d.default.clone()),
        };
        if f.get(s) == v {
            return Change::None;
        }
        f.set(s, v);
        Change::Value
    }
}

/// What a key does in the parameters pane.
pub fn on_cmd(ed: &mut Editor, tree: &mut Scenarios, cmd: Cmd, out: &mut Vec<Action>) {
    let Some(entry) = tree.current_mut() else {
        // an experiment or family row: nothing to edit
        if cmd == Cmd::Back {
            out.push(Action::Focus(Pane::Scenarios));
        }
        return;
    };
    match cmd {
        Cmd::Up => ed.move_by(-1, &entry.current),
        Cmd::Down => ed.move_by(1, &entry.current),
        Cmd::First => ed.row = 0,
        Cmd::Last => ed.move_by(isize::MAX / 2, &entry.current),
        Cmd::Type => ed.begin_entry(entry),
        Cmd::Decrease | Cmd::Increase => {
            let dir = if cmd == Cmd::Increase { 1 } else { -1 };
            if ed.adjust(&mut entry.current, dir) == Change::Value {
                entry.revalidate();
            }
        }
        Cmd::Default => {
            let original = entry.original.clone();
            let swept = ed
                .selected_field(&entry.current)
                .is_some_and(|f| grid::forget(entry, &f));
            if ed.reset(&mut entry.current, &original) == Change::Value || swept {
                entry.revalidate();
                let f = ed
                    .selected_field(&entry.current)
                    .map(|f| f.name().to_string())
                    .unwrap_or_default();
                out.push(Action::Say(format!("{f} reset to its default")));
            }
        }
        Cmd::SaveAs => out.push(Action::OpenSaveAs),
        Cmd::Start => out.push(Action::StartSelected),
        Cmd::Back => out.push(Action::Focus(Pane::Scenarios)),
        _ => {}
    }
}

/// What a key does while a value is typed.
pub fn on_typing(ed: &mut Editor, tree: &mut Scenarios, cmd: Cmd, key: &KeyEvent) {
    let Some(entry) = tree.current_mut() else {
        ed.cancel();
        return;
    };
    match cmd {
        Cmd::Cancel => ed.cancel(),
        Cmd::Apply => match ed.commit_entry(entry) {
            Ok(Change::Value) => entry.revalidate(),
            Ok(Change::None) => {}
            // the message is on screen under the field already; the field stays open
            Err(m) => crate::tui::log::line(&format!("refused value: {m}")),
        },
        _ => {
            if let Some(input) = ed.input.as_mut() {
                input.edit(cmd, key);
            }
            ed.retyped_entry(entry);
        }
    }
}

/// Draws the pane: the selected scenario's fields, or what the selected row is about.
pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let focused = app.focus == Pane::Params;
    let s = &app.scenarios;
    if let Node::Scenario(k) = s.selected {
        let e = &s.entries[k];
        // the whole title when it fits, else the words that set it apart from its siblings
        let room = area.width.saturating_sub(14) as usize;
        let name = if e.current.title.chars().count() <= room {
            e.current.title.clone()
        } else {
            tree_title(s, k)
        };
        let mut title = vec![Span::styled(
            format!(
                " {} · {} ",
                e.current.experiment,
                fmt::whole_parts(&name, ' ', room).unwrap_or_else(|| clip(&name, room))
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
        render_fields(f, app, inner, e, focused);
        return;
    }
    let (title, lines) = match s.selected {
        Node::Experiment(id) => (
            Span::styled(format!(" {id} "), t.title()),
            about_experiment(app, id),
        ),
        Node::Family(fam) => (
            Span::styled(format!(" {} {} ", fam.number(), fam.title()), t.title()),
            about_family(app, fam),
        ),
        _ => (
            Span::styled(" Files with errors ", t.error()),
            about_broken(app),
        ),
    };
    let block = pane_block(t, Line::from(title), focused);
    let inner = block.inner(area);
    f.render_widget(block, area);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
}

fn about_experiment(app: &App, id: &str) -> Vec<Line<'static>> {
    let t = app.settings.theme;
    let Some(d) = experiments::find(id) else {
        return Vec::new();
    };
    let names: Vec<&str> = (d.params)().iter().map(|p| p.name).collect();
    vec![
        Line::from(Span::styled(format!("{} {}", d.id, d.name), t.heading())),
        Line::from(d.shows),
        Line::from(Span::styled(
            format!("parameters: {}", names.join(", ")),
            t.dim(),
        )),
        Line::from(Span::styled(
            "select one of its scenarios below it to edit and start",
            t.dim(),
        )),
    ]
}

fn about_family(app: &App, fam: experiments::Family) -> Vec<Line<'static>> {
    let t = app.settings.theme;
    let exps: Vec<_> = experiments::registry()
        .iter()
        .filter(|e| e.family == fam)
        .collect();
    if exps.is_empty() {
        return vec![Line::from(Span::styled(
            "no experiment of this family in this build",
            t.dim(),
        ))];
    }
    exps.into_iter()
        .map(|e| {
            Line::from(vec![
                Span::styled(format!("{:<4}", e.id), t.heading()),
                Span::raw(e.shows),
            ])
        })
        .collect()
}

fn about_broken(app: &App) -> Vec<Line<'static>> {
    let t = app.settings.theme;
    let s = &app.scenarios;
    let errors: Vec<&str> = match s.broken_selected() {
        Some(b) => vec![b.error.as_str()],
        None => s.broken.iter().map(|b| b.error.as_str()).collect(),
    };
    errors
        .into_iter()
        .map(|e| Line::from(Span::styled(e.to_string(), t.error())))
        .collect()
}

/// Column widths of the fields table.
#[derive(Debug, PartialEq)]
struct Widths {
    name: usize,
    value: usize,
    range: usize,
    help: usize,
}

/// The help column narrower than this says too little to be worth its room: it is left out,
/// the selected field's help being whole in the footer.
const MIN_HELP: usize = 12;

/// The fields table's columns in `w` characters: the ranges as wide as the longest (as far
/// as the row allows), the help in what is left, or none when that is too little.
fn widths(fields: &[Field], w: usize) -> Widths {
    let name = fields
        .iter()
        .map(|f| f.name().chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 14);
    let value = 11usize.min(w / 4).max(6);
    let longest = fields
        .iter()
        .map(|f| f.range_short().chars().count())
        .max()
        .unwrap_or(0);
    // the ranges whole first; the help in what they leave, when that says enough
    let mut range = longest;
    let mut help = w.saturating_sub(name + value + range + 3);
    if help < MIN_HELP {
        range = longest.min(w.saturating_sub(name + value + 2));
        help = 0;
    }
    Widths {
        name,
        value,
        range,
        help,
    }
}

/// A field's range and help as its row shows them: whole, or their first whole choices and
/// words and a `…` (the footer has them whole), never a word cut.
fn range_and_help(field: &Field, w: &Widths) -> (String, String) {
    let range = fmt::whole_parts(&field.range_short(), '|', w.range).unwrap_or_default();
    let help = fmt::whole_parts(field.help(), ' ', w.help).unwrap_or_default();
    (range, help)
}

fn render_fields(f: &mut Frame, app: &App, area: Rect, e: &Entry, focused: bool) {
    let t = app.settings.theme;
    let s = &e.current;
    let fields = Editor::fields(s);
    let ed = &app.editor;
    let footer_h = if area.height >= 9 {
        3
    } else if focused || area.height >= 6 {
        2
    } else {
        1
    };
    let [table_a, footer_a] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(footer_h)]).areas(area);
    let w = table_a.width as usize;
    let widths = widths(&fields, w);
    let height = table_a.height as usize;
    let offset = scroll_offset(ed.row, fields.len(), height);
    let lines: Vec<Line> = fields
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, field)| {
            let line = field_line(app, e, field, i == ed.row && focused, &widths);
            if i == ed.row && ed.input.is_none() {
                highlight(line, t.selected(focused), w)
            } else {
                line
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), table_a);
    let foot = footer(app, e, fields.get(ed.row), focused, footer_a.width as usize);
    f.render_widget(Paragraph::new(foot).wrap(Wrap { trim: true }), footer_a);
}

/// One field: name, value (or the text being typed), range, help.
fn field_line(app: &App, e: &Entry, field: &Field, typing_here: bool, w: &Widths) -> Line<'static> {
    let t = app.settings.theme;
    let s = &e.current;
    let swept = grid::shown(e, field).filter(|_| e.is_sweep() || *field != Field::Seeds);
    let edited = field.show(s) != field.show(&e.original)
        || grid::shown(e, field).is_some() && *field != Field::Seeds
        || *field == Field::Seeds && e.grid.seeds.is_some();
    let is_default = match field {
        Field::Param(d) => s.params.get(d.name) == Some(&d.default),
        Field::Seed | Field::Seeds => true,
    };
    let value_style = if edited {
        t.edited().add_modifier(Modifier::BOLD)
    } else if is_default {
        t.text()
    } else {
        t.heading()
    };
    let value = match (&app.editor.input, typing_here) {
        // the value being typed, with its cursor
        (Some(input), true) => input_spans(t, &input.text, input.cursor, w.value),
        _ => vec![Span::styled(
            pad(&swept.unwrap_or_else(|| field.show(s)), w.value),
            value_style,
        )],
    };
    let mut spans = vec![
        Span::styled(pad(field.name(), w.name), t.text()),
        Span::raw(" "),
    ];
    spans.extend(value);
    let (range, help) = range_and_help(field, w);
    spans.extend([Span::raw(" "), Span::styled(pad(&range, w.range), t.dim())]);
    if w.help > 0 {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(help, t.dim()));
    }
    Line::from(spans)
}

/// Under the fields: the typed value's verdict while typing, the field's help when focused,
/// else the scenario's description; a problem across parameters above all of them.
fn footer(
    app: &App,
    e: &Entry,
    sel: Option<&Field>,
    focused: bool,
    fw: usize,
) -> Vec<Line<'static>> {
    let t = app.settings.theme;
    let s = &e.current;
    let mut foot: Vec<Line> = Vec::new();
    if let Some(problem) = &e.problem {
        foot.push(Line::from(Span::styled(format!("✗ {problem}"), t.error())));
    }
    match (sel, &app.editor.typed, focused) {
        (Some(field), Some(_), true) if app.editor.typed_grid.is_some() => {
            let line = match &app.editor.typed_grid {
                Some(Ok(what)) => Line::from(Span::styled(clip(&format!("✓ {what}"), fw), t.ok())),
                Some(Err(m)) => Line::from(Span::styled(format!("✗ {m}"), t.error())),
                None => Line::default(),
            };
            foot.push(line);
            foot.push(Line::from(Span::styled(
                clip(&format!("allowed: {}", field.allowed()), fw),
                t.dim(),
            )));
        }
        (Some(field), Some(verdict), true) => {
            foot.push(match verdict {
                Ok(v) => {
                    let shown = match v {
                        Some(v) => v.to_string(),
                        None => "a fresh random seed per run".into(),
                    };
                    Line::from(Span::styled(
                        clip(&format!("✓ {} = {shown}", field.name()), fw),
                        t.ok(),
                    ))
                }
                Err(m) => Line::from(Span::styled(format!("✗ {m}"), t.error())),
            });
            foot.push(Line::from(Span::styled(
                clip(&format!("allowed: {}", field.allowed()), fw),
                t.dim(),
            )));
        }
        (Some(field), None, true) => {
            let default = match field {
                Field::Param(d) if matches!(d.kind, Kind::IntList { .. }) => {
                    format!(" · default {} · lists parted by ; sweep it", d.default)
                }
                Field::Param(d) => format!(" · default {} · a list v1,v2 sweeps it", d.default),
                Field::Seed | Field::Seeds => String::new(),
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
        }
        _ => {
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
    }
    foot
}

#[cfg(test)]
mod tests;
