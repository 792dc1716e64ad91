//! `fail-lab reproduce`: the paper checks as a plan of runs. The runs the selected checks need
//! are planned without training (`experiments::plan`), then trained on `--jobs` threads (and
//! saved with `--save-runs DIR`) or read from `--from-runs DIR`, and held; then each check
//! judges its held runs, in the checks' order, and the verdict table is printed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

mod figures;
mod runs;
mod slurm;

use clap::Args;

use super::args::{free_cores, SbatchArgs, ThreadsArg};
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
    #[command(flatten)]
    threads: ThreadsArg,
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
        format!(
            "fail-lab reproduce {budget}{only} --save-runs {}",
            dir.display()
        )
    }
}

/// The `reproduce` subcommand.
pub fn main(mut args: ReproduceArgs) -> ExitCode {
    if let (Some(dir), None, None) = (&args.figures, &args.save_runs, &args.from_runs) {
        args.save_runs = Some(dir.join("runs"));
    }
    let threads = match args.threads.alone("1") {
        Ok(n) => n,
        Err(code) => return code,
    };
    if args.jobs == Some(0) {
        return bad("--jobs: got 0, allowed: at least 1 run at once");
    }
    if let Some(dir) = &args.save_runs {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return bad(format!(
                "--save-runs {}: cannot make the folder: {e}",
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
    eprintln!(
        "reproduce, {label}: {}",
        selected.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
    );
    let t = Instant::now();
    let per_check: Vec<Vec<RunRequest>> = selected
        .iter()
        .map(|c| plan::requests_of(c, budget))
        .collect();
    let reqs = plan::dedup(per_check.iter().flatten().cloned());
    eprintln!(
        "plan: {} runs ({:.2} s)",
        reqs.len(),
        t.elapsed().as_secs_f64()
    );
    if args.slurm {
        let dir = args.save_runs.clone().unwrap_or_default();
        match slurm::submit(&reqs, &dir, args.threads.raw("1"), &args.sbatch) {
            Ok(slurm::Submitted::Later) => return ExitCode::SUCCESS,
            Ok(slurm::Submitted::Ended) => args.from_runs = Some(dir),
            Err(e) => return bad(format!("--slurm: {e}")),
        }
    } else if let Some(given) = args.sbatch.options_given().first() {
        return bad(format!("{given} is an option of --slurm; add --slurm"));
    }
    let seconds = match &args.from_runs {
        Some(dir) => match runs::load(&reqs, dir, &args.save_command(dir)) {
            Ok(s) => s,
            Err(code) => return code,
        },
        None => {
            let jobs = args.jobs.unwrap_or_else(free_cores);
            runs::train(&reqs, jobs, threads, args.save_runs.as_deref())
        }
    };
    let spent = first_asker_seconds(&per_check, &reqs, &seconds);
    let rows: Vec<[String; 5]> = selected
        .iter()
        .zip(spent)
        .map(|(c, s)| judge(c, budget, args.verbose, s))
        .collect();
    let failed = rows.iter().filter(|r| r[3] != "pass").count();
    print_table(&rows);
    if let Some(dir) = &args.figures {
        let runs_dir = args.from_runs.as_ref().or(args.save_runs.as_ref());
        if let Some(runs_dir) = runs_dir {
            if let Err(e) = figures::write(runs_dir, dir, &rows) {
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
/// them made.
fn first_asker_seconds(
    per_check: &[Vec<RunRequest>],
    reqs: &[RunRequest],
    secs: &[f64],
) -> Vec<f64> {
    let mut left: std::collections::HashMap<String, f64> = reqs
        .iter()
        .map(|r| r.key())
        .zip(secs.iter().copied())
        .collect();
    per_check
        .iter()
        .map(|asks| asks.iter().filter_map(|r| left.remove(&r.key())).sum())
        .collect()
}

/// Judges one check on the held runs, reports it on stderr and gives its row of the verdict
/// table: experiment, paper, measured, verdict, time (its runs' seconds and the judging).
fn judge(c: &CheckDef, budget: Budget, verbose: bool, run_secs: f64) -> [String; 5] {
    let t = Instant::now();
    let (result, _) = plan::with_source(RunSource::Held, || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (c.run)(budget, &mut |_| {})
        }))
    });
    let secs = t.elapsed().as_secs_f64() + run_secs;
    let (paper, measured, verdict, details) = match result {
        Ok(Ok(o)) => (
            o.paper,
            o.measured,
            if o.pass { "pass" } else { "FAIL" },
            o.details,
        ),
        Ok(Err(e)) => ("-".into(), e, "ERROR", vec![]),
        Err(_) => ("-".into(), "the check panicked".into(), "ERROR", vec![]),
    };
    eprintln!("  {} {verdict} ({secs:.1} s)", c.id);
    if verbose || verdict != "pass" {
        for d in &details {
            eprintln!("      {d}");
        }
    }
    [
        c.id.to_string(),
        paper,
        measured,
        verdict.to_string(),
        format!("{secs:.0} s"),
    ]
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
