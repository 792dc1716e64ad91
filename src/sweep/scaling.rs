//! Scaling: a growth law fitted to a summary metric of groups against a swept numeric
//! parameter (SP's time to solve against n, E1's against d), with the groups that cannot be
//! placed kept in view: a time to a threshold that fewer than half a group's runs reached has
//! no median, so the group is *censored* (its time is only known to exceed its budget); it is
//! counted and named, never dropped silently. The fit itself is [`crate::stats::fit`]'s.

use crate::stats::fit::{Growth, GrowthFit};
use crate::stats::format;

use super::Measure;

/// One group on a scaling chart: where it sits on the swept parameter, and its measure.
#[derive(Debug, Clone, Copy)]
pub struct ScalePoint<'a> {
    pub x: f64,
    pub measure: &'a Measure,
}

/// A growth law fitted to groups: the groups that have a value (a result's mean, a time's
/// Kaplan-Meier median), the censored ones (x and the budget their median exceeds).
#[derive(Debug, Clone, PartialEq)]
pub struct Scaling {
    pub growth: Growth,
    /// `None` with fewer than two usable groups (or every x the same).
    pub fit: Option<GrowthFit>,
    /// The groups with a value, (x, value), ascending in x.
    pub points: Vec<(f64, f64)>,
    /// The groups where fewer than half the runs reached the threshold: (x, budget).
    pub censored: Vec<(f64, f64)>,
}

impl Scaling {
    /// Fits `growth` to the groups' centers; a group without a median is censored.
    pub fn of(growth: Growth, groups: &[ScalePoint]) -> Scaling {
        let mut points = Vec::new();
        let mut censored = Vec::new();
        for g in groups {
            match (g.measure, g.measure.center()) {
                (_, Some(y)) => points.push((g.x, y)),
                (Measure::Threshold(s), None) => censored.push((g.x, s.horizon())),
                (Measure::Result(_), None) => {}
            }
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        censored.sort_by(|a, b| a.0.total_cmp(&b.0));
        Scaling {
            growth,
            fit: GrowthFit::of(growth, &points),
            points,
            censored,
        }
    }

    /// Groups the fit used (a value that cannot lie on the law, y <= 0, is not used).
    pub fn used(&self) -> usize {
        self.fit.map_or(0, |f| f.line.n)
    }

    /// `power fit over n: y ∝ x^2.98 [2.71, 3.25], R² 0.99 (4 groups); 1 censored group
    /// left out (fewer than half its runs got there): n = 30 (> 100000)`.
    pub fn describe(&self, x: &str) -> String {
        let head = format!("{} fit over {x}: ", self.growth.name());
        let fit = match &self.fit {
            Some(f) => format!("y {}", f.describe()).replace(" points)", " groups)"),
            None => format!(
                "too few groups with a value ({}) for a fit",
                self.points.len()
            ),
        };
        let cens = match self.censored.len() {
            0 => String::new(),
            n => format!(
                "; {n} censored group{} left out (fewer than half its runs got there): {}",
                if n == 1 { "" } else { "s" },
                self.censored
                    .iter()
                    .map(|(cx, h)| format!(
                        "{x} = {} (> {})",
                        format::value(*cx),
                        format::value(*h)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!("{head}{fit}{cens}")
    }

    /// The fitted curve at `samples + 1` points over the x range of the groups (censored
    /// ones included), spaced evenly in log x when `log_x` (and every x is positive).
    pub fn curve(&self, samples: usize, log_x: bool) -> Vec<(f64, f64)> {
        let Some(fit) = self.fit else {
            return Vec::new();
        };
        let xs = self.points.iter().chain(&self.censored).map(|p| p.0);
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        if !lo.is_finite() {
            return Vec::new();
        }
        let samples = samples.max(1);
        (0..=samples)
            .map(|i| {
                let t = i as f64 / samples as f64;
                let xv = if log_x && lo > 0.0 {
                    lo * (hi / lo).powf(t)
                } else {
                    lo + (hi - lo) * t
                };
                (xv, fit.at(xv))
            })
            .filter(|p| p.1.is_finite())
            .collect()
    }

    /// As JSON: `growth`, `exponent`, `ci95` (null from two groups), `r2`, `groups` (used),
    /// `censored` (`[{x, censored_at}]`).
    pub fn to_json(&self) -> serde_json::Value {
        let num = crate::stats::json_number;
        let f = self.fit.as_ref();
        serde_json::json!({
            "growth": self.growth.name(),
            "exponent": f.map(|f| num(f.exponent())),
            "ci95": f.and_then(|f| f.line.slope_ci95()).map(|(lo, hi)| [num(lo), num(hi)]),
            "r2": f.map(|f| num(f.line.r2)),
            "groups": self.used(),
            "censored": self
                .censored
                .iter()
                .map(|&(x, h)| serde_json::json!({"x": num(x), "censored_at": num(h)}))
                .collect::<Vec<_>>(),
        })
    }
}

/// Groups split into series by a label (the values of the other swept parameters), each
/// series fitted on its own, in the order of their first group.
pub fn by_series<'a>(
    growth: Growth,
    groups: impl IntoIterator<Item = (String, ScalePoint<'a>)>,
) -> Vec<(String, Scaling)> {
    let mut series: Vec<(String, Vec<ScalePoint<'a>>)> = Vec::new();
    for (label, p) in groups {
        match series.iter_mut().find(|s| s.0 == label) {
            Some(s) => s.1.push(p),
            None => series.push((label, vec![p])),
        }
    }
    series
        .into_iter()
        .map(|(label, pts)| (label, Scaling::of(growth, &pts)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::survival::Observation::{Censored, Reached};
    use crate::stats::{Stats, Survival};

    fn time(reached: &[f64], censored_at: &[f64]) -> Measure {
        Measure::Threshold(Survival::of(
            reached
                .iter()
                .map(|&t| Reached(t))
                .chain(censored_at.iter().map(|&h| Censored(h))),
        ))
    }

    #[test]
    fn a_power_law_is_fitted_to_the_medians_and_censored_groups_are_named() {
        // medians 2·n³ at n = 10, 15, 20; at n = 30 two of three runs never got there
        let ms: Vec<(f64, Measure)> = [10.0f64, 15.0, 20.0]
            .iter()
            .map(|&n| {
                let t = 2.0 * n.powi(3);
                (n, time(&[t * 0.9, t, t * 1.1], &[]))
            })
            .chain([(30.0, time(&[5000.0], &[100_000.0, 100_000.0]))])
            .collect();
        let pts: Vec<ScalePoint> = ms
            .iter()
            .map(|(x, m)| ScalePoint { x: *x, measure: m })
            .collect();
        let s = Scaling::of(Growth::Power, &pts);
        assert_eq!(s.used(), 3);
        assert!((s.fit.unwrap().exponent() - 3.0).abs() < 1e-9);
        assert_eq!(s.censored, vec![(30.0, 100_000.0)]);
        let text = s.describe("n");
        assert!(text.starts_with("power fit over n: y ∝ x^3 [3, 3], R² 1 (3 groups)"));
        assert!(
            text.ends_with(
                "1 censored group left out (fewer than half its runs got there): n = 30 (> 100000)"
            ),
            "{text}"
        );
        // the curve spans the censored group too
        let c = s.curve(4, false);
        assert_eq!((c[0].0, c[4].0), (10.0, 30.0));
        assert!((c[0].1 - 2000.0).abs() < 1e-6);
        let j = s.to_json();
        assert_eq!(j["groups"], 3);
        assert_eq!(j["censored"][0]["x"], 30.0);
        assert_eq!(j["censored"][0]["censored_at"], 100_000.0);
    }

    #[test]
    fn series_are_fitted_apart_and_a_fit_needs_two_groups() {
        let r = |mean: f64| {
            Measure::Result(Stats {
                n: 2,
                mean,
                sd: 0.0,
                min: mean,
                max: mean,
            })
        };
        let (a, b, c) = (r(2.0), r(4.0), r(3.0));
        let groups = vec![
            (
                "k=1".to_string(),
                ScalePoint {
                    x: 1.0,
                    measure: &a,
                },
            ),
            (
                "k=2".to_string(),
                ScalePoint {
                    x: 1.0,
                    measure: &c,
                },
            ),
            (
                "k=1".to_string(),
                ScalePoint {
                    x: 2.0,
                    measure: &b,
                },
            ),
        ];
        let s = by_series(Growth::Exp, groups);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, "k=1");
        // 2 -> 4 over one unit of x: rate ln 2, no interval from two groups
        assert!((s[0].1.fit.unwrap().exponent() - 2f64.ln()).abs() < 1e-12);
        assert!(s[0]
            .1
            .describe("x")
            .contains("(no interval from two groups)"));
        assert!(s[1].1.fit.is_none());
        assert_eq!(
            s[1].1.describe("x"),
            "exp fit over x: too few groups with a value (1) for a fit"
        );
        assert!(s[1].1.to_json()["exponent"].is_null());
    }
}
