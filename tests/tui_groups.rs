//! Sweeps and groups on screen (`TestBackend` snapshots at 80x24 and a large size): the runs
//! table with a sweep unfolded into its grid points and a hand-started group, a group's band
//! chart, two groups compared, and the sweep screen.

use crossterm::event::KeyCode;
use fail_lab::engine::{Event, RunState, Status};
use fail_lab::experiments::params_with;
use fail_lab::tui::model::run_tree::Node;
use fail_lab::tui::panes::Pane;
use fail_lab::tui::testing::{draw, press, screen_text, sweep_runs, Lab, D5};
use fail_lab::tui::{ChartMarker, Theme};

mod common;
use common::snap;

/// Three hand-started runs of d = 5 (seeds 0..2) and the sweep `s1` of the fixture.
fn lab() -> Lab {
    let mut saved = Vec::new();
    for seed in 0..3u64 {
        let params = params_with("E1", &[("d", "5"), ("steps", "1000")]).unwrap();
        let mut s = RunState::new(
            &format!("hand-{seed}"),
            "E1",
            "Random parity, d = 5",
            params,
        );
        s.seed = Some(seed);
        s.status = Status::Finished;
        for i in 0..=50u64 {
            let x = i as f64 / 50.0;
            s.apply(&Event::Metric {
                step: i * 20,
                name: "test_accuracy".into(),
                value: 0.5 + 0.5 * x.powf(1.0 + seed as f64 * 0.5),
            });
        }
        s.step = 1000;
        s.total = 1000;
        saved.push(s);
    }
    let (sweep, info) = sweep_runs("20261201-120000-E1-sweep");
    saved.extend(sweep);
    let mut l = Lab::with_files(
        2,
        saved,
        &[("e1-parity-d5.toml", D5)],
        Theme::new(true, ChartMarker::Braille),
    );
    l.app.runs.add_fresh_sweep("20261201-120000-E1-sweep", info);
    l.app.focus = Pane::Runs;
    l.app.runs.select_first();
    l
}

#[test]
fn the_runs_table_groups_runs_and_a_group_draws_its_band() {
    let mut l = lab();
    let t = draw(&mut l.app, 80, 24);
    let text = screen_text(&t);
    // the sweep (unfolded: started in this lab) with its four grid points, the hand group
    assert!(
        text.contains("d=4 lr=0.1") && text.contains("d=6 lr=0.5"),
        "{text}"
    );
    snap!("sweep_table_80x24", t);
    let t = draw(&mut l.app, 160, 50);
    let text = screen_text(&t);
    assert!(
        text.contains("sweep d × lr · 2 seeds") && text.contains("✓8"),
        "{text}"
    );
    assert!(
        text.contains("d=5 lr=0.01 steps=1000") && text.contains("✓3"),
        "the hand group: {text}"
    );
    snap!("sweep_table_160x50", t);
    // the first grid point: its band over two seeds
    press(&mut l.app, KeyCode::Down);
    let t = draw(&mut l.app, 160, 50);
    let text = screen_text(&t);
    assert!(
        text.contains("Group d=4 lr=0.1 · 2 runs · test_accuracy"),
        "{text}"
    );
    assert!(
        text.contains("band min..max") && text.contains("(n=2)"),
        "{text}"
    );
    snap!("group_band_160x50", t);
    press(&mut l.app, KeyCode::Char('b'));
    assert!(screen_text(&draw(&mut l.app, 160, 50)).contains("band ±1 sd"));
    snap!("group_band_sd_80x24", draw(&mut l.app, 80, 24));
    // the point's runs unfold under it, each by its seed
    press(&mut l.app, KeyCode::Right);
    let t = draw(&mut l.app, 160, 50);
    let text = screen_text(&t);
    assert!(text.contains("seed 0") && text.contains("seed 1"), "{text}");
    snap!("group_unfolded_160x50", t);
}

#[test]
fn two_groups_compare_as_bands() {
    let mut l = lab();
    let hand = l.app.runs.tree.group_of(1).unwrap().key.clone();
    let point = l.app.runs.tree.sweep_groups("20261201-120000-E1-sweep")[2]
        .key
        .clone();
    for key in [&hand, &point] {
        l.app.runs.select_node(Node::Group(key.clone()));
        press(&mut l.app, KeyCode::Char(' '));
    }
    press(&mut l.app, KeyCode::Char('c'));
    let t = draw(&mut l.app, 100, 30);
    let text = screen_text(&t);
    assert!(text.contains("Compare 2 groups · test_accuracy"), "{text}");
    assert!(text.contains("d=6 lr=0.1 (n=2)"), "{text}");
    snap!("compare_groups_100x30", t);
    snap!("compare_groups_80x24", draw(&mut l.app, 80, 24));
}

#[test]
fn the_sweep_screen_tables_the_grid_and_charts_a_metric_against_a_parameter() {
    let mut l = lab();
    press(&mut l.app, KeyCode::Char('S'));
    let t = draw(&mut l.app, 160, 50);
    let text = screen_text(&t);
    assert!(text.contains("4 points · 8/8 runs ended"), "{text}");
    assert!(text.contains("test_accuracy against d"), "{text}");
    snap!("sweep_screen_160x50", t);
    // sorted by the main metric, best last; the chart against lr
    for k in ['o', 'o', 'o', 'a'] {
        press(&mut l.app, KeyCode::Char(k));
    }
    let t = draw(&mut l.app, 80, 24);
    let text = screen_text(&t);
    assert!(text.contains("test_accuracy against lr"), "{text}");
    snap!("sweep_screen_sorted_80x24", t);
}
