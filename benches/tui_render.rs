//! How long the lab takes to draw a frame with 8 runs of 100,000 points per metric.
//!
//! `cargo bench --bench tui_render` prints, per screen and size, the mean, median, 99th
//! percentile and worst time of a frame. Each frame first feeds every run one more point of
//! each metric (as live runs do), then draws the whole screen: scenario tree, parameters, runs
//! table with sparklines, the chart with its metric list, or the comparison of all 8 runs.
//! The "terminal" rows draw through crossterm into a sink, which adds the diffing and escape
//! encoding a real terminal gets.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fail_lab::engine::pool::{Job, Launcher, Pool};
use fail_lab::engine::{Command, Event, RunState};
use fail_lab::experiments::params_with;
use fail_lab::spec::Scenario;
use fail_lab::tui::app::{App, Settings};
use fail_lab::tui::model::run_list::Runs;
use fail_lab::tui::panes::scenarios::Scenarios;
use fail_lab::tui::panes::Pane;
use fail_lab::tui::{view, ChartMarker, Theme};
use ratatui::backend::{Backend, CrosstermBackend, TestBackend};
use ratatui::Terminal;

const RUNS: usize = 8;
const POINTS: u64 = 100_000;
const METRICS: [&str; 3] = ["test_accuracy", "train_loss", "grad_snr"];

struct Never;
impl Job for Never {
    fn id(&self) -> &str {
        "never"
    }
    fn send(&self, _: Command) {}
    fn is_done(&self) -> bool {
        false
    }
    fn join(self: Box<Self>) {}
}

fn value(metric: usize, run: usize, step: u64) -> f64 {
    let x = step as f64 / POINTS as f64;
    let noise = ((step * 2_654_435_761) % 1000) as f64 / 1000.0 - 0.5;
    match metric {
        0 => 0.5 + 0.5 / (1.0 + (-(x * 12.0 - run as f64)).exp()) + 0.02 * noise,
        1 => (1.0 - x).max(0.01) + 0.05 * noise,
        _ => 10f64.powf(-4.0 + 4.0 * x + noise),
    }
}

fn app() -> App {
    let mut saved = Vec::new();
    for r in 0..RUNS {
        let d = 5 + 5 * r as i64;
        let params = params_with(
            "E1",
            &[("d", &d.to_string()), ("steps", &POINTS.to_string())],
        )
        .expect("E1 parameters");
        let mut s = RunState::new(&format!("bench-{r}"), "E1", "bench", params.clone());
        s.apply(&Event::Started {
            experiment: "E1".into(),
            title: "bench".into(),
            params,
            seed: r as u64,
            dir: PathBuf::from("/nonexistent"),
        });
        for step in 0..POINTS {
            for (m, name) in METRICS.iter().enumerate() {
                s.metrics
                    .entry(name.to_string())
                    .or_default()
                    .push(step, value(m, r, step));
            }
        }
        s.apply(&Event::Progress {
            step: POINTS,
            total: 2 * POINTS,
            steps_per_sec: 4000.0,
        });
        saved.push(s);
    }
    let launcher: Launcher = Box::new(|_: &Scenario, _: &fail_lab::engine::pool::Start| {
        Ok(Box::new(Never) as Box<dyn Job>)
    });
    let (_tx, rx) = crossbeam_channel::unbounded();
    let scenarios = Scenarios::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios"));
    let mut app = App::new(
        scenarios,
        Runs::new(saved),
        Pool::new(RUNS, launcher),
        rx,
        Settings {
            theme: Theme::new(true, ChartMarker::Braille),
            device: "cpu".into(),
            runs_dir: PathBuf::from("/nonexistent"),
            cores: None,
        },
    );
    app.focus = Pane::Runs;
    app
}

/// One more point per metric per run, as if every run had reported.
fn feed(app: &mut App, step: u64) {
    for (r, row) in app.runs.rows.iter_mut().enumerate() {
        for (m, name) in METRICS.iter().enumerate() {
            row.state
                .metrics
                .entry(name.to_string())
                .or_default()
                .push(step, value(m, r, step % POINTS));
        }
        row.state.step = step;
    }
}

fn measure<B: Backend>(label: &str, term: &mut Terminal<B>, app: &mut App, frames: usize) {
    let mut times = Vec::with_capacity(frames);
    let mut step = POINTS;
    for _ in 0..frames {
        step += 1;
        let t = Instant::now();
        feed(app, step);
        term.draw(|f| view::render(f, app)).expect("draw");
        times.push(t.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / times.len() as f64;
    println!(
        "{label:<44} mean {:>6.2} ms   median {:>6.2} ms   p99 {:>6.2} ms   max {:>6.2} ms",
        mean,
        ms(times[times.len() / 2]),
        ms(times[times.len() * 99 / 100]),
        ms(*times.last().expect("frames"))
    );
}

fn main() {
    let frames: usize = std::env::var("FAIL_LAB_BENCH_FRAMES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let t = Instant::now();
    let mut app = app();
    let stored: usize = app.runs.rows[0]
        .state
        .metrics
        .values()
        .map(|s| s.len())
        .sum();
    println!(
        "{RUNS} runs x {} metrics x {POINTS} points (stored per run after downsampling: {stored}); \
         built in {:.1} s; {frames} frames each",
        METRICS.len(),
        t.elapsed().as_secs_f64()
    );
    for (w, h) in [(100, 30), (200, 60)] {
        app.runs.select(RUNS);
        // as the lab's loop does when it learns the size (the tree folds to fit)
        app.resize(w, h);
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        measure(
            &format!("main screen {w}x{h} (buffer)"),
            &mut term,
            &mut app,
            frames,
        );
        // a sink has no size: draw into a fixed viewport of the same size
        let mut term = Terminal::with_options(
            CrosstermBackend::new(io::sink()),
            ratatui::TerminalOptions {
                viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, w, h)),
            },
        )
        .expect("terminal");
        measure(
            &format!("main screen {w}x{h} (terminal)"),
            &mut term,
            &mut app,
            frames,
        );
    }
    for r in &mut app.runs.rows {
        r.marked = true;
    }
    app.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE));
    for (w, h) in [(100, 30), (200, 60)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        measure(
            &format!("compare 8 runs overlaid {w}x{h}"),
            &mut term,
            &mut app,
            frames,
        );
    }
    app.handle_key(KeyEvent::new(KeyCode::Char('v'), KeyModifiers::NONE));
    let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    measure(
        "compare 8 runs side by side 200x60",
        &mut term,
        &mut app,
        frames,
    );
}
