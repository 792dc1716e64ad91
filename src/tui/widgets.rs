//! Pieces shared by the panes and screens: a pane's frame, padding, the selection bar, a
//! scrolled list's first row, a line of text being typed, a centered box, a question box.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::fmt::clip;
use super::keymap::Cmd;
use super::theme::Theme;

pub fn pane_block<'a>(t: Theme, title: Line<'a>, focused: bool) -> Block<'a> {
    pane_frame(t, focused).title(title)
}

/// A pane's border, thick when it has the focus.
pub fn pane_frame<'a>(t: Theme, focused: bool) -> Block<'a> {
    Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(t.border(focused))
}

/// The first visible row of a list of `len` rows in `height` so that `sel` is on screen.
pub fn scroll_offset(sel: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    sel.saturating_sub(height - 1).min(len - height)
}

/// Pads a line to `width` and gives it the selection style.
pub fn highlight(line: Line<'_>, style: Style, width: usize) -> Line<'_> {
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

pub fn pad(s: &str, w: usize) -> String {
    let c = clip(s, w);
    let n = c.chars().count();
    format!("{c}{}", " ".repeat(w.saturating_sub(n)))
}

pub fn rpad(s: &str, w: usize) -> String {
    let c = clip(s, w);
    let n = c.chars().count();
    format!("{}{c}", " ".repeat(w.saturating_sub(n)))
}

/// A text field of `w` cells with a visible cursor (drawn, not the terminal's).
pub fn input_spans(t: Theme, text: &str, cursor: usize, w: usize) -> Vec<Span<'static>> {
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

pub fn input_line(t: Theme, text: &str, cursor: usize, w: usize) -> Line<'static> {
    Line::from(input_spans(t, text, cursor, w))
}

pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// A question box: its text, then the keys that answer it.
pub fn confirm(
    f: &mut Frame,
    t: Theme,
    area: Rect,
    title: &str,
    text: &[String],
    keys: Line<'static>,
) {
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
    lines.push(keys);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
}

/// A line of text being typed, with a cursor (in characters).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextInput {
    pub text: String,
    pub cursor: usize,
}

impl TextInput {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    fn byte_at(&self, char_idx: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_idx)
            .map(|(b, _)| b)
            .unwrap_or(self.text.len())
    }

    pub fn insert(&mut self, c: char) {
        let b = self.byte_at(self.cursor);
        self.text.insert(b, c);
        self.cursor += 1;
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let b = self.byte_at(self.cursor);
            self.text.remove(b);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.chars().count() {
            let b = self.byte_at(self.cursor);
            self.text.remove(b);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }

    /// Ctrl-U: clears the line.
    /// Applies an editing command (the typed character comes from the key).
    pub fn edit(&mut self, cmd: Cmd, key: &KeyEvent) {
        match cmd {
            Cmd::Insert => {
                if let KeyCode::Char(c) = key.code {
                    self.insert(c);
                }
            }
            Cmd::Erase => self.backspace(),
            Cmd::EraseForward => self.delete(),
            Cmd::CursorLeft => self.left(),
            Cmd::CursorRight => self.right(),
            Cmd::CursorHome => self.home(),
            Cmd::CursorEnd => self.end(),
            Cmd::Clear => self.clear(),
            _ => {}
        }
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }
}

/// A block with `title` on the left and, when both fit in `width`, `legend` on the right.
pub fn titled<'a>(block: Block<'a>, title: Line<'a>, legend: Line<'a>, width: u16) -> Block<'a> {
    let fits = title.width() + legend.width() + 4 <= width as usize;
    let block = block.title(title);
    if fits {
        block.title(legend.right_aligned())
    } else {
        block
    }
}

/// A pane title's key legend ("m metric  y log"), with the keys as the key table has them.
/// Each item names the commands whose keys it shows (`←→` for previous / next).
pub fn key_legend(
    t: Theme,
    ctx: super::keymap::Context,
    items: &[(&[Cmd], &str)],
) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (cmds, text) in items {
        let keys: Vec<_> = cmds
            .iter()
            .filter_map(|c| super::keymap::key_of(ctx, *c))
            .collect();
        if !keys.is_empty() {
            spans.push(Span::styled(super::keymap::label_of(keys), t.key()));
            spans.push(Span::raw(format!(" {text} ")));
        }
    }
    Line::from(spans)
}
