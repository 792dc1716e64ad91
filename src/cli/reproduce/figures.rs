//! `reproduce --figures DIR`: the paper's figures redrawn from the runs the checks made, with
//! the paper's values marked, and `figures.md` with each figure's verdict: whether it could
//! be drawn, and the checks of the experiments it draws.

use std::fmt::Write as _;
use std::path::Path;

use fail_lab::engine::RunState;
use fail_lab::figures::paper::write_paper_figures;

/// Writes the figures of the runs in `runs_dir` into `dir`, and adds the checks' verdicts
/// (`rows`: experiment, paper, measured, verdict, time) to its `figures.md`.
pub fn write(runs_dir: &Path, dir: &Path, rows: &[[String; 5]]) -> Result<(), String> {
    let (mut runs, errors) = RunState::load_all(runs_dir);
    for e in &errors {
        eprintln!("warning: not read: {e}");
    }
    let source = runs_dir.display().to_string();
    let figs = write_paper_figures(&mut runs, dir, &source, None)?;
    let experiment_of = |id: &str| {
        runs.iter()
            .find(|r| r.id == id || r.dir.as_ref().is_some_and(|d| d.ends_with(id)))
            .map(|r| r.experiment.clone())
    };
    let mut text = String::from("\n## The checks behind each figure\n\n");
    for f in &figs {
        let mut exps: Vec<String> = f.runs.iter().filter_map(|id| experiment_of(id)).collect();
        exps.sort_by(|a, b| fail_lab::stats::natural_cmp(a, b));
        exps.dedup();
        let verdicts: Vec<String> = exps
            .iter()
            .map(|e| {
                let v = rows
                    .iter()
                    .find(|r| r[0].eq_ignore_ascii_case(e))
                    .map_or("not checked in this run", |r| r[3].as_str());
                format!("{e} {v}")
            })
            .collect();
        let checks = if verdicts.is_empty() {
            "no runs".to_string()
        } else {
            verdicts.join(", ")
        };
        let _ = writeln!(
            text,
            "- Figure {}: {}; checks: {checks}",
            f.number,
            f.verdict()
        );
    }
    let index = dir.join("figures.md");
    let mut md =
        std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    md.push_str(&text);
    std::fs::write(&index, md).map_err(|e| format!("cannot write {}: {e}", index.display()))?;
    for f in &figs {
        eprintln!(
            "figure {}: {} -> {}",
            f.number,
            f.verdict(),
            dir.join(format!("figure-{}.svg", f.number)).display()
        );
    }
    Ok(())
}
