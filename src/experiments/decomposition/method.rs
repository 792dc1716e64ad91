//! What E2 and E4 share: the two ways to train (end-to-end on the primary label, or with the
//! decomposition's labels added), and the random streams of a run.

use crate::experiments::state::Stream;

use crate::nn::Objective;
use crate::spec::Params;

/// The `method` choices: which methods a run trains.
pub(super) const METHODS: &[&str] = &["both", "e2e", "dec"];
pub(super) const METHOD_HELP: &str =
    "both (end-to-end and decomposition side by side, from the same initialisation), e2e, dec";

/// The methods a run trains, with their metric prefix.
pub(super) fn methods(p: &Params) -> Vec<(Method, &'static str)> {
    match p.str("method") {
        "e2e" => vec![(Method::EndToEnd, "e2e/")],
        "dec" => vec![(Method::Decomposition, "dec/")],
        _ => vec![(Method::EndToEnd, "e2e/"), (Method::Decomposition, "dec/")],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    EndToEnd,
    Decomposition,
}

impl Method {
    pub(super) fn objective(self) -> Objective {
        match self {
            Method::EndToEnd => Objective::EndToEnd,
            Method::Decomposition => Objective::Decomposition,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Method::EndToEnd => "end-to-end",
            Method::Decomposition => "decomposition",
        }
    }
}

/// Seeds of the random streams of a run, so that each part draws the same numbers whatever
/// the others do (turning the SNR probe off, or training one method only, leaves the rest
/// unchanged).
pub(super) fn stream(seed: u64, part: u64) -> Stream {
    crate::experiments::state::stream_from(seed ^ part.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

pub(super) const INIT: u64 = 1;
pub(super) const TEST: u64 = 2;
pub(super) const PROBE: u64 = 3;
pub(super) const FIGURE: u64 = 4;
pub(super) const TRAIN: u64 = 5;
