//! What every family shares: the optimizer from its parameters, the SNR probe's parameters and
//! metrics, small statistics, step formatting, and running an experiment by id for a check
//! (once, or once per process where several checks compare the same runs).

use std::sync::Arc;

use super::ctx::{CollectCtx, Ctx, Halt, Summary};
use super::plan::{self, RunRequest};
use crate::nn::{OptimKind, Optimizer, SnrReport};
use crate::spec::{ParamDef, Params};

// ---------------------------------------------------------------------------------------------
// optimizers

/// The optimizer choices, as the parity, decomposition and flat-activation experiments list
/// them.
pub const OPTIMIZERS: &[&str] = &["sgd", "adam", "adam99"];

/// The same choices with Adam first, as the conditioning experiments (E6-E9, whose default is
/// the authors' code's Adam) list them.
pub const OPTIMIZERS_ADAM_FIRST: &[&str] = &["adam", "adam99", "sgd"];

/// Help of an `optimizer` parameter whose default is the paper's Adam (b2 0.99).
pub const OPT_HELP_PAPER: &str =
    "adam99 (b2 0.99, eps 1e-5, the paper's), adam (b2 0.999, eps 1e-8), sgd";

/// The optimizer kind named by the `optimizer` parameter, at learning rate `lr`.
pub fn optim_kind(p: &Params, lr: f64) -> Result<OptimKind, Halt> {
    OptimKind::from_name(p.str("optimizer"), lr)
        .ok_or_else(|| Halt::Failed(format!("unknown optimizer {}", p.str("optimizer"))))
}

/// A fresh optimizer from the `optimizer` and `lr` parameters.
pub fn optimizer(p: &Params) -> Result<Optimizer, Halt> {
    Ok(Optimizer::new(optim_kind(p, p.float("lr"))?))
}

// ---------------------------------------------------------------------------------------------
// the gradient SNR probe

/// Emits an SNR probe's result as metrics: `<prefix>grad_snr` for the whole model and
/// `<prefix>grad_snr/<block>` per parameter block (when there is more than one).
pub fn emit_snr(ctx: &mut dyn Ctx, step: u64, prefix: &str, report: &SnrReport) {
    ctx.metric(step, &format!("{prefix}grad_snr"), report.total.snr());
    if report.blocks.len() > 1 {
        for (name, s) in &report.blocks {
            ctx.metric(step, &format!("{prefix}grad_snr/{name}"), s.snr());
        }
    }
}

/// The two parameters every training experiment declares for its SNR probe.
pub fn snr_params(samples: i64) -> [ParamDef; 2] {
    [
        ParamDef::int(
            "snr_samples",
            samples,
            0,
            65_536,
            "samples in the gradient SNR probe; 0 turns the probe off",
        ),
        ParamDef::int(
            "snr_every",
            0,
            0,
            100_000_000,
            "iterations between SNR probes; 0 = at every evaluation",
        ),
    ]
}

/// Whether the SNR probe runs at `step`, given the evaluation interval.
pub fn snr_due(p: &Params, step: u64, eval_every: u64, last: bool) -> bool {
    if p.int("snr_samples") == 0 {
        return false;
    }
    match p.int("snr_every") {
        0 => step.is_multiple_of(eval_every.max(1)) || last,
        n => step.is_multiple_of(n as u64) || last,
    }
}

// ---------------------------------------------------------------------------------------------
// statistics

pub use crate::stats::mean;

/// Fraction of samples with `y * score > 0`.
pub fn sign_accuracy(scores: &[f32], y: &[f32]) -> f64 {
    let right = scores.iter().zip(y).filter(|(s, y)| *s * *y > 0.0).count();
    right as f64 / y.len().max(1) as f64
}

/// Slope of the least-squares line through `pts` (NaN with fewer than two distinct x).
pub fn least_squares_slope(pts: &[(f64, f64)]) -> f64 {
    crate::stats::fit::LinearFit::of(pts).map_or(f64::NAN, |f| f.slope)
}

// ---------------------------------------------------------------------------------------------
// series and steps

/// First step at which `metric` reaches `threshold`.
pub fn first_reaching(series: &[(u64, f64)], threshold: f64) -> Option<u64> {
    series
        .iter()
        .find(|(_, v)| *v >= threshold)
        .map(|(s, _)| *s)
}

/// First step at which a (falling) series is at or below `threshold`.
pub fn first_at_most(series: &[(u64, f64)], threshold: f64) -> Option<u64> {
    series.iter().find(|p| p.1 <= threshold).map(|p| p.0)
}

/// The value a series recorded at `step`, if it did.
pub fn value_at(series: &[(u64, f64)], step: u64) -> Option<f64> {
    series.iter().find(|p| p.0 == step).map(|p| p.1)
}

/// A final value of a run, NaN where it has none.
pub fn summary_value(s: &Summary, name: &str) -> f64 {
    s.get(name).unwrap_or(f64::NAN)
}

/// A step count in thousands from 1,000 on (`2.1k`), or `never`.
pub fn fmt_steps(s: Option<u64>) -> String {
    match s {
        Some(s) if s >= 1000 => format!("{:.1}k", s as f64 / 1000.0),
        Some(s) => s.to_string(),
        None => "never".into(),
    }
}

/// A step, or `never`.
pub fn fmt_step(s: Option<u64>) -> String {
    s.map(|s| s.to_string()).unwrap_or_else(|| "never".into())
}

/// A step, or `> budget` where a run of `budget` steps never got there.
pub fn fmt_hit(s: Option<u64>, budget: u64) -> String {
    match s {
        Some(s) => s.to_string(),
        None => format!("> {budget}"),
    }
}

// ---------------------------------------------------------------------------------------------
// running an experiment for a check

/// A finished run: its summary and everything it emitted.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    pub summary: Summary,
    pub ctx: CollectCtx,
}

impl Finished {
    /// The value of `metric` at `step`, if it was recorded.
    pub fn at_step(&self, metric: &str, step: u64) -> Option<f64> {
        value_at(self.ctx.series(metric), step)
    }
}

/// Why a check's run gave no result.
#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    /// The overrides do not fit the experiment's parameters.
    Params(String),
    /// The run ended early.
    Halted { id: String, seed: u64, halt: Halt },
    /// Only held runs answer (`plan::RunSource::Held`) and this one (its label) is not: the
    /// check asked for a run its plan did not list.
    NotPlanned(String),
}

impl RunError {
    /// The message with the run's seed: `E12 seed 1: diverged at ...`.
    pub fn with_seed(&self) -> String {
        match self {
            RunError::Halted { id, seed, halt } => format!("{id} seed {seed}: {halt}"),
            other => other.to_string(),
        }
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Params(e) => f.write_str(e),
            RunError::Halted { id, halt, .. } => write!(f, "{id} {halt}"),
            RunError::NotPlanned(label) => write!(
                f,
                "no run held for {label}: the check asked for a run its plan did not list"
            ),
        }
    }
}

impl From<RunError> for String {
    fn from(e: RunError) -> String {
        e.to_string()
    }
}

fn request<S: AsRef<str>>(
    id: &str,
    overrides: &[(&str, S)],
    seed: u64,
) -> Result<RunRequest, RunError> {
    let o: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_ref())).collect();
    RunRequest::new(id, &o, plan::seeded(seed)).map_err(RunError::Params)
}

/// Runs experiment `id` with its defaults and `overrides`, in this thread, keeping everything
/// it emits; a run the process holds is not trained again (and under another
/// [`plan::RunSource`], none is: see [`plan`]).
pub fn run_collect<S: AsRef<str>>(
    id: &str,
    overrides: &[(&str, S)],
    seed: u64,
) -> Result<Finished, RunError> {
    let run = plan::obtain(request(id, overrides, seed)?, false)?;
    Ok(Arc::try_unwrap(run).unwrap_or_else(|shared| (*shared).clone()))
}

/// [`run_collect`] once per (id, parameters, seed) in this process. Runs are deterministic in
/// those, so checks that compare the same runs (E8 with E7, E14 with E11-E13) share them;
/// whichever asks first spends the time.
pub fn cached_run(
    id: &str,
    overrides: &[(&str, &str)],
    seed: u64,
) -> Result<Arc<Finished>, RunError> {
    plan::obtain(request(id, overrides, seed)?, true)
}
