//! The export key: what is on screen (the chart, the compare screen, the figure screen) as
//! a plain figure ([`crate::figures`]), written as SVG and PNG under `<runs>/exports/`.
//! [`screen_figure`] maps each screen to its figure; a new screen adds its arm there.

use std::path::{Path, PathBuf};

use super::app::App;
use super::model::run_list::RunRow;
use super::model::run_tree::Node;
use super::panes::group_chart::group_metric;
use super::screens::Screen;
use crate::engine::{RunState, EXPORTS_DIR};
use crate::figures::views::{
    experiment_panel, groups, overlay, run_metric, run_note, summary_against, Against,
};
use crate::figures::{self, Figure};

/// The size of the exported files, in pixels.
pub const EXPORT_SIZE: (u32, u32) = (1200, 800);

/// What is on screen as a figure, with a file name for it (without extension).
pub fn screen_figure(app: &App) -> Result<(String, Figure), String> {
    match (app.screen, &app.runs.cursor) {
        (Screen::Compare, _) if !app.compare.groups.is_empty() => compare_groups_figure(app),
        (Screen::Compare, _) => compare_figure(app),
        (Screen::Figure, _) => own_figure(app),
        (Screen::Sweep, _) => sweep_figure(app),
        (Screen::Main, Some(Node::Group(_) | Node::Sweep(_))) => group_figure(app),
        (Screen::Main, _) => chart_figure(app),
    }
}

/// The states of these runs (a figure's views take them by value).
fn states_of(app: &App, nums: &[usize]) -> Vec<RunState> {
    nums.iter()
        .filter_map(|&n| app.runs.get(n))
        .map(|r| r.state.clone())
        .collect()
}

/// The chart of a group row (its band) or a sweep row (its grid points).
fn group_figure(app: &App) -> Result<(String, Figure), String> {
    let nums = app.runs.selected_runs();
    let runs = states_of(app, &nums);
    let rows: Vec<&RunRow> = nums.iter().filter_map(|&n| app.runs.get(n)).collect();
    let m = group_metric(app, &rows).ok_or("these runs have no metric to export yet")?;
    let f = groups(&runs, &m, app.chart.spread, app.chart.look(&m).log_y);
    let what = app.runs.selected_sweep().unwrap_or_else(|| "group".into());
    Ok((format!("{what}-{}-runs-{m}", runs.len()), f))
}

/// The compare screen on groups: each compared group and run as a band.
fn compare_groups_figure(app: &App) -> Result<(String, Figure), String> {
    let runs = states_of(app, &app.compare.all_runs(&app.runs));
    let m = app
        .compare_metric()
        .ok_or("the compared groups have no metric to export")?;
    let f = groups(&runs, &m, app.chart.spread, app.chart.look(&m).log_y);
    Ok((
        format!("compare-{}-groups-{m}", app.compare.groups.len()),
        f,
    ))
}

/// The sweep screen's chart: its summary metric against its swept parameter.
fn sweep_figure(app: &App) -> Result<(String, Figure), String> {
    let s = &app.sweep_screen;
    let (axes, metrics, _) = crate::tui::screens::sweep::grid(&app.runs, &s.id);
    let m = metrics
        .get(s.metric.min(metrics.len().saturating_sub(1)))
        .ok_or("no run of the sweep has finished: no summary to export")?;
    let x = axes
        .get(s.axis.min(axes.len().saturating_sub(1)))
        .ok_or("the sweep varies only the seed: no parameter to draw against")?;
    let node = Node::Sweep(s.id.clone());
    let runs = states_of(app, &app.runs.tree.runs_of(&node));
    let log_y = app.sweep_screen.log_y(m);
    let how = Against {
        band: s.spread,
        log_y,
        ..Against::default()
    };
    let f = summary_against(&runs, m, x, how)?;
    Ok((format!("{}-{m}-against-{x}", s.id), f))
}

/// The chart: the selected run's metric, with the same quantity of its other methods.
fn chart_figure(app: &App) -> Result<(String, Figure), String> {
    let r = app
        .runs
        .selected_row()
        .ok_or("no run selected: nothing to export")?;
    let m = app
        .chart_metric()
        .ok_or_else(|| format!("run {} has no metric to export yet", r.label()))?;
    let mut f = run_metric(&r.state, &m, app.chart.look(&m).log_y);
    f.panels[0].title = format!("Run {}", r.label());
    Ok((format!("{}-{m}", r.state.id), f))
}

/// The compare screen: the compared runs' metric on shared axes, named as in the lab.
fn compare_figure(app: &App) -> Result<(String, Figure), String> {
    let rows: Vec<&RunRow> = app
        .compare
        .nums
        .iter()
        .filter_map(|n| app.runs.get(*n))
        .collect();
    let m = app
        .compare_metric()
        .ok_or("the compared runs have no metric to export")?;
    let states: Vec<&RunState> = rows.iter().map(|r| &r.state).collect();
    let mut f = overlay(&states, &m, app.chart.look(&m).log_y);
    for (p, r) in f
        .panels
        .iter_mut()
        .flat_map(|p| p.lines.iter_mut())
        .zip(&rows)
    {
        p.label = r.label();
    }
    Ok((format!("compare-{}-runs-{m}", rows.len()), f))
}

/// The figure screen: the figure it shows.
fn own_figure(app: &App) -> Result<(String, Figure), String> {
    let r = app
        .runs
        .selected_row()
        .ok_or("no run selected: nothing to export")?;
    let figs = r.figures();
    let last = figs.len().checked_sub(1).ok_or_else(|| {
        format!(
            "run {} has no figure to export (its log is not a figure)",
            r.label()
        )
    })?;
    let shown = app.figure.index.unwrap_or(last).min(last);
    let (step, fig) = figs[shown];
    let mut f = Figure::new(
        format!("{} · step {step}", r.state.id),
        vec![experiment_panel(fig)],
        1,
    );
    f.notes.push(run_note(&r.state));
    Ok((format!("{}-figure-{}", r.state.id, shown + 1), f))
}

/// Letters, digits, `-`, `_` and `.`; anything else becomes `_`.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `<dir>/<stem>.svg`, or `<stem>-2.svg`... when taken (an export never replaces another).
fn free_path(dir: &Path, stem: &str) -> PathBuf {
    let taken = |p: &Path| p.exists() || p.with_extension("png").exists();
    (1..)
        .map(|n| {
            let name = if n == 1 {
                format!("{stem}.svg")
            } else {
                format!("{stem}-{n}.svg")
            };
            dir.join(name)
        })
        .find(|p| !taken(p))
        .unwrap_or_else(|| dir.join(format!("{stem}.svg")))
}

/// Writes the figure of the screen as SVG and PNG under `<runs>/exports/`; returns the SVG's
/// path (the PNG sits beside it).
pub fn export(app: &App) -> Result<PathBuf, String> {
    let (name, fig) = screen_figure(app)?;
    let dir = app.settings.runs_dir.join(EXPORTS_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let svg = free_path(&dir, &file_stem(&name));
    figures::write(&fig, &svg, EXPORT_SIZE)?;
    figures::write(&fig, &svg.with_extension("png"), EXPORT_SIZE)?;
    Ok(svg)
}

impl App {
    /// The export key: writes the files and says where in the header.
    pub(super) fn export_screen(&mut self) {
        match export(self) {
            Ok(svg) => self.say(format!("exported {} and .png", svg.display())),
            Err(e) => self.error(format!("cannot export: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::KeyCode;

    use super::*;
    use crate::engine::{Event, Status};
    use crate::experiments::ctx::Figure as RunFigure;
    use crate::experiments::params_with;
    use crate::tui::testing::{press, Lab};

    fn run(id: &str, d: i64) -> RunState {
        let mut s = RunState::new(
            id,
            "E1",
            "t",
            params_with("E1", &[("d", &d.to_string())]).unwrap(),
        );
        s.status = Status::Finished;
        for i in 0..20u64 {
            let v = i as f64 / 20.0;
            s.apply(&Event::Metric {
                step: i * 10,
                name: "test_accuracy".into(),
                value: v,
            });
        }
        s.apply(&Event::Figure {
            step: 190,
            figure: RunFigure::Curves {
                title: "fit".into(),
                x_label: "x".into(),
                y_label: "y".into(),
                series: vec![("target".into(), vec![(0.0, 1.0), (1.0, 2.0), (2.0, 0.5)])],
            },
        });
        s
    }

    fn exported(l: &Lab) -> Vec<String> {
        let dir = l.app.settings.runs_dir.join(EXPORTS_DIR);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn the_export_key_writes_the_chart_the_comparison_and_the_figure_as_svg_and_png() {
        let mut l = Lab::new(1, vec![run("a", 5), run("b", 7)]);
        l.app.runs.select(1);
        press(&mut l.app, KeyCode::Char('E'));
        let msg = l.app.message.clone().unwrap();
        assert!(!msg.error, "{}", msg.text);
        assert!(
            msg.text.contains("exports") && msg.text.contains("a-test_accuracy.svg"),
            "{}",
            msg.text
        );
        assert_eq!(exported(&l), ["a-test_accuracy.png", "a-test_accuracy.svg"]);
        // a second export does not replace the first
        press(&mut l.app, KeyCode::Char('E'));
        assert_eq!(exported(&l).len(), 4);
        for r in l.app.runs.rows.iter_mut() {
            r.marked = true;
        }
        press(&mut l.app, KeyCode::Char('c'));
        press(&mut l.app, KeyCode::Char('E'));
        assert!(exported(&l).contains(&"compare-2-runs-test_accuracy.png".to_string()));
        let svg = std::fs::read_to_string(
            l.app
                .settings
                .runs_dir
                .join(EXPORTS_DIR)
                .join("compare-2-runs-test_accuracy.svg"),
        )
        .unwrap();
        assert!(
            svg.contains("#1 d=5") && svg.contains("#2 d=7"),
            "legend names the runs as the lab does"
        );
        press(&mut l.app, KeyCode::Esc);
        press(&mut l.app, KeyCode::Char('f'));
        press(&mut l.app, KeyCode::Char('E'));
        assert!(
            exported(&l).contains(&"a-figure-1.svg".to_string()),
            "{:?}",
            exported(&l)
        );
        let png = std::fs::read(
            l.app
                .settings
                .runs_dir
                .join(EXPORTS_DIR)
                .join("a-figure-1.png"),
        )
        .unwrap();
        assert_eq!(&png[1..4], b"PNG");
        // the lab's scan and load_all pass over the exports folder
        let (runs, errors) = RunState::load_all(&l.app.settings.runs_dir);
        assert!(runs.is_empty() && errors.is_empty(), "{errors:?}");
        assert!(!l.app.scan_runs_dir());
    }

    #[test]
    fn with_nothing_to_export_the_key_says_why() {
        let mut l = Lab::new(1, vec![]);
        press(&mut l.app, KeyCode::Char('E'));
        let msg = l.app.message.clone().unwrap();
        assert!(
            msg.error && msg.text.contains("no run selected"),
            "{}",
            msg.text
        );
        assert!(exported(&l).is_empty());
    }
}
