//! Groups: runs of the same experiment with the same parameters, whatever their seeds
//! (from a sweep or started by hand), and what a group adds up to.

use std::collections::{BTreeMap, HashMap};

use super::stats::{band, BandPoint, Stats};
use crate::engine::{RunState, Status};
use crate::spec::Params;

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

/// What a group adds up to: its seeds, how many runs are in each status, and each summary
/// metric's statistics over the runs that finished.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Aggregate {
    pub seeds: Vec<u64>,
    /// Status label -> count.
    pub status: BTreeMap<String, usize>,
    pub metrics: BTreeMap<String, Stats>,
}

impl Aggregate {
    /// The aggregate of `runs`: a run counts in the metrics only if it finished (a stopped
    /// or diverged run's summary holds its last values, not a result).
    pub fn of(runs: &[&RunState]) -> Aggregate {
        let mut agg = Aggregate::default();
        let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for r in runs {
            agg.seeds.extend(r.seed);
            *agg.status.entry(r.status.label().into()).or_default() += 1;
            if r.status != Status::Finished {
                continue;
            }
            if let Some(summary) = &r.summary {
                for (k, v) in &summary.metrics {
                    values.entry(k.clone()).or_default().push(*v);
                }
            }
        }
        for (k, vs) in values {
            if let Some(s) = Stats::of(vs) {
                agg.metrics.insert(k, s);
            }
        }
        agg
    }

    /// Counts a status that has no run behind it (a sweep's pending or missing entry).
    pub fn count(&mut self, status: &str) {
        *self.status.entry(status.into()).or_default() += 1;
    }

    /// Runs of this group, whatever their status.
    pub fn total(&self) -> usize {
        self.status.values().sum()
    }

    pub fn n_with(&self, status: &str) -> usize {
        self.status.get(status).copied().unwrap_or(0)
    }

    /// `{"finished": 3, "failed": 1}` as JSON.
    pub fn status_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.status
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::json!(v)))
                .collect(),
        )
    }

    pub fn metrics_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.metrics
                .iter()
                .map(|(k, s)| (k.clone(), s.to_json()))
                .collect(),
        )
    }
}

/// The band of metric `name` over `runs` (those that have it).
pub fn metric_band(runs: &[&RunState], name: &str) -> Vec<BandPoint> {
    let series: Vec<_> = runs.iter().filter_map(|r| r.metrics.get(name)).collect();
    band(&series)
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
        let acc = agg.metrics["test_accuracy"];
        // the failed run is left out: 0.5 and 0.7
        assert_eq!(acc.n, 2);
        assert!((acc.mean - 0.6).abs() < 1e-12);
        assert!((acc.sd - 0.02f64.sqrt()).abs() < 1e-12);
        assert_eq!((acc.min, acc.max), (0.5, 0.7));
        let b = metric_band(&g, "loss");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].stats.n, 3, "bands show every run's curve");
    }

    #[test]
    fn a_different_value_of_any_parameter_makes_another_group() {
        let a = run("a", 4, 0, Status::Finished, 0.5);
        let mut b = run("b", 4, 1, Status::Finished, 0.5);
        b.params.insert("lr", Value::Float(0.02));
        assert_eq!(group_runs(&[a, b]).len(), 2);
    }
}
