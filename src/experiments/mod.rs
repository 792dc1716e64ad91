//! The paper's experiments: one file per family, plus the registry.
//!
//! An experiment is a plain function of (validated parameters, seed, context): same seed, same
//! numbers. It knows nothing of threads, files or the UI; it emits metrics through [`Ctx`].

pub mod checks;
pub mod common;
pub mod conditioning;
pub mod ctx;
pub mod decomposition;
pub mod flat;
pub mod parity;

use std::sync::OnceLock;

pub use common::{emit_snr, snr_due, snr_params};
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
