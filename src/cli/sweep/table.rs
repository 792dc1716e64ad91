//! The grid's table: one row per grid point, its values, its runs and, for each summary
//! metric, what its finished runs (one per seed) say: a result's `mean ± sd (min..max)`, a
//! threshold's `reached/n · median` (see [`fail_lab::stats`]). Parameters its runs report
//! (derived ones) and properties of each seed's draw are columns of their own, as ranges.

use std::collections::BTreeMap;

use crate::cli::out::print_markdown;
use fail_lab::stats::format::{self, count_name};
use fail_lab::sweep::group::sorted_names;
use fail_lab::sweep::{Row, SweepRecord};

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

/// The names of one kind of column over the rows, in natural order, `first` ahead.
fn names<'a>(
    rows: &'a [Row],
    of: impl Fn(&'a Row) -> Box<dyn Iterator<Item = &'a String> + 'a>,
    first: &str,
) -> Vec<String> {
    sorted_names(rows.iter().flat_map(of).map(String::as_str), first)
}

fn range_cell(ranges: &BTreeMap<String, (f64, f64)>, name: &str) -> String {
    ranges
        .get(name)
        .map_or("-".into(), |&(lo, hi)| format::range(lo, hi))
}

/// The table's cells, header first; `ci` adds each result's 95% interval.
pub fn cells(rec: &SweepRecord, rows: &[Row], ci: bool) -> Vec<Vec<String>> {
    let main = fail_lab::experiments::find(&rec.experiment).map_or("", |d| d.main_metric);
    let metrics = names(rows, |r| Box::new(r.agg.metrics.keys()), main);
    let setup = names(rows, |r| Box::new(r.agg.setup.keys()), "");
    let draws = names(rows, |r| Box::new(r.agg.draws.keys()), "");
    let mut header: Vec<String> = rec.grid.iter().map(|a| a.name.clone()).collect();
    header.extend(setup.iter().cloned());
    let count = count_name(header.iter().map(String::as_str));
    header.extend([count.to_string(), "runs".to_string()]);
    header.extend(draws.iter().map(|d| format!("{d} (drawn)")));
    header.extend(metrics.iter().cloned());
    let mut out = vec![header];
    for r in rows {
        let mut line: Vec<String> = rec
            .grid
            .iter()
            .map(|a| point_value(r.point.get(&a.name)))
            .collect();
        line.extend(setup.iter().map(|k| range_cell(&r.agg.setup, k)));
        line.push(r.agg.seeds.len().to_string());
        line.push(status_cell(r));
        line.extend(draws.iter().map(|k| range_cell(&r.agg.draws, k)));
        for m in &metrics {
            line.push(r.agg.cell(m, ci));
        }
        out.push(line);
    }
    out
}

/// Prints the table on stdout, columns padded, as `reproduce` does, and what its cells
/// are over.
pub fn print(rec: &SweepRecord, rows: &[Row], ci: bool) {
    println!();
    println!("sweep {} · {} · {}", rec.id, rec.experiment, rec.title);
    let cells = cells(rec, rows, ci);
    // the count's column is named after the parameters and setup before it
    let count = count_name(cells[0].iter().map(String::as_str));
    print_markdown(&cells);
    println!(
        "{count}: distinct seeds; each cell is over one finished run per seed: mean ± sd (min..max) \
         of a result, or for a time to a threshold `reached/n · median`, the Kaplan-Meier \
         median with runs that never got there censored at their last step"
    );
}
