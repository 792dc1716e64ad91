//! From a metric's bounded series to what a chart can draw: optional smoothing and log scale,
//! then thinning to the chart's horizontal resolution (each column keeps its min and max, so
//! spikes survive). The cost depends on the series' stored points (bounded), never on steps.

use crate::engine::Series;

use super::fmt;

/// How a metric is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Look {
    pub log_y: bool,
    pub smooth: bool,
}

/// Log scale by default for metrics that span decades: SNRs and variances.
pub fn log_by_default(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    (n.contains("snr") || n.contains("var")) && !n.starts_with("log")
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

/// The series as drawable points over `x_range`, thinned to `columns` buckets.
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

pub fn x_labels(bounds: (f64, f64)) -> [String; 3] {
    let (lo, hi) = bounds;
    let f = |v: f64| fmt::count(v.max(0.0).round() as u64);
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
    let mut vals: Vec<Option<f64>> = vec![None; cells];
    for (i, p) in series.points().enumerate() {
        let c = i * cells / n;
        if let Some(v) = tf(p.value) {
            vals[c] = Some(v);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn series(vals: &[(u64, f64)]) -> Series {
        let mut s = Series::default();
        for &(x, v) in vals {
            s.push(x, v);
        }
        s
    }

    #[test]
    fn log_scale_for_snr_and_variances_only() {
        assert!(log_by_default("grad_snr"));
        assert!(log_by_default("grad_var_targets"));
        assert!(log_by_default("SNR_end_to_end"));
        assert!(!log_by_default("log2_var"), "already a logarithm");
        assert!(!log_by_default("test_accuracy"));
    }

    #[test]
    fn thinning_keeps_extremes_and_bounds_the_point_count() {
        let vals: Vec<(u64, f64)> = (0..4000)
            .map(|i| (i, if i == 1234 { 50.0 } else { (i % 10) as f64 }))
            .collect();
        let s = series(&vals);
        let l = line(&s, Look::default(), (0.0, 3999.0), 100);
        assert!(l.points.len() <= 200, "{}", l.points.len());
        let max = l.points.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        assert_eq!(max, 50.0, "the spike survives");
        assert!(l.points.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn log_scale_drops_what_it_cannot_show() {
        let s = series(&[(0, 100.0), (1, 0.0), (2, 0.01), (3, f64::NAN)]);
        let l = line(
            &s,
            Look {
                log_y: true,
                smooth: false,
            },
            (0.0, 3.0),
            10,
        );
        assert_eq!(l.points, vec![(0.0, 2.0), (2.0, -2.0)]);
        assert_eq!(l.dropped, 2);
        assert_eq!(y_labels((-2.0, 2.0), true), ["0.01", "1", "100"]);
    }

    #[test]
    fn smoothing_calms_noise_but_follows_the_level() {
        let vals: Vec<(u64, f64)> = (0..1000)
            .map(|i| (i, if i % 2 == 0 { 1.0 } else { 0.0 }))
            .collect();
        let s = series(&vals);
        let l = line(
            &s,
            Look {
                log_y: false,
                smooth: true,
            },
            (0.0, 999.0),
            1000,
        );
        let tail: Vec<f64> = l.points.iter().skip(100).map(|p| p.1).collect();
        assert!(
            tail.iter().all(|v| (v - 0.5).abs() < 0.1),
            "{:?}",
            &tail[..5]
        );
    }

    #[test]
    fn bounds_and_labels() {
        let a = series(&[(0, 1.0), (10, 2.0)]);
        let b = series(&[(5, 3.0)]);
        assert_eq!(x_range([&a, &b]), Some((0.0, 10.0)));
        assert_eq!(x_range([&b]), Some((4.5, 5.5)));
        assert_eq!(x_range(std::iter::empty()), None);
        let la = line(&a, Look::default(), (0.0, 10.0), 10);
        assert_eq!(y_bounds([&la]), Some((1.0, 2.0)));
        let acc = Line {
            points: vec![(0.0, 0.35), (1.0, 1.0)],
            dropped: 0,
        };
        let (lo, hi) = y_bounds([&acc]).unwrap();
        assert!(
            (lo - 0.3).abs() < 1e-9 && (hi - 1.0).abs() < 1e-9,
            "{lo} {hi}"
        );
        assert_eq!(y_labels((lo, hi), false), ["0.3", "0.65", "1"]);
        let flat = Line {
            points: vec![(0.0, 0.0)],
            dropped: 0,
        };
        assert_eq!(y_bounds([&flat]), Some((-0.5, 0.5)));
        assert_eq!(x_labels((0.0, 50_000.0)), ["0", "25k", "50k"]);
    }

    #[test]
    fn sparklines_fit_their_width() {
        let s = series(&(0..100).map(|i| (i, i as f64)).collect::<Vec<_>>());
        let sp = sparkline(&s, 10, false);
        assert_eq!(sp.chars().count(), 10);
        assert!(sp.starts_with('▁') && sp.ends_with('█'));
        assert_eq!(sparkline(&series(&[(0, 1.0)]), 10, false), "▄");
        assert_eq!(sparkline(&Series::default(), 10, false), "");
    }
}
