//! One run as the lab holds it: its state, its number in the table (`#7`), whether it is
//! marked, what sets it apart from the others, and the scenario it came from.

use crate::engine::pool::Ticket;
use crate::engine::RunState;
use crate::experiments;
use crate::spec::{Scenario, Value};

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

    /// The metrics in display order: the main one first, then by kind (accuracies, losses,
    /// gradient SNRs, the others: a run of two methods records forty, most of them SNRs
    /// per layer), the main one's kind first so that each kind stays together under one
    /// heading, each kind by name in natural order (`ratio_d4` before `ratio_d10`).
    pub fn metric_names(&self) -> Vec<&str> {
        let main = self.main_metric();
        let main_kind = main.map(metric_kind);
        let mut rest: Vec<&str> = self
            .state
            .metrics
            .keys()
            .map(String::as_str)
            .filter(|k| Some(*k) != main)
            .collect();
        let rank = |name: &str| {
            let kind = metric_kind(name);
            (Some(kind) != main_kind, kind)
        };
        rest.sort_by(|a, b| {
            rank(a)
                .cmp(&rank(b))
                .then_with(|| crate::stats::natural_cmp(a, b))
        });
        main.into_iter().chain(rest).collect()
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
            checkpoint_every: None,
            keep_checkpoints: Vec::new(),
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

/// What a metric measures, for ordering lists of metrics: accuracies, losses, gradient
/// SNRs, then the others.
pub fn metric_kind(name: &str) -> u8 {
    let n = name.to_ascii_lowercase();
    if n.contains("snr") {
        2
    } else if n.contains("acc") {
        0
    } else if n.contains("loss") {
        1
    } else {
        3
    }
}
