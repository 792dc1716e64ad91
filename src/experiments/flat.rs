//! Part 4 of the spec (paper section 5): flat activations, E10-E14.

use super::checks::CheckDef;
use super::ExperimentDef;

pub fn experiments() -> Vec<ExperimentDef> {
    Vec::new()
}

pub fn checks() -> Vec<CheckDef> {
    Vec::new()
}
