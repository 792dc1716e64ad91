//! The lab's sweeps: a grid typed in the parameters pane, the start key, the runs it queues
//! and its record, a stop on the sweep's row, and the resume key.

use super::tests::ev;
use super::*;
use crate::engine::Command;
use crate::sweep::record::{SweepRecord, PENDING};
use crate::tui::model::run_tree::Node;
use crate::tui::testing::{ctrl, keys, press, Lab};
use crossterm::event::KeyCode;
use std::sync::atomic::Ordering;

/// Types `text` into the parameters pane's field on row `row` and applies it.
fn set_field(app: &mut App, row: usize, text: &str) {
    app.editor.row = row;
    press(app, KeyCode::Enter);
    ctrl(app, 'u');
    keys(app, text);
    press(app, KeyCode::Enter);
}

fn record(l: &Lab, id: &str) -> SweepRecord {
    SweepRecord::load(&l.app.settings.runs_dir, id).unwrap()
}

#[test]
fn a_grid_typed_in_the_editor_starts_a_sweep_that_stops_and_resumes() {
    let mut l = Lab::new(1, vec![]);
    let app = &mut l.app;
    press(app, KeyCode::Char('e'));
    set_field(app, 1, "4,6"); // d
    let seeds_row = Editor::fields(&app.scenarios.current().unwrap().current).len() - 1;
    set_field(app, seeds_row, "3");
    let grid = app.scenarios.current().unwrap().grid.clone();
    assert_eq!(grid.axes.len(), 1);
    assert_eq!(grid.axes[0].name, "d");
    assert_eq!(grid.seeds, Some(vec![0, 1, 2]));
    // a bad list is refused with the command line's words, and the grid stays
    set_field(app, 1, "4,70");
    let typed = app.editor.typed_grid.clone().unwrap().unwrap_err();
    assert!(
        typed.contains("got 70") && typed.contains("2..=63"),
        "{typed}"
    );
    press(app, KeyCode::Esc);
    assert_eq!(app.scenarios.current().unwrap().grid, grid);

    // six runs: no question; they queue behind the limit of one
    press(app, KeyCode::Char('r'));
    assert!(app.overlay.is_none());
    app.update_from_workers();
    assert_eq!(app.runs.rows.len(), 6);
    let id = app.runs.rows[0]
        .state
        .sweep
        .clone()
        .expect("runs of the sweep");
    assert!(app
        .runs
        .rows
        .iter()
        .all(|r| r.state.sweep.as_ref() == Some(&id)));
    assert_eq!(app.runs.cursor, Some(Node::Sweep(id.clone())));
    assert_eq!(app.runs.tree.sweep_groups(&id).len(), 2);
    assert_eq!(app.runs.count(Status::Running), 1);
    let rec = record(&l, &id);
    assert_eq!(rec.runs.len(), 6);
    assert_eq!(rec.runs[0].run.as_deref(), Some("run-1"));

    // x on the sweep's row: the running run is told to stop, the queued ones are dropped
    let app = &mut l.app;
    app.focus = Pane::Runs;
    press(app, KeyCode::Char('x'));
    assert!(l
        .commands
        .lock()
        .unwrap()
        .contains(&("run-1".into(), Command::Stop)));
    let app = &mut l.app;
    assert_eq!(app.runs.rows.len(), 1);
    l.events
        .send(ev("run-1", Event::Stopped { step: 3 }))
        .unwrap();
    l.done.lock().unwrap()[0].1.store(true, Ordering::SeqCst);
    l.app.update_from_workers();
    let rec = record(&l, &id);
    assert_eq!(rec.runs[0].status, "stopped");
    assert!(rec.runs[1..].iter().all(|e| e.status == PENDING));

    // R on the sweep runs the six again (the stopped one's folder stays, as an earlier run)
    let app = &mut l.app;
    app.runs.select_node(Node::Sweep(id.clone()));
    press(app, KeyCode::Char('R'));
    assert!(app
        .message
        .as_ref()
        .unwrap()
        .text
        .contains("resumed: 6 runs queued"));
    app.update_from_workers();
    let rec = record(&l, &id);
    assert_eq!(rec.runs[0].earlier, vec!["run-1".to_string()]);
    assert_eq!(rec.runs[0].run.as_deref(), Some("run-2"));
    assert_eq!(l.app.runs.rows.len(), 7);
}

#[test]
fn a_large_grid_asks_first_and_no_starts_nothing() {
    let mut l = Lab::new(2, vec![]);
    let app = &mut l.app;
    press(app, KeyCode::Char('e'));
    set_field(app, 1, "4,6,8");
    let seeds_row = Editor::fields(&app.scenarios.current().unwrap().current).len() - 1;
    set_field(app, seeds_row, "0..10");
    press(app, KeyCode::Char('r'));
    assert_eq!(app.overlay, Some(Overlay::ConfirmSweep(30)));
    press(app, KeyCode::Char('n'));
    assert!(app.overlay.is_none() && app.runs.rows.is_empty());
    press(app, KeyCode::Char('r'));
    press(app, KeyCode::Char('y'));
    assert_eq!(app.runs.rows.len(), 30);
    // the default key drops the list: one value again, one run
    app.editor.row = 1;
    press(app, KeyCode::Char('d'));
    app.editor.row = seeds_row;
    press(app, KeyCode::Char('d'));
    assert!(!app.scenarios.current().unwrap().is_sweep());
}
