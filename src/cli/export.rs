//! `fail-lab export`: every metric point in long form, one row per run (`--summary`), or
//! one row per group and metric (`--groups`: a sweep's grid points, or runs that differ only
//! in the seed), as CSV or JSON. Non-finite values are written as the run files write them
//! (`NaN`, `inf`, `-inf`).

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{json, Map, Value as Json};

use super::targets::{check_names, emit, metric_names, resolve, Targets};
use fail_lab::engine::RunState;
use fail_lab::experiments::ctx::json_number;
use fail_lab::stats::fit::Growth;
use fail_lab::stats::format::count_name;
use fail_lab::sweep::group::sorted_names;
use fail_lab::sweep::scaling::{by_series, ScalePoint, Scaling};
use fail_lab::sweep::{self, group_runs, Aggregate, Measure};

#[derive(Args)]
pub struct ExportArgs {
    /// Runs by id (a folder in the runs folder) or folder, or a sweep's id (all its runs)
    #[arg(required = true, value_name = "RUN_OR_SWEEP")]
    targets: Vec<String>,
    /// Output format
    #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
    format: String,
    /// Only these metrics: --metrics test_accuracy,train_loss
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    metrics: Vec<String>,
    /// One row per run: its parameters and final (summary) values
    #[arg(long, conflicts_with = "groups")]
    summary: bool,
    /// One row per group and summary metric: mean, sd, min and max over the group's
    /// finished runs (a sweep's grid points, or runs that differ only in the seed)
    #[arg(long)]
    groups: bool,
    /// With --groups: fit a growth law to each summary metric against a swept numeric
    /// parameter (power: y = a·x^b; exp: y = a·e^(b·x)), a fit per combination of the other
    /// swept parameters; groups fewer than half of whose runs reached a threshold are
    /// counted as censored, not fitted
    #[arg(long, requires = "groups", value_name = "LAW", value_parser = ["power", "exp"])]
    fit: Option<String>,
    /// The swept parameter to fit against (needed when several numeric ones are swept)
    #[arg(long = "x", requires = "fit", value_name = "PARAM")]
    fit_x: Option<String>,
    /// Write to this file instead of stdout
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
}

/// A table: its header and rows of cells.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// A number as the run files write it: JSON's form, or `NaN` / `inf` / `-inf`.
pub fn number_cell(v: f64) -> String {
    match json_number(v) {
        Json::String(s) => s,
        other => other.to_string(),
    }
}

fn param_cell(run: &RunState, name: &str) -> String {
    run.params
        .get(name)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

fn seed_cell(run: &RunState) -> String {
    run.seed.map(|s| s.to_string()).unwrap_or_default()
}

/// The parameters the export names in columns: a sweep's axes, else those that differ
/// among the runs.
fn swept(t: &Targets) -> Vec<String> {
    if let Some((rec, _)) = &t.sweep {
        return rec.grid.iter().map(|a| a.name.clone()).collect();
    }
    let mut names: Vec<String> = match t.runs.first() {
        Some(first) => t
            .runs
            .iter()
            .flat_map(|r| r.params.differing(&first.params))
            .map(str::to_string)
            .collect(),
        None => Vec::new(),
    };
    names.sort();
    names.dedup();
    names
}

pub fn main(args: &ExportArgs, runs_dir: &Path) -> Result<(), String> {
    let t = resolve(&args.targets, runs_dir)?;
    let json = args.format == "json";
    let bytes = if args.groups {
        let groups = group_rows(&t);
        let known = sorted(groups.iter().flat_map(|g| g.1.metrics.keys().cloned()));
        check_names(&args.metrics, &known, "summary metric")?;
        let fits = match &args.fit {
            Some(law) => {
                let growth = Growth::parse(law)?;
                let x = fit_axis(&groups, args.fit_x.as_deref())?;
                Some(fit_groups(&groups, &x, growth))
            }
            None => None,
        };
        if json {
            groups_json(&groups, &t, &args.metrics, fits.as_ref())
        } else {
            csv_bytes(groups_table(&groups, &args.metrics, fits.as_ref()))?
        }
    } else if args.summary {
        let known = sorted(t.runs.iter().flat_map(summary_names));
        check_names(&args.metrics, &known, "summary metric")?;
        if json {
            summary_json(&t.runs, &args.metrics)
        } else {
            csv_bytes(summary_table(&t.runs, &args.metrics))?
        }
    } else {
        check_names(&args.metrics, &metric_names(&t.runs), "metric")?;
        if json {
            points_json(&t, &args.metrics)
        } else {
            csv_bytes(points_table(&t, &args.metrics))?
        }
    };
    emit(args.out.as_deref(), &bytes)
}

fn sorted(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = names.collect();
    v.sort_by(|a, b| fail_lab::stats::natural_cmp(a, b));
    v.dedup();
    v
}

fn summary_names(r: &RunState) -> Vec<String> {
    r.summary
        .as_ref()
        .map(|s| s.metrics.keys().cloned().collect())
        .unwrap_or_default()
}

fn wanted(name: &str, only: &[String]) -> bool {
    only.is_empty() || only.iter().any(|m| m == name)
}

fn csv_bytes(t: Table) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let e = |e: csv::Error| format!("writing CSV: {e}");
    w.write_record(&t.header).map_err(e)?;
    for r in &t.rows {
        w.write_record(r).map_err(e)?;
    }
    w.into_inner().map_err(|e| format!("writing CSV: {e}"))
}

/// `run, experiment, seed, <swept>, step, name, value`: one row per metric point.
fn points_table(t: &Targets, only: &[String]) -> Table {
    let swept = swept(t);
    let mut header: Vec<String> = ["run", "experiment", "seed"].map(String::from).to_vec();
    header.extend(swept.iter().cloned());
    header.extend(["step", "name", "value"].map(String::from));
    let mut rows = Vec::new();
    for r in &t.runs {
        let mut lead = vec![r.id.clone(), r.experiment.clone(), seed_cell(r)];
        lead.extend(swept.iter().map(|p| param_cell(r, p)));
        for (name, s) in r.metrics.iter().filter(|(n, _)| wanted(n, only)) {
            for p in s.points() {
                let mut row = lead.clone();
                row.extend([p.step.to_string(), name.clone(), number_cell(p.value)]);
                rows.push(row);
            }
        }
    }
    Table { header, rows }
}

/// The part of a run's JSON every form shares.
fn run_head(r: &RunState) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("run".into(), json!(r.id));
    m.insert("experiment".into(), json!(r.experiment));
    m.insert("title".into(), json!(r.title));
    m.insert("seed".into(), json!(r.seed));
    m.insert("status".into(), json!(r.status.label()));
    m.insert("step".into(), json!(r.step));
    m.insert("params".into(), r.params.to_json());
    m
}

/// `{"export": kind, ...fields}`, pretty, with a final newline.
fn document(kind: &str, fields: Vec<(&str, Json)>) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("export".into(), json!(kind));
    for (k, v) in fields {
        m.insert(k.into(), v);
    }
    let mut text = serde_json::to_string_pretty(&Json::Object(m)).unwrap_or_default();
    text.push('\n');
    text.into_bytes()
}

fn points_json(t: &Targets, only: &[String]) -> Vec<u8> {
    let swept = swept(t);
    let runs: Vec<Json> = t
        .runs
        .iter()
        .map(|r| {
            let mut m = run_head(r);
            let point: Map<String, Json> = swept
                .iter()
                .filter_map(|p| Some((p.clone(), r.params.get(p)?.to_json())))
                .collect();
            m.insert("swept".into(), Json::Object(point));
            let metrics: Map<String, Json> = r
                .metrics
                .iter()
                .filter(|(n, _)| wanted(n, only))
                .map(|(n, s)| {
                    let pts: Vec<Json> = s
                        .points()
                        .map(|p| json!({"step": p.step, "value": json_number(p.value)}))
                        .collect();
                    (n.clone(), Json::Array(pts))
                })
                .collect();
            m.insert("metrics".into(), Json::Object(metrics));
            Json::Object(m)
        })
        .collect();
    document("points", vec![("runs", Json::Array(runs))])
}

/// `run, experiment, seed, status, step, <parameters>, <summary metrics>`; a summary metric
/// named like a parameter is written `summary.<name>`.
fn summary_table(runs: &[RunState], only: &[String]) -> Table {
    let params = sorted(
        runs.iter()
            .flat_map(|r| r.params.iter().map(|(k, _)| k.to_string())),
    );
    let metrics: Vec<String> = sorted(runs.iter().flat_map(summary_names))
        .into_iter()
        .filter(|m| wanted(m, only))
        .collect();
    let mut header: Vec<String> = ["run", "experiment", "seed", "status", "step"]
        .map(String::from)
        .to_vec();
    header.extend(params.iter().cloned());
    header.extend(metrics.iter().map(|m| {
        if params.contains(m) {
            format!("summary.{m}")
        } else {
            m.clone()
        }
    }));
    let rows = runs
        .iter()
        .map(|r| {
            let mut row = vec![
                r.id.clone(),
                r.experiment.clone(),
                seed_cell(r),
                r.status.label().to_string(),
                r.step.to_string(),
            ];
            row.extend(params.iter().map(|p| param_cell(r, p)));
            row.extend(metrics.iter().map(|m| {
                r.summary
                    .as_ref()
                    .and_then(|s| s.get(m))
                    .map(number_cell)
                    .unwrap_or_default()
            }));
            row
        })
        .collect();
    Table { header, rows }
}

fn summary_json(runs: &[RunState], only: &[String]) -> Vec<u8> {
    let rows: Vec<Json> = runs
        .iter()
        .map(|r| {
            let mut m = run_head(r);
            let summary: Map<String, Json> = r
                .summary
                .iter()
                .flat_map(|s| s.metrics.iter())
                .filter(|(k, _)| wanted(k, only))
                .map(|(k, v)| (k.clone(), json_number(*v)))
                .collect();
            m.insert("summary".into(), Json::Object(summary));
            Json::Object(m)
        })
        .collect();
    document("summary", vec![("runs", Json::Array(rows))])
}

/// One group: its parameter values (those that vary), what its runs add up to, and its
/// experiment.
type GroupRow = (Map<String, Json>, Aggregate, String);

/// A sweep's rows (grid points, with runs not yet made counted), else the groups of the
/// runs by [`group_runs`], with the parameters that vary among them.
fn group_rows(t: &Targets) -> Vec<GroupRow> {
    if let Some((rec, states)) = &t.sweep {
        return sweep::rows(rec, states)
            .into_iter()
            .map(|r| (r.point, r.agg, rec.experiment.clone()))
            .collect();
    }
    let swept = swept(t);
    group_runs(&t.runs)
        .into_iter()
        .map(|g| {
            let members: Vec<&RunState> = g.members.iter().map(|&i| &t.runs[i]).collect();
            let point = swept
                .iter()
                .filter_map(|p| Some((p.clone(), g.params.get(p)?.to_json())))
                .collect();
            (point, Aggregate::of(&members), g.experiment)
        })
        .collect()
}

fn point_cell(v: Option<&Json>) -> String {
    match v {
        Some(Json::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

/// `experiment, <swept>, <setup>, n, runs, finished, seeds`, then one row per metric:
/// `metric, kind, count, mean, sd, min, max, ci95_low, ci95_high, reached, median,
/// censored_at`. A result (kind `result`) fills count to ci95_high; a time to a threshold
/// (kind `threshold`) fills count (runs observed), min and max (over the runs that reached
/// it), reached, median (empty while fewer than half reached it) and censored_at; a property
/// of the draw (kind `draw`) fills count (seeds), min and max. `n` counts distinct seeds
/// (`n_seeds` where a parameter is named `n`, see [`count_name`]), `runs` the runs behind
/// them.
fn groups_table(groups: &[GroupRow], only: &[String], fits: Option<&Fits>) -> Table {
    let swept = sorted_keys(groups);
    let setup = sorted_names(
        groups
            .iter()
            .flat_map(|g| g.1.setup.keys().map(String::as_str)),
        "",
    );
    let mut header: Vec<String> = vec!["experiment".into()];
    header.extend(swept.iter().cloned());
    header.extend(setup.iter().cloned());
    let count = count_name(header.iter().map(String::as_str));
    header.extend(
        [
            count,
            "runs",
            "finished",
            "seeds",
            "metric",
            "kind",
            "count",
            "mean",
            "sd",
            "min",
            "max",
            "ci95_low",
            "ci95_high",
            "reached",
            "median",
            "censored_at",
        ]
        .map(String::from),
    );
    if fits.is_some() {
        header.extend(FIT_COLUMNS.map(String::from));
    }
    let mut rows = Vec::new();
    for (point, agg, exp) in groups {
        let mut lead = vec![exp.clone()];
        lead.extend(swept.iter().map(|p| point_cell(point.get(p))));
        lead.extend(setup.iter().map(|k| match agg.setup.get(k) {
            Some(&(lo, hi)) if lo == hi => number_cell(lo),
            Some(&(lo, hi)) => format!("{}..{}", number_cell(lo), number_cell(hi)),
            None => String::new(),
        }));
        let seeds: Vec<String> = agg.seeds.iter().map(u64::to_string).collect();
        lead.extend([
            agg.seeds.len().to_string(),
            agg.runs.to_string(),
            agg.n_with("finished").to_string(),
            seeds.join(" "),
        ]);
        let main = fail_lab::experiments::find(exp).map_or("", |d| d.main_metric);
        for name in agg.metric_names(main).iter().filter(|n| wanted(n, only)) {
            let mut row = lead.clone();
            row.push(name.clone());
            row.extend(measure_cells(&agg.metrics[name]));
            if let Some(f) = fits {
                row.extend(f.cells(name, point));
            }
            rows.push(row);
        }
        for (name, &(lo, hi)) in agg.draws.iter().filter(|(n, _)| wanted(n, only)) {
            let mut row = lead.clone();
            let blank = String::new;
            row.extend([name.clone(), "draw".into(), agg.seeds.len().to_string()]);
            row.extend([blank(), blank(), number_cell(lo), number_cell(hi)]);
            row.extend((0..5).map(|_| blank()));
            if fits.is_some() {
                row.extend(FIT_COLUMNS.map(|_| blank()));
            }
            rows.push(row);
        }
    }
    Table { header, rows }
}

/// `kind, count, mean, sd, min, max, ci95_low, ci95_high, reached, median, censored_at`.
fn measure_cells(m: &Measure) -> [String; 11] {
    let opt = |v: Option<f64>| v.map(number_cell).unwrap_or_default();
    match m {
        Measure::Result(s) => {
            let ci = s.ci95();
            [
                "result".into(),
                s.n.to_string(),
                number_cell(s.mean),
                number_cell(s.sd),
                number_cell(s.min),
                number_cell(s.max),
                opt(ci.map(|c| c.0)),
                opt(ci.map(|c| c.1)),
                String::new(),
                String::new(),
                String::new(),
            ]
        }
        Measure::Threshold(sv) => [
            "threshold".into(),
            sv.n.to_string(),
            String::new(),
            String::new(),
            opt(sv.reached.first().copied()),
            opt(sv.reached.last().copied()),
            String::new(),
            String::new(),
            sv.hits().to_string(),
            opt(sv.median()),
            number_cell(sv.horizon()),
        ],
    }
}

/// The swept parameters of the groups, in the order of their first appearance.
fn sorted_keys(groups: &[GroupRow]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (p, _, _) in groups {
        for k in p.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    keys
}

fn groups_json(groups: &[GroupRow], t: &Targets, only: &[String], fits: Option<&Fits>) -> Vec<u8> {
    let rows: Vec<Json> = groups
        .iter()
        .map(|(point, agg, exp)| {
            let mut g = agg.to_json();
            g.insert("experiment".into(), json!(exp));
            g.insert("params".into(), Json::Object(point.clone()));
            g.insert("metrics".into(), agg.metrics_json(|n| wanted(n, only)));
            Json::Object(g)
        })
        .collect();
    let sweep = t.sweep.as_ref().map(|(rec, _)| json!(rec.id));
    let mut fields = vec![
        ("sweep", sweep.unwrap_or(Json::Null)),
        ("groups", Json::Array(rows)),
    ];
    if let Some(f) = fits {
        fields.push(("fits", f.to_json(only)));
    }
    document("groups", fields)
}

/// The columns a fit adds to each metric's row: the parameter fitted against, the law, its
/// exponent with the 95% interval and R², the groups of the row's series it used and those
/// censored, and what the row's own group is to the fit (`fitted`, `censored`: fewer than
/// half its runs reached the threshold, `left out`: no value, or one the law cannot take).
const FIT_COLUMNS: [&str; 9] = [
    "fit_x",
    "fit",
    "fit_exponent",
    "fit_ci95_low",
    "fit_ci95_high",
    "fit_r2",
    "fit_groups",
    "fit_censored",
    "fit_point",
];

/// The fits of every summary metric against one swept parameter, a series per combination
/// of the other swept parameters.
struct Fits {
    x: String,
    /// (metric, series) -> its fit, in the order of their first group.
    series: Vec<(String, Map<String, Json>, Scaling)>,
}

/// The swept parameter a fit runs against: `asked`, or the only swept one whose values are
/// all numbers.
fn fit_axis(groups: &[GroupRow], asked: Option<&str>) -> Result<String, String> {
    let swept = sorted_keys(groups);
    let numeric: Vec<&String> = swept
        .iter()
        .filter(|k| {
            groups
                .iter()
                .all(|g| g.0.get(*k).is_some_and(Json::is_number))
        })
        .collect();
    let list = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    match asked {
        Some(x) if numeric.iter().any(|k| *k == x) => Ok(x.to_string()),
        Some(x) => Err(format!(
            "--x {x}: not a swept numeric parameter of these groups; allowed: {}",
            if numeric.is_empty() {
                "none (they vary in no numeric parameter)".into()
            } else {
                list(&numeric)
            }
        )),
        None => match numeric.as_slice() {
            [one] => Ok(one.to_string()),
            [] => Err("--fit: these groups vary in no numeric parameter to fit against".into()),
            more => Err(format!(
                "--fit: several swept numeric parameters ({}): name one with --x",
                list(more)
            )),
        },
    }
}

/// The other swept parameters of a group: the series it belongs to.
fn series_of(point: &Map<String, Json>, x: &str) -> Map<String, Json> {
    point
        .iter()
        .filter(|(k, _)| *k != x)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn fit_groups(groups: &[GroupRow], x: &str, growth: Growth) -> Fits {
    let names = sorted(groups.iter().flat_map(|g| g.1.metrics.keys().cloned()));
    let mut series = Vec::new();
    for name in names {
        let placed = groups.iter().filter_map(|(point, agg, _)| {
            let xv = point.get(x)?.as_f64()?;
            let measure = agg.metrics.get(&name)?;
            let key = Json::Object(series_of(point, x)).to_string();
            Some((key, ScalePoint { x: xv, measure }))
        });
        for (key, sc) in by_series(growth, placed) {
            let of: Map<String, Json> = serde_json::from_str(&key).unwrap_or_default();
            series.push((name.clone(), of, sc));
        }
    }
    Fits {
        x: x.to_string(),
        series,
    }
}

impl Fits {
    fn find(&self, metric: &str, point: &Map<String, Json>) -> Option<&Scaling> {
        let of = series_of(point, &self.x);
        self.series
            .iter()
            .find(|(m, s, _)| m == metric && *s == of)
            .map(|(_, _, sc)| sc)
    }

    /// [`FIT_COLUMNS`] of `metric`'s row for the group at `point`.
    fn cells(&self, metric: &str, point: &Map<String, Json>) -> [String; 9] {
        let Some(sc) = self.find(metric, point) else {
            let mut c: [String; 9] = Default::default();
            c[0] = self.x.clone();
            c[8] = "left out".into();
            return c;
        };
        let opt = |v: Option<f64>| v.map(number_cell).unwrap_or_default();
        let f = sc.fit.as_ref();
        let ci = f.and_then(|f| f.line.slope_ci95());
        let xv = point.get(&self.x).and_then(Json::as_f64);
        let role = match xv {
            Some(x) if sc.censored.iter().any(|c| c.0 == x) => "censored",
            Some(x)
                if f.is_some()
                    && sc.points.iter().any(|p| {
                        p.0 == x && p.1 > 0.0 && (sc.growth == Growth::Exp || x > 0.0)
                    }) =>
            {
                "fitted"
            }
            _ => "left out",
        };
        [
            self.x.clone(),
            sc.growth.name().into(),
            opt(f.map(|f| f.exponent())),
            opt(ci.map(|c| c.0)),
            opt(ci.map(|c| c.1)),
            opt(f.map(|f| f.line.r2)),
            sc.used().to_string(),
            sc.censored.len().to_string(),
            role.into(),
        ]
    }

    /// `[{metric, x, series, growth, exponent, ci95, r2, groups, censored}]`, the metrics
    /// wanted only.
    fn to_json(&self, only: &[String]) -> Json {
        Json::Array(
            self.series
                .iter()
                .filter(|(m, _, _)| wanted(m, only))
                .map(|(m, of, sc)| {
                    let mut v = sc.to_json();
                    v["metric"] = json!(m);
                    v["x"] = json!(self.x);
                    v["series"] = Json::Object(of.clone());
                    v
                })
                .collect(),
        )
    }
}
