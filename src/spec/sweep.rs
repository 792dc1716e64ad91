//! The grid of a sweep as written: a scenario file's `[sweep]` table, `--grid name=v1,v2`
//! and seed specs (`3` for 0..3, `"2..5"`, `[1, 4]` or `1,4`). Each value is checked with its
//! parameter's own definition, so the messages are those of `[params]` and `--set`.

use std::collections::BTreeMap;

use toml::Spanned;

use super::params::{Kind, ParamDef, Value};
use super::scenario::line_of;
use super::{nearest, Catalog, SpecError};

/// One swept parameter and its values, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub name: String,
    pub values: Vec<Value>,
}

/// A `[sweep]` table: the axes in file order and the seeds, if given.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SweepTable {
    pub axes: Vec<Axis>,
    pub seeds: Option<Vec<u64>>,
}

impl SweepTable {
    /// The table as a scenario file's `[sweep]` (empty when it sweeps nothing): each axis
    /// in order, then the seeds (`seeds = N` for seeds 0..N-1, else the list). What
    /// [`parse_sweep_table`] reads back as the same table.
    pub fn to_toml(&self) -> String {
        if self.axes.is_empty() && self.seeds.is_none() {
            return String::new();
        }
        let mut out = String::from("\n[sweep]\n");
        for a in &self.axes {
            let values = toml::Value::Array(a.values.iter().map(|v| v.to_toml()).collect());
            out.push_str(&format!("{} = {values}\n", a.name));
        }
        if let Some(seeds) = &self.seeds {
            let counted = seeds.iter().enumerate().all(|(i, s)| *s == i as u64);
            if counted && !seeds.is_empty() {
                out.push_str(&format!("seeds = {}\n", seeds.len()));
            } else {
                let list: Vec<String> = seeds.iter().map(u64::to_string).collect();
                out.push_str(&format!("seeds = [{}]\n", list.join(", ")));
            }
        }
        out
    }
}

/// The most runs one sweep may start (grid points x seeds).
pub const MAX_RUNS: usize = 10_000;

const SEEDS_ALLOWED: &str =
    "a count N >= 1 (seeds 0..N-1), a range \"A..B\" with A < B (A to B-1), or a list of \
     distinct integers >= 0";

/// Parses a seed spec typed by a user: `3`, `2..5` or `1,4,7`.
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let t = text.trim();
    let bad = || format!("\"{t}\" is not a seed spec, allowed: {SEEDS_ALLOWED}");
    let seeds: Vec<u64> = if let Some((a, b)) = t.split_once("..") {
        let a: u64 = a.trim().parse().map_err(|_| bad())?;
        let b: u64 = b.trim().parse().map_err(|_| bad())?;
        if a >= b {
            return Err(format!(
                "the range \"{t}\" holds no seed, allowed: {SEEDS_ALLOWED}"
            ));
        }
        (a..b).collect()
    } else if t.contains(',') {
        let mut xs = Vec::new();
        for part in t.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            xs.push(part.parse::<u64>().map_err(|_| bad())?);
        }
        xs
    } else {
        let n: u64 = t.parse().map_err(|_| bad())?;
        count(n)?
    };
    checked_list(seeds)
}

fn count(n: u64) -> Result<Vec<u64>, String> {
    if n == 0 {
        return Err(format!("0 seeds make no run, allowed: {SEEDS_ALLOWED}"));
    }
    if n > MAX_RUNS as u64 {
        return Err(format!(
            "{n} seeds are more than a sweep may run (at most {MAX_RUNS} runs)"
        ));
    }
    Ok((0..n).collect())
}

fn checked_list(seeds: Vec<u64>) -> Result<Vec<u64>, String> {
    if seeds.is_empty() {
        return Err(format!("no seed given, allowed: {SEEDS_ALLOWED}"));
    }
    for (i, s) in seeds.iter().enumerate() {
        if seeds[..i].contains(s) {
            return Err(format!("seed {s} is given twice, allowed: {SEEDS_ALLOWED}"));
        }
    }
    Ok(seeds)
}

/// A seed spec from TOML: an integer count, a string spec or an array of integers.
pub fn seeds_from_toml(v: &toml::Value) -> Result<Vec<u64>, String> {
    match v {
        toml::Value::Integer(n) if *n >= 0 => count(*n as u64),
        toml::Value::String(s) => parse_seeds(s),
        toml::Value::Array(items) => {
            let mut xs = Vec::new();
            for item in items {
                match item.as_integer() {
                    Some(i) if i >= 0 => xs.push(i as u64),
                    _ => return Err(format!("got {item} in the list, allowed: {SEEDS_ALLOWED}")),
                }
            }
            checked_list(xs)
        }
        other => Err(format!("got {other}, allowed: {SEEDS_ALLOWED}")),
    }
}

fn unknown_param(experiment: &str, name: &str, defs: &[ParamDef]) -> String {
    let known: Vec<&str> = defs.iter().map(|d| d.name).collect();
    let hint = nearest(name, known.iter().copied())
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_else(|| ".".into());
    format!(
        "unknown parameter for {experiment}{hint} Known: {}",
        known.join(", ")
    )
}

/// Parses `--grid name=v1,v2,...` for `experiment`. Values of a list parameter are separated
/// by `;` (`--grid widths=[8,8];[16]`), all others by `,`.
pub fn parse_grid_arg(
    arg: &str,
    experiment: &str,
    catalog: &dyn Catalog,
) -> Result<Axis, SpecError> {
    let Some((name, values)) = arg.split_once('=') else {
        return Err(
            SpecError::new(format!("\"{arg}\" is not of the form name=v1,v2,...")).field("--grid"),
        );
    };
    let name = name.trim();
    let field = format!("--grid {name}");
    let defs = catalog.params_of(experiment).unwrap_or_default();
    let Some(def) = defs.iter().find(|d| d.name == name) else {
        let msg = if name == "seed" || name == "seeds" {
            "seeds are given with --seeds (a count, a range A..B or a list)".to_string()
        } else {
            unknown_param(experiment, name, &defs)
        };
        return Err(SpecError::new(msg).field(field));
    };
    let sep = if matches!(def.kind, Kind::IntList { .. }) {
        ';'
    } else {
        ','
    };
    let mut out = Vec::new();
    for part in values.split(sep).map(str::trim).filter(|p| !p.is_empty()) {
        let v = def
            .parse_str(part)
            .map_err(|m| SpecError::new(format!("{m} ({})", def.help)).field(field.clone()))?;
        out.push(v);
    }
    distinct(&out).map_err(|m| SpecError::new(m).field(field.clone()))?;
    if out.is_empty() {
        return Err(SpecError::new(format!(
            "no value given, allowed: a list of values separated by `{sep}`, each {}",
            def.allowed()
        ))
        .field(field));
    }
    Ok(Axis {
        name: name.to_string(),
        values: out,
    })
}

/// Reads the `[sweep]` table of a scenario file of `experiment` (none: an empty table).
pub fn parse_sweep_table(
    text: &str,
    file: Option<&str>,
    experiment: &str,
    catalog: &dyn Catalog,
) -> Result<SweepTable, SpecError> {
    #[derive(serde::Deserialize)]
    struct SweepOnly {
        sweep: Option<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    }
    let fail = |line: usize, field: String, msg: String| {
        SpecError::new(msg)
            .at(Some(line))
            .field(field)
            .in_file(file.map(str::to_string))
    };
    let parsed: SweepOnly = toml::from_str(text).map_err(|e| {
        SpecError::new(format!("[sweep]: {}", e.message())).in_file(file.map(str::to_string))
    })?;
    let mut entries: Vec<_> = parsed.sweep.unwrap_or_default().into_iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    let defs = catalog.params_of(experiment).unwrap_or_default();
    let mut table = SweepTable::default();
    for (k, v) in entries {
        let name = k.get_ref().as_str();
        let line = line_of(text, k.span().start);
        let field = format!("sweep.{name}");
        if name == "seeds" {
            let seeds = seeds_from_toml(v.get_ref()).map_err(|m| fail(line, field, m))?;
            table.seeds = Some(seeds);
            continue;
        }
        let Some(def) = defs.iter().find(|d| d.name == name) else {
            let msg = if name == "seed" {
                "a sweep's seeds are `seeds = N`, `seeds = \"A..B\"` or `seeds = [..]`".into()
            } else {
                unknown_param(experiment, name, &defs)
            };
            return Err(fail(line, field, msg));
        };
        let values = axis_values(def, v.get_ref()).map_err(|m| fail(line, field, m))?;
        table.axes.push(Axis {
            name: name.to_string(),
            values,
        });
    }
    Ok(table)
}

/// The values of one `[sweep]` entry: an array of values (for a list parameter, an array of
/// arrays), each checked by the parameter's definition.
fn axis_values(def: &ParamDef, v: &toml::Value) -> Result<Vec<Value>, String> {
    let list_kind = matches!(def.kind, Kind::IntList { .. });
    let toml::Value::Array(items) = v else {
        return Err(format!(
            "expected an array of values to sweep, e.g. [{}]; each {}",
            if list_kind { "[1, 2], [3]" } else { "1, 2" },
            def.allowed()
        ));
    };
    if items.is_empty() {
        return Err(format!(
            "an empty list sweeps nothing, allowed: one or more values, each {}",
            def.allowed()
        ));
    }
    if list_kind && !items.iter().all(|i| i.is_array()) {
        return Err(format!(
            "{} is a list parameter: sweep it with an array of lists, e.g. [[1, 2], [3]]",
            def.name
        ));
    }
    let values = items
        .iter()
        .map(|item| {
            def.from_toml(item)
                .map_err(|m| format!("{m} ({})", def.help))
        })
        .collect::<Result<Vec<_>, _>>()?;
    distinct(&values)?;
    Ok(values)
}

/// An axis names each value once (a repeated value would run the same point twice).
fn distinct(values: &[Value]) -> Result<(), String> {
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(format!(
                "the value {v} is given twice; each grid value once (more runs of a point \
                 are more seeds)"
            ));
        }
    }
    Ok(())
}

/// Reads a scenario file and its `[sweep]` table (empty when the file has none).
pub fn load_sweep(
    path: &std::path::Path,
    catalog: &dyn Catalog,
) -> Result<(super::Scenario, SweepTable), SpecError> {
    let (text, file) = super::presets::read_text(path)?;
    let scenario = super::parse_scenario(&text, Some(&file), catalog)?;
    let table = parse_sweep_table(&text, Some(&file), &scenario.experiment, catalog)?;
    Ok((scenario, table))
}
