//! The theory drawn on the lab's chart: E5's cond(WᵀW) against c·n^3.5 with the formula in
//! the legend, E4's SNR ratio against k, and T hiding them.

mod common;

use crossterm::event::KeyCode;
use fail_lab::engine::RunState;
use fail_lab::tui::panes::Pane;
use fail_lab::tui::testing::{draw, finished_run, press, screen_text, Lab};
use fail_lab::tui::{ChartMarker, Theme};

use common::snap;

/// A finished run of `exp` whose metrics are `points` (name, step, value).
fn run_of(id: &str, exp: &str, points: &[(&str, u64, f64)]) -> RunState {
    finished_run(id, exp, "theory", &[], points)
}

fn lab(run: RunState) -> Lab {
    let mut l = Lab::with_files(2, vec![run], &[], Theme::new(true, ChartMarker::Braille));
    l.app.runs.select(1);
    l.app.focus = Pane::Chart;
    l
}

#[test]
fn e5s_chart_draws_c_n_to_the_3_5_and_t_hides_it() {
    // the specification's cond(WᵀW) at n = 25, 50, 100, 200
    let run = run_of(
        "20260101-000001-e5",
        "E5",
        &[
            ("cond_wtw", 25, 5.9e5),
            ("cond_wtw", 50, 8.7e6),
            ("cond_wtw", 100, 1.35e8),
            ("cond_wtw", 200, 2.1e9),
        ],
    );
    let mut l = lab(run);
    let t = draw(&mut l.app, 160, 50);
    let text = screen_text(&t);
    assert!(text.contains("cond_wtw"), "{text}");
    assert!(text.contains("Theorem 3: c·n^3.5, c = "), "{text}");
    snap!("theory_e5_160x50", t);
    press(&mut l.app, KeyCode::Char('T'));
    let text = screen_text(&draw(&mut l.app, 160, 50));
    assert!(!text.contains("Theorem 3"), "{text}");
    press(&mut l.app, KeyCode::Char('T'));
    let text = screen_text(&draw(&mut l.app, 160, 50));
    assert!(text.contains("Theorem 3"), "{text}");
}

#[test]
fn e4s_ratio_is_drawn_against_k_and_snr_charts_against_the_float32_floor() {
    let run = run_of(
        "20260101-000002-e4",
        "E4",
        &[
            ("init/snr_ratio", 10, 10.0),
            ("init/snr_ratio", 100, 100.3),
            ("init/snr_ratio", 1000, 1001.0),
            ("init/snr_e2e", 10, 1.1e-4),
            ("init/snr_e2e", 100, 9.8e-6),
            ("init/snr_e2e", 1000, 1.0e-6),
        ],
    );
    let mut l = lab(run);
    // the metric list: pick each by m until the chart's title names it
    let mut seen = (false, false);
    for _ in 0..12 {
        let text = screen_text(&draw(&mut l.app, 160, 50));
        if text.contains("init/snr_ratio ") && text.contains("§3.3: SNR_Dec / SNR_E2E = k") {
            seen.0 = true;
        }
        if text.contains("float32 precision: 2^-23") {
            seen.1 = true;
        }
        press(&mut l.app, KeyCode::Char('m'));
    }
    assert!(seen.0 && seen.1, "{seen:?}");
}
