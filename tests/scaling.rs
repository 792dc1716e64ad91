//! A small real sweep of SP over n (narrow network, a few thousand steps at most: seconds):
//! its table and its CSV never head two columns `n` (the parameter and the count of seeds),
//! and `export --groups --fit power` gives the exponent of the time to solve against n with
//! its interval, the groups it used and the group that never got there, counted as censored.

use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fail-lab"))
}

fn out_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("scaling-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

fn cells(row: &str) -> Vec<String> {
    row.trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_string())
        .collect()
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

/// SP at n = 6, 8, 10 (solved in about 1k to 2.5k steps at width 64) and n = 24 (not within
/// the 2,500 steps), two seeds each; returns the runs folder and the sweep's id.
fn sp_sweep(name: &str) -> (PathBuf, String, String) {
    let out = out_dir(name);
    let o = bin()
        .args([
            "sweep",
            "scenarios/sp-sweep-n.toml",
            "--grid",
            "n=6,8,10,24",
            "--seeds",
            "2",
            "--set",
            "width=64",
            "--set",
            "steps=2500",
            "--set",
            "eval_every=20",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let id = std::fs::read_dir(out.join("sweeps"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name()
        .to_string_lossy()
        .to_string();
    (out, id, stdout)
}

#[test]
fn a_sweep_over_sp_n_names_its_count_apart_and_exports_the_fitted_exponent() {
    let (out, id, stdout) = sp_sweep("sp-n");
    // the table: the swept n once, the count of seeds as n_seeds
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("| ")).collect();
    let header = cells(rows[0]);
    assert_eq!(header[..3], ["n", "n_seeds", "runs"], "{stdout}");
    assert_eq!(header.iter().filter(|h| *h == "n").count(), 1, "{stdout}");
    assert!(stdout.contains("n_seeds: distinct seeds"), "{stdout}");
    assert_eq!(cells(rows[2])[..2], ["6", "2"], "{stdout}");

    // the CSV of the groups, with a power law fitted against n
    let o = bin()
        .args(["export", "--groups", &id, "--fit", "power", "--runs"])
        .arg(&out)
        .output()
        .unwrap();
    let (csv_text, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let (header, rows) = csv_rows(csv_text.as_bytes());
    assert_eq!(header[..4], ["experiment", "n", "n_seeds", "runs"]);
    assert_eq!(header.iter().filter(|h| *h == "n").count(), 1);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let solve: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[col("metric")] == "steps_to_0.99")
        .collect();
    assert_eq!(solve.len(), 4, "{csv_text}");
    for r in &solve {
        assert_eq!(r[col("fit_x")], "n");
        assert_eq!(r[col("fit")], "power");
        // three groups solved, n = 24 never did: censored, counted, not fitted
        assert_eq!(r[col("fit_groups")], "3", "{csv_text}");
        assert_eq!(r[col("fit_censored")], "1", "{csv_text}");
        let role = if r[col("n")] == "24" {
            "censored"
        } else {
            "fitted"
        };
        assert_eq!(r[col("fit_point")], role, "{csv_text}");
    }
    let b: f64 = solve[0][col("fit_exponent")].parse().unwrap();
    let lo: f64 = solve[0][col("fit_ci95_low")].parse().unwrap();
    let hi: f64 = solve[0][col("fit_ci95_high")].parse().unwrap();
    let r2: f64 = solve[0][col("fit_r2")].parse().unwrap();
    println!("steps_to_0.99 against n: exponent {b} [{lo}, {hi}], R² {r2}");
    // the time to solve grows with n, and the interval holds the exponent
    assert!(b > 0.0 && lo <= b && b <= hi && (0.0..=1.0).contains(&r2));

    // the same fit in JSON: the censored group named with its budget
    let o = bin()
        .args([
            "export", "--groups", &id, "--format", "json", "--fit", "power",
        ])
        .args(["--metrics", "steps_to_0.99", "--runs"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let fits = doc["fits"].as_array().unwrap();
    assert_eq!(fits.len(), 1, "{doc}");
    let f = &fits[0];
    assert_eq!(
        (&f["metric"], &f["x"]),
        (&"steps_to_0.99".into(), &"n".into())
    );
    assert_eq!(f["groups"], 3);
    assert_eq!(f["censored"][0]["x"], 24.0);
    assert_eq!(f["censored"][0]["censored_at"], 2500.0);
    assert!((f["exponent"].as_f64().unwrap() - b).abs() < 1e-9);

    // bad input: a parameter that is not swept, a fit without --groups
    let o = bin()
        .args([
            "export", "--groups", &id, "--fit", "power", "--x", "k", "--runs",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o).1);
    assert!(
        text(&o).1.contains("--x k: not a swept numeric parameter")
            && text(&o).1.contains("allowed: n"),
        "{}",
        text(&o).1
    );
    let o = bin()
        .args(["export", &id, "--fit", "power", "--runs"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).1.contains("--groups"), "{}", text(&o).1);
}
