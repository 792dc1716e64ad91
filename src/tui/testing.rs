//! The lab's test fixture, shared by its unit tests and its screen tests: a
//! lab over a temporary scenarios folder whose runs are fake jobs (the test feeds their
//! events and ends them), keys in, the screen out as text.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::engine::pool::{Job, Launcher, Pool};
use crate::engine::{Command, RunEvent, RunState};
use crate::spec::Scenario;

use super::app::{App, Settings};
use super::model::run_list::Runs;
use super::panes::scenarios::Scenarios;
use super::theme::{ChartMarker, Theme};
use super::view;

pub const D5: &str = "experiment = \"E1\"\ntitle = \"Random parity, d = 5\"\nseed = 0\n\n[params]\nd = 5\nsteps = 5000\neval_every = 10\n";
pub const D10: &str = "experiment = \"E1\"\ntitle = \"Random parity, d = 10\"\nseed = 0\n\n[params]\nd = 10\nsteps = 25000\neval_every = 50\n";
pub const D30: &str = "experiment = \"E1\"\ntitle = \"Random parity, d = 30 (fails)\"\ndescription = \"The paper's failing case: SGD stays at chance.\"\nseed = 0\n\n[params]\nd = 30\nsteps = 50000\n";

/// The commands the lab sent, by run id.
pub type Commands = Arc<Mutex<Vec<(String, Command)>>>;
/// Each launched run's id and the flag that ends its "thread".
pub type Dones = Arc<Mutex<Vec<(String, Arc<AtomicBool>)>>>;

/// A run that trains nothing: it records the commands it gets and ends when told.
pub struct FakeJob {
    id: String,
    done: Arc<AtomicBool>,
    commands: Commands,
}

impl Job for FakeJob {
    fn id(&self) -> &str {
        &self.id
    }
    fn send(&self, c: Command) {
        self.commands.lock().unwrap().push((self.id.clone(), c));
    }
    fn is_done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }
    fn join(self: Box<Self>) {}
}

/// A lab over a temporary folder, removed when dropped.
pub struct Lab {
    pub app: App,
    /// Events as if from the runs' threads.
    pub events: Sender<RunEvent>,
    pub commands: Commands,
    pub done: Dones,
    /// The scenarios the pool launched, in order (their ids are `run-1`, `run-2`, ...).
    pub launched: Arc<Mutex<Vec<Scenario>>>,
    pub dir: PathBuf,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new empty folder under the system's temporary folder.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "fail-lab-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Lab {
    /// A lab with E1's d = 5 and d = 10 scenario files, `limit` runs at once, these saved
    /// runs, in colour.
    pub fn new(limit: usize, saved: Vec<RunState>) -> Self {
        Self::with_files(
            limit,
            saved,
            &[("e1-parity-d5.toml", D5), ("e1-parity-d10.toml", D10)],
            Theme::new(true, ChartMarker::Braille),
        )
    }

    /// A lab whose scenarios folder holds `files` (name, text).
    pub fn with_files(
        limit: usize,
        saved: Vec<RunState>,
        files: &[(&str, &str)],
        theme: Theme,
    ) -> Self {
        let dir = temp_dir("lab");
        let scen = dir.join("scenarios");
        std::fs::create_dir_all(&scen).unwrap();
        for (name, text) in files {
            std::fs::write(scen.join(name), text).unwrap();
        }
        let commands: Commands = Default::default();
        let done: Dones = Default::default();
        let launched: Arc<Mutex<Vec<Scenario>>> = Default::default();
        let (c, d, l) = (commands.clone(), done.clone(), launched.clone());
        let mut n = 0;
        let launcher: Launcher = Box::new(move |s: &Scenario, _: &crate::engine::pool::Start| {
            n += 1;
            let flag = Arc::new(AtomicBool::new(false));
            let id = format!("run-{n}");
            d.lock().unwrap().push((id.clone(), flag.clone()));
            l.lock().unwrap().push(s.clone());
            Ok(Box::new(FakeJob {
                id,
                done: flag,
                commands: c.clone(),
            }) as Box<dyn Job>)
        });
        let (tx, rx) = crossbeam_channel::unbounded();
        let app = App::new(
            Scenarios::load(&scen),
            Runs::new(saved),
            Pool::new(limit, launcher),
            rx,
            Settings {
                theme,
                device: "cpu".into(),
                runs_dir: dir.join("runs"),
                cores: None,
            },
        );
        Lab {
            app,
            events: tx,
            commands,
            done,
            launched,
            dir,
        }
    }
}

pub fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

pub fn ctrl(app: &mut App, c: char) {
    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
}

/// Types each character of `text`.
pub fn keys(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// Draws the lab on a `w` x `h` test terminal, after telling it the size (as the loop does,
/// so the tree folds to fit).
pub fn draw(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    if (app.area.width, app.area.height) != (w, h) {
        app.resize(w, h);
    }
    app.load_shown();
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::render(f, app)).unwrap();
    t
}

/// The screen's text, one line per row.
pub fn screen_text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

/// Draws and returns the text at once.
pub fn screen(app: &mut App, w: u16, h: u16) -> String {
    screen_text(&draw(app, w, h))
}

/// The runs of a finished sweep `id` of E1 over d = 4, 6 and lr = 0.1, 0.5 with seeds 0 and
/// 1 (eight runs, oldest first), each with a test-accuracy curve and its summary (the d = 4
/// runs reach 0.99, the d = 6 runs do not); and what the lab knows of the sweep from its
/// record.
pub fn sweep_runs(id: &str) -> (Vec<RunState>, super::model::run_tree::SweepInfo) {
    use crate::engine::Status;
    use crate::experiments::ctx::Summary;
    let mut runs = Vec::new();
    for (d, lr) in [(4, "0.1"), (4, "0.5"), (6, "0.1"), (6, "0.5")] {
        for seed in 0..2u64 {
            let params =
                crate::experiments::params_with("E1", &[("d", &d.to_string()), ("lr", lr)])
                    .unwrap();
            let mut s = RunState::new(&format!("{id}-{d}-{lr}-{seed}"), "E1", "sweep", params);
            s.status = Status::Finished;
            s.seed = Some(seed);
            s.sweep = Some(id.to_string());
            // a slower climb for the larger d, a spread over the seeds
            let rate = if d == 4 { 0.004 } else { 0.0015 } * (1.0 + 0.3 * seed as f64);
            let mut last = 0.5;
            let mut first_99 = None;
            for i in 0..=50u64 {
                last = (0.5 + 0.5 * (1.0 - (-rate * (i * 20) as f64).exp())).min(1.0);
                if last >= 0.99 && first_99.is_none() {
                    first_99 = Some(i * 20);
                }
                s.apply(&crate::engine::Event::Metric {
                    step: i * 20,
                    name: "test_accuracy".into(),
                    value: last,
                });
            }
            s.step = 1000;
            s.total = 1000;
            // E1's summary: its results, a derived parameter and a property of the draw; at
            // d = 4 both seeds reach 0.99, at d = 6 neither does (0 of 2)
            let mut summary = Summary::default();
            summary
                .set("test_accuracy", last)
                .set("best_accuracy", last)
                .set("width", 10.0 * d as f64)
                .set("subset_size", 2.0 + seed as f64);
            if let Some(step) = first_99 {
                summary.set("steps_to_0.99", step as f64);
            }
            s.summary = Some(summary);
            runs.push(s);
        }
    }
    let info = super::model::run_tree::SweepInfo {
        title: "sweep".into(),
        axes: vec!["d".into(), "lr".into()],
        total: runs.len(),
        runs: runs.iter().map(|r| r.id.clone()).collect(),
        ..Default::default()
    };
    (runs, info)
}

/// A run of `exp` (its parameters the defaults with `overrides`), titled `title`, whose
/// metrics are `points` (name, step, value), finished at its last step, as the lab sees one
/// it trained: started, metrics, progress, finished.
pub fn finished_run(
    id: &str,
    exp: &str,
    title: &str,
    overrides: &[(&str, &str)],
    points: &[(&str, u64, f64)],
) -> RunState {
    use crate::engine::Event;
    let params = crate::experiments::params_with(exp, overrides).unwrap();
    let mut s = RunState::new(id, exp, title, params.clone());
    s.apply(&Event::Started {
        experiment: exp.into(),
        title: title.into(),
        params,
        seed: 0,
        dir: PathBuf::from(format!("/nonexistent/{id}")),
    });
    let last = points.iter().map(|p| p.1).max().unwrap_or(0);
    for (name, step, value) in points {
        s.apply(&Event::Metric {
            step: *step,
            name: name.to_string(),
            value: *value,
        });
    }
    s.apply(&Event::Progress {
        step: last,
        total: last,
        steps_per_sec: 0.0,
    });
    s.apply(&Event::Finished {
        summary: crate::experiments::ctx::Summary::default(),
        elapsed_s: 1.0,
    });
    s
}
