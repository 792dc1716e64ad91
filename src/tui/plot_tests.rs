//! The chart's lines: thinning, log scales, smoothing, legends and sparklines.

use super::*;

fn series(vals: &[(u64, f64)]) -> Series {
    let mut s = Series::default();
    for &(x, v) in vals {
        s.push(x, v);
    }
    s
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
            log_x: false,
        },
        (0.0, 3.0),
        10,
    );
    assert_eq!(l.points, vec![(0.0, 2.0), (2.0, -2.0)]);
    assert_eq!(l.dropped, 2);
    assert_eq!(y_labels((-2.0, 2.0), true), ["0.01", "1", "100"]);
}

#[test]
fn log_x_puts_steps_at_their_logarithm_and_step_0_at_1() {
    let s = series(&[(0, 1.0), (10, 2.0), (100, 3.0), (1000, 4.0)]);
    let look = Look {
        log_x: true,
        ..Look::default()
    };
    let x = chart_x_range((0.0, 1000.0), true);
    assert_eq!(x, (0.0, 3.0));
    let l = line(&s, look, x, 100);
    assert_eq!(
        l.points,
        vec![(0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 4.0)]
    );
    assert_eq!(x_labels((0.0, 3.0), true), ["1", "32", "1000"]);
    // log-log: both axes at their logarithm
    let both = Look {
        log_y: true,
        ..look
    };
    let l = line(&s, both, x, 100);
    assert!((l.points[3].1 - 4f64.log10()).abs() < 1e-12);
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
            log_x: false,
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
    assert_eq!(x_labels((0.0, 50_000.0), false), ["0", "25k", "50k"]);
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

#[test]
fn sparklines_take_the_last_drawable_point_of_each_cell() {
    // what a sparkline shows, written the plain way: every point, the last wins
    fn plain(series: &Series, width: usize, log_y: bool) -> Vec<Option<f64>> {
        let n = series.len();
        let cells = width.min(n);
        let mut vals = vec![None; cells];
        for (i, p) in series.points().enumerate() {
            let ok = p.value.is_finite() && !(log_y && p.value <= 0.0);
            if ok {
                vals[i * cells / n] = Some(if log_y { p.value.log10() } else { p.value });
            }
        }
        vals
    }
    let mut seed = 7u64;
    for n in [1usize, 2, 3, 7, 10, 33, 100, 1000, 5000] {
        let pts: Vec<(u64, f64)> = (0..n as u64)
            .map(|i| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let v = match seed >> 60 {
                    0 => f64::NAN,
                    1 => -1.0,
                    2 => 0.0,
                    _ => (seed >> 11) as f64 / (1u64 << 53) as f64,
                };
                (i, v)
            })
            .collect();
        let s = series(&pts);
        for width in [1usize, 2, 5, 8, 13, 24, 80] {
            for log_y in [false, true] {
                let want = plain(&s, width, log_y);
                let (lo, hi) = want
                    .iter()
                    .flatten()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                        (l.min(v), h.max(v))
                    });
                let shown: String = want
                    .iter()
                    .map(|v| match v {
                        None => ' ',
                        Some(v) if hi > lo => {
                            BARS[(((v - lo) / (hi - lo) * 7.0).round() as usize).min(7)]
                        }
                        Some(_) => BARS[3],
                    })
                    .collect();
                assert_eq!(sparkline(&s, width, log_y), shown, "n {n} width {width}");
            }
        }
    }
}
