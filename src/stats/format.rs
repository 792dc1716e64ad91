//! Numbers for a person to read: three significant digits at most, a spread with two, and a
//! mean rounded to the same decimal place as its spread (`470 ± 590`, `0.64 ± 0.10`), so that
//! no digit is shown that the data cannot support. Files for machines (CSV, JSON) keep every
//! digit; these are for tables, charts and the lab.

use super::{Stats, Survival};

/// Below this or from [`SCI_HIGH`] on, numbers are written with an exponent.
const SCI_LOW: f64 = 1e-3;
const SCI_HIGH: f64 = 1e6;

fn non_finite(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "inf" } else { "-inf" }.into())
    } else if v == 0.0 {
        Some("0".into())
    } else {
        None
    }
}

/// The power of ten of `v`'s leading digit.
fn magnitude(v: f64) -> i32 {
    v.abs().log10().floor() as i32
}

/// `v` rounded to a multiple of `10^place`, with as many decimals as that needs.
fn at_place(v: f64, place: i32) -> String {
    if !v.is_finite() {
        return value(v);
    }
    if place >= 0 {
        let unit = 10f64.powi(place);
        format!("{:.0}", (v / unit).round() * unit)
    } else {
        format!("{v:.*}", (-place) as usize)
    }
}

/// `v` with `digits` significant digits: plain between 0.001 and a million (trailing zeros
/// after the point dropped), with an exponent outside (`9.61e-4`, `1.2e6`).
pub fn sig(v: f64, digits: u32) -> String {
    if let Some(s) = non_finite(v) {
        return s;
    }
    let digits = digits.max(1) as i32;
    if v.abs() < SCI_LOW || v.abs() >= SCI_HIGH {
        let s = format!("{v:.*e}", (digits - 1) as usize);
        // 1.20e6 -> 1.2e6
        return match s.split_once('e') {
            Some((m, e)) if m.contains('.') => {
                format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
            }
            _ => s,
        };
    }
    // rounding may carry into a new digit (999.7 -> 1000): take the place from the result
    let place = magnitude(v) - (digits - 1);
    let rounded: f64 = at_place(v, place).parse().unwrap_or(v);
    let s = at_place(rounded, magnitude(rounded) - (digits - 1));
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A single value: three significant digits.
pub fn value(v: f64) -> String {
    sig(v, 3)
}

/// The decimal place (power of ten) of the last digit shown of a mean and its spread: the
/// spread's second significant digit, or the mean's third if that is coarser.
fn spread_place(mean: f64, sd: f64) -> i32 {
    // the spread as written (0.0999 is 0.10): its second digit's place
    let sd = sig(sd, 2).parse().unwrap_or(sd);
    let p_sd = magnitude(sd) - 1;
    let p_mean = if mean == 0.0 {
        p_sd
    } else {
        magnitude(mean) - 2
    };
    p_sd.max(p_mean)
}

/// `mean ± spread`: the spread with two significant digits, the mean rounded to the same
/// decimal place and never to more than three significant digits. A spread too small to
/// show at the mean's last digit is written on its own (`0.123 ± 1.2e-5`).
pub fn mean_sd(mean: f64, sd: f64) -> String {
    if !mean.is_finite() || !sd.is_finite() || sd <= 0.0 {
        return value(mean);
    }
    let place = spread_place(mean, sd);
    let big = mean.abs().max(sd);
    if !(SCI_LOW..SCI_HIGH).contains(&big) {
        let digits = if mean == 0.0 {
            1
        } else {
            (magnitude(mean) - place + 1).max(1) as u32
        };
        return format!("{} ± {}", sig(mean, digits), sig(sd, 2));
    }
    let sd_text = at_place(sd, place);
    let sd_text = if sd_text.parse::<f64>().is_ok_and(|v| v == 0.0) {
        sig(sd, 2)
    } else {
        sd_text
    };
    format!("{} ± {sd_text}", at_place(mean, place))
}

/// `lo..hi`, or the one value when they are equal.
pub fn range(lo: f64, hi: f64) -> String {
    if lo == hi {
        value(lo)
    } else {
        format!("{}..{}", value(lo), value(hi))
    }
}

/// A 95% interval at the decimal place of the mean it belongs to, `95% CI 0.55..0.73`,
/// within `bounds` (an accuracy's interval stops at 1).
pub fn interval(s: &Stats, bounds: (Option<f64>, Option<f64>)) -> Option<String> {
    let (lo, hi) = super::band::clip(s.ci95()?, bounds);
    let big = s.mean.abs().max(s.sd);
    if s.sd <= 0.0 || !(SCI_LOW..SCI_HIGH).contains(&big) {
        return Some(format!("95% CI {}", range(lo, hi)));
    }
    let place = spread_place(s.mean, s.sd);
    Some(format!(
        "95% CI {}..{}",
        at_place(lo, place),
        at_place(hi, place)
    ))
}

/// A result over a group: `0.64 ± 0.10 (0.51..0.78)`, one value alone; `; 95% CI ...` when
/// `ci` gives the metric's bounds; a spread larger than the mean is said (`sd > mean`: the
/// mean describes these values badly).
pub fn stats_cell(s: &Stats, ci: Option<(Option<f64>, Option<f64>)>) -> String {
    if s.n == 1 {
        return value(s.mean);
    }
    // the range at the mean's decimal place (where the spread allows one)
    let big = s.mean.abs().max(s.sd);
    let plain = s.sd > 0.0 && (SCI_LOW..SCI_HIGH).contains(&big);
    let mut notes = vec![if plain && s.min != s.max {
        let place = spread_place(s.mean, s.sd);
        format!("{}..{}", at_place(s.min, place), at_place(s.max, place))
    } else {
        range(s.min, s.max)
    }];
    if s.sd > s.mean.abs() && s.sd > 0.0 {
        notes.push("sd > mean".into());
    }
    if let Some(bounds) = ci {
        notes.extend(interval(s, bounds));
    }
    format!("{} ({})", mean_sd(s.mean, s.sd), notes.join("; "))
}

/// A time to a threshold over a group: `4/4 · median 210 (50..1150)`, `2/4 · median > 1500`.
pub fn survival_cell(s: &Survival) -> String {
    let head = format!("{}/{}", s.hits(), s.n);
    match s.median() {
        _ if s.n == 0 => head,
        Some(m) if s.hits() > 1 => format!(
            "{head} · median {} ({})",
            value(m),
            range(s.reached[0], s.reached[s.hits() - 1])
        ),
        Some(m) => format!("{head} · median {}", value(m)),
        None => format!("{head} · median > {}", value(s.horizon())),
    }
}

/// How many runs a group holds: `n=3`, or `n=1 seed, 3 runs` when seeds repeat.
pub fn count_cell(seeds: usize, runs: usize) -> String {
    count_cell_as(COUNT, seeds, runs)
}

/// The usual name of the count of distinct seeds in tables and cells.
pub const COUNT: &str = "n";

/// The name of the count of distinct seeds beside parameters `names`: `n`, or `n_seeds`
/// where a parameter is itself named `n` (SP's and E6's input size), so that a table never
/// heads two columns `n`.
pub fn count_name<'a>(names: impl IntoIterator<Item = &'a str>) -> &'static str {
    if names.into_iter().any(|n| n == COUNT) {
        "n_seeds"
    } else {
        COUNT
    }
}

/// [`count_cell`] with the count named `name` (see [`count_name`]): `n_seeds=3`.
pub fn count_cell_as(name: &str, seeds: usize, runs: usize) -> String {
    if runs > seeds {
        let s = if seeds == 1 { "seed" } else { "seeds" };
        format!("{name}={seeds} {s}, {runs} runs")
    } else {
        format!("{name}={seeds}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::survival::Observation::{Censored, Reached};
    use super::*;

    #[test]
    fn three_significant_digits_and_no_more() {
        assert_eq!(value(0.943_12), "0.943");
        assert_eq!(value(594.306_3), "594");
        assert_eq!(value(0.100_5), "0.101");
        assert_eq!(value(0.5), "0.5");
        assert_eq!(value(12_345.0), "12300");
        assert_eq!(value(999.7), "1000");
        assert_eq!(value(9.612e-4), "9.61e-4");
        assert_eq!(value(1_250_000.0), "1.25e6");
        assert_eq!(value(1.2e6), "1.2e6");
        assert_eq!(value(-0.004_567_8), "-0.00457");
        assert_eq!(value(0.0), "0");
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(value(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn the_spread_sets_the_decimal_place() {
        assert_eq!(mean_sd(470.0, 594.306_3), "470 ± 590");
        assert_eq!(mean_sd(0.643_7, 0.100_5), "0.64 ± 0.10");
        assert_eq!(mean_sd(0.994, 0.004_6), "0.994 ± 0.005");
        assert_eq!(mean_sd(0.5, 0.0), "0.5");
        assert_eq!(mean_sd(12_345.0, 20.0), "12300 ± 20");
        assert_eq!(mean_sd(0.123_456, 0.000_012), "0.123 ± 1.2e-5");
        assert_eq!(mean_sd(9.61e-4, 3.04e-5), "9.61e-4 ± 3e-5");
        assert_eq!(mean_sd(-0.33, 0.072), "-0.330 ± 0.072");
        assert_eq!(mean_sd(0.0, 0.25), "0.00 ± 0.25");
    }

    #[test]
    fn cells_say_what_they_are_over() {
        let s = Stats::of([50.0, 210.0, 1150.0]).unwrap();
        assert_eq!(stats_cell(&s, None), "470 ± 590 (50..1150; sd > mean)");
        let d10 = Stats::of([0.5, 0.75, 0.62, 0.7]).unwrap();
        assert_eq!(stats_cell(&d10, None), "0.64 ± 0.11 (0.50..0.75)");
        // a spread that rounds up to the next power of ten keeps two digits
        assert_eq!(mean_sd(0.6405, 0.0999), "0.64 ± 0.10");
        let one = Stats::of([0.75]).unwrap();
        let free = (None, None);
        assert_eq!(stats_cell(&one, Some(free)), "0.75");
        let acc = Stats::of([0.5, 0.6, 0.7]).unwrap();
        assert_eq!(
            stats_cell(&acc, Some(free)),
            "0.60 ± 0.10 (0.50..0.70; 95% CI 0.35..0.85)"
        );
        // an accuracy's interval stops at 1
        let high = Stats::of([0.6, 1.0, 1.0, 1.0]).unwrap();
        assert_eq!(
            stats_cell(&high, Some((Some(0.0), Some(1.0)))),
            "0.90 ± 0.20 (0.60..1.00; 95% CI 0.58..1.00)"
        );
        let half = Survival::of([
            Reached(50.0),
            Reached(1150.0),
            Censored(1500.0),
            Censored(1500.0),
        ]);
        assert_eq!(survival_cell(&half), "2/4 · median 1150 (50..1150)");
        let few = Survival::of([Reached(50.0), Censored(1500.0), Censored(1500.0)]);
        assert_eq!(survival_cell(&few), "1/3 · median > 1500");
        let all = Survival::of([
            Reached(50.0),
            Reached(210.0),
            Reached(1150.0),
            Reached(300.0),
        ]);
        assert_eq!(survival_cell(&all), "4/4 · median 210 (50..1150)");
        let none = Survival::of([Censored(1500.0), Censored(1500.0)]);
        assert_eq!(survival_cell(&none), "0/2 · median > 1500");
        assert_eq!(count_cell(3, 3), "n=3");
        assert_eq!(count_cell(1, 3), "n=1 seed, 3 runs");
        assert_eq!(count_cell(2, 3), "n=2 seeds, 3 runs");
        // beside a parameter named n the count says what it counts
        assert_eq!(count_name(["d", "lr"]), "n");
        assert_eq!(count_name(["n", "k"]), "n_seeds");
        assert_eq!(count_cell_as(count_name(["n"]), 3, 3), "n_seeds=3");
    }
}
