//! Scenario files: which experiment, its title and description, a seed and parameter values.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::params::{ParamDef, Params};
use super::{nearest, SpecError};

/// Where experiment ids and their parameter definitions come from (the experiment registry).
pub trait Catalog {
    /// The parameters of `experiment`, or `None` if no such experiment exists.
    fn params_of(&self, experiment: &str) -> Option<Vec<ParamDef>>;
    /// Every experiment id, for messages.
    fn experiment_ids(&self) -> Vec<&'static str>;
}

/// A validated scenario: every parameter of the experiment has a checked value.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub experiment: String,
    pub title: String,
    pub description: String,
    pub seed: Option<u64>,
    pub params: Params,
    /// The file it was read from, if any.
    pub source: Option<String>,
    /// Seconds between checkpoints (`checkpoint_every`; unset: the engine's default, a minute;
    /// 0: only when the run stops or pauses).
    pub checkpoint_every: Option<f64>,
    /// Steps whose checkpoints are kept for forks (`keep_checkpoints = [5000, 10000]`).
    pub keep_checkpoints: Vec<u64>,
}

const TOP_KEYS: [&str; 12] = [
    "experiment",
    "title",
    "description",
    "seed",
    "params",
    "sweep",
    "sweep_point",
    "task",
    "checkpoint_every",
    "keep_checkpoints",
    "fork",
    "device",
];

#[derive(Deserialize)]
struct ParamsOnly {
    params: Option<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Reads and validates a scenario file (a missing file named like a built-in preset reads
/// the preset: see [`super::presets::read_text`]).
pub fn load_scenario(path: &Path, catalog: &dyn Catalog) -> Result<Scenario, SpecError> {
    let (text, file) = super::presets::read_text(path)?;
    parse_scenario(&text, Some(&file), catalog)
}

/// Parses and validates scenario text. `file` is only used in messages.
pub fn parse_scenario(
    text: &str,
    file: Option<&str>,
    catalog: &dyn Catalog,
) -> Result<Scenario, SpecError> {
    let top: BTreeMap<Spanned<String>, Spanned<toml::Value>> =
        toml::from_str(text).map_err(|e| Parser::toml_error(text, file, e))?;
    let p = Parser { text, file, top };
    p.check_keys()?;
    let ids = catalog.experiment_ids();
    let (experiment, exp_line) = p.experiment(&ids)?;
    let defs = catalog.params_of(&experiment).ok_or_else(|| {
        let hint = nearest(&experiment, ids.iter().copied())
            .map(|n| format!("; did you mean \"{n}\"?"))
            .unwrap_or_else(|| ".".into());
        p.fail(
            exp_line,
            Some("experiment"),
            format!(
                "unknown experiment \"{experiment}\"{hint} Known: {}",
                ids.join(", ")
            ),
        )
    })?;
    let title = p.text_field("title")?.unwrap_or_else(|| experiment.clone());
    let description = p.text_field("description")?.unwrap_or_default();
    let seed = p.seed()?;
    let checkpoint_every = p.checkpoint_every()?;
    let keep_checkpoints = p.keep_checkpoints()?;
    p.device()?;
    p.tables_only(&["sweep", "sweep_point", "task", "fork"])?;
    let params = p.params(&experiment, &defs)?;
    Ok(Scenario {
        experiment,
        title,
        description,
        seed,
        params,
        source: file.map(str::to_string),
        checkpoint_every,
        keep_checkpoints,
    })
}

/// A scenario file's text and its top-level table, read with spans for the messages.
struct Parser<'a> {
    text: &'a str,
    file: Option<&'a str>,
    top: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

impl Parser<'_> {
    fn fail(&self, line: Option<usize>, field: Option<&str>, msg: String) -> SpecError {
        let mut e = SpecError::new(msg)
            .at(line)
            .in_file(self.file.map(str::to_string));
        if let Some(f) = field {
            e = e.field(f);
        }
        e
    }

    fn toml_error(text: &str, file: Option<&str>, e: toml::de::Error) -> SpecError {
        let line = e.span().map(|s| line_of(text, s.start));
        let msg = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        SpecError::new(format!("not valid TOML: {msg}"))
            .at(line)
            .in_file(file.map(str::to_string))
    }

    fn find(&self, key: &str) -> Option<(&Spanned<String>, &Spanned<toml::Value>)> {
        self.top.iter().find(|(k, _)| k.get_ref() == key)
    }

    fn line(&self, key: &Spanned<String>) -> Option<usize> {
        Some(line_of(self.text, key.span().start))
    }

    /// Every top-level key is one a scenario has.
    fn check_keys(&self) -> Result<(), SpecError> {
        for k in self.top.keys() {
            let name = k.get_ref().as_str();
            if !TOP_KEYS.contains(&name) {
                let hint = nearest(name, TOP_KEYS)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_else(|| ".".into());
                return Err(self.fail(
                    self.line(k),
                    Some(name),
                    format!("unknown key{hint} A scenario has: {}", TOP_KEYS.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// The experiment's id (and its line), as written.
    fn experiment(&self, ids: &[&str]) -> Result<(String, Option<usize>), SpecError> {
        let (exp_key, exp_val) = self.find("experiment").ok_or_else(|| {
            self.fail(
                None,
                Some("experiment"),
                format!(
                    "missing: which experiment this scenario runs, one of {}",
                    ids.join(", ")
                ),
            )
        })?;
        let exp_line = self.line(exp_key);
        match exp_val.get_ref() {
            toml::Value::String(s) => Ok((s.clone(), exp_line)),
            _ => Err(self.fail(
                exp_line,
                Some("experiment"),
                format!("expected a string, one of {}", ids.join(", ")),
            )),
        }
    }

    /// Each of `keys` that is present is a table (`[sweep]` is read by its own parser; a
    /// run's `[sweep_point]` only says which sweep made it, and a cluster task's `[task]`
    /// which run folder it writes (read by `fail-lab run`, see `slurm::task`): neither is
    /// read here).
    fn tables_only(&self, keys: &[&str]) -> Result<(), SpecError> {
        for key in keys {
            if let Some((k, v)) = self.find(key) {
                if !v.get_ref().is_table() {
                    return Err(self.fail(
                        self.line(k),
                        Some(key),
                        format!("expected a table: a [{key}] section"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn text_field(&self, key: &str) -> Result<Option<String>, SpecError> {
        match self.find(key) {
            None => Ok(None),
            Some((k, v)) => match v.get_ref() {
                toml::Value::String(s) => Ok(Some(s.clone())),
                _ => Err(self.fail(self.line(k), Some(key), "expected a string".into())),
            },
        }
    }

    /// `device`, where its networks train (`fail-lab run` reads it): checked here only.
    fn device(&self) -> Result<(), SpecError> {
        let Some((k, v)) = self.find("device") else {
            return Ok(());
        };
        let ok = match v.get_ref() {
            toml::Value::String(s) => {
                matches!(s.as_str(), "cpu" | "cuda" | "auto")
                    || s.strip_prefix("cuda:")
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            }
            _ => false,
        };
        if ok {
            return Ok(());
        }
        Err(self.fail(
            self.line(k),
            Some("device"),
            format!(
                "got {}, allowed: \"cpu\", \"cuda\", \"cuda:N\" (N a GPU number from 0) or \"auto\"",
                v.get_ref()
            ),
        ))
    }

    fn seed(&self) -> Result<Option<u64>, SpecError> {
        match self.find("seed") {
            None => Ok(None),
            Some((k, v)) => match v.get_ref() {
                toml::Value::Integer(i) if *i >= 0 => Ok(Some(*i as u64)),
                other => Err(self.fail(
                    self.line(k),
                    Some("seed"),
                    format!("got {other}, allowed: an integer >= 0"),
                )),
            },
        }
    }

    fn checkpoint_every(&self) -> Result<Option<f64>, SpecError> {
        let key = "checkpoint_every";
        match self.find(key) {
            None => Ok(None),
            Some((k, v)) => {
                let secs = match v.get_ref() {
                    toml::Value::Integer(i) => *i as f64,
                    toml::Value::Float(x) => *x,
                    _ => f64::NAN,
                };
                if secs.is_finite() && (0.0..=86_400.0).contains(&secs) {
                    Ok(Some(secs))
                } else {
                    Err(self.fail(
                        self.line(k),
                        Some(key),
                        format!(
                            "got {}, allowed: seconds between checkpoints, 0 to 86400 \
                             (0: only when the run stops or pauses)",
                            v.get_ref()
                        ),
                    ))
                }
            }
        }
    }

    fn keep_checkpoints(&self) -> Result<Vec<u64>, SpecError> {
        let key = "keep_checkpoints";
        let Some((k, v)) = self.find(key) else {
            return Ok(Vec::new());
        };
        let steps: Option<Vec<u64>> = match v.get_ref() {
            toml::Value::Array(items) => items
                .iter()
                .map(|i| i.as_integer().filter(|s| *s > 0).map(|s| s as u64))
                .collect(),
            _ => None,
        };
        let mut steps = steps.ok_or_else(|| {
            self.fail(
                self.line(k),
                Some(key),
                format!(
                    "got {}, allowed: a list of steps > 0 whose checkpoints are kept, \
                     e.g. [5000, 10000]",
                    v.get_ref()
                ),
            )
        })?;
        steps.sort_unstable();
        steps.dedup();
        Ok(steps)
    }

    /// The experiment's defaults with the `[params]` section's values, each checked.
    fn params(&self, experiment: &str, defs: &[ParamDef]) -> Result<Params, SpecError> {
        if let Some((k, v)) = self.find("params") {
            if !v.get_ref().is_table() {
                return Err(self.fail(
                    self.line(k),
                    Some("params"),
                    "expected a table of parameter values: a [params] section".into(),
                ));
            }
        }
        let mut params = Params::defaults(defs);
        let given: ParamsOnly =
            toml::from_str(self.text).map_err(|e| Self::toml_error(self.text, self.file, e))?;
        for (k, v) in given.params.unwrap_or_default() {
            let name = k.get_ref();
            let line = self.line(&k);
            let field = format!("params.{name}");
            let Some(def) = defs.iter().find(|d| d.name == name) else {
                let known: Vec<&str> = defs.iter().map(|d| d.name).collect();
                let hint = nearest(name, known.iter().copied())
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_else(|| ".".into());
                return Err(self.fail(
                    line,
                    Some(&field),
                    format!(
                        "unknown parameter for {experiment}{hint} Known: {}",
                        known.join(", ")
                    ),
                ));
            };
            let value = def
                .from_toml(v.get_ref())
                .map_err(|m| self.fail(line, Some(&field), format!("{m} ({})", def.help)))?;
            params.insert(name, value);
        }
        Ok(params)
    }
}

impl Scenario {
    /// A scenario of `experiment` with every parameter at its default.
    pub fn with_defaults(experiment: &str, catalog: &dyn Catalog) -> Option<Self> {
        let defs = catalog.params_of(experiment)?;
        Some(Self {
            experiment: experiment.to_string(),
            title: experiment.to_string(),
            description: String::new(),
            seed: None,
            params: Params::defaults(&defs),
            source: None,
            checkpoint_every: None,
            keep_checkpoints: Vec::new(),
        })
    }

    /// Applies one `name=value` override, checked like the file's values.
    pub fn set(&mut self, assignment: &str, catalog: &dyn Catalog) -> Result<(), SpecError> {
        let Some((name, value)) = assignment.split_once('=') else {
            return Err(
                SpecError::new(format!("\"{assignment}\" is not of the form name=value"))
                    .field("--set"),
            );
        };
        let name = name.trim();
        if name == "seed" {
            let seed = value.trim().parse::<u64>().map_err(|_| {
                SpecError::new(format!(
                    "got \"{}\", allowed: an integer >= 0",
                    value.trim()
                ))
                .field("--set seed")
            })?;
            self.seed = Some(seed);
            return Ok(());
        }
        let defs = catalog.params_of(&self.experiment).unwrap_or_default();
        let Some(def) = defs.iter().find(|d| d.name == name) else {
            let known: Vec<&str> = defs.iter().map(|d| d.name).collect();
            let hint = nearest(name, known.iter().copied())
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_else(|| ".".into());
            return Err(SpecError::new(format!(
                "unknown parameter for {}{hint} Known: {}",
                self.experiment,
                known.join(", ")
            ))
            .field(format!("--set {name}")));
        };
        let v = def.parse_str(value).map_err(|m| {
            SpecError::new(format!("{m} ({})", def.help)).field(format!("--set {name}"))
        })?;
        let before = self.params.clone();
        self.params.insert(name, v);
        self.retitle_from(&before);
        Ok(())
    }

    /// Tells in the title the values that differ from `before`, those the title was written
    /// for (see [`super::retitle`]).
    pub fn retitle_from(&mut self, before: &Params) {
        let changes: Vec<(String, String)> = self
            .params
            .differing(before)
            .into_iter()
            .map(|k| {
                let v = self
                    .params
                    .get(k)
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                (k.to_string(), v)
            })
            .collect();
        self.title = super::retitle(&self.title, &changes);
    }

    /// The scenario as a TOML file (what `runs/<id>/spec.toml` holds, with the resolved seed).
    pub fn to_toml(&self) -> String {
        let s = |v: &str| toml::Value::String(v.to_string()).to_string();
        let mut out = format!(
            "experiment = {}\ntitle = {}\n",
            s(&self.experiment),
            s(&self.title)
        );
        if !self.description.is_empty() {
            out.push_str(&format!("description = {}\n", s(&self.description)));
        }
        if let Some(seed) = self.seed {
            out.push_str(&format!("seed = {seed}\n"));
        }
        if let Some(secs) = self.checkpoint_every {
            out.push_str(&format!(
                "checkpoint_every = {}\n",
                toml::Value::Float(secs)
            ));
        }
        if !self.keep_checkpoints.is_empty() {
            let steps: Vec<String> = self.keep_checkpoints.iter().map(u64::to_string).collect();
            out.push_str(&format!("keep_checkpoints = [{}]\n", steps.join(", ")));
        }
        out.push_str("\n[params]\n");
        for (k, v) in self.params.iter() {
            out.push_str(&format!("{k} = {}\n", v.to_toml()));
        }
        out
    }
}
