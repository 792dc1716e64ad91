//! What is known about one run, built from its events (live) or from its files (saved).

use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::owner::{Liveness, Owner};
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
    /// Training in another process (its `owner.json` names a process that still runs); what
    /// is known comes from its files, read again as they grow (see [`RunState::refresh`]).
    Elsewhere,
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
            Status::Elsewhere => "running elsewhere",
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

    /// Still training in this process, or waiting to (a run trained elsewhere is not: this
    /// process can neither pause nor stop it, nor does it wait for it).
    pub fn is_active(self) -> bool {
        matches!(self, Status::Queued | Status::Running | Status::Paused)
    }
}

const MAX_LOG_LINES: usize = 500;

/// A followed run's speed falls to "unknown" after this long without a new step.
const SPEED_STALE: Duration = Duration::from_secs(10);

/// How far the files of a run trained elsewhere have been read: the byte offset just past the
/// last complete line of each (a line still being written is read next time, whole).
#[derive(Debug, Clone)]
struct Follow {
    metrics: u64,
    log: u64,
    figures: u64,
    /// The latest step seen and when it was first seen, for the speed.
    seen: (Instant, u64),
}

/// Reads `path` from byte `from` on: the text of the complete lines (those ending in a
/// newline) and the offset just past them; with `to_end`, a last line without a newline too
/// (the writer is gone, nothing will complete it). A missing or unreadable file reads as
/// nothing new.
fn read_from(path: &Path, from: u64, to_end: bool) -> (String, u64) {
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path).and_then(|mut f| {
        if f.metadata()?.len() <= from {
            return Ok(());
        }
        f.seek(SeekFrom::Start(from))?;
        f.read_to_end(&mut bytes).map(|_| ())
    });
    if read.is_err() {
        return (String::new(), from);
    }
    if !to_end {
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(complete);
    }
    let next = from + bytes.len() as u64;
    (String::from_utf8_lossy(&bytes).into_owned(), next)
}

/// `summary.json`, if it is there and whole.
fn read_summary(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("summary.json")).ok()?;
    serde_json::from_str(&text).ok()
}

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
    /// The process that writes (or wrote) this run, from its `owner.json`.
    pub owner: Option<Owner>,
    /// The sweep this run belongs to (its `spec.toml`'s `[sweep_point]`).
    pub sweep: Option<String>,
    /// The run this one was forked from and the step of its checkpoint (its `spec.toml`'s
    /// `[fork]`).
    pub fork: Option<(String, u64)>,
    /// Set while the run is trained elsewhere.
    follow: Option<Follow>,
    /// A saved run whose metrics and log are still on disk only: it was loaded from its
    /// summary (see [`RunState::load`]) and reads them when first shown.
    series_on_disk: bool,
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
            owner: None,
            sweep: None,
            fork: None,
            follow: None,
            series_on_disk: false,
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
                self.fork = super::resume::fork_of(dir);
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
        match self.metrics.get(name).and_then(|s| s.last()) {
            Some(p) => Some(p.value),
            // a run loaded from its summary: the summary's value of that name, if it has one
            None if self.series_on_disk => self.summary.as_ref()?.metrics.get(name).copied(),
            None => None,
        }
    }

    /// True while the metrics and log of a saved run are still on disk only.
    pub fn series_on_disk(&self) -> bool {
        self.series_on_disk
    }

    /// Reads a saved run's metrics and log if they were left on disk by [`RunState::load`].
    /// Returns true if it read them now.
    pub fn load_series(&mut self) -> bool {
        if !std::mem::take(&mut self.series_on_disk) {
            return false;
        }
        let Some(dir) = self.dir.clone() else {
            return false;
        };
        // an ended run's step is its summary's: a metric's x is not always a training step
        // (E5 plots against n, L3 and T1 against d), and the last metric may come before it
        let (step, ended) = (self.step, self.summary.is_some() || self.total > 0);
        self.read_metrics(&dir, 0, true);
        self.read_log(&dir, 0, true);
        self.step = if ended { step } else { step.max(self.step) };
        true
    }

    /// Seconds left at the current speed, once the speed is known.
    pub fn eta_secs(&self) -> Option<f64> {
        (self.status == Status::Running && self.steps_per_sec > 0.0 && self.total > self.step)
            .then(|| (self.total - self.step) as f64 / self.steps_per_sec)
    }

    /// Reads a saved run from its directory, metrics and log included.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut run = Self::load_summary(dir)?;
        run.load_series();
        Ok(run)
    }

    /// Reads a saved run from its directory; a run that ended (it has its `summary.json`)
    /// leaves its metrics and log on disk until [`RunState::load_series`] is called, so that a
    /// folder of thousands of runs opens fast and small. A run without a summary (one trained
    /// elsewhere, or cut off) is read whole.
    pub fn load_summary(dir: &Path) -> Result<Self, String> {
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
        run.sweep = table
            .get("sweep_point")
            .and_then(|p| p.get("sweep"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        run.fork = table.get("fork").and_then(|f| {
            Some((
                f.get("parent")?.as_str()?.to_string(),
                f.get("step")?.as_integer()? as u64,
            ))
        });
        run.status = Status::Interrupted;

        // a run with its summary has ended, whoever wrote it. Without one, whether the writer
        // still runs is asked before looking for `summary.json` again: a run that ends in
        // between is then found finished, never cut off
        let owner = Owner::read(dir);
        let mut summary = read_summary(dir);
        let alive = summary.is_none()
            && owner
                .as_ref()
                .is_some_and(|o| o.liveness(dir) == Liveness::Alive);
        if summary.is_none() {
            summary = read_summary(dir);
        }
        let follow = alive && summary.is_none();
        // a run that goes on is read up to its last complete line; the rest comes later. A
        // run that ended keeps its series on disk until they are asked for.
        let (metrics, log) = if summary.is_some() {
            run.series_on_disk = true;
            (0, 0)
        } else {
            (
                run.read_metrics(dir, 0, !follow).1,
                run.read_log(dir, 0, !follow).1,
            )
        };
        let figures = if follow {
            run.read_figures(dir, 0, false).1
        } else {
            0
        };
        run.owner = owner;
        if let Some(v) = &summary {
            run.apply_summary(v);
        } else if follow {
            run.status = Status::Elsewhere;
            run.follow = Some(Follow {
                metrics,
                log,
                figures,
                seen: (Instant::now(), run.step),
            });
        }
        if run.status == Status::Interrupted && run.reason.is_none() {
            run.reason = Some("the process ended while this run was training".into());
        }
        Ok(run)
    }

    /// Applies the lines of `metrics.jsonl` from byte `from` on (see [`read_from`]). Returns
    /// the number of metric points read and the offset to read from next time.
    fn read_metrics(&mut self, dir: &Path, from: u64, to_end: bool) -> (usize, u64) {
        let (text, next) = read_from(&dir.join("metrics.jsonl"), from, to_end);
        let mut n = 0;
        // a line cut short by a kill is skipped, not an error
        for (step, name, value) in text.lines().filter_map(super::store::parse_metric_line) {
            self.metrics.entry(name).or_default().push(step, value);
            self.step = self.step.max(step);
            n += 1;
        }
        (n, next)
    }

    /// Applies the lines of `log.txt` from byte `from` on.
    fn read_log(&mut self, dir: &Path, from: u64, to_end: bool) -> (usize, u64) {
        let (text, next) = read_from(&dir.join("log.txt"), from, to_end);
        let mut n = 0;
        for line in text.lines() {
            self.push_log(line.to_string());
            n += 1;
        }
        (n, next)
    }

    /// Reads a saved run's figures from its `figures.jsonl` (a saved run reads them when they
    /// are first shown, not when it is loaded: images make the file large). Lines that do not
    /// parse are skipped: a run killed mid-write leaves a partial last line.
    pub fn load_figures(&mut self) {
        if let Some(dir) = self.dir.clone() {
            self.read_figures(&dir, 0, true);
        }
    }

    /// Applies the lines of `figures.jsonl` from byte `from` on (the latest of each title).
    fn read_figures(&mut self, dir: &Path, from: u64, to_end: bool) -> (usize, u64) {
        let (text, next) = read_from(&dir.join("figures.jsonl"), from, to_end);
        let mut n = 0;
        for (step, f) in text.lines().filter_map(super::store::parse_figure_line) {
            self.figures.insert(f.title().to_string(), (step, f));
            n += 1;
        }
        (n, next)
    }

    /// Takes the end of the run from its `summary.json`.
    fn apply_summary(&mut self, v: &serde_json::Value) {
        self.status = v["status"]
            .as_str()
            .and_then(Status::from_label)
            .unwrap_or(Status::Interrupted);
        self.step = v["step"].as_u64().unwrap_or(self.step);
        self.total = v["total"].as_u64().unwrap_or(0);
        self.elapsed_s = v["elapsed_s"].as_f64().unwrap_or(0.0);
        self.reason = v["reason"].as_str().map(str::to_string);
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
        self.summary = Some(summary);
    }

    /// True while the run is trained by another process and followed through its files.
    pub fn is_elsewhere(&self) -> bool {
        self.status == Status::Elsewhere
    }

    /// For a run trained elsewhere: reads what its process wrote since the last call (whole
    /// lines only), then whether it ended: with a `summary.json` the run takes its final
    /// status from it, and once the process is gone without one it is interrupted. Only
    /// reads; the files are never touched. Returns true if anything changed.
    pub fn refresh(&mut self) -> bool {
        if self.status != Status::Elsewhere {
            return false;
        }
        let (Some(dir), Some(mut f)) = (self.dir.clone(), self.follow.take()) else {
            return false;
        };
        // as in `load`: first whether the writer runs, then whether it wrote its end
        let alive = self
            .owner
            .as_ref()
            .is_some_and(|o| o.liveness(&dir) == Liveness::Alive);
        let summary = read_summary(&dir);
        // once the writer is done, a last line without a newline will stay so: read it too
        let done = !alive || summary.is_some();
        let (m, metrics) = self.read_metrics(&dir, f.metrics, done);
        let (l, log) = self.read_log(&dir, f.log, done);
        let (g, figures) = self.read_figures(&dir, f.figures, done);
        let mut changed = m + l + g > 0;
        if let Some(v) = &summary {
            self.apply_summary(v);
            self.steps_per_sec = 0.0;
            if self.status == Status::Interrupted && self.reason.is_none() {
                self.reason = Some("the process ended while this run was training".into());
            }
            return true;
        }
        if !alive {
            self.status = Status::Interrupted;
            self.steps_per_sec = 0.0;
            self.reason = Some("the process ended while this run was training".into());
            return true;
        }
        let (at, step) = f.seen;
        if self.step > step {
            let dt = at.elapsed().as_secs_f64();
            if dt > 0.0 {
                self.steps_per_sec = (self.step - step) as f64 / dt;
            }
            f.seen = (Instant::now(), self.step);
        } else if at.elapsed() >= SPEED_STALE && self.steps_per_sec != 0.0 {
            self.steps_per_sec = 0.0;
            changed = true;
        }
        self.follow = Some(Follow {
            metrics,
            log,
            figures,
            seen: f.seen,
        });
        changed
    }

    /// Every saved run under `runs_dir`, oldest first (read with [`RunState::load_summary`]),
    /// and a message per directory that could not be read. The sweeps folder (`SWEEPS_DIR`)
    /// holds records and the exports folder (`EXPORTS_DIR`) figures, not runs: both are passed
    /// over.
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
            .filter(|p| p.file_name().is_none_or(|n| !super::store::is_reserved(n)))
            .collect();
        dirs.sort();
        // thousands of small files: read on every core, kept in folder order
        use rayon::prelude::*;
        let loaded: Vec<Result<RunState, String>> =
            dirs.par_iter().map(|d| RunState::load_summary(d)).collect();
        for r in loaded {
            match r {
                Ok(r) => runs.push(r),
                Err(e) => errors.push(e),
            }
        }
        (runs, errors)
    }
}
