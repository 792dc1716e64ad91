//! The paper's experiments: one file per family, plus the registry.
//!
//! An experiment is a plain function of (validated parameters, seed, context): same seed, same
//! numbers. It knows nothing of threads, files or the UI; it emits metrics through [`Ctx`].

pub mod checks;
pub mod conditioning;
pub mod ctx;
pub mod decomposition;
pub mod flat;
pub mod parity;

use std::sync::OnceLock;

pub use ctx::{CollectCtx, Ctx, Figure, Halt, Summary};

use crate::spec::{Catalog, ParamDef, Params};

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
}

pub fn no_extra_checks(_: &Params) -> Result<(), String> {
    Ok(())
}

/// Every experiment, in spec order.
pub fn registry() -> &'static [ExperimentDef] {
    static REG: OnceLock<Vec<ExperimentDef>> = OnceLock::new();
    REG.get_or_init(|| {
        let mut v = Vec::new();
        v.extend(parity::experiments());
        v.extend(decomposition::experiments());
        v.extend(conditioning::experiments());
        v.extend(flat::experiments());
        v
    })
}

/// The experiment with this id (case-insensitive).
pub fn find(id: &str) -> Option<&'static ExperimentDef> {
    registry().iter().find(|e| e.id.eq_ignore_ascii_case(id))
}

/// The registry as a [`Catalog`] for scenario parsing.
pub struct Registry;

impl Catalog for Registry {
    fn params_of(&self, experiment: &str) -> Option<Vec<ParamDef>> {
        registry()
            .iter()
            .find(|e| e.id == experiment)
            .map(|e| (e.params)())
    }

    fn experiment_ids(&self) -> Vec<&'static str> {
        registry().iter().map(|e| e.id).collect()
    }
}

/// Runs an experiment in the calling thread (no engine, no files).
pub fn run_direct(
    id: &str,
    params: &Params,
    seed: u64,
    ctx: &mut dyn Ctx,
) -> Result<Summary, Halt> {
    let def = find(id).ok_or_else(|| Halt::Failed(format!("unknown experiment {id}")))?;
    (def.validate)(params).map_err(Halt::Failed)?;
    (def.run)(params, seed, ctx)
}

/// Emits an SNR probe's result as metrics: `<prefix>grad_snr` for the whole model and
/// `<prefix>grad_snr/<block>` per parameter block (when there is more than one).
pub fn emit_snr(ctx: &mut dyn Ctx, step: u64, prefix: &str, report: &crate::nn::SnrReport) {
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

/// Default parameters of `id` with some overrides given as `name=value` text.
pub fn params_with(id: &str, overrides: &[(&str, &str)]) -> Result<Params, String> {
    let def = find(id).ok_or_else(|| format!("unknown experiment {id}"))?;
    let defs = (def.params)();
    let mut p = Params::defaults(&defs);
    for (name, text) in overrides {
        let d = defs
            .iter()
            .find(|d| d.name == *name)
            .ok_or_else(|| format!("{id} has no parameter {name}"))?;
        p.insert(name, d.parse_str(text)?);
    }
    Ok(p)
}
