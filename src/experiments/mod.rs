//! The paper's experiments: one folder per family (`parity/`, `decomposition/`,
//! `conditioning/`, `flat/`), each with one file per experiment (or per few that share a
//! runner) and its checks; what every family shares (`common.rs`); the check types
//! (`check.rs`); the runs of checks as data, planned, trained apart and held (`plan.rs`);
//! and the registry of every experiment and check (`registry.rs`).
//!
//! An experiment is a plain function of (validated parameters, seed, context): same seed, same
//! numbers. It knows nothing of threads, files or the UI; it emits metrics through [`Ctx`].

pub mod check;
pub mod common;
pub mod conditioning;
pub mod cost;
pub mod ctx;
pub mod decomposition;
pub mod flat;
pub mod parity;
pub mod plan;
pub mod registry;
pub mod state;
pub mod theory;

pub use check::{Budget, CheckDef, CheckFn, CheckOutcome};
pub use common::{emit_snr, snr_due, snr_params};
pub use ctx::{CollectCtx, Ctx, Figure, Halt, Restore, Summary};
pub use registry::{checks, find, params_with, registry, run_direct, uses_threads, Registry};

use crate::spec::{ParamDef, Params};

/// The four families of the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Parities,
    Decomposition,
    Conditioning,
    FlatActivations,
}

impl Family {
    pub const ALL: [Family; 4] = [
        Family::Parities,
        Family::Decomposition,
        Family::Conditioning,
        Family::FlatActivations,
    ];

    pub fn number(self) -> usize {
        self as usize + 1
    }

    pub fn title(self) -> &'static str {
        match self {
            Family::Parities => "Parities and linear-periodic functions",
            Family::Decomposition => "Decomposition vs end-to-end",
            Family::Conditioning => "Architecture and conditioning",
            Family::FlatActivations => "Flat activations",
        }
    }
}

pub type RunFn = fn(&Params, u64, &mut dyn Ctx) -> Result<Summary, Halt>;

/// One experiment of the spec.
pub struct ExperimentDef {
    /// Spec id: E1..E14, T1, L3, LP.
    pub id: &'static str,
    pub name: &'static str,
    pub family: Family,
    /// One line: the failure (or fact) this experiment shows.
    pub shows: &'static str,
    pub params: fn() -> Vec<ParamDef>,
    /// Checks that involve several parameters at once (each is range-checked already).
    pub validate: fn(&Params) -> Result<(), String>,
    pub run: RunFn,
    /// The metric a run table shows first.
    pub main_metric: &'static str,
    /// Parameters whose value a run draws from its seed when left at their default, and
    /// reports in its summary (E1's `subset_size`): properties of the draw, shown over a
    /// group as a range, never averaged as results. Other parameters a summary reports
    /// (E1's `width`, derived from d) are the group's setup.
    pub draws: &'static [&'static str],
    /// The summary metrics that are times to a threshold (`steps_to_*`), which a run reports
    /// only if it got there: a group counts the runs that did not as censored at their last
    /// step ([`crate::stats::Survival`]).
    pub thresholds: fn() -> Vec<String>,
    /// Whether a run writes checkpoints of its training state, from which `--resume`
    /// continues and `--fork` starts. The experiments that train nothing (E3, E5, T1 and L3
    /// measure or compute at initialisation, in seconds) have none: a stopped run of theirs
    /// starts again from step 0.
    pub checkpoints: bool,
    /// Budget parameters that only lengthen a run: `(parameter, metric prefix)`. A run with a
    /// larger value of `parameter` emits, under the metrics named `prefix…`, the very points
    /// of the shorter run up to its last step, and every other metric as the shorter run does
    /// (E2's `steps_e2e` and `e2e/`: the methods train side by side, each on its own random
    /// stream). So a shorter run is read from a longer one ([`plan::covers`]), bit for bit,
    /// rather than trained again.
    pub prefix_budgets: &'static [(&'static str, &'static str)],
    /// Whether a longer run, cut at `budget` of these parameters, is the run of that budget:
    /// whether the shorter run's end is a step where the longer one records the same things
    /// (E2 evaluates every `eval_every` steps and at a method's last: a budget off that grid
    /// has an evaluation of its own).
    pub prefix_aligned: fn(&Params, i64) -> bool,
}

/// For an experiment with no [`ExperimentDef::prefix_budgets`].
pub fn no_prefix_budgets(_: &Params, _: i64) -> bool {
    false
}

pub fn no_extra_checks(_: &Params) -> Result<(), String> {
    Ok(())
}

/// For an experiment whose summary has no time to a threshold.
pub fn no_thresholds() -> Vec<String> {
    Vec::new()
}
