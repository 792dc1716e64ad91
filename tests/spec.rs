//! Scenario files and `--set` overrides: every valid file parses, every invalid one gets the
//! message that names the file, line, field, what was given and what is allowed.

use std::path::{Path, PathBuf};

use fail_lab::experiments::Registry;
use fail_lab::spec::{load_scenario, parse_scenario, Scenario, Value};

fn files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_valid_file_and_every_preset_parses() {
    let mut n = 0;
    for f in files("tests/data/scenarios/valid")
        .into_iter()
        .chain(files("scenarios"))
    {
        let s = load_scenario(&f, &Registry).unwrap_or_else(|e| panic!("{e}"));
        fail_lab::engine::validate(&s).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        n += 1;
    }
    assert!(n >= 9);
}

#[test]
fn presets_are_named_after_their_experiment() {
    for f in files("scenarios") {
        let s = load_scenario(&f, &Registry).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.starts_with(&format!("{}-", s.experiment.to_lowercase())),
            "{name} holds experiment {}",
            s.experiment
        );
    }
}

#[test]
fn every_invalid_file_gets_its_message() {
    let all = files("tests/data/scenarios/invalid");
    assert!(all.len() >= 12);
    for f in all {
        let expected = std::fs::read_to_string(f.with_extension("expected"))
            .unwrap_or_else(|_| panic!("{} has no .expected file", f.display()));
        let expected = expected.trim_end_matches('\n');
        let err =
            load_scenario(&f, &Registry).expect_err(&format!("{} should not parse", f.display()));
        let msg = err.to_string();
        assert!(
            msg.starts_with(expected),
            "{}:\n  got:      {msg}\n  expected: {expected}",
            f.display()
        );
        assert!(
            err.line.is_some() || msg.contains("missing"),
            "{msg} names no line"
        );
    }
}

#[test]
fn partial_files_keep_defaults_for_the_rest() {
    let s = load_scenario(
        Path::new("tests/data/scenarios/valid/partial.toml"),
        &Registry,
    )
    .unwrap();
    assert_eq!(s.params.get("d"), Some(&Value::Int(12)));
    assert_eq!(s.params.get("lr"), Some(&Value::Float(1e-3)));
    assert_eq!(s.params.get("steps"), Some(&Value::Int(2000)));
    assert_eq!(
        s.params.get("batch"),
        Some(&Value::Int(128)),
        "default kept"
    );
    assert_eq!(s.seed, Some(4));
    let s = load_scenario(
        Path::new("tests/data/scenarios/valid/int-for-float.toml"),
        &Registry,
    )
    .unwrap();
    assert_eq!(s.params.get("r"), Some(&Value::Float(2.0)));
}

#[test]
fn written_scenarios_read_back_identically() {
    let mut s = load_scenario(Path::new("scenarios/e1-parity.toml"), &Registry).unwrap();
    s.set("d=12", &Registry).unwrap();
    s.seed = Some(99);
    let back = parse_scenario(&s.to_toml(), None, &Registry).unwrap();
    assert_eq!(back.params, s.params);
    assert_eq!(back.seed, Some(99));
    assert_eq!(back.title, s.title);
    assert_eq!(back.description, s.description);
}

fn set_err(assignment: &str) -> String {
    let mut s = Scenario::with_defaults("E1", &Registry).unwrap();
    s.set(assignment, &Registry).unwrap_err().to_string()
}

#[test]
fn set_errors_name_the_field_the_value_and_what_is_allowed() {
    assert_eq!(
        set_err("d=99"),
        "--set d: got 99, allowed: an integer in 2..=63 (input bits)"
    );
    assert_eq!(
        set_err("d=abc"),
        "--set d: \"abc\" is not an integer, allowed: an integer in 2..=63 (input bits)"
    );
    assert!(set_err("widht=3").starts_with(
        "--set widht: unknown parameter for E1; did you mean `width`? Known: d, width"
    ));
    assert!(
        set_err("zzzzzz=3").starts_with("--set zzzzzz: unknown parameter for E1. Known: d, width")
    );
    assert_eq!(set_err("d"), "--set: \"d\" is not of the form name=value");
    assert_eq!(
        set_err("lr=0"),
        "--set lr: got 0, allowed: a number > 0 and <= 10 (learning rate)"
    );
    assert!(
        set_err("optimizer=sgdd").contains("allowed: one of sgd, adam, adam99 (did you mean sgd?)")
    );
    assert_eq!(
        set_err("seed=-1"),
        "--set seed: got \"-1\", allowed: an integer >= 0"
    );
    assert_eq!(
        set_err("steps="),
        "--set steps: no value given, allowed: an integer in 1..=100000000 (training iterations)"
    );
}

#[test]
fn set_accepts_what_a_user_types() {
    let mut s = Scenario::with_defaults("E1", &Registry).unwrap();
    for a in [
        "steps=5000",
        "steps=5e3",
        "steps=5_000",
        "lr=1e-2",
        "optimizer=adam99",
        " d = 7 ",
        "seed=3",
    ] {
        s.set(a, &Registry).unwrap_or_else(|e| panic!("{a}: {e}"));
    }
    assert_eq!(s.params.get("steps"), Some(&Value::Int(5000)));
    assert_eq!(s.params.get("d"), Some(&Value::Int(7)));
    assert_eq!(s.seed, Some(3));
}

#[test]
fn cross_parameter_checks_run_before_launch() {
    let mut s = Scenario::with_defaults("E1", &Registry).unwrap();
    s.set("d=5", &Registry).unwrap();
    s.set("subset_size=9", &Registry).unwrap();
    let e = fail_lab::engine::validate(&s).err().unwrap();
    assert!(e.contains("subset_size = 9 is larger than d = 5"), "{e}");
}
