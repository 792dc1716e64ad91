//! The lab's screens drawn on ratatui's `TestBackend` and compared with snapshots (at 80x24,
//! the smallest size, and at a large size), plus the frame loop's pacing.
//!
//! Runs here are made from events, not trained, so the pictures do not depend on timing;
//! speeds and times are redacted anyway, as a changing speed must never break a snapshot.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use fail_lab::engine::{Event, RunEvent, RunState};
use fail_lab::experiments::ctx::{Figure, Summary};
use fail_lab::experiments::params_with;
use fail_lab::tui::app::App;
use fail_lab::tui::term::{event_loop, Exit, LoopStats, FRAME};
use fail_lab::tui::testing::{draw, press, screen_text, Lab, D10, D30, D5};
use fail_lab::tui::{ChartMarker, Theme};
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

mod common;
use common::snap;

/// A metric curve: a logistic rise from `lo` to `hi` around `mid`, with a deterministic wiggle.
fn curve(steps: u64, every: u64, lo: f64, hi: f64, mid: f64) -> Vec<(u64, f64)> {
    (0..=steps / every)
        .map(|i| {
            let s = i * every;
            let x = (s as f64 - mid) / (steps as f64 / 20.0);
            let wiggle = 0.02 * ((i * 7919 % 13) as f64 / 13.0 - 0.5);
            (s, lo + (hi - lo) / (1.0 + (-x).exp()) + wiggle)
        })
        .collect()
}

fn run(id: &str, d: i64, steps: u64, every: u64) -> RunState {
    let params = params_with(
        "E1",
        &[
            ("d", &d.to_string()),
            ("steps", &steps.to_string()),
            ("eval_every", &every.to_string()),
        ],
    )
    .unwrap();
    let mut s = RunState::new(id, "E1", &format!("Random parity, d = {d}"), params.clone());
    s.apply(&Event::Started {
        experiment: "E1".into(),
        title: format!("Random parity, d = {d}"),
        params,
        seed: 0,
        dir: PathBuf::from(format!("/nonexistent/{id}")),
    });
    s
}

fn feed(s: &mut RunState, upto: u64, total: u64, mid: f64, hi: f64) {
    for (step, v) in curve(total, 10, 0.5, hi, mid)
        .into_iter()
        .filter(|p| p.0 <= upto)
    {
        s.apply(&Event::Metric {
            step,
            name: "test_accuracy".into(),
            value: v,
        });
        s.apply(&Event::Metric {
            step,
            name: "train_loss".into(),
            value: 1.05 - v,
        });
        s.apply(&Event::Metric {
            step,
            name: "grad_snr".into(),
            value: 10f64.powf(-3.0 + 3.0 * (v - 0.5) * 2.0),
        });
    }
    s.apply(&Event::Progress {
        step: upto,
        total,
        steps_per_sec: 4321.0,
    });
}

/// Four saved runs: finished d=5, stopped d=30, diverged d=7, and a run of d=10 training.
fn sample_runs() -> Vec<RunState> {
    let mut a = run("20260101-000001-e1", 5, 5000, 10);
    feed(&mut a, 5000, 5000, 2000.0, 1.0);
    let mut sum = Summary::default();
    sum.set("test_accuracy", 1.0).set("steps_to_0.99", 2730.0);
    a.apply(&Event::Finished {
        summary: sum,
        elapsed_s: 1.2,
    });

    let mut b = run("20260101-000002-e1", 30, 50000, 100);
    feed(&mut b, 12400, 50000, 1e9, 0.5);
    b.apply(&Event::Stopped { step: 12400 });

    let mut c = run("20260101-000003-e1", 7, 20000, 10);
    feed(&mut c, 800, 20000, 5000.0, 0.9);
    c.apply(&Event::Diverged {
        step: 812,
        reason: "train_loss is NaN".into(),
    });

    let mut d = run("20260101-000004-e1", 10, 25000, 50);
    feed(&mut d, 9100, 25000, 6000.0, 1.0);
    vec![a, b, c, d]
}

fn lab(saved: Vec<RunState>, theme: Theme) -> Lab {
    Lab::with_files(
        2,
        saved,
        &[
            ("e1-parity-d5.toml", D5),
            ("e1-parity-d10.toml", D10),
            ("e1-parity.toml", D30),
        ],
        theme,
    )
}

fn colour() -> Theme {
    Theme::new(true, ChartMarker::Braille)
}

#[test]
fn main_screen_at_80x24() {
    let mut l = lab(sample_runs(), colour());
    l.app.runs.select(4);
    let t = draw(&mut l.app, 80, 24);
    let text = screen_text(&t);
    assert!(
        text.contains("Scenarios") && text.contains("Runs"),
        "{text}"
    );
    assert!(!text.contains("too small"));
    snap!("main_80x24", t);
    // the diverged run says why, in the table
    l.app.focus = fail_lab::tui::panes::Pane::Runs;
    press(&mut l.app, KeyCode::Down);
    let t = draw(&mut l.app, 80, 24);
    let text = screen_text(&t);
    assert!(text.contains("train_loss is NaN"), "{text}");
    snap!("diverged_selected_80x24", t);
}

#[test]
fn main_screen_at_160x50() {
    let mut l = lab(sample_runs(), colour());
    l.app.runs.select(4);
    l.app.runs.get_mut(1).unwrap().marked = true;
    snap!("main_160x50", draw(&mut l.app, 160, 50));
    // log scale by default for an SNR, smoothing on demand (metrics by kind: the loss
    // comes before the SNR)
    press(&mut l.app, KeyCode::Char('m'));
    assert_eq!(l.app.chart_metric().as_deref(), Some("train_loss"));
    press(&mut l.app, KeyCode::Char('m'));
    assert_eq!(l.app.chart_metric().as_deref(), Some("grad_snr"));
    press(&mut l.app, KeyCode::Char('s'));
    let t = draw(&mut l.app, 160, 50);
    let text = screen_text(&t);
    assert!(text.contains("grad_snr log smoothed"), "{text}");
    snap!("snr_log_smoothed_160x50", t);
}

#[test]
fn editing_shows_the_command_line_message_as_typed() {
    let mut l = lab(vec![], colour());
    press(&mut l.app, KeyCode::Char('e'));
    press(&mut l.app, KeyCode::Down);
    press(&mut l.app, KeyCode::Enter);
    l.app
        .handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    for c in "70".chars() {
        press(&mut l.app, KeyCode::Char(c));
    }
    let t = draw(&mut l.app, 80, 24);
    let text = screen_text(&t);
    // the message as `--set` gives it, wrapped in the pane
    assert!(
        text.contains("got 70, allowed: an integer") && text.contains("2..=63 (input bits)"),
        "{text}"
    );
    snap!("editing_error_80x24", t);
    press(&mut l.app, KeyCode::Backspace);
    press(&mut l.app, KeyCode::Backspace);
    press(&mut l.app, KeyCode::Char('7'));
    let t = draw(&mut l.app, 80, 24);
    assert!(screen_text(&t).contains("✓ d = 7"));
    press(&mut l.app, KeyCode::Enter);
    let t = draw(&mut l.app, 100, 30);
    let text = screen_text(&t);
    assert!(
        text.contains("edited") && text.contains("d = 5 *"),
        "{text}"
    );
    snap!("edited_100x30", t);
}

#[test]
fn compare_overlay_and_side_by_side() {
    let mut l = lab(sample_runs(), colour());
    for n in [1, 2, 4] {
        l.app.runs.get_mut(n).unwrap().marked = true;
    }
    press(&mut l.app, KeyCode::Char('c'));
    let t = draw(&mut l.app, 100, 30);
    let text = screen_text(&t);
    assert!(text.contains("Compare 3 runs"), "{text}");
    assert!(
        text.contains("#1 d=5") && text.contains("#4 d=10"),
        "legend: {text}"
    );
    snap!("compare_overlay_100x30", t);
    snap!("compare_overlay_80x24", draw(&mut l.app, 80, 24));
    press(&mut l.app, KeyCode::Char('v'));
    snap!("compare_side_by_side_160x50", draw(&mut l.app, 160, 50));
}

#[test]
fn help_lists_every_key() {
    let mut l = lab(vec![], colour());
    press(&mut l.app, KeyCode::Char('?'));
    let t = draw(&mut l.app, 80, 24);
    snap!("help_80x24", t);
    let t = draw(&mut l.app, 160, 50);
    let mut text = screen_text(&t);
    snap!("help_160x50", t);
    // the rest is further down
    for _ in 0..4 {
        press(&mut l.app, KeyCode::PageDown);
        text.push_str(&screen_text(&draw(&mut l.app, 160, 50)));
    }
    for ctx in fail_lab::tui::keymap::Context::HELP {
        assert!(text.contains(ctx.title()), "{} missing", ctx.title());
    }
    // a text longer than its column goes on under its start, whole (H's did not fit)
    for (_, lines) in fail_lab::tui::keymap::help_sections() {
        for (_, help) in lines {
            let last = help.split(' ').next_back().unwrap_or_default();
            assert!(text.contains(last), "{help}: cut");
        }
    }
    assert!(text.contains("in one chart"), "{text}");
}

#[test]
fn quit_question_and_too_small_terminal() {
    let mut l = lab(sample_runs(), colour());
    press(&mut l.app, KeyCode::Enter);
    l.app.update_from_workers();
    press(&mut l.app, KeyCode::Char('q'));
    snap!("confirm_quit_80x24", draw(&mut l.app, 80, 24));
    let t = draw(&mut l.app, 60, 20);
    let text = screen_text(&t);
    assert!(text.contains("need at least 80x24"), "{text}");
    snap!("too_small_60x20", t);
    let t = draw(&mut l.app, 79, 24);
    assert!(screen_text(&t).contains("too small"));
    let t = draw(&mut l.app, 80, 24);
    assert!(!screen_text(&t).contains("too small"));
}

#[test]
fn figures_draw_images_in_half_blocks_and_curves_as_charts() {
    let mut s = run("20260101-000009-e1", 5, 100, 10);
    feed(&mut s, 100, 100, 50.0, 1.0);
    let pixels: Vec<f32> = (0..28 * 28)
        .map(|i| {
            let (x, y) = ((i % 28) as f32 - 13.5, (i / 28) as f32 - 13.5);
            if (x * x + y * y).sqrt() < 9.0 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    s.apply(&Event::Figure {
        step: 100,
        figure: Figure::Image {
            title: "a 28x28 input".into(),
            width: 28,
            height: 28,
            pixels,
        },
    });
    s.apply(&Event::Figure {
        step: 100,
        figure: Figure::Curves {
            title: "target and model".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![
                (
                    "target".into(),
                    (0..50)
                        .map(|i| (i as f64, (i as f64 / 8.0).sin()))
                        .collect(),
                ),
                (
                    "model".into(),
                    (0..50)
                        .map(|i| (i as f64, 0.8 * (i as f64 / 8.0).sin()))
                        .collect(),
                ),
            ],
        },
    });
    s.apply(&Event::Log("d = 5: reached 0.99 at step 80".into()));
    let mut l = lab(vec![s], colour());
    // the latest figure first (both are at step 100: then by title)
    press(&mut l.app, KeyCode::Char('f'));
    let t = draw(&mut l.app, 100, 30);
    let text = screen_text(&t);
    assert!(
        text.contains("figure 2/2 (latest)") && text.contains("━ target  ━ model"),
        "{text}"
    );
    snap!("figure_curves_100x30", t);
    press(&mut l.app, KeyCode::Right);
    let t = draw(&mut l.app, 100, 30);
    let text = screen_text(&t);
    assert!(
        text.contains("figure 1/2 ·") && text.contains("▀"),
        "{text}"
    );
    snap!("figure_image_100x30", t);
    // back to the last one follows the latest again
    press(&mut l.app, KeyCode::Left);
    assert!(screen_text(&draw(&mut l.app, 100, 30)).contains("figure 2/2 (latest)"));
}

#[test]
fn no_color_means_no_colour_anywhere() {
    let mut runs = sample_runs();
    runs[0].apply(&Event::Figure {
        step: 1,
        figure: Figure::Image {
            title: "img".into(),
            width: 2,
            height: 2,
            pixels: vec![0.0, 1.0, 0.5, 0.2],
        },
    });
    let mut l = lab(runs, Theme::new(false, ChartMarker::Dot));
    for n in [1, 4] {
        l.app.runs.get_mut(n).unwrap().marked = true;
    }
    let check = |app: &mut App, what: &str| {
        let t = draw(app, 120, 40);
        let buf = t.backend().buffer();
        for c in buf.content() {
            assert_eq!(c.fg, Color::Reset, "{what}: coloured cell {c:?}");
            assert_eq!(c.bg, Color::Reset, "{what}: coloured cell {c:?}");
        }
        screen_text(&t)
    };
    let main = check(&mut l.app, "main");
    assert!(
        !main.contains('⠀') && main.contains('•'),
        "dot marker, no Braille"
    );
    press(&mut l.app, KeyCode::Char('c'));
    check(&mut l.app, "compare");
    press(&mut l.app, KeyCode::Esc);
    l.app.runs.select(1);
    press(&mut l.app, KeyCode::Char('f'));
    check(&mut l.app, "figure");
}

#[test]
fn every_marker_draws_the_curve_with_and_without_colour() {
    for color in [true, false] {
        for marker in [
            ChartMarker::Braille,
            ChartMarker::HalfBlock,
            ChartMarker::Dot,
            ChartMarker::Block,
        ] {
            let mut l = lab(sample_runs(), Theme::new(color, marker));
            l.app.runs.select(1);
            let t = draw(&mut l.app, 100, 30);
            let buf = t.backend().buffer();
            let (left, top) = (0..30)
                .find_map(|y| {
                    let row: Vec<&str> = (0..100).map(|x| buf[(x, y)].symbol()).collect();
                    let text = row.concat();
                    let at = text.find("Run #1")?;
                    Some((text[..at].chars().count() as u16 - 2, y))
                })
                .expect("the chart pane");
            // the plot area, right of the y labels
            let drawn = (top + 1..top + 8)
                .flat_map(|y| (left + 6..left + 40).map(move |x| (x, y)))
                .filter(|&(x, y)| {
                    let s = buf[(x, y)].symbol();
                    s.chars()
                        .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c) || "▀▄█•".contains(c))
                })
                .count();
            assert!(
                drawn >= 10,
                "{marker:?} colour {color}: {drawn} cells drawn"
            );
        }
    }
}

#[test]
fn a_live_run_updates_the_table_and_chart_from_events() {
    let mut l = lab(vec![], colour());
    press(&mut l.app, KeyCode::Enter);
    l.app.update_from_workers();
    let s = run("run-1", 5, 5000, 10);
    let send = |event: Event| {
        l.events
            .send(RunEvent {
                run: "run-1".into(),
                event,
            })
            .unwrap()
    };
    // the Started event as the engine sends it
    send(Event::Started {
        experiment: "E1".into(),
        title: s.title.clone(),
        params: s.params.clone(),
        seed: 0,
        dir: PathBuf::from("/nonexistent/run-1"),
    });
    l.app.update_from_workers();
    let before = screen_text(&draw(&mut l.app, 100, 30));
    assert!(before.contains("waiting for the first metric"), "{before}");
    for (step, v) in curve(5000, 10, 0.5, 1.0, 2000.0).into_iter().take(300) {
        send(Event::Metric {
            step,
            name: "test_accuracy".into(),
            value: v,
        });
    }
    send(Event::Progress {
        step: 2990,
        total: 5000,
        steps_per_sec: 5000.0,
    });
    assert!(l.app.update_from_workers());
    let after = screen_text(&draw(&mut l.app, 100, 30));
    assert_ne!(before, after);
    assert!(after.contains("2990/5000"), "{after}");
    assert!(after.contains("running"));
    assert!(!after.contains("waiting for the first metric"));
}

// ---------------------------------------------------------------------------------------------
// the loop: drawn when something changed, and not more than ~30 times a second

type Script = Vec<Option<TermEvent>>;

/// Input that plays `script` (None: nothing comes within the timeout, which it waits out).
fn scripted(mut script: Script) -> impl FnMut(Duration) -> io::Result<Option<TermEvent>> {
    script.reverse();
    move |timeout| match script.pop() {
        Some(Some(ev)) => Ok(Some(ev)),
        Some(None) | None => {
            std::thread::sleep(timeout.min(Duration::from_millis(50)));
            Ok(None)
        }
    }
}

fn key(c: char) -> Option<TermEvent> {
    Some(TermEvent::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

#[test]
fn an_idle_lab_draws_once() {
    let mut l = lab(sample_runs(), colour());
    let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let stop = AtomicBool::new(false);
    let mut stats = LoopStats::default();
    let started = Instant::now();
    let mut calls = 0;
    let mut input = |t: Duration| -> io::Result<Option<TermEvent>> {
        calls += 1;
        if started.elapsed() > Duration::from_millis(600) {
            stop.store(true, Ordering::SeqCst);
        }
        std::thread::sleep(t.min(Duration::from_millis(50)));
        Ok(None)
    };
    let exit = event_loop(&mut term, &mut l.app, &mut input, &stop, &mut stats).unwrap();
    assert_eq!(exit, Exit::Signal);
    assert_eq!(stats.frames, 1, "{stats:?}");
    assert!(calls >= 2);
}

#[test]
fn a_burst_of_keys_makes_one_frame_and_q_quits() {
    let mut l = lab(sample_runs(), colour());
    let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let stop = AtomicBool::new(false);
    let mut stats = LoopStats::default();
    let mut script: Script = vec![None];
    // more presses than there are rows: the selection stops at the last one
    let presses = l.app.scenarios.rows().len() + 5;
    script.extend((0..presses).map(|_| key('j')));
    // a run is active, so q asks first
    script.extend([None, None, key('q'), key('y')]);
    let exit = event_loop(
        &mut term,
        &mut l.app,
        &mut scripted(script),
        &stop,
        &mut stats,
    )
    .unwrap();
    assert_eq!(exit, Exit::Quit);
    assert!(stats.frames <= 3, "{stats:?}");
    assert!(stats.frames >= 2, "{stats:?}");
    // the last frame shows where the keys left the selection
    let text = screen_text(&term);
    let last_row = l.app.scenarios.rows().last().unwrap().node;
    assert_eq!(l.app.scenarios.selected, last_row);
    assert!(text.contains("Scenarios"));
}

#[test]
fn a_flood_of_worker_events_is_drawn_at_most_30_times_a_second() {
    let mut l = lab(vec![], colour());
    press(&mut l.app, KeyCode::Enter);
    l.app.update_from_workers();
    let tx = l.events.clone();
    let done = Arc::new(AtomicBool::new(false));
    let d2 = done.clone();
    let producer = std::thread::spawn(move || {
        let mut step = 0u64;
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(700) {
            step += 1;
            // a worker never waits for the UI: an unbounded channel, no acknowledgement
            let _ = tx.send(RunEvent {
                run: "run-1".into(),
                event: Event::Metric {
                    step,
                    name: "train_loss".into(),
                    value: 1.0 / step as f64,
                },
            });
        }
        d2.store(true, Ordering::SeqCst);
        step
    });
    let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let stop = AtomicBool::new(false);
    let mut stats = LoopStats::default();
    let started = Instant::now();
    let mut input = |t: Duration| -> io::Result<Option<TermEvent>> {
        if done.load(Ordering::SeqCst) {
            stop.store(true, Ordering::SeqCst);
        }
        std::thread::sleep(t);
        Ok(None)
    };
    event_loop(&mut term, &mut l.app, &mut input, &stop, &mut stats).unwrap();
    let secs = started.elapsed().as_secs_f64();
    let sent = producer.join().unwrap();
    let max = (secs / FRAME.as_secs_f64()).ceil() as u64 + 2;
    assert!(
        stats.frames <= max,
        "{} frames in {secs:.2} s",
        stats.frames
    );
    assert!(stats.frames >= 3, "it kept drawing: {stats:?}");
    // every event was applied (a turn applies a bounded number; drain the rest)
    while l.app.update_from_workers() {}
    let got = l.app.runs.rows[0].state.metrics["train_loss"].total();
    assert_eq!(got, sent);
}

#[test]
fn the_chart_overlays_the_same_metric_of_every_method() {
    // E2 trains end-to-end and decomposition side by side: one chart shows both accuracies
    let mut s = run("20260101-000010-e1", 4, 1000, 100);
    for step in (0..=1000).step_by(100) {
        let x = step as f64 / 1000.0;
        for (name, value) in [
            ("e2e/test_accuracy", 0.5),
            ("dec/test_accuracy", 0.5 + 0.4 * x),
            ("e2e/train_loss", 1.0 - 0.1 * x),
        ] {
            s.apply(&Event::Metric {
                step,
                name: name.into(),
                value,
            });
        }
    }
    let mut l = lab(vec![s], colour());
    let text = screen_text(&draw(&mut l.app, 120, 36));
    assert!(
        text.contains("━ e2e/test_accuracy") && text.contains("━ dec/test_accuracy"),
        "no legend with both methods:\n{text}"
    );
    // a metric that only one method has is drawn alone, without a legend
    while l.app.chart_metric().as_deref() != Some("e2e/train_loss") {
        press(&mut l.app, KeyCode::Char('m'));
    }
    let text = screen_text(&draw(&mut l.app, 120, 36));
    assert!(!text.contains("━ e2e/train_loss"), "{text}");
}

/// The bundled presets, as the lab finds them in `scenarios/`.
fn bundled() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_four_families_show_wherever_the_selection_is_and_ten_parameters_at_100x30() {
    let files = bundled();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    for (w, h) in [(100, 30), (80, 24)] {
        let mut l = Lab::with_files(2, vec![], &files, colour());
        let mut seen = std::collections::HashSet::new();
        // walk the whole tree, row by row
        for _ in 0..200 {
            let text = screen_text(&draw(&mut l.app, w, h));
            for family in [
                "1 Parities",
                "2 Decomposition vs E2E",
                "3 Architecture, conditioning",
                "4 Flat activations",
            ] {
                assert!(text.contains(family), "{w}x{h}: {family} missing\n{text}");
            }
            if !seen.insert(l.app.scenarios.selected) {
                break;
            }
            if w == 100 {
                if let Some(e) = l.app.scenarios.current() {
                    let names: Vec<String> =
                        fail_lab::tui::panes::params::Editor::fields(&e.current)
                            .iter()
                            .map(|f| f.name().to_string())
                            .collect();
                    let shown = names
                        .iter()
                        .filter(|n| text.contains(&format!("│{n} ")))
                        .count();
                    assert!(
                        shown >= names.len().min(10),
                        "{w}x{h}: {shown} of {} parameters of {}\n{text}",
                        names.len(),
                        e.current.title
                    );
                }
            }
            press(&mut l.app, KeyCode::Down);
        }
        assert!(
            seen.len() > 30,
            "the walk went through the tree: {}",
            seen.len()
        );
    }
}
