//! The sweep screen of a sweep over SP's n: the count of seeds never reads as a second `n`,
//! and F fits a power law to the time to solve against n, the group that too few runs
//! solved drawn apart at its budget and counted in the fit's words.

use crossterm::event::KeyCode;
use fail_lab::engine::{RunState, Status};
use fail_lab::experiments::ctx::Summary;
use fail_lab::experiments::params_with;
use fail_lab::tui::model::run_tree::SweepInfo;
use fail_lab::tui::panes::Pane;
use fail_lab::tui::testing::{draw, press, screen_text, Lab};
use fail_lab::tui::{ChartMarker, Theme};

mod common;
use common::snap;

const ID: &str = "20261201-120000-SP-sweep";

/// SP over n = 10, 14, 20 (solved at about 2·n³ steps, a seed's spread around it) and
/// n = 28, which neither seed solved within the budget of 40k steps.
fn sp_sweep() -> Lab {
    let mut runs = Vec::new();
    for n in [10u32, 14, 20, 28] {
        for seed in 0..2u64 {
            let params = params_with("SP", &[("n", &n.to_string()), ("steps", "40000")]).unwrap();
            let mut s = RunState::new(&format!("{ID}-{n}-{seed}"), "SP", "sweep", params);
            s.status = Status::Finished;
            s.seed = Some(seed);
            s.sweep = Some(ID.to_string());
            let t = 2.0 * (n as f64).powi(3) * (1.0 + 0.1 * seed as f64);
            let solved = n < 28;
            let mut summary = Summary::default();
            summary.set("test_accuracy", if solved { 1.0 } else { 0.5 });
            if solved {
                summary.set("steps_to_0.99", t.round());
                s.step = t.round() as u64;
            } else {
                s.step = 40_000;
            }
            s.total = 40_000;
            s.summary = Some(summary);
            runs.push(s);
        }
    }
    let info = SweepInfo {
        title: "sweep".into(),
        axes: vec!["n".into()],
        total: runs.len(),
        runs: runs.iter().map(|r| r.id.clone()).collect(),
        ..Default::default()
    };
    let mut l = Lab::with_files(2, runs, &[], Theme::new(true, ChartMarker::Braille));
    l.app.runs.add_fresh_sweep(ID, info);
    l.app.focus = Pane::Runs;
    l.app.runs.select_first();
    l
}

#[test]
fn the_sweep_screen_fits_the_time_to_solve_against_n_and_shows_the_censored_group() {
    let mut l = sp_sweep();
    press(&mut l.app, KeyCode::Char('S'));
    // the chart's metric: the time to solve
    while !screen_text(&draw(&mut l.app, 160, 50)).contains("steps_to_0.99 against n") {
        press(&mut l.app, KeyCode::Char('m'));
    }
    let text = screen_text(&draw(&mut l.app, 160, 50));
    // beside the swept n, the count of seeds has a name of its own
    assert!(text.contains("n_seeds=2"), "{text}");
    assert!(!text.contains(" n=2 "), "{text}");
    assert!(!text.contains("power fit"), "no fit before F: {text}");

    press(&mut l.app, KeyCode::Char('F'));
    let t = draw(&mut l.app, 160, 50);
    let text = screen_text(&t);
    // the medians 2·n³ (the first seed's time: S falls to 1/2 there): the exponent of n is
    // 3, and n = 28 is drawn apart
    assert!(text.contains("power fit over n: y ∝ x^3"), "{text}");
    assert!(text.contains("(3 groups)"), "{text}");
    assert!(
        text.contains(
            "1 censored group left out (fewer than half its runs got there): n = 28 (> 40000)"
        ),
        "{text}"
    );
    assert!(text.contains("censored (1): median > budget"), "{text}");
    assert!(
        text.contains("fit ∝ x^3"),
        "the legend names the fit: {text}"
    );
    snap!("sweep_screen_power_fit_160x50", t);

    // then an exponential, then off
    press(&mut l.app, KeyCode::Char('F'));
    let text = screen_text(&draw(&mut l.app, 160, 50));
    assert!(text.contains("exp fit over n: y ∝ e^("), "{text}");
    press(&mut l.app, KeyCode::Char('F'));
    let text = screen_text(&draw(&mut l.app, 160, 50));
    assert!(!text.contains("fit over n"), "{text}");

    // X: the swept n on a log axis (log-log where the metric's y is on a log scale too);
    // the fit is the same, its curve drawn over log n
    press(&mut l.app, KeyCode::Char('F'));
    press(&mut l.app, KeyCode::Char('X'));
    let text = screen_text(&draw(&mut l.app, 160, 50));
    assert!(
        text.contains("· log-x ") || text.contains("· log-log "),
        "{text}"
    );
    // the axis is named in the title (`against n`), its scale in its last label
    assert!(text.contains("29.48 (log)"), "{text}");
    assert!(text.contains("power fit over n: y ∝ x^3 [3, 3]"), "{text}");
    press(&mut l.app, KeyCode::Char('X'));
    let text = screen_text(&draw(&mut l.app, 160, 50));
    assert!(!text.contains("(log)") && !text.contains("log-x"), "{text}");
}
