//! Every experiment and every check, assembled from each family's lists; finding an experiment
//! by id and running it in the calling thread.

use std::sync::OnceLock;

use super::check::CheckDef;
use super::ctx::{Ctx, Halt, Summary};
use super::{conditioning, decomposition, flat, parity, ExperimentDef};
use crate::spec::{Catalog, ParamDef, Params};

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

/// Every check, in spec order.
pub fn checks() -> Vec<CheckDef> {
    let mut v = Vec::new();
    v.extend(parity::checks());
    v.extend(decomposition::checks());
    v.extend(conditioning::checks());
    v.extend(flat::checks());
    v
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

/// The smallest batch at which a dense model's step is cut into parallel chunks (an MLP's
/// chunks are at least 256 samples: `nn::Mlp`).
const DENSE_PARALLEL_BATCH: i64 = 512;

/// Whether a run of `id` with these parameters trains faster on more threads: E2 and E3
/// (the convolutional network, in data-parallel chunks) always; E9, E12 and E13 (dense
/// networks) from a batch of 512. The others are fastest on one thread at their sizes (more
/// make dfdx's small matrix products slower: docs/PERFORMANCE.md), so `--threads auto`
/// gives them one.
pub fn uses_threads(id: &str, params: &Params) -> bool {
    match id {
        "E2" | "E3" => true,
        "E9" | "E12" | "E13" => matches!(
            params.get("batch"),
            Some(crate::spec::Value::Int(b)) if *b >= DENSE_PARALLEL_BATCH
        ),
        _ => false,
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
