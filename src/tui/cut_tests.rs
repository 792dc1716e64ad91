//! Labels drawn whole, or cut where the cut still tells them apart: the runs table's
//! latest values, seeds and parameters, the figure screen's log, the axes' names and the
//! legends of charts.

use std::path::PathBuf;

use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;

use super::fit_tests::e2_lab;
use crate::engine::{Event, RunState, Series, Status};
use crate::experiments::params_with;
use crate::tui::bands::{band_plot, Band};
use crate::tui::panes::runs_table::{fit_pairs, latest_text, seed_text};
use crate::tui::panes::Pane;
use crate::tui::plot::{draw_plot, plot_series, Look};
use crate::tui::testing::{press, screen, Lab};
use crate::tui::theme::{ChartMarker, Theme};
use crossterm::event::KeyCode;

/// A finished E1 run with an accuracy, a loss and a third metric.
fn e1_run(id: &str) -> RunState {
    let params = params_with("E1", &[("d", "5")]).unwrap();
    let mut s = RunState::new(id, "E1", "t", params);
    s.status = Status::Finished;
    s.dir = Some(PathBuf::from("/nonexistent"));
    for i in 0..10u64 {
        for (name, v) in [
            ("test_accuracy", 0.5 + i as f64 / 20.0),
            ("train_loss", 0.7 - i as f64 / 20.0),
            ("dist_from_init", i as f64),
        ] {
            s.apply(&Event::Metric {
                step: i * 10,
                name: name.into(),
                value: v,
            });
        }
    }
    s
}

#[test]
fn the_latest_values_column_shows_whole_pairs_only() {
    let l = Lab::new(2, vec![e1_run("a")]);
    let r = l.app.runs.get(1).unwrap();
    // 30 columns (a 200-column screen): the accuracy and the loss do not both fit
    let text = latest_text(r, 30);
    assert_eq!(text, "test_accuracy 0.95");
    let text = latest_text(r, 40);
    assert_eq!(text, "test_accuracy 0.95 · train_loss 0.25");
    for w in 11..60 {
        let text = latest_text(r, w);
        assert!(
            text.chars().count() <= w && !text.contains('…'),
            "{w}: {text}"
        );
    }
}

#[test]
fn a_seed_under_its_group_is_never_cut() {
    assert_eq!(seed_text("6", 2, 12), "    seed 6");
    assert_eq!(seed_text("6", 2, 9), "  seed 6");
    assert_eq!(seed_text("976905384", 1, 9), "976905384");
    assert_eq!(seed_text("12", 2, 6), "  12");
    for w in 1..20 {
        for seed in ["0", "42", "976905384"] {
            let t = seed_text(seed, 2, w);
            assert!(t.chars().count() <= w, "{w}: {t}");
            assert!(!t.contains("seed") || t.ends_with(seed), "{w}: {t}");
        }
    }
}

#[test]
fn parameters_that_set_a_run_apart_fit_as_whole_pairs() {
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let two = pairs(&[("d", "7"), ("steps", "1000")]);
    assert_eq!(fit_pairs(&two, 20), "d=7 steps=1000");
    assert_eq!(fit_pairs(&two, 11), "d=7 +1");
    let e2 = pairs(&[("steps_e2e", "300"), ("steps_dec", "300")]);
    assert_eq!(fit_pairs(&e2, 22), "steps_e2e=300 +1");
    // a first pair too long for the column keeps its value
    let t = fit_pairs(&e2, 11);
    assert!(t.ends_with("=300 +1") && t.chars().count() <= 11, "{t}");
}

#[test]
fn the_runs_table_cuts_no_label_at_the_usual_sizes() {
    // an E2 run of two changed parameters, and a group of seeds
    let mut l = e2_lab(3.7);
    for (w, h) in [(80, 24), (100, 30), (200, 60)] {
        let text = screen(&mut l.app, w, h);
        let row = text.lines().find(|l| l.contains(" 1 E2")).unwrap();
        assert!(!row.contains("k=…") && !row.contains("…"), "{w}x{h}: {row}");
        // the header's last column is named whole
        let header = text.lines().find(|l| l.contains("# exp")).unwrap();
        assert!(!header.contains('…'), "{w}x{h}: {header}");
    }
}

#[test]
fn a_long_log_line_wraps_in_the_figure_screen() {
    let mut s = e1_run("a");
    let long = format!("{}finish", "word ".repeat(20));
    s.logs.push_back(long);
    let mut l = Lab::new(2, vec![s]);
    l.app.runs.select(1);
    l.app.focus = Pane::Runs;
    press(&mut l.app, KeyCode::Char('f'));
    let text = screen(&mut l.app, 80, 24);
    assert!(text.contains("finish"), "{text}");
}

fn series(points: &[(u64, f64)]) -> Series {
    let mut s = Series::default();
    for &(x, v) in points {
        s.push(x, v);
    }
    s
}

/// The lines of a plot drawn in `w` x `h`.
fn drawn(w: u16, h: u16, draw: impl FnOnce(&mut ratatui::Frame, Rect)) -> Vec<String> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| draw(f, Rect::new(0, 0, w, h))).unwrap();
    let buf = term.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

#[test]
fn the_x_axis_names_its_unit_under_the_plot_never_over_it() {
    let t = Theme::new(false, ChartMarker::Braille);
    let s = series(
        &(0..=300)
            .map(|i| (i, (i as f64 / 30.0).sin()))
            .collect::<Vec<_>>(),
    );
    let shown = vec![("a".to_string(), &s)];
    let lines = drawn(60, 12, |f, area| {
        let p = plot_series(t, &shown, Look::default(), area.width, 0).unwrap();
        draw_plot(f, t, &p, area, false);
    });
    let last = lines.last().unwrap();
    assert!(last.trim_end().ends_with("300 steps"), "{lines:#?}");
    // nowhere above the labels' row, where the lines are
    for l in &lines[..lines.len() - 1] {
        assert!(!l.contains("step"), "{lines:#?}");
    }
}

#[test]
fn a_legend_goes_above_the_plot_where_it_hides_no_line() {
    let t = Theme::new(false, ChartMarker::Braille);
    let a = series(&(0..=100).map(|i| (i, i as f64)).collect::<Vec<_>>());
    let b = series(&(0..=100).map(|i| (i, 100.0 - i as f64)).collect::<Vec<_>>());
    let shown = vec![("rising".to_string(), &a), ("falling".to_string(), &b)];
    let lines = drawn(60, 16, |f, area| {
        let p = plot_series(t, &shown, Look::default(), area.width, 0).unwrap();
        draw_plot(f, t, &p, area, true);
    });
    assert!(lines[0].starts_with("━ rising  ━ falling"), "{lines:#?}");
    assert!(
        lines[1..].iter().all(|l| !l.contains("rising")),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| !l.contains('┌')), "no box: {lines:#?}");
}

#[test]
fn overlapping_bands_are_outlined_and_one_band_is_filled() {
    let t = Theme::new(true, ChartMarker::Braille);
    let band = |label: &str, mid: f64| {
        let pts = |d: f64| series(&(0..=100).map(|i| (i * 10, mid + d)).collect::<Vec<_>>());
        Band {
            label: label.into(),
            mean: pts(0.0),
            lo: pts(-0.2),
            hi: pts(0.2),
            n: 3,
        }
    };
    let both = [band("a", 0.5), band("b", 0.6)];
    let area = Rect::new(0, 0, 80, 20);
    let one = band_plot(t, &both[..1], Look::default(), area, 0, true).unwrap();
    let two = band_plot(t, &both, Look::default(), area, 0, true).unwrap();
    let dots = |p: &crate::tui::plot::Plot| p.fills.iter().map(|f| f.0.len()).sum::<usize>();
    // filled: every column from edge to edge; outlined: a dotted edge above and below
    let edge_points = two.lines[0].1.points.len();
    assert!(
        dots(&one) > 4 * edge_points,
        "{} {}",
        dots(&one),
        edge_points
    );
    assert_eq!(two.fills.len(), 2);
    for f in &two.fills {
        assert!(f.0.len() <= 2 * edge_points.div_ceil(3), "{}", f.0.len());
        assert!(!f.0.is_empty());
    }
}

#[test]
fn a_comparison_table_shows_the_columns_that_fit_whole() {
    let mut l = Lab::new(2, vec![]);
    let (runs, info) = crate::tui::testing::sweep_runs("s1");
    l.app.runs.add_saved_many(runs);
    l.app.runs.add_fresh_sweep("s1", info);
    let keys: Vec<String> = l
        .app
        .runs
        .tree
        .sweep_groups("s1")
        .iter()
        .map(|g| g.key.clone())
        .collect();
    assert_eq!(keys.len(), 4);
    l.app.runs.marked_groups.extend(keys);
    l.app.focus = Pane::Runs;
    press(&mut l.app, KeyCode::Char('c'));
    let text = screen(&mut l.app, 80, 24);
    assert!(text.contains("the first 3 of 4"), "{text}");
    let head = text
        .lines()
        .find(|l| l.contains("d=4 lr=0.1") && !l.contains('━'))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(!head.contains('…'), "{head}");
    // every shown column whole at 160 columns
    let text = screen(&mut l.app, 160, 50);
    assert!(!text.contains("the others do not fit"), "{text}");
}

/// A lab with E1 runs whose parameters are long enough to take a wide column each: `n`
/// finished runs, all marked.
fn marked_runs(n: usize) -> Lab {
    let runs = (0..n)
        .map(|i| {
            let mut s = e1_run(&format!("r{i}"));
            s.params = params_with("E1", &[("d", &(5 + i).to_string())]).unwrap();
            s
        })
        .collect();
    let mut l = Lab::new(2, runs);
    for r in l.app.runs.rows.iter_mut() {
        r.marked = true;
    }
    l
}

#[test]
fn the_runs_compare_table_shows_the_runs_that_fit_and_counts_the_others() {
    let mut l = marked_runs(8);
    l.app.focus = Pane::Runs;
    press(&mut l.app, KeyCode::Char('c'));
    let text = screen(&mut l.app, 80, 24);
    assert!(text.contains("the first 3 of 8"), "{text}");
    // no row runs past the table's box: each ends in its right border
    for line in text
        .lines()
        .filter(|l| l.contains("status") || l.contains('#'))
    {
        assert_eq!(line.chars().count(), 80, "{line}");
        assert!(!line.contains('…'), "{line}");
    }
    let status = text.lines().find(|l| l.contains("status")).unwrap();
    assert_eq!(status.matches("finished").count(), 3, "{status}");
    // all of them at 200 columns
    let text = screen(&mut l.app, 200, 60);
    assert!(!text.contains("do not fit"), "{text}");
    let status = text.lines().find(|l| l.contains("status")).unwrap();
    assert_eq!(status.matches("finished").count(), 8, "{status}");
}

#[test]
fn a_failed_runs_row_says_why_in_a_short_whole_form() {
    use crate::tui::panes::runs_table::reason_text;
    let diverged = "at step 1200: train_loss is NaN";
    assert_eq!(
        reason_text(1200, diverged, None, 40),
        "at 1200: train_loss is NaN"
    );
    assert_eq!(reason_text(1200, diverged, None, 20), "at 1200: NaN");
    assert_eq!(reason_text(1200, diverged, None, 5), "NaN");
    assert_eq!(
        reason_text(1200, diverged, Some("diverged"), 40),
        "diverged at 1200: train_loss is NaN"
    );
    assert_eq!(
        reason_text(1200, diverged, Some("diverged"), 14),
        "diverged: NaN"
    );
    let failed = "the dataset folder /data/lines could not be read: permission denied";
    assert_eq!(reason_text(12_400, failed, None, 20), "at 12.4k");
    assert_eq!(reason_text(0, failed, None, 20), "");
    assert_eq!(
        reason_text(12_400, failed, Some("failed"), 20),
        "failed at 12.4k"
    );
    assert_eq!(reason_text(0, failed, Some("failed"), 20), "failed");
    for w in 0..80 {
        for (step, reason) in [(1200, diverged), (12_400, failed), (0, failed)] {
            for label in [None, Some("failed")] {
                let t = reason_text(step, reason, label, w);
                assert!(t.chars().count() <= w && !t.contains('…'), "{w}: {t}");
                assert!(
                    w < 6 || label.is_none() || t.starts_with("failed"),
                    "{w}: {t}"
                );
            }
        }
    }
    // in the lab: the row has the short form, the chart's note the whole reason
    let mut s = e1_run("a");
    s.status = crate::engine::Status::Failed;
    s.step = 90;
    s.reason = Some(failed.into());
    let mut l = Lab::new(2, vec![s]);
    l.app.runs.select(1);
    for (w, h) in [(80, 24), (200, 60)] {
        let text = screen(&mut l.app, w, h);
        let row = text.lines().find(|l| l.contains(" 1 E1")).unwrap();
        assert!(
            row.contains("failed") && !row.contains('…'),
            "{w}x{h}: {row}"
        );
        let words: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.contains("failed: the dataset folder") && words.contains("permission denied"),
            "{w}x{h}: {text}"
        );
    }
}

#[test]
fn the_scenario_tree_names_experiments_whole_at_80x24() {
    let mut l = Lab::new(2, vec![]);
    assert!(l.app.scenarios.select_title("gradient variance"));
    let text = screen(&mut l.app, 80, 24);
    // the row is there, as its id at least
    assert!(
        text.lines()
            .any(|l| l.contains("▸ T1") || l.contains("▾ T1")),
        "{text}"
    );
    // no cut label anywhere on the screen: whole words and a `…` apart
    for line in text.lines() {
        if let Some(i) = line.find('…') {
            assert!(line[..i].ends_with(' '), "{line}");
        }
    }
    // every row of the tree: whole, or whole words and a `…` apart
    for line in text.lines().skip(1) {
        let tree: String = line.chars().skip(1).take_while(|&c| c != '│').collect();
        if let Some(i) = tree.find('…') {
            assert!(tree[..i].ends_with(' '), "{tree}");
        }
    }
}

#[test]
fn a_sweeps_chart_title_keeps_the_metric_whole_beside_the_scenarios() {
    use crate::tui::model::run_tree::Node;
    let mut l = Lab::new(2, vec![]);
    let id = "20261206-195203-sp";
    let (runs, info) = crate::tui::testing::sweep_runs(id);
    l.app.runs.add_saved_many(runs);
    l.app.runs.add_fresh_sweep(id, info);
    l.app.runs.select_node(Node::Sweep(id.into()));
    l.app.focus = Pane::Scenarios;
    for (w, h) in [(80, 24), (200, 60)] {
        let text = screen(&mut l.app, w, h);
        let title = text
            .lines()
            .find(|l| l.contains("test_accuracy") && (l.contains('━') || l.contains('─')))
            .unwrap_or_else(|| panic!("{w}x{h}: {text}"));
        assert!(title.contains(" test_accuracy "), "{w}x{h}: {title}");
        assert!(
            title.contains(id) || !title.contains("2026"),
            "{w}x{h}: {title}"
        );
        assert!(!title.contains('…'), "{w}x{h}: {title}");
    }
}

#[test]
fn the_parameters_pane_cuts_no_word_nor_choice() {
    let mut l = Lab::new(2, vec![]);
    assert!(l.app.scenarios.select_title("d = 5"));
    for focus in [Pane::Scenarios, Pane::Params] {
        l.app.focus = focus;
        for (w, h) in [(80, 24), (100, 30), (200, 60)] {
            let text = screen(&mut l.app, w, h);
            assert!(text.contains("seed"), "{text}");
            for line in text.lines() {
                let chars: Vec<char> = line.chars().collect();
                for (i, &c) in chars.iter().enumerate() {
                    if c == '…' {
                        assert!(
                            i > 0 && matches!(chars[i - 1], ' ' | '|'),
                            "{w}x{h}: {line}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_bands_seed_count_is_named_apart_from_a_parameter_n() {
    let t = Theme::new(true, ChartMarker::Braille);
    let pts = series(&(0..=10).map(|i| (i * 10, 0.5)).collect::<Vec<_>>());
    let band = |label: &str| Band {
        label: label.into(),
        mean: pts.clone(),
        lo: pts.clone(),
        hi: pts.clone(),
        n: 2,
    };
    let area = Rect::new(0, 0, 80, 20);
    let p = band_plot(
        t,
        &[band("n=8"), band("d=4")],
        Look::default(),
        area,
        0,
        true,
    )
    .unwrap();
    let names: Vec<&str> = p.lines.iter().map(|l| l.0.as_str()).collect();
    assert_eq!(names, ["n=8 (n_seeds=2)", "d=4 (n=2)"]);
}
