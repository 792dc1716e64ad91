//! Runs on disk: `runs/<id>/owner.json` (the process that writes the run, see [`super::owner`]),
//! `spec.toml`, `metrics.jsonl`, `log.txt`, `figures.jsonl` and, at the end, `summary.json`.
//! Metrics are flushed at least twice a second, so a killed process leaves every metric up to
//! its last flush.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::owner::Owner;
use crate::experiments::ctx::{json_f64, json_number, Figure, Summary};
use crate::spec::Scenario;

/// The folder of sweep records inside a runs folder (`<runs>/sweeps/<id>/sweep.json`); it
/// holds no run, and run ids (`<time>-<experiment>`) never take its name.
pub const SWEEPS_DIR: &str = "sweeps";

/// The folder of figures the lab exports inside a runs folder (`<runs>/exports/`); it holds
/// no run either.
pub const EXPORTS_DIR: &str = "exports";

/// True for the folders of a runs folder that hold no run: sweeps and exports.
pub fn is_reserved(name: &std::ffi::OsStr) -> bool {
    name == SWEEPS_DIR || name == EXPORTS_DIR
}

const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// `YYYYmmdd-HHMMSS` in UTC (run ids, sweep ids, log lines); a time before 1970 (a clock
/// set wrong) reads as the epoch.
pub fn timestamp(t: SystemTime) -> String {
    jiff::Timestamp::try_from(t)
        .ok()
        .filter(|ts| *ts >= jiff::Timestamp::UNIX_EPOCH)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y%m%d-%H%M%S")
        .to_string()
}

/// Creates a fresh run directory `<runs_dir>/<time>-<experiment>[-n]` and returns its id.
pub fn create_run_dir(runs_dir: &Path, experiment: &str) -> io::Result<(String, PathBuf)> {
    fs::create_dir_all(runs_dir)?;
    let base = format!(
        "{}-{}",
        timestamp(SystemTime::now()),
        experiment.to_lowercase()
    );
    for n in 1..10_000 {
        let id = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let dir = runs_dir.join(&id);
        match fs::create_dir(&dir) {
            Ok(()) => return Ok((id, dir)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("could not find a free run directory name"))
}

/// One line of `metrics.jsonl` as [`RunWriter::metric`] writes it: step, name and value;
/// `None` for a line that is not one (a line cut short by a kill).
pub fn parse_metric_line(line: &str) -> Option<(u64, String, f64)> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let (step, name) = (v["step"].as_u64()?, v["name"].as_str()?);
    Some((step, name.to_string(), json_f64(&v["value"])))
}

/// One line of `figures.jsonl` as [`RunWriter::figure`] writes it: step and figure.
pub fn parse_figure_line(line: &str) -> Option<(u64, Figure)> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    Some((v["step"].as_u64()?, Figure::from_json(&v["figure"])?))
}

/// Creates `<runs_dir>/<id>` for a run whose name was chosen in advance (a cluster task's run,
/// named by its sweep before the task starts). The folder must not exist: a name is used once.
pub fn create_named_run_dir(runs_dir: &Path, id: &str) -> io::Result<PathBuf> {
    let plain = !id.is_empty()
        && id != SWEEPS_DIR
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "\"{id}\" is not a run folder name (allowed: letters, digits, '-', '_', '.', \
                 not starting with '.', not \"{SWEEPS_DIR}\")"
            ),
        ));
    }
    fs::create_dir_all(runs_dir)?;
    let dir = runs_dir.join(id);
    match fs::create_dir(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(io::Error::new(
            e.kind(),
            format!(
                "{} exists already: run {id} was started before, and a run folder is written once",
                dir.display()
            ),
        )),
        Err(e) => Err(e),
    }
}

/// How a run ended, as written to `summary.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct EndRecord {
    pub status: &'static str,
    pub step: u64,
    pub total: u64,
    pub elapsed_s: f64,
    pub reason: Option<String>,
    pub summary: Summary,
}

/// Writes one run's files as the run goes.
pub struct RunWriter {
    dir: PathBuf,
    id: String,
    metrics: BufWriter<File>,
    log: BufWriter<File>,
    figures: BufWriter<File>,
    last_flush: Instant,
    /// The first write error, reported once.
    pub error: Option<String>,
}

fn append(path: &Path) -> io::Result<BufWriter<File>> {
    Ok(BufWriter::new(
        OpenOptions::new().create(true).append(true).open(path)?,
    ))
}

impl RunWriter {
    /// Writes `owner.json` (this process) and `spec.toml` (the scenario with its resolved
    /// seed) and opens the metric files. The owner comes first and the spec is written
    /// through a temporary file, so another process that reads the folder while it is being
    /// made sees either no run yet (no `spec.toml`) or a whole spec with its owner.
    pub fn create(id: &str, dir: &Path, scenario: &Scenario) -> io::Result<Self> {
        Self::create_with(id, dir, scenario, "")
    }

    /// [`RunWriter::create`] with TOML text after the scenario in `spec.toml`, in the same
    /// write (a sweep's `[sweep_point]`).
    pub fn create_with(
        id: &str,
        dir: &Path,
        scenario: &Scenario,
        spec_extra: &str,
    ) -> io::Result<Self> {
        Owner::current().write(dir)?;
        let tmp = dir.join("spec.toml.tmp");
        let mut spec = scenario.to_toml();
        if !spec_extra.is_empty() {
            spec.push('\n');
            spec.push_str(spec_extra);
        }
        fs::write(&tmp, spec)?;
        fs::rename(&tmp, dir.join("spec.toml"))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            id: id.to_string(),
            metrics: append(&dir.join("metrics.jsonl"))?,
            log: append(&dir.join("log.txt"))?,
            figures: append(&dir.join("figures.jsonl"))?,
            last_flush: Instant::now(),
            error: None,
        })
    }

    /// Opens the files of an existing run folder to write on (a resumed run): `owner.json`
    /// names this process; `spec.toml` stays as it is.
    pub fn reopen(id: &str, dir: &Path) -> io::Result<Self> {
        Owner::current().write(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            id: id.to_string(),
            metrics: append(&dir.join("metrics.jsonl"))?,
            log: append(&dir.join("log.txt"))?,
            figures: append(&dir.join("figures.jsonl"))?,
            last_flush: Instant::now(),
            error: None,
        })
    }

    /// Flushes the files and returns their lengths (what a checkpoint records).
    pub fn flushed_lens(&mut self) -> io::Result<super::checkpoint::FileLens> {
        self.flush();
        let len = |name: &str| fs::metadata(self.dir.join(name)).map(|m| m.len());
        Ok(super::checkpoint::FileLens {
            metrics: len("metrics.jsonl")?,
            log: len("log.txt")?,
            figures: len("figures.jsonl")?,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn record(&mut self, r: io::Result<()>) {
        if let Err(e) = r {
            if self.error.is_none() {
                self.error = Some(format!("writing {}: {e}", self.dir.display()));
            }
        }
    }

    pub fn metric(&mut self, step: u64, name: &str, value: f64) {
        let line = serde_json::json!({"step": step, "name": name, "value": json_number(value)});
        let r = writeln!(self.metrics, "{line}");
        self.record(r);
        self.maybe_flush();
    }

    pub fn log(&mut self, line: &str) {
        let r = writeln!(self.log, "{line}");
        self.record(r);
    }

    pub fn figure(&mut self, step: u64, figure: &Figure) {
        let line = serde_json::json!({"step": step, "figure": figure.to_json()});
        let r = writeln!(self.figures, "{line}");
        self.record(r);
    }

    pub fn maybe_flush(&mut self) {
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        let r = self
            .metrics
            .flush()
            .and_then(|_| self.log.flush())
            .and_then(|_| self.figures.flush());
        self.record(r);
        self.last_flush = Instant::now();
    }

    /// Flushes everything and writes `summary.json` (atomically, through a temporary file).
    pub fn finish(&mut self, end: &EndRecord) {
        self.flush();
        let json = serde_json::json!({
            "run": self.id,
            "status": end.status,
            "step": end.step,
            "total": end.total,
            "elapsed_s": end.elapsed_s,
            "reason": end.reason,
            "summary": end.summary.to_json(),
        });
        let tmp = self.dir.join("summary.json.tmp");
        let r = fs::write(&tmp, format!("{json:#}\n"))
            .and_then(|_| fs::rename(&tmp, self.dir.join("summary.json")));
        self.record(r);
    }
}

#[cfg(test)]
mod timestamp_tests {
    use super::timestamp;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    fn at(secs: u64) -> String {
        timestamp(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn run_ids_keep_their_utc_format() {
        assert_eq!(at(0), "19700101-000000");
        // 2000-02-29 23:59:59, a leap day in a century leap year
        assert_eq!(at(951_868_799), "20000229-235959");
        // 2026-12-06 02:11:16
        assert_eq!(at(1_796_523_076), "20261206-021116");
        // 2100-03-01 00:00:00, after a century year that is not a leap year
        assert_eq!(at(4_107_542_400), "21000301-000000");
        assert_eq!(
            timestamp(UNIX_EPOCH - Duration::from_secs(5)),
            "19700101-000000"
        );
        assert_eq!(timestamp(SystemTime::now()).len(), 15);
    }
}
