//! The grid's table: one row per grid point, its values, its runs and, for each summary
//! metric, `mean ± sd (min..max)` over the runs that finished.

use crate::cli::out::{fmt_value, print_markdown};
use fail_lab::sweep::{Row, Stats, SweepRecord};

/// `0.9 ± 0.05 (0.85..0.95)`; one value is shown alone.
pub fn cell(s: &Stats) -> String {
    if s.n == 1 {
        return fmt_value(s.mean);
    }
    format!(
        "{} ± {} ({}..{})",
        fmt_value(s.mean),
        fmt_value(s.sd),
        fmt_value(s.min),
        fmt_value(s.max)
    )
}

fn point_value(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "-".into(),
    }
}

/// `3 finished, 1 failed`, finished first.
fn status_cell(row: &Row) -> String {
    let mut parts: Vec<(usize, String)> = row
        .agg
        .status
        .iter()
        .map(|(k, n)| (usize::from(k != "finished"), format!("{n} {k}")))
        .collect();
    parts.sort();
    parts
        .into_iter()
        .map(|(_, s)| s)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The metric columns: the experiment's main metric first, then the others by name.
fn metric_names(rec: &SweepRecord, rows: &[Row]) -> Vec<String> {
    let main = fail_lab::experiments::find(&rec.experiment)
        .map(|d| d.main_metric)
        .unwrap_or("");
    let mut names: Vec<String> = rows
        .iter()
        .flat_map(|r| r.agg.metrics.keys().cloned())
        .collect();
    names.sort_by(|a, b| (a != main, a).cmp(&(b != main, b)));
    names.dedup();
    names
}

/// The table's cells, header first.
pub fn cells(rec: &SweepRecord, rows: &[Row]) -> Vec<Vec<String>> {
    let metrics = metric_names(rec, rows);
    let mut header: Vec<String> = rec.grid.iter().map(|a| a.name.clone()).collect();
    header.extend(["n".to_string(), "runs".to_string()]);
    header.extend(metrics.iter().cloned());
    let mut out = vec![header];
    for r in rows {
        let mut line: Vec<String> = rec
            .grid
            .iter()
            .map(|a| point_value(r.point.get(&a.name)))
            .collect();
        line.push(r.agg.total().to_string());
        line.push(status_cell(r));
        for m in &metrics {
            line.push(r.agg.metrics.get(m).map(cell).unwrap_or_else(|| "-".into()));
        }
        out.push(line);
    }
    out
}

/// Prints the table on stdout, columns padded, as `reproduce` does.
pub fn print(rec: &SweepRecord, rows: &[Row]) {
    println!();
    println!("sweep {} · {} · {}", rec.id, rec.experiment, rec.title);
    print_markdown(&cells(rec, rows));
}
