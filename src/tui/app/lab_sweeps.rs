//! Sweeps in the lab: started from the parameters pane (a parameter with a list of values,
//! the seeds field), resumed from the runs table, kept in their records as the headless
//! `fail-lab sweep` keeps them, and read back from the runs folder at start.

use super::App;
use crate::engine::pool::{PoolUpdate, Ticket};
use crate::engine::RunEvent;
use crate::experiments::Registry;
use crate::sweep::grid::Plan;
use crate::sweep::record::SweepRecord;
use crate::sweep::runner::SweepRun;
use crate::tui::model::run_tree::SweepInfo;
use crate::tui::screens::dialogs::Overlay;
use crate::tui::screens::Screen;

/// A sweep of more runs than this asks before it starts.
pub const ASK_ABOVE: usize = 20;

impl App {
    /// The sweep the selected scenario's grid makes, checked point by point.
    fn sweep_plan(&self) -> Result<Plan, String> {
        let entry = self
            .scenarios
            .current()
            .ok_or("select a scenario to start (a row under an experiment)")?;
        Plan::new(entry.as_run(), entry.grid.clone(), Vec::new(), None)
    }

    /// The start key on a scenario with a grid: asks first when the sweep is large.
    pub(crate) fn ask_sweep(&mut self) {
        match self.sweep_plan() {
            Ok(plan) if plan.run_count() > ASK_ABOVE => {
                self.overlay = Some(Overlay::ConfirmSweep(plan.run_count()))
            }
            Ok(_) => self.start_sweep(),
            Err(e) => self.error(format!("cannot start the sweep: {e}")),
        }
    }

    /// Writes the sweep's record and queues every run of it.
    pub(crate) fn start_sweep(&mut self) {
        let plan = match self.sweep_plan() {
            Ok(p) => p,
            Err(e) => return self.error(format!("cannot start the sweep: {e}")),
        };
        let runs_dir = self.settings.runs_dir.clone();
        let record = match SweepRecord::create(&plan, &runs_dir) {
            Ok(r) => r,
            Err(e) => {
                return self.error(format!(
                    "cannot write the sweep's record in {}: {e}",
                    runs_dir.display()
                ))
            }
        };
        let id = record.id.clone();
        self.launch_sweep(record, true);
        self.say(format!(
            "sweep {id} started: {} runs ({} points x {} seeds)",
            plan.run_count(),
            plan.point_count(),
            plan.seeds.len()
        ));
    }

    /// Queues what a sweep's record has not done yet; returns how many runs.
    fn launch_sweep(&mut self, record: SweepRecord, fresh: bool) -> usize {
        let id = record.id.clone();
        let info = SweepInfo::of(&record);
        let mut sweep = match SweepRun::new(record, &self.settings.runs_dir, &Registry) {
            Ok(s) => s,
            Err(e) => {
                self.error(format!("sweep {id}: {e}"));
                return 0;
            }
        };
        if fresh {
            self.runs.add_fresh_sweep(&id, info);
        } else {
            self.runs.sweeps.insert(id.clone(), info);
        }
        let (runs, pool) = (&mut self.runs, &mut self.pool);
        let mut first = None;
        let n = sweep.submit_with(pool, |ticket, scenario| {
            let num = runs.add_queued_to(ticket, scenario, Some(&id));
            first.get_or_insert(num);
        });
        if let Some(e) = sweep.save_error.take() {
            self.error(e);
        }
        self.sweeps.push(sweep);
        let node = crate::tui::model::run_tree::Node::Sweep(id);
        self.runs.set_open(&node, true);
        self.runs.select_node(node);
        n
    }

    /// Runs again what the selected sweep did not finish (after a stop, a crash, a quit).
    pub(crate) fn resume_sweep(&mut self) {
        let Some(id) = self.runs.selected_sweep() else {
            return self.error("select a sweep (or one of its runs) to resume it");
        };
        if self
            .sweeps
            .iter()
            .any(|s| s.record.id == id && s.has_work())
        {
            return self.error(format!("sweep {id} is still running in this lab"));
        }
        let record = match SweepRecord::load(&self.settings.runs_dir, &id) {
            Ok(r) => r,
            Err(e) => return self.error(format!("cannot resume sweep {id}: {e}")),
        };
        let todo = record.runs.iter().filter(|e| !e.is_done()).count();
        if todo == 0 {
            return self.say(format!("sweep {id} has nothing left to run"));
        }
        self.sweeps.retain(|s| s.record.id != id);
        let n = self.launch_sweep(record, false);
        self.say(format!("sweep {id} resumed: {n} runs queued"));
    }

    /// The sweep screen of the selected sweep.
    pub(crate) fn open_sweep(&mut self) {
        let Some(id) = self.runs.selected_sweep() else {
            return self.error("select a sweep (or one of its groups or runs) for its screen");
        };
        self.sweep_screen.open(&id);
        self.screen = Screen::Sweep;
    }

    /// A pool update for the lab's sweeps (a run launched: its entry learns its id, and the
    /// run's `spec.toml` its grid point).
    pub(crate) fn sweeps_on_update(&mut self, u: &PoolUpdate) {
        let mut lines = Vec::new();
        for s in &mut self.sweeps {
            let line = s.on_update(u);
            // a run that could not start is told by the lab already
            if matches!(u, PoolUpdate::Launched { .. }) {
                lines.extend(line);
            }
            if let Some(e) = s.save_error.take() {
                lines.push(e);
            }
        }
        for l in lines {
            self.error(l);
        }
    }

    pub(crate) fn sweeps_on_event(&mut self, ev: &RunEvent) {
        if ev.event.is_terminal() {
            for s in &mut self.sweeps {
                s.on_event(ev);
            }
        }
    }

    /// Queued runs the user dropped: their entries go back to pending (a resume runs them).
    pub(crate) fn sweeps_dropped(&mut self, tickets: &[Ticket]) {
        for s in &mut self.sweeps {
            s.dropped(tickets);
        }
    }
}
