//! Scenario files and experiment parameters.
//!
//! Every experiment declares its parameters as data ([`ParamDef`]): name, kind with its allowed
//! range or choices, default and a one-line help. The TOML parser, `--set name=value` overrides
//! and the lab's editor all validate through that one definition, so their messages agree.

mod params;
pub mod presets;
mod scenario;
pub mod sweep;
mod title;

pub use params::{Kind, ParamDef, Params, Value};
pub use scenario::{load_scenario, parse_scenario, Catalog, Scenario};
pub use title::retitle;

/// What is wrong with a scenario, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    /// The scenario file, when the input came from one.
    pub file: Option<String>,
    /// 1-based line in that file.
    pub line: Option<usize>,
    /// The field, e.g. `params.d` or `experiment`.
    pub field: Option<String>,
    pub message: String,
}

impl SpecError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            file: None,
            line: None,
            field: None,
            message: message.into(),
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn at(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    pub fn in_file(mut self, file: Option<String>) -> Self {
        self.file = file;
        self
    }
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}: ")?,
            (Some(file), None) => write!(f, "{file}: ")?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for SpecError {}

/// The known name closest to `given`, if it is close enough to be a likely typo.
pub fn nearest<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let given_l = given.to_lowercase();
    known
        .into_iter()
        .map(|k| (edit_distance(&given_l, &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance between two strings, by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
