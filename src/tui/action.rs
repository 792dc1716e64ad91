//! What keys and clicks ask the lab to do, as values, and the one place where it is done.
//!
//! A pane's key handler changes only its own state; anything else (starting, stopping or
//! deleting a run, writing a scenario file, reading figures from disk, moving the focus,
//! opening a screen, a message in the header) comes out as an [`Action`] that
//! [`App::apply`] carries out. Neither key handlers nor drawing touch the disk.

use crate::engine::{Command, Status};
use crate::spec::Scenario;

use super::app::App;
use super::panes::params;
use super::panes::Pane;
use super::screens::dialogs::{ForkPick, Overlay, SaveAs};
use super::screens::Screen;

/// One thing to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Queue a run of the selected scenario, as edited.
    StartSelected,
    /// Run #n again with its settings.
    Rerun(usize),
    /// Start run N's settings again with the next seed its group has not used.
    NextSeed(usize),
    /// Pause run #n, or resume it.
    PauseResume(usize),
    /// Stop run #n (or drop it from the queue).
    Stop(usize),
    /// Stop these runs, those that train or wait (a group's, a sweep's).
    StopRuns(Vec<usize>),
    /// Ask before a stop (`Stop` or `StopRuns`): it cannot be undone.
    AskStop(Box<Action>),
    /// Start the sweep the parameters pane describes (asks first when it is large).
    AskSweep,
    /// Start it without asking.
    StartSweep,
    /// Run again the runs of the selected sweep that did not finish.
    ResumeSweep,
    /// Continue stopped run #n from its last checkpoint, in its folder (its sweep's
    /// unfinished runs where the run is not one to continue but belongs to a sweep).
    ResumeRun(usize),
    /// Fork run #n with the editor's parameters: from its latest checkpoint, or, where it
    /// kept others, from the one the user picks in a box.
    ForkRun(usize),
    /// Start a new run from run #n's checkpoint at `step` (`None`: its latest) with the
    /// editor's parameters.
    ForkRunAt {
        num: usize,
        step: Option<u64>,
    },
    OpenSweep,
    /// Ask before deleting run #n.
    AskDelete(usize),
    /// Delete run #n and its folder.
    Delete(usize),
    /// Open the save-as box with a free file name.
    OpenSaveAs,
    /// Check the save-as box's name against the scenarios folder.
    CheckSaveName,
    /// Write the edited scenario to this file name in the scenarios folder.
    SaveScenario(String),
    Focus(Pane),
    OpenCompare,
    OpenFigure,
    CloseScreen,
    AskQuit,
    Quit,
    /// Write what is on screen as SVG and PNG under the runs folder.
    Export,
    Say(String),
    Error(String),
}

/// What a fork of a run needs, checked: see [`App::fork_plan`].
struct ForkPlan {
    dir: std::path::PathBuf,
    sets: Vec<String>,
    child: crate::spec::Scenario,
    /// Whether it has a latest checkpoint (`checkpoint.bin` or the one before).
    has_latest: bool,
    /// The step of the latest checkpoint, where it reads.
    latest: Option<u64>,
    /// The steps of the checkpoints the run kept.
    kept: Vec<u64>,
}

impl App {
    /// Carries out one action.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::StartSelected => self.start_selected(),
            Action::Rerun(num) => self.rerun(num),
            Action::NextSeed(num) => self.next_seed(num),
            Action::PauseResume(num) => self.pause_resume(num),
            Action::Stop(num) => self.stop(num),
            Action::StopRuns(nums) => self.stop_runs(&nums),
            Action::AskStop(stop) => self.ask_stop(*stop),
            Action::AskSweep => self.ask_sweep(),
            Action::StartSweep => self.start_sweep(),
            Action::ResumeSweep => self.resume_sweep(),
            Action::ResumeRun(num) => self.resume_run(num),
            Action::ForkRun(num) => self.ask_fork(num),
            Action::ForkRunAt { num, step } => self.fork_run(num, step),
            Action::OpenSweep => self.open_sweep(),
            Action::AskDelete(num) => self.ask_delete(num),
            Action::Delete(num) => self.delete_run(num),
            Action::OpenSaveAs => self.open_save_as(),
            Action::CheckSaveName => {
                let dir = self.scenarios.dir.clone();
                if let Some(Overlay::SaveAs(b)) = &mut self.overlay {
                    b.verdict = params::check_file_name(&dir, &b.input.text);
                }
            }
            Action::SaveScenario(name) => {
                if !self.save_as(&name) {
                    // the box stays open with its name, and says why
                    self.apply(Action::CheckSaveName);
                }
            }
            Action::Focus(p) => self.focus = p,
            Action::OpenCompare => self.open_compare(),
            Action::OpenFigure => self.open_figure(),
            Action::CloseScreen => self.screen = Screen::Main,
            Action::AskQuit => self.ask_quit(),
            Action::Quit => self.quit = true,
            Action::Export => self.export_screen(),
            Action::Say(t) => self.say(t),
            Action::Error(t) => self.error(t),
        }
    }

    /// Quits, after asking when runs are active or scenarios hold edits not saved.
    fn ask_quit(&mut self) {
        if self.runs.active() > 0 || self.pool.is_busy() || self.scenarios.edited() > 0 {
            self.overlay = Some(Overlay::ConfirmQuit);
        } else {
            self.quit = true;
        }
    }

    /// Asks before `stop` when it would stop or drop anything (a stop cannot be undone);
    /// else carries it out at once, which says why nothing stops.
    fn ask_stop(&mut self, stop: Action) {
        let nums = match &stop {
            Action::Stop(num) => vec![*num],
            Action::StopRuns(nums) => nums.clone(),
            _ => return self.apply(stop),
        };
        let active: Vec<usize> = nums
            .iter()
            .copied()
            .filter(|&n| self.runs.get(n).is_some_and(|r| r.is_active()))
            .collect();
        let what = match (&stop, active.as_slice()) {
            (_, []) => return self.apply(stop),
            (Action::Stop(_), [num]) => {
                let r = self.runs.get(*num).map(|r| r.label()).unwrap_or_default();
                format!("run #{num} ({r})")
            }
            (_, many) => format!("{} runs", many.len()),
        };
        self.overlay = Some(Overlay::ConfirmStop {
            stop: Box::new(stop),
            what,
        });
    }

    /// Queues a run of the selected scenario (as edited).
    fn start_selected(&mut self) {
        let Some(entry) = self.scenarios.current() else {
            let msg = match self.scenarios.broken_selected() {
                Some(b) => format!("this file has an error: {}", b.error),
                None => "select a scenario to start (a row under an experiment)".into(),
            };
            self.error(msg);
            return;
        };
        // checked again here, whatever changed the values
        if let Err(e) = params::cross_check(&entry.current) {
            self.error(format!("cannot start: {e}"));
            return;
        }
        if entry.is_sweep() {
            return self.ask_sweep();
        }
        let scenario = entry.as_run();
        self.submit(scenario);
    }

    fn submit(&mut self, scenario: Scenario) {
        let waiting = self.pool.running() + self.pool.queued() >= self.pool.limit();
        let ticket = self.pool.submit(scenario.clone());
        let num = self.runs.add_queued(ticket, &scenario);
        self.runs.select(num);
        if waiting {
            self.say(format!(
                "run #{num} queued (limit {} at once)",
                self.pool.limit()
            ));
        } else {
            self.say(format!("run #{num} started: {}", scenario.title));
        }
    }

    /// Runs #num again: the same settings and the same seed.
    fn rerun(&mut self, num: usize) {
        let Some(r) = self.runs.get(num) else { return };
        let mut s = r.to_scenario();
        s.seed = r.state.seed.or(s.seed);
        if let Err(e) = crate::engine::validate(&s) {
            self.error(format!("cannot run #{num} again: {e}"));
            return;
        }
        self.submit(s);
    }

    /// Runs #num's settings again with the smallest seed its group has not used, so that
    /// one key turns a run into a group of distinct seeds.
    fn next_seed(&mut self, num: usize) {
        let Some(r) = self.runs.get(num) else { return };
        let mut s = r.to_scenario();
        let members = self
            .runs
            .tree
            .group_of(num)
            .map_or(vec![num], |g| g.members.clone());
        let used: std::collections::BTreeSet<u64> = members
            .iter()
            .filter_map(|&n| self.runs.get(n))
            .flat_map(|m| [m.state.seed, m.scenario.as_ref().and_then(|s| s.seed)])
            .flatten()
            .collect();
        let seed = (0..).find(|k| !used.contains(k)).unwrap_or(0);
        s.seed = Some(seed);
        if let Err(e) = crate::engine::validate(&s) {
            self.error(format!("cannot run #{num} again: {e}"));
            return;
        }
        self.submit(s);
        self.say(format!(
            "seed {seed} started: the group of #{num} now has {} seeds",
            used.len() + 1
        ));
    }

    /// Continues run #num from its last checkpoint in its own folder (from step 0 there when
    /// it has none, which its log says): a run that was stopped, or cut off with the lab
    /// or the process that trained it.
    fn resume_run(&mut self, num: usize) {
        let Some(r) = self.runs.get(num) else { return };
        if let Some(note) = r.elsewhere_note() {
            self.error(note);
            return;
        }
        if r.state.status.is_active() {
            self.error(format!(
                "run #{num} is {}: only a stopped run is resumed",
                r.state.status.label()
            ));
            return;
        }
        let dir = r.state.dir.clone();
        let resumable = dir.as_deref().is_some_and(crate::engine::resume::resumable);
        let Some(dir) = dir.filter(|_| resumable) else {
            if r.state.sweep.is_some() {
                return self.resume_sweep();
            }
            self.error(format!(
                "run #{num} is {}: only a stopped run is resumed (r runs it again from step 0)",
                r.state.status.label()
            ));
            return;
        };
        let mut s = r.to_scenario();
        s.seed = r.state.seed.or(s.seed);
        let ticket = self.pool.submit_resume(s, dir);
        self.runs.requeue(num, ticket);
        self.runs.select(num);
        self.say(format!(
            "run #{num} resuming from its last checkpoint (its log names the step)"
        ));
    }

    /// The fork of run #num as `run --fork RUN --set ...` would start it: its folder, its id,
    /// the `name=value` changes of the editor and the new run's scenario; or the message that
    /// refuses it.
    fn fork_plan(&self, num: usize) -> Result<ForkPlan, String> {
        use crate::engine::{checkpoint, resume};
        let r = self.runs.get(num).ok_or_else(|| format!("no run #{num}"))?;
        let Some(dir) = r.state.dir.clone() else {
            return Err(format!(
                "run #{num} has no folder yet: nothing to fork from"
            ));
        };
        let id = r.state.id.clone();
        let parent = resume::run_scenario(&dir).map_err(|e| format!("--fork {id}: {e}"))?;
        let Some(entry) = self.scenarios.current() else {
            return Err(format!(
                "select a scenario of {}: the editor's parameters are the fork's",
                parent.experiment
            ));
        };
        if entry.current.experiment != parent.experiment {
            return Err(format!(
                "the editor holds {} and run #{num} is {}: select a scenario of {} to fork it",
                entry.current.experiment, parent.experiment, parent.experiment
            ));
        }
        let sets: Vec<String> = parent
            .params
            .differing(&entry.current.params)
            .iter()
            .filter_map(|n| Some(format!("{n}={}", entry.current.params.get(n)?)))
            .collect();
        let mut child = parent.clone();
        for s in &sets {
            child
                .set(s, &crate::experiments::Registry)
                .map_err(|e| format!("--set {s}: {e}"))?;
        }
        crate::engine::validate(&child).and_then(|def| {
            if def.checkpoints {
                resume::check_fork_params(&parent, &child)
            } else {
                Err(format!(
                    "--fork {id}: {} keeps no checkpoints, as it trains nothing: r runs it \
                     again with the editor's values",
                    def.id
                ))
            }
        })?;
        let has_latest = [checkpoint::LATEST, checkpoint::PREVIOUS]
            .iter()
            .any(|n| dir.join(n).is_file());
        let latest = checkpoint::read(&dir.join(checkpoint::LATEST))
            .ok()
            .map(|c| c.header.step);
        let kept = checkpoint::kept_steps(&dir);
        if !has_latest && kept.is_empty() {
            return Err(format!("--fork {id}: run {id} has no checkpoint"));
        }
        Ok(ForkPlan {
            dir,
            sets,
            child,
            has_latest,
            latest,
            kept,
        })
    }

    /// F on run #num: the fork starts at once from the latest checkpoint where the run kept
    /// no other; else a box lists the kept steps and the latest (picked first).
    fn ask_fork(&mut self, num: usize) {
        let plan = match self.fork_plan(num) {
            Ok(p) => p,
            Err(e) => return self.error(e),
        };
        let mut steps: Vec<Option<u64>> = plan
            .kept
            .iter()
            .filter(|&&k| Some(k) != plan.latest)
            .map(|&k| Some(k))
            .collect();
        if plan.has_latest {
            steps.push(None);
        }
        if steps.len() <= 1 {
            return self.fork_run(num, steps.first().copied().flatten());
        }
        self.overlay = Some(Overlay::ForkStep(ForkPick {
            num,
            pick: steps.len() - 1,
            latest: plan.latest,
            steps,
        }));
    }

    /// Starts a new run from run #num's checkpoint at `step` (`None`: the latest), with the
    /// parameters of the editor where they differ from the run's (as `run --fork RUN[@STEP]
    /// --set ...`); parameters a fork cannot change are refused before anything starts, in the
    /// command line's words.
    fn fork_run(&mut self, num: usize, step: Option<u64>) {
        use crate::engine::pool::Start;
        let plan = match self.fork_plan(num) {
            Ok(p) => p,
            Err(e) => return self.error(e),
        };
        let changes = if plan.sets.is_empty() {
            "no parameter changed".to_string()
        } else {
            plan.sets.join(", ")
        };
        let from = match step {
            Some(s) => format!("its checkpoint of step {s}"),
            None => "its latest checkpoint".to_string(),
        };
        let ticket = self.pool.submit_as(
            plan.child.clone(),
            Start::Fork {
                parent: plan.dir,
                step,
                sets: plan.sets,
            },
        );
        let n = self.runs.add_queued(ticket, &plan.child);
        self.runs.select(n);
        self.say(format!("run #{n} forks run #{num} from {from} ({changes})"));
    }

    fn pause_resume(&mut self, num: usize) {
        let Some(r) = self.runs.get(num) else { return };
        if let Some(note) = r.elsewhere_note() {
            self.error(note);
            return;
        }
        let (id, status) = (r.state.id.clone(), r.state.status);
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
            let what = if cmd == Command::Pause {
                "pausing"
            } else {
                "resuming"
            };
            self.say(format!("run #{num} {what}"));
        }
    }

    fn stop(&mut self, num: usize) {
        let Some(r) = self.runs.get(num) else { return };
        let foreign =
            r.state.is_elsewhere() || r.state.status == Status::Queued && r.ticket.is_none();
        if foreign && self.cancel_on_slurm(&crate::tui::model::run_tree::Node::Run(num)) {
            return;
        }
        let Some(r) = self.runs.get(num) else { return };
        if let Some(note) = r.elsewhere_note() {
            self.error(note);
            return;
        }
        let (id, ticket, status) = (r.state.id.clone(), r.ticket, r.state.status);
        match (status, ticket) {
            (Status::Queued, Some(t)) => {
                if self.pool.cancel(t) {
                    self.runs.remove(num);
                    self.sweeps_dropped(&[t]);
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

    /// Stops the runs of a group or a sweep that train, and drops those that wait.
    fn stop_runs(&mut self, nums: &[usize]) {
        let (mut stopping, mut dropped) = (0, Vec::new());
        for &num in nums {
            let Some(r) = self.runs.get(num) else {
                continue;
            };
            let (id, ticket, status) = (r.state.id.clone(), r.ticket, r.state.status);
            match (status, ticket) {
                (Status::Queued, Some(t)) if self.pool.cancel(t) => dropped.push((num, t)),
                (Status::Running | Status::Paused, _) => {
                    stopping += usize::from(self.pool.send(&id, Command::Stop));
                }
                _ => {}
            }
        }
        for (num, _) in &dropped {
            self.runs.remove(*num);
        }
        let tickets: Vec<_> = dropped.iter().map(|d| d.1).collect();
        self.sweeps_dropped(&tickets);
        if stopping + dropped.len() == 0 {
            if let Some(node) = self.runs.cursor.clone() {
                if self.cancel_on_slurm(&node) {
                    return;
                }
            }
            self.error("none of these runs trains or waits here");
        } else {
            self.say(format!(
                "stopping {stopping} runs, {} queued runs dropped",
                dropped.len()
            ));
        }
    }

    /// Why run #n cannot be deleted now, if it cannot.
    fn cannot_delete(&self, num: usize) -> Option<String> {
        let r = self.runs.get(num)?;
        if let Some(note) = r.elsewhere_note() {
            Some(format!("{note} first"))
        } else if r.is_active() {
            Some(format!("run #{num} is active: stop it first (x)"))
        } else {
            None
        }
    }

    fn ask_delete(&mut self, num: usize) {
        if self.runs.get(num).is_none() {
            return;
        }
        match self.cannot_delete(num) {
            Some(e) => self.error(e),
            None => self.overlay = Some(Overlay::ConfirmDelete(num)),
        }
    }

    fn delete_run(&mut self, num: usize) {
        let Some(r) = self.runs.get(num) else { return };
        if let Some(e) = self.cannot_delete(num) {
            self.error(e);
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

    fn open_save_as(&mut self) {
        let dir = self.scenarios.dir.clone();
        let Some(entry) = self.scenarios.current() else {
            return;
        };
        let name =
            params::suggest_file_name(&dir, entry.path.as_deref(), &entry.current, &entry.original);
        let verdict = params::check_file_name(&dir, &name);
        self.overlay = Some(Overlay::SaveAs(SaveAs::new(&name, verdict)));
    }

    /// Writes the edited scenario as a new file; false (with a message) if it could not.
    fn save_as(&mut self, name: &str) -> bool {
        let dir = self.scenarios.dir.clone();
        let path = match params::check_file_name(&dir, name) {
            Ok(p) => p,
            Err(e) => {
                self.error(e);
                return false;
            }
        };
        let Some(entry) = self.scenarios.current() else {
            return true;
        };
        let s = params::saved_copy(entry, &path);
        let (text, grid) = (params::saved_text(entry, &s), entry.grid.clone());
        let written = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, text));
        match written {
            Ok(()) => {
                // the edits now live in the new file; the original keeps its values
                if let Some(e) = self.scenarios.current_mut() {
                    e.current = e.original.clone();
                    e.grid = e.saved_grid.clone();
                    e.revalidate();
                }
                self.scenarios.add(path.clone(), s, grid);
                self.overlay = None;
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
        let groups: Vec<String> = self.runs.marked_groups.iter().cloned().collect();
        if marked.len() + groups.len() < 2 {
            self.error(format!(
                "mark two or more runs or groups with Space in the runs pane to compare them \
                 ({} marked)",
                marked.len() + groups.len()
            ));
            return;
        }
        self.compare.open(marked, groups);
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
        self.figure.index = None;
        self.screen = Screen::Figure;
    }
}
