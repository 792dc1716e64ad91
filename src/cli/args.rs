//! Arguments that several subcommands share, defined once and flattened where they are used:
//! the scenarios and runs folders, compute threads, and sbatch's options.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use fail_lab::engine::pool::Threads;
use fail_lab::slurm::SbatchOptions;

/// The folders every subcommand reads or writes (global: they may follow the subcommand).
#[derive(Args, Clone)]
pub struct Folders {
    /// Folder of scenario files
    #[arg(long, default_value = "scenarios", global = true)]
    pub scenarios: PathBuf,
    /// Folder where runs are saved
    #[arg(long, default_value = "runs", global = true)]
    pub runs: PathBuf,
}

/// `--threads`: compute threads of each run.
#[derive(Args, Clone, Default)]
pub struct ThreadsArg {
    /// Compute threads per run: a number >= 1, or `auto` (the free cores, shared among the
    /// runs that start together, for the experiments that train faster on them; one for the
    /// others). Default: auto (`reproduce`: 1)
    #[arg(long = "threads", value_name = "N|auto", allow_hyphen_values = true)]
    pub threads: Option<String>,
}

impl ThreadsArg {
    /// The value as given, or `default`.
    pub fn raw<'a>(&'a self, default: &'a str) -> &'a str {
        self.threads.as_deref().unwrap_or(default)
    }

    /// Threads of runs that share the machine (the lab, a sweep); default `auto`.
    pub fn share(&self) -> Result<Threads, ExitCode> {
        parse_share(self.raw("auto"))
    }

    /// Threads of a run alone: a number, `auto` being every free core; `default` if not given.
    pub fn alone(&self, default: &str) -> Result<usize, ExitCode> {
        parse_threads(self.raw(default))
    }
}

/// The compute threads of `--threads`: a whole number >= 1, or `auto`, the cores free when
/// the run starts (a run alone on the machine: every core it has). Bad input is reported
/// on stderr and gives exit code 2.
fn parse_threads(value: &str) -> Result<usize, ExitCode> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("auto") {
        return Ok(free_cores());
    }
    match v.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => {
            eprintln!(
                "error: --threads {value}: allowed: a whole number of threads >= 1, or `auto` \
                 (the cores free when the run starts, {} here)",
                free_cores()
            );
            Err(ExitCode::from(2))
        }
    }
}

/// `--threads` for runs that share the machine (the lab, a sweep): a number each, or `auto`,
/// the cores free when a run starts shared among the runs starting with it.
fn parse_share(value: &str) -> Result<Threads, ExitCode> {
    if value.trim().eq_ignore_ascii_case("auto") {
        return Ok(Threads::Auto {
            cores: free_cores(),
        });
    }
    parse_threads(value).map(Threads::Fixed)
}

/// Cores a lone run may use: every core this process may run on.
pub fn free_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// How runs go to Slurm: sbatch's options and how the command follows the job (shared by
/// `sweep --slurm` and `reproduce --slurm`).
#[derive(Args, Debug, Clone, Default)]
pub struct SbatchArgs {
    /// Slurm: runs each array task trains in turn (default 1), so tiny runs do not flood
    /// the queue
    #[arg(long, value_name = "N")]
    pub runs_per_task: Option<usize>,
    /// Slurm: the partition (sbatch --partition)
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,
    /// Slurm: each task's time limit: minutes, or H:M:S, D-H:M:S (sbatch --time)
    #[arg(long, value_name = "LIMIT")]
    pub time: Option<String>,
    /// Slurm: CPUs of each task (sbatch --cpus-per-task)
    #[arg(long, value_name = "N")]
    pub cpus_per_task: Option<u32>,
    /// Slurm: memory of each task, e.g. 4G (sbatch --mem)
    #[arg(long, value_name = "SIZE")]
    pub mem: Option<String>,
    /// Slurm: generic resources of each task, e.g. gpu:1 (sbatch --gres)
    #[arg(long, value_name = "SPEC")]
    pub gres: Option<String>,
    /// Slurm: array tasks that run at once (the array's %K)
    #[arg(long, value_name = "K")]
    pub max_parallel: Option<usize>,
    /// Slurm: the account to charge (sbatch --account)
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Slurm: any other sbatch option, as one argument: --sbatch-arg=--qos=long (repeatable;
    /// with --resume, replaces the recorded ones)
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,
    /// Slurm: print the job script and the tasks file; submit nothing, keep nothing.
    /// `reproduce` without --slurm: print the planned runs, their iterations and estimated
    /// CPU time, and the whole's estimated wall time; train nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Slurm: the fail-lab binary the tasks run (default: this one, by its absolute path; it
    /// must be at that path on the nodes)
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// Slurm: follow the sweep to its end with the progress bar and the table of a local
    /// sweep (Ctrl-C stops following; the job goes on)
    #[arg(long)]
    pub wait: bool,
}

impl SbatchArgs {
    /// The Slurm options given on the command line, by name.
    pub fn options_given(&self) -> Vec<&'static str> {
        let given = [
            ("--runs-per-task", self.runs_per_task.is_some()),
            ("--partition", self.partition.is_some()),
            ("--time", self.time.is_some()),
            ("--cpus-per-task", self.cpus_per_task.is_some()),
            ("--mem", self.mem.is_some()),
            ("--gres", self.gres.is_some()),
            ("--max-parallel", self.max_parallel.is_some()),
            ("--account", self.account.is_some()),
            ("--sbatch-arg", !self.sbatch_arg.is_empty()),
            ("--dry-run", self.dry_run),
            ("--binary", self.binary.is_some()),
            ("--wait", self.wait),
        ];
        given.iter().filter(|(_, g)| *g).map(|(n, _)| *n).collect()
    }

    /// sbatch's options as given.
    pub fn options(&self) -> SbatchOptions {
        SbatchOptions {
            partition: self.partition.clone(),
            time: self.time.clone(),
            cpus_per_task: self.cpus_per_task,
            mem: self.mem.clone(),
            gres: self.gres.clone(),
            max_parallel: self.max_parallel,
            account: self.account.clone(),
            extra: self.sbatch_arg.clone(),
        }
    }

    /// The `fail-lab` binary the tasks run: `--binary`, or this one by its absolute path.
    pub fn binary_or_this(&self) -> Result<PathBuf, String> {
        match &self.binary {
            Some(b) => std::path::absolute(b).map_err(|e| format!("--binary: {e}")),
            None => std::env::current_exe()
                .map_err(|e| format!("cannot tell where this fail-lab is ({e}); give --binary")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// checkpoints

/// `--checkpoint-every`: seconds between a run's checkpoints.
#[derive(Args, Clone, Default)]
pub struct CheckpointArgs {
    /// Seconds between checkpoints of each run (default: the scenario's `checkpoint_every`,
    /// else 60); 0: only when a run is stopped or paused
    #[arg(long, value_name = "SECS")]
    pub checkpoint_every: Option<f64>,
}

impl CheckpointArgs {
    /// Sets the scenario's interval when the flag was given; bad input names the flag.
    pub fn apply(&self, scenario: &mut fail_lab::spec::Scenario) -> Result<(), String> {
        match self.checkpoint_every {
            None => Ok(()),
            Some(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => {
                scenario.checkpoint_every = Some(s);
                Ok(())
            }
            Some(s) => Err(format!(
                "--checkpoint-every {s}: allowed: seconds between checkpoints, 0 to 86400 \
                 (0: only when the run is stopped or paused)"
            )),
        }
    }
}

/// `--device`: where the networks train (`run`, `sweep`, `reproduce` and the lab).
#[derive(Args, Clone, Default)]
pub struct DeviceArg {
    /// Where networks train: cpu, cuda (the first GPU), cuda:N, or auto (the first GPU when
    /// one is usable, else the CPU, said once). Default: a scenario's `device`, else auto
    #[arg(long = "device", value_name = "cpu|cuda[:N]|auto")]
    pub device: Option<String>,
}

impl DeviceArg {
    /// The device of `--device`, else of `scenario` (a scenario file's `device`), else auto:
    /// probed and made the process's default. A device that cannot be used is reported on
    /// stderr in one line naming the cause, with exit code 2; `auto` without a usable GPU says
    /// so once on stderr and takes the CPU.
    pub fn apply(&self, scenario: Option<&str>) -> Result<fail_lab::nn::DeviceInfo, ExitCode> {
        use fail_lab::nn::{resolve, set_default_device, DeviceChoice};
        let (given, flag) = match (&self.device, scenario) {
            (Some(d), _) => (d.as_str(), "--device"),
            (None, Some(d)) => (d, "the scenario's device"),
            (None, None) => ("auto", ""),
        };
        let choice = DeviceChoice::parse(given).map_err(|e| {
            eprintln!("error: {flag} {given}: {e}");
            ExitCode::from(2)
        })?;
        match resolve(choice) {
            Ok((info, note)) => {
                if let Some(note) = note {
                    eprintln!("note: device auto: {note}");
                }
                set_default_device(info.device);
                Ok(info)
            }
            Err(e) => {
                eprintln!("error: {e}");
                Err(ExitCode::from(2))
            }
        }
    }
}

/// The `device` of a scenario file, if it names one (checked when the file is parsed).
pub fn scenario_device(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let table = text.parse::<toml::Table>().ok()?;
    table.get("device")?.as_str().map(str::to_string)
}
