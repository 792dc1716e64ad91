//! Sweeps and groups on screen (`TestBackend` snapshots at 80x24 and a large size): the runs
//! table with a sweep unfolded into its grid points and a hand-started group, a group's band
//! chart, two groups compared, and the sweep screen.

use crossterm::event::KeyCode;
use fail_lab::engine::{Event, RunState, Status};
use fail_lab::experiments::params_with;
use fail_lab::sweep::Aggregate;
use fail_lab::tui::model::run_tree::Node;
use fail_lab::tui::panes::Pane;
use fail_lab::tui::testing::{draw, press, screen_text, sweep_runs, Lab, D5};
use fail_lab::tui::{ChartMarker, Theme};

mod common;
use common::snap;

/// Three hand-started runs of d = 5 (seeds 0..2) and the sweep `s1` of the fixture.
fn lab() -> Lab {
    lab_with(Vec::new())
}

/// [`lab`] with `extra` runs saved beside its own.
fn lab_with(extra: Vec<RunState>) -> Lab {
    let mut saved = extra;
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
fn a_compared_run_without_the_metric_is_named_not_dropped() {
    // an E2 run records its methods' accuracies, not `test_accuracy`
    let params = params_with("E2", &[("k", "3")]).unwrap();
    let mut e2 = RunState::new("e2-run", "E2", "Tuples, k = 3", params);
    e2.status = Status::Finished;
    for i in 0..=10u64 {
        e2.apply(&Event::Metric {
            step: i * 100,
            name: "e2e/test_accuracy".into(),
            value: 0.5,
        });
    }
    let mut l = lab_with(vec![e2]);
    let hand = l.app.runs.tree.group_of(2).unwrap().key.clone();
    l.app.runs.select_node(Node::Group(hand));
    press(&mut l.app, KeyCode::Char(' '));
    let e2_num = l
        .app
        .runs
        .rows
        .iter()
        .find(|r| r.state.experiment == "E2")
        .unwrap()
        .num;
    l.app.runs.select_node(Node::Run(e2_num));
    press(&mut l.app, KeyCode::Char(' '));
    press(&mut l.app, KeyCode::Char('c'));
    let text = screen_text(&draw(&mut l.app, 100, 30));
    assert!(text.contains("test_accuracy"), "{text}");
    assert!(
        text.contains(&format!("not drawn, no test_accuracy: #{e2_num}")),
        "{text}"
    );
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

#[test]
fn the_lab_shows_the_numbers_of_the_headless_sweep_table_failures_included() {
    let mut l = lab();
    let id = "20261201-120000-E1-sweep";
    // what `fail-lab sweep`'s table says of each grid point: the aggregate of its runs
    let mut cells = Vec::new();
    let mut shorts = Vec::new();
    for g in l.app.runs.tree.sweep_groups(id) {
        let states: Vec<&RunState> = g
            .members
            .iter()
            .map(|&n| &l.app.runs.get(n).unwrap().state)
            .collect();
        let agg = Aggregate::of(&states);
        assert_eq!(agg.count_cell(), "n=2");
        for m in ["test_accuracy", "best_accuracy", "steps_to_0.99"] {
            cells.push(agg.cell(m, false));
        }
        shorts.push(agg.metrics["test_accuracy"].short());
        shorts.push(agg.metrics["steps_to_0.99"].short());
    }
    // at d = 6 no run got there: 0 of 2, the median only known to exceed the budget
    assert!(
        cells.iter().any(|c| c == "0/2 · median > 1000"),
        "{cells:?}"
    );
    assert!(
        cells.iter().any(|c| c.starts_with("2/2 · median ")),
        "{cells:?}"
    );
    press(&mut l.app, KeyCode::Char('S'));
    let t = draw(&mut l.app, 200, 60);
    let text = screen_text(&t);
    for c in &cells {
        assert!(
            text.contains(c.as_str()),
            "the sweep screen lacks {c:?}:\n{text}"
        );
    }
    assert!(
        !text.contains("width"),
        "a setup value is not a result: {text}"
    );
    snap!("sweep_screen_failures_200x60", t);
    // the runs table's grid point rows: the same numbers, short
    press(&mut l.app, KeyCode::Esc);
    let t = draw(&mut l.app, 200, 60);
    let text = screen_text(&t);
    for s in &shorts {
        assert!(
            text.contains(s.as_str()),
            "the group rows lack {s:?}:\n{text}"
        );
    }
    assert!(text.contains("0/2 >1000"), "{text}");
    snap!("group_rows_failures_200x60", t);
}

#[test]
fn a_group_chart_draws_the_share_of_runs_past_the_threshold() {
    let mut l = lab();
    let first = l.app.runs.tree.sweep_groups("20261201-120000-E1-sweep")[0]
        .key
        .clone();
    l.app.runs.select_node(Node::Group(first));
    l.app.focus = Pane::Chart;
    press(&mut l.app, KeyCode::Char('t'));
    let t = draw(&mut l.app, 120, 36);
    let text = screen_text(&t);
    assert!(
        text.contains("share past steps_to_0.99 · 2 runs, a seed each"),
        "{text}"
    );
    assert!(text.contains("d=4 lr=0.1 2/2"), "{text}");
    snap!("group_success_120x36", t);
    // the key again: the metric's band
    press(&mut l.app, KeyCode::Char('t'));
    assert!(screen_text(&draw(&mut l.app, 120, 36)).contains("band min..max"));
}
