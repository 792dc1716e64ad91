//! The lab's state, and the two ways it changes: worker events in, and keys or clicks in.
//!
//! A key goes through the key table ([`keymap::lookup`]) to a command, the command to the
//! pane or screen that owns it (its `on_cmd`), and what that asks for beyond its own state
//! comes back as [`Action`]s that [`App::apply`] carries out. Drawing is a separate, pure
//! function of this state (`view::render`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use crossterm::event::{KeyEvent, KeyEventKind, MouseEvent};
use ratatui::layout::Rect;

use crate::engine::pool::{Pool, PoolUpdate};
use crate::engine::{Event, Owner, RunEvent, RunState, Status};

use super::action::Action;
use super::keymap::{self, Cmd, Context};
use super::log;
use super::model::run_list::Runs;
use super::panes::chart::{self, ChartState};
use super::panes::params::{self, Editor};
use super::panes::runs_table as runs_pane;
use super::panes::scenarios::{self, Scenarios};
use super::panes::Pane;
use super::screens::compare::{self, CompareState};
use super::screens::dialogs::{self, Overlay};
use super::screens::figure::{self, FigureState};
use super::screens::sweep::{self as sweep_screen, SweepScreen};
use super::screens::Screen;
use super::theme::Theme;

/// A line of feedback in the header. It goes at the next key that does something (it was
/// about an earlier one), or after a few seconds; errors stay longer.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub error: bool,
    pub at: Instant,
}

impl Message {
    pub fn lifetime(&self) -> Duration {
        Duration::from_secs(if self.error { 8 } else { 4 })
    }
}

/// Settings the lab starts with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub theme: Theme,
    /// Shown in the header (e.g. "cpu").
    pub device: String,
    pub runs_dir: PathBuf,
    /// The compute threads the lab's runs hold and the machine's cores, for the header.
    pub cores: Option<(crate::engine::pool::Busy, usize)>,
}

pub struct App {
    pub scenarios: Scenarios,
    pub editor: Editor,
    pub runs: Runs,
    pub runs_pane: runs_pane::RunsPane,
    pub pool: Pool,
    events: Receiver<RunEvent>,
    pub focus: Pane,
    /// The focused pane fills the screen.
    pub zoomed: bool,
    pub screen: Screen,
    pub overlay: Option<Overlay>,
    pub chart: ChartState,
    pub compare: CompareState,
    pub figure: FigureState,
    pub sweep_screen: SweepScreen,
    /// The sweeps this lab started or resumed, kept in their records as they go.
    pub sweeps: Vec<crate::sweep::runner::SweepRun>,
    pub message: Option<Message>,
    pub settings: Settings,
    /// The terminal's size as last seen (for clicks and for folding the tree to fit).
    pub area: Rect,
    pub(crate) quit: bool,
    /// When runs trained elsewhere are read again, and the runs folder scanned for new runs.
    pub(crate) next_follow: Instant,
    pub(crate) next_scan: Instant,
    /// When the queue of the Slurm sweeps is asked next (`None`: at the next tick).
    pub(crate) next_queue: Option<Instant>,
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
            runs_pane: Default::default(),
            pool,
            events,
            focus: Pane::Scenarios,
            zoomed: false,
            screen: Screen::Main,
            overlay: None,
            chart: ChartState::default(),
            compare: CompareState::default(),
            figure: FigureState::default(),
            sweep_screen: SweepScreen::default(),
            sweeps: Vec::new(),
            message: None,
            settings,
            area: Rect::default(),
            quit: false,
            next_follow: Instant::now() + FOLLOW_EVERY,
            next_scan: Instant::now() + SCAN_EVERY,
            next_queue: None,
            unreadable: HashSet::new(),
        }
    }

    /// True once the user chose to quit (the caller stops the runs and leaves).
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn say(&mut self, text: impl Into<String>) {
        self.set_message(text.into(), false);
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.set_message(text.into(), true);
    }

    fn set_message(&mut self, text: String, error: bool) {
        if error {
            log::line(&format!("error: {text}"));
        } else {
            log::line(&text);
        }
        self.message = Some(Message {
            text,
            error,
            at: Instant::now(),
        });
    }

    /// The terminal's size changed (or is first known): the tree folds to fit.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.area = Rect::new(0, 0, width, height);
        self.fit_tree();
    }

    /// Folds the scenario tree so that the four families and the selected scenario fit.
    pub fn fit_tree(&mut self) {
        if let Some(h) = super::view::tree_rows(self) {
            self.scenarios.fit(h);
        }
    }

    /// Reads from disk the series of the saved runs the next frame draws: the rows around
    /// the cursor, the selected group's or sweep's runs, the compared ones. Returns true if
    /// any was read.
    pub fn load_shown(&mut self) -> bool {
        // the runs pane shows fewer rows than half the screen's height
        let reach = (self.area.height as usize / 2).max(12);
        let mut nums = self.runs.runs_near_cursor(reach);
        match &self.runs.cursor {
            // the sweep row's chart draws its first groups
            Some(super::model::run_tree::Node::Sweep(id)) => nums.extend(
                self.runs
                    .tree
                    .sweep_groups(id)
                    .into_iter()
                    .take(super::panes::group_chart::MAX_GROUPS)
                    .flat_map(|g| g.members.iter().copied()),
            ),
            Some(node) => nums.extend(self.runs.tree.runs_of(node)),
            None => {}
        }
        if self.screen == Screen::Compare {
            nums.extend(self.compare.nums.iter().copied());
            for key in &self.compare.groups {
                if let Some(g) = self.runs.tree.group(key) {
                    nums.extend(g.members.iter().copied());
                }
            }
        }
        self.runs.load_series(nums)
    }

    /// Where the keys go now (for dispatch, hints and help).
    pub fn context(&self) -> Context {
        match &self.overlay {
            Some(Overlay::Help { .. }) => return Context::Help,
            Some(
                Overlay::ConfirmQuit
                | Overlay::ConfirmDelete(_)
                | Overlay::ConfirmSweep(_)
                | Overlay::ConfirmStop { .. }
                | Overlay::ForkStep(_),
            ) => return Context::Confirm,
            Some(Overlay::SaveAs(_)) => return Context::SaveAs,
            None => {}
        }
        match self.screen {
            Screen::Compare => Context::Compare,
            Screen::Sweep => Context::Sweep,
            Screen::Figure => Context::Figure,
            Screen::Main => match self.focus {
                Pane::Scenarios => Context::Scenarios,
                Pane::Params if self.editor.input.is_some() => Context::Editing,
                Pane::Params => Context::Params,
                Pane::Runs if self.runs_pane.typing.is_some() => Context::Filtering,
                Pane::Runs => Context::Runs,
                Pane::Chart if self.chart.search.is_some() => Context::MetricSearch,
                Pane::Chart => Context::Chart,
            },
        }
    }

    // ---------------------------------------------------------------------------------------
    // keys and clicks

    /// Applies one key press.
    pub fn handle_key(&mut self, key: KeyEvent) {
        for a in self.key_actions(key) {
            self.apply(a);
        }
    }

    /// What one key press does: the pane's own changes are made, the rest is returned.
    pub fn key_actions(&mut self, key: KeyEvent) -> Vec<Action> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let Some((owner, cmd)) = keymap::lookup(self.context(), &key) else {
            return Vec::new();
        };
        // whatever the header said was about an earlier key
        self.message = None;
        let mut out = Vec::new();
        self.dispatch(owner, cmd, &key, &mut out);
        out
    }

    /// Hands a command to the pane or screen whose binding gave it.
    fn dispatch(&mut self, owner: Context, cmd: Cmd, key: &KeyEvent, out: &mut Vec<Action>) {
        let before = self.scenarios.selected;
        if cmd == Cmd::Export {
            out.push(Action::Export);
            return;
        }
        match owner {
            Context::Global | Context::Interrupt => match cmd {
                Cmd::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
                _ => out.push(Action::AskQuit),
            },
            Context::Main => self.main_cmd(cmd, out),
            Context::Scenarios => scenarios::on_cmd(&mut self.scenarios, cmd, out),
            Context::Params => params::on_cmd(&mut self.editor, &mut self.scenarios, cmd, out),
            Context::Editing => params::on_typing(&mut self.editor, &mut self.scenarios, cmd, key),
            Context::Runs => runs_pane::on_cmd(&mut self.runs, &mut self.runs_pane, cmd, out),
            Context::Filtering => {
                runs_pane::on_filter_typing(&mut self.runs, &mut self.runs_pane, cmd, key)
            }
            Context::Chart => chart::on_cmd(&mut self.chart, &mut self.runs, cmd, out),
            Context::MetricSearch => chart::on_search(&mut self.chart, &self.runs, cmd, key),
            Context::Compare => {
                compare::on_cmd(&mut self.compare, &mut self.chart, &self.runs, cmd, out)
            }
            Context::Sweep => {
                sweep_screen::on_cmd(&mut self.sweep_screen, &mut self.runs, cmd, out)
            }
            Context::Figure => {
                let n = self
                    .runs
                    .selected_row()
                    .map_or(0, |r| r.state.figures.len());
                figure::on_cmd(&mut self.figure, n, cmd, out)
            }
            Context::Help | Context::Confirm | Context::SaveAs => {
                if let Some(o) = self.overlay.take() {
                    self.overlay = dialogs::on_cmd(o, cmd, key, out);
                }
            }
        }
        if self.scenarios.selected != before {
            self.scenario_moved(before);
        }
    }

    /// Keys that do the same in every pane of the main screen.
    fn main_cmd(&mut self, cmd: Cmd, out: &mut Vec<Action>) {
        match cmd {
            // a zoomed tree has the whole screen to fold into
            Cmd::NextPane | Cmd::PrevPane => {
                self.focus = self.focus.step(if cmd == Cmd::NextPane { 1 } else { -1 });
                if self.zoomed {
                    self.fit_tree();
                }
            }
            Cmd::Zoom => {
                self.zoomed = !self.zoomed;
                self.fit_tree();
            }
            Cmd::Compare => out.push(Action::OpenCompare),
            Cmd::Figure => out.push(Action::OpenFigure),
            Cmd::NextMetric
            | Cmd::PrevMetric
            | Cmd::LogY
            | Cmd::LogX
            | Cmd::Theory
            | Cmd::Smooth
            | Cmd::Band => chart::on_cmd(&mut self.chart, &mut self.runs, cmd, out),
            _ => {}
        }
    }

    /// The selection moved in the tree: a new scenario's editor starts at its top (or stays
    /// on its row), and the tree folds around the new selection.
    fn scenario_moved(&mut self, before: scenarios::Node) {
        self.editor.input = None;
        if let Some(e) = self.scenarios.current() {
            let s = e.current.clone();
            self.editor.clamp(&s);
        }
        if self.scenarios.branch_of(before) != self.scenarios.branch_of(self.scenarios.selected) {
            self.fit_tree();
        }
    }

    /// Applies one mouse event: a click focuses the pane under it and selects the row; the
    /// wheel scrolls the list under it (or the chart's metrics).
    pub fn handle_mouse(&mut self, ev: MouseEvent) -> bool {
        let before = self.scenarios.selected;
        let changed = super::mouse::handle(self, ev);
        if self.scenarios.selected != before {
            self.scenario_moved(before);
        }
        changed
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
            self.sweeps_on_update(&u);
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
            changed |= self.follow_slurm();
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
            .filter(|(name, _)| {
                !self.runs.knows_dir(name) && !crate::engine::store::is_reserved(name.as_ref())
            })
            .collect();
        // folder names start with the time: oldest first, as at start
        found.sort();
        let mut loaded = Vec::new();
        for (name, dir) in found {
            if Owner::read(&dir).is_some_and(|o| o.is_current()) {
                // this lab's own run, whose launch has not been seen yet
                continue;
            }
            match RunState::load_summary(&dir) {
                Ok(state) => {
                    self.unreadable.remove(&name);
                    loaded.push((name, state));
                }
                Err(e) => {
                    // a folder being made (no spec.toml yet) is tried again next time
                    if self.unreadable.insert(name) {
                        log::line(&format!("run folder not read (yet): {e}"));
                    }
                }
            }
        }
        if loaded.is_empty() {
            return false;
        }
        for (_, state) in &loaded {
            // a run of a sweep started elsewhere: its record tells the sweep's grid
            if let Some(id) = state
                .sweep
                .as_ref()
                .filter(|id| !self.runs.sweeps.contains_key(*id))
            {
                if let Ok(rec) =
                    crate::sweep::record::SweepRecord::load(&self.settings.runs_dir, id)
                {
                    self.runs
                        .sweeps
                        .insert(id.clone(), super::model::run_tree::SweepInfo::of(&rec));
                }
            }
        }
        let labels: Vec<(String, &'static str)> = loaded
            .iter()
            .map(|(name, s)| (name.clone(), s.status.label()))
            .collect();
        let nums = self.runs.add_saved_many(loaded.into_iter().map(|(_, s)| s));
        for (num, (name, status)) in nums.into_iter().zip(labels) {
            log::line(&format!(
                "run #{num} found in {}: {name} ({status})",
                self.settings.runs_dir.display(),
            ));
        }
        true
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
        self.sweeps_on_event(ev);
        let Some(num) = self.runs.apply(ev) else {
            return;
        };
        let text = match &ev.event {
            Event::Finished { elapsed_s, .. } => {
                Some(format!("run #{num} finished in {elapsed_s:.1} s"))
            }
            Event::Stopped { step } => Some(format!("run #{num} stopped at step {step}")),
            // a pause or a resume takes effect between steps: said once it has
            Event::Paused => Some(format!("run #{num} paused")),
            Event::Resumed => Some(format!("run #{num} resumed")),
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
    // what the panes show

    /// The metric the chart shows for the selected run.
    pub fn chart_metric(&self) -> Option<String> {
        self.chart.metric_of(self.runs.selected_row()?)
    }

    pub fn compare_metric(&self) -> Option<String> {
        self.compare.metric_of(&self.runs)
    }
}

mod lab_sweeps;
mod slurm_queue;

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "lab_tests.rs"]
mod lab_tests;

#[cfg(test)]
#[path = "sweep_tests.rs"]
mod sweep_tests;

#[cfg(test)]
#[path = "fit_tests.rs"]
mod fit_tests;

#[cfg(test)]
#[path = "metric_search_tests.rs"]
mod metric_search_tests;

#[cfg(test)]
#[path = "cut_tests.rs"]
mod cut_tests;

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod checkpoint_tests;
