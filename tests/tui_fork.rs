//! A fork in the lab: its row names its parent and the step it forked at, and compare
//! overlays it on its parent from that step (snapshots at 100x30).

use std::path::PathBuf;

use crossterm::event::KeyCode;
use fail_lab::engine::{Event, RunState};
use fail_lab::experiments::ctx::Summary;
use fail_lab::experiments::params_with;
use fail_lab::tui::testing::{draw, press, screen_text, Lab, D10, D30, D5};
use fail_lab::tui::{ChartMarker, Theme};

mod common;
use common::snap;

/// A finished E1 run of d = 10 at learning rate `lr`, with its accuracy from `from` to 4000.
fn run(id: &str, lr: &str, from: u64, curve: impl Fn(u64) -> f64) -> RunState {
    let params = params_with(
        "E1",
        &[
            ("d", "10"),
            ("lr", lr),
            ("steps", "4000"),
            ("eval_every", "100"),
        ],
    )
    .unwrap();
    let mut s = RunState::new(id, "E1", "Random parity, d = 10", params.clone());
    s.apply(&Event::Started {
        experiment: "E1".into(),
        title: "Random parity, d = 10".into(),
        params,
        seed: 0,
        dir: PathBuf::from(format!("/nonexistent/{id}")),
    });
    for step in (from..=4000).step_by(100) {
        s.apply(&Event::Metric {
            step,
            name: "test_accuracy".into(),
            value: curve(step),
        });
    }
    let mut sum = Summary::default();
    sum.set("test_accuracy", curve(4000));
    s.apply(&Event::Finished {
        summary: sum,
        elapsed_s: 1.0,
    });
    s
}

#[test]
fn a_fork_shows_its_parent_and_step_and_compare_draws_it_from_there() {
    let parent_id = "20261206-140000-e1";
    // the parent sits on its plateau; the fork, with a larger step size from step 1500,
    // leaves it
    let parent = run(parent_id, "0.01", 0, |s| 0.5 + 0.04 * (s as f64 / 4000.0));
    let mut fork = run("20261206-141000-e1", "0.1", 1500, |s| {
        0.52 + 0.46 * ((s - 1500) as f64 / 2500.0)
    });
    fork.fork = Some((parent_id.to_string(), 1500));
    let mut l = Lab::with_files(
        2,
        vec![parent, fork],
        &[
            ("e1-parity-d5.toml", D5),
            ("e1-parity-d10.toml", D10),
            ("e1-parity.toml", D30),
        ],
        Theme::new(true, ChartMarker::Braille),
    );
    let t = draw(&mut l.app, 100, 30);
    let text = screen_text(&t);
    // the parent and the step first; the changed parameters after them, as room allows
    assert!(text.contains("fork #1@1500"), "{text}");
    snap!("fork_row_100x30", t);
    for n in [1, 2] {
        l.app.runs.get_mut(n).unwrap().marked = true;
    }
    press(&mut l.app, KeyCode::Char('c'));
    let t = draw(&mut l.app, 100, 30);
    let text = screen_text(&t);
    assert!(text.contains("Compare 2 runs"), "{text}");
    snap!("fork_compare_100x30", t);
}
