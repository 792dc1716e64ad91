//! Part 3 of the spec (paper section 4): architecture and conditioning, E5-E9.
//!
//! A piecewise-linear curve with k pieces is sampled at n points (`f`); its encoding `p` holds
//! the changes of slope at the kinks, and `f = p . W` with `W[i][x] = max(0, x - i + 1)` (the
//! authors' code convention, row vectors). By Lemma 1, `p = f . W^-1` is the 1-D convolution of
//! `f` with the kernel `[1, -2, 1]`. Learning `p` from `f` is a convex, realisable problem, and
//! yet how it is parameterised decides whether gradient descent solves it:
//!
//! - E6: a full `n x n` linear map: `W^T W` has a condition number of about 1.35e8 at n = 100,
//!   and Adam gets nowhere near `W^-1` in 50,000 steps;
//! - E7: a 3-tap convolution: a 3 x 3 row covariance with condition number ~1e5, slow;
//! - E8: the same convolution on whitened rows: condition number 1, exact in a few hundred
//!   steps;
//! - E9: a deep autoencoder with plenty of capacity, which smooths over the kinks.
//!
//! The convolution here is causal with zeros before the start (`p_t = sum_k w_k f_{t-k}`,
//! `f_{-1} = f_{-2} = 0`), Lemma 1's form. The authors' code pads the first two outputs with
//! zeros instead; on the code's curves (`f_0 = f_1 = f_2 = 0`) the two are identical, and the
//! causal form stays exact on curves with a kink before x = 1 (E9's distribution). The row
//! covariance `C` uses the rows `t = 2..n-1` as the code does.
//!
//! The curves and their data (`curves.rs`), `W` and the conditioning numbers (`matrices.rs`),
//! one file per experiment (E6-E8 share `linear.rs`), what the trained models share (`fit.rs`),
//! and the checks (`checks.rs`).

mod checks;
mod curves;
mod e5;
mod e9;
mod fit;
mod linear;
mod matrices;

pub use checks::{budgets, Budgets};
pub use curves::{
    decode, encode, example_curves, pwl_data, sample_curves, CurveDist, Curves, CURVES,
    SLOPE_PATTERNS, TARGET_FILTER,
};
pub use e9::e9_sizes;
pub use linear::{filter_error, ERROR_LEVELS};
pub use matrices::{
    eigenvalues, lemma1_residual, row_covariance, sym_cond, to_row_major_f32, w_conditioning,
    w_inverse, w_matrix, whitened_covariance, whitening_matrix, WConditioning,
};

use super::check::CheckDef;
use super::{ExperimentDef, Family};

/// Help of the `optimizer` parameter of E6-E9 (the authors' code uses Adam).
const OPT_HELP: &str =
    "adam (b2 0.999, eps 1e-8, the code's), adam99 (b2 0.99, eps 1e-5), sgd (plain)";

pub fn experiments() -> Vec<ExperimentDef> {
    vec![
        ExperimentDef {
            id: "E5",
            name: "PWL curves: W and its conditioning",
            family: Family::Conditioning,
            shows: "f = p.W with W^-1 the [1,-2,1] band (Lemma 1); cond(W^T W) grows like n^4, whitening the 3-tap rows brings cond to 1",
            params: e5::params,
            validate: e5::validate,
            run: e5::run,
            main_metric: "cond_wtw",
            draws: &[],
            thresholds: crate::experiments::no_thresholds,
            checkpoints: false,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
        ExperimentDef {
            id: "E6",
            name: "PWL encoding, full linear map",
            family: Family::Conditioning,
            shows: "convex but badly conditioned (cond(W^T W) ~ 1.35e8): Adam is nowhere near W^-1 after 50,000 steps, errors at the kinks",
            params: linear::e6_params,
            validate: fit::validate,
            run: linear::run_e6,
            main_metric: "val_mse_p",
            draws: &[],
            thresholds: linear::thresholds,
            checkpoints: true,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
        ExperimentDef {
            id: "E7",
            name: "PWL encoding, 3-tap convolution",
            family: Family::Conditioning,
            shows: "the right architecture (a 3-tap filter) learns [1,-2,1], but the row covariance has cond ~1e5: tens of thousands of steps",
            params: linear::e7_params,
            validate: fit::validate,
            run: linear::run_e7,
            main_metric: "filter_error",
            draws: &[],
            thresholds: linear::thresholds,
            checkpoints: true,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
        ExperimentDef {
            id: "E8",
            name: "PWL encoding, convolution on whitened rows",
            family: Family::Conditioning,
            shows: "whitening the 3-dim rows (C^-1/2) makes cond = 1: the exact filter within a few hundred steps",
            params: linear::e8_params,
            validate: fit::validate,
            run: linear::run_e8,
            main_metric: "filter_error",
            draws: &[],
            thresholds: linear::thresholds,
            checkpoints: true,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
        ExperimentDef {
            id: "E9",
            name: "PWL autoencoder",
            family: Family::Conditioning,
            shows: "a deep 100-500-100-6-100-100-100 autoencoder has the capacity but smooths the kinks away",
            params: e9::params,
            validate: fit::validate,
            run: e9::run,
            main_metric: "val_max_err_mean",
            draws: &[],
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
            id: "E6",
            run: checks::e6,
        },
        CheckDef {
            id: "E7",
            run: checks::e7,
        },
        CheckDef {
            id: "E8",
            run: checks::e8,
        },
        CheckDef {
            id: "E9",
            run: checks::e9,
        },
    ]
}
