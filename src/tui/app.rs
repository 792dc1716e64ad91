//! The lab's state and every change to it: keys in, worker events in, state out. Drawing is a
//! separate, pure function of this state (see `view`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::engine::pool::{Pool, PoolUpdate};
use crate::engine::{Command, Event, Owner, RunEvent, RunState, Status};

use super::chart::{log_by_default, Look};
use super::editor::{self, Change, Editor, TextInput};
use super::keys::Context;
use super::log;
use super::runs::Runs;
use super::theme::Theme;
use super::tree::{Node, Scenarios};

/// The panes of the main screen, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Scenarios,
    Params,
    Runs,
    Chart,
}

impl Pane {
    const ORDER: [Pane; 4] = [Pane::Scenarios, Pane::Params, Pane::Runs, Pane::Chart];

    fn step(self, d: isize) -> Pane {
        let i = Self::ORDER.iter().position(|p| *p == self).unwrap_or(0) as isize;
        Self::ORDER[(i + d).rem_euclid(Self::ORDER.len() as isize) as usize]
    }
}

/// What fills the screen below the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Main,
    Compare,
    Figure,
}

/// A box on top of the screen that takes the keys until it closes.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help { scroll: usize },
    ConfirmQuit,
    ConfirmDelete(usize),
    SaveAs(TextInput),
}

/// A line of feedback in the header; errors stay longer.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub error: bool,
    pub at: Instant,
}

impl Message {
    fn lifetime(&self) -> Duration {
        Duration::from_secs(if self.error { 10 } else { 5 })
    }
}

/// The chart's choices: which metric, log scale per metric, smoothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartState {
    /// The metric asked for; a run without it shows its main metric.
    pub metric: Option<String>,
    pub log_override: HashMap<String, bool>,
    pub smooth: bool,
}

impl ChartState {
    pub fn look(&self, metric: &str) -> Look {
        Look {
            log_y: self
                .log_override
                .get(metric)
                .copied()
                .unwrap_or_else(|| log_by_default(metric)),
            smooth: self.smooth,
        }
    }
}

/// The comparison's runs and layout.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompareState {
    pub nums: Vec<usize>,
    pub side_by_side: bool,
    pub metric: Option<String>,
    pub scroll: usize,
}

/// Settings the lab starts with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub theme: Theme,
    /// Shown in the header (e.g. "cpu").
    pub device: String,
    pub runs_dir: PathBuf,
}

pub struct App {
    pub scenarios: Scenarios,
    pub editor: Editor,
    pub runs: Runs,
    pub pool: Pool,
    events: Receiver<RunEvent>,
    pub focus: Pane,
    pub screen: Screen,
    pub overlay: Option<Overlay>,
    pub chart: ChartState,
    pub compare: CompareState,
    /// The figure shown; `None` follows the latest one as new ones arrive.
    pub figure_index: Option<usize>,
    pub message: Option<Message>,
    pub settings: Settings,
    quit: bool,
    /// When runs trained elsewhere are read again, and the runs folder scanned for new runs.
    next_follow: Instant,
    next_scan: Instant,
    /// Folders of the runs folder that could not be read (reported once each).
    unreadable: HashSet<String>,
}

/// How often runs trained by other processes are read again.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(1);
/// How often the runs folder is scanned for runs that other processes started.
pub const SCAN_EVERY: Duration = Duration::from_secs(2);

/// At most this many events are applied per loop turn, so keys stay responsive under floods.
const MAX_EVENTS_PER_TURN: usize = 200_000;

impl App {
    pub fn new(
        scenarios: Scenarios,
        runs: Runs,
        pool: Pool,
        events: Receiver<RunEvent>,
        settings: Settings,
    ) -> Self {
        Self {
            scenarios,
            editor: Editor::default(),
            runs,
            pool,
            events,
            focus: Pane::Scenarios,
            screen: Screen::Main,
            overlay: None,
            chart: ChartState::default(),
            compare: CompareState::default(),
            figure_index: None,
            message: None,
            settings,
            quit: false,
            next_follow: Instant::now() + FOLLOW_EVERY,
            next_scan: Instant::now() + SCAN_EVERY,
            unreadable: HashSet::new(),
        }
    }

    /// True once the user chose to quit (the caller stops the runs and leaves).
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn say(&mut self, text: impl Into<String>) {
        let text = text.into();
        log::line(&text);
        self.message = Some(Message {
            text,
            error: false,
            at: Instant::now(),
        });
    }

    pub fn error(&mut self, text: impl Into<String>) {
        let text = text.into();
        log::line(&format!("error: {text}"));
        self.message = Some(Message {
            text,
            error: true,
            at: Instant::now(),
        });
    }

    /// Where the keys go now (for hints and help).
    pub fn context(&self) -> Context {
        match &self.overlay {
            Some(Overlay::Help { .. }) => return Context::Help,
            Some(Overlay::ConfirmQuit | Overlay::ConfirmDelete(_)) => return Context::Confirm,
            Some(Overlay::SaveAs(_)) => return Context::SaveAs,
            None => {}
        }
        match self.screen {
            Screen::Compare => Context::Compare,
            Screen::Figure => Context::Figure,
            Screen::Main => match self.focus {
                Pane::Scenarios => Context::Scenarios,
                Pane::Params if self.editor.input.is_some() => Context::Editing,
                Pane::Params => Context::Params,
                Pane::Runs => Context::Runs,
                Pane::Chart => Context::Chart,
            },
        }
    }

    // ---------------------------------------------------------------------------------------
    // workers

    /// Applies pending worker events and scheduler changes without blocking. Returns true if
    /// anything visible changed.
    pub fn update_from_workers(&mut self) -> bool {
        let mut changed = self.drain_events();
        let updates = self.pool.pump();
        changed |= !updates.is_empty();
        let mut ended = Vec::new();
        for u in updates {
            match u {
                PoolUpdate::Launched { ticket, id } => {
                    if let Some(n) = self.runs.launched(ticket, &id) {
                        log::line(&format!("run #{n} started as {id}"));
                    }
                }
                PoolUpdate::LaunchFailed { ticket, reason } => {
                    if let Some(n) = self.runs.launch_failed(ticket, &reason) {
                        self.error(format!("run #{n} could not start: {reason}"));
                    }
                }
                PoolUpdate::Ended { id } => ended.push(id),
            }
        }
        if !ended.is_empty() {
            // a run's last event is sent before its thread ends: collect it first
            self.drain_events();
            for id in ended {
                self.runs.ended(&id);
            }
        }
        let now = Instant::now();
        if now >= self.next_follow {
            self.next_follow = now + FOLLOW_EVERY;
            changed |= self.follow_others();
        }
        if now >= self.next_scan {
            self.next_scan = now + SCAN_EVERY;
            changed |= self.scan_runs_dir();
        }
        if let Some(m) = &self.message {
            if m.at.elapsed() >= m.lifetime() {
                self.message = None;
                changed = true;
            }
        }
        changed
    }

    /// Reads again the runs that other processes train (new lines of their files, and
    /// whether they ended). Returns true if anything changed.
    pub fn follow_others(&mut self) -> bool {
        let mut changed = false;
        let mut ended = Vec::new();
        for r in self.runs.rows.iter_mut().filter(|r| r.state.is_elsewhere()) {
            if r.state.refresh() {
                changed = true;
                if !r.state.is_elsewhere() {
                    ended.push((r.num, r.state.status, r.state.step));
                }
            }
        }
        for (num, status, step) in ended {
            let text = match status {
                Status::Interrupted => {
                    format!("run #{num} was cut off at step {step}: its process ended")
                }
                s => format!("run #{num} {} (in another process)", s.label()),
            };
            if matches!(
                status,
                Status::Diverged | Status::Failed | Status::Interrupted
            ) {
                self.error(text);
            } else {
                self.say(text);
            }
        }
        changed
    }

    /// Adds the runs that other processes started in the runs folder since the last look.
    /// Runs of this lab are known by their folder name and never read from disk. Returns
    /// true if any was added.
    pub fn scan_runs_dir(&mut self) -> bool {
        let Ok(entries) = std::fs::read_dir(&self.settings.runs_dir) else {
            return false;
        };
        let mut found: Vec<(String, PathBuf)> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
            .filter(|(name, _)| !self.runs.knows_dir(name))
            .collect();
        // folder names start with the time: oldest first, as at start
        found.sort();
        let mut added = 0;
        for (name, dir) in found {
            if Owner::read(&dir).is_some_and(|o| o.is_current()) {
                // this lab's own run, whose launch has not been seen yet
                continue;
            }
            match RunState::load(&dir) {
                Ok(state) => {
                    let status = state.status;
                    let num = self.runs.add_saved(state);
                    self.unreadable.remove(&name);
                    log::line(&format!(
                        "run #{num} found in {}: {name} ({})",
                        self.settings.runs_dir.display(),
                        status.label()
                    ));
                    added += 1;
                }
                Err(e) => {
                    // a folder being made (no spec.toml yet) is tried again next time
                    if self.unreadable.insert(name) {
                        log::line(&format!("run folder not read (yet): {e}"));
                    }
                }
            }
        }
        added > 0
    }

    fn drain_events(&mut self) -> bool {
        let mut n = 0;
        while n < MAX_EVENTS_PER_TURN {
            match self.events.try_recv() {
                Ok(ev) => {
                    self.on_event(&ev);
                    n += 1;
                }
                Err(_) => break,
            }
        }
        n > 0
    }

    /// Applies one worker event.
    pub fn on_event(&mut self, ev: &RunEvent) {
        let Some(num) = self.runs.apply(ev) else {
            return;
        };
        let text = match &ev.event {
            Event::Finished { elapsed_s, .. } => {
                Some(format!("run #{num} finished in {elapsed_s:.1} s"))
            }
            Event::Stopped { step } => Some(format!("run #{num} stopped at step {step}")),
            Event::Diverged { step, reason } => {
                Some(format!("run #{num} diverged at step {step}: {reason}"))
            }
            Event::Failed { reason } => Some(format!("run #{num} failed: {reason}")),
            _ => None,
        };
        if let Some(t) = text {
            if matches!(ev.event, Event::Diverged { .. } | Event::Failed { .. }) {
                self.error(t);
            } else {
                self.say(t);
            }
        }
    }

    /// The next moment something changes without an event (a message expiring).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.message.as_ref().map(|m| m.at + m.lifetime())
    }

    // ---------------------------------------------------------------------------------------
    // keys

    /// Applies one key press.
    pub fn handle_key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl
            && key.code == KeyCode::Char('c')
            && !matches!(self.overlay, Some(Overlay::ConfirmQuit))
        {
            self.ask_quit();
            return;
        }
        if let Some(o) = self.overlay.take() {
            self.overlay_key(o, key);
            return;
        }
        match self.screen {
            Screen::Compare => self.compare_key(key),
            Screen::Figure => self.figure_key(key),
            Screen::Main => {
                if self.focus == Pane::Params && self.editor.input.is_some() {
                    self.typing_key(key);
                } else {
                    self.main_key(key);
                }
            }
        }
    }

    fn ask_quit(&mut self) {
        if self.runs.active() > 0 || self.pool.is_busy() {
            self.overlay = Some(Overlay::ConfirmQuit);
        } else {
            self.quit = true;
        }
    }

    fn overlay_key(&mut self, o: Overlay, key: KeyEvent) {
        match o {
            Overlay::Help { scroll } => match key.code {
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter => {}
                KeyCode::Down | KeyCode::Char('j') => {
                    self.overlay = Some(Overlay::Help { scroll: scroll + 1 })
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    self.overlay = Some(Overlay::Help {
                        scroll: scroll.saturating_sub(1),
                    })
                }
                KeyCode::PageDown | KeyCode::Char(' ') => {
                    self.overlay = Some(Overlay::Help {
                        scroll: scroll + 10,
                    })
                }
                KeyCode::PageUp => {
                    self.overlay = Some(Overlay::Help {
                        scroll: scroll.saturating_sub(10),
                    })
                }
                KeyCode::Home | KeyCode::Char('g') => {
                    self.overlay = Some(Overlay::Help { scroll: 0 })
                }
                _ => self.overlay = Some(Overlay::Help { scroll }),
            },
            Overlay::ConfirmQuit => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => self.quit = true,
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {}
                _ => self.overlay = Some(o),
            },
            Overlay::ConfirmDelete(num) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => self.delete_run(num),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {}
                _ => self.overlay = Some(o),
            },
            Overlay::SaveAs(mut input) => match key.code {
                KeyCode::Esc => {}
                KeyCode::Enter => {
                    if !self.save_as(&input.text) {
                        self.overlay = Some(Overlay::SaveAs(input));
                    }
                }
                _ => {
                    edit_text(&mut input, key);
                    self.overlay = Some(Overlay::SaveAs(input));
                }
            },
        }
    }

    /// Keys that do the same in every pane of the main screen.
    fn global_key(&mut self, key: KeyEvent) -> bool {
        match key.code {
            KeyCode::Tab => self.focus = self.focus.step(1),
            KeyCode::BackTab => self.focus = self.focus.step(-1),
            KeyCode::Char('?') => self.overlay = Some(Overlay::Help { scroll: 0 }),
            KeyCode::Char('q') => self.ask_quit(),
            KeyCode::Char('c') => self.open_compare(),
            KeyCode::Char('f') => self.open_figure(),
            KeyCode::Char('m') => self.cycle_metric(1),
            KeyCode::Char('M') => self.cycle_metric(-1),
            KeyCode::Char('y') => self.toggle_log(),
            KeyCode::Char('s') => self.chart.smooth = !self.chart.smooth,
            _ => return false,
        }
        true
    }

    fn main_key(&mut self, key: KeyEvent) {
        let handled = match self.focus {
            Pane::Scenarios => self.scenarios_key(key),
            Pane::Params => self.params_key(key),
            Pane::Runs => self.runs_key(key),
            Pane::Chart => self.chart_key(key),
        };
        if !handled {
            self.global_key(key);
        }
    }

    fn scenarios_key(&mut self, key: KeyEvent) -> bool {
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.scenarios.move_by(-1),
            KeyCode::Down | KeyCode::Char('j') => self.scenarios.move_by(1),
            KeyCode::PageUp => self.scenarios.move_by(-10),
            KeyCode::PageDown => self.scenarios.move_by(10),
            KeyCode::Home | KeyCode::Char('g') => self.scenarios.select_first(),
            KeyCode::End | KeyCode::Char('G') => self.scenarios.select_last(),
            KeyCode::Left | KeyCode::Char('h') => self.scenarios.collapse(),
            KeyCode::Right | KeyCode::Char('l') => self.scenarios.expand(),
            KeyCode::Enter => {
                if !self.scenarios.toggle() {
                    self.start_selected();
                }
            }
            KeyCode::Char('r') => self.start_selected(),
            KeyCode::Char('e') => {
                if self.scenarios.current().is_some() {
                    self.focus = Pane::Params;
                } else {
                    self.error("select a scenario to edit (a row under an experiment)");
                }
            }
            _ => return false,
        }
        self.editor.input = None;
        if let Some(e) = self.scenarios.current() {
            let s = e.current.clone();
            self.editor.clamp(&s);
        }
        true
    }

    fn params_key(&mut self, key: KeyEvent) -> bool {
        let dir = self.scenarios.dir.clone();
        let Some(entry) = self.scenarios.current_mut() else {
            // an experiment or family row: nothing to edit
            return match key.code {
                KeyCode::Esc => {
                    self.focus = Pane::Scenarios;
                    true
                }
                _ => false,
            };
        };
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.editor.move_by(-1, &entry.current),
            KeyCode::Down | KeyCode::Char('j') => self.editor.move_by(1, &entry.current),
            KeyCode::Home | KeyCode::Char('g') => self.editor.row = 0,
            KeyCode::End | KeyCode::Char('G') => self.editor.move_by(1000, &entry.current),
            KeyCode::Enter | KeyCode::Char('e') => self.editor.begin(&entry.current),
            KeyCode::Left | KeyCode::Char('h') => {
                self.editor.adjust(&mut entry.current, -1);
            }
            KeyCode::Right | KeyCode::Char('l') => {
                self.editor.adjust(&mut entry.current, 1);
            }
            KeyCode::Char('d') => {
                let original = entry.original.clone();
                if self.editor.reset(&mut entry.current, &original) == Change::Value {
                    let f = self
                        .editor
                        .selected_field(&entry.current)
                        .map(|f| f.name().to_string())
                        .unwrap_or_default();
                    self.say(format!("{f} reset to its default"));
                }
            }
            KeyCode::Char('w') => {
                let name = editor::suggest_file_name(
                    &dir,
                    entry.path.as_deref(),
                    &entry.current,
                    &entry.original,
                );
                self.overlay = Some(Overlay::SaveAs(TextInput::new(&name)));
            }
            KeyCode::Char('r') => self.start_selected(),
            KeyCode::Esc => self.focus = Pane::Scenarios,
            _ => return false,
        }
        true
    }

    fn typing_key(&mut self, key: KeyEvent) {
        let Some(entry) = self.scenarios.current_mut() else {
            self.editor.input = None;
            return;
        };
        match key.code {
            KeyCode::Esc => self.editor.cancel(),
            KeyCode::Enter => {
                if let Err(m) = self.editor.commit(&mut entry.current) {
                    // the message is on screen under the field already; keep the field open
                    log::line(&format!("refused value: {m}"));
                }
            }
            _ => {
                if let Some(input) = self.editor.input.as_mut() {
                    edit_text(input, key);
                }
            }
        }
    }

    fn runs_key(&mut self, key: KeyEvent) -> bool {
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.runs.move_by(-1),
            KeyCode::Down | KeyCode::Char('j') => self.runs.move_by(1),
            KeyCode::PageUp => self.runs.move_by(-10),
            KeyCode::PageDown => self.runs.move_by(10),
            KeyCode::Home | KeyCode::Char('g') => self.runs.select_first(),
            KeyCode::End | KeyCode::Char('G') => self.runs.select_last(),
            KeyCode::Char(' ') => {
                if let Some(r) = self.runs.selected_row_mut() {
                    r.marked = !r.marked;
                }
            }
            KeyCode::Char('u') => {
                for r in &mut self.runs.rows {
                    r.marked = false;
                }
            }
            KeyCode::Char('p') => self.pause_resume(),
            KeyCode::Char('x') => self.stop_selected(),
            KeyCode::Char('r') => self.rerun_selected(),
            KeyCode::Char('D') | KeyCode::Delete => self.ask_delete(),
            KeyCode::Enter => self.focus = Pane::Chart,
            _ => return false,
        }
        true
    }

    fn chart_key(&mut self, key: KeyEvent) -> bool {
        match key.code {
            KeyCode::Right | KeyCode::Char('l') => self.cycle_metric(1),
            KeyCode::Left | KeyCode::Char('h') => self.cycle_metric(-1),
            KeyCode::Up | KeyCode::Char('k') => self.runs.move_by(-1),
            KeyCode::Down | KeyCode::Char('j') => self.runs.move_by(1),
            KeyCode::Esc => self.focus = Pane::Runs,
            _ => return false,
        }
        true
    }

    fn compare_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Esc | KeyCode::Char('c') => self.screen = Screen::Main,
            KeyCode::Char('q') => self.ask_quit(),
            KeyCode::Char('?') => self.overlay = Some(Overlay::Help { scroll: 0 }),
            KeyCode::Char('v') => self.compare.side_by_side = !self.compare.side_by_side,
            KeyCode::Char('m') | KeyCode::Right | KeyCode::Char('l') => self.cycle_compare(1),
            KeyCode::Char('M') | KeyCode::Left | KeyCode::Char('h') => self.cycle_compare(-1),
            KeyCode::Char('y') => {
                if let Some(m) = self.compare_metric() {
                    let now = self.chart.look(&m).log_y;
                    self.chart.log_override.insert(m, !now);
                }
            }
            KeyCode::Char('s') => self.chart.smooth = !self.chart.smooth,
            KeyCode::Down | KeyCode::Char('j') => self.compare.scroll += 1,
            KeyCode::Up | KeyCode::Char('k') => {
                self.compare.scroll = self.compare.scroll.saturating_sub(1)
            }
            _ => {}
        }
    }

    fn figure_key(&mut self, key: KeyEvent) {
        let n = self
            .runs
            .selected_row()
            .map(|r| r.state.figures.len())
            .unwrap_or(0);
        match key.code {
            KeyCode::Esc | KeyCode::Char('f') => self.screen = Screen::Main,
            KeyCode::Char('q') => self.ask_quit(),
            KeyCode::Char('?') => self.overlay = Some(Overlay::Help { scroll: 0 }),
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Tab if n > 0 => {
                let i = self.figure_index.unwrap_or(n - 1);
                self.figure_index = Some((i + 1) % n).filter(|&i| i != n - 1);
            }
            KeyCode::Left | KeyCode::Char('h') | KeyCode::BackTab if n > 0 => {
                let i = self.figure_index.unwrap_or(n - 1);
                self.figure_index = Some((i + n - 1) % n).filter(|&i| i != n - 1);
            }
            _ => {}
        }
    }

    // ---------------------------------------------------------------------------------------
    // actions

    /// Queues a run of the selected scenario (as edited).
    pub fn start_selected(&mut self) {
        let Some(entry) = self.scenarios.current() else {
            let msg = match self.scenarios.selected {
                Node::Broken(i) => format!(
                    "this file has an error: {}",
                    self.scenarios
                        .broken
                        .get(i)
                        .map(|b| b.error.as_str())
                        .unwrap_or("")
                ),
                _ => "select a scenario to start (a row under an experiment)".into(),
            };
            self.error(msg);
            return;
        };
        let scenario = entry.current.clone();
        if let Err(e) = editor::cross_check(&scenario) {
            self.error(format!("cannot start: {e}"));
            return;
        }
        self.submit(scenario);
    }

    fn submit(&mut self, scenario: crate::spec::Scenario) {
        let waiting = self.pool.running() + self.pool.queued() >= self.pool.limit();
        let ticket = self.pool.submit(scenario.clone());
        let num = self.runs.add_queued(ticket, &scenario);
        self.runs.selected = Some(num);
        if waiting {
            self.say(format!(
                "run #{num} queued (limit {} at once)",
                self.pool.limit()
            ));
        } else {
            self.say(format!("run #{num} started: {}", scenario.title));
        }
    }

    fn rerun_selected(&mut self) {
        let Some(r) = self.runs.selected_row() else {
            return;
        };
        let s = r.to_scenario();
        if let Err(e) = crate::engine::validate(&s) {
            self.error(format!("cannot run #{} again: {e}", r.num));
            return;
        }
        self.submit(s);
    }

    fn pause_resume(&mut self) {
        let Some(r) = self.runs.selected_row() else {
            return;
        };
        if let Some(note) = r.elsewhere_note() {
            self.error(note);
            return;
        }
        let (num, id, status) = (r.num, r.state.id.clone(), r.state.status);
        let cmd = match status {
            Status::Running => Command::Pause,
            Status::Paused => Command::Resume,
            Status::Queued => {
                self.error(format!("run #{num} has not started yet"));
                return;
            }
            _ => {
                self.error(format!("run #{num} is not running"));
                return;
            }
        };
        if self.pool.send(&id, cmd) {
            self.say(format!(
                "run #{num} {}",
                if cmd == Command::Pause {
                    "pausing"
                } else {
                    "resuming"
                }
            ));
        }
    }

    fn stop_selected(&mut self) {
        let Some(r) = self.runs.selected_row() else {
            return;
        };
        if let Some(note) = r.elsewhere_note() {
            self.error(note);
            return;
        }
        let (num, id, ticket, status) = (r.num, r.state.id.clone(), r.ticket, r.state.status);
        match (status, ticket) {
            (Status::Queued, Some(t)) => {
                if self.pool.cancel(t) {
                    self.runs.remove(num);
                    self.say(format!("queued run #{num} dropped"));
                }
            }
            (Status::Running | Status::Paused, _) => {
                if self.pool.send(&id, Command::Stop) {
                    self.say(format!("stopping run #{num}"));
                }
            }
            _ => self.error(format!("run #{num} is not running")),
        }
    }

    fn ask_delete(&mut self) {
        let Some(r) = self.runs.selected_row() else {
            return;
        };
        if let Some(note) = r.elsewhere_note() {
            self.error(format!("{note} first"));
        } else if r.is_active() {
            self.error(format!("run #{} is active: stop it first (x)", r.num));
        } else {
            self.overlay = Some(Overlay::ConfirmDelete(r.num));
        }
    }

    fn delete_run(&mut self, num: usize) {
        let Some(r) = self.runs.get(num) else { return };
        if let Some(note) = r.elsewhere_note() {
            self.error(format!("{note} first"));
            return;
        }
        if r.is_active() {
            self.error(format!("run #{num} is active: stop it first (x)"));
            return;
        }
        if let Some(dir) = r.state.dir.clone() {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    self.error(format!("cannot delete {}: {e}", dir.display()));
                    return;
                }
            }
        }
        self.runs.remove(num);
        self.compare.nums.retain(|n| *n != num);
        self.say(format!("run #{num} deleted"));
    }

    fn save_as(&mut self, name: &str) -> bool {
        let dir = self.scenarios.dir.clone();
        let path = match editor::check_file_name(&dir, name) {
            Ok(p) => p,
            Err(e) => {
                self.error(e);
                return false;
            }
        };
        let Some(entry) = self.scenarios.current() else {
            return true;
        };
        let mut s = entry.current.clone();
        let changes: Vec<String> = entry
            .original
            .params
            .differing(&s.params)
            .iter()
            .map(|k| {
                format!(
                    "{k} = {}",
                    s.params.get(k).map(|v| v.to_string()).unwrap_or_default()
                )
            })
            .collect();
        if !changes.is_empty() {
            s.title = format!("{} ({})", s.title, changes.join(", "));
        }
        s.source = Some(path.display().to_string());
        let written =
            std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, s.to_toml()));
        match written {
            Ok(()) => {
                // the edits now live in the new file; the original keeps its values
                if let Some(e) = self.scenarios.current_mut() {
                    e.current = e.original.clone();
                }
                self.scenarios.add(path.clone(), s);
                self.say(format!("saved {}", path.display()));
                true
            }
            Err(e) => {
                self.error(format!("cannot write {}: {e}", path.display()));
                false
            }
        }
    }

    fn open_compare(&mut self) {
        let marked = self.runs.marked();
        if marked.len() < 2 {
            self.error(format!(
                "mark two or more runs with Space in the runs pane to compare them ({} marked)",
                marked.len()
            ));
            return;
        }
        self.compare.nums = marked;
        self.compare.scroll = 0;
        if self.compare_metric().is_none() {
            self.compare.metric = None;
        }
        self.screen = Screen::Compare;
    }

    fn open_figure(&mut self) {
        let Some(r) = self.runs.selected_row_mut() else {
            self.error("no run selected");
            return;
        };
        if !r.figures_loaded {
            if r.state.figures.is_empty() {
                r.state.load_figures();
            }
            r.figures_loaded = true;
        }
        self.figure_index = None;
        self.screen = Screen::Figure;
    }

    /// The metric the chart shows for the selected run.
    pub fn chart_metric(&self) -> Option<String> {
        let r = self.runs.selected_row()?;
        match &self.chart.metric {
            Some(m) if r.state.metrics.contains_key(m) => Some(m.clone()),
            _ => r.main_metric().map(str::to_string),
        }
    }

    fn cycle_metric(&mut self, d: isize) {
        let Some(r) = self.runs.selected_row() else {
            return;
        };
        let names: Vec<String> = r.metric_names().into_iter().map(str::to_string).collect();
        if names.is_empty() {
            return;
        }
        let cur = self.chart_metric();
        let i = cur
            .and_then(|c| names.iter().position(|n| *n == c))
            .unwrap_or(0) as isize;
        let n = names.len() as isize;
        self.chart.metric = Some(names[(i + d).rem_euclid(n) as usize].clone());
    }

    fn toggle_log(&mut self) {
        if let Some(m) = self.chart_metric() {
            let now = self.chart.look(&m).log_y;
            self.chart.log_override.insert(m, !now);
        }
    }

    /// Every metric of the compared runs, the first run's main metric first.
    pub fn compare_metrics(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in &self.compare.nums {
            if let Some(r) = self.runs.get(*n) {
                for m in r.metric_names() {
                    if !out.iter().any(|o| o == m) {
                        out.push(m.to_string());
                    }
                }
            }
        }
        out
    }

    pub fn compare_metric(&self) -> Option<String> {
        let all = self.compare_metrics();
        match &self.compare.metric {
            Some(m) if all.contains(m) => Some(m.clone()),
            _ => all.into_iter().next(),
        }
    }

    fn cycle_compare(&mut self, d: isize) {
        let all = self.compare_metrics();
        if all.is_empty() {
            return;
        }
        let i = self
            .compare_metric()
            .and_then(|c| all.iter().position(|n| *n == c))
            .unwrap_or(0) as isize;
        self.compare.metric = Some(all[(i + d).rem_euclid(all.len() as isize) as usize].clone());
    }
}

/// Applies an editing key to a line of text.
fn edit_text(input: &mut TextInput, key: KeyEvent) {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('u') if ctrl => input.clear(),
        KeyCode::Char('a') if ctrl => input.home(),
        KeyCode::Char('e') if ctrl => input.end(),
        KeyCode::Char(c) if !ctrl => input.insert(c),
        KeyCode::Backspace => input.backspace(),
        KeyCode::Delete => input.delete(),
        KeyCode::Left => input.left(),
        KeyCode::Right => input.right(),
        KeyCode::Home => input.home(),
        KeyCode::End => input.end(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::pool::{Job, Launcher};
    use crate::experiments::ctx::Summary;
    use crate::spec::Value;
    use crate::tui::theme::ChartMarker;
    use crate::tui::tree::Entry;
    use crossbeam_channel::Sender;
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    type Commands = Arc<Mutex<Vec<(String, Command)>>>;
    type Dones = Arc<Mutex<Vec<(String, Arc<AtomicBool>)>>>;

    struct FakeJob {
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

    struct Lab {
        app: App,
        events: Sender<RunEvent>,
        commands: Commands,
        done: Dones,
        launched: Arc<Mutex<Vec<crate::spec::Scenario>>>,
        dir: PathBuf,
    }

    impl Drop for Lab {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn press(app: &mut App, code: KeyCode) {
        app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
    }

    fn keys(app: &mut App, text: &str) {
        for c in text.chars() {
            press(app, KeyCode::Char(c));
        }
    }

    const D5: &str = "experiment = \"E1\"\ntitle = \"Random parity, d = 5\"\nseed = 0\n\n[params]\nd = 5\nsteps = 5000\neval_every = 10\n";
    const D10: &str = "experiment = \"E1\"\ntitle = \"Random parity, d = 10\"\nseed = 0\n\n[params]\nd = 10\nsteps = 25000\neval_every = 50\n";

    fn lab(limit: usize, saved: Vec<RunState>) -> Lab {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "fail-lab-app-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let scen = dir.join("scenarios");
        std::fs::create_dir_all(&scen).unwrap();
        std::fs::write(scen.join("e1-parity-d5.toml"), D5).unwrap();
        std::fs::write(scen.join("e1-parity-d10.toml"), D10).unwrap();
        let commands: Commands = Default::default();
        let done: Dones = Default::default();
        let launched: Arc<Mutex<Vec<crate::spec::Scenario>>> = Default::default();
        let (c, d, l) = (commands.clone(), done.clone(), launched.clone());
        let mut n = 0;
        let launcher: Launcher = Box::new(move |s: &crate::spec::Scenario| {
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
                theme: Theme::new(true, ChartMarker::Braille),
                device: "cpu".into(),
                runs_dir: dir.join("runs"),
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

    fn ev(id: &str, event: Event) -> RunEvent {
        RunEvent {
            run: id.into(),
            event,
        }
    }

    #[test]
    fn enter_on_a_scenario_starts_a_run_that_goes_live() {
        let mut l = lab(2, vec![]);
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
        let mut l = lab(1, vec![]);
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
        let mut l = lab(1, vec![]);
        press(&mut l.app, KeyCode::Enter);
        l.app.update_from_workers();
        l.done.lock().unwrap()[0].1.store(true, Ordering::SeqCst);
        l.app.update_from_workers();
        assert_eq!(l.app.runs.rows[0].state.status, Status::Interrupted);
    }

    #[test]
    fn pause_resume_stop_reach_the_selected_run() {
        let mut l = lab(2, vec![]);
        press(&mut l.app, KeyCode::Enter);
        l.app.update_from_workers();
        l.events.send(started("run-1", 5)).unwrap();
        l.app.update_from_workers();
        press(&mut l.app, KeyCode::Tab);
        press(&mut l.app, KeyCode::Tab);
        assert_eq!(l.app.focus, Pane::Runs);
        press(&mut l.app, KeyCode::Char('p'));
        l.events.send(ev("run-1", Event::Paused)).unwrap();
        l.app.update_from_workers();
        assert_eq!(l.app.runs.rows[0].state.status, Status::Paused);
        press(&mut l.app, KeyCode::Char('p'));
        press(&mut l.app, KeyCode::Char('x'));
        let sent: Vec<Command> = l.commands.lock().unwrap().iter().map(|c| c.1).collect();
        assert_eq!(sent, vec![Command::Pause, Command::Resume, Command::Stop]);
    }

    #[test]
    fn x_on_a_queued_run_drops_it() {
        let mut l = lab(1, vec![]);
        press(&mut l.app, KeyCode::Enter);
        press(&mut l.app, KeyCode::Enter);
        l.app.update_from_workers();
        l.app.focus = Pane::Runs;
        assert_eq!(l.app.runs.selected, Some(2));
        press(&mut l.app, KeyCode::Char('x'));
        assert_eq!(l.app.runs.rows.len(), 1);
        assert_eq!(l.app.pool.queued(), 0);
        press(&mut l.app, KeyCode::Char('p'));
        assert!(l.app.message.as_ref().unwrap().text.contains("pausing"));
    }

    #[test]
    fn quitting_asks_while_runs_are_active() {
        let mut l = lab(2, vec![]);
        press(&mut l.app, KeyCode::Char('q'));
        assert!(l.app.should_quit(), "nothing active: q quits at once");

        let mut l = lab(2, vec![]);
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
    }

    #[test]
    fn editing_validates_as_typed_and_applies_only_valid_values() {
        let mut l = lab(2, vec![]);
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
        let mut l = lab(2, vec![]);
        let e = l.app.scenarios.current_mut().unwrap();
        e.current.params.insert("subset_size", Value::Int(9));
        press(&mut l.app, KeyCode::Enter);
        assert!(l.app.runs.rows.is_empty());
        let m = l.app.message.as_ref().unwrap();
        assert!(m.error && m.text.contains("subset_size"), "{}", m.text);
    }

    #[test]
    fn save_as_writes_a_new_scenario_and_selects_it() {
        let mut l = lab(2, vec![]);
        let app = &mut l.app;
        press(app, KeyCode::Char('e'));
        press(app, KeyCode::Down);
        press(app, KeyCode::Right); // d = 6
        press(app, KeyCode::Char('w'));
        let Some(Overlay::SaveAs(input)) = &app.overlay else {
            panic!("no save box: {:?}", app.overlay)
        };
        assert_eq!(input.text, "e1-parity-d5-d6.toml");
        press(app, KeyCode::Enter);
        assert_eq!(app.overlay, None);
        let path = app.scenarios.dir.join("e1-parity-d5-d6.toml");
        let reread = crate::spec::load_scenario(&path, &crate::experiments::Registry).unwrap();
        assert_eq!(reread.params.get("d"), Some(&Value::Int(6)));
        assert_eq!(reread.title, "Random parity, d = 5 (d = 6)");
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
        if let Some(Overlay::SaveAs(input)) = &mut app.overlay {
            input.clear();
            for c in "e1-parity-d5-d6".chars() {
                input.insert(c);
            }
        }
        press(app, KeyCode::Enter);
        assert!(matches!(app.overlay, Some(Overlay::SaveAs(_))));
        assert!(app.message.as_ref().unwrap().text.contains("exists"));
        press(app, KeyCode::Esc);
        assert_eq!(app.overlay, None);
    }

    fn finished(id: &str, d: i64, acc: f64, dir: &Path) -> RunState {
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
        let mut l = lab(
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
        let mut l = lab(2, vec![finished("a", 5, 1.0, &tmp)]);
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
        let l0 = lab(2, vec![]);
        let run_dir = l0.dir.join("runs").join("r1");
        std::fs::create_dir_all(&run_dir).unwrap();
        std::fs::write(run_dir.join("metrics.jsonl"), "").unwrap();
        let mut l = lab(2, vec![finished("r1", 5, 1.0, &run_dir)]);
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
        let mut l = lab(2, vec![]);
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
        let mut l = lab(2, vec![]);
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
        let l0 = lab(2, vec![]);
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
        let mut l = lab(2, vec![finished("f", 5, 1.0, &run_dir)]);
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
        let mut l = lab(2, vec![]);
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
        let mut l = lab(2, vec![]);
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
        assert_eq!(l.app.runs.selected, Some(1));
        // the second folder gets its files (an older run: no owner file)
        foreign_run(&runs_dir, "20240101-000001-e1", None, false);
        assert!(l.app.scan_runs_dir());
        assert_eq!(l.app.runs.rows.len(), 2);
        assert_eq!(l.app.runs.rows[1].state.status, Status::Interrupted);
        assert_eq!(l.app.runs.selected, Some(1), "the selection stays");
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
        let mut l = lab(2, vec![]);
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
}
