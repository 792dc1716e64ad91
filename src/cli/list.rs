//! `fail-lab list`: every experiment of this build by family, and every preset (the
//! scenarios folder's files over the built-in ones), each one validated.

use std::path::Path;
use std::process::ExitCode;

use fail_lab::experiments::{registry, Family, Registry};
use fail_lab::spec::presets;

/// Exit code 1 when a preset does not load.
pub fn main(scenarios: &Path) -> ExitCode {
    for family in Family::ALL {
        let exps: Vec<_> = registry().iter().filter(|e| e.family == family).collect();
        println!("{} {}", family.number(), family.title());
        if exps.is_empty() {
            println!("    (no experiments of this family in this build)");
        }
        let width = exps.iter().map(|e| e.name.len()).max().unwrap_or(0);
        for e in exps {
            println!("  {:<4} {:<width$}  {}", e.id, e.name, e.shows);
        }
    }
    println!();
    println!("{}:", presets::where_from(scenarios));
    let mut bad = 0;
    for (origin, s) in presets::read(scenarios, &Registry) {
        match s {
            Ok(s) => println!("  {:<40} {:<4} {}", origin.label(), s.experiment, s.title),
            Err(e) => {
                bad += 1;
                println!("  {e}");
            }
        }
    }
    if bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
