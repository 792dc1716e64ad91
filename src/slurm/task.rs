//! A run planned before it starts: a scenario file with a `[task]` table naming the run
//! folder it writes, and any tables its `spec.toml` is to carry (a sweep's
//! `[sweep_point]`). `fail-lab run FILE --out DIR` on such a file writes `DIR/<run>`, so
//! whoever planned it (a sweep record) knows where its run is before a cluster task starts it.
//!
//! ```toml
//! experiment = "E1"
//! ...
//! [task]
//! run = "20261201-224255-e1-sweep-003"
//!
//! [sweep_point]
//! sweep = "20261201-224255-e1-sweep"
//! point = { d = 4 }
//! ```
//!
//! The run's `spec.toml` keeps `[sweep_point]` but not `[task]`: `fail-lab run` on it is a
//! new run with a name of its own.

use std::io;
use std::path::Path;

use crossbeam_channel::Sender;

use crate::engine::{self, LaunchOptions, RunEvent, RunHandle};
use crate::spec::Scenario;

/// The tables of a run file that its run's `spec.toml` carries on.
const KEPT: [&str; 1] = ["sweep_point"];

/// A run file's plan: the run's folder name and the TOML its `spec.toml` gets after the
/// scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub run: String,
    pub spec_extra: String,
}

/// The text of a run file: the scenario, `[task]` with the run's folder name, then
/// `extra` (TOML tables such as `[sweep_point]`, which the run's `spec.toml` keeps).
pub fn run_file_text(scenario: &Scenario, run: &str, extra: &str) -> String {
    let mut task = toml::Table::new();
    task.insert("run".into(), toml::Value::String(run.into()));
    let mut outer = toml::Table::new();
    outer.insert("task".into(), toml::Value::Table(task));
    let mut text = scenario.to_toml();
    text.push('\n');
    text.push_str(&toml::to_string(&outer).unwrap_or_default());
    if !extra.is_empty() {
        text.push('\n');
        text.push_str(extra);
    }
    text
}

/// Writes [`run_file_text`] to `path` through a temporary file.
pub fn write_run_file(path: &Path, scenario: &Scenario, run: &str, extra: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    super::job::write_atomic(path, &run_file_text(scenario, run, extra))
}

/// The plan in scenario text: `None` without a `[task]` table.
pub fn planned(text: &str) -> Result<Option<Planned>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let Some(task) = table.get("task") else {
        return Ok(None);
    };
    let run = task
        .get("run")
        .and_then(|v| v.as_str())
        .ok_or("[task]: expected `run = \"<run folder name>\"`")?
        .to_string();
    let mut kept = toml::Table::new();
    for k in KEPT {
        if let Some(v) = table.get(k) {
            kept.insert(k.into(), v.clone());
        }
    }
    let spec_extra = if kept.is_empty() {
        String::new()
    } else {
        toml::to_string(&kept).map_err(|e| e.to_string())?
    };
    Ok(Some(Planned { run, spec_extra }))
}

/// Starts `scenario`, read from `file`: as the run its `[task]` names (in
/// `<runs>/<run>`, which must not exist yet), or, without one, as a new run like
/// [`engine::launch`].
pub fn launch(
    file: &Path,
    scenario: &Scenario,
    opts: &LaunchOptions,
    events: Sender<RunEvent>,
) -> Result<RunHandle, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    match planned(&text).map_err(|e| format!("{}: {e}", file.display()))? {
        // a task run again (requeued, or started by hand) goes on from its run's checkpoint
        Some(p) if engine::resume::resumable(&opts.runs_dir.join(&p.run)) => {
            engine::resume::resume(&opts.runs_dir.join(&p.run), opts, events).map(|c| c.handle)
        }
        Some(p) => engine::launch_named(scenario, &p.run, &p.spec_extra, opts, events),
        None => engine::launch(scenario, opts, events),
    }
}
