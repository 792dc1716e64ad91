//! The help screen: every key of every context, from the key table.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use ratatui::Frame;

use crate::tui::fmt;
use crate::tui::keymap::{self, Cmd};
use crate::tui::theme::Theme;
use crate::tui::widgets::centered;

/// What a key does on the help screen: the new scroll position, or `None` to close it.
pub fn on_cmd(scroll: usize, cmd: Cmd) -> Option<usize> {
    match cmd {
        Cmd::Back => None,
        Cmd::Down => Some(scroll + 1),
        Cmd::Up => Some(scroll.saturating_sub(1)),
        Cmd::PageDown => Some(scroll + 10),
        Cmd::PageUp => Some(scroll.saturating_sub(10)),
        Cmd::First => Some(0),
        _ => Some(scroll),
    }
}

/// The help screen's lines (every key of every context) for a column of `width`: a text
/// longer than the column goes on in lines of its own under its start, never cut.
pub fn help_lines(t: Theme, width: usize) -> Vec<Line<'static>> {
    let sections = keymap::help_sections();
    let key_w = sections
        .iter()
        .flat_map(|(_, lines)| lines.iter().map(|(k, _)| k.chars().count()))
        .max()
        .unwrap_or(10)
        .min(20);
    let mut lines = Vec::new();
    for (title, keys) in sections {
        lines.push(Line::from(Span::styled(title, t.heading())));
        let text_w = width.saturating_sub(key_w + 4).max(20);
        for (k, help) in keys {
            for (i, part) in fmt::wrap_words(help, text_w).into_iter().enumerate() {
                let keys = if i == 0 { k.as_str() } else { "" };
                lines.push(Line::from(vec![
                    Span::styled(format!("  {keys:<key_w$}  "), t.key()),
                    Span::raw(part),
                ]));
            }
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

/// Draws the help box over `area`.
pub fn render(f: &mut Frame, t: Theme, area: Rect, scroll: usize) {
    let two_columns = area.width >= 150;
    let w = if two_columns {
        156.min(area.width.saturating_sub(2))
    } else {
        78.min(area.width.saturating_sub(2))
    };
    let column = if two_columns {
        (w as usize).saturating_sub(2) / 2
    } else {
        (w as usize).saturating_sub(2)
    };
    let lines = help_lines(t, column);
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
