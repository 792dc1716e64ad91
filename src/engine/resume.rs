//! A stopped or killed run continued from its last checkpoint (`run --resume`), and a new run
//! forked from a checkpoint of another with some parameters changed (`run --fork`).

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use crossbeam_channel::Sender;

use super::checkpoint::{self, Checkpoint, FileLens};
use super::owner::{Liveness, Owner};
use super::store::{self, parse_metric_line, RunWriter};
use super::{
    first_files, resolved, start, validate, Continuation, LaunchOptions, RunEvent, RunHandle,
};
use crate::experiments::{Registry, Restore};
use crate::spec::{load_scenario, Scenario};

/// The parameters a fork may change: they keep every network's shapes and the data drawn so
/// far (learning rate, optimizer, batch, method, steps, evaluations and probes).
pub const FORKABLE: &[&str] = &[
    "lr",
    "optimizer",
    "batch",
    "method",
    "steps",
    "steps_e2e",
    "steps_dec",
    "eval_every",
    "eval_samples",
    "snr_samples",
    "snr_every",
];

/// A run started from a checkpoint, or from step 0 where there was none to continue from.
pub struct Continued {
    pub handle: RunHandle,
    /// The step of the checkpoint it continues from; `None`: it starts again from step 0.
    pub from_step: Option<u64>,
    /// Checkpoints passed over and other things the user should read.
    pub notes: Vec<String>,
}

/// A run folder's scenario, from its `spec.toml`.
pub fn run_scenario(dir: &Path) -> Result<Scenario, String> {
    let spec = dir.join("spec.toml");
    if !spec.exists() {
        return Err(format!(
            "{} is not a run folder: it has no spec.toml",
            dir.display()
        ));
    }
    let scenario = load_scenario(&spec, &Registry).map_err(|e| e.to_string())?;
    validate(&scenario)?;
    if scenario.seed.is_none() {
        return Err(format!("{}: the run's spec has no seed", spec.display()));
    }
    Ok(scenario)
}

fn run_id(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// Cuts a run's files back to their lengths at a checkpoint; false where a file is shorter
/// than the checkpoint says (the files lost lines it counted).
fn cut_files(dir: &Path, lens: FileLens) -> std::io::Result<bool> {
    for (name, len) in [
        ("metrics.jsonl", lens.metrics),
        ("log.txt", lens.log),
        ("figures.jsonl", lens.figures),
    ] {
        let path = dir.join(name);
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)?;
        if f.metadata()?.len() < len {
            return Ok(false);
        }
        f.set_len(len)?;
    }
    Ok(true)
}

/// The latest value of each metric in a run's `metrics.jsonl`.
fn latest_values(dir: &Path) -> BTreeMap<String, f64> {
    let mut latest = BTreeMap::new();
    if let Ok(text) = fs::read_to_string(dir.join("metrics.jsonl")) {
        for (_, name, value) in text.lines().filter_map(parse_metric_line) {
            latest.insert(name, value);
        }
    }
    latest
}

/// Continues the run in `dir` from its last checkpoint (the previous one where the last does
/// not read), in the same folder: its files are cut back to the checkpoint's step, so
/// `metrics.jsonl` goes on with no step repeated or missing. A run with no usable checkpoint
/// starts again from step 0, and `notes` says so. A finished run, or one another process
/// still trains, is refused.
pub fn resume(
    dir: &Path,
    opts: &LaunchOptions,
    events: Sender<RunEvent>,
) -> Result<Continued, String> {
    let id = run_id(dir);
    let scenario = run_scenario(dir)?;
    let def = validate(&scenario)?;
    if let Some(summary) = fs::read_to_string(dir.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    {
        if summary["status"] == "finished" {
            return Err(format!(
                "run {id} finished (step {}): there is nothing to resume; `--fork {id}` trains \
                 on from one of its checkpoints with new parameters",
                summary["step"]
            ));
        }
    }
    if let Some(owner) = Owner::read(dir) {
        if !owner.is_current() && owner.liveness(dir) == Liveness::Alive {
            return Err(format!(
                "run {id} is still being trained by {}; resume it when that has ended",
                owner.describe()
            ));
        }
    }
    let seed = scenario.seed.unwrap_or_default();
    let mut notes = Vec::new();
    let belongs =
        |c: &Checkpoint| checkpoint::check_belongs(c, &scenario.experiment, &scenario.params, seed);
    let mut found = checkpoint::latest(dir, &belongs, &mut notes);
    if let Some(c) = &found {
        if c.header.threads != opts.compute_threads {
            notes.push(format!(
                "the checkpoint was written with {} compute threads and the run goes on with {}: \
                 its numbers may differ in the last bits from an uninterrupted run",
                c.header.threads, opts.compute_threads
            ));
        }
        let whole = cut_files(dir, c.header.files)
            .map_err(|e| format!("cannot cut the files of {} back: {e}", dir.display()))?;
        if !whole {
            notes.push(format!(
                "{}: the run's files are shorter than at its step {}; training again from step 0",
                c.path.display(),
                c.header.step
            ));
            found = None;
        }
    }
    if found.is_none() {
        cut_files(dir, FileLens::default())
            .map_err(|e| format!("cannot empty the files of {}: {e}", dir.display()))?;
        notes.push(if def.checkpoints {
            format!("run {id} has no checkpoint to continue from: it trains again from step 0")
        } else {
            no_checkpoints(&id, def.id)
        });
    }
    let _ = fs::remove_file(dir.join("summary.json"));
    let mut writer =
        RunWriter::reopen(&id, dir).map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
    for n in &notes {
        writer.log(&format!("note: {n}"));
    }
    let cont = found.map(|c| {
        writer.log(&format!(
            "resumed from the checkpoint of step {} ({})",
            c.header.step,
            c.path.display()
        ));
        Continuation {
            restore: Restore {
                step: c.header.step,
                state: c.state,
                fork: false,
            },
            elapsed_s: c.header.elapsed_s,
            latest: latest_values(dir),
        }
    });
    if cont.is_none() {
        writer.log("resumed with no checkpoint: training again from step 0");
    }
    let from_step = cont.as_ref().map(|c| c.restore.step);
    let handle = start(
        &scenario,
        def.run,
        (id, dir.to_path_buf()),
        writer,
        cont,
        opts,
        events,
    )?;
    Ok(Continued {
        handle,
        from_step,
        notes,
    })
}

/// Why a run of an experiment that keeps no checkpoints starts again from step 0.
pub fn no_checkpoints(run: &str, experiment: &str) -> String {
    format!(
        "run {run} starts again from step 0: {experiment} keeps no checkpoints, as it trains \
         nothing (it measures or computes at initialisation, from its seed alone); the \
         experiments that checkpoint are {}",
        checkpointing().join(", ")
    )
}

/// The ids of the experiments that write checkpoints.
pub fn checkpointing() -> Vec<&'static str> {
    crate::experiments::registry()
        .iter()
        .filter(|e| e.checkpoints)
        .map(|e| e.id)
        .collect()
}

/// Whether the run folder `dir` holds a run that was cut off or stopped (it has a spec and no
/// summary, or a summary that says it was stopped): one that `resume` continues.
pub fn resumable(dir: &Path) -> bool {
    if !dir.join("spec.toml").is_file() {
        return false;
    }
    match fs::read_to_string(dir.join("summary.json")) {
        Err(_) => true,
        Ok(text) => {
            serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v["status"] == "stopped")
        }
    }
}

/// `RUN` or `RUN@STEP`: a run folder (a path, or an id in `runs_dir`) and a step.
pub fn parse_fork_target(target: &str, runs_dir: &Path) -> Result<(PathBuf, Option<u64>), String> {
    let (run, step) = match target.rsplit_once('@') {
        Some((run, step)) => {
            let step = step.trim().parse::<u64>().map_err(|_| {
                format!("--fork {target}: \"{step}\" is not a step; allowed: RUN or RUN@STEP")
            })?;
            (run, Some(step))
        }
        None => (target, None),
    };
    let as_path = PathBuf::from(run);
    let dir = if as_path.join("spec.toml").exists() {
        as_path
    } else {
        runs_dir.join(run)
    };
    if !dir.join("spec.toml").exists() {
        return Err(format!(
            "--fork {target}: no run {run} (neither a run folder nor a run id in {})",
            runs_dir.display()
        ));
    }
    Ok((dir, step))
}

/// Checks the parameters a fork changes: only [`FORKABLE`] ones, and not the seed.
pub fn check_fork_params(parent: &Scenario, child: &Scenario) -> Result<(), String> {
    if parent.seed != child.seed {
        return Err(
            "--set seed: a fork goes on with its parent's random streams; its seed is the \
             parent's"
                .into(),
        );
    }
    for name in parent.params.differing(&child.params) {
        if !FORKABLE.contains(&name) {
            return Err(format!(
                "--set {name}: a fork cannot change {name}: it shapes the networks or the data \
                 drawn before the checkpoint, so the checkpoint does not fit it; a fork may \
                 change {}",
                FORKABLE.join(", ")
            ));
        }
    }
    Ok(())
}

/// Starts a new run (a new folder in `opts.runs_dir`) from a checkpoint of the run in
/// `parent_dir`, at `step` (a kept checkpoint, or the latest) or the latest, with the
/// parameter changes `sets` (`name=value`, only [`FORKABLE`] names). Its `spec.toml` names
/// its parent and the step in a `[fork]` table.
pub fn fork(
    parent_dir: &Path,
    step: Option<u64>,
    sets: &[String],
    opts: &LaunchOptions,
    events: Sender<RunEvent>,
) -> Result<Continued, String> {
    let parent_id = run_id(parent_dir);
    let parent = run_scenario(parent_dir)?;
    let mut child = parent.clone();
    for s in sets {
        child.set(s, &Registry).map_err(|e| e.to_string())?;
    }
    let def = validate(&child)?;
    if !def.checkpoints {
        return Err(format!(
            "--fork {parent_id}: {} keeps no checkpoints, as it trains nothing (it measures or \
             computes at initialisation, from its seed alone): run it again with `run` and \
             --set; the experiments that checkpoint are {}",
            def.id,
            checkpointing().join(", ")
        ));
    }
    check_fork_params(&parent, &child)?;
    let seed = parent.seed.unwrap_or_default();
    let belongs =
        |c: &Checkpoint| checkpoint::check_belongs(c, &parent.experiment, &parent.params, seed);
    let mut notes = Vec::new();
    let c =
        match step {
            Some(s) => {
                let latest = checkpoint::latest(parent_dir, &belongs, &mut notes);
                match latest.filter(|c| c.header.step == s) {
                    Some(c) => c,
                    None => {
                        let path = parent_dir.join(checkpoint::kept_name(s));
                        if !path.exists() {
                            let kept = checkpoint::kept_steps(parent_dir);
                            return Err(format!(
                            "--fork {parent_id}@{s}: run {parent_id} kept no checkpoint at step \
                             {s}; kept: {} (a scenario keeps steps with keep_checkpoints = [...])",
                            if kept.is_empty() {
                                "none".to_string()
                            } else {
                                kept.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
                            }
                        ));
                        }
                        let c = checkpoint::read(&path)?;
                        belongs(&c)?;
                        c
                    }
                }
            }
            None => checkpoint::latest(parent_dir, &belongs, &mut notes).ok_or_else(|| {
                let mut msg = format!("--fork {parent_id}: run {parent_id} has no checkpoint");
                for n in &notes {
                    msg.push_str(&format!("; {n}"));
                }
                msg
            })?,
        };
    let at = c.header.step;
    child.title = format!("{} (fork of {parent_id} at step {at})", parent.title);
    let child = resolved(&child);
    let (id, dir) = store::create_run_dir(&opts.runs_dir, &child.experiment).map_err(|e| {
        format!(
            "cannot create a run directory in {}: {e}",
            opts.runs_dir.display()
        )
    })?;
    let extra = format!(
        "[fork]\nparent = {}\nstep = {at}\n",
        toml::Value::String(parent_id.clone())
    );
    let mut writer = first_files(&child, &id, &dir, &extra)?;
    let changed: Vec<String> = parent
        .params
        .differing(&child.params)
        .iter()
        .map(|n| {
            format!(
                "{n} = {}",
                child
                    .params
                    .get(n)
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            )
        })
        .collect();
    writer.log(&format!(
        "forked from run {parent_id} at step {at} ({}){}",
        c.path.display(),
        if changed.is_empty() {
            String::new()
        } else {
            format!(", with {}", changed.join(", "))
        }
    ));
    let cont = Continuation {
        restore: Restore {
            step: at,
            state: c.state,
            fork: true,
        },
        elapsed_s: 0.0,
        latest: BTreeMap::new(),
    };
    let handle = start(&child, def.run, (id, dir), writer, Some(cont), opts, events)?;
    Ok(Continued {
        handle,
        from_step: Some(at),
        notes,
    })
}

/// The parent run and fork step a run's `spec.toml` records, if it is a fork.
pub fn fork_of(dir: &Path) -> Option<(String, u64)> {
    let text = fs::read_to_string(dir.join("spec.toml")).ok()?;
    let table: toml::Table = text.parse().ok()?;
    let fork = table.get("fork")?.as_table()?;
    Some((
        fork.get("parent")?.as_str()?.to_string(),
        fork.get("step")?.as_integer()? as u64,
    ))
}
