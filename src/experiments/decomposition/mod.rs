//! Part 2 of the spec (paper section 3): decomposition vs end-to-end, E2-E4.
//!
//! - E2: k-tuples of 28 x 28 line images, the tuple label the parity (product) of the k
//!   orientation labels; one network (N1 shared over the images, then N2) trained end-to-end
//!   on the tuple label, or with the per-image labels added (decomposition). One run trains
//!   both methods from the same initialisation, side by side.
//! - E3: the SNR of the two gradients at N1's last layer at initialisation, for several k.
//! - E4: the "portfolio" toy: a softmax over k stocks, the end-to-end estimator (the returns
//!   z) against the decomposition one (the stock's label), and their exact SNR at
//!   initialisation.
//!
//! One file per experiment, their data (`lines.rs`, `portfolio.rs`), what E2 and E4 share
//! (`method.rs`), and the checks (`checks.rs`).

mod checks;
mod e2;
mod e3;
mod e4;
mod lines;
mod method;
mod portfolio;

pub use checks::{e2_check_budget, e3_check_budget, e3_limit, e4_check_budget, E2_E2E_CHANCE_MAX};
pub use e3::E3Point;
pub use lines::{line_image, sample_tuples, LineImage, Tuples, SIDE};
pub use portfolio::{portfolio_batch, portfolio_init_snr, stock_labels, PortfolioBatch};

use super::check::CheckDef;
use super::{ExperimentDef, Family};

pub fn experiments() -> Vec<ExperimentDef> {
    vec![
        ExperimentDef {
            id: "E2",
            name: "tuples of line images: end-to-end vs decomposition",
            family: Family::Decomposition,
            shows: "the parity of k orientations: end-to-end stays at chance for k >= 3, the per-image labels learn it in a few hundred steps",
            params: e2::params,
            validate: e2::validate,
            run: e2::run,
            main_metric: "e2e/test_accuracy",
            draws: &[],
            thresholds: crate::experiments::no_thresholds,
            checkpoints: true,
            prefix_budgets: &[("steps_e2e", "e2e/"), ("steps_dec", "dec/")],
            prefix_aligned: e2::evaluates_at,
        },
        ExperimentDef {
            id: "E3",
            name: "gradient SNR at N1's last layer vs k",
            family: Family::Decomposition,
            shows: "at initialisation the end-to-end gradient's SNR collapses from k = 2 on, the decomposition gradient's does not move",
            params: e3::params,
            validate: e3::validate,
            run: e3::run,
            main_metric: "ratio",
            draws: &[],
            thresholds: crate::experiments::no_thresholds,
            checkpoints: false,
            prefix_budgets: &[],
            prefix_aligned: crate::experiments::no_prefix_budgets,
        },
        ExperimentDef {
            id: "E4",
            name: "portfolio: end-to-end vs decomposition estimator",
            family: Family::Decomposition,
            shows: "two unbiased gradients of the same loss: the end-to-end one has ~k times the variance and stalls for k = 1000",
            params: e4::params,
            validate: e4::validate,
            run: e4::run,
            main_metric: "e2e/test_loss",
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
            id: "E2",
            run: checks::e2,
        },
        CheckDef {
            id: "E3",
            run: checks::e3,
        },
        CheckDef {
            id: "E4",
            run: checks::e4,
        },
    ]
}
