//! Sweeps: a scenario run over a grid of parameter values and seeds, as ordinary runs.
//!
//! - [`grid`]: the plan (axes from `[sweep]` and `--grid`, seeds), expanded and checked;
//! - [`record`]: `<runs>/sweeps/<id>/sweep.json` and the `[sweep_point]` of each run's spec;
//! - [`runner`]: a sweep in progress on the engine's pool;
//! - [`group`]: groups of runs that differ only in the seed, what they add up to (with the
//!   statistics of [`crate::stats`]) and their bands, for any runs (from a sweep or started
//!   by hand).

pub mod grid;
pub mod group;
pub mod record;
pub mod runner;
pub mod scaling;

pub use crate::spec::sweep::MAX_RUNS;
pub use crate::stats::{BandPoint, Stats};
pub use grid::{GridPoint, Plan};
pub use group::{group_runs, Aggregate, Group, Measure};
pub use record::{RunEntry, SweepRecord};
pub use runner::{Counts, SweepRun};

use crate::engine::RunState;

/// One row of a sweep's table: a grid point and what its runs add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub point: serde_json::Map<String, serde_json::Value>,
    pub agg: Aggregate,
}

/// The rows of a sweep, one per grid point in grid order, from its entries and their runs'
/// states (`states[i]` for `record.runs[i]`, as [`SweepRecord::refresh`] gives them).
pub fn rows(record: &SweepRecord, states: &[Option<RunState>]) -> Vec<Row> {
    let mut out: Vec<(Row, Vec<&RunState>)> = Vec::new();
    for (i, e) in record.runs.iter().enumerate() {
        let at = match out.iter().position(|(r, _)| r.point == e.point) {
            Some(at) => at,
            None => {
                out.push((
                    Row {
                        point: e.point.clone(),
                        agg: Aggregate::default(),
                    },
                    Vec::new(),
                ));
                out.len() - 1
            }
        };
        match states.get(i).and_then(Option::as_ref) {
            Some(s) => out[at].1.push(s),
            None => out[at].0.agg.count(&e.status),
        }
    }
    out.into_iter()
        .map(|(mut row, runs)| {
            let from_runs = Aggregate::of(&runs);
            for (k, n) in from_runs.status {
                *row.agg.status.entry(k).or_default() += n;
            }
            let mut seeds: Vec<u64> = record
                .runs
                .iter()
                .filter(|e| e.point == row.point)
                .map(|e| e.seed)
                .collect();
            seeds.sort_unstable();
            seeds.dedup();
            row.agg = Aggregate {
                experiment: record.experiment.clone(),
                seeds,
                status: row.agg.status,
                ..from_runs
            };
            row
        })
        .collect()
}
