//! Part 1 of the spec (paper section 2): random parities (E1), the exact gradient variance over
//! all parity targets (T1), the hand-built parity network of Lemma 3 (L3), and linear-periodic
//! targets (LP, Theorem 2), and the sparse parity (SP) with the hidden-progress metrics
//! (`hidden.rs`) that E1 streams too. One file per experiment; the checks in `checks.rs`.

mod checks;
pub use checks::{ChanceBand, E1_CHANCE, E1_EVAL_SAMPLES};
mod e1;
pub mod hidden;
mod l3;
mod lp;
mod sp;
mod t1;

pub use e1::{draw_subset_size, parity_labels, sample_signs};
pub use l3::{lemma3_accuracy, lemma3_network};
pub use lp::target_gradient_variance;
pub use t1::{all_sign_inputs, parity_gradient_variance, ParityVariance};

use super::check::CheckDef;
use super::{no_extra_checks, ExperimentDef, Family};
use crate::spec::Params;

const OPT_HELP: &str = "sgd (plain), adam (b2 0.999, eps 1e-8), adam99 (b2 0.99, eps 1e-5)";

pub fn experiments() -> Vec<ExperimentDef> {
    vec![
        ExperimentDef {
            id: "E1",
            name: "random parity",
            family: Family::Parities,
            shows: "the gradient carries ~2^-d information about a random parity: at d = 30 SGD stays at chance",
            params: e1::params,
            validate: e1::validate,
            run: e1::run,
            main_metric: "test_accuracy",
            draws: &["subset_size"],
            thresholds: e1::thresholds,
            checkpoints: true,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
        ExperimentDef {
            id: "T1",
            name: "gradient variance over parities",
            family: Family::Parities,
            shows: "exact Var of the gradient over all 2^d parity targets sits at the bound G^2/2^d",
            params: t1::params,
            validate: d_range_validate,
            run: t1::run,
            main_metric: "ratio",
            draws: &[],
            thresholds: crate::experiments::no_thresholds,
            checkpoints: false,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
        ExperimentDef {
            id: "L3",
            name: "parity network of Lemma 3",
            family: Family::Parities,
            shows: "a ReLU layer of width 3(d/2+1) represents any parity: the failure is optimisation, not expressiveness",
            params: l3::params,
            validate: d_range_validate,
            run: l3::run,
            main_metric: "accuracy",
            draws: &[],
            thresholds: crate::experiments::no_thresholds,
            checkpoints: false,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
        ExperimentDef {
            id: "LP",
            name: "linear-periodic target",
            family: Family::Parities,
            shows: "y = cos(v*.x): the gradient barely depends on v* as d and |v*| grow, and learning stalls",
            params: lp::params,
            validate: no_extra_checks,
            run: lp::run,
            main_metric: "test_loss_ratio",
            draws: &[],
            thresholds: crate::experiments::no_thresholds,
            checkpoints: true,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
        ExperimentDef {
            id: "SP",
            name: "sparse parity",
            family: Family::Parities,
            shows: "a k-sparse parity of n bits: a flat loss, then a jump; the hidden-progress metrics show what moves underneath and when",
            params: sp::params,
            validate: sp::validate,
            run: sp::run,
            main_metric: "test_accuracy",
            draws: &[],
            thresholds: sp::thresholds,
            checkpoints: true,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
    ]
}

/// The checks of part 1.
pub fn checks() -> Vec<CheckDef> {
    vec![
        CheckDef {
            id: "E1",
            run: checks::e1,
        },
        CheckDef {
            id: "T1",
            run: checks::t1,
        },
        CheckDef {
            id: "L3",
            run: checks::l3,
        },
    ]
}

/// The hidden width of E1 and T1: the `width` parameter, 0 meaning 10 d.
fn width_of(p: &Params, d: usize) -> usize {
    match p.usize("width") {
        0 => 10 * d,
        w => w,
    }
}

/// T1 and L3 run over `d_min..=d_max`.
fn d_range_validate(p: &Params) -> Result<(), String> {
    if p.int("d_min") > p.int("d_max") {
        return Err(format!(
            "d_min = {} is larger than d_max = {}",
            p.int("d_min"),
            p.int("d_max")
        ));
    }
    Ok(())
}
