//! Part 2 of the spec (paper section 3): decomposition vs end-to-end, E2-E4.

use super::checks::CheckDef;
use super::ExperimentDef;

pub fn experiments() -> Vec<ExperimentDef> {
    Vec::new()
}

pub fn checks() -> Vec<CheckDef> {
    Vec::new()
}
