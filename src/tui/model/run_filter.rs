//! The runs table's filter: words that must all match a run.
//!
//! - `d=30`, `lr>0.01`, `k<=3`, `optimizer!=sgd`: a parameter (or `seed`), compared as a
//!   number when both sides are numbers, else as text (`=` and `!=` only);
//! - `status=failed`, `exp=E2`: the run's status and experiment;
//! - `acc>0.9`, `test_accuracy>=0.99`: a metric's latest value, by its name or a part of it
//!   (the run's main metric first);
//! - any other word: a part of the run's label, title, experiment or parameters.

use crate::spec::Value;

use super::run_row::RunRow;

/// How a term compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Eq => o == Equal,
            Op::Ne => o != Equal,
            Op::Gt => o == Greater,
            Op::Ge => o != Less,
            Op::Lt => o == Less,
            Op::Le => o != Greater,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Term {
    /// `key op value`.
    Compare { key: String, op: Op, value: String },
    /// A part of the run's text.
    Word(String),
}

/// A parsed filter, with the text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub text: String,
    terms: Vec<Term>,
}

const OPS: [(&str, Op); 6] = [
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("!=", Op::Ne),
    ("=", Op::Eq),
    (">", Op::Gt),
    ("<", Op::Lt),
];

impl Filter {
    /// Parses the words of a filter; a word that compares must have a key and a value, and
    /// an order (`>`, `<`, ...) needs a number.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut terms = Vec::new();
        for word in join_operators(text) {
            terms.push(parse_term(&word)?);
        }
        Ok(Filter {
            text: text.trim().to_string(),
            terms,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// True if every word matches the run.
    pub fn matches(&self, r: &RunRow) -> bool {
        self.terms.iter().all(|t| match t {
            Term::Word(w) => haystack(r).contains(w.as_str()),
            Term::Compare { key, op, value } => compare(r, key, *op, value),
        })
    }
}

/// The words of a filter, with a comparison written with spaces (`d = 30`, `acc> 0.9`) made
/// one word again.
fn join_operators(text: &str) -> Vec<String> {
    let is_op = |w: &str| OPS.iter().any(|(sym, _)| w == *sym);
    let ends_op = |w: &str| OPS.iter().any(|(sym, _)| w.ends_with(sym));
    let starts_op = |w: &str| OPS.iter().any(|(sym, _)| w.starts_with(sym));
    let mut out: Vec<String> = Vec::new();
    let mut glue = false;
    for w in text.split_whitespace() {
        match out.last_mut() {
            Some(last) if glue || is_op(w) || starts_op(w) => {
                last.push_str(w);
                glue = is_op(w) || (glue && ends_op(w) && !starts_op(w));
            }
            _ => {
                out.push(w.to_string());
                glue = ends_op(w);
            }
        }
    }
    out
}

fn parse_term(word: &str) -> Result<Term, String> {
    let Some((at, sym, op)) = OPS
        .iter()
        .filter_map(|(sym, op)| word.find(sym).map(|i| (i, *sym, *op)))
        .min_by_key(|(i, sym, _)| (*i, std::cmp::Reverse(sym.len())))
    else {
        return Ok(Term::Word(word.to_lowercase()));
    };
    let key = &word[..at];
    let value = &word[at + sym.len()..];
    if key.is_empty() {
        return Err(format!(
            "{word}: a name before {sym} (a parameter, status, exp or a metric)"
        ));
    }
    if value.is_empty() {
        return Err(format!("{word}: a value after {sym}"));
    }
    if !matches!(op, Op::Eq | Op::Ne) && value.parse::<f64>().is_err() {
        return Err(format!("{word}: {sym} needs a number, got \"{value}\""));
    }
    Ok(Term::Compare {
        key: key.to_lowercase(),
        op,
        value: value.to_string(),
    })
}

/// The run's words, lower case: label, title, experiment and its name, status, parameters.
fn haystack(r: &RunRow) -> String {
    let s = &r.state;
    let name = crate::experiments::find(&s.experiment).map_or("", |d| d.name);
    let params: Vec<String> = s.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "#{} {} {} {} {} {}",
        r.num,
        s.title,
        s.experiment,
        name,
        s.status.label(),
        params.join(" ")
    )
    .to_lowercase()
}

/// What `key` is for this run: a number or a text, if it has it.
enum Field {
    Number(f64),
    Text(String),
}

fn field(r: &RunRow, key: &str) -> Option<Field> {
    let s = &r.state;
    match key {
        "status" => return Some(Field::Text(s.status.label().to_lowercase())),
        "exp" | "experiment" => return Some(Field::Text(s.experiment.to_lowercase())),
        "seed" => return s.seed.map(|x| Field::Number(x as f64)),
        _ => {}
    }
    if let Some((_, v)) = s.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
        return Some(match v {
            Value::Int(i) => Field::Number(*i as f64),
            Value::Float(x) => Field::Number(*x),
            other => Field::Text(other.to_string().to_lowercase()),
        });
    }
    let names = r.metric_names();
    let metric = names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(key))
        .or_else(|| names.iter().find(|n| n.to_lowercase().contains(key)))?;
    s.latest(metric).map(Field::Number)
}

fn compare(r: &RunRow, key: &str, op: Op, value: &str) -> bool {
    let Some(f) = field(r, key) else {
        return false;
    };
    match (f, value.parse::<f64>()) {
        (Field::Number(x), Ok(y)) => x.partial_cmp(&y).is_some_and(|o| op.holds(o)),
        (Field::Text(t), _) if matches!(op, Op::Eq | Op::Ne) => {
            op.holds(t.cmp(&value.to_lowercase()))
        }
        (Field::Number(x), Err(_)) if matches!(op, Op::Eq | Op::Ne) => {
            op.holds(crate::tui::fmt::value(x).cmp(&value.to_string()))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{RunState, Status};
    use crate::experiments::params_with;

    fn row(num: usize, d: i64, status: Status, acc: f64) -> RunRow {
        let params = params_with("E1", &[("d", &d.to_string()), ("lr", "0.05")]).unwrap();
        let mut s = RunState::new("id", "E1", &format!("Random parity, d = {d}"), params);
        s.status = status;
        s.seed = Some(num as u64);
        s.metrics
            .entry("test_accuracy".into())
            .or_default()
            .push(10, acc);
        let mut runs = crate::tui::model::run_list::Runs::new(vec![s]);
        let mut r = runs.rows.remove(0);
        r.num = num;
        r
    }

    fn hits(text: &str, rows: &[RunRow]) -> Vec<usize> {
        let f = Filter::parse(text).unwrap();
        rows.iter()
            .filter(|r| f.matches(r))
            .map(|r| r.num)
            .collect()
    }

    #[test]
    fn words_compare_parameters_status_and_metrics() {
        let rows = vec![
            row(1, 5, Status::Finished, 1.0),
            row(2, 30, Status::Failed, 0.5),
            row(3, 10, Status::Running, 0.93),
        ];
        assert_eq!(hits("d=30", &rows), vec![2]);
        assert_eq!(hits("d>=10", &rows), vec![2, 3]);
        assert_eq!(hits("d<10", &rows), vec![1]);
        assert_eq!(hits("d!=5 status=running", &rows), vec![3]);
        assert_eq!(hits("status=failed", &rows), vec![2]);
        assert_eq!(hits("acc>0.9", &rows), vec![1, 3]);
        assert_eq!(hits("test_accuracy<=0.5", &rows), vec![2]);
        assert_eq!(hits("lr>0.01", &rows), vec![1, 2, 3]);
        assert_eq!(hits("lr>0.1", &rows), Vec::<usize>::new());
        assert_eq!(hits("optimizer=SGD", &rows), vec![1, 2, 3]);
        assert_eq!(hits("exp=e1 seed=2", &rows), vec![2]);
        // words: a part of the title, the parameters, the status
        assert_eq!(
            hits("d = 10", &rows),
            vec![3],
            "spaces around = are one comparison"
        );
        assert_eq!(hits("d >= 10 status= running", &rows), vec![3]);
        assert_eq!(hits("parity fail", &rows), vec![2]);
        assert_eq!(hits("d=5", &rows), vec![1]);
        assert_eq!(hits("#3", &rows), vec![3]);
        // a name no run has matches nothing
        assert_eq!(hits("nosuch>1", &rows), Vec::<usize>::new());
        assert!(Filter::parse("   ").unwrap().is_empty());
    }

    #[test]
    fn bad_words_say_what_is_missing() {
        assert_eq!(
            Filter::parse("lr>abc").unwrap_err(),
            "lr>abc: > needs a number, got \"abc\""
        );
        assert_eq!(Filter::parse("d=").unwrap_err(), "d=: a value after =");
        assert!(Filter::parse(">=3")
            .unwrap_err()
            .contains("a name before >="));
        assert!(Filter::parse("d>=3 k<x").is_err());
    }
}
