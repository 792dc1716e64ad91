//! The paper's figures redrawn from their data alone (`fail-lab plot --paper --data`): a few
//! short real runs drawn as figures, then redrawn from the figures' CSV and layout into
//! another folder, the SVG compared byte for byte.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fail-lab"))
}

fn fresh(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("figures-data-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A short E1 run at `d` (300 iterations) in `runs`.
fn e1_run(runs: &Path, d: u32, seed: u32) {
    let sets = [format!("d={d}"), "steps=300".into(), "eval_every=50".into()];
    let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
    short_run(runs, "scenarios/e1-parity.toml", &sets, seed);
}

/// A short run of `scenario` with `sets` (`name=value`) and `seed` in `runs`.
fn short_run(runs: &Path, scenario: &str, sets: &[&str], seed: u32) {
    let mut c = bin();
    c.args([
        "run",
        scenario,
        "--threads",
        "1",
        "--seed",
        &seed.to_string(),
    ]);
    for s in sets {
        c.args(["--set", s]);
    }
    let o = c.arg("--out").arg(runs).output().unwrap();
    assert!(o.status.success(), "{scenario}: {}", stderr(&o));
}

#[test]
fn the_papers_figures_redrawn_from_their_data_alone_are_the_same_svg() {
    let runs = fresh("redraw");
    // E1 at d = 5 over two seeds (a band), d = 30; E2 at k = 3 over two seeds, both
    // methods; E4 at k = 10; E3's SNR per k: a few seconds in all
    for seed in [0, 1] {
        e1_run(&runs, 5, seed);
    }
    e1_run(&runs, 30, 0);
    let e2 = [
        "steps_e2e=40",
        "steps_dec=40",
        "batch=16",
        "eval_every=20",
        "test_size=50",
        "snr_samples=0",
    ];
    for seed in [1, 2] {
        short_run(&runs, "scenarios/e2-tuples-k3.toml", &e2, seed);
    }
    let e4 = ["steps=60", "eval_every=20"];
    short_run(&runs, "scenarios/e4-portfolio-k10.toml", &e4, 1);
    let e3 = ["samples=400", "inits=2"];
    short_run(&runs, "scenarios/e3-snr-vs-k.toml", &e3, 1);

    let from_runs = runs.join("from-runs");
    let o = bin()
        .args(["plot", "--paper"])
        .arg(&runs)
        .arg("-o")
        .arg(&from_runs)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let from_data = runs.join("from-data");
    let o = bin()
        .args(["plot", "--paper", "--data"])
        .arg(&from_runs)
        .arg("-o")
        .arg(&from_data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    for n in [1, 3, 4, 5, 6, 7] {
        let name = format!("figure-{n}.svg");
        let a = std::fs::read(from_runs.join(&name)).unwrap();
        let b = std::fs::read(from_data.join(&name)).unwrap();
        assert!(a == b, "{name} differs when redrawn from its data");
        assert!(from_data.join(format!("figure-{n}.png")).is_file());
        assert!(from_data.join(format!("data/figure-{n}.csv")).is_file());
    }
    // the figures drew the runs: Figure 3's k = 3 both methods with a band over two seeds
    let fig3 = std::fs::read_to_string(from_runs.join("data/figure-3.csv")).unwrap();
    assert!(
        fig3.contains("\"k = 3\",\"end-to-end (mean of 2)\",run,")
            && fig3.contains("\"k = 3\",\"decomposition (mean of 2)\",run,"),
        "{fig3}"
    );
    let index = std::fs::read_to_string(from_data.join("figures.md")).unwrap();
    assert!(index.contains("E2E at k = 3: "), "{index}");

    // a changed number changes the picture: the data is what is drawn
    let csv = from_runs.join("data/figure-1.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let row = text.lines().nth(1).unwrap().to_string();
    let mut cells: Vec<String> = row.split(',').map(str::to_string).collect();
    cells[4] = "0.75".into();
    std::fs::write(&csv, text.replacen(&row, &cells.join(","), 1)).unwrap();
    let again = runs.join("changed");
    let o = bin()
        .args(["plot", "--paper", "--data"])
        .arg(&from_runs)
        .arg("-o")
        .arg(&again)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::read(again.join("figure-1.svg")).unwrap()
            != std::fs::read(from_data.join("figure-1.svg")).unwrap()
    );

    // bad input: --paper with neither a runs folder nor --data, and a folder with no data
    let o = bin()
        .args(["plot", "--paper", "-o"])
        .arg(runs.join("x"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--paper needs RUNS_DIR"),
        "{}",
        stderr(&o)
    );
    let o = bin()
        .args(["plot", "--paper", "--data"])
        .arg(&runs)
        .arg("-o")
        .arg(runs.join("y"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no data folder"), "{}", stderr(&o));
}

/// `plot --paper --data DIR --readme FILE` rewrites only the figures' section of FILE, from
/// DIR's data, and refuses a file without the section's marker lines.
#[test]
fn the_readme_section_is_rewritten_between_its_markers_only() {
    use fail_lab::figures::paper::story::{BEGIN, END};
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("readme-section");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let readme = dir.join("README.md");
    std::fs::write(
        &readme,
        format!("# top\n\n{BEGIN}\nstale\n{END}\n\n## after\n"),
    )
    .unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/figures");
    let run = || {
        bin()
            .args(["plot", "--paper", "--data"])
            .arg(&data)
            .arg("--readme")
            .arg(&readme)
            .output()
            .unwrap()
    };
    let o = run();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&readme).unwrap();
    assert!(text.starts_with(&format!("# top\n\n{BEGIN}\n")), "{text}");
    assert!(text.ends_with(&format!("{END}\n\n## after\n")), "{text}");
    assert!(!text.contains("stale") && text.contains("![Figure 3](assets/figures/figure-3.png)"));
    let o = run();
    assert!(String::from_utf8_lossy(&o.stderr).contains("already up to date"));
    std::fs::write(&readme, "# no section\n").unwrap();
    let o = run();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no line"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read_to_string(&readme).unwrap(), "# no section\n");
}
