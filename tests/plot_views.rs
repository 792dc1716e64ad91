//! `fail-lab plot` draws what a reader can read: one metric by default with the experiment's
//! methods overlaid, every line inside its own panel, titles that fit their panel, and a
//! size too small for the panels refused with the size that would do.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fresh(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("plot-views-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn lab(runs: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fail-lab"))
        .arg("--runs")
        .arg(runs)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// An E2 run written by hand: both methods' accuracy and loss, and `extra` more metrics,
/// one of them with a spike a million times its other values.
fn e2_run(runs: &Path, extra: usize) -> String {
    let id = "20990101-000000-e2";
    let dir = runs.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("spec.toml"),
        "experiment = \"E2\"\ntitle = \"E2: four 3-tuples, orientations = tuple label: \
         /// = +1, \\\\/\\\\ = +1, /// = +1, /\\\\\\\\ = +1\"\nseed = 1\n\n[params]\nk = 3\n",
    )
    .unwrap();
    let mut lines = Vec::new();
    for step in (0..=400).step_by(50) {
        let t = step as f64 / 400.0;
        for (name, v) in [
            ("e2e/test_accuracy", 0.5 + 0.01 * t),
            ("dec/test_accuracy", 0.5 + 0.4 * t),
            ("e2e/train_loss", 1.0 - 0.01 * t),
            ("dec/train_loss", 1.0 - 0.8 * t),
        ] {
            lines.push(format!(
                r#"{{"step": {step}, "name": "{name}", "value": {v}}}"#
            ));
        }
        for i in 0..extra {
            let v = if i == 0 && step == 200 { 1e6 } else { 0.1 * t };
            lines.push(format!(
                r#"{{"step": {step}, "name": "e2e/grad_snr/layer{i}.w", "value": {v}}}"#
            ));
        }
    }
    std::fs::write(dir.join("metrics.jsonl"), lines.join("\n") + "\n").unwrap();
    std::fs::write(
        dir.join("summary.json"),
        r#"{"status": "finished", "step": 400, "total": 400, "elapsed_s": 1.0, "reason": null,
            "summary": {"metrics": {"e2e/test_accuracy": 0.51, "dec/test_accuracy": 0.9},
            "notes": []}}"#,
    )
    .unwrap();
    id.to_string()
}

fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect()
}

/// The points of the SVG's polylines drawn through more than two points (data lines; a
/// legend's sample has two).
fn data_lines(doc: &roxmltree::Document) -> Vec<Vec<(f64, f64)>> {
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter_map(|n| n.attribute("points"))
        .map(|p| {
            p.split_whitespace()
                .filter_map(|xy| xy.split_once(','))
                .map(|(x, y)| (x.parse().unwrap(), y.parse().unwrap()))
                .collect::<Vec<(f64, f64)>>()
        })
        .filter(|pts| pts.len() > 2)
        .collect()
}

#[test]
fn one_run_plots_its_main_metric_with_both_methods_overlaid() {
    let runs = fresh("default");
    let id = e2_run(&runs, 30);
    let svg = runs.join("one.svg");
    let o = lab(&runs, &["plot", &id, "-o", svg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // the user hears what was drawn and how to get the rest
    let err = stderr(&o);
    assert!(
        err.contains("e2e/test_accuracy and dec/test_accuracy"),
        "{err}"
    );
    assert!(err.contains("32 other metrics"), "{err}");
    assert!(err.contains("--all-metrics"), "{err}");
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let labels = texts(&doc);
    for want in ["end-to-end", "decomposition", "test_accuracy"] {
        assert!(labels.iter().any(|t| t == want), "{want} in {labels:?}");
    }
    assert_eq!(data_lines(&doc).len(), 2, "one line per method");

    // every metric, a panel each, when asked
    let o = lab(
        &runs,
        &["plot", &id, "--all-metrics", "-o", svg.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    let labels = texts(&roxmltree::Document::parse(&text).unwrap());
    assert!(labels.iter().any(|t| t == "e2e/grad_snr/layer29.w"));
    assert!(labels.iter().any(|t| t == "dec/train_loss"));
}

#[test]
fn every_line_stays_in_its_panel_and_every_title_fits() {
    let runs = fresh("clip");
    let id = e2_run(&runs, 8);
    // 12 panels, 4 x 3, each just above the smallest allowed
    let (w, h) = (4 * 170, 3 * 150);
    let svg = runs.join("all.svg");
    let size = format!("{w}x{h}");
    let o = lab(
        &runs,
        &[
            "plot",
            &id,
            "--all-metrics",
            "--size",
            &size,
            "-o",
            svg.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let lines = data_lines(&doc);
    assert!(lines.len() >= 12, "{} lines", lines.len());
    let cell = |(x, y): (f64, f64)| ((x / (w as f64 / 4.0)) as i64, (y / (h as f64 / 3.0)) as i64);
    for l in &lines {
        let c = cell(l[0]);
        for &p in l {
            assert_eq!(cell(p), c, "a line leaves its panel at {p:?}: {l:?}");
        }
    }
    // every panel title (a metric's name), at the size it is drawn, fits its panel's width
    let panel_w = w as f64 / 4.0;
    let titles: Vec<(String, f64)> = sized_texts(&doc)
        .into_iter()
        .filter(|(t, _)| t.contains('/') && !t.contains(' '))
        .collect();
    assert!(titles.len() >= 12, "{titles:?}");
    for (t, size) in &titles {
        let width = fail_lab::figures::text_width(t, *size);
        assert!(width <= panel_w, "{t} at {size}: {width} > {panel_w}");
    }
}

/// The SVG's texts with the font size each is drawn at.
fn sized_texts(doc: &roxmltree::Document) -> Vec<(String, f64)> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| {
            let size = n.attribute("font-size")?.parse().ok()?;
            Some((n.text()?.trim().to_string(), size))
        })
        .collect()
}

#[test]
fn a_size_too_small_for_the_panels_is_refused_with_one_that_fits() {
    let runs = fresh("tiny");
    let id = e2_run(&runs, 32);
    let png = runs.join("tiny.png");
    let o = lab(
        &runs,
        &[
            "plot",
            &id,
            "--all-metrics",
            "--size",
            "500x400",
            "-o",
            png.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("500x400") && err.contains("36 panels") && err.contains("at least 160x120"),
        "{err}"
    );
    assert!(!png.exists());
}

#[test]
fn a_long_panel_title_is_drawn_whole_in_two_lines() {
    let runs = fresh("title");
    let id = e2_run(&runs, 0);
    let svg = runs.join("t.svg");
    let o = lab(
        &runs,
        &[
            "plot",
            &id,
            "--size",
            "700x500",
            "-o",
            svg.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let labels = texts(&doc);
    // the figure's title (id · run title) does not fit 700 pixels on one line: it is broken
    // at a space and every piece is there, backslashes included
    let joined = labels.join(" ");
    assert!(joined.contains(r"\/\ = +1"), "{labels:?}");
    assert!(joined.contains(r"/\\ = +1"), "{labels:?}");
    // each piece, at the size it is drawn, fits the figure's width
    for (t, size) in sized_texts(&doc) {
        let width = fail_lab::figures::text_width(&t, size);
        assert!(width < 700.0, "{t} at {size}: {width}");
    }
}

/// A real E5 run (0.2 s): its cond(WᵀW) is drawn with Theorem 3's c·n^3.5 beside it, the
/// formula in the legend; `--no-theory` leaves it out; a chart no formula applies to has none.
#[test]
fn the_theory_is_drawn_with_its_formula_in_the_legend() {
    let runs = fresh("theory");
    let o = Command::new(env!("CARGO_BIN_EXE_fail-lab"))
        .args(["run", "scenarios/e5-pwl-conditioning.toml", "--out"])
        .arg(&runs)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let id = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name()
        .to_string_lossy()
        .to_string();
    let svg = runs.join("e5.svg");
    let o = lab(&runs, &["plot", &id, "-o", svg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("Theorem 3: c·n^3.5, c = "), "{text}");
    assert!(
        text.contains("what the paper&apos;s theory predicts"),
        "{text}"
    );

    let o = lab(
        &runs,
        &["plot", &id, "--no-theory", "-o", svg.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(!text.contains("Theorem 3"), "{text}");

    let o = lab(
        &runs,
        &[
            "plot",
            &id,
            "--metric",
            "s_min",
            "-o",
            svg.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!std::fs::read_to_string(&svg).unwrap().contains("theory"));
}
