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
    assert!(
        matches!(&app.overlay, Some(Overlay::ConfirmStop { what, .. }) if what == "6 runs"),
        "{:?}",
        app.overlay
    );
    press(app, KeyCode::Char('y'));
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

/// The row of the parameters pane that edits `name`.
fn row_of(app: &App, name: &str) -> usize {
    let s = &app.scenarios.current().unwrap().current;
    Editor::fields(s)
        .iter()
        .position(|f| f.name() == name)
        .unwrap_or_else(|| panic!("no field {name}"))
}

#[test]
fn save_as_keeps_the_lists_and_the_seeds_and_the_file_reads_back_the_same() {
    let mut l = Lab::new(1, vec![]);
    let app = &mut l.app;
    press(app, KeyCode::Char('e'));
    set_field(app, row_of(app, "d"), "6,10");
    set_field(app, row_of(app, "lr"), "0.1,0.5");
    set_field(app, row_of(app, "seeds"), "1,4,7");
    let grid = app.scenarios.current().unwrap().grid.clone();
    assert_eq!(grid.axes.len(), 2);
    press(app, KeyCode::Char('w'));
    press(app, KeyCode::Enter);
    assert_eq!(app.overlay, None, "{:?}", app.message);
    let saved = app.scenarios.current().unwrap().clone();
    let path = saved.path.clone().unwrap();
    // the file holds everything the editor held: both lists and the seeds
    let (s, table) = crate::spec::sweep::load_sweep(&path, &crate::experiments::Registry)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(table, grid, "{}", std::fs::read_to_string(&path).unwrap());
    assert_eq!(s.params, saved.current.params);
    // the new entry holds the grid as saved, unedited; the preset is back to its own
    assert_eq!(saved.grid, grid);
    assert!(!saved.is_edited());
    let d5 = app
        .scenarios
        .entries
        .iter()
        .find(|e| {
            e.path
                .as_ref()
                .is_some_and(|p| p.ends_with("e1-parity-d5.toml"))
        })
        .unwrap();
    assert!(!d5.is_edited() && !d5.is_sweep());
    // read again from the folder (as at the next start), the file is the same sweep
    let again = crate::tui::panes::scenarios::Scenarios::load(&app.scenarios.dir);
    let e = again
        .entries
        .iter()
        .find(|e| e.path.as_deref() == Some(path.as_path()))
        .unwrap();
    assert_eq!(e.grid, grid);
    assert!(!e.is_edited());
    // seeds 0..N-1 are written as a count, and read back as the same seeds
    let counted = crate::spec::sweep::SweepTable {
        axes: Vec::new(),
        seeds: Some(vec![0, 1, 2]),
    };
    assert_eq!(counted.to_toml(), "\n[sweep]\nseeds = 3\n");
}

#[test]
fn titles_name_the_values_of_the_run_and_never_stack() {
    let mut l = Lab::new(1, vec![]);
    let app = &mut l.app;
    press(app, KeyCode::Char('e'));
    // save, edit the saved copy, save again: one suffix, with the latest value
    set_field(app, row_of(app, "lr"), "0.2");
    press(app, KeyCode::Char('w'));
    press(app, KeyCode::Enter);
    assert_eq!(
        app.scenarios.current().unwrap().current.title,
        "Random parity, d = 5 (lr = 0.2)"
    );
    set_field(app, row_of(app, "lr"), "0.3");
    press(app, KeyCode::Char('w'));
    press(app, KeyCode::Enter);
    let path = app.scenarios.current().unwrap().path.clone().unwrap();
    let reread = crate::spec::load_scenario(&path, &crate::experiments::Registry).unwrap();
    assert_eq!(reread.title, "Random parity, d = 5 (lr = 0.3)");
    // a value the title names is changed in place, in a run's title and a sweep's
    set_field(app, row_of(app, "d"), "6");
    press(app, KeyCode::Char('r'));
    set_field(app, row_of(app, "d"), "8,10");
    press(app, KeyCode::Char('r'));
    app.update_from_workers();
    let id = app.runs.rows[1].state.sweep.clone().expect("a sweep");
    let titles: Vec<String> = app
        .runs
        .rows
        .iter()
        .map(|r| r.scenario.as_ref().unwrap().title.clone())
        .collect();
    assert_eq!(
        titles,
        [
            "Random parity, d = 6 (lr = 0.3)",
            "Random parity, d = 8 (lr = 0.3)",
            "Random parity, d = 10 (lr = 0.3)"
        ]
    );
    assert_eq!(
        record(&l, &id).title,
        "Random parity, d = {8, 10} (lr = 0.3)"
    );
}
