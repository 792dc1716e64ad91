//! Groups in charts: the mean of a metric over a group's runs drawn as a line, with a band
//! (min..max or ± sd over the seeds) filled under it, steps aligned as the sweep's
//! aggregation aligns them. Used by the chart pane, the compare screen and the sweep row's
//! overlay.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::Frame;

use super::model::run_list::RunRow;
use super::model::run_tree::{band_of, band_series, per_seed, BandKind};
use super::plot::{self, draw_plot, line, x_range, y_bounds, Look, Plot};
use super::theme::Theme;
use crate::engine::Series;

/// A group's metric as drawn: the mean and the band's edges.
#[derive(Debug, Clone)]
pub struct Band {
    pub label: String,
    pub mean: Series,
    pub lo: Series,
    pub hi: Series,
    /// Seeds with this metric (a seed run twice counts once).
    pub n: usize,
}

impl Band {
    /// The band of `metric` over `runs`; `None` when no run has a point of it.
    pub fn of(label: String, runs: &[&RunRow], metric: &str, spread: BandKind) -> Option<Band> {
        let points = band_of(runs, metric);
        if points.is_empty() {
            return None;
        }
        let experiment = runs.first().map_or("", |r| r.state.experiment.as_str());
        let [mean, lo, hi] = band_series(&points, spread, experiment, metric);
        let with: Vec<&RunRow> = runs
            .iter()
            .copied()
            .filter(|r| r.state.metrics.contains_key(metric))
            .collect();
        let n = per_seed(&with).len();
        Some(Band {
            label,
            mean,
            lo,
            hi,
            n,
        })
    }
}

/// The dots that fill the area between two thinned lines: each of `columns` columns over
/// the x range `x`, from the low edge to the high one (both interpolated between the lines'
/// points), `rows` dots per height of the y range `y`.
fn fill_between(
    lo: &plot::Line,
    hi: &plot::Line,
    x: (f64, f64),
    y: (f64, f64),
    columns: usize,
    rows: usize,
) -> Vec<(f64, f64)> {
    // per x of the thinned points: the lowest low and the highest high
    let mut edges: Vec<(f64, f64, f64)> = Vec::new();
    for &(px, v) in &lo.points {
        match edges.last_mut() {
            Some(c) if c.0 == px => c.1 = c.1.min(v),
            _ => edges.push((px, v, f64::NEG_INFINITY)),
        }
    }
    let mut i = 0;
    for &(px, v) in &hi.points {
        while i < edges.len() && edges[i].0 < px {
            i += 1;
        }
        if let Some(c) = edges.get_mut(i).filter(|c| c.0 == px) {
            c.2 = c.2.max(v);
        }
    }
    edges.retain(|c| c.2 >= c.1);
    let dy = (y.1 - y.0) / rows.max(1) as f64;
    let dx = (x.1 - x.0) / columns.max(1) as f64;
    let mut dots = Vec::new();
    if !(dy > 0.0 && dy.is_finite() && dx > 0.0 && dx.is_finite()) {
        return dots;
    }
    let mut column = |cx: f64, a: f64, b: f64| {
        let mut v = a;
        while v <= b {
            dots.push((cx, v));
            v += dy;
        }
    };
    for w in edges.windows(2) {
        let ((x0, lo0, hi0), (x1, lo1, hi1)) = (w[0], w[1]);
        let mut cx = x0;
        while cx < x1 {
            let f = (cx - x0) / (x1 - x0);
            column(cx, lo0 + f * (lo1 - lo0), hi0 + f * (hi1 - hi0));
            cx += dx;
        }
    }
    if let Some(&(cx, a, b)) = edges.last() {
        column(cx, a, b);
    }
    dots
}

/// Every third point of a thinned line: a band's edge drawn dotted, apart from the solid
/// lines of the means.
fn dotted(l: &plot::Line) -> impl Iterator<Item = (f64, f64)> + '_ {
    l.points.iter().copied().step_by(3)
}

/// The plot of groups' means with their bands beneath (`fill`: one band filled, several
/// outlined; else the means alone, for many groups at once), colours from `first_colour`
/// on; `None` when there is nothing to draw.
pub fn band_plot(
    t: Theme,
    bands: &[Band],
    look: Look,
    area: Rect,
    first_colour: usize,
    fill: bool,
) -> Option<Plot> {
    let x = super::plot::chart_x_range(x_range(bands.iter().map(|b| &b.mean))?, look.log_x);
    let cols = (area.width as usize).max(1) * t.marker.dots_per_cell();
    let mut lines = Vec::new();
    let mut edges = Vec::new();
    let edge_look = Look {
        smooth: false,
        ..look
    };
    for (i, b) in bands.iter().enumerate() {
        let (style, marker) = t.series(first_colour + i);
        // the seed count named apart from a parameter `n` in the label (SP's `n=8`)
        let params = b
            .label
            .split_whitespace()
            .filter_map(|p| p.split_once('=').map(|kv| kv.0));
        let count = crate::stats::format::count_name(params);
        let label = format!("{} ({count}={})", b.label, b.n);
        lines.push((label, line(&b.mean, look, x, cols), style, marker));
        edges.push((
            line(&b.lo, edge_look, x, cols),
            line(&b.hi, edge_look, x, cols),
            style,
        ));
    }
    let all = lines
        .iter()
        .map(|l| &l.1)
        .chain(edges.iter().flat_map(|e| [&e.0, &e.1]));
    let y = y_bounds(all)?;
    let rows = area.height.saturating_sub(2) as usize * t.marker.rows_per_cell();
    // one band filled; several each drawn as its dotted edges, as filled ones would cover
    // each other in one solid block of the last one's colour
    let outline = bands.len() > 1;
    let fills = edges
        .iter()
        .filter(|_| fill)
        .map(|(lo, hi, style)| {
            let dots = if outline {
                dotted(lo).chain(dotted(hi)).collect()
            } else {
                fill_between(lo, hi, x, y, cols, rows)
            };
            (dots, style.add_modifier(Modifier::DIM))
        })
        .collect();
    Some(Plot {
        lines,
        fills,
        marks: Vec::new(),
        x,
        y,
        look,
        x_label: "step".into(),
        x_steps: true,
    })
}

/// Draws [`band_plot`]; false (nothing drawn) when there is nothing to draw.
pub fn draw_bands(
    f: &mut Frame,
    t: Theme,
    bands: &[Band],
    look: Look,
    area: Rect,
    legend: bool,
    fill: bool,
) -> bool {
    match band_plot(t, bands, look, area, 0, fill) {
        Some(p) => {
            draw_plot(f, t, &p, area, legend);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fill_covers_each_column_from_its_low_to_its_high() {
        let lo = plot::Line {
            points: vec![(0.0, 0.0), (2.0, 0.5), (2.0, 0.25)],
            dropped: 0,
        };
        let hi = plot::Line {
            points: vec![(0.0, 1.0), (2.0, 0.75)],
            dropped: 0,
        };
        let dots = fill_between(&lo, &hi, (0.0, 2.0), (0.0, 1.0), 2, 4);
        let at = |x: f64| -> Vec<f64> { dots.iter().filter(|d| d.0 == x).map(|d| d.1).collect() };
        assert_eq!(at(0.0), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        // between the points: the edges interpolated (low 0.125, high 0.875)
        assert_eq!(at(1.0), vec![0.125, 0.375, 0.625, 0.875]);
        // the last column's lowest low (0.25) up to its high
        assert_eq!(at(2.0), vec![0.25, 0.5, 0.75]);
        assert!(fill_between(&lo, &hi, (0.0, 2.0), (0.0, 0.0), 2, 4).is_empty());
    }
}
