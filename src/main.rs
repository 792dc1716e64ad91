//! The `fail-lab` command: parses the command line and hands it to its subcommand in
//! `cli/` (no subcommand opens the lab).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

use cli::args::Folders;
use cli::out::finish;

#[derive(Parser)]
#[command(
    name = "fail-lab",
    version,
    about = "A terminal lab for the experiments of 'Failures of Gradient-Based Deep Learning' \
             (Shalev-Shwartz, Shamir, Shammah, ICML 2017)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    folders: Folders,
    #[command(flatten)]
    lab: cli::lab::LabArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one scenario to its end, headless, with a progress bar on stderr
    Run(cli::run::RunArgs),
    /// Run a scenario over a grid of parameter values and seeds, then print the grid's table
    Sweep(cli::sweep::SweepArgs),
    /// Write runs' metric points, summaries or a sweep's group table as CSV or JSON
    Export(cli::export::ExportArgs),
    /// Draw runs, sweeps or the paper's figures (--paper) as SVG or PNG
    Plot(cli::plot::PlotArgs),
    /// List every experiment and preset
    List,
    /// Run each experiment's check from the spec and print a verdict table
    ///
    /// The checks' runs are planned first, trained --jobs at a time (or read from
    /// --from-runs DIR), then each check judges its runs.
    Reproduce(cli::reproduce::ReproduceArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runs = &cli.folders.runs;
    match cli.command {
        None => cli::lab::main(&cli.lab, &cli.folders),
        Some(Cmd::Run(args)) => cli::run::main(args, runs),
        Some(Cmd::Sweep(args)) => cli::sweep::main(args, runs),
        Some(Cmd::Export(args)) => finish(cli::export::main(&args, runs)),
        Some(Cmd::Plot(args)) => finish(cli::plot::main(&args, runs)),
        Some(Cmd::List) => cli::list::main(&cli.folders.scenarios),
        Some(Cmd::Reproduce(args)) => cli::reproduce::main(args),
    }
}
