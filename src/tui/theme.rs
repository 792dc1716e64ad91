//! Colours and glyphs. Only the 16 named terminal colours are used (they follow the user's
//! terminal palette and survive any SSH client); with `NO_COLOR` every colour is dropped and
//! emphasis comes from bold, reverse and underline alone.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;

use crate::engine::Status;

/// How lines are drawn in charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartMarker {
    /// 2x4 dots per cell (needs a font with Braille patterns).
    Braille,
    /// 1x2 half blocks per cell.
    HalfBlock,
    /// One `•` per cell.
    Dot,
    /// One full block `█` per cell: draws in any font.
    Block,
}

impl ChartMarker {
    pub const NAMES: [&'static str; 4] = ["braille", "halfblock", "dot", "block"];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "braille" => ChartMarker::Braille,
            "halfblock" | "half-block" | "half" => ChartMarker::HalfBlock,
            "dot" => ChartMarker::Dot,
            "block" => ChartMarker::Block,
            _ => return None,
        })
    }

    pub fn marker(self) -> Marker {
        match self {
            ChartMarker::Braille => Marker::Braille,
            ChartMarker::HalfBlock => Marker::HalfBlock,
            ChartMarker::Dot => Marker::Dot,
            ChartMarker::Block => Marker::Block,
        }
    }

    /// Horizontal resolution of one cell, for thinning data to what can be drawn.
    pub fn dots_per_cell(self) -> usize {
        match self {
            ChartMarker::Braille => 2,
            _ => 1,
        }
    }

    /// Vertical resolution of one cell, for filling an area dot by dot.
    pub fn rows_per_cell(self) -> usize {
        match self {
            ChartMarker::Braille => 4,
            ChartMarker::HalfBlock => 2,
            _ => 1,
        }
    }
}

/// The palette for series in charts, in order: distinct on dark and light backgrounds.
const SERIES: [Color; 8] = [
    Color::Cyan,
    Color::Yellow,
    Color::Magenta,
    Color::Green,
    Color::LightRed,
    Color::LightBlue,
    Color::White,
    Color::LightGreen,
];

/// Markers that tell series apart without colour.
const MONO_MARKERS: [Marker; 4] = [Marker::Braille, Marker::Dot, Marker::Block, Marker::Bar];

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    pub color: bool,
    pub marker: ChartMarker,
}

impl Theme {
    pub fn new(color: bool, marker: ChartMarker) -> Self {
        Self { color, marker }
    }

    /// Colour unless `NO_COLOR` is set to a non-empty value (https://no-color.org).
    pub fn from_env(marker: ChartMarker) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self::new(!no_color, marker)
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn text(&self) -> Style {
        Style::new()
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn heading(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn border(&self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::new().fg(Color::Cyan),
            (false, true) => Style::new().fg(Color::DarkGray),
            (true, false) => Style::new().add_modifier(Modifier::BOLD),
            (false, false) => Style::new(),
        }
    }

    pub fn selected(&self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::REVERSED)
        } else if self.color {
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED)
        }
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn error(&self) -> Style {
        self.fg(Color::LightRed).add_modifier(Modifier::BOLD)
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn edited(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn status(&self, s: Status) -> Style {
        match s {
            Status::Running => self.fg(Color::Green),
            // training too, but in another process
            Status::Elsewhere => self.fg(Color::LightBlue),
            Status::Queued => self.dim(),
            Status::Paused => self.fg(Color::Yellow),
            Status::Finished => self.fg(Color::Cyan),
            Status::Stopped | Status::Interrupted => self.fg(Color::Yellow),
            Status::Diverged | Status::Failed => self.error(),
        }
    }

    /// The style and marker of the `i`-th series of a chart.
    pub fn series(&self, i: usize) -> (Style, Marker) {
        if self.color {
            (
                Style::new().fg(SERIES[i % SERIES.len()]),
                self.marker.marker(),
            )
        } else {
            // half blocks are drawn in a colour (a pixel without one is empty): use full
            // blocks when there are no colours
            let own = match self.marker {
                ChartMarker::HalfBlock => Marker::Block,
                m => m.marker(),
            };
            let m = if i == 0 {
                own
            } else {
                MONO_MARKERS[i % MONO_MARKERS.len()]
            };
            (Style::new(), m)
        }
    }

    /// Background of an image cell: one of four grey levels.
    pub fn grey(&self, level: f32) -> Color {
        let l = if level.is_finite() { level } else { 0.0 };
        match (l.clamp(0.0, 1.0) * 3.999) as u8 {
            0 => Color::Black,
            1 => Color::DarkGray,
            2 => Color::Gray,
            _ => Color::White,
        }
    }
}

/// The icon of a run's status in the table.
pub fn status_icon(s: Status) -> &'static str {
    match s {
        Status::Running => "●",
        Status::Elsewhere => "◎",
        Status::Paused => "‖",
        Status::Queued => "◌",
        Status::Finished => "✓",
        Status::Stopped | Status::Interrupted => "■",
        Status::Diverged | Status::Failed => "✗",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_parse_by_name() {
        for n in ChartMarker::NAMES {
            assert!(ChartMarker::parse(n).is_some(), "{n}");
        }
        assert_eq!(ChartMarker::parse("Block"), Some(ChartMarker::Block));
        assert_eq!(ChartMarker::parse("sixel"), None);
    }

    #[test]
    fn without_colour_no_style_carries_a_colour() {
        let t = Theme::new(false, ChartMarker::Braille);
        let styles = [
            t.text(),
            t.dim(),
            t.title(),
            t.border(true),
            t.border(false),
            t.selected(true),
            t.selected(false),
            t.key(),
            t.error(),
            t.ok(),
            t.edited(),
            t.status(Status::Failed),
            t.series(3).0,
        ];
        for s in styles {
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
        }
        // series stay apart by marker instead
        assert_ne!(t.series(0).1, t.series(1).1);
        let half = Theme::new(false, ChartMarker::HalfBlock);
        assert_eq!(half.series(0).1, Marker::Block, "half blocks need a colour");
    }

    #[test]
    fn colours_are_the_named_sixteen() {
        let t = Theme::new(true, ChartMarker::Braille);
        for i in 0..12 {
            let c = t.series(i).0.fg.unwrap();
            assert!(!matches!(c, Color::Rgb(..) | Color::Indexed(_)), "{c:?}");
        }
        assert_eq!(t.grey(0.0), Color::Black);
        assert_eq!(t.grey(1.0), Color::White);
        assert_eq!(t.grey(f32::NAN), Color::Black);
    }
}
