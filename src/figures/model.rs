//! The plot model: what a figure shows, as plain data. The lab, `fail-lab plot` and the
//! paper's figures fill it; [`super::render`] draws it.

/// A figure: panels in a grid, read row by row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figure {
    pub title: String,
    pub panels: Vec<Panel>,
    /// Panels per row (at least 1).
    pub columns: usize,
    /// Lines of text under the panels (where the data came from, what is missing).
    pub notes: Vec<String>,
}

/// One set of axes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Panel {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub lines: Vec<Line>,
    pub errors: Vec<ErrorBars>,
    /// Reference values (the paper's plotted values), drawn as hollow diamonds.
    pub references: Vec<Reference>,
    /// A grey-level picture filling the panel instead of axes with data.
    pub image: Option<Image>,
    /// Lines of text in the panel's corner (what the paper reports in words, a note when
    /// there is nothing to draw).
    pub notes: Vec<String>,
}

/// An axis: its label, its scale and the range it shows at least (the data widen it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Axis {
    pub label: String,
    pub log: bool,
    pub range: Option<(f64, f64)>,
}

impl Axis {
    pub fn new(label: &str) -> Axis {
        Axis {
            label: label.to_string(),
            ..Axis::default()
        }
    }

    pub fn log(mut self, log: bool) -> Axis {
        self.log = log;
        self
    }

    pub fn range(mut self, lo: f64, hi: f64) -> Axis {
        self.range = Some((lo, hi));
        self
    }
}

/// A line through points, with an optional band (x, lo, hi) drawn under it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub band: Vec<(f64, f64, f64)>,
    /// The colour's index in the palette; `None` takes the line's place in the panel.
    pub colour: Option<usize>,
    pub dashed: bool,
}

impl Line {
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Line {
        Line {
            label: label.into(),
            points,
            ..Line::default()
        }
    }

    pub fn colour(mut self, c: usize) -> Line {
        self.colour = Some(c);
        self
    }
}

/// One error bar: a mean and the range lo..hi around it, at x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorPoint {
    pub x: f64,
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

/// Error bars of one series, joined by a line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorBars {
    pub label: String,
    pub points: Vec<ErrorPoint>,
    pub colour: Option<usize>,
}

/// Reference points with a label: the paper's plotted values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reference {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// The palette colour, usually that of the line the values belong to.
    pub colour: Option<usize>,
}

/// A grey-level image, row-major, values in [0, 1] (others are stretched to it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<f32>,
}

impl Panel {
    pub fn new(title: impl Into<String>, x: Axis, y: Axis) -> Panel {
        Panel {
            title: title.into(),
            x,
            y,
            ..Panel::default()
        }
    }

    /// True when the panel has no point to draw (lines, bars, references or a picture).
    pub fn is_empty(&self) -> bool {
        self.image.is_none()
            && self.lines.iter().all(|l| l.points.is_empty())
            && self.errors.iter().all(|e| e.points.is_empty())
            && self.references.iter().all(|r| r.points.is_empty())
    }

    /// The labels the legend shows, in its order: lines, error bars, references.
    pub fn legend(&self) -> Vec<&str> {
        let lines = self.lines.iter().map(|l| l.label.as_str());
        let bars = self.errors.iter().map(|e| e.label.as_str());
        let refs = self.references.iter().map(|r| r.label.as_str());
        lines
            .chain(bars)
            .chain(refs)
            .filter(|l| !l.is_empty())
            .collect()
    }
}

impl Figure {
    pub fn new(title: impl Into<String>, panels: Vec<Panel>, columns: usize) -> Figure {
        Figure {
            title: title.into(),
            panels,
            columns: columns.max(1),
            notes: Vec::new(),
        }
    }

    /// A size in pixels that gives each panel room to read (see `--size`).
    pub fn default_size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        default_size(rows, cols, self.notes.len())
    }

    /// Rows and columns of the grid.
    pub fn grid(&self) -> (usize, usize) {
        let n = self.panels.len().max(1);
        let cols = self.columns.clamp(1, n);
        (n.div_ceil(cols), cols)
    }
}

/// A size in pixels that gives each panel of the figure room to read: at least
/// 1000 x 650, and 520 x 400 per panel.
pub fn default_size(rows: usize, cols: usize, notes: usize) -> (u32, u32) {
    let w = (cols as u32 * 520).clamp(1000, 4000);
    let h = (rows as u32 * 400 + notes as u32 * 20 + 40).clamp(650, 4000);
    (w, h)
}

/// `WxH` in pixels, e.g. `1200x800`; each side from 64 to 10,000.
pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let bad = || {
        format!("--size {text}: allowed: WIDTHxHEIGHT in pixels, each 64 to 10000, e.g. 1200x800")
    };
    let (w, h) = text.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let side = |s: &str| {
        s.trim()
            .parse::<u32>()
            .ok()
            .filter(|v| (64..=10_000).contains(v))
    };
    match (side(w), side(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_width_by_height_and_bad_ones_say_what_is_allowed() {
        assert_eq!(parse_size("1200x800"), Ok((1200, 800)));
        assert_eq!(parse_size(" 640X480 "), Ok((640, 480)));
        for bad in ["1200", "x800", "12x800", "1200x0", "axb", "20000x100"] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.contains("WIDTHxHEIGHT"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_grid_fits_the_panels_and_the_legend_lists_what_is_named() {
        let mut p = Panel::new("p", Axis::new("x"), Axis::new("y"));
        assert!(p.is_empty());
        p.lines.push(Line::new("a", vec![(0.0, 1.0)]));
        p.references.push(Reference {
            label: "paper".into(),
            points: vec![(1.0, 1.0)],
            colour: None,
        });
        p.lines.push(Line::new("", vec![]));
        assert!(!p.is_empty());
        assert_eq!(p.legend(), vec!["a", "paper"]);
        let f = Figure::new("f", vec![p.clone(), p.clone(), p], 2);
        assert_eq!(f.grid(), (2, 2));
        assert_eq!(Figure::new("f", vec![], 3).grid(), (1, 1));
    }
}
