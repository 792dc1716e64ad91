//! The lab's state tests, continued: runs of other processes, and what the screen adds
//! around the panes (messages, zoom, clicks, the header's cores, the runs filter).

use super::tests::finished;
use super::*;
use crate::tui::testing::{ctrl, keys, press, Lab, D5};
use crossterm::event::{KeyCode, KeyModifiers};
use std::path::Path;
use std::sync::atomic::Ordering;

/// A run folder as another process leaves it: owner, spec, a metric and, for an ended
/// run, a summary.
fn foreign_run(runs_dir: &Path, name: &str, owner: Option<&Owner>, ended: bool) -> PathBuf {
    let dir = runs_dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(o) = owner {
        o.write(&dir).unwrap();
    }
    std::fs::write(dir.join("spec.toml"), D5).unwrap();
    std::fs::write(
        dir.join("metrics.jsonl"),
        "{\"step\":10,\"name\":\"test_accuracy\",\"value\":0.5}\n",
    )
    .unwrap();
    if ended {
        std::fs::write(
            dir.join("summary.json"),
            r#"{"status": "finished", "step": 10, "total": 10, "summary": {}}"#,
        )
        .unwrap();
    }
    dir
}

#[test]
fn the_runs_folder_is_scanned_for_runs_that_other_processes_start() {
    let mut l = Lab::new(2, vec![]);
    let runs_dir = l.app.settings.runs_dir.clone();
    assert!(!l.app.scan_runs_dir(), "no runs folder yet");
    // a finished run, and a folder still being made (no spec.toml yet)
    foreign_run(&runs_dir, "20240101-000000-e1", None, true);
    std::fs::create_dir_all(runs_dir.join("20240101-000001-e1")).unwrap();
    std::fs::write(runs_dir.join("lab.log"), "not a run\n").unwrap();
    // nothing before the scan is due; then the loop's tick finds it
    assert!(!l.app.update_from_workers());
    assert!(l.app.runs.rows.is_empty());
    l.app.next_scan = Instant::now();
    assert!(l.app.update_from_workers());
    assert_eq!(l.app.runs.rows.len(), 1);
    assert_eq!(l.app.runs.rows[0].state.status, Status::Finished);
    assert_eq!(l.app.runs.selected(), Some(1));
    // the second folder gets its files (an older run: no owner file)
    foreign_run(&runs_dir, "20240101-000001-e1", None, false);
    assert!(l.app.scan_runs_dir());
    assert_eq!(l.app.runs.rows.len(), 2);
    assert_eq!(l.app.runs.rows[1].state.status, Status::Interrupted);
    assert_eq!(l.app.runs.selected(), Some(1), "the selection stays");
    assert!(!l.app.scan_runs_dir(), "each run is added once");
    // this lab's own runs are never read back: one launched (its folder is named by its
    // id) and one whose launch has not been seen yet (its owner is this process)
    press(&mut l.app, KeyCode::Enter);
    l.app.update_from_workers();
    assert_eq!(l.app.runs.rows[2].state.id, "run-1");
    foreign_run(&runs_dir, "run-1", Some(&Owner::current()), false);
    foreign_run(
        &runs_dir,
        "20240101-000002-e1",
        Some(&Owner::current()),
        false,
    );
    assert!(!l.app.scan_runs_dir());
    assert_eq!(l.app.runs.rows.len(), 3);
}

#[cfg(target_os = "linux")]
#[test]
fn a_run_of_another_process_is_followed_and_left_to_that_process() {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let pid = child.id();
    let owner = Owner::of_pid(pid, "fail-lab run").unwrap();
    let mut l = Lab::new(2, vec![]);
    let runs_dir = l.app.settings.runs_dir.clone();
    let dir = foreign_run(&runs_dir, "20240101-000000-e1", Some(&owner), false);
    assert!(l.app.scan_runs_dir());
    assert_eq!(l.app.runs.rows[0].state.status, Status::Elsewhere);
    assert_eq!(l.app.runs.active(), 0, "quitting does not wait for it");
    let screen = |app: &App| {
        let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
        term.draw(|f| super::super::view::render(f, app)).unwrap();
        let buf = term.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let text = screen(&l.app);
    assert!(text.contains("◎") && text.contains("elsewhere"), "{text}");
    assert!(
        text.contains(&format!(
            "running elsewhere in process {pid} (fail-lab run)"
        )),
        "{text}"
    );
    // pause, stop and delete belong to the process that trains it
    l.app.focus = Pane::Runs;
    for k in ['p', 'x', 'D'] {
        l.app.message = None;
        press(&mut l.app, KeyCode::Char(k));
        let m = l.app.message.as_ref().unwrap();
        assert!(m.error, "{k}");
        assert!(
            m.text.starts_with(&format!(
                "run #1 belongs to process {pid} (fail-lab run); stop it there"
            )),
            "{k}: {}",
            m.text
        );
    }
    assert_eq!(l.app.overlay, None);
    assert!(l.commands.lock().unwrap().is_empty());
    assert!(dir.join("spec.toml").exists());
    // new lines are read at the next tick
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("metrics.jsonl"))
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(b"{\"step\":20,\"name\":\"test_accuracy\",\"value\":0.75}\n")
        })
        .unwrap();
    assert!(!l.app.update_from_workers(), "not due yet");
    l.app.next_follow = Instant::now();
    assert!(l.app.update_from_workers());
    let r = &l.app.runs.rows[0].state;
    assert_eq!((r.step, r.latest("test_accuracy")), (20, Some(0.75)));
    // the process ends without writing a summary
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(l.app.follow_others());
    assert_eq!(l.app.runs.rows[0].state.status, Status::Interrupted);
    let m = l.app.message.as_ref().unwrap();
    assert!(
        m.text.contains("run #1 was cut off at step 20"),
        "{}",
        m.text
    );
    assert!(!l.app.follow_others(), "an ended run is not read again");
}

#[test]
fn a_message_goes_at_the_next_key_that_does_something_or_after_its_time() {
    let tmp = std::env::temp_dir();
    let mut l = Lab::new(
        2,
        vec![finished("a", 5, 1.0, &tmp), finished("b", 7, 1.0, &tmp)],
    );
    let app = &mut l.app;
    app.focus = Pane::Runs;
    press(app, KeyCode::Char('c'));
    assert!(app
        .message
        .as_ref()
        .unwrap()
        .text
        .contains("mark two or more"));
    // a key the table does not know changes nothing, the hint stays
    press(app, KeyCode::F(9));
    assert!(app.message.is_some());
    // marking a run: the hint about marking no longer applies
    press(app, KeyCode::Char(' '));
    assert_eq!(app.message, None);
    // and a message nobody answers goes after its time
    app.say("run #1 finished");
    assert!(!app.update_from_workers());
    app.message.as_mut().unwrap().at -= Duration::from_secs(5);
    assert!(app.update_from_workers(), "its expiry is a change to draw");
    assert_eq!(app.message, None);
}

#[test]
fn z_zooms_the_focused_pane_and_back() {
    use crate::tui::testing::screen;
    let tmp = std::env::temp_dir();
    let mut l = Lab::new(2, vec![finished("a", 5, 1.0, &tmp)]);
    let app = &mut l.app;
    app.focus = Pane::Chart;
    let normal = screen(app, 100, 30);
    assert!(normal.contains("Scenarios") && normal.contains("Run #1"));
    press(app, KeyCode::Char('z'));
    assert!(app.zoomed);
    let zoomed = screen(app, 100, 30);
    assert!(!zoomed.contains("Scenarios"), "{zoomed}");
    assert!(
        zoomed.contains("Run #1") && zoomed.contains("zoomed"),
        "{zoomed}"
    );
    // the chart takes the whole width: its metric list has room now
    assert!(zoomed.contains("▸test_accuracy"), "{zoomed}");
    // Tab moves the zoom along with the focus
    press(app, KeyCode::Tab);
    assert!(screen(app, 100, 30).contains("Scenarios"));
    press(app, KeyCode::Char('z'));
    assert!(!app.zoomed);
    let back = screen(app, 100, 30);
    assert!(
        back.contains("Scenarios") && back.contains("Runs") && back.contains("Run #1"),
        "{back}"
    );
}

#[test]
fn clicks_focus_and_select_and_the_wheel_scrolls() {
    use crate::tui::testing::screen;
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mouse = |kind, column, row| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let tmp = std::env::temp_dir();
    let mut l = Lab::new(
        2,
        vec![
            finished("a", 5, 1.0, &tmp),
            finished("b", 7, 1.0, &tmp),
            finished("c", 9, 1.0, &tmp),
        ],
    );
    let app = &mut l.app;
    let text = screen(app, 120, 40);
    let rows: Vec<&str> = text.lines().collect();
    // the runs table: find run #1's line and click it
    let (y, line) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.contains("✓   1 E1"))
        .expect("run #1 in the table");
    let x = line[..line.find("✓   1 E1").unwrap()].chars().count() as u16;
    assert_eq!(
        app.runs.selected(),
        Some(3),
        "the newest is selected at start"
    );
    assert!(app.handle_mouse(mouse(
        MouseEventKind::Down(MouseButton::Left),
        x + 4,
        y as u16
    )));
    assert_eq!(app.focus, Pane::Runs);
    assert_eq!(app.runs.selected(), Some(1));
    // the wheel over the tree moves its selection, and the tree keeps the focus it had
    let before = app.scenarios.selected;
    app.handle_mouse(mouse(MouseEventKind::ScrollDown, 3, 3));
    assert_ne!(app.scenarios.selected, before);
    assert_eq!(app.focus, Pane::Runs);
    // a click on a metric in the chart's list shows it
    let text = screen(app, 120, 40);
    let (y, line) = text
        .lines()
        .enumerate()
        .find(|(_, r)| r.contains(" grad_snr "))
        .expect("the metric list");
    let x = line[..line.find("grad_snr").unwrap()].chars().count() as u16;
    app.handle_mouse(mouse(
        MouseEventKind::Down(MouseButton::Left),
        x + 1,
        y as u16,
    ));
    assert_eq!(app.focus, Pane::Chart);
    assert_eq!(app.chart_metric().as_deref(), Some("grad_snr"));
    // the wheel over the chart steps through the metrics
    app.handle_mouse(mouse(MouseEventKind::ScrollDown, x, y as u16));
    assert_eq!(app.chart_metric().as_deref(), Some("test_accuracy"));
    // a click on a parameter selects it
    let text = screen(app, 120, 40);
    let (y, line) = text
        .lines()
        .enumerate()
        .find(|(_, r)| r.contains("│subset_size"))
        .expect("the parameters");
    let x = line
        .find("│subset_size")
        .map(|i| line[..i].chars().count())
        .unwrap() as u16;
    app.handle_mouse(mouse(
        MouseEventKind::Down(MouseButton::Left),
        x + 2,
        y as u16,
    ));
    assert_eq!(app.focus, Pane::Params);
    let e = app.scenarios.current().unwrap();
    let field = app.editor.selected_field(&e.current).unwrap();
    assert_eq!(field.name(), "subset_size");
}

#[test]
fn the_header_shows_the_cores_that_runs_hold() {
    use crate::tui::testing::screen;
    let mut l = Lab::new(2, vec![]);
    let busy = crate::engine::pool::Busy::default();
    l.app.settings.cores = Some((busy.clone(), 4));
    assert!(screen(&mut l.app, 100, 30).contains("cores 0/4"));
    busy.store(3, Ordering::SeqCst);
    assert!(screen(&mut l.app, 100, 30).contains("cores 3/4"));
}

#[test]
fn slash_filters_the_runs_as_typed_and_esc_shows_them_all_again() {
    use crate::tui::testing::screen;
    let tmp = std::env::temp_dir();
    let mut l = Lab::new(
        2,
        vec![
            finished("a", 5, 1.0, &tmp),
            finished("b", 7, 0.5, &tmp),
            finished("c", 9, 0.8, &tmp),
        ],
    );
    let app = &mut l.app;
    app.focus = Pane::Runs;
    press(app, KeyCode::Char('/'));
    assert_eq!(app.context(), Context::Filtering);
    keys(app, "d>=7");
    assert_eq!(app.runs.shown(), 2, "the table follows as it is typed");
    // a word that cannot be read keeps the last good filter ("d>=7 acc": no run's words
    // have "acc") and says why
    keys(app, " acc>x");
    assert_eq!(app.runs.shown(), 0);
    let text = screen(app, 120, 40);
    assert!(text.contains("acc>x: > needs a number"), "{text}");
    for _ in 0..5 {
        press(app, KeyCode::Backspace);
    }
    keys(app, "acc>0.6");
    press(app, KeyCode::Enter);
    assert_eq!(app.context(), Context::Runs);
    assert_eq!(app.runs.shown(), 1);
    assert!(screen(app, 120, 40).contains("filter: d>=7 acc>0.6 · 1 of 3"));
    // the selection is on a shown run, and moves among them only
    assert_eq!(app.runs.selected(), Some(3));
    press(app, KeyCode::Down);
    assert_eq!(app.runs.selected(), Some(3));
    // Esc while typing goes back to the filter before; Esc in the pane shows every run
    press(app, KeyCode::Char('/'));
    ctrl(app, 'u');
    keys(app, "status=failed");
    assert_eq!(app.runs.shown(), 0);
    assert!(screen(app, 120, 40).contains("no run matches the filter"));
    press(app, KeyCode::Esc);
    assert_eq!(app.runs.shown(), 1);
    press(app, KeyCode::Esc);
    assert_eq!(app.runs.shown(), 3);
    assert!(app.runs.filter.is_none());
}
