//! Each paper figure's numbers as CSV beside its pictures (`data/figure-N.csv`): every curve
//! drawn (the mean over seeds, its min..max band and the number of runs behind it), every
//! error bar and every paper value, panel by panel. A curve keeps at most [`MAX_POINTS`]
//! points, evenly spaced, the first and last always.

use std::fmt::Write as _;

use crate::figures::model::Figure;

/// The most points of one curve in the CSV.
pub const MAX_POINTS: usize = 2000;

/// At most `max` of `items`, evenly spaced by index, the first and the last among them.
pub fn thin<T: Copy + Clone>(items: &[T], max: usize) -> Vec<T> {
    let n = items.len();
    if n <= max {
        return items.to_vec();
    }
    if max < 2 {
        return items[..max].to_vec();
    }
    (0..max).map(|i| items[(i * (n - 1)) / (max - 1)]).collect()
}

/// A text field in double quotes, its quotes doubled.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A number as Rust prints it (the shortest text that reads back the same), empty for none.
fn num(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// How many runs a curve's label says it is the mean of (`... (mean of 3)`), else 1.
fn runs_behind(label: &str) -> usize {
    label
        .rsplit_once("(mean of ")
        .and_then(|(_, n)| n.trim_end_matches(')').parse().ok())
        .unwrap_or(1)
}

/// The figure's CSV: `panel,curve,kind,x,mean,min,max,n`, kind `run` (a curve of the runs),
/// `bar` (an error bar) or `paper` (the paper's value; mean is the value).
pub fn figure_csv(f: &Figure) -> String {
    let mut s = String::from("panel,curve,kind,x,mean,min,max,n\n");
    for p in &f.panels {
        let panel = quoted(&p.title);
        for l in &p.lines {
            let n = runs_behind(&l.label);
            let band: std::collections::HashMap<u64, (f64, f64)> = l
                .band
                .iter()
                .map(|&(x, lo, hi)| (x.to_bits(), (lo, hi)))
                .collect();
            for (x, y) in thin(&l.points, MAX_POINTS) {
                let (lo, hi) = band.get(&x.to_bits()).copied().unwrap_or((y, y));
                let _ = writeln!(s, "{panel},{},run,{x},{y},{lo},{hi},{n}", quoted(&l.label));
            }
        }
        for e in &p.errors {
            for q in &e.points {
                let _ = writeln!(
                    s,
                    "{panel},{},bar,{},{},{},{},",
                    quoted(&e.label),
                    q.x,
                    q.mean,
                    q.lo,
                    q.hi
                );
            }
        }
        for r in &p.references {
            for &(x, y) in &r.points {
                let _ = writeln!(
                    s,
                    "{panel},{},paper,{x},{},,,",
                    quoted(&r.label),
                    num(Some(y))
                );
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::model::{Axis, Line, Panel, Reference};

    #[test]
    fn thinning_keeps_the_ends_and_at_most_the_limit() {
        let v: Vec<u32> = (0..10_001).collect();
        let t = thin(&v, 2000);
        assert_eq!(t.len(), 2000);
        assert_eq!((t[0], t[1999]), (0, 10_000));
        assert!(t.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(thin(&[1, 2, 3], 2000), vec![1, 2, 3]);
    }

    #[test]
    fn the_csv_has_each_curve_with_its_band_and_the_papers_values() {
        let mut p = Panel::new("k = 3", Axis::new("iteration"), Axis::new("accuracy"));
        let mut l = Line::new("end-to-end (mean of 3)", vec![(0.0, 0.5), (100.0, 0.52)]);
        l.band = vec![(0.0, 0.49, 0.51), (100.0, 0.5, 0.55)];
        p.lines.push(l);
        p.references.push(Reference {
            label: "paper \"e2e\"".into(),
            points: vec![(20000.0, 0.48)],
            colour: None,
        });
        let csv = figure_csv(&Figure::new("f", vec![p], 1));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "panel,curve,kind,x,mean,min,max,n");
        assert_eq!(
            lines[1],
            "\"k = 3\",\"end-to-end (mean of 3)\",run,0,0.5,0.49,0.51,3"
        );
        assert_eq!(
            lines[2],
            "\"k = 3\",\"end-to-end (mean of 3)\",run,100,0.52,0.5,0.55,3"
        );
        assert_eq!(
            lines[3],
            "\"k = 3\",\"paper \"\"e2e\"\"\",paper,20000,0.48,,,"
        );
        assert_eq!(lines.len(), 4);
    }
}
