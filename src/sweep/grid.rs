//! A sweep's plan: the base scenario, its axes and seeds, expanded into runs (the cross
//! product of the axes in order, the last axis varying fastest, each point with every seed)
//! and checked point by point before anything starts.

use crate::engine;
use crate::spec::sweep::{Axis, SweepTable, MAX_RUNS};
use crate::spec::{Scenario, Value};

/// One grid point: a value for each axis, in axis order.
#[derive(Debug, Clone, PartialEq)]
pub struct GridPoint {
    pub values: Vec<(String, Value)>,
}

impl GridPoint {
    /// `d=4, lr=0.01` (empty for a sweep over seeds only).
    pub fn label(&self) -> String {
        let parts: Vec<String> = self
            .values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        parts.join(", ")
    }

    /// The point as a JSON object.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.values
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect()
    }
}

/// A checked sweep: every point x seed is a valid scenario of the experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The scenario every run starts from (file values with `--set` applied).
    pub base: Scenario,
    pub axes: Vec<Axis>,
    pub seeds: Vec<u64>,
}

impl Plan {
    /// Merges the file's table with the command line (a `--grid` axis replaces the file's axis
    /// of the same name in its place; new ones come after; `--seeds` replaces the file's
    /// seeds; with neither, the scenario's seed or 0), then checks every run.
    pub fn new(
        base: Scenario,
        file: SweepTable,
        cli_axes: Vec<Axis>,
        cli_seeds: Option<Vec<u64>>,
    ) -> Result<Plan, String> {
        let mut axes = file.axes;
        for a in cli_axes {
            match axes.iter_mut().find(|x| x.name == a.name) {
                Some(x) => *x = a,
                None => axes.push(a),
            }
        }
        let seeds = cli_seeds
            .or(file.seeds)
            .unwrap_or_else(|| vec![base.seed.unwrap_or(0)]);
        let plan = Plan { base, axes, seeds };
        plan.check_size()?;
        plan.check_points()?;
        Ok(plan)
    }

    /// Grid points x seeds, saturating.
    pub fn run_count(&self) -> usize {
        self.point_count().saturating_mul(self.seeds.len())
    }

    pub fn point_count(&self) -> usize {
        self.axes
            .iter()
            .fold(1usize, |n, a| n.saturating_mul(a.values.len()))
    }

    fn check_size(&self) -> Result<(), String> {
        let n = self.run_count();
        if n > MAX_RUNS {
            let sizes: Vec<String> = self
                .axes
                .iter()
                .map(|a| format!("{} {}", a.values.len(), a.name))
                .chain([format!("{} seeds", self.seeds.len())])
                .collect();
            return Err(format!(
                "this sweep would start {n} runs ({}); at most {MAX_RUNS} runs in one sweep",
                sizes.join(" x ")
            ));
        }
        Ok(())
    }

    /// The experiment's checks across parameters, at every grid point.
    fn check_points(&self) -> Result<(), String> {
        for p in self.points() {
            let s = self.scenario_for(&p, self.seeds[0]);
            engine::validate(&s).map_err(|e| {
                if p.values.is_empty() {
                    e
                } else {
                    format!("grid point {}: {e}", p.label())
                }
            })?;
        }
        Ok(())
    }

    /// Every grid point, the last axis varying fastest.
    pub fn points(&self) -> Vec<GridPoint> {
        let mut out = vec![GridPoint { values: Vec::new() }];
        for axis in &self.axes {
            let mut next = Vec::with_capacity(out.len() * axis.values.len());
            for p in &out {
                for v in &axis.values {
                    let mut q = p.clone();
                    q.values.push((axis.name.clone(), v.clone()));
                    next.push(q);
                }
            }
            out = next;
        }
        out
    }

    /// Every run in order: each point with each seed.
    pub fn runs(&self) -> Vec<(GridPoint, u64)> {
        let mut out = Vec::with_capacity(self.run_count());
        for p in self.points() {
            for &s in &self.seeds {
                out.push((p.clone(), s));
            }
        }
        out
    }

    /// The scenario of one run: the base with the point's values and the seed; its title
    /// names the point's values (see [`crate::spec::retitle`]).
    pub fn scenario_for(&self, point: &GridPoint, seed: u64) -> Scenario {
        scenario_at(&self.base, point, seed)
    }
}

/// `base` at a grid point with a seed.
pub fn scenario_at(base: &Scenario, point: &GridPoint, seed: u64) -> Scenario {
    let mut s = base.clone();
    for (k, v) in &point.values {
        s.params.insert(k, v.clone());
    }
    s.seed = Some(seed);
    s.retitle_from(&base.params);
    s
}
