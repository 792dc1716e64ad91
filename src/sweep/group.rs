//! Groups: runs of the same experiment with the same parameters, whatever their seeds
//! (from a sweep or started by hand), and what a group adds up to.

use std::collections::{BTreeMap, HashMap};

use serde_json::json;

use crate::engine::{RunState, Series, Status};
use crate::spec::Params;
use crate::stats::band::{clip, metric_bounds};
use crate::stats::survival::Observation;
use crate::stats::{band, format, json_number, natural_cmp, BandPoint, Stats, Survival};

/// Runs that differ at most in their seed: indices into the runs the groups were built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub experiment: String,
    pub params: Params,
    pub members: Vec<usize>,
}

/// The grouping key: the experiment and every parameter value (the seed is not a parameter).
pub fn group_key(experiment: &str, params: &Params) -> String {
    let mut key = experiment.to_string();
    for (k, v) in params.iter() {
        key.push_str(&format!("\u{1f}{k}={v}"));
    }
    key
}

/// The groups of `runs`, in the order of their first run.
pub fn group_runs(runs: &[RunState]) -> Vec<Group> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        let key = group_key(&r.experiment, &r.params);
        match index.get(&key) {
            Some(&g) => groups[g].members.push(i),
            None => {
                index.insert(key, groups.len());
                groups.push(Group {
                    experiment: r.experiment.clone(),
                    params: r.params.clone(),
                    members: vec![i],
                });
            }
        }
    }
    groups
}

/// What a group's runs say of one summary metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// A result: its statistics over one finished run per seed.
    Result(Stats),
    /// A time to a threshold (`steps_to_*`): the runs that reached it and the step each
    /// other run was followed to without reaching it.
    Threshold(Survival),
}

impl Measure {
    /// The cell a table shows ([`crate::stats::format`]); `ci` adds the 95% interval,
    /// within `bounds` (what the metric can be).
    pub fn cell(&self, ci: bool, bounds: (Option<f64>, Option<f64>)) -> String {
        match self {
            Measure::Result(s) => format::stats_cell(s, ci.then_some(bounds)),
            Measure::Threshold(s) => format::survival_cell(s),
        }
    }

    /// The shortest form, for narrow cells: `0.64 ± 0.10`, `2/4 >1500`, `4/4 210`.
    pub fn short(&self) -> String {
        match self {
            Measure::Result(s) if s.n > 1 => format::mean_sd(s.mean, s.sd),
            Measure::Result(s) => format::value(s.mean),
            Measure::Threshold(s) => match s.median() {
                Some(m) => format!("{}/{} {}", s.hits(), s.n, format::value(m)),
                None => format!("{}/{} >{}", s.hits(), s.n, format::value(s.horizon())),
            },
        }
    }

    /// The value that stands for the group in a chart or a sort: the mean of a result, the
    /// median time of a threshold (`None` while fewer than half reached it).
    pub fn center(&self) -> Option<f64> {
        match self {
            Measure::Result(s) => Some(s.mean),
            Measure::Threshold(s) => s.median(),
        }
    }

    /// The key that orders groups by this metric: the center, and a time that fewer than
    /// half reached after every known one.
    pub fn sort_key(&self) -> Option<f64> {
        match self {
            Measure::Threshold(s) if s.n > 0 && s.median().is_none() => Some(f64::INFINITY),
            m => m.center(),
        }
    }

    /// The result's statistics, if it is one.
    pub fn stats(&self) -> Option<&Stats> {
        match self {
            Measure::Result(s) => Some(s),
            Measure::Threshold(_) => None,
        }
    }

    /// As JSON: a result's `mean`, `sd`, `min`, `max`, `n` and `ci95` (null below two
    /// values; within `bounds`, what the metric can be); a threshold's `n`, `reached`, `median` (null when fewer than half reached
    /// it), `censored_at` (the longest a run was followed) and `over_reached` (mean, sd,
    /// min, max over the runs that reached it only).
    pub fn to_json(&self, bounds: (Option<f64>, Option<f64>)) -> serde_json::Value {
        match self {
            Measure::Result(s) => {
                let mut v = s.to_json();
                v["kind"] = json!("result");
                v["ci95"] = match s.ci95().map(|ci| clip(ci, bounds)) {
                    Some((lo, hi)) => json!([json_number(lo), json_number(hi)]),
                    None => serde_json::Value::Null,
                };
                v
            }
            Measure::Threshold(s) => json!({
                "kind": "threshold",
                "n": s.n,
                "reached": s.hits(),
                "median": s.median().map(json_number),
                "censored_at": json_number(s.horizon()),
                "over_reached": Stats::of(s.reached.iter().copied()).map(|st| st.to_json()),
            }),
        }
    }
}

/// What a group adds up to: its distinct seeds and runs, how many runs are in each status,
/// and, over one finished run per seed (the latest), each summary metric as a result or a
/// time to a threshold; the parameters its runs report (`setup`: E1's derived `width`) and
/// the properties of each seed's random draw (`draws`: E1's `subset_size`), as ranges, never
/// averaged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Aggregate {
    /// The runs' experiment (what the metrics' bounds depend on).
    pub experiment: String,
    /// Distinct seeds, ascending.
    pub seeds: Vec<u64>,
    /// Runs behind it (a seed run twice counts twice here, once in `seeds`).
    pub runs: usize,
    /// Status label -> count.
    pub status: BTreeMap<String, usize>,
    pub metrics: BTreeMap<String, Measure>,
    pub setup: BTreeMap<String, (f64, f64)>,
    pub draws: BTreeMap<String, (f64, f64)>,
}

/// True for a summary metric that is a time to a threshold, which a run may never reach.
pub fn is_threshold(name: &str) -> bool {
    name.starts_with("steps_to_")
}

impl Aggregate {
    /// The aggregate of `runs` (of one experiment and parameters): a run counts in the
    /// metrics only if it finished (a stopped or diverged run's summary holds its last
    /// values, not a result), and each seed once.
    pub fn of(runs: &[&RunState]) -> Aggregate {
        let mut agg = Aggregate {
            runs: runs.len(),
            ..Aggregate::default()
        };
        let mut seeds: Vec<u64> = runs.iter().filter_map(|r| r.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        agg.seeds = seeds;
        for r in runs {
            *agg.status.entry(r.status.label().into()).or_default() += 1;
        }
        if let Some(r) = runs.first() {
            agg.experiment = r.experiment.clone();
        }
        let counted = one_per_seed(runs);
        let Some(first) = counted.first() else {
            return agg;
        };
        let def = crate::experiments::find(&first.experiment);
        let draws = def.map_or(&[][..], |d| d.draws);
        // a declared threshold that no run reached is still a result: 0 of n
        let mut names: Vec<String> = def.map(|d| (d.thresholds)()).unwrap_or_default();
        let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for r in &counted {
            for (k, v) in r.summary.iter().flat_map(|s| s.metrics.iter()) {
                values.entry(k.clone()).or_default().push(*v);
                if !names.contains(k) {
                    names.push(k.clone());
                }
            }
        }
        for name in &names {
            let name = name.as_str();
            let vs = values.get(name).map_or(&[][..], Vec::as_slice);
            let span = || Stats::of(vs.iter().copied()).map(|s| (s.min, s.max));
            if first.params.get(name).is_some() {
                let into = if draws.contains(&name) {
                    &mut agg.draws
                } else {
                    &mut agg.setup
                };
                into.extend(span().map(|r| (name.to_string(), r)));
            } else if is_threshold(name) {
                let obs =
                    counted
                        .iter()
                        .map(|r| match r.summary.as_ref().and_then(|s| s.get(name)) {
                            Some(t) => Observation::Reached(t),
                            None => Observation::Censored(r.step as f64),
                        });
                agg.metrics
                    .insert(name.to_string(), Measure::Threshold(Survival::of(obs)));
            } else if let Some(s) = Stats::of(vs.iter().copied()) {
                agg.metrics.insert(name.to_string(), Measure::Result(s));
            }
        }
        agg
    }

    /// Counts a status that has no run behind it (a sweep's pending or missing entry).
    pub fn count(&mut self, status: &str) {
        *self.status.entry(status.into()).or_default() += 1;
    }

    /// Runs of this group and entries without a run yet, whatever their status.
    pub fn total(&self) -> usize {
        self.status.values().sum()
    }

    pub fn n_with(&self, status: &str) -> usize {
        self.status.get(status).copied().unwrap_or(0)
    }

    /// `n=3`, or `n=1 seed, 3 runs` when seeds repeat.
    pub fn count_cell(&self) -> String {
        format::count_cell(self.seeds.len(), self.runs)
    }

    /// Metric `name`'s cell in a table (`-` when the group has none), with its 95% interval
    /// when `ci`, kept within what the metric can be.
    pub fn cell(&self, name: &str, ci: bool) -> String {
        self.metrics.get(name).map_or("-".into(), |m| {
            m.cell(ci, metric_bounds(&self.experiment, name))
        })
    }

    /// The metric names in natural order (`ratio_d4` before `ratio_d10`), `first` (the
    /// experiment's main metric) ahead of the others.
    pub fn metric_names(&self, first: &str) -> Vec<String> {
        sorted_names(self.metrics.keys().map(String::as_str), first)
    }

    /// `{"finished": 3, "failed": 1}` as JSON.
    pub fn status_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.status
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect(),
        )
    }

    /// Each metric's [`Measure::to_json`], those `wanted` only.
    pub fn metrics_json(&self, wanted: impl Fn(&str) -> bool) -> serde_json::Value {
        serde_json::Value::Object(
            self.metrics
                .iter()
                .filter(|(k, _)| wanted(k))
                .map(|(k, m)| (k.clone(), m.to_json(metric_bounds(&self.experiment, k))))
                .collect(),
        )
    }

    /// `{"width": 60}`, or `{"subset_size": {"min": 1, "max": 5}}` for a range.
    pub fn ranges_json(ranges: &BTreeMap<String, (f64, f64)>) -> serde_json::Value {
        serde_json::Value::Object(
            ranges
                .iter()
                .map(|(k, &(lo, hi))| {
                    let v = if lo == hi {
                        json_number(lo)
                    } else {
                        json!({"min": json_number(lo), "max": json_number(hi)})
                    };
                    (k.clone(), v)
                })
                .collect(),
        )
    }

    /// The group's part of a JSON document: `n` (distinct seeds), `runs`, `seeds`,
    /// `status`, `metrics`, `setup` and `draws`.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("n".into(), json!(self.seeds.len()));
        m.insert("runs".into(), json!(self.runs));
        m.insert("seeds".into(), json!(self.seeds));
        m.insert("status".into(), self.status_json());
        m.insert("metrics".into(), self.metrics_json(|_| true));
        m.insert("setup".into(), Self::ranges_json(&self.setup));
        m.insert("draws".into(), Self::ranges_json(&self.draws));
        m
    }
}

/// Names in natural order, `first` ahead of the others.
pub fn sorted_names<'a>(names: impl Iterator<Item = &'a str>, first: &str) -> Vec<String> {
    let mut v: Vec<&str> = names.collect();
    v.sort_by(|a, b| (*a != first).cmp(&(*b != first)).then(natural_cmp(a, b)));
    v.dedup();
    v.into_iter().map(String::from).collect()
}

/// The finished runs with a summary that count, one per seed (the latest, by run id, which
/// starts with the time it was made); runs without a seed each count.
fn one_per_seed<'a>(runs: &[&'a RunState]) -> Vec<&'a RunState> {
    let mut by_seed: BTreeMap<Option<u64>, Vec<&'a RunState>> = BTreeMap::new();
    // a finished run whose summary could not be read says nothing of its results
    for r in runs
        .iter()
        .filter(|r| r.status == Status::Finished && r.summary.is_some())
    {
        by_seed.entry(r.seed).or_default().push(r);
    }
    let mut out = Vec::new();
    for (seed, mut rs) in by_seed {
        if seed.is_none() {
            out.extend(rs);
        } else {
            rs.sort_by(|a, b| natural_cmp(&a.id, &b.id));
            out.extend(rs.pop());
        }
    }
    out
}

/// The band of metric `name` over `runs` (those that have it).
pub fn metric_band(runs: &[&RunState], name: &str) -> Vec<BandPoint> {
    let series: Vec<&Series> = runs.iter().filter_map(|r| r.metrics.get(name)).collect();
    series_band(&series)
}

/// The band of these series (steps aligned as [`crate::stats::band`] says).
pub fn series_band(series: &[&Series]) -> Vec<BandPoint> {
    let points: Vec<Vec<(u64, f64)>> = series
        .iter()
        .map(|s| s.points().map(|p| (p.step, p.value)).collect())
        .collect();
    band(&points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::ctx::Summary;
    use crate::spec::Value;

    fn run(id: &str, d: i64, seed: u64, status: Status, acc: f64) -> RunState {
        let mut p = Params::default();
        p.insert("d", Value::Int(d));
        p.insert("lr", Value::Float(0.01));
        let mut r = RunState::new(id, "E1", "t", p);
        r.seed = Some(seed);
        r.status = status;
        let mut s = Summary::default();
        s.set("test_accuracy", acc);
        r.summary = Some(s);
        r.metrics
            .entry("loss".into())
            .or_default()
            .push(10, acc * 2.0);
        r
    }

    #[test]
    fn runs_that_differ_only_in_the_seed_form_one_group() {
        let mut other = run("x", 4, 0, Status::Finished, 0.1);
        other.experiment = "E2".into();
        let runs = vec![
            run("a", 4, 0, Status::Finished, 0.5),
            run("b", 6, 0, Status::Finished, 0.9),
            run("c", 4, 1, Status::Finished, 0.7),
            other,
            run("d", 4, 2, Status::Failed, 0.0),
        ];
        let groups = group_runs(&runs);
        let members: Vec<Vec<usize>> = groups.iter().map(|g| g.members.clone()).collect();
        assert_eq!(members, vec![vec![0, 2, 4], vec![1], vec![3]]);
        assert_eq!(groups[0].params.get("d"), Some(&Value::Int(4)));
        assert_eq!(groups[2].experiment, "E2");

        let g: Vec<&RunState> = groups[0].members.iter().map(|&i| &runs[i]).collect();
        let agg = Aggregate::of(&g);
        assert_eq!(agg.seeds, vec![0, 1, 2]);
        assert_eq!((agg.n_with("finished"), agg.n_with("failed")), (2, 1));
        let acc = *agg.metrics["test_accuracy"].stats().unwrap();
        // the failed run is left out: 0.5 and 0.7
        assert_eq!(acc.n, 2);
        assert!((acc.mean - 0.6).abs() < 1e-12);
        assert!((acc.sd - 0.02f64.sqrt()).abs() < 1e-12);
        assert_eq!((acc.min, acc.max), (0.5, 0.7));
        let b = metric_band(&g, "loss");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].stats.n, 3, "bands show every run's curve");
    }

    /// An E1 run of seed `seed` with E1's summary: its accuracy, its derived width, the |S|
    /// its seed drew, and the step it reached 0.99 at, if it did (run to step 1500).
    fn e1_run(id: &str, seed: u64, acc: f64, subset: f64, hit: Option<f64>) -> RunState {
        let mut r = run(id, 6, seed, Status::Finished, acc);
        // every parameter of E1, as a run's spec has them
        r.params = crate::experiments::params_with("E1", &[("d", "6")]).unwrap();
        r.step = 1500;
        let s = r.summary.as_mut().unwrap();
        s.set("width", 60.0).set("subset_size", subset);
        if let Some(h) = hit {
            s.set("steps_to_0.99", h);
        }
        r
    }

    #[test]
    fn a_seed_run_twice_counts_once_and_the_runs_are_said_apart() {
        let runs = [
            e1_run("20261201-000000-e1", 0, 0.5, 3.0, None),
            // the same seed again, later: the latest run of a seed is the one counted
            e1_run("20261201-000100-e1", 0, 0.5, 3.0, None),
            e1_run("20261201-000200-e1", 0, 0.5, 3.0, None),
        ];
        let agg = Aggregate::of(&runs.iter().collect::<Vec<_>>());
        assert_eq!((agg.seeds.len(), agg.runs), (1, 3));
        assert_eq!(agg.count_cell(), "n=1 seed, 3 runs");
        assert_eq!(agg.metrics["test_accuracy"].stats().unwrap().n, 1);
        let json = agg.to_json();
        assert_eq!((&json["n"], &json["runs"]), (&json!(1), &json!(3)));
    }

    #[test]
    fn times_to_a_threshold_count_the_runs_that_never_got_there() {
        let runs = [
            e1_run("a", 0, 1.0, 1.0, Some(50.0)),
            e1_run("b", 1, 0.6, 5.0, None),
            e1_run("c", 2, 1.0, 2.0, Some(1150.0)),
            e1_run("d", 3, 0.7, 4.0, None),
        ];
        let agg = Aggregate::of(&runs.iter().collect::<Vec<_>>());
        let Measure::Threshold(t) = &agg.metrics["steps_to_0.99"] else {
            panic!("a threshold: {:?}", agg.metrics["steps_to_0.99"]);
        };
        assert_eq!(
            (t.n, t.hits(), t.censored.clone()),
            (4, 2, vec![1500.0, 1500.0])
        );
        // S = 3/4 at 50, 3/4 * 2/3 = 1/2 at 1150: the median is 1150, not the mean 600
        assert_eq!(t.median(), Some(1150.0));
        assert_eq!(
            agg.cell("steps_to_0.99", false),
            "2/4 · median 1150 (50..1150)"
        );
        let j = &agg.to_json()["metrics"]["steps_to_0.99"];
        assert_eq!(
            (&j["reached"], &j["n"], &j["median"]),
            (&json!(2), &json!(4), &json!(1150.0))
        );
        assert_eq!(j["over_reached"]["mean"], json!(600.0));
        // width is setup, |S| a property of the draw: neither is a result
        assert_eq!(agg.setup["width"], (60.0, 60.0));
        assert_eq!(agg.draws["subset_size"], (1.0, 5.0));
        assert!(!agg.metrics.contains_key("width") && !agg.metrics.contains_key("subset_size"));

        // none got there: 0 of 2, the median only known to exceed the budget
        let none = [
            e1_run("e", 0, 0.5, 3.0, None),
            e1_run("f", 1, 0.5, 3.0, None),
        ];
        let agg = Aggregate::of(&none.iter().collect::<Vec<_>>());
        assert_eq!(agg.cell("steps_to_0.99", false), "0/2 · median > 1500");
        assert_eq!(
            agg.to_json()["metrics"]["steps_to_0.99"]["median"],
            json!(null)
        );
    }

    #[test]
    fn a_different_value_of_any_parameter_makes_another_group() {
        let a = run("a", 4, 0, Status::Finished, 0.5);
        let mut b = run("b", 4, 1, Status::Finished, 0.5);
        b.params.insert("lr", Value::Float(0.02));
        assert_eq!(group_runs(&[a, b]).len(), 2);
    }
}
