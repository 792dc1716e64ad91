//! `fail-lab sweep`: a grid of runs on the pool with a progress bar, then the grid's table;
//! `--resume ID` runs what a sweep is missing, `--status ID` prints its table; `--slurm`
//! hands the grid to Slurm instead (`slurm.rs`, `slurm_wait.rs`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub(crate) mod slurm;
mod slurm_wait;
mod table;

use clap::Args;

use super::args::{scenario_device, DeviceArg, ThreadsArg};
pub(super) use super::out::bad;
use super::out::{json_line, runs_bar, say};
use super::run::stop_on_signals;
use fail_lab::engine::pool::{self, Pool, PoolUpdate, Threads};
use fail_lab::engine::{Event, LaunchOptions, RunEvent};
use fail_lab::experiments::ctx::json_number;
use fail_lab::experiments::Registry;
use fail_lab::spec::sweep::{load_sweep, parse_grid_arg, parse_seeds};
use fail_lab::sweep::{self, record, Counts, GridPoint, Plan, Row, SweepRecord, SweepRun};

#[derive(Args)]
pub struct SweepArgs {
    /// The scenario file (TOML); its [sweep] table, if any, gives the grid and the seeds
    #[arg(required_unless_present_any = ["resume", "status", "cancel"])]
    file: Option<PathBuf>,
    /// Sweep a parameter over values: --grid d=5,10,20 (repeatable; replaces the file's axis
    /// of that name; a list parameter's values are separated by ';')
    #[arg(long = "grid", value_name = "NAME=V1,V2,...")]
    grid: Vec<String>,
    /// Seeds of every grid point: a count N (0..N-1), a range A..B (A to B-1) or a list 1,4,7
    #[arg(long, value_name = "SPEC")]
    seeds: Option<String>,
    /// Override a parameter of every run: --set name=value (repeatable)
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Runs that train at once (default: one per core)
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    #[command(flatten)]
    threads: ThreadsArg,
    #[command(flatten)]
    device: DeviceArg,
    /// Folder for the runs and the sweep record (default: the --runs folder)
    #[arg(long)]
    out: Option<PathBuf>,
    /// One JSON object per line on stdout: each run's events with its grid point, then
    /// sweep_finished
    #[arg(long)]
    json: bool,
    /// The table gives each result's 95% interval of the mean (Student's t over the seeds)
    #[arg(long)]
    ci: bool,
    /// Run again what sweep ID is missing (runs not started, stopped, interrupted or failed);
    /// a Slurm sweep's are submitted again, with its recorded options unless given anew
    #[arg(long, value_name = "ID", conflicts_with_all = ["file", "grid", "seeds", "set", "status"])]
    resume: Option<String>,
    /// Print sweep ID's table as it is now (a Slurm sweep's tasks with their state in the
    /// queue); starts no run
    #[arg(long, value_name = "ID", conflicts_with_all = ["file", "grid", "seeds", "set", "jobs"])]
    status: Option<String>,
    #[command(flatten)]
    slurm: Box<slurm::SlurmArgs>,
}

/// How a sweep's end is printed: the table (with intervals when `ci`) or JSON lines.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Show {
    pub json: bool,
    pub ci: bool,
}

impl SweepArgs {
    fn show(&self) -> Show {
        Show {
            json: self.json,
            ci: self.ci,
        }
    }
}

/// The `sweep` subcommand.
pub fn main(args: SweepArgs, runs_dir: &Path) -> ExitCode {
    let out = args.out.clone().unwrap_or_else(|| runs_dir.to_path_buf());
    if args.jobs == Some(0) {
        return bad("--jobs: got 0, allowed: at least 1 run at once");
    }
    let jobs = args.jobs.unwrap_or_else(pool::default_limit);
    let threads = match args.threads.share() {
        Ok(t) => t,
        Err(code) => return code,
    };
    if let Some(id) = &args.slurm.cancel {
        return slurm::cancel(id, args.slurm.cancel_run.as_deref(), &out);
    }
    if let Some(id) = &args.status {
        return status(id, &out, args.show());
    }
    if let Err(e) = args.slurm.check(args.jobs.is_some(), args.resume.is_some()) {
        return bad(e);
    }
    // where the runs train here (a Slurm sweep's runs choose on their nodes)
    if !args.slurm.slurm {
        let scenario_dev = args.file.as_deref().and_then(scenario_device);
        if let Err(code) = args.device.apply(scenario_dev.as_deref()) {
            return code;
        }
    }
    let rec = match &args.resume {
        Some(id) => resume(id, &out, &args),
        None => start(&args, &out),
    };
    let rec = match rec {
        Ok(Some(rec)) => rec,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => return bad(e),
    };
    if args.slurm.slurm || rec.slurm.is_some() {
        let fresh = args.resume.is_none();
        return slurm::submit(
            rec,
            &args.slurm,
            args.threads.raw("auto"),
            &out,
            args.show(),
            fresh,
        );
    }
    match SweepRun::new(rec, &out, &Registry) {
        // an entry whose run was stopped continues it from its checkpoint
        Ok(run) => drive(run.resuming_stopped(), jobs, threads, &out, args.show()),
        Err(e) => bad(e),
    }
}

/// Reads the file and the command line into a checked plan and writes its record.
fn start(args: &SweepArgs, out: &Path) -> Result<Option<SweepRecord>, String> {
    let file = args.file.as_deref().ok_or("a scenario file is needed")?;
    let (mut base, table) = load_sweep(file, &Registry).map_err(|e| e.to_string())?;
    for s in &args.set {
        base.set(s, &Registry).map_err(|e| e.to_string())?;
    }
    let mut axes = Vec::new();
    for g in &args.grid {
        let axis = parse_grid_arg(g, &base.experiment, &Registry).map_err(|e| e.to_string())?;
        if axes
            .iter()
            .any(|a: &fail_lab::spec::sweep::Axis| a.name == axis.name)
        {
            return Err(format!(
                "--grid {}: given twice; give its values once",
                axis.name
            ));
        }
        axes.push(axis);
    }
    let seeds = match &args.seeds {
        Some(s) => Some(parse_seeds(s).map_err(|e| format!("--seeds: {e}"))?),
        None => None,
    };
    let plan =
        Plan::new(base, table, axes, seeds).map_err(|e| format!("{}: {e}", file.display()))?;
    let rec = SweepRecord::create(&plan, out).map_err(|e| {
        let flag = if args.out.is_some() {
            "--out"
        } else {
            "--runs"
        };
        format!(
            "{flag} {}: cannot write a sweep record there: {e}",
            out.display()
        )
    })?;
    eprintln!(
        "sweep {}: {} runs ({} grid points x {} seeds) of {}; record in {}",
        rec.id,
        rec.runs.len(),
        plan.point_count(),
        plan.seeds.len(),
        plan.base.experiment,
        record::sweep_dir(out, &rec.id).display()
    );
    Ok(Some(rec))
}

/// Reads a sweep's record and keeps its done runs; the rest is to run again (`None` when
/// nothing is).
fn resume(id: &str, out: &Path, args: &SweepArgs) -> Result<Option<SweepRecord>, String> {
    let mut rec = SweepRecord::load(out, id)?;
    if rec.slurm.is_some() {
        slurm::refresh_for_resume(&mut rec, out)?;
    } else {
        if let Some(given) = args
            .slurm
            .sbatch
            .options_given()
            .first()
            .filter(|_| !args.slurm.slurm)
        {
            return Err(format!(
                "{given}: sweep {id} runs here, not on Slurm; add --slurm to submit what it is \
                 missing to Slurm"
            ));
        }
        rec.refresh(out);
    }
    if let Some(e) = rec.runs.iter().find(|e| e.status == "running") {
        return Err(format!(
            "sweep {id}: run {} is still training in another process; resume when it has ended",
            e.run.as_deref().unwrap_or("?")
        ));
    }
    rec.save(out)
        .map_err(|e| format!("cannot write the sweep record: {e}"))?;
    let todo = rec.runs.iter().filter(|e| !e.is_done()).count();
    eprintln!(
        "sweep {id}: {} of {} runs done, {todo} to run",
        rec.runs.len() - todo,
        rec.runs.len()
    );
    if todo == 0 {
        let states = rec.refresh(out);
        print_table(&rec, &sweep::rows(&rec, &states), false, args.ci);
        return Ok(None);
    }
    Ok(Some(rec))
}

fn status(id: &str, out: &Path, show: Show) -> ExitCode {
    let mut rec = match SweepRecord::load(out, id) {
        Ok(r) => r,
        Err(e) => return bad(e),
    };
    let states = if rec.slurm.is_some() {
        slurm::status_states(&mut rec, out)
    } else {
        rec.refresh(out)
    };
    let rows = sweep::rows(&rec, &states);
    finish(&rec, &rows, show)
}

/// Runs the sweep's queued entries on the pool until each has ended (or a signal stops
/// them), then prints the table.
fn drive(mut run: SweepRun, jobs: usize, threads: Threads, out: &Path, show: Show) -> ExitCode {
    let json = show.json;
    let stop = stop_on_signals();
    let (tx, rx) = crossbeam_channel::unbounded();
    let opts = LaunchOptions {
        runs_dir: out.to_path_buf(),
        compute_threads: 1,
    };
    let busy = pool::Busy::default();
    let starting = pool::Starting::default();
    let launcher = pool::sharing_launcher(opts, tx, threads, busy, starting.clone());
    let mut pool = Pool::new(jobs, launcher).with_starting(starting);
    run.submit(&mut pool);
    let bar = runs_bar(run.record.runs.len());
    let started = Instant::now();
    let mut stop_sent = false;
    loop {
        if stop.load(Ordering::Relaxed) && !stop_sent {
            say(&bar, "stopping: the runs finish their current step and write their files (again to quit at once)");
            let dropped = pool.stop_all();
            run.dropped(&dropped);
            stop_sent = true;
        }
        for u in pool.pump() {
            if let Some(line) = run.on_update(&u) {
                say(&bar, line);
            }
            if let (PoolUpdate::LaunchFailed { reason, .. }, true) = (&u, json) {
                json_line(
                    serde_json::json!({"event": "failed", "status": "launch failed", "reason": reason}),
                );
            }
        }
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(ev) => {
                on_event(&mut run, &ev, json, &bar);
                for ev in rx.try_iter() {
                    on_event(&mut run, &ev, json, &bar);
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        show_counts(&bar, run.counts());
        if !pool.is_busy() {
            for ev in rx.try_iter() {
                on_event(&mut run, &ev, json, &bar);
            }
            break;
        }
    }
    bar.finish_and_clear();
    if let Some(e) = &run.save_error {
        eprintln!("warning: {e}");
    }
    let mut rec = run.record;
    let states = rec.refresh(out);
    conclude(&rec, &states, out, started, show)
}

/// Saves the record as the sweep ended, says how long it took and prints its table.
pub(crate) fn conclude(
    rec: &SweepRecord,
    states: &[Option<fail_lab::engine::RunState>],
    out: &Path,
    started: std::time::Instant,
    show: Show,
) -> ExitCode {
    if let Err(e) = rec.save(out) {
        eprintln!("warning: cannot write the sweep record: {e}");
    }
    eprintln!(
        "sweep {} in {:.1} s",
        rec.id,
        started.elapsed().as_secs_f64()
    );
    finish(rec, &sweep::rows(rec, states), show)
}

/// The progress bar's position (runs ended) and message (runs by state).
pub(super) fn show_counts(bar: &indicatif::ProgressBar, c: Counts) {
    bar.set_position(c.ended() as u64);
    bar.set_message(format!(
        "{} done · {} running · {} queued · {} failed",
        c.finished, c.running, c.queued, c.failed
    ));
}

fn on_event(run: &mut SweepRun, ev: &RunEvent, json: bool, bar: &indicatif::ProgressBar) {
    run.on_event(ev);
    let Some((i, point)) = run.point_of_run(&ev.run) else {
        return;
    };
    let seed = run.record.runs[i].seed;
    show_event(ev, point, seed, json, bar);
}

/// `d=4 · seed 1`, or `seed 1` for a sweep over seeds only.
pub(super) fn point_label(point: &GridPoint, seed: u64) -> String {
    if point.values.is_empty() {
        format!("seed {seed}")
    } else {
        format!("{} · seed {seed}", point.label())
    }
}

/// Tells a run's event of the sweep: its JSON line with the run and the point (`--json`),
/// and a line on stderr when it ends.
pub(super) fn show_event(
    ev: &RunEvent,
    point: &GridPoint,
    seed: u64,
    json: bool,
    bar: &indicatif::ProgressBar,
) {
    let label = point_label(point, seed);
    if json {
        if let Some(mut v) = event_json(&ev.event) {
            v.insert("run".into(), ev.run.clone().into());
            v.insert("point".into(), serde_json::Value::Object(point.to_json()));
            json_line(serde_json::Value::Object(v));
        }
    }
    match &ev.event {
        Event::Finished { elapsed_s, .. } => say(
            bar,
            format!("finished {} · {label} · {elapsed_s:.1} s", ev.run),
        ),
        Event::Stopped { step } => say(bar, format!("stopped {} · {label} · step {step}", ev.run)),
        Event::Diverged { step, reason } => say(
            bar,
            format!("diverged {} · {label} · step {step}: {reason}", ev.run),
        ),
        Event::Failed { reason } => say(bar, format!("failed {} · {label}: {reason}", ev.run)),
        Event::Log(line) if line.starts_with("warning") => say(bar, format!("{}: {line}", ev.run)),
        _ => {}
    }
}

/// A run's event as `fail-lab run --json` prints it (without the fields added here).
fn event_json(event: &Event) -> Option<serde_json::Map<String, serde_json::Value>> {
    let v = match event {
        Event::Started {
            experiment,
            title,
            params,
            seed,
            dir,
        } => serde_json::json!({
            "event": "started", "experiment": experiment, "title": title,
            "seed": seed, "params": params.to_json(), "dir": dir,
        }),
        Event::Metric { step, name, value } => serde_json::json!({
            "event": "metric", "step": step, "name": name, "value": json_number(*value),
        }),
        Event::Finished { summary, elapsed_s } => serde_json::json!({
            "event": "finished", "elapsed_s": elapsed_s,
            "summary": summary.metrics.iter()
                .map(|(k, v)| (k.clone(), json_number(*v)))
                .collect::<serde_json::Map<_, _>>(),
            "notes": summary.notes,
        }),
        Event::Stopped { step } => serde_json::json!({
            "event": "failed", "status": "stopped", "step": step, "reason": "stopped by the user",
        }),
        Event::Diverged { step, reason } => serde_json::json!({
            "event": "failed", "status": "diverged", "step": step, "reason": reason,
        }),
        Event::Failed { reason } => serde_json::json!({
            "event": "failed", "status": "failed", "reason": reason,
        }),
        _ => return None,
    };
    match v {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Prints the table (or, with `--json`, the sweep_finished line) and the exit code: 0 when
/// every run of the sweep finished.
pub(super) fn finish(rec: &SweepRecord, rows: &[Row], show: Show) -> ExitCode {
    let count = |s: &str| rows.iter().map(|r| r.agg.n_with(s)).sum::<usize>();
    let total = rec.runs.len();
    let finished = count("finished");
    if show.json {
        let groups: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let mut g = r.agg.to_json();
                g.insert("params".into(), serde_json::Value::Object(r.point.clone()));
                serde_json::Value::Object(g)
            })
            .collect();
        json_line(serde_json::json!({
            "event": "sweep_finished", "sweep": rec.id, "runs": total,
            "finished": finished, "groups": groups,
        }));
    } else {
        print_table(rec, rows, true, show.ci);
    }
    if finished == total {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "{} of {total} runs did not finish; `fail-lab sweep --resume {}` runs them again \
             (finished and diverged runs are kept)",
            total - finished,
            rec.id
        );
        ExitCode::from(1)
    }
}

fn print_table(rec: &SweepRecord, rows: &[Row], with_counts: bool, ci: bool) {
    table::print(rec, rows, ci);
    if with_counts {
        let count = |s: &str| rows.iter().map(|r| r.agg.n_with(s)).sum::<usize>();
        let total = rec.runs.len();
        let (fin, div) = (count("finished"), count("diverged"));
        println!(
            "{total} runs: {fin} finished, {} failed or not run, {div} diverged",
            total - fin - div
        );
    }
}
