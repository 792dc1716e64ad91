//! A paper figure redrawn from its data alone: `data/figure-N.csv` holds every number drawn
//! ([`super::data`]) and `data/figure-N.json` the rest (titles, axes, colours, notes, the
//! caption, and how many rows of the CSV each curve has), so that
//! `fail-lab plot --paper --data DIR -o OUT` gives the same SVG, byte for byte, as the
//! figure drawn from the runs. The figure drawn from runs is thinned first
//! ([`thin_figure`]), so that it draws exactly the points the CSV keeps.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::data::{thin, MAX_POINTS};
use crate::figures::model::{Axis, ErrorBars, ErrorPoint, Figure, Line, Panel, Reference};

/// Every curve of `f` thinned to at most [`MAX_POINTS`] points, its band at the same x as
/// its points (the CSV keeps a band only there).
pub fn thin_figure(f: &mut Figure) {
    for p in &mut f.panels {
        for l in &mut p.lines {
            l.points = thin(&l.points, MAX_POINTS);
            if !l.band.is_empty() {
                let band: std::collections::HashMap<u64, (f64, f64)> = l
                    .band
                    .iter()
                    .map(|&(x, lo, hi)| (x.to_bits(), (lo, hi)))
                    .collect();
                l.band = l
                    .points
                    .iter()
                    .map(|&(x, y)| {
                        let (lo, hi) = band.get(&x.to_bits()).copied().unwrap_or((y, y));
                        (x, lo, hi)
                    })
                    .collect();
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
struct AxisLayout {
    label: String,
    log: bool,
    range: Option<(f64, f64)>,
}

/// A curve, bar series or set of paper values: its label, colour and number of CSV rows.
#[derive(Serialize, Deserialize)]
struct CurveLayout {
    label: String,
    colour: Option<usize>,
    #[serde(default)]
    dashed: bool,
    #[serde(default)]
    band: bool,
    rows: usize,
}

#[derive(Serialize, Deserialize)]
struct PanelLayout {
    title: String,
    x: AxisLayout,
    y: AxisLayout,
    notes: Vec<String>,
    lines: Vec<CurveLayout>,
    errors: Vec<CurveLayout>,
    references: Vec<CurveLayout>,
}

/// What a figure needs besides its numbers.
#[derive(Serialize, Deserialize)]
struct Layout {
    title: String,
    columns: usize,
    notes: Vec<String>,
    panels: Vec<PanelLayout>,
}

fn axis_layout(a: &Axis) -> AxisLayout {
    AxisLayout {
        label: a.label.clone(),
        log: a.log,
        range: a.range,
    }
}

fn axis(a: AxisLayout) -> Axis {
    Axis {
        label: a.label,
        log: a.log,
        range: a.range,
    }
}

/// The JSON beside `data/figure-N.csv`; an error for a panel with a picture, which the CSV
/// cannot hold.
pub fn layout_json(f: &Figure) -> Result<String, String> {
    let mut panels = Vec::new();
    for p in &f.panels {
        if p.image.is_some() {
            return Err(format!(
                "{}: panel {:?} is a picture, which its CSV cannot hold",
                f.title, p.title
            ));
        }
        let curve = |label: &str, colour, rows| CurveLayout {
            label: label.to_string(),
            colour,
            dashed: false,
            band: false,
            rows,
        };
        panels.push(PanelLayout {
            title: p.title.clone(),
            x: axis_layout(&p.x),
            y: axis_layout(&p.y),
            notes: p.notes.clone(),
            lines: p
                .lines
                .iter()
                .map(|l| CurveLayout {
                    dashed: l.dashed,
                    band: !l.band.is_empty(),
                    ..curve(&l.label, l.colour, thin(&l.points, MAX_POINTS).len())
                })
                .collect(),
            errors: p
                .errors
                .iter()
                .map(|e| curve(&e.label, e.colour, e.points.len()))
                .collect(),
            references: p
                .references
                .iter()
                .map(|r| curve(&r.label, r.colour, r.points.len()))
                .collect(),
        });
    }
    let layout = Layout {
        title: f.title.clone(),
        columns: f.columns,
        notes: f.notes.clone(),
        panels,
    };
    serde_json::to_string_pretty(&layout).map_err(|e| format!("{}: {e}", f.title))
}

/// One row of the CSV: panel, curve, kind, x, mean, min, max.
struct Row {
    panel: String,
    curve: String,
    kind: String,
    nums: [f64; 4],
}

/// The figure from its CSV text and its layout's JSON; `name` (the CSV's path) names the
/// file in errors.
pub fn figure_from_data(csv: &str, json: &str, name: &str) -> Result<Figure, String> {
    let layout: Layout = serde_json::from_str(json)
        .map_err(|e| format!("{name}: its layout (.json) does not read: {e}"))?;
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("{name} line {line}: {e}"))?;
        let field = |j: usize| rec.get(j).unwrap_or("");
        let num = |j: usize| -> Result<f64, String> {
            let t = field(j);
            if t.is_empty() {
                return Ok(f64::NAN);
            }
            t.parse().map_err(|_| {
                format!(
                    "{name} line {line}: column {} is {t:?}, not a number",
                    j + 1
                )
            })
        };
        rows.push(Row {
            panel: field(0).to_string(),
            curve: field(1).to_string(),
            kind: field(2).to_string(),
            nums: [num(3)?, num(4)?, num(5)?, num(6)?],
        });
    }
    let mut at = 0usize;
    let mut take = |panel: &str, c: &CurveLayout, kind: &str| -> Result<&[Row], String> {
        let part = rows.get(at..at + c.rows).ok_or_else(|| {
            format!(
                "{name}: the layout wants {} {kind} rows of {:?} in panel {panel:?}, the CSV \
                 ends first",
                c.rows, c.label
            )
        })?;
        if let Some((i, r)) = part
            .iter()
            .enumerate()
            .find(|(_, r)| r.panel != panel || r.curve != c.label || r.kind != kind)
        {
            return Err(format!(
                "{name} line {}: found {:?} {:?} {}, the layout wants {panel:?} {:?} {kind}",
                at + i + 2,
                r.panel,
                r.curve,
                r.kind,
                c.label
            ));
        }
        at += c.rows;
        Ok(part)
    };
    let mut panels = Vec::new();
    for pl in layout.panels {
        let mut p = Panel::new(pl.title.clone(), axis(pl.x), axis(pl.y));
        p.notes = pl.notes;
        for c in &pl.lines {
            let part = take(&pl.title, c, "run")?;
            p.lines.push(Line {
                label: c.label.clone(),
                points: part.iter().map(|r| (r.nums[0], r.nums[1])).collect(),
                band: if c.band {
                    part.iter()
                        .map(|r| (r.nums[0], r.nums[2], r.nums[3]))
                        .collect()
                } else {
                    Vec::new()
                },
                colour: c.colour,
                dashed: c.dashed,
            });
        }
        for c in &pl.errors {
            let part = take(&pl.title, c, "bar")?;
            p.errors.push(ErrorBars {
                label: c.label.clone(),
                points: part
                    .iter()
                    .map(|r| ErrorPoint {
                        x: r.nums[0],
                        mean: r.nums[1],
                        lo: r.nums[2],
                        hi: r.nums[3],
                    })
                    .collect(),
                colour: c.colour,
            });
        }
        for c in &pl.references {
            let part = take(&pl.title, c, "paper")?;
            p.references.push(Reference {
                label: c.label.clone(),
                points: part.iter().map(|r| (r.nums[0], r.nums[1])).collect(),
                colour: c.colour,
            });
        }
        panels.push(p);
    }
    if at != rows.len() {
        return Err(format!(
            "{name}: {} rows past the curves its layout names (from line {})",
            rows.len() - at,
            at + 2
        ));
    }
    let mut f = Figure::new(layout.title, panels, layout.columns);
    f.notes = layout.notes;
    Ok(f)
}

/// Redraws every `data/figure-N.csv` (with its `.json`) under `dir` as `figure-N.svg` and
/// `.png` in `out`, each `size` pixels or its default size; returns the figures' numbers.
pub fn redraw_from_data(
    dir: &Path,
    out: &Path,
    size: Option<(u32, u32)>,
) -> Result<Vec<u32>, String> {
    let data = dir.join("data");
    let entries = std::fs::read_dir(&data).map_err(|e| {
        format!(
            "--data {}: no data folder ({}: {e}); allowed: a folder that `plot --paper` wrote",
            dir.display(),
            data.display()
        )
    })?;
    let mut numbers: Vec<u32> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_prefix("figure-")?
                .strip_suffix(".csv")?
                .parse()
                .ok()
        })
        .collect();
    numbers.sort_unstable();
    if numbers.is_empty() {
        return Err(format!(
            "--data {}: no data/figure-N.csv in it; allowed: a folder that `plot --paper` wrote",
            dir.display()
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| format!("cannot make {}: {e}", out.display()))?;
    for &n in &numbers {
        let csv_path = data.join(format!("figure-{n}.csv"));
        let json_path = data.join(format!("figure-{n}.json"));
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
        };
        let (csv, json) = (read(&csv_path)?, read(&json_path)?);
        let f = figure_from_data(&csv, &json, &csv_path.display().to_string())?;
        let size = size.unwrap_or_else(|| f.default_size());
        for ext in ["svg", "png"] {
            let path = out.join(format!("figure-{n}.{ext}"));
            crate::figures::render::write(&f, &path, size)?;
        }
    }
    Ok(numbers)
}

#[cfg(test)]
mod tests {
    use super::super::data::figure_csv;
    use super::*;

    fn figure() -> Figure {
        let mut p = Panel::new(
            "k = 3",
            Axis::new("iteration").range(0.0, 1.0),
            Axis::new("acc"),
        );
        let pts: Vec<(f64, f64)> = (0..5000)
            .map(|i| (i as f64 * 4.0, 0.1 * i as f64 / 3.0))
            .collect();
        let mut l = Line::new("end-to-end (mean of 3)", pts.clone()).colour(0);
        l.band = pts.iter().map(|&(x, y)| (x, y - 0.01, y + 0.01)).collect();
        p.lines.push(l);
        let mut d = Line::new("label", vec![(0.0, f64::NAN), (1.0, 2.0)]);
        d.dashed = true;
        p.lines.push(d);
        p.errors.push(ErrorBars {
            label: "bars".into(),
            points: vec![ErrorPoint {
                x: 1.0,
                mean: 1e-4,
                lo: 9e-5,
                hi: 1.1e-4,
            }],
            colour: Some(1),
        });
        p.references.push(Reference {
            label: "paper \"e2e\", k = 3".into(),
            points: vec![(20000.0, 0.48)],
            colour: None,
        });
        p.notes.push("a note".into());
        let mut f = Figure::new(
            "Figure 3",
            vec![
                p,
                Panel::new("empty", Axis::new("x"), Axis::new("y").log(true)),
            ],
            2,
        );
        f.notes
            .push("Caption: budget 20000 iterations, 3 seeds.".into());
        f
    }

    #[test]
    fn a_thinned_figure_reads_back_from_its_csv_and_layout_exactly() {
        let mut f = figure();
        thin_figure(&mut f);
        assert_eq!(f.panels[0].lines[0].points.len(), MAX_POINTS);
        assert_eq!(f.panels[0].lines[0].band.len(), MAX_POINTS);
        let back = figure_from_data(&figure_csv(&f), &layout_json(&f).unwrap(), "t.csv").unwrap();
        // NaN != NaN: compare the one NaN apart
        assert!(back.panels[0].lines[1].points[0].1.is_nan());
        let mut a = f.clone();
        let mut b = back;
        a.panels[0].lines[1].points[0].1 = 0.0;
        b.panels[0].lines[1].points[0].1 = 0.0;
        assert_eq!(a, b);
    }

    #[test]
    fn a_csv_that_does_not_match_its_layout_is_named_by_line() {
        let mut f = figure();
        thin_figure(&mut f);
        let csv = figure_csv(&f).replacen("end-to-end (mean of 3)", "other", 1);
        let e = figure_from_data(&csv, &layout_json(&f).unwrap(), "t.csv").unwrap_err();
        assert!(
            e.starts_with("t.csv line 2: found \"k = 3\" \"other\" run"),
            "{e}"
        );
        let short: String = figure_csv(&f)
            .lines()
            .take(10)
            .map(|l| format!("{l}\n"))
            .collect();
        let e = figure_from_data(&short, &layout_json(&f).unwrap(), "t.csv").unwrap_err();
        assert!(e.contains("the CSV ends first"), "{e}");
    }
}
