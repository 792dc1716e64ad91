//! Experiment figures: drawing images in half-blocks (two pixels per cell, upper in the foreground, lower in the background).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

use super::theme::Theme;

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
}
