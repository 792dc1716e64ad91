//! Part 4 of the spec (paper section 5): flat activations, E10-E14.
//!
//! The target is y = u(v*.x + b*) with u the authors' 52-level staircase (E10). Four ways to
//! learn it, each its own experiment, all on the same data:
//! - E11: a linear score through the sum-of-sigmoids surrogate ũ (MSE, Adam lr 0.01, 10k);
//! - E12: a 4-layer ReLU regression MLP (MSE, Adam lr 1e-3, 10k);
//! - E13: a 3-layer MLP classifier, one class per level (softmax cross-entropy, 10k);
//! - E14: a linear score through the exact staircase, updated with the forward-only
//!   (straight-through) gradient (Adam lr 1e-3, 5k).
//!
//! E10 runs the four on the same draw of (v*, b*) and the same test points. A method's numbers
//! in E10 equal those of its own experiment with the same seed and settings: the draw of
//! (v*, b*) and the test set come from the seed, and each method's training data and
//! initialisation from the seed and the method.
//!
//! The task (`setup.rs`), the methods' models (`model.rs`), the training core they share
//! (`train.rs`), the parameters in pieces (`params.rs`), E10 (`e10.rs`), E11-E14 (`single.rs`)
//! and the checks (`checks.rs`).

mod checks;
mod e10;
mod model;
mod params;
mod setup;
mod single;
mod state;
mod train;

pub use model::Method;
pub use setup::{cosine, DataRng, Samples, Setup};
pub use train::{FIGURE_HALF_WIDTH, FIGURE_POINTS, NEAR_STEP};

use super::check::CheckDef;
use super::{ExperimentDef, Family};
use params::validate_common;

pub fn experiments() -> Vec<ExperimentDef> {
    vec![
        ExperimentDef {
            id: "E10",
            name: "staircase: four methods compared",
            family: Family::FlatActivations,
            shows: "on one draw of (v*, b*): the surrogate (E11) stalls, the MLPs (E12, E13) are blurry at the jumps, forward-only (E14) is exact",
            params: e10::params,
            validate: validate_common,
            run: e10::run,
            main_metric: "e14/wrong_level",
            draws: &["b_star"],
            thresholds: crate::experiments::no_thresholds,
            checkpoints: true,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
        ExperimentDef {
            id: "E11",
            name: "staircase: sum-of-sigmoids surrogate",
            family: Family::FlatActivations,
            shows: "a smooth surrogate of a flat activation still has ~0 gradient on the flat parts: from b = 0 it often never moves",
            params: single::e11_params,
            validate: validate_common,
            run: single::run_e11,
            main_metric: "wrong_level",
            draws: &["b_star"],
            thresholds: crate::experiments::no_thresholds,
            checkpoints: true,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
        ExperimentDef {
            id: "E12",
            name: "staircase: regression MLP",
            family: Family::FlatActivations,
            shows: "an end-to-end ReLU MLP fits the staircase roughly, noisy on the flats and smeared at the jumps",
            params: single::e12_params,
            validate: validate_common,
            run: single::run_e12,
            main_metric: "mae",
            draws: &["b_star"],
            thresholds: crate::experiments::no_thresholds,
            checkpoints: true,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
        ExperimentDef {
            id: "E13",
            name: "staircase: one class per level",
            family: Family::FlatActivations,
            shows: "a classifier gets most levels right but its class boundaries are blurry: every error sits next to a jump",
            params: single::e13_params,
            validate: validate_common,
            run: single::run_e13,
            main_metric: "wrong_level",
            draws: &["b_star"],
            thresholds: crate::experiments::no_thresholds,
            checkpoints: true,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
        ExperimentDef {
            id: "E14",
            name: "staircase: forward-only update",
            family: Family::FlatActivations,
            shows: "forward through the exact staircase, backward as if it were the identity: exact in half the iterations",
            params: single::e14_params,
            validate: validate_common,
            run: single::run_e14,
            main_metric: "wrong_level",
            draws: &["b_star"],
            thresholds: crate::experiments::no_thresholds,
            checkpoints: true,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
    ]
}

pub fn checks() -> Vec<CheckDef> {
    vec![
        CheckDef {
            id: "E11",
            run: checks::e11,
        },
        CheckDef {
            id: "E12",
            run: checks::e12,
        },
        CheckDef {
            id: "E13",
            run: checks::e13,
        },
        CheckDef {
            id: "E14",
            run: checks::e14,
        },
    ]
}
