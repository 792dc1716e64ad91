//! What the lab shows fits its place: a slow run's pace and ETA, a run of two methods (E2)
//! with both, its many metrics found by group, at 80x24 and at large sizes.

use super::tests::ev;
use super::*;
use crate::tui::testing::{press, screen, Lab};
use crossterm::event::KeyCode;

/// E2's metrics: two methods' accuracies, and the gradient SNR of each layer of each.
pub(super) fn e2_metric_names() -> Vec<String> {
    let mut names = Vec::new();
    for m in ["e2e", "dec"] {
        names.push(format!("{m}/test_accuracy"));
        names.push(format!("{m}/image_accuracy"));
    }
    for m in ["e2e", "dec"] {
        names.push(format!("{m}/grad_snr"));
        for layer in [
            "conv1",
            "conv2",
            "n1.dense1",
            "n1.dense2",
            "n1.dense3",
            "n2.dense1",
        ] {
            for p in ["w", "b"] {
                names.push(format!("{m}/grad_snr/{layer}.{p}"));
            }
        }
    }
    names
}

/// A lab training one E2 run (k = 4, 20k steps) at `rate` steps a second, at step 100,
/// with every metric of `e2_metric_names` recorded; the run is selected.
pub(super) fn e2_lab(rate: f64) -> Lab {
    let mut l = Lab::new(2, vec![]);
    press(&mut l.app, KeyCode::Enter);
    l.app.update_from_workers();
    let params = crate::experiments::params_with("E2", &[("k", "4")]).unwrap();
    l.events
        .send(ev(
            "run-1",
            Event::Started {
                experiment: "E2".into(),
                title: "k = 4 (end-to-end fails)".into(),
                params,
                seed: 0,
                dir: PathBuf::from("/nonexistent"),
            },
        ))
        .unwrap();
    for step in [0u64, 50, 100] {
        for (i, name) in e2_metric_names().iter().enumerate() {
            let value = if name.contains("accuracy") {
                // the decomposition learns, end-to-end stays at chance
                if name.starts_with("dec") {
                    0.5 + step as f64 / 250.0
                } else {
                    0.49 + 0.001 * i as f64
                }
            } else {
                0.01 * (i + 1) as f64
            };
            l.events
                .send(ev(
                    "run-1",
                    Event::Metric {
                        step,
                        name: name.clone(),
                        value,
                    },
                ))
                .unwrap();
        }
    }
    l.events
        .send(ev(
            "run-1",
            Event::Progress {
                step: 100,
                total: 20_000,
                steps_per_sec: rate,
            },
        ))
        .unwrap();
    l.app.update_from_workers();
    l.app.runs.select(1);
    l
}

#[test]
fn a_slow_run_shows_its_pace_and_its_eta_whole_at_every_size() {
    // E2 trains at 3 to 5 steps a second: 19,900 steps left at 3.7/s is 5378 s, 1h29m
    let mut l = e2_lab(3.7);
    for (w, h) in [(80, 24), (100, 30), (200, 60)] {
        let text = screen(&mut l.app, w, h);
        assert!(
            text.contains("3.7/s · ETA 1h29m"),
            "{w}x{h}: pace or ETA cut:\n{text}"
        );
    }
    // a run slower than a step a second says so per minute, not as 0.0/s
    let mut l = e2_lab(0.25);
    let text = screen(&mut l.app, 80, 24);
    assert!(text.contains("15/min · ETA 22h06m"), "{text}");
}

/// The row of run #1 in the runs pane.
fn run_row(text: &str) -> String {
    text.lines()
        .find(|l| l.contains(" 1 E2"))
        .unwrap_or_else(|| panic!("no row of run #1:\n{text}"))
        .to_string()
}

#[test]
fn a_run_of_two_methods_shows_both_in_its_row() {
    // E2: end-to-end at 0.49, the decomposition at 0.9, as in the paper's Figure 3
    let mut l = e2_lab(3.7);
    let narrow = run_row(&screen(&mut l.app, 80, 24));
    assert!(narrow.contains(".49/.9"), "{narrow}");
    let wide = run_row(&screen(&mut l.app, 200, 60));
    assert!(wide.contains("e2e 0.49 · dec 0.9"), "{wide}");
}

#[test]
fn the_differs_column_says_something_or_is_left_out_at_80x24() {
    // three seeds of one setting: a group whose runs say their seed
    let mut l = Lab::new(3, vec![]);
    for _ in 0..3 {
        press(&mut l.app, KeyCode::Enter);
    }
    l.app.update_from_workers();
    for (i, id) in ["run-1", "run-2", "run-3"].iter().enumerate() {
        let params = crate::experiments::params_with("E1", &[("d", "5")]).unwrap();
        l.events
            .send(ev(
                id,
                Event::Started {
                    experiment: "E1".into(),
                    title: "t".into(),
                    params,
                    seed: i as u64,
                    dir: PathBuf::from("/nonexistent"),
                },
            ))
            .unwrap();
    }
    l.app.update_from_workers();
    l.app.focus = crate::tui::panes::Pane::Runs;
    press(&mut l.app, KeyCode::Right);
    for (w, h) in [(80, 24), (100, 30), (200, 60)] {
        let text = screen(&mut l.app, w, h);
        let runs: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(" E1 ") || l.contains(" E1  "))
            .collect();
        assert!(!runs.is_empty(), "{text}");
        for row in runs {
            assert!(!row.contains(" … "), "{w}x{h}: a column of only …: {row}");
        }
        assert!(text.contains("seed 2"), "{w}x{h}:\n{text}");
    }
}

#[test]
fn forty_metrics_list_accuracies_first_and_never_read_the_same() {
    let mut l = e2_lab(3.7);
    let names = l.app.runs.get(1).unwrap().metric_names();
    assert_eq!(names.len(), 30);
    assert_eq!(
        names[..4],
        [
            "e2e/test_accuracy",
            "dec/image_accuracy",
            "dec/test_accuracy",
            "e2e/image_accuracy"
        ]
    );
    assert!(names[4..].iter().all(|n| n.contains("grad_snr")));
    // the chart zoomed at 80x24 lists the metrics in a narrow column beside it
    l.app.focus = crate::tui::panes::Pane::Chart;
    press(&mut l.app, KeyCode::Char('z'));
    let text = screen(&mut l.app, 80, 24);
    let listed = listed_metrics(&text);
    assert!(listed.len() >= 8, "{text}");
    for (i, a) in listed.iter().enumerate() {
        assert!(!listed[i + 1..].contains(a), "{a} twice:\n{text}");
    }
}

/// The names in the chart's list of metrics of an E2 run on a screen: the rows with a
/// method's name (`e2e/…`, `dec/…`) that are not a legend's or the chart's title.
pub(super) fn listed_metrics(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.contains("━ ") && !line.contains("Run #"))
        .filter_map(|line| {
            let at = ["▸e2e/", "▸dec/", " e2e/", " dec/"]
                .iter()
                .filter_map(|p| line.find(p))
                .min()?;
            let rest = line[at..].trim_start_matches(['▸', ' ']);
            Some(rest.split(' ').next()?.to_string())
        })
        .collect()
}
