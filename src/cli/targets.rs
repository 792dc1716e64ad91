//! Runs named on the command line (by id, by folder, or a sweep's id for all its runs), as
//! `export` and `plot` take them, and what both check and write.

use std::path::{Path, PathBuf};

use fail_lab::engine::{RunState, SWEEPS_DIR};
use fail_lab::sweep::{record, SweepRecord};

/// The runs named on the command line, and the sweep they came from when one sweep was
/// named alone.
pub struct Targets {
    pub runs: Vec<RunState>,
    pub sweep: Option<(SweepRecord, Vec<Option<RunState>>)>,
}

/// Reads each name as a run folder, a run id in `runs_dir` or a sweep id.
pub fn resolve(names: &[String], runs_dir: &Path) -> Result<Targets, String> {
    let mut runs = Vec::new();
    let mut sweeps = Vec::new();
    for name in names {
        let as_path = PathBuf::from(name);
        if as_path.join("spec.toml").is_file() {
            runs.push(RunState::load(&as_path)?);
        } else if runs_dir.join(name).join("spec.toml").is_file() {
            runs.push(RunState::load(&runs_dir.join(name))?);
        } else if record::sweep_dir(runs_dir, name)
            .join(record::RECORD_FILE)
            .is_file()
        {
            let mut rec = SweepRecord::load(runs_dir, name)?;
            let mut states = rec.refresh(runs_dir);
            // the record's runs are read from their summaries; their points are needed here
            states.iter_mut().flatten().for_each(|s| {
                s.load_series();
            });
            runs.extend(states.iter().flatten().cloned());
            sweeps.push((rec, states));
        } else {
            return Err(unknown(name, runs_dir));
        }
    }
    let sweep = if sweeps.len() == 1 && names.len() == 1 {
        sweeps.pop()
    } else {
        None
    };
    Ok(Targets { runs, sweep })
}

/// "no run or sweep X": and what there is.
fn unknown(name: &str, runs_dir: &Path) -> String {
    let mut ids: Vec<String> = std::fs::read_dir(runs_dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().join("spec.toml").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n != SWEEPS_DIR)
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    let sweeps = record::list(runs_dir);
    let mut what = Vec::new();
    if !ids.is_empty() {
        what.push(format!("runs: {}", listing(&ids)));
    }
    if !sweeps.is_empty() {
        what.push(format!("sweeps: {}", listing(&sweeps)));
    }
    if what.is_empty() {
        what.push(format!("no run or sweep in {}", runs_dir.display()));
    }
    format!(
        "{name}: not a run folder, nor a run or sweep id in {} (--runs); {}",
        runs_dir.display(),
        what.join("; ")
    )
}

/// The last ten names, newest last, and how many more there are.
fn listing(names: &[String]) -> String {
    let skip = names.len().saturating_sub(10);
    let shown = names[skip..].join(", ");
    if skip > 0 {
        format!("{shown} (and {skip} older)")
    } else {
        shown
    }
}

/// Refuses names that none of `known` is, naming what there is.
pub fn check_names(asked: &[String], known: &[String], what: &str) -> Result<(), String> {
    for a in asked {
        if !known.contains(a) {
            let there = if known.is_empty() {
                "the runs have none".to_string()
            } else {
                format!("they have: {}", known.join(", "))
            };
            return Err(format!("no {what} {a} in these runs; {there}"));
        }
    }
    Ok(())
}

/// Every metric name of the runs' series, sorted.
pub fn metric_names(runs: &[RunState]) -> Vec<String> {
    let mut names: Vec<String> = runs
        .iter()
        .flat_map(|r| r.metrics.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Writes `bytes` to `out`, or stdout without one.
pub fn emit(out: Option<&Path>, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    match out {
        Some(p) => {
            std::fs::write(p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))
        }
        None => {
            // a closed pipe (`| head`) ends the output, not the command
            let _ = std::io::stdout().lock().write_all(bytes);
            Ok(())
        }
    }
}
