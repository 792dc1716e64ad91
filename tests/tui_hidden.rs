//! The chart's hidden-progress view (`H`): a parity run's loss, accuracy, fourier_target and
//! fourier_max_other in one chart; a run without them keeps its one metric.

mod common;

use crossterm::event::KeyCode;
use fail_lab::engine::RunState;
use fail_lab::experiments::{params_with, run_direct, CollectCtx};
use fail_lab::tui::panes::Pane;
use fail_lab::tui::testing::{draw, finished_run, press, screen_text, Lab};
use fail_lab::tui::{ChartMarker, Theme};

use common::snap;

/// A run of `id` whose metrics are `points` (name, step, value), finished.
fn run_of(
    id: &str,
    exp: &str,
    overrides: &[(&str, &str)],
    points: &[(String, u64, f64)],
) -> RunState {
    let points: Vec<(&str, u64, f64)> = points
        .iter()
        .map(|(n, s, v)| (n.as_str(), *s, *v))
        .collect();
    finished_run(id, exp, "hidden progress", overrides, &points)
}

/// A synthetic SP run: a flat loss, then at step 3,000 the jump; the target's correlation
/// rises from 2,600, the others' stays at 0.06.
fn synthetic_sp() -> RunState {
    let mut pts = Vec::new();
    for i in 0..=40u64 {
        let step = i * 100;
        let rise = ((step as f64 - 3000.0) / 150.0).tanh() * 0.5 + 0.5;
        let target = ((step as f64 - 2800.0) / 200.0).tanh() * 0.48 + 0.5;
        pts.push(("train_loss".to_string(), step, 1.0 - 0.98 * rise));
        pts.push(("test_accuracy".to_string(), step, 0.5 + 0.5 * rise));
        pts.push(("fourier_target".to_string(), step, target));
        pts.push(("fourier_max_other".to_string(), step, 0.06));
        pts.push(("dist_from_init".to_string(), step, step as f64 / 20000.0));
    }
    run_of("20260101-000001-sp", "SP", &[("n", "20")], &pts)
}

fn lab(runs: Vec<RunState>) -> Lab {
    let mut l = Lab::with_files(2, runs, &[], Theme::new(true, ChartMarker::Braille));
    l.app.runs.select(1);
    l.app.focus = Pane::Chart;
    l
}

#[test]
fn h_shows_the_hidden_progress_of_a_parity_run_and_h_again_its_metric() {
    let mut l = lab(vec![synthetic_sp()]);
    let t = draw(&mut l.app, 120, 36);
    assert!(screen_text(&t).contains("· test_accuracy"));
    press(&mut l.app, KeyCode::Char('H'));
    assert!(l.app.chart.hidden);
    let t = draw(&mut l.app, 120, 36);
    let text = screen_text(&t);
    assert!(text.contains("· hidden progress"), "{text}");
    for m in [
        "train_loss",
        "test_accuracy",
        "fourier_target",
        "fourier_max_other",
    ] {
        assert!(text.contains(m), "the legend names {m}: {text}");
    }
    snap!("hidden_progress_120x36", t);
    // the frame's keys are the view's: H goes back to one metric (m and y change nothing)
    for (w, h) in [(120, 36), (160, 50), (200, 60)] {
        let text = screen_text(&draw(&mut l.app, w, h));
        let title = text
            .lines()
            .find(|l| l.contains("hidden progress"))
            .unwrap();
        assert!(title.contains("H one metric"), "{w}x{h}: {title}");
        assert!(!title.contains("m metric"), "{w}x{h}: {title}");
    }
    press(&mut l.app, KeyCode::Char('H'));
    let t = draw(&mut l.app, 120, 36);
    assert!(!screen_text(&t).contains("· hidden progress"));
}

/// A run without `fourier_target` (here an LP run) keeps its own metric with the view on.
#[test]
fn a_run_without_the_metrics_keeps_its_chart() {
    let pts: Vec<(String, u64, f64)> = (0..10u64)
        .map(|i| ("test_loss_ratio".to_string(), i * 10, 1.0 - i as f64 / 20.0))
        .collect();
    let mut l = lab(vec![run_of("20260101-000002-lp", "LP", &[], &pts)]);
    press(&mut l.app, KeyCode::Char('H'));
    let text = screen_text(&draw(&mut l.app, 120, 36));
    assert!(text.contains("· test_loss_ratio"), "{text}");
    assert!(!text.contains("hidden progress"), "{text}");
}

/// A real SP run at n = 10 (trained here, about a second): the view draws its four curves.
#[test]
fn a_trained_sp_run_draws_its_hidden_progress() {
    let p = params_with("SP", &[("n", "10")]).unwrap();
    let mut c = CollectCtx::new();
    run_direct("SP", &p, 0, &mut c).unwrap();
    let pts: Vec<(String, u64, f64)> = c
        .metrics
        .iter()
        .flat_map(|(name, s)| s.iter().map(move |&(step, v)| (name.clone(), step, v)))
        .collect();
    let mut l = lab(vec![run_of(
        "20260101-000003-sp",
        "SP",
        &[("n", "10")],
        &pts,
    )]);
    press(&mut l.app, KeyCode::Char('H'));
    let text = screen_text(&draw(&mut l.app, 120, 36));
    assert!(
        text.contains("· hidden progress") && text.contains("fourier_max_other"),
        "{text}"
    );
}
