//! A panel's data on its chart: bands under lines, lines, error bars and reference
//! diamonds, each with its legend entry.

use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::model::{ErrorBars, Line, Panel, Reference};
use super::scale::{to_axis, to_point, Bounds};

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The palette: red and blue first, as the paper draws end-to-end and decomposition.
pub const PALETTE: [(u8, u8, u8); 10] = [
    (214, 39, 40),
    (31, 119, 180),
    (44, 160, 44),
    (255, 127, 14),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// The palette's colour `i` (wrapping around).
pub fn colour(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

fn err(e: impl std::fmt::Display) -> String {
    format!("drawing the figure: {e}")
}

/// The runs of drawable points: a point that cannot be drawn ends a run.
fn segments(panel: &Panel, points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for &p in points {
        match to_point(panel, p) {
            Some(q) => out.last_mut().map(|s| s.push(q)).unwrap_or(()),
            None => out.push(Vec::new()),
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Draws everything but the axes, lines in panel order, each in its own colour.
pub fn draw_data<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    panel: &Panel,
) -> Result<(), String> {
    for (i, l) in panel.lines.iter().enumerate() {
        band(chart, panel, l, l.colour.unwrap_or(i))?;
    }
    for (i, l) in panel.lines.iter().enumerate() {
        line(chart, panel, l, l.colour.unwrap_or(i))?;
    }
    let first = panel.lines.len();
    for (i, e) in panel.errors.iter().enumerate() {
        error_bars(chart, panel, e, e.colour.unwrap_or(first + i))?;
    }
    for (i, r) in panel.references.iter().enumerate() {
        references(chart, panel, r, r.colour.unwrap_or(i))?;
    }
    Ok(())
}

fn band<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    panel: &Panel,
    l: &Line,
    c: usize,
) -> Result<(), String> {
    let lo: Vec<(f64, f64)> = l.band.iter().map(|b| (b.0, b.1)).collect();
    let hi: Vec<(f64, f64)> = l.band.iter().map(|b| (b.0, b.2)).collect();
    // a band is drawn where both of its edges can be
    let (lo, hi) = (segments(panel, &lo), segments(panel, &hi));
    let polys = lo
        .into_iter()
        .zip(hi)
        .filter(|(a, b)| a.len() == b.len() && a.len() > 1)
        .map(|(mut a, b)| {
            a.extend(b.into_iter().rev());
            Polygon::new(a, colour(c).mix(0.18).filled())
        });
    chart.draw_series(polys).map_err(err)?;
    Ok(())
}

fn line<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    panel: &Panel,
    l: &Line,
    c: usize,
) -> Result<(), String> {
    let style = colour(c).stroke_width(2);
    let segs = segments(panel, &l.points);
    let anno = if l.dashed {
        let d: Vec<_> = segs
            .into_iter()
            .map(|s| DashedPathElement::new(s, 6, 4, style))
            .collect();
        chart.draw_series(d).map_err(err)?
    } else {
        let solid = segs.into_iter().map(|s| PathElement::new(s, style));
        chart.draw_series(solid).map_err(err)?
    };
    if !l.label.is_empty() {
        // two strokes, apart for a dashed line, overlapping for a solid one
        let (a, b) = if l.dashed { (7, 11) } else { (11, 7) };
        anno.label(l.label.as_str()).legend(move |(x, y)| {
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (a, 0)], style)
                + PathElement::new(vec![(b, 0), (18, 0)], style)
        });
    }
    Ok(())
}

fn error_bars<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    panel: &Panel,
    e: &ErrorBars,
    c: usize,
) -> Result<(), String> {
    let style = colour(c).stroke_width(2);
    let means: Vec<(f64, f64)> = e.points.iter().map(|p| (p.x, p.mean)).collect();
    let joins = segments(panel, &means)
        .into_iter()
        .map(|s| PathElement::new(s, style));
    chart.draw_series(joins).map_err(err)?;
    let mut bars = Vec::new();
    for p in &e.points {
        let (Some(x), Some(lo), Some(hi)) = (
            to_axis(&panel.x, p.x),
            to_axis(&panel.y, p.lo),
            to_axis(&panel.y, p.hi),
        ) else {
            continue;
        };
        bars.push(PathElement::new(vec![(x, lo), (x, hi)], style));
    }
    chart.draw_series(bars).map_err(err)?;
    let caps = e.points.iter().flat_map(|p| [(p.x, p.lo), (p.x, p.hi)]);
    let caps: Vec<_> = caps
        .filter_map(|q| to_point(panel, q))
        .map(|q| EmptyElement::at(q) + PathElement::new(vec![(-5, 0), (5, 0)], style))
        .collect();
    chart.draw_series(caps).map_err(err)?;
    let dots: Vec<_> = means
        .iter()
        .filter_map(|&q| to_point(panel, q))
        .map(|q| Circle::new(q, 4, colour(c).filled()))
        .collect();
    let anno = chart.draw_series(dots).map_err(err)?;
    if !e.label.is_empty() {
        anno.label(e.label.as_str()).legend(move |(x, y)| {
            EmptyElement::at((x + 9, y))
                + PathElement::new(vec![(0, -6), (0, 6)], style)
                + Circle::new((0, 0), 4, colour(c).filled())
        });
    }
    Ok(())
}

/// A hollow diamond around (0, 0), `r` pixels from the centre to a corner.
fn diamond(r: i32) -> Vec<(i32, i32)> {
    vec![(0, -r), (r, 0), (0, r), (-r, 0), (0, -r)]
}

fn references<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    panel: &Panel,
    r: &Reference,
    c: usize,
) -> Result<(), String> {
    let style = colour(c).stroke_width(2);
    let marks: Vec<_> = r
        .points
        .iter()
        .filter_map(|&p| to_point(panel, p))
        .map(|q| {
            EmptyElement::at(q)
                + PathElement::new(diamond(7), BLACK.stroke_width(4))
                + PathElement::new(diamond(7), style)
        })
        .collect();
    let anno = chart.draw_series(marks).map_err(err)?;
    if !r.label.is_empty() {
        anno.label(r.label.as_str()).legend(move |(x, y)| {
            EmptyElement::at((x + 9, y))
                + PathElement::new(diamond(6), BLACK.stroke_width(4))
                + PathElement::new(diamond(6), style)
        });
    }
    Ok(())
}

/// The corner of the panel with the fewest data points, where the legend hides least.
pub fn legend_corner(panel: &Panel, b: &Bounds) -> SeriesLabelPosition {
    let w = (b.x.1 - b.x.0).max(f64::MIN_POSITIVE);
    let h = (b.y.1 - b.y.0).max(f64::MIN_POSITIVE);
    let mut counts = [0usize; 4];
    let all = panel
        .lines
        .iter()
        .flat_map(|l| l.points.iter())
        .chain(panel.references.iter().flat_map(|r| r.points.iter()));
    for &p in all {
        let Some((x, y)) = to_point(panel, p) else {
            continue;
        };
        let (fx, fy) = ((x - b.x.0) / w, (y - b.y.0) / h);
        let (left, right, top, bottom) = (fx < 0.45, fx > 0.55, fy > 0.55, fy < 0.45);
        counts[0] += usize::from(right && bottom);
        counts[1] += usize::from(right && top);
        counts[2] += usize::from(left && bottom);
        counts[3] += usize::from(left && top);
    }
    match (0..4).min_by_key(|&i| counts[i]).unwrap_or(0) {
        0 => SeriesLabelPosition::LowerRight,
        1 => SeriesLabelPosition::UpperRight,
        2 => SeriesLabelPosition::LowerLeft,
        _ => SeriesLabelPosition::UpperLeft,
    }
}
