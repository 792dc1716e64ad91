//! Charts. From a metric's bounded series to what a chart can draw: optional smoothing and
//! log scale, then thinning to the chart's horizontal resolution (each column keeps its min
//! and max, so spikes survive); the cost depends on the series' stored points (bounded),
//! never on steps. Then drawing: one or more lines on shared axes with a legend where it
//! hides the least, and an experiment's own curves.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, LegendPosition, Paragraph};
use ratatui::Frame;

use crate::engine::Series;

use super::fmt;
use super::legend::{legend_above, named_x_labels, LINE_GLYPH, MARK_GLYPH};
use super::theme::Theme;
use super::widgets::rpad;

/// How a metric is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Look {
    pub log_y: bool,
    pub smooth: bool,
    /// The x axis on a log scale (log-log with `log_y`): steps below 1 sit at 1.
    pub log_x: bool,
}

impl Look {
    /// "log smoothed" after a chart's title, as the look is.
    pub fn flags(self, t: Theme) -> Vec<Span<'static>> {
        let mut v = Vec::new();
        match (self.log_x, self.log_y) {
            (true, true) => v.push(Span::styled("log-log ", t.edited())),
            (true, false) => v.push(Span::styled("log-x ", t.edited())),
            (false, true) => v.push(Span::styled("log ", t.edited())),
            (false, false) => {}
        }
        if self.smooth {
            v.push(Span::styled("smoothed ", t.edited()));
        }
        v
    }
}

/// Points ready to draw, in chart coordinates (y already log10 when `log_y`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Line {
    pub points: Vec<(f64, f64)>,
    /// True if log scale was asked for but some values could not be shown (<= 0).
    pub dropped: usize,
}

/// Values (value, min, max) of the series with smoothing applied.
fn values(series: &Series, smooth: bool) -> Vec<(f64, f64, f64, f64)> {
    let n = series.len();
    if !smooth || n < 3 {
        return series
            .points()
            .map(|p| (p.step as f64, p.value, p.min, p.max))
            .collect();
    }
    // an exponential moving average over ~2% of the points, debiased at the start
    let window = (n / 50).max(2) as f64;
    let w = 1.0 - 2.0 / (window + 1.0);
    let mut acc = 0.0;
    let mut weight = 0.0;
    let mut out = Vec::with_capacity(n);
    for p in series.points() {
        if p.value.is_finite() {
            acc = acc * w + (1.0 - w) * p.value;
            weight = weight * w + (1.0 - w);
        }
        let v = if weight > 0.0 { acc / weight } else { f64::NAN };
        out.push((p.step as f64, v, v, v));
    }
    out
}

/// Where `x` sits on the chart's x axis: `log10(x)` on a log scale (a step below 1, such as
/// step 0, at 1), else `x`.
pub fn chart_x(x: f64, log_x: bool) -> f64 {
    if log_x {
        x.max(1.0).log10()
    } else {
        x
    }
}

/// A range of steps as the chart's x axis holds it ([`chart_x`]), never empty.
pub fn chart_x_range((lo, hi): (f64, f64), log_x: bool) -> (f64, f64) {
    let (a, b) = (chart_x(lo, log_x), chart_x(hi, log_x));
    if b > a {
        (a, b)
    } else {
        (a, a + if log_x { 0.1 } else { 1.0 })
    }
}

/// The series as drawable points over `x_range` (in chart coordinates: log10 of the steps
/// with `look.log_x`), thinned to `columns` buckets.
pub fn line(series: &Series, look: Look, x_range: (f64, f64), columns: usize) -> Line {
    let columns = columns.max(1);
    let (x0, x1) = x_range;
    let span = (x1 - x0).max(f64::MIN_POSITIVE);
    let mut dropped = 0;
    let tf = |v: f64| -> Option<f64> {
        if !v.is_finite() {
            None
        } else if look.log_y {
            (v > 0.0).then(|| v.log10())
        } else {
            Some(v)
        }
    };
    // per bucket: x of the last point, (first-seen order) min and max
    struct Bucket {
        x: f64,
        lo: (f64, usize),
        hi: (f64, usize),
    }
    let mut buckets: Vec<Option<Bucket>> = Vec::new();
    buckets.resize_with(columns, || None);
    let mut used: Vec<usize> = Vec::new();
    for (k, (x, v, lo, hi)) in values(series, look.smooth).into_iter().enumerate() {
        let x = chart_x(x, look.log_x);
        if x < x0 || x > x1 {
            continue;
        }
        let Some(v) = tf(v) else {
            dropped += 1;
            continue;
        };
        let lo = tf(lo).unwrap_or(v).min(v);
        let hi = tf(hi).unwrap_or(v).max(v);
        let b = (((x - x0) / span) * columns as f64) as usize;
        let b = b.min(columns - 1);
        match &mut buckets[b] {
            Some(bk) => {
                bk.x = x;
                if lo < bk.lo.0 {
                    bk.lo = (lo, k);
                }
                if hi > bk.hi.0 {
                    bk.hi = (hi, k);
                }
            }
            slot @ None => {
                *slot = Some(Bucket {
                    x,
                    lo: (lo, k),
                    hi: (hi, k),
                });
                used.push(b);
            }
        }
    }
    let mut points = Vec::with_capacity(used.len() * 2);
    for b in used {
        let Some(bk) = &buckets[b] else { continue };
        if bk.lo.0 == bk.hi.0 {
            points.push((bk.x, bk.lo.0));
        } else if bk.lo.1 <= bk.hi.1 {
            points.push((bk.x, bk.lo.0));
            points.push((bk.x, bk.hi.0));
        } else {
            points.push((bk.x, bk.hi.0));
            points.push((bk.x, bk.lo.0));
        }
    }
    Line { points, dropped }
}

/// The steps a set of series spans.
pub fn x_range<'a>(series: impl IntoIterator<Item = &'a Series>) -> Option<(f64, f64)> {
    let mut r: Option<(f64, f64)> = None;
    for s in series {
        let (Some(first), Some(last)) = (s.points().next(), s.last()) else {
            continue;
        };
        let (a, b) = (first.step as f64, last.step as f64);
        r = Some(match r {
            Some((lo, hi)) => (lo.min(a), hi.max(b)),
            None => (a, b),
        });
    }
    r.map(|(a, b)| if b > a { (a, b) } else { (a - 0.5, a + 0.5) })
}

/// Y bounds over lines, widened to round numbers so the axis labels read well.
pub fn y_bounds<'a>(lines: impl IntoIterator<Item = &'a Line>) -> Option<(f64, f64)> {
    let mut r: Option<(f64, f64)> = None;
    for l in lines {
        for &(_, y) in &l.points {
            r = Some(match r {
                Some((lo, hi)) => (lo.min(y), hi.max(y)),
                None => (y, y),
            });
        }
    }
    let (lo, hi) = r?;
    if hi > lo {
        Some(nice(lo, hi))
    } else {
        let pad = if lo == 0.0 { 0.5 } else { lo.abs() * 0.05 };
        Some(nice(lo - pad, hi + pad))
    }
}

/// `[lo, hi]` widened to multiples of half a power of ten, with a round middle too.
pub fn nice(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    if span.is_nan() || span <= 0.0 || !span.is_finite() {
        return (lo, hi);
    }
    let unit = 10f64.powf(span.log10().floor()) / 2.0;
    let mut a = (lo / unit).floor() * unit;
    let mut b = (hi / unit).ceil() * unit;
    if ((b - a) / unit).round() as i64 % 2 == 1 {
        if a == 0.0 && lo >= 0.0 {
            b += unit;
        } else {
            a -= unit;
        }
    }
    (a, b)
}

/// Three labels for an axis (low, middle, high), in data units.
pub fn y_labels(bounds: (f64, f64), log_y: bool) -> [String; 3] {
    let (lo, hi) = bounds;
    let f = |v: f64| {
        if log_y {
            fmt::value(10f64.powf(v))
        } else {
            fmt::value(v)
        }
    };
    [f(lo), f((lo + hi) / 2.0), f(hi)]
}

pub fn x_labels(bounds: (f64, f64), log_x: bool) -> [String; 3] {
    let (lo, hi) = bounds;
    let f = |v: f64| {
        let v = if log_x { 10f64.powf(v) } else { v };
        fmt::count(v.max(0.0).round() as u64)
    };
    [f(lo), f((lo + hi) / 2.0), f(hi)]
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A one-line trend of the series in `width` cells (the last value of each slice of points).
pub fn sparkline(series: &Series, width: usize, log_y: bool) -> String {
    let n = series.len();
    if n == 0 || width == 0 {
        return String::new();
    }
    let tf = |v: f64| {
        if !v.is_finite() || (log_y && v <= 0.0) {
            None
        } else if log_y {
            Some(v.log10())
        } else {
            Some(v)
        }
    };
    let cells = width.min(n);
    // each cell shows the last drawable point of its share of the series (points i with
    // i * cells / n == c): found from the cell's end backwards, so a frame does not walk
    // every stored point of every run
    let vals: Vec<Option<f64>> = (0..cells)
        .map(|c| {
            let start = (c * n).div_ceil(cells);
            let end = ((c + 1) * n).div_ceil(cells);
            (start..end)
                .rev()
                .find_map(|i| series.get(i).and_then(|p| tf(p.value)))
        })
        .collect();
    let (lo, hi) = vals
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    vals.iter()
        .map(|v| match v {
            None => ' ',
            Some(v) if hi > lo => {
                let k = ((v - lo) / (hi - lo) * 7.0).round() as usize;
                BARS[k.min(7)]
            }
            Some(_) => BARS[3],
        })
        .collect()
}

/// Named points drawn apart: the name, the points, their style and marker.
pub type Marks = (String, Vec<(f64, f64)>, Style, ratatui::symbols::Marker);

/// Everything one chart needs: prepared lines with their names and styles.
pub struct Plot {
    pub lines: Vec<(String, Line, Style, ratatui::symbols::Marker)>,
    /// Filled areas (a group's band) drawn under the lines: dots and their style.
    pub fills: Vec<(Vec<(f64, f64)>, Style)>,
    /// Points drawn apart with a name (a sweep's censored groups): not joined by a line.
    pub marks: Vec<Marks>,
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub look: Look,
    pub x_label: String,
    /// The x axis counts steps (labels `12.5k`); else it holds values (labels `0.001`).
    pub x_steps: bool,
}

pub fn plot_series(
    t: Theme,
    series: &[(String, &Series)],
    look: Look,
    width: u16,
    first_colour: usize,
) -> Option<Plot> {
    let x = chart_x_range(x_range(series.iter().map(|(_, s)| *s))?, look.log_x);
    let cols = (width as usize).max(1) * t.marker.dots_per_cell();
    let lines: Vec<_> = series
        .iter()
        .enumerate()
        .map(|(i, (name, s))| {
            let (style, marker) = t.series(first_colour + i);
            (name.clone(), line(s, look, x, cols), style, marker)
        })
        .collect();
    let y = y_bounds(lines.iter().map(|l| &l.1))?;
    Some(Plot {
        lines,
        fills: Vec::new(),
        marks: Vec::new(),
        x,
        y,
        look,
        x_label: "step".into(),
        x_steps: true,
    })
}

/// Draws a plot; with `legend`, the names of its lines above it where they fit in a few
/// rows (a legend inside would cover lines), else in its emptiest corner.
pub fn draw_plot(f: &mut Frame, t: Theme, plot: &Plot, area: Rect, legend: bool) {
    let mut area = area;
    let mut legend = legend;
    if legend {
        let items = (plot.lines.iter().map(|l| (&l.0, &l.2, LINE_GLYPH)))
            .chain(plot.marks.iter().map(|m| (&m.0, &m.2, MARK_GLYPH)));
        if let Some(rest) = legend_above(f, items, area) {
            area = rest;
            legend = false;
        }
    }
    let fills = plot.fills.iter().map(|(dots, style)| {
        Dataset::default()
            .marker(t.series(0).1)
            .graph_type(GraphType::Scatter)
            .style(*style)
            .data(dots)
    });
    let datasets: Vec<Dataset> = fills
        .chain(plot.lines.iter().map(|(name, line, style, marker)| {
            let d = Dataset::default()
                .marker(*marker)
                .graph_type(GraphType::Line)
                .style(*style)
                .data(&line.points);
            if legend && !name.is_empty() {
                d.name(name.clone())
            } else {
                d
            }
        }))
        .chain(plot.marks.iter().map(|(name, dots, style, marker)| {
            let d = Dataset::default()
                .marker(*marker)
                .graph_type(GraphType::Scatter)
                .style(*style)
                .data(dots);
            if legend {
                d.name(name.clone())
            } else {
                d
            }
        }))
        .collect();
    let xl = named_x_labels(plot);
    let yl = y_labels(plot.y, plot.look.log_y);
    let ylab_w = yl.iter().map(|s| s.chars().count()).max().unwrap_or(1);
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([plot.x.0, plot.x.1])
                .labels(xl.to_vec())
                .style(t.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([plot.y.0, plot.y.1])
                .labels(yl.iter().map(|s| rpad(s, ylab_w)).collect::<Vec<_>>())
                .style(t.dim()),
        )
        .legend_position(legend.then(|| emptiest_corner(plot)))
        .hidden_legend_constraints((Constraint::Percentage(60), Constraint::Percentage(60)));
    f.render_widget(chart, area);
}

/// The corner of the plot with the fewest points, where a legend hides the least.
fn emptiest_corner(plot: &Plot) -> LegendPosition {
    corner_of(
        plot.lines.iter().flat_map(|l| l.1.points.iter().copied()),
        plot.x,
        plot.y,
    )
}

/// The corner of `[x0, x1] x [y0, y1]` holding the fewest of `points`.
fn corner_of(
    points: impl Iterator<Item = (f64, f64)>,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> LegendPosition {
    let w = (x1 - x0).max(f64::MIN_POSITIVE);
    let h = (y1 - y0).max(f64::MIN_POSITIVE);
    let mut counts = [0usize; 4]; // top-left, top-right, bottom-left, bottom-right
    for (x, y) in points {
        let (fx, fy) = ((x - x0) / w, (y - y0) / h);
        let left = fx < 0.35;
        let right = fx > 0.65;
        let top = fy > 0.6;
        let bottom = fy < 0.4;
        counts[0] += usize::from(left && top);
        counts[1] += usize::from(right && top);
        counts[2] += usize::from(left && bottom);
        counts[3] += usize::from(right && bottom);
    }
    let best = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    [
        LegendPosition::TopLeft,
        LegendPosition::TopRight,
        LegendPosition::BottomLeft,
        LegendPosition::BottomRight,
    ][best]
}

/// The x range and a nice y range of some points; `None` without any.
fn curve_bounds(points: impl Iterator<Item = (f64, f64)>) -> Option<((f64, f64), (f64, f64))> {
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        return None;
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let y = if y1 > y0 {
        nice(y0, y1)
    } else {
        nice(y0 - 0.5, y1 + 0.5)
    };
    Some(((x0, x1), y))
}

/// Draws an experiment's own curves (a figure), each series with its name.
pub fn render_curves(
    f: &mut Frame,
    t: Theme,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
    area: Rect,
) {
    let finite: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|(_, pts)| {
            pts.iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect()
        })
        .collect();
    let Some(((x0, x1), (y0, y1))) = curve_bounds(finite.iter().flatten().copied()) else {
        f.render_widget(
            Paragraph::new(Span::styled("this figure has no finite points", t.dim())),
            area,
        );
        return;
    };
    // the names above the plot, where they hide no line
    let styles: Vec<Style> = (0..series.len()).map(|i| t.series(i).0).collect();
    let items = series
        .iter()
        .zip(&styles)
        .map(|(s, style)| (&s.0, style, LINE_GLYPH));
    let (area, named) = match legend_above(f, items, area) {
        Some(rest) => (rest, false),
        None => (area, true),
    };
    let datasets: Vec<Dataset> = series
        .iter()
        .zip(&finite)
        .enumerate()
        .map(|(i, ((name, _), pts))| {
            let (style, marker) = t.series(i);
            let d = Dataset::default();
            let d = if named { d.name(name.clone()) } else { d };
            d.marker(marker)
                .graph_type(GraphType::Line)
                .style(style)
                .data(pts)
        })
        .collect();
    // the axes' names outside the plot: the y axis' in a row above it, the x axis' in its
    // last label (axis titles would be drawn over the lines)
    let [x_a, y_a, x_b] = [x0, (x0 + x1) / 2.0, x1].map(fmt::value);
    let x_b = if x_label.is_empty() {
        x_b
    } else {
        format!("{x_label}={x_b}")
    };
    let xl = [x_a, y_a, x_b];
    let yl = [y0, (y0 + y1) / 2.0, y1].map(fmt::value);
    let area = if y_label.is_empty() || area.height < 6 {
        area
    } else {
        let [top, rest] =
            ratatui::layout::Layout::vertical([Constraint::Length(1), Constraint::Min(0)])
                .areas(area);
        f.render_widget(
            Paragraph::new(Span::styled(
                fmt::clip(&format!("↑ {y_label}"), top.width as usize),
                t.dim(),
            )),
            top,
        );
        rest
    };
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([x0, x1])
                .labels(xl.to_vec())
                .style(t.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([y0, y1])
                .labels(yl.to_vec())
                .style(t.dim()),
        )
        .legend_position(
            named.then(|| corner_of(finite.iter().flatten().copied(), (x0, x1), (y0, y1))),
        )
        .hidden_legend_constraints((Constraint::Percentage(60), Constraint::Percentage(60)));
    f.render_widget(chart, area);
}

#[cfg(test)]
#[path = "plot_tests.rs"]
mod tests;
