//! No subcommand: the lab, the terminal UI, on the scenarios and runs folders.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use fail_lab::tui::{ChartMarker, LabOptions};

use super::args::{DeviceArg, Folders, ThreadsArg};
use super::out::bad;

/// The lab's own options (the folders are shared with every subcommand).
#[derive(Args, Clone)]
pub struct LabArgs {
    /// Lab: runs that train at once, more wait in a queue (default: one per core)
    #[arg(long, value_name = "N")]
    max_running: Option<usize>,
    /// Lab: how charts draw lines; halfblock, dot and block need no Braille font
    #[arg(long, default_value = "braille", value_parser = ["braille", "halfblock", "dot", "block"])]
    marker: String,
    /// Lab: the log file (default: lab.log in the runs folder)
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Lab: no mouse (clicks and the wheel), so the terminal selects text as usual
    #[arg(long)]
    no_mouse: bool,
    #[command(flatten)]
    threads: ThreadsArg,
    #[command(flatten)]
    device: DeviceArg,
}

/// Opens the lab; exit code 2 when it cannot start.
pub fn main(args: &LabArgs, folders: &Folders) -> ExitCode {
    if args.max_running == Some(0) {
        return bad("--max-running must be at least 1");
    }
    let mut opts = LabOptions::new(folders.scenarios.clone(), folders.runs.clone());
    opts.max_running = args.max_running.unwrap_or(0);
    opts.marker = ChartMarker::parse(&args.marker).unwrap_or(ChartMarker::Braille);
    opts.log_file = args.log.clone();
    opts.mouse = !args.no_mouse;
    opts.threads = match args.threads.share() {
        Ok(t) => t,
        Err(code) => return code,
    };
    // before the terminal is taken: an unusable GPU is one line on stderr, exit code 2
    opts.device = match args.device.apply(None) {
        Ok(info) => info.label(),
        Err(code) => return code,
    };
    match fail_lab::tui::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => bad(e),
    }
}
