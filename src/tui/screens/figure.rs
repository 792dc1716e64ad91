//! The figure screen: the selected run's figures (images drawn in half-blocks, two pixels per
//! cell, upper in the foreground, lower in the background; or curves) and its log.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget, Wrap};
use ratatui::Frame;

use crate::experiments::ctx::Figure;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::fmt::{self, clip};
use crate::tui::keymap::{Cmd, Context};
use crate::tui::model::run_list::RunRow;
use crate::tui::panes::runs_table::status_note;
use crate::tui::plot::render_curves;
use crate::tui::theme::Theme;
use crate::tui::widgets::{key_legend, titled};

/// Which figure is shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FigureState {
    /// The figure shown; `None` follows the latest one as new ones arrive.
    pub index: Option<usize>,
}

/// What a key does on the figure screen, for a run with `n` figures.
pub fn on_cmd(fig: &mut FigureState, n: usize, cmd: Cmd, out: &mut Vec<Action>) {
    match cmd {
        Cmd::Back => out.push(Action::CloseScreen),
        Cmd::NextFigure if n > 0 => {
            let i = fig.index.unwrap_or(n - 1);
            fig.index = Some((i + 1) % n).filter(|&i| i != n - 1);
        }
        Cmd::PrevFigure if n > 0 => {
            let i = fig.index.unwrap_or(n - 1);
            fig.index = Some((i + n - 1) % n).filter(|&i| i != n - 1);
        }
        _ => {}
    }
}

/// A grey-level image drawn as large as fits, keeping square pixels (a cell is about twice as
/// tall as wide: one pixel per column, two per row).
pub struct ImageView<'a> {
    pub width: usize,
    pub height: usize,
    pub pixels: &'a [f32],
    pub theme: Theme,
}

impl ImageView<'_> {
    /// Columns and rows the image takes in `area`.
    pub fn size_in(&self, area: Rect) -> (u16, u16) {
        if self.width == 0 || self.height == 0 || area.width == 0 || area.height == 0 {
            return (0, 0);
        }
        let (w, h) = (self.width as f64, self.height as f64);
        let avail_w = area.width as f64;
        let avail_h = area.height as f64 * 2.0;
        let scale = (avail_w / w).min(avail_h / h).min(4.0);
        let cols = (w * scale).floor().max(1.0) as u16;
        let rows = ((h * scale) / 2.0).ceil().max(1.0) as u16;
        (cols.min(area.width), rows.min(area.height))
    }
}

impl Widget for ImageView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (cols, rows) = self.size_in(area);
        let needed = self.width.checked_mul(self.height);
        if cols == 0 || rows == 0 || needed.is_none_or(|n| self.pixels.len() < n) {
            return;
        }
        // values are meant to lie in [0, 1]; stretch anything else to that range
        let (lo, hi) = self
            .pixels
            .iter()
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        let (lo, hi) = if lo >= 0.0 && hi <= 1.0 {
            (0.0, 1.0)
        } else {
            (lo, hi.max(lo + f32::EPSILON))
        };
        let sample = |px: usize, py: usize| -> f32 {
            // the pixel under virtual pixel (px, py) of a cols x (2 rows) grid
            let x = px * self.width / cols as usize;
            let y = py * self.height / (rows as usize * 2);
            if y >= self.height {
                return f32::NAN;
            }
            let v = self.pixels[y * self.width + x.min(self.width - 1)];
            (v - lo) / (hi - lo)
        };
        let x0 = area.x + (area.width - cols) / 2;
        let y0 = area.y;
        for r in 0..rows {
            for c in 0..cols {
                let top = sample(c as usize, r as usize * 2);
                let bottom = sample(c as usize, r as usize * 2 + 1);
                let Some(cell) = buf.cell_mut((x0 + c, y0 + r)) else {
                    continue;
                };
                if self.theme.color {
                    let fg = self.theme.grey(top);
                    if bottom.is_nan() {
                        cell.set_symbol("▀").set_style(Style::new().fg(fg));
                    } else {
                        cell.set_symbol("▀")
                            .set_style(Style::new().fg(fg).bg(self.theme.grey(bottom)));
                    }
                } else {
                    let v = if bottom.is_nan() {
                        top
                    } else {
                        (top + bottom) / 2.0
                    };
                    let shade = [" ", "░", "▒", "▓", "█"];
                    let k = (v.clamp(0.0, 1.0) * 4.999) as usize;
                    cell.set_symbol(shade[k.min(4)]);
                }
            }
        }
    }
}

/// Draws the figure screen.
pub fn render(f: &mut Frame, app: &App, area: Rect) {
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
    let shown = app.figure.index.unwrap_or(last).min(last);
    if let Some((step, fig)) = figs.get(shown) {
        let latest = if app.figure.index.is_none() {
            " (latest)"
        } else {
            ""
        };
        let room = (area.width as usize).saturating_sub(24);
        let title = Line::from(vec![Span::styled(
            figure_title(
                &[&r.label(), &format!("#{}", r.num)],
                (shown + 1, figs.len()),
                latest,
                &fmt::count(*step),
                fig.title(),
                room,
            ),
            t.title(),
        )]);
        let keys = key_legend(
            t,
            Context::Figure,
            &[
                (&[Cmd::PrevFigure, Cmd::NextFigure], "figure"),
                (&[Cmd::Back], "back"),
            ],
        );
        let block = titled(
            Block::bordered()
                .border_type(BorderType::Thick)
                .border_style(t.border(true)),
            title,
            keys,
            area.width,
        );
        let inner = block.inner(fig_a);
        f.render_widget(block, fig_a);
        draw_figure(f, t, fig, inner);
    }
    render_log(f, t, r, figs.is_empty(), log_a);
}

/// ` Run #4 d=5 · figure 3/3 (latest) · step 300 · E2: accuracy ` in `room` characters:
/// the run named shorter first (`names`, longest first), then `(latest)` left out, then
/// the figure's own title cut at its end.
fn figure_title(
    names: &[&str],
    (i, n): (usize, usize),
    latest: &str,
    step: &str,
    title: &str,
    room: usize,
) -> String {
    let make =
        |run: &str, latest: &str| format!(" Run {run} · figure {i}/{n}{latest} · step {step} · ");
    for latest in [latest, ""] {
        for run in names {
            let head = make(run, latest);
            if head.chars().count() + title.chars().count() < room {
                return format!("{head}{title} ");
            }
        }
    }
    let head = make(names.last().copied().unwrap_or(""), "");
    let left = room.saturating_sub(head.chars().count() + 1);
    if left >= 8 {
        format!("{head}{} ", clip(title, left))
    } else {
        clip(&head, room)
    }
}

fn draw_figure(f: &mut Frame, t: Theme, fig: &Figure, area: Rect) {
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
            f.render_widget(view, area);
        }
        Figure::Curves {
            x_label,
            y_label,
            series,
            ..
        } => render_curves(f, t, x_label, y_label, series, area),
    }
}

/// The run's status note and the last lines of its log that fit.
fn render_log(f: &mut Frame, t: Theme, r: &RunRow, no_figures: bool, area: Rect) {
    let mut lines: Vec<Line> = Vec::new();
    if let Some(note) = status_note(&r.state).or_else(|| {
        r.state
            .reason
            .as_ref()
            .map(|reason| format!("{}: {reason}", r.state.status.label()))
    }) {
        lines.push(Line::from(Span::styled(note, t.status(r.state.status))));
    }
    // long lines wrap at their words: the last lines that fit whole, in the rows they take
    let inner_w = (area.width as usize).saturating_sub(2).max(1);
    let rows_of = |s: &str| s.chars().count().max(1).div_ceil(inner_w);
    let mut room = (area.height as usize)
        .saturating_sub(2)
        .saturating_sub(lines.iter().map(|l| rows_of(&l.to_string())).sum());
    let mut kept: Vec<Vec<String>> = Vec::new();
    for l in r.state.logs.iter().rev() {
        let rows = fmt::wrap_words(l, inner_w);
        if rows.len() > room {
            break;
        }
        room -= rows.len();
        kept.push(rows);
    }
    for rows in kept.into_iter().rev() {
        lines.extend(rows.into_iter().map(Line::from));
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            if no_figures {
                "no figures and no log lines: this experiment draws none"
            } else {
                "no log lines"
            },
            t.dim(),
        )));
    }
    let title = if no_figures {
        format!(" Run {} · log (no figures) ", r.label())
    } else {
        " Log ".to_string()
    };
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .border_style(t.border(no_figures))
                .title(Span::styled(title, t.title())),
        ),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RunState;
    use crate::experiments::ctx::Figure;
    use crate::spec::Params;
    use crate::tui::theme::ChartMarker;

    #[test]
    fn figures_round_trip_through_their_json() {
        let figs = [
            Figure::Image {
                title: "digit".into(),
                width: 2,
                height: 3,
                pixels: vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            },
            Figure::Curves {
                title: "target vs model".into(),
                x_label: "x".into(),
                y_label: "y".into(),
                series: vec![
                    ("target".into(), vec![(0.0, 1.0), (1.0, 2.0)]),
                    ("model".into(), vec![(0.5, f64::NAN)]),
                ],
            },
        ];
        for f in figs {
            let back = Figure::from_json(&f.to_json()).unwrap();
            match (&f, &back) {
                (Figure::Curves { series: a, .. }, Figure::Curves { series: b, .. }) => {
                    assert_eq!(a[0], b[0]);
                    assert!(b[1].1[0].1.is_nan());
                }
                _ => assert_eq!(f, back),
            }
        }
        let bad = serde_json::json!({"kind": "image", "title": "t", "width": 3, "height": 3, "pixels": [1]});
        assert!(Figure::from_json(&bad).is_none());
        assert!(Figure::from_json(&serde_json::json!({"kind": "video", "title": "t"})).is_none());
    }

    #[test]
    fn saved_figures_keep_the_latest_of_each_title() {
        let dir = std::env::temp_dir().join(format!("fail-lab-fig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = |v: f32| Figure::Image {
            title: "a".into(),
            width: 1,
            height: 1,
            pixels: vec![v],
        };
        let lines = [
            serde_json::json!({"step": 1, "figure": f(0.1).to_json()}).to_string(),
            serde_json::json!({"step": 2, "figure": f(0.9).to_json()}).to_string(),
            "{\"step\": 3, \"figure\": {\"ki".to_string(),
        ];
        std::fs::write(dir.join("figures.jsonl"), lines.join("\n")).unwrap();
        let mut run = RunState::new("r", "E1", "t", Params::default());
        run.dir = Some(dir.clone());
        run.load_figures();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(run.figures.len(), 1);
        assert_eq!(run.figures["a"], (2, f(0.9)));
        run.dir = Some(std::path::PathBuf::from("/nonexistent"));
        run.figures.clear();
        run.load_figures();
        assert!(run.figures.is_empty());
    }

    #[test]
    fn a_28x28_image_fills_28_columns_and_14_rows_in_half_blocks() {
        let pixels: Vec<f32> = (0..28 * 28).map(|i| (i % 28) as f32 / 27.0).collect();
        let theme = Theme::new(true, ChartMarker::Braille);
        let view = ImageView {
            width: 28,
            height: 28,
            pixels: &pixels,
            theme,
        };
        let area = Rect::new(0, 0, 40, 14);
        assert_eq!(view.size_in(area), (28, 14));
        let mut buf = Buffer::empty(area);
        view.render(area, &mut buf);
        let cell = &buf[(6, 0)];
        assert_eq!(cell.symbol(), "▀");
        assert_eq!(buf[(6, 0)].fg, ratatui::style::Color::Black);
        assert_eq!(buf[(33, 13)].fg, ratatui::style::Color::White);
        // too small an area shrinks the picture rather than overflowing
        let tiny = ImageView {
            width: 28,
            height: 28,
            pixels: &pixels,
            theme: Theme::new(false, ChartMarker::Dot),
        };
        let small = Rect::new(0, 0, 10, 3);
        let (c, r) = tiny.size_in(small);
        assert!(c <= 10 && r <= 3);
        let mut buf = Buffer::empty(small);
        tiny.render(small, &mut buf);
        assert_eq!(buf[(7, 0)].symbol(), "█");
        assert_eq!(buf[(9, 0)].symbol(), " ");
    }

    #[test]
    fn a_figure_title_names_its_run_shorter_before_its_title_is_cut() {
        let names = ["#4 steps_e2e=300 steps_dec=300", "#4"];
        let full = figure_title(&names, (3, 3), " (latest)", "300", "E2: accuracy", 200);
        assert_eq!(
            full,
            " Run #4 steps_e2e=300 steps_dec=300 · figure 3/3 (latest) · step 300 · E2: accuracy "
        );
        let t = figure_title(&names, (3, 3), " (latest)", "300", "E2: accuracy", 60);
        assert_eq!(
            t,
            " Run #4 · figure 3/3 (latest) · step 300 · E2: accuracy "
        );
        let t = figure_title(&names, (3, 3), " (latest)", "300", "E2: accuracy", 50);
        assert_eq!(t, " Run #4 · figure 3/3 · step 300 · E2: accuracy ");
        for room in 10..90 {
            let t = figure_title(&names, (3, 3), " (latest)", "300", "E2: accuracy", room);
            assert!(t.chars().count() <= room, "{room}: {t}");
        }
    }

    #[test]
    fn log_lines_wrap_between_words() {
        assert_eq!(
            fmt::wrap_words("end-to-end: final accuracy 0.497", 14),
            ["end-to-end:", "final accuracy", "0.497"]
        );
        assert_eq!(
            fmt::wrap_words("abcdefghij xy", 4),
            ["abcd", "efgh", "ij", "xy"]
        );
        assert_eq!(fmt::wrap_words("", 10), [""]);
        for w in 1..30 {
            for row in fmt::wrap_words("a bb ccc dddd eeeee ffffffffffffffffff g", w) {
                assert!(row.chars().count() <= w, "{w}: {row}");
            }
        }
    }
}
