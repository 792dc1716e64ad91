//! `fail-lab reproduce`: the paper checks as a plan of runs. The runs the selected checks need
//! are planned without training (`experiments::plan`), then trained on `--jobs` threads (and
//! saved with `--save-runs DIR`) or read from `--from-runs DIR`, and held; then each check
//! judges its held runs, in the checks' order, and the verdict table is printed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

mod cost;
mod figures;
mod runs;
mod slurm;

use clap::Args;

use super::args::{free_cores, DeviceArg, SbatchArgs, ThreadsArg};
use super::out::{bad, print_markdown};

use fail_lab::experiments::plan::{self, RunRequest, RunSource};
use fail_lab::experiments::{checks, Budget, CheckDef};

/// The options of `reproduce`, in one place so that new ones are one field each.
#[derive(Args)]
pub struct ReproduceArgs {
    /// A reduced budget that still shows each effect (the default)
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// The paper's budgets (long)
    #[arg(long)]
    full: bool,
    /// Only these experiments, e.g. --only E1,T1
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Print every sub-check
    #[arg(long, short)]
    verbose: bool,
    /// Judge each check over N seed sets: set r adds 1000·r to every seed the check uses
    /// (set 0 is the check as written); a check passes when every set passes, and each
    /// set's measurement is shown
    #[arg(long, value_name = "N", default_value_t = 1)]
    seeds: u64,
    #[command(flatten)]
    threads: ThreadsArg,
    #[command(flatten)]
    device: DeviceArg,
    /// Runs that train at once (default: one per core)
    #[arg(long, value_name = "N", conflicts_with = "from_runs")]
    jobs: Option<usize>,
    /// Also write every run the checks train as a saved run in DIR (what the lab and
    /// `--from-runs` read)
    #[arg(long, value_name = "DIR", conflicts_with = "from_runs")]
    save_runs: Option<PathBuf>,
    /// Train nothing: judge the checks from the finished runs saved in DIR, found by
    /// experiment, parameters and seed
    #[arg(long, value_name = "DIR")]
    from_runs: Option<PathBuf>,
    /// After the checks, redraw the paper's Figures 1, 3-7 from their runs into DIR
    /// (`figure-N.svg`, `figure-N.png`, `figures.md`); the runs are saved in DIR/runs unless
    /// --save-runs or --from-runs names their folder
    #[arg(long, value_name = "DIR")]
    figures: Option<PathBuf>,
    /// Train the runs on a Slurm cluster as one job array writing into --save-runs DIR (a
    /// folder the nodes share); with --wait, judge them once the job has ended
    #[arg(long, requires = "save_runs", conflicts_with = "from_runs")]
    slurm: bool,
    #[command(flatten)]
    sbatch: SbatchArgs,
}

impl ReproduceArgs {
    fn budget(&self) -> Budget {
        if self.full {
            Budget::Full
        } else {
            Budget::Quick
        }
    }

    /// The command that trains and saves the runs of these checks into `dir`.
    fn save_command(&self, dir: &Path) -> String {
        let budget = if self.full { "--full" } else { "--quick" };
        let only = if self.only.is_empty() {
            String::new()
        } else {
            format!(" --only {}", self.only.join(","))
        };
        let seeds = match self.seeds {
            1 => String::new(),
            n => format!(" --seeds {n}"),
        };
        format!(
            "fail-lab reproduce {budget}{only}{seeds} --save-runs {}",
            dir.display()
        )
    }
}

/// The `reproduce` subcommand.
pub fn main(mut args: ReproduceArgs) -> ExitCode {
    // the flag a folder came from, for its errors: the one the user typed
    let mut save_flag = "--save-runs";
    // a dry run only plans: it makes no folder
    let dry = args.sbatch.dry_run && !args.slurm;
    if let (Some(dir), None, None) = (&args.figures, &args.save_runs, &args.from_runs) {
        if let Err(e) = if dry {
            Ok(())
        } else {
            std::fs::create_dir_all(dir)
        } {
            return bad(format!(
                "--figures {}: cannot make the folder: {e}",
                dir.display()
            ));
        }
        args.save_runs = Some(dir.join("runs"));
        save_flag = "--figures";
    }
    let threads = match args.threads.alone("1") {
        Ok(n) => n,
        Err(code) => return code,
    };
    if args.seeds == 0 {
        return bad("--seeds: got 0, allowed: at least 1 seed set");
    }
    if args.jobs == Some(0) {
        return bad("--jobs: got 0, allowed: at least 1 run at once");
    }
    if let Some(dir) = args.save_runs.as_ref().filter(|_| !dry) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return bad(format!(
                "{save_flag} {}: cannot make the folder: {e}",
                dir.display()
            ));
        }
    }
    let all = checks();
    if let Err(code) = check_only(&args.only, &all) {
        return code;
    }
    let selected: Vec<&CheckDef> = all
        .iter()
        .filter(|c| args.only.is_empty() || args.only.iter().any(|o| o.eq_ignore_ascii_case(c.id)))
        .collect();
    let budget = args.budget();
    let label = if budget == Budget::Full {
        "full (paper budgets)"
    } else {
        "quick"
    };
    let sets = match args.seeds {
        1 => String::new(),
        n => format!(", {n} seed sets"),
    };
    eprintln!(
        "reproduce, {label}{sets}: {}",
        selected.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
    );
    let t = Instant::now();
    let per_check: Vec<Vec<RunRequest>> = selected
        .iter()
        .map(|c| plan::dedup((0..args.seeds).flat_map(|r| plan::requests_of_replica(c, budget, r))))
        .collect();
    // the figures' own runs (Figure 3 at the paper's lengths), after the checks'
    let for_figures = (0..args.seeds)
        .flat_map(|r| plan::figure_requests(budget, r))
        .filter(|_| args.figures.is_some());
    let (reqs, covered) = plan::drop_covered(plan::dedup(
        per_check.iter().flatten().cloned().chain(for_figures),
    ));
    eprintln!(
        "plan: {} runs ({:.2} s){}",
        reqs.len(),
        t.elapsed().as_secs_f64(),
        match covered.len() {
            0 => String::new(),
            n => format!(
                "; {n} more read from the start of longer runs of the plan (the same numbers, \
                 not trained twice)"
            ),
        }
    );
    if dry {
        let jobs = args.jobs.unwrap_or_else(free_cores);
        cost::print_plan(&reqs, jobs, args.save_runs.as_deref());
        return ExitCode::SUCCESS;
    }
    if args.slurm {
        let dir = args.save_runs.clone().unwrap_or_default();
        match slurm::submit(&reqs, &dir, args.threads.raw("1"), &args.sbatch) {
            Ok(slurm::Submitted::Later) => return ExitCode::SUCCESS,
            Ok(slurm::Submitted::Ended) => args.from_runs = Some(dir),
            Err(e) => return bad(format!("--slurm: {e}")),
        }
    } else if let Some(given) = args
        .sbatch
        .options_given()
        .iter()
        .find(|o| **o != "--dry-run")
    {
        return bad(format!("{given} is an option of --slurm; add --slurm"));
    }
    let seconds = match &args.from_runs {
        Some(dir) => match runs::load(&reqs, dir, &args.save_command(dir)) {
            Ok(s) => s,
            Err(code) => return code,
        },
        None => {
            if let Err(code) = args.device.apply(None) {
                return code;
            }
            let jobs = args.jobs.unwrap_or_else(free_cores);
            // saved runs can stop at a checkpoint and go on in the next call; runs held only
            // in memory keep the signals' default (they cannot be continued)
            let stop = args
                .save_runs
                .as_ref()
                .map(|_| crate::cli::run::stop_on_signals());
            let secs = runs::train(
                &reqs,
                jobs,
                threads,
                args.save_runs.as_deref(),
                stop.clone(),
            );
            if let (Some(dir), Some(true)) =
                (&args.save_runs, stop.map(|s| s.load(Ordering::Relaxed)))
            {
                eprintln!(
                    "stopped: the finished runs and each cut-off run's checkpoint are in {}; the \
                     same command goes on from them (finished runs are not trained again)",
                    dir.display()
                );
                return ExitCode::from(130);
            }
            secs
        }
    };
    plan::hold_covered(&covered);
    let spent = first_asker_seconds(&per_check, &reqs, &covered, &seconds);
    let judged: Vec<Judged> = selected
        .iter()
        .zip(spent)
        .map(|(c, s)| judge_sets(c, budget, args.verbose, args.seeds, s))
        .collect();
    let rows: Vec<[String; 5]> = judged.iter().map(|j| j.row.clone()).collect();
    let failed = rows.iter().filter(|r| r[3] != "pass").count();
    print_table(&rows);
    if args.seeds > 1 {
        print_sets(&judged);
    }
    if let Some(dir) = &args.figures {
        let runs_dir = args.from_runs.as_ref().or(args.save_runs.as_ref());
        if let Some(runs_dir) = runs_dir {
            let remake = format!(
                "{} --figures {}",
                args.save_command(runs_dir),
                dir.display()
            );
            let whole = (budget == Budget::Full).then_some(remake.as_str());
            if let Err(e) = figures::write(runs_dir, dir, &rows, whole) {
                eprintln!("error: --figures {}: {e}", dir.display());
                return ExitCode::from(1);
            }
        }
    }
    if failed == 0 {
        println!("{} checks passed", rows.len());
        ExitCode::SUCCESS
    } else {
        println!("{failed} of {} checks did not pass", rows.len());
        ExitCode::from(1)
    }
}

/// Refuses an `--only` name with no check in this build (exit code 2).
fn check_only(only: &[String], all: &[CheckDef]) -> Result<(), ExitCode> {
    let known: Vec<&str> = all.iter().map(|c| c.id).collect();
    for id in only {
        if !known.iter().any(|k| k.eq_ignore_ascii_case(id)) {
            return Err(bad(format!(
                "--only {id}: no check for this experiment in this build; available: {}",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// Each check's share of the runs' seconds: a run counts for the first check (in the table's
/// order) that asks for it, as when each check trained its own runs and the later ones found
/// them made. A request read from a longer run (`covered`) counts that run.
fn first_asker_seconds(
    per_check: &[Vec<RunRequest>],
    reqs: &[RunRequest],
    covered: &[(RunRequest, RunRequest)],
    secs: &[f64],
) -> Vec<f64> {
    let mut left: std::collections::HashMap<String, f64> = reqs
        .iter()
        .map(|r| r.key())
        .zip(secs.iter().copied())
        .collect();
    let answered_by: std::collections::HashMap<String, String> = covered
        .iter()
        .map(|(short, long)| (short.key(), long.key()))
        .collect();
    per_check
        .iter()
        .map(|asks| {
            asks.iter()
                .filter_map(|r| {
                    let key = r.key();
                    left.remove(answered_by.get(&key).unwrap_or(&key))
                })
                .sum()
        })
        .collect()
}

/// A check judged over its seed sets: the row of the verdict table (experiment, paper,
/// measured, verdict, time) and, with several sets, each set's measurement and verdict.
struct Judged {
    row: [String; 5],
    sets: Vec<(u64, String, &'static str)>,
}

/// Judges `c` on each of `sets` seed sets of the held runs (see `plan::with_replica`). With
/// one set the row is the check's own; with more, it counts the sets that pass and passes
/// only when all do.
fn judge_sets(c: &CheckDef, budget: Budget, verbose: bool, sets: u64, run_secs: f64) -> Judged {
    let t = Instant::now();
    let each: Vec<(String, String, &'static str)> = (0..sets)
        .map(|r| {
            let (paper, measured, verdict, details) = plan::with_replica(r, || judge(c, budget));
            if verbose || verdict != "pass" {
                let at = if sets > 1 {
                    format!(" (seeds +{})", r * plan::SEED_STRIDE)
                } else {
                    String::new()
                };
                eprintln!("  {} {verdict}{at}", c.id);
                for d in &details {
                    eprintln!("      {d}");
                }
            }
            (paper, measured, verdict)
        })
        .collect();
    let secs = t.elapsed().as_secs_f64() + run_secs;
    let passed = each.iter().filter(|e| e.2 == "pass").count();
    let verdict = if passed == each.len() {
        "pass"
    } else if each.iter().any(|e| e.2 == "ERROR") {
        "ERROR"
    } else {
        "FAIL"
    };
    eprintln!("  {} {verdict} ({secs:.1} s)", c.id);
    let (paper, measured) = match each.as_slice() {
        [(paper, measured, _)] => (paper.clone(), measured.clone()),
        _ => (
            each[0].0.clone(),
            format!(
                "{passed}/{} seed sets pass (every set must); each set below",
                each.len()
            ),
        ),
    };
    let row = [
        c.id.to_string(),
        paper,
        measured,
        verdict.to_string(),
        format!("{secs:.0} s"),
    ];
    let sets = match each.len() {
        1 => Vec::new(),
        _ => each
            .into_iter()
            .enumerate()
            .map(|(r, (_, m, v))| (r as u64 * plan::SEED_STRIDE, m, v))
            .collect(),
    };
    Judged { row, sets }
}

/// Judges one check on the held runs of this thread's seed set: paper, measured, verdict,
/// the sub-checks.
fn judge(c: &CheckDef, budget: Budget) -> (String, String, &'static str, Vec<String>) {
    let (result, _) = plan::with_source(RunSource::Held, || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (c.run)(budget, &mut |_| {})
        }))
    });
    match result {
        Ok(Ok(o)) => (
            o.paper,
            o.measured,
            if o.pass { "pass" } else { "FAIL" },
            o.details,
        ),
        Ok(Err(e)) => ("-".into(), e, "ERROR", vec![]),
        Err(_) => ("-".into(), "the check panicked".into(), "ERROR", vec![]),
    }
}

/// Each seed set's measurement and verdict, check by check, as a second markdown table.
fn print_sets(judged: &[Judged]) {
    let mut cells = vec![["experiment", "seeds", "measured", "verdict"]
        .map(String::from)
        .to_vec()];
    for j in judged {
        for (shift, measured, verdict) in &j.sets {
            cells.push(vec![
                j.row[0].clone(),
                format!("+{shift}"),
                measured.clone(),
                verdict.to_string(),
            ]);
        }
    }
    println!("each seed set (seeds +N: every seed of the check shifted by N)");
    println!();
    print_markdown(&cells);
    println!();
}

/// The verdict table on stdout, as markdown, with a blank line before and after.
fn print_table(rows: &[[String; 5]]) {
    let header = ["experiment", "paper", "measured", "verdict", "time"];
    let mut cells = vec![header.map(String::from).to_vec()];
    cells.extend(rows.iter().map(|r| r.to_vec()));
    println!();
    print_markdown(&cells);
    println!();
}
