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

/// The part of the segment `a`-`b` inside `b`ounds (Liang-Barsky), if any.
fn clip_segment(a: (f64, f64), z: (f64, f64), b: &Bounds) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (z.0 - a.0, z.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - b.x.0),
        (dx, b.x.1 - a.0),
        (-dy, a.1 - b.y.0),
        (dy, b.y.1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    (t0 <= t1).then_some((
        (a.0 + t0 * dx, a.1 + t0 * dy),
        (a.0 + t1 * dx, a.1 + t1 * dy),
    ))
}

fn inside(p: (f64, f64), b: &Bounds) -> bool {
    (b.x.0..=b.x.1).contains(&p.0) && (b.y.0..=b.y.1).contains(&p.1)
}

/// The runs of drawable points, clipped to the panel's bounds: a point that cannot be drawn
/// ends a run, and so does a line leaving the bounds (it starts again where it comes back).
pub(crate) fn segments(panel: &Panel, b: &Bounds, points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![Vec::new()];
    for &p in points {
        match to_point(panel, p) {
            Some(q) => runs.last_mut().map(|s| s.push(q)).unwrap_or(()),
            None => runs.push(Vec::new()),
        }
    }
    let mut out = Vec::new();
    for run in runs {
        if let [p] = run[..] {
            if inside(p, b) {
                out.push(vec![p]);
            }
            continue;
        }
        let mut cur: Vec<(f64, f64)> = Vec::new();
        for w in run.windows(2) {
            match clip_segment(w[0], w[1], b) {
                Some((p, q)) => {
                    if cur.last() != Some(&p) && !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                    if cur.is_empty() {
                        cur.push(p);
                    }
                    cur.push(q);
                }
                None if !cur.is_empty() => out.push(std::mem::take(&mut cur)),
                None => {}
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// The runs of drawable points, each held inside the bounds (a band's edges: the band
/// keeps its shape where it is inside and runs along the border where it is not).
fn held(panel: &Panel, b: &Bounds, points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for &p in points {
        match to_point(panel, p) {
            Some((x, y)) => out
                .last_mut()
                .map(|s| s.push((x.clamp(b.x.0, b.x.1), y.clamp(b.y.0, b.y.1))))
                .unwrap_or(()),
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
    b: &Bounds,
) -> Result<(), String> {
    for (i, l) in panel.lines.iter().enumerate() {
        band(chart, panel, b, l, l.colour.unwrap_or(i))?;
    }
    for (i, l) in panel.lines.iter().enumerate() {
        line(chart, panel, b, l, l.colour.unwrap_or(i))?;
    }
    let first = panel.lines.len();
    for (i, e) in panel.errors.iter().enumerate() {
        error_bars(chart, panel, b, e, e.colour.unwrap_or(first + i))?;
    }
    for (i, r) in panel.references.iter().enumerate() {
        references(chart, panel, b, r, r.colour.unwrap_or(i))?;
    }
    Ok(())
}

fn band<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    panel: &Panel,
    b: &Bounds,
    l: &Line,
    c: usize,
) -> Result<(), String> {
    let lo: Vec<(f64, f64)> = l.band.iter().map(|b| (b.0, b.1)).collect();
    let hi: Vec<(f64, f64)> = l.band.iter().map(|b| (b.0, b.2)).collect();
    // a band is drawn where both of its edges can be
    let (lo, hi) = (held(panel, b, &lo), held(panel, b, &hi));
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
    b: &Bounds,
    l: &Line,
    c: usize,
) -> Result<(), String> {
    let style = colour(c).stroke_width(2);
    let segs = segments(panel, b, &l.points);
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
    b: &Bounds,
    e: &ErrorBars,
    c: usize,
) -> Result<(), String> {
    let style = colour(c).stroke_width(2);
    let means: Vec<(f64, f64)> = e.points.iter().map(|p| (p.x, p.mean)).collect();
    let joins = segments(panel, b, &means)
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
        if let Some((a, z)) = clip_segment((x, lo), (x, hi), b) {
            bars.push(PathElement::new(vec![a, z], style));
        }
    }
    chart.draw_series(bars).map_err(err)?;
    let caps = e.points.iter().flat_map(|p| [(p.x, p.lo), (p.x, p.hi)]);
    let caps: Vec<_> = caps
        .filter_map(|q| to_point(panel, q))
        .filter(|&q| inside(q, b))
        .map(|q| EmptyElement::at(q) + PathElement::new(vec![(-5, 0), (5, 0)], style))
        .collect();
    chart.draw_series(caps).map_err(err)?;
    let dots: Vec<_> = means
        .iter()
        .filter_map(|&q| to_point(panel, q))
        .filter(|&q| inside(q, b))
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
    b: &Bounds,
    r: &Reference,
    c: usize,
) -> Result<(), String> {
    let style = colour(c).stroke_width(2);
    let marks: Vec<_> = r
        .points
        .iter()
        .filter_map(|&p| to_point(panel, p))
        .filter(|&q| inside(q, b))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::model::Axis;

    #[test]
    fn a_line_leaving_the_bounds_is_cut_at_the_border_and_starts_again_where_it_returns() {
        let panel = Panel::new("p", Axis::new("x"), Axis::new("y"));
        let b = Bounds {
            x: (0.0, 10.0),
            y: (0.0, 1.0),
        };
        let pts = [(0.0, 0.5), (2.0, 0.5), (4.0, 3.0), (6.0, 0.5), (8.0, 0.5)];
        let segs = segments(&panel, &b, &pts);
        assert_eq!(segs.len(), 2, "{segs:?}");
        for s in &segs {
            assert!(s.iter().all(|&p| inside(p, &b)), "{s:?}");
        }
        // the cut is where the line crosses y = 1: a fifth of the way from (2, 0.5) up
        let cut = segs[0].last().unwrap();
        assert!(
            (cut.0 - 2.4).abs() < 1e-9 && (cut.1 - 1.0).abs() < 1e-9,
            "{cut:?}"
        );
        assert_eq!(segs[1].last(), Some(&(8.0, 0.5)));
        // a segment wholly outside draws nothing
        assert!(clip_segment((0.0, 2.0), (5.0, 3.0), &b).is_none());
    }
}
