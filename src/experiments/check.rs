//! What a **Check** of the spec is: a function that runs an experiment at a quick (CI) or full
//! (paper) budget and says whether it shows what the paper reports. Each family lists its own
//! checks beside its experiments; the registry puts them together.

/// How much compute a check may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// A reduced budget that still shows the effect (minutes on two cores, all checks).
    Quick,
    /// The paper's budgets.
    Full,
}

/// The verdict of one check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    pub id: &'static str,
    /// What the paper reports (and what the check demands).
    pub paper: String,
    /// What was measured, in numbers.
    pub measured: String,
    pub pass: bool,
    /// One line per sub-check, for `reproduce --verbose` and failures.
    pub details: Vec<String>,
}

pub type CheckFn = fn(Budget, &mut dyn FnMut(&str)) -> Result<CheckOutcome, String>;

/// One experiment's check.
pub struct CheckDef {
    pub id: &'static str,
    pub run: CheckFn,
}
