//! A sweep on disk: `<runs>/sweeps/<id>/sweep.json` (the base scenario, the grid, the seeds
//! and one entry per run, written through a temporary file and a rename), and the
//! `[sweep_point]` table each of its runs' `spec.toml` gets (the sweep's id and the point).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::grid::{GridPoint, Plan};
use crate::engine::{store, RunState, Status, SWEEPS_DIR};
use crate::spec::{parse_scenario, Catalog, Scenario};

pub const RECORD_FILE: &str = "sweep.json";
const VERSION: u32 = 1;

/// An entry's status before its run exists.
pub const PENDING: &str = "pending";
/// The run could not start (its reason is in `reason`).
pub const LAUNCH_FAILED: &str = "launch failed";
/// The record names a run whose folder is gone.
pub const MISSING: &str = "missing";
/// A cluster holds the run's task, or the task runs and starts it after the runs before it.
pub const QUEUED: &str = "queued";
/// Submitted to a cluster whose queue cannot be read now.
pub const SUBMITTED: &str = "submitted";

/// One swept parameter as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxisRecord {
    pub name: String,
    pub values: Vec<serde_json::Value>,
}

/// One run of the sweep: its point, its seed, its run id once started, and its status (a
/// run status label, or `pending`, `launch failed`, `missing`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEntry {
    pub point: serde_json::Map<String, serde_json::Value>,
    pub seed: u64,
    pub run: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Runs of this entry that did not finish and were run again (their folders stay).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<String>,
}

/// An entry not started yet: pending here, queued or submitted on a cluster.
pub fn is_waiting(status: &str) -> bool {
    status == PENDING || status == QUEUED || status == SUBMITTED
}

/// An entry whose run trains (here or in another process).
pub fn is_training(status: &str) -> bool {
    status == "running" || status == "paused"
}

impl RunEntry {
    /// Done for good: finished, or diverged (the same seed diverges again).
    pub fn is_done(&self) -> bool {
        self.status == "finished" || self.status == "diverged"
    }

    /// Not ended yet: waiting to start or training.
    pub fn is_open(&self) -> bool {
        is_waiting(&self.status) || is_training(&self.status)
    }
}

/// `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    pub version: u32,
    pub id: String,
    pub created: String,
    pub experiment: String,
    pub title: String,
    /// The scenario file the sweep came from, if any.
    pub source: Option<String>,
    /// The base scenario as TOML (its values with `--set` applied).
    pub scenario: String,
    pub grid: Vec<AxisRecord>,
    pub seeds: Vec<u64>,
    pub runs: Vec<RunEntry>,
    /// A sweep handed to Slurm: its options and each submitted job array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm: Option<crate::slurm::SlurmRecord>,
}

/// `<runs>/sweeps/<id>`.
pub fn sweep_dir(runs_dir: &Path, id: &str) -> PathBuf {
    runs_dir.join(SWEEPS_DIR).join(id)
}

impl SweepRecord {
    /// A new record for `plan` (every entry pending) in a fresh folder under
    /// `<runs>/sweeps/`, written before it returns.
    pub fn create(plan: &Plan, runs_dir: &Path) -> io::Result<SweepRecord> {
        let (id, _) = store::create_run_dir(
            &runs_dir.join(SWEEPS_DIR),
            &format!("{}-sweep", plan.base.experiment),
        )?;
        let runs = plan
            .runs()
            .into_iter()
            .map(|(p, seed)| RunEntry {
                point: p.to_json(),
                seed,
                run: None,
                status: PENDING.into(),
                reason: None,
                earlier: Vec::new(),
            })
            .collect();
        let rec = SweepRecord {
            version: VERSION,
            id,
            created: store::timestamp(std::time::SystemTime::now()),
            experiment: plan.base.experiment.clone(),
            // the base's title, with each swept parameter's values: `d = {6, 10}`
            title: crate::spec::retitle(
                &plan.base.title,
                &plan
                    .axes
                    .iter()
                    .map(|a| {
                        let vs: Vec<String> = a.values.iter().map(|v| v.to_string()).collect();
                        (a.name.clone(), format!("{{{}}}", vs.join(", ")))
                    })
                    .collect::<Vec<_>>(),
            ),
            source: plan.base.source.clone(),
            scenario: plan.base.to_toml(),
            grid: plan
                .axes
                .iter()
                .map(|a| AxisRecord {
                    name: a.name.clone(),
                    values: a.values.iter().map(|v| v.to_json()).collect(),
                })
                .collect(),
            seeds: plan.seeds.clone(),
            runs,
            slurm: None,
        };
        rec.save(runs_dir)?;
        Ok(rec)
    }

    /// Writes `sweep.json` through a temporary file, so a reader sees the old or the new.
    pub fn save(&self, runs_dir: &Path) -> io::Result<()> {
        let dir = sweep_dir(runs_dir, &self.id);
        fs::create_dir_all(&dir)?;
        let text = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        let tmp = dir.join(format!("{RECORD_FILE}.tmp"));
        fs::write(&tmp, text + "\n")?;
        fs::rename(&tmp, dir.join(RECORD_FILE))
    }

    /// Reads `<runs>/sweeps/<id>/sweep.json`.
    pub fn load(runs_dir: &Path, id: &str) -> Result<SweepRecord, String> {
        let path = sweep_dir(runs_dir, id).join(RECORD_FILE);
        let text = fs::read_to_string(&path).map_err(|e| {
            let known = list(runs_dir);
            let hint = if known.is_empty() {
                format!("no sweep in {}", runs_dir.join(SWEEPS_DIR).display())
            } else {
                format!("sweeps there: {}", known.join(", "))
            };
            format!("{}: {e}; {hint}", path.display())
        })?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a sweep record: {e}", path.display()))
    }

    /// The base scenario, read back from the record.
    pub fn base(&self, catalog: &dyn Catalog) -> Result<Scenario, String> {
        let mut s = parse_scenario(&self.scenario, Some("sweep.json: scenario"), catalog)
            .map_err(|e| e.to_string())?;
        s.source = self.source.clone();
        Ok(s)
    }

    /// An entry's point as parameter values, in grid order, checked by the experiment's
    /// parameter definitions.
    pub fn point_of(&self, entry: &RunEntry, catalog: &dyn Catalog) -> Result<GridPoint, String> {
        let defs = catalog.params_of(&self.experiment).unwrap_or_default();
        let mut values = Vec::new();
        for axis in &self.grid {
            let json = entry
                .point
                .get(&axis.name)
                .ok_or_else(|| format!("a run has no value for {}", axis.name))?;
            let def = defs
                .iter()
                .find(|d| d.name == axis.name)
                .ok_or_else(|| format!("{} has no parameter {}", self.experiment, axis.name))?;
            let v = def
                .from_toml(&json_to_toml(json))
                .map_err(|e| format!("{}: {e}", axis.name))?;
            values.push((axis.name.clone(), v));
        }
        Ok(GridPoint { values })
    }

    /// Brings each entry's status up to date from its run's files (a run whose process died
    /// reads as interrupted; a folder that is gone as missing).
    pub fn refresh(&mut self, runs_dir: &Path) -> Vec<Option<RunState>> {
        self.refresh_only(runs_dir, |_, _| true)
    }

    /// [`SweepRecord::refresh`] of the entries `pick` chooses (by index); the others keep
    /// their status and have no state.
    pub fn refresh_only(
        &mut self,
        runs_dir: &Path,
        pick: impl Fn(usize, &RunEntry) -> bool,
    ) -> Vec<Option<RunState>> {
        self.runs
            .iter_mut()
            .enumerate()
            .map(|(i, e)| {
                if !pick(i, e) {
                    return None;
                }
                let id = e.run.as_ref()?;
                match RunState::load_summary(&runs_dir.join(id)) {
                    Ok(state) => {
                        e.status = state.status.label().to_string();
                        if state.status == Status::Elsewhere {
                            e.status = Status::Running.label().into();
                        }
                        Some(state)
                    }
                    Err(_) => {
                        e.status = MISSING.into();
                        None
                    }
                }
            })
            .collect()
    }
}

/// The sweep ids under `<runs>/sweeps/`, oldest first.
pub fn list(runs_dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = fs::read_dir(runs_dir.join(SWEEPS_DIR))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().join(RECORD_FILE).is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn json_to_toml(v: &serde_json::Value) -> toml::Value {
    match v {
        serde_json::Value::Bool(b) => toml::Value::Boolean(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => toml::Value::String(s.clone()),
        serde_json::Value::Array(a) => toml::Value::Array(a.iter().map(json_to_toml).collect()),
        other => toml::Value::String(other.to_string()),
    }
}

/// The `[sweep_point]` table (the sweep's id and the point) as TOML text.
pub fn sweep_point_toml(sweep: &str, point: &GridPoint) -> io::Result<String> {
    let mut table = toml::Table::new();
    table.insert("sweep".into(), toml::Value::String(sweep.into()));
    let pt: toml::Table = point
        .values
        .iter()
        .map(|(k, v)| (k.clone(), v.to_toml()))
        .collect();
    table.insert("point".into(), toml::Value::Table(pt));
    let mut outer = toml::Table::new();
    outer.insert("sweep_point".into(), toml::Value::Table(table));
    toml::to_string(&outer).map_err(io::Error::other)
}

/// Adds `[sweep_point]` (the sweep's id and the point) to a run's `spec.toml`, through a
/// temporary file. The scenario parser accepts the table back and leaves it out of the
/// scenario, so `fail-lab run <run>/spec.toml` repeats the run as a run of its own.
pub fn mark_run(run_dir: &Path, sweep: &str, point: &GridPoint) -> io::Result<()> {
    let path = run_dir.join("spec.toml");
    let mut text = fs::read_to_string(&path)?;
    let section = sweep_point_toml(sweep, point)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&section);
    let tmp = run_dir.join("spec.toml.tmp");
    fs::write(&tmp, text)?;
    fs::rename(&tmp, path)
}

/// The sweep a run came from and its point, from its `spec.toml` (`None` for a run
/// started by hand).
pub fn run_sweep_point(run_dir: &Path) -> Option<(String, BTreeMap<String, toml::Value>)> {
    let text = fs::read_to_string(run_dir.join("spec.toml")).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    let sp = table.get("sweep_point")?.as_table()?;
    let id = sp.get("sweep")?.as_str()?.to_string();
    let point = sp
        .get("point")
        .and_then(|p| p.as_table())
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Some((id, point))
}
