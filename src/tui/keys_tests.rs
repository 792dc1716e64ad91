//! The key table against what the keys do: every key the table lists, in every context, has
//! an effect there; every key it does not list has none.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::App;
use super::keymap::{self, Context, Key, TABLE};
use super::panes::scenarios::Node;
use super::panes::Pane;
use super::screens::dialogs::{Overlay, SaveAs};
use super::testing::{screen, Lab};
use super::widgets::TextInput;
use crate::engine::{Event, RunState, Status};
use crate::experiments::ctx::Figure;
use crate::experiments::params_with;

/// A finished run with two metrics and three figures.
fn finished(id: &str, d: i64) -> RunState {
    let params = params_with("E1", &[("d", &d.to_string())]).unwrap();
    let mut s = RunState::new(id, "E1", "t", params);
    s.status = Status::Finished;
    s.dir = Some(PathBuf::from("/nonexistent"));
    for i in 0..10u64 {
        let v = i as f64 / 10.0;
        s.apply(&Event::Metric {
            step: i * 10,
            name: "test_accuracy".into(),
            value: v,
        });
        s.apply(&Event::Metric {
            step: i * 10,
            name: "train_loss".into(),
            value: 1.0 - v,
        });
    }
    for k in 0..3 {
        s.apply(&Event::Figure {
            step: 10 * k,
            figure: Figure::Image {
                title: format!("figure {k}"),
                width: 2,
                height: 2,
                pixels: vec![0.0, 1.0, 0.5, k as f32 / 3.0],
            },
        });
    }
    s
}

/// A lab in context `ctx`, in its `variant`-th state (states differ where one key needs
/// another starting point to do something: unfolding needs a folded row, and so on).
fn lab_in(ctx: Context, variant: usize) -> Option<Lab> {
    let runs = vec![finished("a", 5), finished("b", 7), finished("c", 9)];
    let mut l = Lab::new(2, runs);
    let app = &mut l.app;
    app.resize(120, 40);
    app.runs.select(2);
    app.runs.get_mut(1).unwrap().marked = true;
    app.runs.get_mut(3).unwrap().marked = true;
    let d10 = app.scenarios.select_title("d = 10");
    assert!(d10);
    match (ctx, variant) {
        (Context::Scenarios, 0) => {}
        (Context::Scenarios, 1) => app.scenarios.selected = Node::Experiment("E1"),
        (Context::Scenarios, 2) => {
            app.scenarios.selected = Node::Experiment("E1");
            app.scenarios.set_open(Node::Experiment("E1"), false);
        }
        (Context::Main | Context::Global | Context::Interrupt, 0) => app.focus = Pane::Runs,
        (Context::Params, 0) => {
            app.focus = Pane::Params;
            app.editor.row = 1;
        }
        (Context::Editing, 0) => {
            app.focus = Pane::Params;
            app.editor.row = 1;
            app.editor.input = Some(TextInput {
                text: "30".into(),
                cursor: 1,
            });
        }
        (Context::SaveAs, 0) => {
            app.focus = Pane::Params;
            app.overlay = Some(Overlay::SaveAs(SaveAs {
                input: TextInput {
                    text: "ab".into(),
                    cursor: 1,
                },
                verdict: Err("type a file name".into()),
            }));
        }
        (Context::Runs, 0) => app.focus = Pane::Runs,
        (Context::Runs, 2) => {
            with_sweep(app);
            app.focus = Pane::Runs;
        }
        (Context::Runs, 3) => {
            with_sweep(app);
            app.focus = Pane::Runs;
            app.runs
                .select_node(crate::tui::model::run_tree::Node::Sweep("s1".into()));
            app.runs.set_open(
                &crate::tui::model::run_tree::Node::Sweep("s1".into()),
                false,
            );
        }
        (Context::Sweep, 0) => {
            with_sweep(app);
            app.focus = Pane::Runs;
            app.handle_key(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::NONE));
        }
        (Context::Sweep, 1) => {
            with_sweep(app);
            app.focus = Pane::Runs;
            app.handle_key(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::NONE));
            app.sweep_screen.row = 1;
        }
        (Context::Runs, 1) => {
            app.focus = Pane::Runs;
            app.runs.set_filter(Some(
                crate::tui::model::run_filter::Filter::parse("d>=7").unwrap(),
            ));
        }
        (Context::Filtering, 0) => {
            app.focus = Pane::Runs;
            app.runs_pane.typing = Some(crate::tui::panes::runs_table::FilterInput {
                input: TextInput {
                    text: "d>".into(),
                    cursor: 1,
                },
                before: None,
                verdict: Err("d>: a value after >".into()),
            });
        }
        (Context::Filtering, 1) => {
            app.focus = Pane::Runs;
            app.runs_pane.typing = Some(crate::tui::panes::runs_table::FilterInput {
                input: TextInput::new("d>=7"),
                before: None,
                verdict: Ok(()),
            });
        }
        (Context::Chart, 0) => app.focus = Pane::Chart,
        (Context::MetricSearch, 0) => {
            app.focus = Pane::Chart;
            app.chart.search = Some(crate::tui::panes::metric_list::MetricSearch {
                input: TextInput {
                    text: "ra".into(),
                    cursor: 1,
                },
                before: None,
            });
        }
        (Context::Compare, 0) => {
            app.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE));
            app.compare.scroll = 1;
        }
        (Context::Figure, 0) => {
            app.handle_key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::NONE));
            app.figure.index = Some(1);
        }
        (Context::Help, 0) => app.overlay = Some(Overlay::Help { scroll: 5 }),
        (Context::Confirm, 0) => app.overlay = Some(Overlay::ConfirmDelete(1)),
        (Context::Confirm, 1) => app.overlay = Some(Overlay::ConfirmQuit),
        (Context::Confirm, 2) => {
            app.overlay = Some(Overlay::ForkStep(crate::tui::screens::dialogs::ForkPick {
                num: 1,
                steps: vec![Some(10), Some(20), None],
                latest: None,
                pick: 1,
            }))
        }
        _ => return None,
    }
    app.message = None;
    Some(l)
}

/// Adds a finished sweep (two swept parameters, two seeds) and selects its first group.
fn with_sweep(app: &mut App) {
    let (runs, info) = crate::tui::testing::sweep_runs("s1");
    app.runs.add_saved_many(runs);
    app.runs.add_fresh_sweep("s1", info);
    let first = app.runs.tree.sweep_groups("s1")[0].key.clone();
    app.runs
        .select_node(crate::tui::model::run_tree::Node::Group(first));
}

/// What a person (or the runs) could tell apart: the screen, the lab's state, and what the
/// key asked for.
fn fingerprint(app: &mut App) -> String {
    let state = format!(
        "{:?} {} {:?} {:?} {:?} {:?} {:?} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        app.focus,
        app.zoomed,
        app.screen,
        app.overlay,
        app.chart,
        app.compare,
        app.figure,
        app.should_quit(),
        app.editor,
        app.scenarios.selected,
        app.runs.cursor,
        app.runs.marked(),
        app.runs.marked_groups,
        app.sweep_screen,
        app.runs.filter,
        app.runs_pane.typing,
    );
    format!("{state}\n{}", screen(app, 120, 40))
}

/// Presses `key` in `ctx` (in each of its states until one shows an effect).
fn has_effect(ctx: Context, key: KeyEvent) -> bool {
    (0..).map_while(|v| lab_in(ctx, v)).any(|mut l| {
        assert_eq!(l.app.context(), ctx_of(ctx), "the fixture for {ctx:?}");
        let before = fingerprint(&mut l.app);
        let actions = l.app.key_actions(key);
        !actions.is_empty() || fingerprint(&mut l.app) != before
    })
}

/// The context the lab is in for a table's context (the wide tables are tried from the runs
/// pane).
fn ctx_of(ctx: Context) -> Context {
    match ctx {
        Context::Main | Context::Global | Context::Interrupt => Context::Runs,
        c => c,
    }
}

/// A key event for a table key (`AnyChar`: a letter no other binding of the context has).
fn event_of(k: Key) -> KeyEvent {
    match k {
        Key::Plain(code) => KeyEvent::new(code, KeyModifiers::NONE),
        Key::Ctrl(c) => KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL),
        Key::AnyChar => KeyEvent::new(KeyCode::Char('7'), KeyModifiers::NONE),
    }
}

#[test]
fn every_listed_key_does_something_where_it_is_listed() {
    let mut missing = Vec::new();
    for b in TABLE {
        for (k, cmd) in b.keys {
            // the key must reach this binding from the context (not be taken by another)
            let ctx = ctx_of(b.ctx);
            let ev = event_of(*k);
            let found = keymap::lookup(ctx, &ev);
            if found.map(|f| f.1) != Some(*cmd) {
                missing.push(format!("{:?} {}: looked up as {found:?}", b.ctx, k.label()));
                continue;
            }
            if !has_effect(b.ctx, ev) {
                missing.push(format!("{:?} {} ({cmd:?}): no effect", b.ctx, k.label()));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// Every key a person might press.
fn every_key() -> Vec<KeyEvent> {
    let mut v: Vec<KeyEvent> = (0x20u8..0x7f)
        .map(|c| KeyEvent::new(KeyCode::Char(c as char), KeyModifiers::NONE))
        .collect();
    v.extend(
        [
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Backspace,
            KeyCode::Delete,
            KeyCode::Insert,
            KeyCode::F(1),
            KeyCode::F(5),
        ]
        .map(|c| KeyEvent::new(c, KeyModifiers::NONE)),
    );
    v.extend((b'a'..=b'z').map(|c| KeyEvent::new(KeyCode::Char(c as char), KeyModifiers::CONTROL)));
    v
}

#[test]
fn a_key_the_table_does_not_list_does_nothing() {
    let mut stray = Vec::new();
    for ctx in Context::ALL {
        for key in every_key() {
            if keymap::lookup(ctx_of(ctx), &key).is_some() {
                continue;
            }
            if has_effect(ctx, key) {
                stray.push(format!("{ctx:?}: {:?} {:?}", key.code, key.modifiers));
            }
        }
    }
    assert!(
        stray.is_empty(),
        "handled but not listed:\n{}",
        stray.join("\n")
    );
}
