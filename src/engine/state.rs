//! What is known about one run, built from its events (live) or from its files (saved).

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use super::series::Series;
use super::Event;
use crate::experiments::ctx::{Figure, Summary};
use crate::spec::{Params, Value};

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    Running,
    Paused,
    Finished,
    Stopped,
    Diverged,
    Failed,
    /// Saved without a `summary.json`: the process ended while it ran.
    Interrupted,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Finished => "finished",
            Status::Stopped => "stopped",
            Status::Diverged => "diverged",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
        }
    }

    pub fn from_label(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Status::Queued,
            "running" => Status::Running,
            "paused" => Status::Paused,
            "finished" => Status::Finished,
            "stopped" => Status::Stopped,
            "diverged" => Status::Diverged,
            "failed" => Status::Failed,
            "interrupted" => Status::Interrupted,
            _ => return None,
        })
    }

    /// Still training, or waiting to.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Queued | Status::Running | Status::Paused)
    }
}

const MAX_LOG_LINES: usize = 500;

/// One run as the lab and the headless runner see it.
#[derive(Debug, Clone)]
pub struct RunState {
    pub id: String,
    pub dir: Option<PathBuf>,
    pub experiment: String,
    pub title: String,
    pub params: Params,
    pub seed: Option<u64>,
    pub status: Status,
    pub step: u64,
    pub total: u64,
    pub steps_per_sec: f64,
    pub elapsed_s: f64,
    /// Why it diverged or failed.
    pub reason: Option<String>,
    pub metrics: BTreeMap<String, Series>,
    pub logs: VecDeque<String>,
    /// The latest figure of each title.
    pub figures: BTreeMap<String, (u64, Figure)>,
    pub summary: Option<Summary>,
}

impl RunState {
    pub fn new(id: &str, experiment: &str, title: &str, params: Params) -> Self {
        Self {
            id: id.to_string(),
            dir: None,
            experiment: experiment.to_string(),
            title: title.to_string(),
            params,
            seed: None,
            status: Status::Queued,
            step: 0,
            total: 0,
            steps_per_sec: 0.0,
            elapsed_s: 0.0,
            reason: None,
            metrics: BTreeMap::new(),
            logs: VecDeque::new(),
            figures: BTreeMap::new(),
            summary: None,
        }
    }

    fn push_log(&mut self, line: String) {
        if self.logs.len() >= MAX_LOG_LINES {
            self.logs.pop_front();
        }
        self.logs.push_back(line);
    }

    /// Updates the state with one event of this run.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Started {
                experiment,
                title,
                params,
                seed,
                dir,
            } => {
                self.experiment = experiment.clone();
                self.title = title.clone();
                self.params = params.clone();
                self.seed = Some(*seed);
                self.dir = Some(dir.clone());
                self.status = Status::Running;
            }
            Event::Metric { step, name, value } => {
                self.metrics
                    .entry(name.clone())
                    .or_default()
                    .push(*step, *value);
            }
            Event::Progress {
                step,
                total,
                steps_per_sec,
            } => {
                self.step = *step;
                self.total = *total;
                self.steps_per_sec = *steps_per_sec;
            }
            Event::Log(line) => self.push_log(line.clone()),
            Event::Figure { step, figure } => {
                self.figures
                    .insert(figure.title().to_string(), (*step, figure.clone()));
            }
            Event::Paused => self.status = Status::Paused,
            Event::Resumed => self.status = Status::Running,
            Event::Finished { summary, elapsed_s } => {
                self.status = Status::Finished;
                self.summary = Some(summary.clone());
                self.elapsed_s = *elapsed_s;
                if self.total > 0 {
                    self.step = self.total;
                }
            }
            Event::Stopped { step } => {
                self.status = Status::Stopped;
                self.step = *step;
            }
            Event::Diverged { step, reason } => {
                self.status = Status::Diverged;
                self.step = *step;
                self.reason = Some(format!("at step {step}: {reason}"));
            }
            Event::Failed { reason } => {
                self.status = Status::Failed;
                self.reason = Some(reason.clone());
            }
        }
    }

    /// The latest value of a metric.
    pub fn latest(&self, name: &str) -> Option<f64> {
        self.metrics
            .get(name)
            .and_then(|s| s.last())
            .map(|p| p.value)
    }

    /// Seconds left at the current speed, once the speed is known.
    pub fn eta_secs(&self) -> Option<f64> {
        (self.status == Status::Running && self.steps_per_sec > 0.0 && self.total > self.step)
            .then(|| (self.total - self.step) as f64 / self.steps_per_sec)
    }

    /// Reads a saved run from its directory.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let spec_path = dir.join("spec.toml");
        let text = std::fs::read_to_string(&spec_path)
            .map_err(|e| format!("{}: {e}", spec_path.display()))?;
        let table: toml::Table = toml::from_str(&text)
            .map_err(|e| format!("{}: {}", spec_path.display(), e.message()))?;
        let get = |k: &str| {
            table
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let mut params = Params::default();
        if let Some(toml::Value::Table(p)) = table.get("params") {
            for (k, v) in p {
                let value = match v {
                    toml::Value::Integer(i) => Value::Int(*i),
                    toml::Value::Float(x) => Value::Float(*x),
                    toml::Value::Boolean(b) => Value::Bool(*b),
                    toml::Value::String(s) => Value::Str(s.clone()),
                    toml::Value::Array(a) => {
                        Value::IntList(a.iter().filter_map(|x| x.as_integer()).collect())
                    }
                    _ => continue,
                };
                params.insert(k, value);
            }
        }
        let mut run = RunState::new(&name, &get("experiment"), &get("title"), params);
        run.dir = Some(dir.to_path_buf());
        run.seed = table
            .get("seed")
            .and_then(|v| v.as_integer())
            .map(|s| s as u64);
        run.status = Status::Interrupted;

        if let Ok(text) = std::fs::read_to_string(dir.join("metrics.jsonl")) {
            for line in text.lines() {
                // a line cut short by a kill is skipped, not an error
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                let (Some(step), Some(name)) = (v["step"].as_u64(), v["name"].as_str()) else {
                    continue;
                };
                let value = match &v["value"] {
                    serde_json::Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
                    serde_json::Value::String(s) => s.parse::<f64>().unwrap_or(f64::NAN),
                    _ => f64::NAN,
                };
                run.metrics
                    .entry(name.to_string())
                    .or_default()
                    .push(step, value);
                run.step = run.step.max(step);
            }
        }
        if let Ok(text) = std::fs::read_to_string(dir.join("log.txt")) {
            for line in text.lines() {
                run.push_log(line.to_string());
            }
        }
        if let Ok(text) = std::fs::read_to_string(dir.join("summary.json")) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                run.status = v["status"]
                    .as_str()
                    .and_then(Status::from_label)
                    .unwrap_or(Status::Interrupted);
                run.step = v["step"].as_u64().unwrap_or(run.step);
                run.total = v["total"].as_u64().unwrap_or(0);
                run.elapsed_s = v["elapsed_s"].as_f64().unwrap_or(0.0);
                run.reason = v["reason"].as_str().map(str::to_string);
                let mut summary = Summary::default();
                if let Some(m) = v["summary"]["metrics"].as_object() {
                    for (k, x) in m {
                        let value = x
                            .as_f64()
                            .or_else(|| x.as_str().and_then(|s| s.parse().ok()));
                        if let Some(value) = value {
                            summary.set(k, value);
                        }
                    }
                }
                if let Some(notes) = v["summary"]["notes"].as_array() {
                    for n in notes.iter().filter_map(|n| n.as_str()) {
                        summary.note(n);
                    }
                }
                run.summary = Some(summary);
            }
        }
        if run.status == Status::Interrupted && run.reason.is_none() {
            run.reason = Some("the process ended while this run was training".into());
        }
        Ok(run)
    }

    /// Every saved run under `runs_dir`, oldest first, and a message per directory that could
    /// not be read.
    pub fn load_all(runs_dir: &Path) -> (Vec<RunState>, Vec<String>) {
        let mut runs = Vec::new();
        let mut errors = Vec::new();
        let Ok(entries) = std::fs::read_dir(runs_dir) else {
            return (runs, errors);
        };
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            match RunState::load(&dir) {
                Ok(r) => runs.push(r),
                Err(e) => errors.push(e),
            }
        }
        (runs, errors)
    }
}
