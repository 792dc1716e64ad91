//! Part 3 of the spec (paper section 4): architecture and conditioning, E5-E9.

use super::checks::CheckDef;
use super::ExperimentDef;

pub fn experiments() -> Vec<ExperimentDef> {
    Vec::new()
}

pub fn checks() -> Vec<CheckDef> {
    Vec::new()
}
