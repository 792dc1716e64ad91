//! A run's numbers do not depend on its compute threads: the same seed gives bit-identical
//! summaries and metric streams at 1, 2 and 3 threads for E2 (a short run of both methods,
//! with the SNR probes), E9 and E12; and `--threads` takes a number >= 1 or `auto`.

use std::collections::BTreeMap;
use std::process::Command;

use fail_lab::experiments::{params_with, run_direct, CollectCtx};
use fail_lab::nn::with_compute_threads;

/// Every metric stream and the summary of a run, as bits.
#[derive(Debug, PartialEq)]
struct Numbers {
    streams: BTreeMap<String, Vec<(u64, u64)>>,
    summary: BTreeMap<String, u64>,
}

fn run_at(threads: usize, id: &str, overrides: &[(&str, &str)], seed: u64) -> Numbers {
    let p = params_with(id, overrides).unwrap();
    with_compute_threads(threads, || {
        let mut ctx = CollectCtx::new();
        let summary = run_direct(id, &p, seed, &mut ctx).unwrap();
        Numbers {
            streams: ctx
                .metrics
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.iter().map(|(s, x)| (*s, x.to_bits())).collect(),
                    )
                })
                .collect(),
            summary: summary
                .metrics
                .iter()
                .map(|(k, v)| (k.clone(), v.to_bits()))
                .collect(),
        }
    })
}

fn same_at_any_thread_count(id: &str, overrides: &[(&str, &str)], must_have: &[&str]) {
    let one = run_at(1, id, overrides, 3);
    for name in must_have {
        let s = one.streams.get(*name);
        assert!(
            s.is_some_and(|s| !s.is_empty()),
            "{id}: no `{name}` stream; streams: {:?}",
            one.streams.keys().collect::<Vec<_>>()
        );
    }
    assert!(!one.summary.is_empty(), "{id}: an empty summary");
    for threads in [2, 3] {
        let other = run_at(threads, id, overrides, 3);
        assert_eq!(
            other.streams.keys().collect::<Vec<_>>(),
            one.streams.keys().collect::<Vec<_>>()
        );
        for (name, s) in &one.streams {
            assert_eq!(
                &other.streams[name], s,
                "{id}: `{name}` at {threads} threads"
            );
        }
        assert_eq!(
            other.summary, one.summary,
            "{id}: summary at {threads} threads"
        );
    }
}

#[test]
fn e2_is_the_same_at_any_thread_count() {
    // k = 2, 50 tuples: 16 tuples a chunk, four chunks; both methods, SNR probes on
    same_at_any_thread_count(
        "E2",
        &[
            ("k", "2"),
            ("method", "both"),
            ("steps_e2e", "6"),
            ("steps_dec", "6"),
            ("batch", "50"),
            ("eval_every", "3"),
            ("test_size", "100"),
            ("snr_samples", "8"),
        ],
        &["e2e/grad_snr", "dec/grad_snr"],
    );
}

#[test]
fn e9_is_the_same_at_any_thread_count() {
    // the autoencoder at its batch of 100 runs in one pass, its matmuls on the run's threads
    same_at_any_thread_count(
        "E9",
        &[
            ("steps", "30"),
            ("train_size", "500"),
            ("val_size", "100"),
            ("eval_every", "10"),
        ],
        &["train_loss", "grad_snr"],
    );
}

#[test]
fn e12_is_the_same_at_any_thread_count() {
    // 100-100-100-100-1 at batch 1,024: four chunks of 256
    same_at_any_thread_count(
        "E12",
        &[
            ("batch", "1024"),
            ("steps", "30"),
            ("eval_every", "10"),
            ("test_samples", "500"),
        ],
        &["train_loss", "grad_snr"],
    );
}

fn threads_error(args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_fail-lab"))
        .args(args)
        .arg("--runs")
        .arg(std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("threads-cli"))
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

#[test]
fn bad_thread_counts_get_a_clear_message_and_exit_2() {
    for bad in ["0", "x", "-2", "1.5"] {
        for cmd in [
            vec!["run", "scenarios/e1-parity.toml", "--threads", bad],
            vec!["reproduce", "--only", "E1", "--threads", bad],
        ] {
            let (code, stdout, stderr) = threads_error(&cmd);
            assert_eq!(code, Some(2), "{cmd:?}: {stderr}");
            assert!(stdout.is_empty(), "{cmd:?}: {stdout}");
            let want = format!(
                "error: --threads {bad}: allowed: a whole number of threads >= 1, or `auto`"
            );
            assert!(stderr.starts_with(&want), "{cmd:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
}

#[test]
fn auto_threads_runs() {
    let (code, _, stderr) = threads_error(&[
        "run",
        "scenarios/e1-parity.toml",
        "--set",
        "steps=20",
        "--set",
        "d=5",
        "--threads",
        "auto",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("finished"), "{stderr}");
}

#[test]
fn auto_gives_threads_to_the_experiments_that_train_faster_on_them() {
    use fail_lab::experiments::{params_with, uses_threads};
    let p = |id: &str, batch: Option<&str>| match batch {
        Some(b) => params_with(id, &[("batch", b)]).unwrap(),
        None => params_with(id, &[]).unwrap(),
    };
    assert!(uses_threads("E2", &p("E2", None)));
    assert!(uses_threads("E3", &p("E3", None)));
    assert!(!uses_threads("E1", &p("E1", None)));
    assert!(!uses_threads("E4", &p("E4", None)));
    // the dense networks from a batch of 512, where their steps are cut into chunks
    assert!(!uses_threads("E12", &p("E12", None)));
    assert!(uses_threads("E12", &p("E12", Some("1024"))));
    assert!(!uses_threads("E9", &p("E9", None)));
    assert!(uses_threads("E13", &p("E13", Some("512"))));
}
