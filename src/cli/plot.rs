//! `fail-lab plot`: the lab's views of runs as SVG or PNG, and `--paper RUNS_DIR` for the
//! paper's figures from a folder of saved runs.

use std::path::{Path, PathBuf};

use clap::Args;

use super::targets::{check_names, metric_names, resolve, Targets};
use fail_lab::engine::RunState;
use fail_lab::figures::paper::write_paper_figures;
use fail_lab::figures::views::{self, BandKind};
use fail_lab::figures::{self, Figure, Format};
use fail_lab::stats::fit::Growth;
use fail_lab::sweep::group_runs;

#[derive(Args)]
pub struct PlotArgs {
    /// Runs by id (a folder in the runs folder) or folder, or a sweep's id (all its runs)
    #[arg(value_name = "RUN_OR_SWEEP", required_unless_present = "paper")]
    targets: Vec<String>,
    /// The metric to draw, with the same metric of the experiment's other methods overlaid
    /// (default: the experiment's main one)
    #[arg(long, value_name = "NAME")]
    metric: Option<String>,
    /// One run's every metric, a panel each
    #[arg(long, conflicts_with_all = ["metric", "band", "x", "figure", "success"])]
    all_metrics: bool,
    /// Log scale on the y axis
    #[arg(long)]
    log_y: bool,
    /// Groups of runs (same parameters, other seeds) as a mean with a band: minmax or sd
    #[arg(long, value_name = "minmax|sd")]
    band: Option<String>,
    /// Log scale on the x axis (with --log-y: log-log)
    #[arg(long)]
    log_x: bool,
    /// With --x: fit a growth law to each series and print its exponent with a 95% interval
    /// and R²: power (y = a·x^b) or exp (y = a·e^(b·x)); groups where fewer than half the
    /// runs reached a threshold are left out and counted
    #[arg(long, value_name = "power|exp", requires = "x")]
    fit: Option<String>,
    /// A summary metric (final value) against this swept parameter, with error bars
    #[arg(long = "x", value_name = "PARAM")]
    x: Option<String>,
    /// The share of each group's runs that reached a threshold by each step (the cumulative
    /// success curve) of METRIC, a `steps_to_*` summary metric (default: the first)
    #[arg(long, value_name = "METRIC", num_args = 0..=1, default_missing_value = "")]
    success: Option<String>,
    /// The run's own figures (curves, images), those whose title contains TEXT if given
    #[arg(long, value_name = "TEXT", num_args = 0..=1, default_missing_value = "")]
    figure: Option<String>,
    /// Leave out the theory's reference lines (drawn by default on one run's chart where a
    /// check's formula applies: T1's G²/2^d, E4's ratio = k, E5's c·n^3.5, the float32
    /// floor under an SNR)
    #[arg(long)]
    no_theory: bool,
    /// The paper's Figures 1, 3-7 from the runs in this folder, into the folder -o names
    /// (with --data: no RUNS_DIR)
    #[arg(long, value_name = "RUNS_DIR", num_args = 0..=1, conflicts_with_all = ["targets", "metric", "band", "x", "figure", "log_y", "log_x", "fit", "success"])]
    paper: Option<Option<PathBuf>>,
    /// With --paper: redraw the figures from the data a `plot --paper` folder keeps
    /// (DIR/data/figure-N.csv and .json) instead of from runs, the same SVG byte for byte
    #[arg(long, value_name = "DIR", requires = "paper")]
    data: Option<PathBuf>,
    /// Size in pixels, WIDTHxHEIGHT (default: room for every panel)
    #[arg(long, value_name = "WxH")]
    size: Option<String>,
    /// With --paper --data DIR: rewrite the section on the paper's figures in this markdown
    /// file (the README), between its marker lines, from DIR's data: Figures 1, 3, 4 and 5
    /// with what the paper shows and their captions, the record's sittings and verdict table
    #[arg(long, value_name = "FILE", requires = "data", conflicts_with = "out")]
    readme: Option<PathBuf>,
    /// The file to write, .svg or .png (with --paper: a folder)
    #[arg(
        short = 'o',
        long = "out",
        value_name = "FILE",
        required_unless_present = "readme"
    )]
    out: Option<PathBuf>,
}

pub fn main(args: &PlotArgs, runs_dir: &Path) -> Result<(), String> {
    let size = args.size.as_deref().map(figures::parse_size).transpose()?;
    if let (Some(readme), Some(data)) = (&args.readme, &args.data) {
        return write_readme(readme, data);
    }
    // clap asks for -o unless --readme is given, and --readme comes with --data
    let out = args.out.clone().unwrap_or_default();
    if let Some(dir) = &args.paper {
        return match (&args.data, dir) {
            (Some(data), None) => paper_from_data(data, &out, size),
            (Some(_), Some(dir)) => Err(format!(
                "--paper {} with --data: allowed: --paper RUNS_DIR (from runs) or --paper \
                 --data DIR (from a figures folder's data), not both",
                dir.display()
            )),
            (None, None) => Err(
                "--paper needs RUNS_DIR (a folder of saved runs), or --data DIR (a folder \
                 that `plot --paper` wrote)"
                    .into(),
            ),
            (None, Some(dir)) => paper(dir, &out, size),
        };
    }
    Format::of(&out)?;
    let mut t = resolve(&args.targets, runs_dir)?;
    if t.runs.is_empty() {
        return Err(format!(
            "{}: no run to draw yet (a sweep whose runs have not started)",
            args.targets.join(", ")
        ));
    }
    let mut fig = build(&mut t, args)?;
    if args.log_x {
        fig.panels.iter_mut().for_each(|p| p.x.log = true);
    }
    // a fit is a result: say it where a person reads it, not only in the picture
    for note in fig.notes.iter().filter(|n| n.contains(" fit")) {
        eprintln!("{note}");
    }
    let size = size.unwrap_or_else(|| fig.default_size());
    figures::write(&fig, &out, size)?;
    eprintln!("wrote {} ({}x{})", out.display(), size.0, size.1);
    Ok(())
}

/// The view the arguments ask for.
fn build(t: &mut Targets, args: &PlotArgs) -> Result<Figure, String> {
    let log_y = args.log_y;
    let band = args.band.as_deref().map(BandKind::parse).transpose()?;
    if let Some(filter) = &args.figure {
        let [run] = t.runs.as_mut_slice() else {
            return Err(format!(
                "--figure draws one run's own figures; {} runs given",
                t.runs.len()
            ));
        };
        return Ok(views::experiment_figures(run, filter));
    }
    if let Some(m) = &args.success {
        return views::success(&t.runs, Some(m.as_str()).filter(|m| !m.is_empty()));
    }
    if let Some(x) = &args.x {
        let metric = summary_metric(&t.runs, args.metric.as_deref())?;
        let how = views::Against {
            band: band.unwrap_or(BandKind::Sd),
            log_x: args.log_x,
            log_y,
            fit: args.fit.as_deref().map(Growth::parse).transpose()?,
        };
        return views::summary_against(&t.runs, &metric, x, how);
    }
    let known = metric_names(&t.runs);
    if !known.is_empty() {
        check_names(args.metric.as_slice(), &known, "metric")?;
    }
    if args.all_metrics {
        let [run] = t.runs.as_slice() else {
            return Err(format!(
                "--all-metrics draws one run's metrics; {} runs given (--metric NAME overlays one \
                 metric of several runs)",
                t.runs.len()
            ));
        };
        let mut fig = views::run_metrics(run, &[], log_y);
        if !args.no_theory {
            views::add_theory(&mut fig, &[run]);
        }
        return Ok(fig);
    }
    let metric = args
        .metric
        .clone()
        .or_else(|| main_metric(&t.runs))
        .unwrap_or_else(|| "value".into());
    if args.metric.is_none() && known.len() > 1 {
        let drawn = views::method_siblings(known.iter().map(String::as_str), &metric);
        eprintln!(
            "drew {}; {} other metrics: --metric NAME draws one{}",
            drawn.join(" and "),
            known.len() - drawn.len(),
            if t.runs.len() == 1 {
                ", --all-metrics every one"
            } else {
                ""
            }
        );
    }
    let grouped = band.is_some() || t.sweep.is_some() || group_runs(&t.runs).len() < t.runs.len();
    if grouped {
        return Ok(views::groups(
            &t.runs,
            &metric,
            band.unwrap_or(BandKind::MinMax),
            log_y,
        ));
    }
    let refs: Vec<&RunState> = t.runs.iter().collect();
    let mut fig = views::overlay(&refs, &metric, log_y);
    if !args.no_theory {
        views::add_theory(&mut fig, &refs);
    }
    Ok(fig)
}

/// The first run's experiment's main metric when some run has it, else the first metric.
fn main_metric(runs: &[RunState]) -> Option<String> {
    let main = runs
        .first()
        .and_then(|r| fail_lab::experiments::find(&r.experiment))
        .map(|d| d.main_metric.to_string());
    let all = metric_names(runs);
    main.filter(|m| all.contains(m))
        .or_else(|| all.into_iter().next())
}

/// The summary metric of `--x`: the one asked for, else the experiment's main one.
fn summary_metric(runs: &[RunState], asked: Option<&str>) -> Result<String, String> {
    let mut known: Vec<String> = runs
        .iter()
        .filter_map(|r| r.summary.as_ref())
        .flat_map(|s| s.metrics.keys().cloned())
        .collect();
    known.sort();
    known.dedup();
    if let Some(m) = asked {
        check_names(&[m.to_string()], &known, "summary metric")?;
        return Ok(m.to_string());
    }
    let main = runs
        .first()
        .and_then(|r| fail_lab::experiments::find(&r.experiment))
        .map(|d| d.main_metric.to_string());
    main.filter(|m| known.contains(m))
        .or_else(|| known.first().cloned())
        .ok_or_else(|| "--x: no finished run has a summary value to draw".to_string())
}

/// `--paper --data DIR --readme FILE`: FILE's section on the figures written from DIR's data.
fn write_readme(readme: &Path, data: &Path) -> Result<(), String> {
    use fail_lab::figures::paper::story;
    let text = std::fs::read_to_string(readme)
        .map_err(|e| format!("--readme {}: {e}", readme.display()))?;
    let section = story::section(data).map_err(|e| format!("--data {}: {e}", data.display()))?;
    let new = story::replace_section(&text, &section)
        .map_err(|e| format!("--readme {}: {e}", readme.display()))?;
    if new == text {
        eprintln!(
            "{}: the figures' section is already up to date",
            readme.display()
        );
        return Ok(());
    }
    std::fs::write(readme, new).map_err(|e| format!("--readme {}: {e}", readme.display()))?;
    eprintln!(
        "{}: the figures' section rewritten from {}/data",
        readme.display(),
        data.display()
    );
    Ok(())
}

/// `--paper --data DIR -o OUT_DIR`: the figures from DIR's data, and its `figures.md`.
fn paper_from_data(dir: &Path, out: &Path, size: Option<(u32, u32)>) -> Result<(), String> {
    let numbers = fail_lab::figures::paper::redraw::redraw_from_data(dir, out, size)?;
    // the index and the data go along, so that OUT is a figures folder of its own
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same(dir, out) {
        let copy = |from: PathBuf, to: PathBuf| {
            std::fs::copy(&from, &to)
                .map(|_| ())
                .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
        };
        let data = out.join("data");
        std::fs::create_dir_all(&data)
            .map_err(|e| format!("cannot make {}: {e}", data.display()))?;
        for n in &numbers {
            for ext in ["csv", "json"] {
                let name = format!("figure-{n}.{ext}");
                copy(dir.join("data").join(&name), data.join(&name))?;
            }
        }
        if dir.join("figures.md").is_file() {
            copy(dir.join("figures.md"), out.join("figures.md"))?;
        }
    }
    let list: Vec<String> = numbers.iter().map(|n| n.to_string()).collect();
    eprintln!(
        "wrote {} (figures {} from {}/data)",
        out.display(),
        list.join(", "),
        dir.display()
    );
    Ok(())
}

/// `--paper RUNS_DIR -o OUT_DIR`.
fn paper(runs_dir: &Path, out: &Path, size: Option<(u32, u32)>) -> Result<(), String> {
    if !runs_dir.is_dir() {
        return Err(format!(
            "--paper {}: not a folder of runs",
            runs_dir.display()
        ));
    }
    let (mut runs, errors) = RunState::load_all(runs_dir);
    for e in &errors {
        eprintln!("warning: not read: {e}");
    }
    let figs = write_paper_figures(&mut runs, out, &runs_dir.display().to_string(), size)?;
    for f in &figs {
        eprintln!(
            "figure {}: {} ({} runs){}",
            f.number,
            f.verdict(),
            f.runs.len(),
            if f.missing.is_empty() {
                String::new()
            } else {
                format!("; missing: {}", f.missing.join("; "))
            }
        );
    }
    eprintln!(
        "wrote {} (figure-N.svg, figure-N.png, figures.md)",
        out.display()
    );
    Ok(())
}
