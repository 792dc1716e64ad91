//! `fail-lab export` and `fail-lab plot` as a user runs them, on short E1 runs made with
//! `fail-lab run`: CSV read back with a CSV reader, the JSON's shape, SVG read as XML
//! (series, legend, axis labels), PNG decoded (size, colours), the paper's Figure 1, and bad
//! input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fail_lab::figures::PALETTE;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fail-lab"))
}

fn fresh(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("figures-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// `fail-lab --runs RUNS ARGS...`.
fn lab(runs: &Path, args: &[&str]) -> Output {
    bin().arg("--runs").arg(runs).args(args).output().unwrap()
}

/// A short E1 run at `d` in `runs`; returns its id.
fn e1_run(runs: &Path, d: u32, seed: u32) -> String {
    let o = bin()
        .args(["run", "scenarios/e1-parity.toml", "--threads", "1"])
        .args(["--set", &format!("d={d}"), "--set", "steps=300"])
        .args(["--set", "eval_every=50", "--seed", &seed.to_string()])
        .arg("--out")
        .arg(runs)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let line = err.lines().find(|l| l.starts_with("files: ")).unwrap();
    let dir = line["files: ".len()..].split(" (").next().unwrap();
    Path::new(dir)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string()
}

/// Three runs at d = 5, 10, 30.
fn three_runs(name: &str) -> (PathBuf, Vec<String>) {
    let runs = fresh(name);
    let ids = [5, 10, 30].map(|d| e1_run(&runs, d, 0)).to_vec();
    (runs, ids)
}

/// A run folder written by hand: non-finite values and a metric name that needs quoting.
fn odd_run(runs: &Path) -> String {
    let dir = runs.join("20990101-000000-e1");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("spec.toml"),
        "experiment = \"E1\"\ntitle = \"odd, \\\"quoted\\\"\"\nseed = 3\n\n[params]\nd = 7\n",
    )
    .unwrap();
    let lines = [
        r#"{"step": 1, "name": "loss, \"raw\"", "value": "NaN"}"#,
        r#"{"step": 2, "name": "loss, \"raw\"", "value": "inf"}"#,
        r#"{"step": 3, "name": "loss, \"raw\"", "value": "-inf"}"#,
        r#"{"step": 4, "name": "loss, \"raw\"", "value": 0.25}"#,
    ];
    std::fs::write(dir.join("metrics.jsonl"), lines.join("\n") + "\n").unwrap();
    std::fs::write(
        dir.join("summary.json"),
        r#"{"status": "finished", "step": 4, "total": 4, "elapsed_s": 0.1, "reason": null,
            "summary": {"metrics": {"final": "NaN", "d": 7}, "notes": []}}"#,
    )
    .unwrap();
    "20990101-000000-e1".into()
}

fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn export_writes_long_form_csv_and_summaries_that_read_back() {
    let (runs, ids) = three_runs("export");
    let odd = odd_run(&runs);
    let mut args: Vec<&str> = vec!["export"];
    args.extend(ids.iter().map(String::as_str));
    args.push(&odd);
    let o = lab(&runs, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let (header, rows) = csv_rows(&o.stdout);
    assert_eq!(
        header,
        ["run", "experiment", "seed", "d", "step", "name", "value"]
    );
    // 300 steps evaluated every 50 from step 0: 7 points of each metric
    let acc: Vec<&Vec<String>> = rows.iter().filter(|r| r[5] == "test_accuracy").collect();
    assert_eq!(acc.len(), 21, "{rows:?}");
    assert!(acc.iter().all(|r| r[1] == "E1" && r[2] == "0"));
    assert!(acc
        .iter()
        .all(|r| (0.0..=1.0).contains(&r[6].parse::<f64>().unwrap())));
    let ds: Vec<&str> = acc.iter().map(|r| r[3].as_str()).collect();
    assert!(ds.contains(&"5") && ds.contains(&"10") && ds.contains(&"30"));
    // the hand-written run: a quoted name and values as the run files write them
    let odd_rows: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == odd).collect();
    let values: Vec<&str> = odd_rows.iter().map(|r| r[6].as_str()).collect();
    assert_eq!(values, ["NaN", "inf", "-inf", "0.25"]);
    assert!(odd_rows
        .iter()
        .all(|r| r[5] == "loss, \"raw\"" && r[3] == "7"));
    let raw = String::from_utf8_lossy(&o.stdout);
    assert!(raw.contains("\"loss, \"\"raw\"\"\""), "CSV quoting: {raw}");

    // --summary: one row per run, parameters and final values
    let file = runs.join("summary.csv");
    let o = bin()
        .arg("--runs")
        .arg(&runs)
        .args(["export", "--summary", &ids[0], &odd, "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let (header, rows) = csv_rows(&std::fs::read(&file).unwrap());
    assert_eq!(rows.len(), 2);
    assert_eq!(
        &header[..5],
        ["run", "experiment", "seed", "status", "step"]
    );
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows[0][col("d")], "5");
    assert_eq!(rows[0][col("status")], "finished");
    assert!(rows[0][col("test_accuracy")].parse::<f64>().is_ok());
    assert_eq!(rows[1][col("final")], "NaN");
    // a summary value named like a parameter keeps its own column
    assert_eq!(rows[1][col("summary.d")].parse::<f64>(), Ok(7.0));
}

#[test]
fn export_as_json_gives_each_run_its_parameters_and_points() {
    let (runs, ids) = three_runs("export-json");
    let odd = odd_run(&runs);
    // non-finite values as strings, as the run files write them
    let o = lab(&runs, &["export", "--format", "json", &ids[1], &odd]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["export"], "points");
    let runs_json = v["runs"].as_array().unwrap();
    assert_eq!(runs_json.len(), 2);
    let first = &runs_json[0];
    for key in [
        "run",
        "experiment",
        "title",
        "seed",
        "status",
        "step",
        "params",
        "swept",
    ] {
        assert!(!first[key].is_null(), "{key} in {first}");
    }
    assert_eq!(first["params"]["d"], 10);
    assert_eq!(first["swept"]["d"], 10);
    let pts = first["metrics"]["test_accuracy"].as_array().unwrap();
    assert_eq!(pts.len(), 7);
    assert!(pts
        .iter()
        .all(|p| p["step"].is_u64() && p["value"].is_number()));
    let odd_pts = &runs_json[1]["metrics"]["loss, \"raw\""];
    assert_eq!(odd_pts[0]["value"], "NaN");
    assert_eq!(odd_pts[1]["value"], "inf");
}

#[test]
fn a_sweep_exports_as_its_group_table_and_plots_as_groups_and_against_a_parameter() {
    let runs = fresh("sweep");
    let o = lab(
        &runs,
        &[
            "sweep",
            "scenarios/e1-parity.toml",
            "--grid",
            "d=4,6",
            "--seeds",
            "2",
            "--set",
            "steps=300",
            "--set",
            "eval_every=50",
            "--threads",
            "1",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let id = fail_lab::sweep::record::list(&runs).pop().unwrap();
    let o = lab(
        &runs,
        &["export", "--groups", &id, "--metrics", "test_accuracy"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (header, rows) = csv_rows(&o.stdout);
    assert_eq!(
        header,
        [
            "experiment",
            "d",
            "width",
            "n",
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
            "censored_at"
        ]
    );
    assert_eq!(rows.len(), 2, "one row per grid point: {rows:?}");
    for r in &rows {
        // width is a setup column (10 d), never averaged; n counts distinct seeds
        assert_eq!(
            r[2].parse::<f64>().unwrap(),
            10.0 * r[1].parse::<f64>().unwrap()
        );
        assert_eq!(
            (r[3].as_str(), r[4].as_str(), r[5].as_str(), r[6].as_str()),
            ("2", "2", "2", "0 1")
        );
        assert_eq!((r[7].as_str(), r[8].as_str()), ("test_accuracy", "result"));
        let [mean, sd, min, max]: [f64; 4] = [10, 11, 12, 13].map(|i| r[i].parse().unwrap());
        assert!(min <= mean && mean <= max && sd >= 0.0, "{r:?}");
    }
    // a time to a threshold: reached r of n, a censored median, no mean
    let o = lab(
        &runs,
        &["export", "--groups", &id, "--metrics", "steps_to_0.99"],
    );
    let (_, rows) = csv_rows(&o.stdout);
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in &rows {
        assert_eq!((r[8].as_str(), r[9].as_str()), ("threshold", "2"), "{r:?}");
        assert_eq!((r[10].as_str(), r[11].as_str()), ("", ""), "no mean: {r:?}");
        assert_eq!(
            r[18].parse::<f64>().unwrap(),
            300.0,
            "censored at the last step: {r:?}"
        );
        let reached: usize = r[16].parse().unwrap();
        assert!(reached <= 2);
        assert_eq!(r[17].is_empty(), reached < 1, "{r:?}");
    }
    let o = lab(&runs, &["export", "--groups", "--format", "json", &id]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["sweep"], id.as_str());
    assert_eq!(v["groups"][0]["metrics"]["test_accuracy"]["n"], 2);
    assert_eq!(
        (&v["groups"][0]["n"], &v["groups"][0]["runs"]),
        (&2.into(), &2.into())
    );
    let t = &v["groups"][0]["metrics"]["steps_to_0.99"];
    assert_eq!((&t["kind"], &t["n"]), (&"threshold".into(), &2.into()));
    assert!(t["reached"].is_u64() && t.get("median").is_some(), "{t}");
    assert_eq!(v["groups"][0]["setup"]["width"], 40.0);

    let svg = runs.join("groups.svg");
    let o = lab(
        &runs,
        &["plot", &id, "--band", "sd", "-o", svg.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(series_count(&doc), 2);
    assert!(count(&doc, "polygon") >= 2, "a band under each line");
    let labels = texts(&doc);
    assert!(labels.iter().any(|t| t == "d=4 (n=2)"), "{labels:?}");

    let o = lab(
        &runs,
        &["plot", &id, "--x", "d", "-o", svg.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    let labels = texts(&roxmltree::Document::parse(&text).unwrap());
    assert!(labels.iter().any(|t| t == "d") && labels.iter().any(|t| t == "test_accuracy"));
    assert!(labels.iter().any(|t| t.contains("against d")), "{labels:?}");

    // a growth law through the points, stated where it is read and drawn where it is seen
    let o = lab(
        &runs,
        &[
            "plot",
            &id,
            "--x",
            "d",
            "--fit",
            "exp",
            "--log-y",
            "-o",
            svg.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("fit: y ∝ e^("), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    let labels = texts(&roxmltree::Document::parse(&text).unwrap());
    assert!(labels.iter().any(|t| t.contains("fit: y")), "{labels:?}");
    let o = lab(
        &runs,
        &[
            "plot",
            &id,
            "--fit",
            "cubic",
            "--x",
            "d",
            "-o",
            svg.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("allowed: power"), "{}", stderr(&o));
}

fn count(doc: &roxmltree::Document, tag: &str) -> usize {
    doc.descendants().filter(|n| n.has_tag_name(tag)).count()
}

fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect()
}

fn hex(i: usize) -> String {
    let (r, g, b) = PALETTE[i];
    format!("#{r:02X}{g:02X}{b:02X}")
}

/// Lines drawn through more than five points, counted by their colour (a legend's sample
/// line has two points, a reference diamond five).
fn series_count(doc: &roxmltree::Document) -> usize {
    let mut colours: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter(|n| {
            n.attribute("points")
                .is_some_and(|p| p.split_whitespace().count() > 5)
        })
        .filter_map(|n| n.attribute("stroke").map(str::to_uppercase))
        .filter(|c| (0..PALETTE.len()).any(|i| hex(i) == *c))
        .collect();
    colours.sort();
    colours.dedup();
    colours.len()
}

#[test]
fn plots_of_runs_read_as_svg_and_decode_as_png() {
    let (runs, ids) = three_runs("plot");
    let svg = runs.join("overlay.svg");
    let mut args = vec![
        "plot",
        "--metric",
        "test_accuracy",
        "-o",
        svg.to_str().unwrap(),
    ];
    args.extend(ids.iter().map(String::as_str));
    let o = lab(&runs, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(series_count(&doc), 3);
    let labels = texts(&doc);
    for want in ["d=5", "d=10", "d=30", "step", "test_accuracy"] {
        assert!(labels.iter().any(|t| t == want), "{want} in {labels:?}");
    }

    let png = runs.join("one.png");
    let o = lab(
        &runs,
        &[
            "plot",
            &ids[0],
            "--size",
            "900x600",
            "-o",
            png.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let decoder = png::Decoder::new(std::fs::File::open(&png).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (900, 600));
    let px = info.color_type.samples();
    let mut colours = std::collections::HashSet::new();
    // the middle of the picture: inside the plot areas of the run's panels
    for y in 150..450 {
        for x in 150..750 {
            let i = (y * info.width as usize + x) * px;
            colours.insert((buf[i], buf[i + 1], buf[i + 2]));
        }
    }
    assert!(colours.len() > 20, "{} colours", colours.len());

    // the run's own figure view: E1 draws none, which is said in an empty figure
    let o = lab(
        &runs,
        &["plot", &ids[0], "--figure", "-o", svg.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    let labels = texts(&roxmltree::Document::parse(&text).unwrap());
    assert!(
        labels.iter().any(|t| t.contains("drew no figure")),
        "{labels:?}"
    );
}

#[test]
fn the_papers_figure_1_has_a_curve_per_d_and_the_papers_values() {
    let (runs, _) = three_runs("paper");
    let out = runs.join("figures");
    let o = lab(
        &runs,
        &[
            "plot",
            "--paper",
            runs.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for n in [1, 3, 4, 5, 6, 7] {
        for ext in ["svg", "png"] {
            assert!(
                out.join(format!("figure-{n}.{ext}")).is_file(),
                "figure-{n}.{ext}"
            );
        }
    }
    let text = std::fs::read_to_string(out.join("figure-1.svg")).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(series_count(&doc), 3);
    let labels = texts(&doc);
    for want in [
        "d = 5",
        "d = 10",
        "d = 30",
        "paper d = 5",
        "paper d = 30",
        "iteration",
        "accuracy",
    ] {
        assert!(labels.iter().any(|t| t == want), "{want} in {labels:?}");
    }
    // the paper's values within the runs' 300 iterations: none of d = 5 (it starts at 800);
    // the legend's three diamonds at least
    let diamonds = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke-width") == Some("4"))
        .count();
    assert!(diamonds >= 3, "{diamonds}");
    let index = std::fs::read_to_string(out.join("figures.md")).unwrap();
    assert!(
        index.contains("**Figure 1**") && index.contains("Drawn."),
        "{index}"
    );
    assert!(
        index.contains("**Figure 3**") && index.contains("no finished E2 run"),
        "{index}"
    );
    // the caption: the runs' 300 iterations, one seed, each d's last accuracy and whether
    // d = 30 stayed within the check's band of chance
    let cap = index
        .lines()
        .find(|l| l.contains("**Figure 1**"))
        .and_then(|l| l.split_once("Caption: "))
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("no caption for Figure 1 in {index}"));
    assert!(
        cap.starts_with("budget 300 iterations, 1 seed. d = 5: ") && cap.contains(" · d = 30: "),
        "{cap}"
    );
    assert!(cap.ends_with("1/1 seeds at chance.") || cap.ends_with("0/1 seeds at chance."));
    assert!(
        labels.iter().any(|t| t.starts_with("Caption: budget 300")),
        "{labels:?}"
    );
}

#[test]
fn bad_input_says_what_is_wrong_and_what_there_is() {
    let (runs, ids) = three_runs("bad");
    let o = lab(&runs, &["export", "20000101-000000-e9"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("20000101-000000-e9") && e.contains(&ids[2]),
        "{e}"
    );

    let o = lab(&runs, &["export", &ids[0], "--metrics", "accuracy"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("no metric accuracy") && e.contains("test_accuracy"),
        "{e}"
    );

    let o = lab(&runs, &["plot", &ids[0], "--metric", "nope", "-o", "x.svg"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("test_accuracy"), "{}", stderr(&o));

    let blocked = runs.join(&ids[0]).join("spec.toml").join("x.svg");
    for args in [
        vec!["plot", &ids[0], "-o", blocked.to_str().unwrap()],
        vec!["export", &ids[0], "-o", blocked.to_str().unwrap()],
    ] {
        let o = lab(&runs, &args);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("cannot write"), "{}", stderr(&o));
    }
    let o = lab(&runs, &["plot", &ids[0], "-o", "figure.pdf"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(".svg or .png"), "{}", stderr(&o));
    let o = lab(&runs, &["plot", &ids[0], "--size", "big", "-o", "x.svg"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("WIDTHxHEIGHT"), "{}", stderr(&o));

    // a run with no points: an empty figure that says so
    let empty = runs.join("20990101-000000-e1");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(
        empty.join("spec.toml"),
        "experiment = \"E1\"\ntitle = \"t\"\n[params]\n",
    )
    .unwrap();
    let svg = runs.join("empty.svg");
    let o = lab(
        &runs,
        &[
            "plot",
            "20990101-000000-e1",
            "--metric",
            "test_accuracy",
            "-o",
            svg.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(series_count(&doc), 0);
    assert!(
        texts(&doc).iter().any(|t| t.contains("no points")),
        "{text}"
    );
}

#[test]
fn reproduce_with_figures_redraws_figure_1_from_the_checks_runs() {
    let dir = fresh("reproduce-figures");
    let out = dir.join("figures");
    let o = lab(
        &dir,
        &[
            "reproduce",
            "--quick",
            "--only",
            "E1",
            "--figures",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // the checks' runs are saved beside the figures, and Figure 1 draws d = 5, 10 and 30
    assert!(out.join("runs").is_dir());
    let text = std::fs::read_to_string(out.join("figure-1.svg")).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(series_count(&doc), 3);
    let labels = texts(&doc);
    for want in [
        "d = 10",
        "d = 30",
        "paper d = 5",
        "paper d = 10",
        "paper d = 30",
    ] {
        assert!(
            labels.iter().any(|t| t.starts_with(want)),
            "{want} in {labels:?}"
        );
    }
    assert!(out.join("figure-1.png").is_file() && out.join("figure-7.svg").is_file());
    let index = std::fs::read_to_string(out.join("figures.md")).unwrap();
    assert!(
        index.contains("- Figure 1: drawn; checks: E1 pass"),
        "{index}"
    );
    assert!(index.contains("- Figure 3: not drawn (no runs)"), "{index}");
}
