//! The panes of the main screen. Each file holds one pane's state, what its keys do
//! (`on_cmd`: a command in, the pane's own changes made and [`Action`]s out) and its
//! `render`, a pure function of the lab's state.
//!
//! [`Action`]: super::action::Action

pub mod chart;
pub mod group_chart;
pub mod metric_list;
pub mod params;
pub mod runs_table;
pub mod scenarios;

/// The panes of the main screen, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Scenarios,
    Params,
    Runs,
    Chart,
}

impl Pane {
    pub const ORDER: [Pane; 4] = [Pane::Scenarios, Pane::Params, Pane::Runs, Pane::Chart];

    pub fn step(self, d: isize) -> Pane {
        let i = Self::ORDER.iter().position(|p| *p == self).unwrap_or(0) as isize;
        Self::ORDER[(i + d).rem_euclid(Self::ORDER.len() as isize) as usize]
    }
}
