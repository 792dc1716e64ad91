//! The lab's state tests: keys in, state out (with fake runs fed by the test).

use super::*;
use crate::engine::Command;
use crate::experiments::ctx::Summary;
use crate::spec::Value;
use crate::tui::panes::scenarios::{Entry, Node};
use crate::tui::testing::{ctrl, keys, press, screen, Lab};
use crossterm::event::{KeyCode, KeyModifiers};
use std::path::Path;
use std::sync::atomic::Ordering;

fn started(id: &str, d: i64) -> RunEvent {
    let mut params = crate::experiments::params_with("E1", &[]).unwrap();
    params.insert("d", Value::Int(d));
    RunEvent {
        run: id.into(),
        event: Event::Started {
            experiment: "E1".into(),
            title: "t".into(),
            params,
            seed: 0,
            dir: PathBuf::from("/nonexistent"),
        },
    }
}

pub(super) fn ev(id: &str, event: Event) -> RunEvent {
    RunEvent {
        run: id.into(),
        event,
    }
}

#[test]
fn enter_on_a_scenario_starts_a_run_that_goes_live() {
    let mut l = Lab::new(2, vec![]);
    let app = &mut l.app;
    // the first scenario (natural order: d = 5) is selected at start
    assert_eq!(
        app.scenarios.current().unwrap().current.title,
        "Random parity, d = 5"
    );
    press(app, KeyCode::Enter);
    assert_eq!(app.runs.rows.len(), 1);
    assert_eq!(app.runs.rows[0].state.status, Status::Queued);
    assert!(app
        .message
        .as_ref()
        .unwrap()
        .text
        .contains("run #1 started"));
    assert!(app.update_from_workers());
    assert_eq!(app.runs.rows[0].state.id, "run-1");
    assert_eq!(app.runs.rows[0].state.status, Status::Running);
    assert_eq!(
        l.launched.lock().unwrap()[0].params.get("d"),
        Some(&Value::Int(5))
    );
    l.events.send(started("run-1", 5)).unwrap();
    l.events
        .send(ev(
            "run-1",
            Event::Progress {
                step: 120,
                total: 5000,
                steps_per_sec: 4000.0,
            },
        ))
        .unwrap();
    l.events
        .send(ev(
            "run-1",
            Event::Metric {
                step: 120,
                name: "test_accuracy".into(),
                value: 0.6,
            },
        ))
        .unwrap();
    assert!(l.app.update_from_workers());
    let r = &l.app.runs.rows[0];
    assert_eq!((r.state.step, r.state.total), (120, 5000));
    assert_eq!(l.app.chart_metric().as_deref(), Some("test_accuracy"));
    assert!(!l.app.update_from_workers(), "nothing new, nothing to draw");
}

#[test]
fn runs_beyond_the_limit_queue_and_start_when_a_slot_frees() {
    let mut l = Lab::new(1, vec![]);
    press(&mut l.app, KeyCode::Enter);
    press(&mut l.app, KeyCode::Enter);
    l.app.update_from_workers();
    assert_eq!(l.app.runs.count(Status::Running), 1);
    assert_eq!(l.app.runs.count(Status::Queued), 1);
    assert!(l.app.message.as_ref().unwrap().text.contains("queued"));
    // the first run ends: its last event, then its thread
    l.events
        .send(ev(
            "run-1",
            Event::Finished {
                summary: Summary::default(),
                elapsed_s: 1.0,
            },
        ))
        .unwrap();
    l.done.lock().unwrap()[0].1.store(true, Ordering::SeqCst);
    l.app.update_from_workers();
    assert_eq!(l.app.runs.get(1).unwrap().state.status, Status::Finished);
    assert_eq!(l.app.runs.get(2).unwrap().state.status, Status::Running);
    assert_eq!(l.app.runs.get(2).unwrap().state.id, "run-2");
}

#[test]
fn a_run_whose_thread_ends_without_a_last_event_is_not_left_running() {
    let mut l = Lab::new(1, vec![]);
    press(&mut l.app, KeyCode::Enter);
    l.app.update_from_workers();
    l.done.lock().unwrap()[0].1.store(true, Ordering::SeqCst);
    l.app.update_from_workers();
    assert_eq!(l.app.runs.rows[0].state.status, Status::Interrupted);
}

#[test]
fn pause_resume_stop_reach_the_selected_run() {
    let mut l = Lab::new(2, vec![]);
    press(&mut l.app, KeyCode::Enter);
    l.app.update_from_workers();
    l.events.send(started("run-1", 5)).unwrap();
    l.app.update_from_workers();
    press(&mut l.app, KeyCode::Tab);
    press(&mut l.app, KeyCode::Tab);
    assert_eq!(l.app.focus, Pane::Runs);
    press(&mut l.app, KeyCode::Char('p'));
    let said = |l: &Lab| {
        l.app
            .message
            .as_ref()
            .map(|m| m.text.clone())
            .unwrap_or_default()
    };
    assert_eq!(said(&l), "run #1 pausing");
    l.events.send(ev("run-1", Event::Paused)).unwrap();
    l.app.update_from_workers();
    assert_eq!(l.app.runs.rows[0].state.status, Status::Paused);
    // once the run has paused, the header says so (not "pausing" until the next key)
    assert_eq!(said(&l), "run #1 paused");
    press(&mut l.app, KeyCode::Char('p'));
    l.events.send(ev("run-1", Event::Resumed)).unwrap();
    l.app.update_from_workers();
    assert_eq!(said(&l), "run #1 resumed");
    // x asks first, saying what a stop leaves; n keeps the run going
    press(&mut l.app, KeyCode::Char('x'));
    assert!(
        matches!(&l.app.overlay, Some(Overlay::ConfirmStop { what, .. }) if what.starts_with("run #1")),
        "{:?}",
        l.app.overlay
    );
    let text = screen(&mut l.app, 100, 30);
    assert!(
        text.contains("Stop run #1") && text.contains("last checkpoint"),
        "{text}"
    );
    press(&mut l.app, KeyCode::Char('n'));
    assert_eq!(l.app.overlay, None);
    press(&mut l.app, KeyCode::Char('x'));
    press(&mut l.app, KeyCode::Char('y'));
    let sent: Vec<Command> = l.commands.lock().unwrap().iter().map(|c| c.1).collect();
    assert_eq!(sent, vec![Command::Pause, Command::Resume, Command::Stop]);
}

#[test]
fn x_on_a_queued_run_drops_it() {
    let mut l = Lab::new(1, vec![]);
    press(&mut l.app, KeyCode::Enter);
    press(&mut l.app, KeyCode::Enter);
    l.app.update_from_workers();
    l.app.focus = Pane::Runs;
    assert_eq!(l.app.runs.selected(), Some(2));
    press(&mut l.app, KeyCode::Char('x'));
    assert_eq!(l.app.runs.rows.len(), 2, "x asks first");
    press(&mut l.app, KeyCode::Char('y'));
    assert_eq!(l.app.runs.rows.len(), 1);
    assert_eq!(l.app.pool.queued(), 0);
    press(&mut l.app, KeyCode::Char('p'));
    assert!(l.app.message.as_ref().unwrap().text.contains("pausing"));
}

#[test]
fn quitting_asks_while_runs_are_active() {
    let mut l = Lab::new(2, vec![]);
    press(&mut l.app, KeyCode::Char('q'));
    assert!(l.app.should_quit(), "nothing active: q quits at once");

    let mut l = Lab::new(2, vec![]);
    press(&mut l.app, KeyCode::Enter);
    l.app.update_from_workers();
    press(&mut l.app, KeyCode::Char('q'));
    assert_eq!(l.app.overlay, Some(Overlay::ConfirmQuit));
    assert_eq!(l.app.context(), Context::Confirm);
    press(&mut l.app, KeyCode::Char('z'));
    assert_eq!(l.app.overlay, Some(Overlay::ConfirmQuit), "other keys wait");
    press(&mut l.app, KeyCode::Char('n'));
    assert_eq!(l.app.overlay, None);
    assert!(!l.app.should_quit());
    l.app
        .handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(l.app.overlay, Some(Overlay::ConfirmQuit));
    press(&mut l.app, KeyCode::Char('y'));
    assert!(l.app.should_quit());

    // edits not saved: q asks, and says how to save them
    let mut l = Lab::new(2, vec![]);
    press(&mut l.app, KeyCode::Char('e'));
    press(&mut l.app, KeyCode::Down);
    press(&mut l.app, KeyCode::Right);
    assert_eq!(l.app.scenarios.edited(), 1);
    press(&mut l.app, KeyCode::Char('q'));
    assert_eq!(l.app.overlay, Some(Overlay::ConfirmQuit));
    let text = screen(&mut l.app, 80, 24);
    assert!(
        text.contains("1 scenario(s) have edits not saved") && text.contains("w in the"),
        "{text}"
    );
    assert!(!text.contains("run(s) are still active"), "{text}");
    press(&mut l.app, KeyCode::Char('n'));
    assert!(!l.app.should_quit());
}

#[test]
fn editing_validates_as_typed_and_applies_only_valid_values() {
    let mut l = Lab::new(2, vec![]);
    let app = &mut l.app;
    press(app, KeyCode::Char('e'));
    assert_eq!(app.focus, Pane::Params);
    press(app, KeyCode::Down); // seed -> d
    press(app, KeyCode::Enter);
    assert_eq!(app.context(), Context::Editing);
    app.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    keys(app, "70");
    let s = app.scenarios.current().unwrap().current.clone();
    let verdict = app.editor.verdict(&s).unwrap();
    assert_eq!(
        verdict.unwrap_err(),
        "got 70, allowed: an integer in 2..=63 (input bits)"
    );
    press(app, KeyCode::Enter);
    assert!(app.editor.input.is_some(), "refused: the field stays open");
    press(app, KeyCode::Backspace);
    press(app, KeyCode::Backspace);
    keys(app, "7");
    press(app, KeyCode::Enter);
    assert!(app.editor.input.is_none());
    let e = app.scenarios.current().unwrap();
    assert_eq!(e.current.params.get("d"), Some(&Value::Int(7)));
    assert!(e.is_edited());
    // q while typing is a character, not a quit
    press(app, KeyCode::Enter);
    keys(app, "q");
    assert!(!app.should_quit());
    press(app, KeyCode::Esc);
    assert_eq!(
        app.scenarios.current().unwrap().current.params.get("d"),
        Some(&Value::Int(7)),
        "Esc cancels the typing only"
    );
    // quick changes and reset
    press(app, KeyCode::Right);
    assert_eq!(
        app.scenarios.current().unwrap().current.params.get("d"),
        Some(&Value::Int(8))
    );
    press(app, KeyCode::Char('d'));
    assert_eq!(
        app.scenarios.current().unwrap().current.params.get("d"),
        Some(&Value::Int(30)),
        "the experiment's default"
    );
    // r starts the edited values
    press(app, KeyCode::Char('r'));
    app.update_from_workers();
    assert_eq!(
        l.launched.lock().unwrap()[0].params.get("d"),
        Some(&Value::Int(30))
    );
}

#[test]
fn a_run_with_inconsistent_values_is_refused_with_the_reason() {
    let mut l = Lab::new(2, vec![]);
    let e = l.app.scenarios.current_mut().unwrap();
    e.current.params.insert("subset_size", Value::Int(9));
    press(&mut l.app, KeyCode::Enter);
    assert!(l.app.runs.rows.is_empty());
    let m = l.app.message.as_ref().unwrap();
    assert!(m.error && m.text.contains("subset_size"), "{}", m.text);
}

#[test]
fn save_as_writes_a_new_scenario_and_selects_it() {
    let mut l = Lab::new(2, vec![]);
    let app = &mut l.app;
    press(app, KeyCode::Char('e'));
    press(app, KeyCode::Down);
    press(app, KeyCode::Right); // d = 6
    press(app, KeyCode::Char('w'));
    let Some(Overlay::SaveAs(input)) = &app.overlay else {
        panic!("no save box: {:?}", app.overlay)
    };
    assert_eq!(input.input.text, "e1-parity-d5-d6.toml");
    assert!(input.verdict.is_ok(), "{:?}", input.verdict);
    press(app, KeyCode::Enter);
    assert_eq!(app.overlay, None);
    let path = app.scenarios.dir.join("e1-parity-d5-d6.toml");
    let reread = crate::spec::load_scenario(&path, &crate::experiments::Registry).unwrap();
    assert_eq!(reread.params.get("d"), Some(&Value::Int(6)));
    assert_eq!(reread.title, "Random parity, d = 6");
    let cur: &Entry = app.scenarios.current().unwrap();
    assert_eq!(cur.path.as_deref(), Some(path.as_path()));
    assert!(!cur.is_edited());
    // the file it came from is back to its own values
    let d5 = app
        .scenarios
        .entries
        .iter()
        .find(|e| e.current.title == "Random parity, d = 5")
        .unwrap();
    assert!(!d5.is_edited());
    // saving again under the same name is refused, the box stays open
    press(app, KeyCode::Char('w'));
    ctrl(app, 'u');
    keys(app, "e1-parity-d5-d6");
    // the name is checked against the folder as it is typed, not when the box is drawn
    let Some(Overlay::SaveAs(b)) = &app.overlay else {
        panic!("no save box")
    };
    assert!(b.verdict.as_ref().unwrap_err().contains("exists"));
    press(app, KeyCode::Enter);
    assert!(matches!(app.overlay, Some(Overlay::SaveAs(_))));
    assert!(app.message.as_ref().unwrap().text.contains("exists"));
    press(app, KeyCode::Esc);
    assert_eq!(app.overlay, None);
}

pub(super) fn finished(id: &str, d: i64, acc: f64, dir: &Path) -> RunState {
    let mut params = crate::experiments::params_with("E1", &[]).unwrap();
    params.insert("d", Value::Int(d));
    let mut s = RunState::new(id, "E1", "t", params);
    s.status = Status::Finished;
    s.dir = Some(dir.to_path_buf());
    for i in 0..10 {
        s.metrics
            .entry("test_accuracy".into())
            .or_default()
            .push(i * 10, acc * i as f64 / 9.0);
        s.metrics
            .entry("grad_snr".into())
            .or_default()
            .push(i * 10, 10f64.powi(-(i as i32)));
    }
    s
}

#[test]
fn compare_needs_two_marked_runs_and_switches_layout_and_metric() {
    let tmp = std::env::temp_dir();
    let mut l = Lab::new(
        2,
        vec![finished("a", 5, 1.0, &tmp), finished("b", 30, 0.5, &tmp)],
    );
    let app = &mut l.app;
    app.focus = Pane::Runs;
    press(app, KeyCode::Char('c'));
    assert_eq!(app.screen, Screen::Main);
    assert!(app.message.as_ref().unwrap().error);
    press(app, KeyCode::Char(' '));
    press(app, KeyCode::Down);
    press(app, KeyCode::Char(' '));
    assert_eq!(app.runs.marked(), vec![1, 2]);
    press(app, KeyCode::Char('c'));
    assert_eq!(app.screen, Screen::Compare);
    assert_eq!(app.compare_metric().as_deref(), Some("test_accuracy"));
    press(app, KeyCode::Char('m'));
    assert_eq!(app.compare_metric().as_deref(), Some("grad_snr"));
    assert!(app.chart.look("grad_snr").log_y, "SNR is log by default");
    press(app, KeyCode::Char('y'));
    assert!(!app.chart.look("grad_snr").log_y);
    press(app, KeyCode::Char('v'));
    assert!(app.compare.side_by_side);
    press(app, KeyCode::Esc);
    assert_eq!(app.screen, Screen::Main);
    press(app, KeyCode::Char('u'));
    assert!(app.runs.marked().is_empty());
}

#[test]
fn chart_keys_pick_metrics_and_toggle_scales() {
    let tmp = std::env::temp_dir();
    let mut l = Lab::new(2, vec![finished("a", 5, 1.0, &tmp)]);
    let app = &mut l.app;
    assert_eq!(app.chart_metric().as_deref(), Some("test_accuracy"));
    press(app, KeyCode::Char('m'));
    assert_eq!(app.chart_metric().as_deref(), Some("grad_snr"));
    press(app, KeyCode::Char('M'));
    assert_eq!(app.chart_metric().as_deref(), Some("test_accuracy"));
    assert!(!app.chart.look("test_accuracy").log_y);
    press(app, KeyCode::Char('y'));
    assert!(app.chart.look("test_accuracy").log_y);
    press(app, KeyCode::Char('s'));
    assert!(app.chart.smooth);
    app.focus = Pane::Chart;
    press(app, KeyCode::Right);
    assert_eq!(app.chart_metric().as_deref(), Some("grad_snr"));
    press(app, KeyCode::Esc);
    assert_eq!(app.focus, Pane::Runs);
}

#[test]
fn delete_asks_and_removes_the_files_of_ended_runs_only() {
    let l0 = Lab::new(2, vec![]);
    let run_dir = l0.dir.join("runs").join("r1");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("metrics.jsonl"), "").unwrap();
    let mut l = Lab::new(2, vec![finished("r1", 5, 1.0, &run_dir)]);
    l.app.focus = Pane::Runs;
    press(&mut l.app, KeyCode::Char('D'));
    assert_eq!(l.app.overlay, Some(Overlay::ConfirmDelete(1)));
    press(&mut l.app, KeyCode::Char('n'));
    assert!(run_dir.exists());
    press(&mut l.app, KeyCode::Delete);
    press(&mut l.app, KeyCode::Char('y'));
    assert!(!run_dir.exists());
    assert!(l.app.runs.rows.is_empty());
    // an active run cannot be deleted
    l.app.focus = Pane::Scenarios;
    press(&mut l.app, KeyCode::Enter);
    l.app.update_from_workers();
    l.app.focus = Pane::Runs;
    press(&mut l.app, KeyCode::Char('D'));
    assert_eq!(l.app.overlay, None);
    assert!(l
        .app
        .message
        .as_ref()
        .unwrap()
        .text
        .contains("stop it first"));
    drop(l0);
}

#[test]
fn diverged_runs_keep_their_reason_and_data() {
    let mut l = Lab::new(2, vec![]);
    press(&mut l.app, KeyCode::Enter);
    l.app.update_from_workers();
    l.events.send(started("run-1", 5)).unwrap();
    l.events
        .send(ev(
            "run-1",
            Event::Metric {
                step: 800,
                name: "train_loss".into(),
                value: 0.7,
            },
        ))
        .unwrap();
    l.events
        .send(ev(
            "run-1",
            Event::Diverged {
                step: 812,
                reason: "loss is NaN".into(),
            },
        ))
        .unwrap();
    l.app.update_from_workers();
    let r = &l.app.runs.rows[0];
    assert_eq!(r.state.status, Status::Diverged);
    assert_eq!(r.state.reason.as_deref(), Some("at step 812: loss is NaN"));
    assert_eq!(r.state.latest("train_loss"), Some(0.7));
    let m = l.app.message.as_ref().unwrap();
    assert!(m.error && m.text.contains("diverged at step 812"));
}

#[test]
fn help_opens_on_question_mark_and_closes_on_escape() {
    let mut l = Lab::new(2, vec![]);
    press(&mut l.app, KeyCode::Char('?'));
    assert_eq!(l.app.overlay, Some(Overlay::Help { scroll: 0 }));
    assert_eq!(l.app.context(), Context::Help);
    press(&mut l.app, KeyCode::Down);
    press(&mut l.app, KeyCode::Down);
    assert_eq!(l.app.overlay, Some(Overlay::Help { scroll: 2 }));
    press(&mut l.app, KeyCode::Esc);
    assert_eq!(l.app.overlay, None);
    press(&mut l.app, KeyCode::Char('q'));
    assert!(l.app.should_quit());
}

#[test]
fn tab_cycles_panes_and_figure_view_reads_saved_figures() {
    let l0 = Lab::new(2, vec![]);
    let run_dir = l0.dir.join("figrun");
    std::fs::create_dir_all(&run_dir).unwrap();
    let fig = crate::experiments::ctx::Figure::Image {
        title: "sample".into(),
        width: 1,
        height: 1,
        pixels: vec![0.5],
    };
    std::fs::write(
        run_dir.join("figures.jsonl"),
        serde_json::json!({"step": 4, "figure": fig.to_json()}).to_string(),
    )
    .unwrap();
    let mut l = Lab::new(2, vec![finished("f", 5, 1.0, &run_dir)]);
    let order: Vec<Pane> = (0..4)
        .map(|_| {
            press(&mut l.app, KeyCode::Tab);
            l.app.focus
        })
        .collect();
    assert_eq!(
        order,
        vec![Pane::Params, Pane::Runs, Pane::Chart, Pane::Scenarios]
    );
    press(&mut l.app, KeyCode::BackTab);
    assert_eq!(l.app.focus, Pane::Chart);
    press(&mut l.app, KeyCode::Char('f'));
    assert_eq!(l.app.screen, Screen::Figure);
    assert_eq!(l.app.runs.rows[0].state.figures["sample"], (4, fig));
    press(&mut l.app, KeyCode::Esc);
    assert_eq!(l.app.screen, Screen::Main);
    drop(l0);
}

#[test]
fn tree_keys_fold_and_refuse_to_start_a_family() {
    let mut l = Lab::new(2, vec![]);
    let app = &mut l.app;
    press(app, KeyCode::Char('g'));
    assert_eq!(
        app.scenarios.selected,
        Node::Family(crate::experiments::Family::Parities)
    );
    let before = app.scenarios.rows().len();
    press(app, KeyCode::Enter);
    assert!(app.scenarios.rows().len() < before, "Enter folds a family");
    assert!(app.runs.rows.is_empty());
    press(app, KeyCode::Char('r'));
    assert!(app.runs.rows.is_empty());
    assert!(app.message.as_ref().unwrap().error);
    press(app, KeyCode::Char('l'));
    assert_eq!(app.scenarios.rows().len(), before);
}
