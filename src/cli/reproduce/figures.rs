//! `reproduce --figures DIR`: the paper's figures redrawn from the runs the checks made, with
//! the paper's values marked, and `figures.md` with each figure's verdict: whether it could
//! be drawn, and the checks of the experiments it draws.

use std::fmt::Write as _;
use std::path::Path;

use fail_lab::engine::RunState;
use fail_lab::figures::paper::{write_paper_figures, PaperFigure};

/// Writes the figures of the runs in `runs_dir` into `dir`, and adds the checks' verdicts
/// (`rows`: experiment, paper, measured, verdict, time) to its `figures.md`. With `whole`
/// (the record: `--full`, whose plan has a run for every curve), a figure missing a curve is
/// an error naming it and the runs that would fill it (`remake`: the command that trains
/// them); the figures are written all the same.
pub fn write(
    runs_dir: &Path,
    dir: &Path,
    rows: &[[String; 5]],
    whole: Option<&str>,
) -> Result<(), String> {
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
    match whole {
        Some(remake) => every_curve(&figs, remake),
        None => Ok(()),
    }
}

/// Each figure's missing curves, one per line with its figure, and the command that trains
/// their runs; `Ok` when no figure misses one.
fn every_curve(figs: &[PaperFigure], remake: &str) -> Result<(), String> {
    let gaps: Vec<String> = figs
        .iter()
        .flat_map(|f| {
            f.missing
                .iter()
                .map(move |m| format!("Figure {}: {m}", f.number))
        })
        .collect();
    if gaps.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} curves of the paper's figures are missing:\n  {}\nthe runs that fill them are in \
         the record's plan: `{remake}` trains them (and keeps what has finished)",
        gaps.len(),
        gaps.join("\n  ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fail_lab::figures::model::Figure;

    fn fig(number: u32, missing: &[&str]) -> PaperFigure {
        PaperFigure {
            number,
            about: "",
            figure: Figure::new("f", vec![], 1),
            runs: vec!["r".into()],
            missing: missing.iter().map(|m| m.to_string()).collect(),
            caption: String::new(),
        }
    }

    #[test]
    fn a_missing_curve_is_an_error_naming_it_and_the_command_that_trains_it() {
        let cmd = "fail-lab reproduce --full --seeds 3 --figures out";
        assert_eq!(every_curve(&[fig(1, &[]), fig(4, &[])], cmd), Ok(()));
        let e = every_curve(
            &[
                fig(1, &[]),
                fig(
                    3,
                    &[
                        "no finished E2 run with k = 2",
                        "the E2 runs with k = 1 have no dec/test_accuracy",
                    ],
                ),
            ],
            cmd,
        )
        .unwrap_err();
        assert!(
            e.starts_with("2 curves of the paper's figures are missing"),
            "{e}"
        );
        assert!(e.contains("Figure 3: no finished E2 run with k = 2"), "{e}");
        assert!(
            e.contains("Figure 3: the E2 runs with k = 1 have no dec/test_accuracy"),
            "{e}"
        );
        assert!(e.contains(cmd), "{e}");
    }
}
