//! `fail-lab list`: every experiment of this build by family, and every preset in the
//! scenarios folder, each one validated.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fail_lab::experiments::{registry, Family, Registry};
use fail_lab::spec::load_scenario;

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
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    println!("presets in {}/:", scenarios.display());
    if files.is_empty() {
        println!("  (none)");
    }
    let mut bad = 0;
    for f in files {
        match load_scenario(&f, &Registry) {
            Ok(s) => println!(
                "  {:<36} {:<4} {}",
                f.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                s.experiment,
                s.title
            ),
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
