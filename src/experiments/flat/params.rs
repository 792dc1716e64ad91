//! The parameters part 4's experiments share, in pieces: the setup (N, b*), the linear score's
//! start and surrogate, the MLP width, training and evaluation; and the check they share.

use crate::experiments::common::{OPTIMIZERS, OPT_HELP_PAPER};
use crate::nn::PAPER_SHARPNESS;
use crate::spec::{ParamDef, Params};

pub(super) fn setup_params() -> Vec<ParamDef> {
    vec![
        ParamDef::int("n", 100, 2, 10_000, "input dimension N; x ~ N(0, I/N^2)"),
        ParamDef::boolean(
            "fix_b_star",
            false,
            "use b_star as b*; false = draw b* ~ N(0, 1) from the seed",
        ),
        ParamDef::float(
            "b_star",
            0.0,
            -50.0,
            50.0,
            "b* when fix_b_star is true, ignored otherwise (the checks use -0.65 and 0)",
        ),
    ]
}

pub(super) fn b_init_param() -> ParamDef {
    ParamDef::float(
        "b_init",
        0.0,
        -50.0,
        50.0,
        "initial bias b of the linear score (the paper's: 0)",
    )
}

pub(super) fn sharpness_param() -> ParamDef {
    ParamDef::positive(
        "sharpness",
        PAPER_SHARPNESS,
        1000.0,
        "L of the surrogate: slopes c_i = 5L/step_i, centres m_i = z_i - step_i/(2L)",
    )
}

pub(super) fn width_param() -> ParamDef {
    ParamDef::int("width", 100, 1, 4096, "units in each hidden ReLU layer")
}

pub(super) fn training_params(lr: f64, steps: i64) -> Vec<ParamDef> {
    vec![
        ParamDef::choice("optimizer", "adam99", OPTIMIZERS, OPT_HELP_PAPER),
        ParamDef::positive("lr", lr, 10.0, "learning rate"),
        ParamDef::int("batch", 256, 1, 65_536, "fresh samples per step"),
        ParamDef::int("steps", steps, 1, 100_000_000, "training iterations"),
    ]
}

pub(super) fn eval_params() -> Vec<ParamDef> {
    vec![
        ParamDef::int(
            "eval_every",
            250,
            1,
            1_000_000,
            "iterations between evaluations",
        ),
        ParamDef::int(
            "test_samples",
            5000,
            100,
            1_000_000,
            "fixed test points, drawn once from the seed",
        ),
        ParamDef::int(
            "probe",
            64,
            0,
            4096,
            "samples in the per-sample gradient probe for grad_snr; 0 = off",
        ),
    ]
}

/// The checks across parameters of E10-E14.
pub(super) fn validate_common(p: &Params) -> Result<(), String> {
    if p.usize("probe") == 1 {
        return Err(
            "probe = 1: the gradient SNR needs at least 2 samples; allowed: 0 (off) or 2..=4096"
                .into(),
        );
    }
    Ok(())
}
