use super::*;
use crate::experiments::{params_with, Registry};
use crate::spec::Value;

fn state(id: &str, overrides: &[(&str, &str)]) -> RunState {
    let mut s = RunState::new(id, "E1", "t", params_with("E1", overrides).unwrap());
    s.status = Status::Finished;
    s
}

#[test]
fn differs_names_what_sets_runs_apart() {
    let mut runs = Runs::new(vec![state("a", &[("d", "5"), ("steps", "5000")])]);
    assert_eq!(
        runs.rows[0].differs,
        vec![("d".into(), "5".into()), ("steps".into(), "5000".into())]
    );
    let mut s = Scenario::with_defaults("E1", &Registry).unwrap();
    s.params = params_with("E1", &[("d", "10"), ("steps", "5000")]).unwrap();
    let n = runs.add_queued(7, &s);
    assert_eq!(runs.get(n).unwrap().differs_text(), "d=10");
    assert_eq!(runs.rows[0].differs_text(), "d=5");
    assert_eq!(runs.get(n).unwrap().label(), format!("#{n} d=10"));
}

#[test]
fn queued_runs_become_live_and_take_their_events() {
    let mut runs = Runs::default();
    let s = Scenario::with_defaults("E1", &Registry).unwrap();
    let n = runs.add_queued(3, &s);
    assert_eq!(runs.get(n).unwrap().state.status, Status::Queued);
    assert_eq!(runs.launched(3, "run-x"), Some(n));
    assert_eq!(runs.launched(3, "run-x"), None, "only once");
    let ev = RunEvent {
        run: "run-x".into(),
        event: Event::Metric {
            step: 10,
            name: "test_accuracy".into(),
            value: 0.75,
        },
    };
    assert_eq!(runs.apply(&ev), Some(n));
    assert_eq!(
        runs.get(n).unwrap().state.latest("test_accuracy"),
        Some(0.75)
    );
    let other = RunEvent {
        run: "unknown".into(),
        event: Event::Paused,
    };
    assert_eq!(runs.apply(&other), None);
    assert_eq!(runs.ended("run-x"), Some(n));
    assert_eq!(runs.get(n).unwrap().state.status, Status::Interrupted);
}

#[test]
fn interleaved_events_reach_their_own_runs_even_after_a_removal() {
    let mut runs = Runs::new(vec![state("a", &[]), state("b", &[]), state("c", &[])]);
    let metric = |run: &str, v: f64| RunEvent {
        run: run.into(),
        event: Event::Metric {
            step: 1,
            name: "m".into(),
            value: v,
        },
    };
    for (run, v) in [("a", 1.0), ("a", 2.0), ("c", 3.0), ("b", 4.0), ("c", 5.0)] {
        runs.apply(&metric(run, v));
    }
    runs.remove(1);
    assert_eq!(runs.apply(&metric("c", 6.0)), Some(3));
    assert_eq!(runs.apply(&metric("b", 7.0)), Some(2));
    assert_eq!(runs.apply(&metric("a", 8.0)), None);
    let total = |n: usize| runs.get(n).unwrap().state.metrics["m"].total();
    assert_eq!((total(2), total(3)), (2, 3));
    assert_eq!(runs.get(3).unwrap().state.latest("m"), Some(6.0));
}

#[test]
fn selection_survives_removal_and_follows_display_order() {
    let mut runs = Runs::new(vec![
        state("a", &[("d", "5")]),
        state("b", &[("d", "6")]),
        state("c", &[("d", "7")]),
    ]);
    assert_eq!(runs.selected(), Some(3), "the newest run is selected");
    runs.move_by(1);
    assert_eq!(runs.selected(), Some(2));
    runs.remove(2);
    assert_eq!(runs.selected(), Some(1));
    runs.remove(1);
    assert_eq!(runs.selected(), Some(3));
    runs.remove(3);
    assert_eq!(runs.selected(), None);
    runs.move_by(1);
    assert_eq!(runs.selected(), None);
}

#[test]
fn main_metric_falls_back_to_what_the_run_has() {
    let mut r = Runs::new(vec![state("a", &[])]);
    let row = &mut r.rows[0];
    assert_eq!(row.main_metric(), None);
    row.state
        .metrics
        .entry("train_loss".into())
        .or_default()
        .push(1, 0.5);
    assert_eq!(row.main_metric(), Some("train_loss"));
    row.state
        .metrics
        .entry("test_accuracy".into())
        .or_default()
        .push(1, 0.5);
    assert_eq!(row.metric_names(), vec!["test_accuracy", "train_loss"]);
    assert_eq!(short_value(&Value::Int(50_000)), "50k");
    assert_eq!(short_value(&Value::Float(0.001)), "0.001");
}

#[test]
fn runs_that_differ_in_the_seed_only_fold_into_a_group_and_sweeps_into_their_points() {
    let mut a = state("a", &[("d", "5")]);
    a.seed = Some(0);
    let mut b = state("b", &[("d", "5")]);
    b.seed = Some(1);
    let c = state("c", &[("d", "9")]);
    let (sweep, info) = crate::tui::testing::sweep_runs("s1");
    let mut all = vec![a, b, c];
    all.extend(sweep);
    let mut runs = Runs::new(all);
    runs.sweeps.insert("s1".into(), info);
    // the newest first: the saved sweep (folded), run #3 alone, the hand group (open)
    let hand = runs.tree.group_of(1).unwrap().key.clone();
    let top: Vec<(Node, u8)> = runs.display_rows();
    assert_eq!(
        top,
        vec![
            (Node::Sweep("s1".into()), 0),
            (Node::Run(3), 0),
            (Node::Group(hand.clone()), 0),
            (Node::Run(1), 1),
            (Node::Run(2), 1),
        ]
    );
    assert_eq!(runs.cursor, Some(Node::Sweep("s1".into())));
    // unfold the sweep: its four grid points, folded
    runs.unfold();
    assert_eq!(runs.shown(), 9);
    runs.move_by(1);
    let point = runs.cursor.clone().unwrap();
    assert!(matches!(point, Node::Group(_)));
    runs.unfold();
    runs.move_by(1);
    assert_eq!(runs.selected(), Some(4), "the point's first run");
    assert_eq!(runs.selected_sweep().as_deref(), Some("s1"));
    // left goes up to the group, then folds it, then goes up to the sweep
    runs.fold();
    assert_eq!(runs.cursor, Some(point.clone()));
    runs.fold();
    assert!(!runs.is_open(&point));
    runs.fold();
    assert_eq!(runs.cursor, Some(Node::Sweep("s1".into())));
    // selecting a run unfolds what is above it
    runs.set_open(&Node::Sweep("s1".into()), false);
    runs.select(11);
    assert!(runs.selected_index().is_some());
    assert_eq!(runs.selected_runs(), vec![11]);
    // the filter keeps the groups and sweeps that hold a matching run
    runs.set_filter(Some(
        crate::tui::model::run_filter::Filter::parse("d=5").unwrap(),
    ));
    let shown: Vec<Node> = runs.display_rows().into_iter().map(|r| r.0).collect();
    assert_eq!(shown, vec![Node::Group(hand), Node::Run(1), Node::Run(2)]);
    // a removed run leaves its group
    runs.set_filter(None);
    runs.remove(2);
    assert!(!runs.display_rows().iter().any(
        |r| matches!(&r.0, Node::Group(k) if runs.tree.group(k).is_some_and(|g| g.sweep.is_none()))
    ));
}
