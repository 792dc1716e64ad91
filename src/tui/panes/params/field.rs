//! What a row of the parameters pane edits: the seed or one parameter, shown, checked and
//! set with the same words as `--set`.

use crate::experiments;
use crate::spec::{ParamDef, Scenario, Value};

/// What a row of the editor edits.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Seed,
    /// The seeds of a sweep: a count, a range or a list (kept in the entry's grid).
    Seeds,
    Param(ParamDef),
}

impl Field {
    pub fn name(&self) -> &str {
        match self {
            Field::Seed => "seed",
            Field::Seeds => "seeds",
            Field::Param(d) => d.name,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Field::Seed => "integer",
            Field::Seeds => "seeds",
            Field::Param(d) => d.type_name(),
        }
    }

    pub fn range_short(&self) -> String {
        match self {
            Field::Seed => "0.. | random".into(),
            Field::Seeds => "N | A..B | list".into(),
            Field::Param(d) => d.range_short(),
        }
    }

    pub fn help(&self) -> &str {
        match self {
            Field::Seed => "random-number seed; empty or \"random\" draws a fresh one per run",
            Field::Seeds => {
                "seeds of a sweep: 3 means 0, 1, 2; 2..5 or 1,4,7 too; empty: one run (the seed)"
            }
            Field::Param(d) => d.help,
        }
    }

    pub fn allowed(&self) -> String {
        match self {
            Field::Seed => "an integer >= 0, or empty for a fresh seed".into(),
            Field::Seeds => "a count N, a range A..B, a list 1,4,7, or empty".into(),
            Field::Param(d) => d.allowed(),
        }
    }

    /// The value as shown in the table and pre-filled in the text field.
    pub fn show(&self, s: &Scenario) -> String {
        match self {
            Field::Seed => s.seed.map(|x| x.to_string()).unwrap_or("random".into()),
            Field::Seeds => String::new(),
            Field::Param(d) => s
                .params
                .get(d.name)
                .map(|v| v.to_string())
                .unwrap_or_default(),
        }
    }

    pub(super) fn get(&self, s: &Scenario) -> Option<Value> {
        match self {
            Field::Seed => s.seed.map(|x| Value::Int(x as i64)),
            Field::Seeds => None,
            Field::Param(d) => s.params.get(d.name).cloned(),
        }
    }

    /// Parses typed text, with the command line's messages.
    pub fn parse(&self, text: &str) -> Result<Option<Value>, String> {
        match self {
            Field::Seed => {
                let t = text.trim();
                if t.is_empty() || t.eq_ignore_ascii_case("random") {
                    return Ok(None);
                }
                t.parse::<u64>()
                    .map(|x| Some(Value::Int(x as i64)))
                    .map_err(|_| format!("got \"{t}\", allowed: {}", self.allowed()))
            }
            // the seeds and lists of values are read by `super::grid`
            Field::Seeds => Ok(None),
            Field::Param(d) => d
                .parse_str(text)
                .map(Some)
                .map_err(|m| format!("{m} ({})", d.help)),
        }
    }

    pub(super) fn set(&self, s: &mut Scenario, v: Option<Value>) {
        match (self, v) {
            (Field::Seed, Some(Value::Int(x))) => s.seed = Some(x.max(0) as u64),
            (Field::Seed, _) => s.seed = None,
            (Field::Seeds, _) => {}
            (Field::Param(d), Some(v)) => s.params.insert(d.name, v),
            (Field::Param(_), None) => {}
        }
    }
}

/// The fields of a scenario's experiment: the seed, the parameters in declared order, then
/// the seeds of a sweep.
pub fn fields_of(experiment: &str) -> Vec<Field> {
    let mut out = vec![Field::Seed];
    if let Some(def) = experiments::find(experiment) {
        out.extend((def.params)().into_iter().map(Field::Param));
    }
    out.push(Field::Seeds);
    out
}
