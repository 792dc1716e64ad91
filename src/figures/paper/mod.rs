//! The paper's Figures 1, 3, 4, 5, 6 and 7 redrawn from saved runs, with the paper's plotted
//! values ([`values`]) marked on each panel, and the `figures.md` index that says what each
//! figure shows, from which runs, and what could not be drawn.
//!
//! Each figure picks its runs by experiment and parameters among the *finished* runs it is
//! given (e.g. Figure 1: E1 runs with d = 5, 10, 30, one curve per d, the mean over seeds
//! when there are several, with their min..max as a band).

use std::fmt::Write as _;
use std::path::Path;

mod caption;
pub mod data;
mod metrics;
mod own;
pub mod redraw;
pub mod story;
pub mod values;

use super::model::{Figure, Line, Panel, Reference};
use crate::engine::{RunState, Status};
use crate::spec::Value;

/// One of the paper's figures as drawn from the runs.
#[derive(Debug, Clone)]
pub struct PaperFigure {
    /// The paper's number.
    pub number: u32,
    /// What it shows, in a line.
    pub about: &'static str,
    pub figure: Figure,
    /// The runs it was drawn from.
    pub runs: Vec<String>,
    /// What could not be drawn, and why (no runs of some setting).
    pub missing: Vec<String>,
    /// The caption line: budget, seeds and each panel's verdict in numbers (also the last
    /// of the figure's notes).
    pub caption: String,
}

impl PaperFigure {
    /// drawn / drawn in part / not drawn.
    pub fn verdict(&self) -> &'static str {
        match (self.runs.is_empty(), self.missing.is_empty()) {
            (true, _) => "not drawn (no runs)",
            (false, true) => "drawn",
            (false, false) => "drawn in part",
        }
    }
}

/// The experiments whose own figures (decoded curves, staircase fits) are redrawn.
const OWN_FIGURES: [&str; 8] = ["E6", "E7", "E8", "E9", "E11", "E12", "E13", "E14"];

/// The six figures from `runs` (figures of runs that have not been read are read here).
pub fn paper_figures(runs: &mut [RunState]) -> Vec<PaperFigure> {
    // a runs folder is read from the runs' summaries: the figures need their series
    for r in runs.iter_mut() {
        r.load_series();
    }
    for r in runs.iter_mut().filter(|r| r.figures.is_empty()) {
        if OWN_FIGURES.contains(&r.experiment.as_str()) {
            r.load_figures();
        }
    }
    let runs: &[RunState] = runs;
    vec![
        metrics::figure1(runs),
        metrics::figure3(runs),
        metrics::figure4(runs),
        metrics::figure5(runs),
        own::figure6(runs),
        own::figure7(runs),
    ]
}

/// Writes `figure-N.svg` and `figure-N.png` for each figure, its numbers in
/// `data/figure-N.csv` ([`data`]) and the rest of what draws it in `data/figure-N.json`
/// ([`redraw`]), and `figures.md` into `dir`
/// (made if need be), each figure `size` pixels or its default size; `source` names the
/// runs folder in the index.
pub fn write_paper_figures(
    runs: &mut [RunState],
    dir: &Path,
    source: &str,
    size: Option<(u32, u32)>,
) -> Result<Vec<PaperFigure>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let mut figs = paper_figures(runs);
    // drawn from the points the CSV keeps, so that the CSV redraws it exactly
    for f in &mut figs {
        redraw::thin_figure(&mut f.figure);
    }
    for f in &figs {
        let size = size.unwrap_or_else(|| f.figure.default_size());
        for ext in ["svg", "png"] {
            let path = dir.join(format!("figure-{}.{ext}", f.number));
            super::render::write(&f.figure, &path, size)?;
        }
    }
    let data = dir.join("data");
    std::fs::create_dir_all(&data).map_err(|e| format!("cannot make {}: {e}", data.display()))?;
    for f in &figs {
        let path = data.join(format!("figure-{}.csv", f.number));
        std::fs::write(&path, data::figure_csv(&f.figure))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let path = data.join(format!("figure-{}.json", f.number));
        std::fs::write(&path, redraw::layout_json(&f.figure)?)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let index = dir.join("figures.md");
    std::fs::write(&index, index_text(&figs, source))
        .map_err(|e| format!("cannot write {}: {e}", index.display()))?;
    Ok(figs)
}

/// `figures.md`: one entry per figure.
pub fn index_text(figs: &[PaperFigure], source: &str) -> String {
    let mut s = String::from("# The paper's figures, redrawn from saved runs\n\n");
    let _ = writeln!(
        s,
        "From the finished runs in `{source}`. Diamonds mark the paper's plotted values (read \
         from the authors' figures, listed in `src/figures/paper/values.rs`); lines are the runs, the mean over seeds where there \
         are several, with their min..max as a band.\n"
    );
    for f in figs {
        let n = f.number;
        let _ = write!(
            s,
            "- **Figure {n}** ([SVG](figure-{n}.svg), [PNG](figure-{n}.png), \
             [CSV](data/figure-{n}.csv)): {}. {}.",
            f.about,
            capital(f.verdict())
        );
        if !f.runs.is_empty() {
            let _ = write!(s, " Runs: {}.", f.runs.join(", "));
        }
        if !f.missing.is_empty() {
            let _ = write!(s, " Missing: {}.", f.missing.join("; "));
        }
        let _ = write!(s, " {}", f.caption);
        s.push('\n');
    }
    s
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The finished runs of experiment `id` whose parameters pass `keep`, and how many more
/// match but did not finish.
fn pick<'a>(
    runs: &'a [RunState],
    id: &str,
    keep: impl Fn(&RunState) -> bool,
) -> (Vec<&'a RunState>, usize) {
    let all: Vec<&RunState> = runs
        .iter()
        .filter(|r| r.experiment == id && keep(r))
        .collect();
    let finished: Vec<&RunState> = all
        .iter()
        .copied()
        .filter(|r| r.status == Status::Finished)
        .collect();
    let unfinished = all.len() - finished.len();
    (finished, unfinished)
}

/// A whole-number parameter of a run.
fn int_param(r: &RunState, name: &str) -> Option<i64> {
    match r.params.get(name) {
        Some(Value::Int(v)) => Some(*v),
        _ => None,
    }
}

/// "no finished E1 run with d = 10 (2 not finished)".
fn missing_note(id: &str, what: &str, unfinished: usize) -> String {
    let more = if unfinished > 0 {
        format!(" ({unfinished} not finished)")
    } else {
        String::new()
    };
    format!("no finished {id} run with {what}{more}")
}

/// The mean of `metric` over `runs`, step by step, with their min..max as a band when there
/// are several; `None` when no run has a point of it.
fn mean_line(label: &str, runs: &[&RunState], metric: &str, colour: usize) -> Option<Line> {
    let band = crate::sweep::group::metric_band(runs, metric);
    if band.is_empty() {
        return None;
    }
    let n = runs
        .iter()
        .filter(|r| r.metrics.contains_key(metric))
        .count();
    let label = if n > 1 {
        format!("{label} (mean of {n})")
    } else {
        label.to_string()
    };
    let mut line = Line::new(
        label,
        band.iter().map(|p| (p.step as f64, p.stats.mean)).collect(),
    )
    .colour(colour);
    if n > 1 {
        line.band = band
            .iter()
            .map(|p| (p.step as f64, p.stats.min, p.stats.max))
            .collect();
    }
    Some(line)
}

fn reference(label: String, points: Vec<(f64, f64)>, colour: usize) -> Reference {
    Reference {
        label,
        points,
        colour: Some(colour),
    }
}

/// Leaves out the paper's values past the runs' last iteration (a short run would be
/// squeezed against the axis), saying which in the panel's notes. A panel with no runs
/// keeps them all: it shows the paper's figure alone.
fn fit_references(panel: &mut Panel) {
    let last = panel
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .fold(f64::NEG_INFINITY, f64::max);
    if !last.is_finite() {
        return;
    }
    let mut cut = 0;
    for r in &mut panel.references {
        let before = r.points.len();
        r.points.retain(|p| p.0 <= last * 1.05);
        cut += before - r.points.len();
    }
    if cut > 0 {
        panel.notes.push(format!(
            "{cut} paper values past iteration {} (where the runs end) not shown",
            super::scale::fmt_tick(last)
        ));
    }
}

/// The ids of runs, for the index.
fn ids<'a>(runs: impl IntoIterator<Item = &'a RunState>) -> Vec<String> {
    let mut v: Vec<String> = runs.into_iter().map(|r| r.id.clone()).collect();
    v.sort();
    v.dedup();
    v
}
