//! The runs the lab knows: saved ones read at start, queued ones waiting for a slot, and live
//! ones fed by events. Each has a short number (`#7`) for the table.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::pool::Ticket;
use crate::engine::{Event, RunEvent, RunState, Status};
use crate::experiments;
use crate::spec::{Params, Scenario, Value};

/// One row of the runs table.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub num: usize,
    pub state: RunState,
    /// The pool's ticket while the run waits in the queue.
    pub ticket: Option<Ticket>,
    /// Marked for comparison.
    pub marked: bool,
    /// The parameters that set this run apart, as `name=value` pairs.
    pub differs: Vec<(String, String)>,
    /// The scenario it was started from (for queued runs and re-runs).
    pub scenario: Option<Scenario>,
    /// Figures were read from `figures.jsonl` (saved runs read them on first view).
    pub figures_loaded: bool,
}

impl RunRow {
    /// The experiment's main metric, or the first metric the run has.
    pub fn main_metric(&self) -> Option<&str> {
        let main = experiments::find(&self.state.experiment).map(|d| d.main_metric);
        match main {
            Some(m) if self.state.metrics.contains_key(m) => Some(m),
            _ => self.state.metrics.keys().next().map(String::as_str),
        }
    }

    /// The metrics in display order: the main one first, then by name.
    pub fn metric_names(&self) -> Vec<&str> {
        let main = self.main_metric();
        let mut v: Vec<&str> = main.into_iter().collect();
        v.extend(
            self.state
                .metrics
                .keys()
                .map(String::as_str)
                .filter(|k| Some(*k) != main),
        );
        v
    }

    /// The run's figures, oldest step first (ties by title).
    pub fn figures(&self) -> Vec<&(u64, crate::experiments::ctx::Figure)> {
        let mut v: Vec<_> = self.state.figures.values().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.title().cmp(b.1.title())));
        v
    }

    /// `#7 d=30`: how the run is named in legends.
    pub fn label(&self) -> String {
        let d: Vec<String> = self
            .differs
            .iter()
            .take(2)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if d.is_empty() {
            format!("#{} {}", self.num, self.state.experiment)
        } else {
            format!("#{} {}", self.num, d.join(" "))
        }
    }

    pub fn differs_text(&self) -> String {
        self.differs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// True while the run trains, waits or is paused in this lab.
    pub fn is_active(&self) -> bool {
        self.state.status.is_active()
    }

    /// Why the lab cannot pause, stop or delete this run: another process trains it.
    pub fn elsewhere_note(&self) -> Option<String> {
        if !self.state.is_elsewhere() {
            return None;
        }
        let who = self
            .state
            .owner
            .as_ref()
            .map(|o| o.describe())
            .unwrap_or_else(|| "another process".into());
        Some(format!("run #{} belongs to {who}; stop it there", self.num))
    }

    /// The scenario this run's settings make (to run it again).
    pub fn to_scenario(&self) -> Scenario {
        self.scenario.clone().unwrap_or_else(|| Scenario {
            experiment: self.state.experiment.clone(),
            title: self.state.title.clone(),
            description: String::new(),
            seed: self.state.seed,
            params: self.state.params.clone(),
            source: None,
        })
    }
}

/// A value as it appears in `name=value` pairs.
pub fn short_value(v: &Value) -> String {
    match v {
        Value::Int(x) if x.abs() >= 10_000 && x % 1000 == 0 => format!("{}k", x / 1000),
        other => other.to_string(),
    }
}

/// Every run of the session, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Runs {
    pub rows: Vec<RunRow>,
    /// The selected run's number.
    pub selected: Option<usize>,
    next_num: usize,
    /// Where the last event's run was found.
    last_hit: Option<usize>,
    /// Only the runs that match it are shown (`/` in the runs pane).
    pub filter: Option<super::filter::Filter>,
    /// The filter being typed, the one it replaces, and the verdict on the text so far.
    pub typing: Option<FilterInput>,
}

/// The runs pane's filter while it is typed.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterInput {
    pub input: super::widgets::TextInput,
    pub before: Option<super::filter::Filter>,
    pub verdict: Result<(), String>,
}

impl Runs {
    pub fn new(saved: Vec<RunState>) -> Self {
        let mut me = Self {
            rows: Vec::new(),
            selected: None,
            next_num: 1,
            last_hit: None,
            filter: None,
            typing: None,
        };
        for s in saved {
            me.push(s, None, None);
        }
        me.selected = me.rows.last().map(|r| r.num);
        me.recompute_differs();
        me
    }

    fn push(
        &mut self,
        state: RunState,
        ticket: Option<Ticket>,
        scenario: Option<Scenario>,
    ) -> usize {
        let num = self.next_num;
        self.next_num += 1;
        self.rows.push(RunRow {
            num,
            state,
            ticket,
            marked: false,
            differs: Vec::new(),
            scenario,
            figures_loaded: false,
        });
        num
    }

    /// The rows newest first, as the table shows them (those the filter lets through).
    pub fn display(&self) -> impl Iterator<Item = &RunRow> {
        self.rows
            .iter()
            .rev()
            .filter(|r| self.filter.as_ref().is_none_or(|f| f.matches(r)))
    }

    /// How many rows the table shows.
    pub fn shown(&self) -> usize {
        self.display().count()
    }

    /// Shows only the runs that match `filter` (none: all); the selection moves to the first
    /// shown run if the filter hides it.
    pub fn set_filter(&mut self, filter: Option<super::filter::Filter>) {
        self.filter = filter.filter(|f| !f.is_empty());
        if self.selected_index().is_none() {
            self.select_first();
        }
    }

    pub fn get(&self, num: usize) -> Option<&RunRow> {
        self.rows.iter().find(|r| r.num == num)
    }

    pub fn get_mut(&mut self, num: usize) -> Option<&mut RunRow> {
        self.rows.iter_mut().find(|r| r.num == num)
    }

    pub fn selected_row(&self) -> Option<&RunRow> {
        self.selected.and_then(|n| self.get(n))
    }

    pub fn selected_row_mut(&mut self) -> Option<&mut RunRow> {
        let n = self.selected?;
        self.get_mut(n)
    }

    /// The selected run's position in display order.
    pub fn selected_index(&self) -> Option<usize> {
        let n = self.selected?;
        self.display().position(|r| r.num == n)
    }

    pub fn move_by(&mut self, delta: isize) {
        let shown = self.shown();
        if shown == 0 {
            self.selected = None;
            return;
        }
        let i = self.selected_index().unwrap_or(0) as isize + delta;
        let i = i.clamp(0, shown as isize - 1) as usize;
        let n = self.display().nth(i).map(|r| r.num);
        self.selected = n;
    }

    pub fn select_first(&mut self) {
        let n = self.display().next().map(|r| r.num);
        self.selected = n;
    }

    pub fn select_last(&mut self) {
        let n = self.display().last().map(|r| r.num);
        self.selected = n;
    }

    /// A saved run found after the start (another process began it); returns its number.
    /// The selection stays where it is.
    pub fn add_saved(&mut self, state: RunState) -> usize {
        let num = self.push(state, None, None);
        if self.selected.is_none() {
            self.selected = Some(num);
        }
        self.recompute_differs();
        num
    }

    /// True if a row is the run in folder `name` of the runs folder (a run of this lab, even
    /// one whose first event has not arrived yet, is known by its id, which is that name).
    pub fn knows_dir(&self, name: &str) -> bool {
        self.rows.iter().any(|r| {
            r.state.id == name
                || r.state
                    .dir
                    .as_ref()
                    .and_then(|d| d.file_name())
                    .is_some_and(|n| n == name)
        })
    }

    /// A run waiting in the pool's queue; returns its number.
    pub fn add_queued(&mut self, ticket: Ticket, scenario: &Scenario) -> usize {
        let state = RunState::new(
            "",
            &scenario.experiment,
            &scenario.title,
            scenario.params.clone(),
        );
        let num = self.push(state, Some(ticket), Some(scenario.clone()));
        if let Some(r) = self.get_mut(num) {
            r.state.seed = scenario.seed;
        }
        self.recompute_differs();
        num
    }

    /// The queued run `ticket` got its run id (its events follow).
    pub fn launched(&mut self, ticket: Ticket, id: &str) -> Option<usize> {
        let r = self.rows.iter_mut().find(|r| r.ticket == Some(ticket))?;
        r.ticket = None;
        r.state.id = id.to_string();
        if r.state.status == Status::Queued {
            r.state.status = Status::Running;
        }
        Some(r.num)
    }

    /// The queued run `ticket` could not start.
    pub fn launch_failed(&mut self, ticket: Ticket, reason: &str) -> Option<usize> {
        let r = self.rows.iter_mut().find(|r| r.ticket == Some(ticket))?;
        r.ticket = None;
        r.state.status = Status::Failed;
        r.state.reason = Some(reason.to_string());
        Some(r.num)
    }

    /// The run `id`'s thread ended. A run that ended without a last event (it cannot happen
    /// with the engine, but a lost event must not leave a row "running" forever) is marked.
    pub fn ended(&mut self, id: &str) -> Option<usize> {
        let r = self.rows.iter_mut().find(|r| r.state.id == id)?;
        if r.state.status.is_active() {
            r.state.status = Status::Interrupted;
            r.state.reason = Some("the run ended without reporting how".into());
        }
        Some(r.num)
    }

    /// Applies an event to its run. Returns the run's number, if known.
    pub fn apply(&mut self, ev: &RunEvent) -> Option<usize> {
        // events come in bursts from one run: try the last one found before searching
        let hit = match self.last_hit {
            Some(i) if self.rows.get(i).is_some_and(|r| r.state.id == ev.run) => i,
            _ => {
                let i = self.rows.iter().position(|r| r.state.id == ev.run)?;
                self.last_hit = Some(i);
                i
            }
        };
        let r = &mut self.rows[hit];
        r.state.apply(&ev.event);
        if matches!(ev.event, Event::Started { .. }) {
            let num = r.num;
            self.recompute_differs();
            return Some(num);
        }
        Some(r.num)
    }

    /// Removes a row (the caller deletes its files).
    pub fn remove(&mut self, num: usize) -> Option<RunRow> {
        let i = self.rows.iter().position(|r| r.num == num)?;
        let display_i = self.selected_index();
        let row = self.rows.remove(i);
        self.last_hit = None;
        if self.selected == Some(num) {
            self.selected = None;
            if let Some(di) = display_i {
                let n = self.rows.len();
                if n > 0 {
                    let pick = self.display().nth(di.min(n - 1)).map(|r| r.num);
                    self.selected = pick;
                }
            }
        }
        self.recompute_differs();
        Some(row)
    }

    pub fn marked(&self) -> Vec<usize> {
        self.rows
            .iter()
            .filter(|r| r.marked)
            .map(|r| r.num)
            .collect()
    }

    pub fn active(&self) -> usize {
        self.rows.iter().filter(|r| r.is_active()).count()
    }

    pub fn count(&self, status: Status) -> usize {
        self.rows
            .iter()
            .filter(|r| r.state.status == status)
            .count()
    }

    /// For each experiment: the parameters whose values vary among its runs (or, for an
    /// experiment with one run, differ from the defaults).
    pub fn recompute_differs(&mut self) {
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, r) in self.rows.iter().enumerate() {
            groups
                .entry(r.state.experiment.clone())
                .or_default()
                .push(i);
        }
        for (exp, idx) in groups {
            let defaults = experiments::find(&exp).map(|d| {
                let defs = (d.params)();
                (Params::defaults(&defs), defs)
            });
            let names: Vec<String> = if idx.len() == 1 {
                match &defaults {
                    Some((p, _)) => p
                        .differing(&self.rows[idx[0]].state.params)
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                    None => Vec::new(),
                }
            } else {
                let mut all: BTreeSet<String> = BTreeSet::new();
                for &i in &idx {
                    all.extend(self.rows[i].state.params.iter().map(|(k, _)| k.to_string()));
                }
                all.into_iter()
                    .filter(|k| {
                        let first = self.rows[idx[0]].state.params.get(k);
                        idx.iter()
                            .any(|&i| self.rows[i].state.params.get(k) != first)
                    })
                    .collect()
            };
            // declared order reads better than alphabetical (d before lr before steps)
            let order: Vec<&str> = defaults
                .as_ref()
                .map(|(_, defs)| defs.iter().map(|d| d.name).collect())
                .unwrap_or_default();
            let mut names = names;
            names.sort_by_key(|n| order.iter().position(|o| o == n).unwrap_or(usize::MAX));
            for &i in &idx {
                let p = &self.rows[i].state.params;
                self.rows[i].differs = names
                    .iter()
                    .map(|k| {
                        (
                            k.clone(),
                            p.get(k).map(short_value).unwrap_or_else(|| "-".into()),
                        )
                    })
                    .collect();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::{params_with, Registry};

    fn state(id: &str, overrides: &[(&str, &str)]) -> RunState {
        let mut s = RunState::new(id, "E1", "t", params_with("E1", overrides).unwrap());
        s.status = Status::Finished;
        s
    }

    #[test]
    fn differs_names_what_sets_runs_apart() {
        let mut runs = Runs::new(vec![state("a", &[("d", "5"), ("steps", "5000")])]);
        assert_eq!(
            runs.rows[0].differs,
            vec![("d".into(), "5".into()), ("steps".into(), "5000".into())]
        );
        let mut s = Scenario::with_defaults("E1", &Registry).unwrap();
        s.params = params_with("E1", &[("d", "10"), ("steps", "5000")]).unwrap();
        let n = runs.add_queued(7, &s);
        assert_eq!(runs.get(n).unwrap().differs_text(), "d=10");
        assert_eq!(runs.rows[0].differs_text(), "d=5");
        assert_eq!(runs.get(n).unwrap().label(), format!("#{n} d=10"));
    }

    #[test]
    fn queued_runs_become_live_and_take_their_events() {
        let mut runs = Runs::default();
        let s = Scenario::with_defaults("E1", &Registry).unwrap();
        let n = runs.add_queued(3, &s);
        assert_eq!(runs.get(n).unwrap().state.status, Status::Queued);
        assert_eq!(runs.launched(3, "run-x"), Some(n));
        assert_eq!(runs.launched(3, "run-x"), None, "only once");
        let ev = RunEvent {
            run: "run-x".into(),
            event: Event::Metric {
                step: 10,
                name: "test_accuracy".into(),
                value: 0.75,
            },
        };
        assert_eq!(runs.apply(&ev), Some(n));
        assert_eq!(
            runs.get(n).unwrap().state.latest("test_accuracy"),
            Some(0.75)
        );
        let other = RunEvent {
            run: "unknown".into(),
            event: Event::Paused,
        };
        assert_eq!(runs.apply(&other), None);
        assert_eq!(runs.ended("run-x"), Some(n));
        assert_eq!(runs.get(n).unwrap().state.status, Status::Interrupted);
    }

    #[test]
    fn interleaved_events_reach_their_own_runs_even_after_a_removal() {
        let mut runs = Runs::new(vec![state("a", &[]), state("b", &[]), state("c", &[])]);
        let metric = |run: &str, v: f64| RunEvent {
            run: run.into(),
            event: Event::Metric {
                step: 1,
                name: "m".into(),
                value: v,
            },
        };
        for (run, v) in [("a", 1.0), ("a", 2.0), ("c", 3.0), ("b", 4.0), ("c", 5.0)] {
            runs.apply(&metric(run, v));
        }
        runs.remove(1);
        assert_eq!(runs.apply(&metric("c", 6.0)), Some(3));
        assert_eq!(runs.apply(&metric("b", 7.0)), Some(2));
        assert_eq!(runs.apply(&metric("a", 8.0)), None);
        let total = |n: usize| runs.get(n).unwrap().state.metrics["m"].total();
        assert_eq!((total(2), total(3)), (2, 3));
        assert_eq!(runs.get(3).unwrap().state.latest("m"), Some(6.0));
    }

    #[test]
    fn selection_survives_removal_and_follows_display_order() {
        let mut runs = Runs::new(vec![state("a", &[]), state("b", &[]), state("c", &[])]);
        assert_eq!(runs.selected, Some(3), "the newest run is selected");
        runs.move_by(1);
        assert_eq!(runs.selected, Some(2));
        runs.remove(2);
        assert_eq!(runs.selected, Some(1));
        runs.remove(1);
        assert_eq!(runs.selected, Some(3));
        runs.remove(3);
        assert_eq!(runs.selected, None);
        runs.move_by(1);
        assert_eq!(runs.selected, None);
    }

    #[test]
    fn main_metric_falls_back_to_what_the_run_has() {
        let mut r = Runs::new(vec![state("a", &[])]);
        let row = &mut r.rows[0];
        assert_eq!(row.main_metric(), None);
        row.state
            .metrics
            .entry("train_loss".into())
            .or_default()
            .push(1, 0.5);
        assert_eq!(row.main_metric(), Some("train_loss"));
        row.state
            .metrics
            .entry("test_accuracy".into())
            .or_default()
            .push(1, 0.5);
        assert_eq!(row.metric_names(), vec!["test_accuracy", "train_loss"]);
        assert_eq!(short_value(&Value::Int(50_000)), "50k");
        assert_eq!(short_value(&Value::Float(0.001)), "0.001");
    }
}
