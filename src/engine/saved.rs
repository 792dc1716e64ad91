//! Saved runs found by what they ran: an index of the finished runs in a folder by
//! experiment, parameters (defaults resolved) and seed, and a saved run read back whole, every
//! metric point and figure as it was emitted (a [`RunState`] keeps bounded series), for the
//! checks of `fail-lab reproduce --from-runs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::state::{RunState, Status};
use super::store::{parse_figure_line, parse_metric_line};
use crate::experiments::common::Finished;
use crate::experiments::plan::RunRequest;
use crate::experiments::{CollectCtx, Registry};
use crate::spec::parse_scenario;

/// The request a saved run answers: its `spec.toml` read as a scenario file (parameters it
/// does not list take their defaults, each value is checked) with its seed.
pub fn request_of(dir: &Path) -> Result<RunRequest, String> {
    let path = dir.join("spec.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = path.display().to_string();
    let sc = parse_scenario(&text, Some(&file), &Registry).map_err(|e| e.to_string())?;
    let seed = sc.seed.ok_or_else(|| format!("{file}: no seed"))?;
    Ok(RunRequest {
        experiment: sc.experiment,
        params: sc.params,
        seed,
    })
}

/// Whether the run in `dir` finished: its `summary.json` says so.
fn is_finished(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["status"] == "finished")
}

/// The finished runs in a folder (its direct subfolders), by the request each answers.
#[derive(Debug, Default)]
pub struct SavedRuns {
    finished: HashMap<String, PathBuf>,
    /// Runs there that did not finish (stopped, diverged, failed, interrupted, still running).
    pub unfinished: usize,
    /// Of those, the ones cut off or stopped (see [`resumable`](super::resume::resumable)),
    /// by request: the newest of each.
    resumable: HashMap<String, PathBuf>,
    /// Folders that hold no readable run, with why.
    pub unreadable: Vec<String>,
}

impl SavedRuns {
    /// Reads the folder's runs (not their metrics). Where several finished runs answer one
    /// request, the last by name (the newest: names start with the time) is the one found.
    pub fn scan(dir: &Path) -> Result<Self, String> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .filter(|p| p.file_name().is_none_or(|n| n != super::SWEEPS_DIR))
            .collect();
        dirs.sort();
        let mut out = Self::default();
        for d in dirs {
            match request_of(&d) {
                Ok(req) if is_finished(&d) => {
                    out.finished.insert(req.key(), d);
                }
                Ok(req) => {
                    out.unfinished += 1;
                    if super::resume::resumable(&d) {
                        out.resumable.insert(req.key(), d);
                    }
                }
                Err(e) => out.unreadable.push(e),
            }
        }
        Ok(out)
    }

    /// The folder of the finished run that answers `req`.
    pub fn find(&self, req: &RunRequest) -> Option<&Path> {
        self.finished.get(&req.key()).map(PathBuf::as_path)
    }

    /// The unfinished run that answers `req` and can be continued, when no finished one does.
    pub fn resumable(&self, req: &RunRequest) -> Option<&Path> {
        match self.find(req) {
            Some(_) => None,
            None => self.resumable.get(&req.key()).map(PathBuf::as_path),
        }
    }

    /// How many finished runs the folder holds.
    pub fn finished(&self) -> usize {
        self.finished.len()
    }
}

/// A finished saved run read back whole: its summary and every metric point, log line and
/// figure in the order the run emitted them; and its training seconds.
pub fn load_finished(dir: &Path) -> Result<(Finished, f64), String> {
    let state = RunState::load(dir)?;
    if state.status != Status::Finished {
        return Err(format!(
            "{}: the run is {}, not finished",
            dir.display(),
            state.status.label()
        ));
    }
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let mut ctx = CollectCtx::new();
    for (step, name, value) in read("metrics.jsonl")?.lines().filter_map(parse_metric_line) {
        ctx.metrics.entry(name).or_default().push((step, value));
        ctx.last_step = ctx.last_step.max(step);
    }
    ctx.logs = read("log.txt")?.lines().map(str::to_string).collect();
    ctx.figures = read("figures.jsonl")?
        .lines()
        .filter_map(parse_figure_line)
        .collect();
    let summary = state.summary.unwrap_or_default();
    Ok((Finished { summary, ctx }, state.elapsed_s))
}
