//! The lab's keys on checkpoints: `R` resumes a stopped run in its row, `F` forks a run with
//! the editor's parameters, from its latest checkpoint or one it kept.

use super::tests::finished;
use super::*;
use crate::tui::testing::{press, screen, Lab};
use crossterm::event::KeyCode;

#[test]
fn r_resumes_a_stopped_run_in_its_row_and_refuses_a_finished_one() {
    let tmp = crate::tui::testing::temp_dir("resume-key");
    let (done_dir, stopped_dir) = (tmp.join("done"), tmp.join("stopped"));
    for (dir, status) in [(&done_dir, "finished"), (&stopped_dir, "stopped")] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("spec.toml"), "experiment = \"E1\"\n").unwrap();
        std::fs::write(
            dir.join("summary.json"),
            format!("{{\"status\": \"{status}\"}}"),
        )
        .unwrap();
    }
    let mut stopped = finished("b", 30, 0.5, &stopped_dir);
    stopped.status = Status::Stopped;
    let mut l = Lab::new(1, vec![finished("a", 5, 1.0, &done_dir), stopped]);
    let app = &mut l.app;
    app.focus = Pane::Runs;
    app.runs.select(1);
    press(app, KeyCode::Char('R'));
    let m = app.message.as_ref().unwrap();
    assert!(
        m.error && m.text.contains("only a stopped run is resumed"),
        "{}",
        m.text
    );
    assert_eq!(app.pool.queued(), 0);

    app.runs.select(2);
    press(app, KeyCode::Char('R'));
    let m = app.message.as_ref().unwrap();
    assert!(!m.error && m.text.contains("run #2 resuming"), "{}", m.text);
    assert_eq!(app.pool.queued(), 1);
    assert_eq!(app.runs.rows.len(), 2, "the run goes on in its own row");
    let row = app.runs.get(2).unwrap();
    assert_eq!(row.state.status, Status::Queued);
    assert!(row.ticket.is_some());

    press(app, KeyCode::Char('R'));
    assert!(app.message.as_ref().unwrap().text.contains("is queued"));
    assert_eq!(app.pool.queued(), 1, "a queued run is not queued twice");
}

#[test]
fn f_forks_a_run_with_the_editors_parameters_and_refuses_what_a_fork_cannot_change() {
    use crate::tui::testing::{D10, D5};
    let tmp = crate::tui::testing::temp_dir("fork-key");
    let parent = tmp.join("20261206-120000-e1");
    std::fs::create_dir_all(&parent).unwrap();
    let mut run = finished("20261206-120000-e1", 10, 0.5, &parent);
    run.status = Status::Stopped;
    let mut l = Lab::new(1, vec![run]);
    let app = &mut l.app;
    app.focus = Pane::Runs;
    app.runs.select(1);

    // the editor holds d = 5, the run d = 10: refused, naming d, nothing queued
    std::fs::write(parent.join("spec.toml"), D10).unwrap();
    press(app, KeyCode::Char('F'));
    let m = app.message.as_ref().unwrap();
    assert!(
        m.error && m.text.starts_with("--set d: a fork cannot change d"),
        "{}",
        m.text
    );
    assert_eq!(app.pool.queued(), 0);

    // same shapes, other steps and eval_every: only the checkpoint is missing
    std::fs::write(
        parent.join("spec.toml"),
        D5.replace("steps = 5000", "steps = 900")
            .replace("eval_every = 10", "eval_every = 30"),
    )
    .unwrap();
    press(app, KeyCode::Char('F'));
    let m = app.message.as_ref().unwrap();
    assert!(
        m.error && m.text.contains("has no checkpoint"),
        "{}",
        m.text
    );
    assert_eq!(app.pool.queued(), 0);

    std::fs::write(parent.join("checkpoint.bin"), b"").unwrap();
    press(app, KeyCode::Char('F'));
    let m = app.message.as_ref().unwrap();
    assert!(!m.error, "{}", m.text);
    assert!(
        m.text.contains("run #2 forks run #1") && m.text.contains("steps=5000"),
        "{}",
        m.text
    );
    assert_eq!(app.pool.queued(), 1);
    assert_eq!(app.runs.selected(), Some(2));
}

#[test]
fn f_on_a_run_that_kept_checkpoints_picks_the_step_to_fork_from() {
    use crate::tui::screens::dialogs::ForkPick;
    use crate::tui::testing::D5;
    let tmp = crate::tui::testing::temp_dir("fork-pick");
    let parent = tmp.join("20261206-130000-e1");
    std::fs::create_dir_all(&parent).unwrap();
    std::fs::write(parent.join("spec.toml"), D5).unwrap();
    for name in ["checkpoint-200.bin", "checkpoint-400.bin", "checkpoint.bin"] {
        std::fs::write(parent.join(name), b"").unwrap();
    }
    let mut run = finished("20261206-130000-e1", 5, 0.5, &parent);
    run.status = Status::Stopped;
    let mut l = Lab::new(1, vec![run]);
    let app = &mut l.app;
    app.focus = Pane::Runs;
    app.runs.select(1);

    // the kept steps and the latest, the latest picked
    press(app, KeyCode::Char('F'));
    let want = ForkPick {
        num: 1,
        steps: vec![Some(200), Some(400), None],
        latest: None,
        pick: 2,
    };
    assert_eq!(app.overlay, Some(Overlay::ForkStep(want)));
    assert_eq!(app.context(), Context::Confirm);
    let text = screen(app, 80, 24);
    assert!(
        text.contains("Fork run #1 from") && text.contains("200  kept") && text.contains("latest"),
        "{text}"
    );
    // n closes the box and starts nothing
    press(app, KeyCode::Char('n'));
    assert!(app.overlay.is_none());
    assert_eq!(app.pool.queued(), 0);

    // up twice (past the top stays there), down once: step 400
    press(app, KeyCode::Char('F'));
    press(app, KeyCode::Up);
    press(app, KeyCode::Up);
    press(app, KeyCode::Up);
    press(app, KeyCode::Down);
    press(app, KeyCode::Char('y'));
    assert!(app.overlay.is_none());
    let m = app.message.as_ref().unwrap();
    assert!(
        !m.error
            && m.text
                .contains("run #2 forks run #1 from its checkpoint of step 400"),
        "{}",
        m.text
    );
    assert_eq!(app.pool.queued(), 1);

    // only the latest: no box, the fork starts from it
    for name in ["checkpoint-200.bin", "checkpoint-400.bin"] {
        std::fs::remove_file(parent.join(name)).unwrap();
    }
    app.runs.select(1);
    press(app, KeyCode::Char('F'));
    assert!(app.overlay.is_none());
    let m = app.message.as_ref().unwrap();
    assert!(
        m.text
            .contains("run #3 forks run #1 from its latest checkpoint"),
        "{}",
        m.text
    );
}
