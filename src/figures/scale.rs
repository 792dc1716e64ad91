//! From data to drawing coordinates: log axes as base-10 logarithms, the ranges a panel
//! shows, and tick labels.

use super::model::{Axis, Panel};

/// A panel's drawn ranges, in drawing coordinates (log10 on a log axis).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub x: (f64, f64),
    pub y: (f64, f64),
}

/// A value in an axis' drawing coordinate; `None` if it cannot be drawn there.
pub fn to_axis(axis: &Axis, v: f64) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    if axis.log {
        (v > 0.0).then(|| v.log10())
    } else {
        Some(v)
    }
}

/// A point in drawing coordinates, if both of its values can be drawn.
pub fn to_point(panel: &Panel, (x, y): (f64, f64)) -> Option<(f64, f64)> {
    Some((to_axis(&panel.x, x)?, to_axis(&panel.y, y)?))
}

fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Widens an empty or single-value range so that it can be drawn.
fn open(range: Option<(f64, f64)>) -> (f64, f64) {
    match range {
        None => (0.0, 1.0),
        Some((lo, hi)) if hi > lo => (lo, hi),
        Some((v, _)) => {
            let d = if v == 0.0 { 0.5 } else { v.abs() * 0.1 };
            (v - d, v + d)
        }
    }
}

/// Every drawable (x, y) of the panel's data: lines, bands, error bars, references.
fn data_points(panel: &Panel) -> Vec<(f64, f64)> {
    let mut pts = Vec::new();
    for l in &panel.lines {
        pts.extend(l.points.iter().copied());
        for &(x, lo, hi) in &l.band {
            pts.extend([(x, lo), (x, hi)]);
        }
    }
    for e in &panel.errors {
        for p in &e.points {
            pts.extend([(p.x, p.lo), (p.x, p.hi), (p.x, p.mean)]);
        }
    }
    for r in &panel.references {
        pts.extend(r.points.iter().copied());
    }
    pts.into_iter().filter_map(|p| to_point(panel, p)).collect()
}

/// The ranges a panel shows: the data's (y with a margin), or the axis' own range where it
/// has one, widened to any data outside it (nothing drawn is ever cut off).
pub fn bounds(panel: &Panel) -> Bounds {
    let pts = data_points(panel);
    let range = |axis: &Axis, data: Option<(f64, f64)>, margin: f64| {
        let fixed = axis
            .range
            .and_then(|(lo, hi)| Some((to_axis(axis, lo)?, to_axis(axis, hi)?)))
            .filter(|(lo, hi)| hi > lo);
        let (lo, hi) = match (fixed, data) {
            (Some((lo, hi)), Some((a, b))) => (lo.min(a), hi.max(b)),
            (Some(r), None) => r,
            (None, d) => open(d),
        };
        let m = (hi - lo) * margin;
        (lo - m, hi + m)
    };
    Bounds {
        // error bars at the ends of the range would sit on the axes
        x: range(
            &panel.x,
            extent(pts.iter().map(|p| p.0)),
            if panel.errors.is_empty() { 0.0 } else { 0.05 },
        ),
        y: range(&panel.y, extent(pts.iter().map(|p| p.1)), 0.04),
    }
}

/// A tick's label: short, without trailing zeros.
pub fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.1e}");
        return s.replace(".0e", "e");
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The range of an image's finite pixels, [0, 1] when they lie within it.
pub fn pixel_range(pixels: &[f32]) -> (f32, f32) {
    let (lo, hi) = pixels
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    if lo >= 0.0 && hi <= 1.0 {
        (0.0, 1.0)
    } else if lo.is_finite() {
        (lo, hi.max(lo + f32::EPSILON))
    } else {
        (0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::model::{Line, Reference};

    #[test]
    fn log_axes_drop_what_they_cannot_draw_and_ranges_cover_the_data() {
        let mut p = Panel::new("p", Axis::new("k"), Axis::new("snr").log(true));
        p.lines.push(Line::new(
            "a",
            vec![(1.0, 1e-4), (2.0, 0.0), (3.0, f64::NAN), (4.0, 1e-8)],
        ));
        p.references.push(Reference {
            label: "paper".into(),
            points: vec![(5.0, 1e-2)],
            colour: None,
        });
        let b = bounds(&p);
        assert_eq!(b.x, (1.0, 5.0));
        assert!(b.y.0 < -8.0 && b.y.1 > -2.0, "{b:?}");
        assert_eq!(to_axis(&p.y, -1.0), None);
        p.y.range = Some((1e-6, 1.0));
        // a fixed range widens to the data outside it (and takes the margin)
        let b = bounds(&p);
        assert!((b.y.1 - 0.32).abs() < 1e-9, "{b:?}");
        assert!((b.y.0 + 8.32).abs() < 1e-9, "{b:?}");
    }

    #[test]
    fn empty_and_flat_data_still_give_a_range() {
        let p = Panel::new("p", Axis::new("x"), Axis::new("y"));
        let b = bounds(&p);
        assert!(b.x.1 > b.x.0 && b.y.1 > b.y.0);
        let mut q = p.clone();
        q.lines.push(Line::new("a", vec![(3.0, 0.5), (3.0, 0.5)]));
        let b = bounds(&q);
        assert!(b.x.0 < 3.0 && b.x.1 > 3.0 && b.y.0 < 0.5 && b.y.1 > 0.5);
    }

    #[test]
    fn ticks_read_short() {
        assert_eq!(fmt_tick(0.0), "0");
        assert_eq!(fmt_tick(2500.0), "2500");
        assert_eq!(fmt_tick(0.25), "0.25");
        assert_eq!(fmt_tick(1e-4), "1e-4");
        assert_eq!(fmt_tick(50_000.0), "50000");
        assert_eq!(fmt_tick(200_000.0), "2e5");
        assert_eq!(fmt_tick(-0.5), "-0.5");
    }
}
