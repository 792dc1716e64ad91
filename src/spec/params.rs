//! Parameter definitions, values and validation.

use std::collections::BTreeMap;

/// A parameter's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    IntList(Vec<i64>),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{}", fmt_float(*v)),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Str(v) => write!(f, "{v}"),
            Value::IntList(v) => {
                let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                write!(f, "[{}]", parts.join(", "))
            }
        }
    }
}

/// Shortest faithful rendering of a float (`0.01`, `1e-5`, `50000`).
pub fn fmt_float(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e6) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

impl Value {
    /// The value as TOML.
    pub fn to_toml(&self) -> toml::Value {
        match self {
            Value::Int(v) => toml::Value::Integer(*v),
            Value::Float(v) => toml::Value::Float(*v),
            Value::Bool(v) => toml::Value::Boolean(*v),
            Value::Str(v) => toml::Value::String(v.clone()),
            Value::IntList(v) => {
                toml::Value::Array(v.iter().map(|x| toml::Value::Integer(*x)).collect())
            }
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Int(v) => serde_json::json!(v),
            Value::Float(v) => serde_json::json!(v),
            Value::Bool(v) => serde_json::json!(v),
            Value::Str(v) => serde_json::json!(v),
            Value::IntList(v) => serde_json::json!(v),
        }
    }
}

/// The kind of a parameter with what it allows.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Int {
        min: i64,
        max: i64,
    },
    /// `min_open`: the minimum itself is not allowed (e.g. a learning rate `> 0`).
    Float {
        min: f64,
        max: f64,
        min_open: bool,
    },
    Bool,
    Choice(&'static [&'static str]),
    IntList {
        min: i64,
        max: i64,
        max_len: usize,
    },
}

/// One parameter of an experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDef {
    pub name: &'static str,
    pub kind: Kind,
    pub default: Value,
    pub help: &'static str,
}

impl ParamDef {
    pub fn int(name: &'static str, default: i64, min: i64, max: i64, help: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Int { min, max },
            default: Value::Int(default),
            help,
        }
    }

    /// A float in `[min, max]`.
    pub fn float(name: &'static str, default: f64, min: f64, max: f64, help: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Float {
                min,
                max,
                min_open: false,
            },
            default: Value::Float(default),
            help,
        }
    }

    /// A float in `(min, max]`, e.g. a learning rate.
    pub fn positive(name: &'static str, default: f64, max: f64, help: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Float {
                min: 0.0,
                max,
                min_open: true,
            },
            default: Value::Float(default),
            help,
        }
    }

    pub fn boolean(name: &'static str, default: bool, help: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Bool,
            default: Value::Bool(default),
            help,
        }
    }

    pub fn choice(
        name: &'static str,
        default: &'static str,
        choices: &'static [&'static str],
        help: &'static str,
    ) -> Self {
        Self {
            name,
            kind: Kind::Choice(choices),
            default: Value::Str(default.to_string()),
            help,
        }
    }

    pub fn int_list(
        name: &'static str,
        default: &[i64],
        min: i64,
        max: i64,
        max_len: usize,
        help: &'static str,
    ) -> Self {
        Self {
            name,
            kind: Kind::IntList { min, max, max_len },
            default: Value::IntList(default.to_vec()),
            help,
        }
    }

    /// The type name shown to users.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Int { .. } => "integer",
            Kind::Float { .. } => "number",
            Kind::Bool => "boolean",
            Kind::Choice(_) => "choice",
            Kind::IntList { .. } => "list of integers",
        }
    }

    /// What the parameter allows, in words: `2..=30`, `> 0 and <= 10`, `sgd | adam`.
    pub fn allowed(&self) -> String {
        match &self.kind {
            Kind::Int { min, max } => format!("an integer in {min}..={max}"),
            Kind::Float { min, max, min_open } => {
                let lo = if *min_open { "> " } else { ">= " };
                if max.is_finite() {
                    format!(
                        "a number {lo}{} and <= {}",
                        fmt_float(*min),
                        fmt_float(*max)
                    )
                } else {
                    format!("a number {lo}{}", fmt_float(*min))
                }
            }
            Kind::Bool => "true or false".into(),
            Kind::Choice(c) => format!("one of {}", c.join(", ")),
            Kind::IntList { min, max, max_len } => {
                format!("a list of 1 to {max_len} integers, each in {min}..={max}")
            }
        }
    }

    /// Short form of the allowed range for tables: `2..=30`, `>0`, `sgd|adam`.
    pub fn range_short(&self) -> String {
        match &self.kind {
            Kind::Int { min, max } => format!("{min}..{max}"),
            Kind::Float { min, max, min_open } => {
                let lo = if *min_open { ">" } else { ">=" };
                if max.is_finite() {
                    format!("{lo}{} ..{}", fmt_float(*min), fmt_float(*max))
                } else {
                    format!("{lo}{}", fmt_float(*min))
                }
            }
            Kind::Bool => "true|false".into(),
            Kind::Choice(c) => c.join("|"),
            Kind::IntList { min, max, .. } => format!("[{min}..{max}, ...]"),
        }
    }

    /// Checks a value against the kind and range; integers are accepted where numbers are.
    pub fn check(&self, v: Value) -> Result<Value, String> {
        let bad = |v: &dyn std::fmt::Display| format!("got {v}, allowed: {}", self.allowed());
        match (&self.kind, v) {
            (Kind::Int { min, max }, Value::Int(x)) => {
                if x < *min || x > *max {
                    Err(bad(&x))
                } else {
                    Ok(Value::Int(x))
                }
            }
            (Kind::Float { .. }, Value::Int(x)) => self.check(Value::Float(x as f64)),
            (Kind::Float { min, max, min_open }, Value::Float(x)) => {
                let low_ok = if *min_open { x > *min } else { x >= *min };
                if !x.is_finite() || !low_ok || x > *max {
                    Err(bad(&fmt_float(x)))
                } else {
                    Ok(Value::Float(x))
                }
            }
            (Kind::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
            (Kind::Choice(c), Value::Str(s)) => {
                if c.contains(&s.as_str()) {
                    Ok(Value::Str(s))
                } else {
                    let hint = super::nearest(&s, c.iter().copied())
                        .map(|n| format!(" (did you mean {n}?)"))
                        .unwrap_or_default();
                    Err(format!("got \"{s}\", allowed: {}{hint}", self.allowed()))
                }
            }
            (Kind::IntList { min, max, max_len }, Value::IntList(xs)) => {
                if xs.is_empty() || xs.len() > *max_len {
                    return Err(format!(
                        "got {} values, allowed: {}",
                        xs.len(),
                        self.allowed()
                    ));
                }
                if let Some(x) = xs.iter().find(|x| **x < *min || **x > *max) {
                    return Err(format!("got {x} in the list, allowed: {}", self.allowed()));
                }
                Ok(Value::IntList(xs))
            }
            (_, v) => Err(format!(
                "expected {} ({}), got {}",
                self.type_name(),
                self.allowed(),
                describe(&v)
            )),
        }
    }

    /// Parses text typed by a user (`--set`, the lab's editor) and checks it.
    pub fn parse_str(&self, text: &str) -> Result<Value, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err(format!("no value given, allowed: {}", self.allowed()));
        }
        let v = match &self.kind {
            Kind::Int { .. } => Value::Int(parse_int(t).ok_or_else(|| {
                format!("\"{t}\" is not an integer, allowed: {}", self.allowed())
            })?),
            Kind::Float { .. } => Value::Float(
                t.replace('_', "")
                    .parse::<f64>()
                    .map_err(|_| format!("\"{t}\" is not a number, allowed: {}", self.allowed()))?,
            ),
            Kind::Bool => Value::Bool(match t.to_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => true,
                "false" | "no" | "off" | "0" => false,
                _ => return Err(format!("\"{t}\" is not a boolean, allowed: true or false")),
            }),
            Kind::Choice(_) => Value::Str(t.trim_matches('"').to_string()),
            Kind::IntList { .. } => {
                let inner = t.trim_start_matches('[').trim_end_matches(']');
                let mut xs = Vec::new();
                for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    xs.push(parse_int(part).ok_or_else(|| {
                        format!("\"{part}\" is not an integer, allowed: {}", self.allowed())
                    })?);
                }
                Value::IntList(xs)
            }
        };
        self.check(v)
    }

    /// Converts a TOML value and checks it.
    pub fn from_toml(&self, v: &toml::Value) -> Result<Value, String> {
        let value = match v {
            toml::Value::Integer(i) => Value::Int(*i),
            toml::Value::Float(x) => {
                if matches!(self.kind, Kind::Int { .. }) && x.fract() == 0.0 && x.abs() < 9e15 {
                    Value::Int(*x as i64)
                } else {
                    Value::Float(*x)
                }
            }
            toml::Value::Boolean(b) => Value::Bool(*b),
            toml::Value::String(s) => Value::Str(s.clone()),
            toml::Value::Array(items) => {
                let mut xs = Vec::new();
                for item in items {
                    match item {
                        toml::Value::Integer(i) => xs.push(*i),
                        other => {
                            return Err(format!(
                                "expected {} ({}), got a list holding {}",
                                self.type_name(),
                                self.allowed(),
                                toml_type(other)
                            ))
                        }
                    }
                }
                Value::IntList(xs)
            }
            other => {
                return Err(format!(
                    "expected {} ({}), got {}",
                    self.type_name(),
                    self.allowed(),
                    toml_type(other)
                ))
            }
        };
        self.check(value)
    }
}

fn parse_int(t: &str) -> Option<i64> {
    let t = t.replace('_', "");
    if let Ok(i) = t.parse::<i64>() {
        return Some(i);
    }
    // 5e3, 1e4: integral values written as floats
    let x = t.parse::<f64>().ok()?;
    (x.fract() == 0.0 && x.abs() < 9e15).then_some(x as i64)
}

fn describe(v: &Value) -> String {
    match v {
        Value::Int(i) => format!("the integer {i}"),
        Value::Float(x) => format!("the number {}", fmt_float(*x)),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Str(s) => format!("the string \"{s}\""),
        Value::IntList(xs) => format!("the list {}", Value::IntList(xs.clone())),
    }
}

fn toml_type(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a number",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}

/// A complete, validated set of parameter values (every declared parameter has one).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Params {
    values: BTreeMap<String, Value>,
}

impl Params {
    /// Every parameter at its default.
    pub fn defaults(defs: &[ParamDef]) -> Self {
        Self {
            values: defs
                .iter()
                .map(|d| (d.name.to_string(), d.default.clone()))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// Sets a value without checking it (callers check through [`ParamDef`]).
    pub fn insert(&mut self, name: &str, v: Value) {
        self.values.insert(name.to_string(), v);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    fn missing(&self, name: &str, what: &str) -> ! {
        panic!("experiment asked for {what} parameter `{name}`, which it does not declare")
    }

    pub fn int(&self, name: &str) -> i64 {
        match self.values.get(name) {
            Some(Value::Int(v)) => *v,
            _ => self.missing(name, "integer"),
        }
    }

    pub fn usize(&self, name: &str) -> usize {
        self.int(name).max(0) as usize
    }

    pub fn float(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(Value::Float(v)) => *v,
            Some(Value::Int(v)) => *v as f64,
            _ => self.missing(name, "number"),
        }
    }

    pub fn bool(&self, name: &str) -> bool {
        match self.values.get(name) {
            Some(Value::Bool(v)) => *v,
            _ => self.missing(name, "boolean"),
        }
    }

    pub fn str(&self, name: &str) -> &str {
        match self.values.get(name) {
            Some(Value::Str(v)) => v,
            _ => self.missing(name, "choice"),
        }
    }

    pub fn int_list(&self, name: &str) -> &[i64] {
        match self.values.get(name) {
            Some(Value::IntList(v)) => v,
            _ => self.missing(name, "list"),
        }
    }

    /// The values as a TOML table.
    pub fn to_toml(&self) -> toml::Table {
        self.values
            .iter()
            .map(|(k, v)| (k.clone(), v.to_toml()))
            .collect()
    }

    /// The values as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.values
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        )
    }

    /// The parameters whose values differ from `other`'s (by name, sorted).
    pub fn differing<'a>(&'a self, other: &'a Params) -> Vec<&'a str> {
        self.values
            .iter()
            .filter(|(k, v)| other.values.get(*k) != Some(*v))
            .map(|(k, _)| k.as_str())
            .collect()
    }
}
