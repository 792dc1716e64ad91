//! The gradient SNR probe in the experiments (the estimator itself is tested against closed
//! forms in src/nn/snr.rs).

use fail_lab::experiments::{params_with, run_direct, CollectCtx};

fn snr_at_init(d: usize, seed: u64) -> (f64, f64) {
    let half = d.div_ceil(2).to_string();
    let d_s = d.to_string();
    let p = params_with(
        "E1",
        &[
            ("d", &d_s),
            ("subset_size", &half),
            ("steps", "1"),
            ("snr_samples", "16384"),
        ],
    )
    .unwrap();
    let mut c = CollectCtx::new();
    run_direct("E1", &p, seed, &mut c).unwrap();
    (c.series("grad_snr")[0].1, c.series("grad_snr_label")[0].1)
}

/// At initialisation the part of the gradient that depends on the labels carries orders of
/// magnitude less signal at d = 30 than at d = 5 (the Fourier coefficient of Theorem 1's g at
/// the target parity). The whole hinge gradient does not show it at init: its target-
/// independent part a'(s) grad s (scores beyond +-1) has a mean of its own, of either size.
#[test]
fn e1_label_snr_at_d30_is_orders_of_magnitude_below_d5() {
    let seeds = [0u64, 1, 2];
    let mut d5 = 0.0;
    let mut d30 = 0.0;
    for &s in &seeds {
        let (full5, label5) = snr_at_init(5, s);
        let (full30, label30) = snr_at_init(30, s);
        println!("seed {s}: d = 5 grad_snr {full5:.3e} label {label5:.3e}; d = 30 grad_snr {full30:.3e} label {label30:.3e}");
        d5 += label5 / 3.0;
        d30 += label30 / 3.0;
    }
    // resolution of a 16,384-sample probe for the 9,601 numbers of the d = 30 network:
    // the bias-corrected signal has a standard error of about sqrt(2 / P) / n of the noise
    let resolution = (2.0f64 / 9601.0).sqrt() / 16384.0;
    println!(
        "mean label SNR: d = 5 {d5:.3e}, d = 30 {d30:.3e} (probe resolution {resolution:.1e})"
    );
    assert!(
        d5 > 20.0 * resolution,
        "d = 5 signal {d5} is not above the probe's resolution"
    );
    assert!(
        d5 >= 100.0 * d30.max(resolution),
        "d = 5: {d5}, d = 30: {d30}"
    );
}

#[test]
fn the_probe_can_be_turned_off_and_leaves_training_unchanged() {
    let run = |snr: &str| {
        let p = params_with(
            "E1",
            &[
                ("d", "8"),
                ("steps", "400"),
                ("eval_every", "100"),
                ("snr_samples", snr),
            ],
        )
        .unwrap();
        let mut c = CollectCtx::new();
        run_direct("E1", &p, 4, &mut c).unwrap();
        c
    };
    let on = run("128");
    let off = run("0");
    assert_eq!(on.series("test_accuracy"), off.series("test_accuracy"));
    assert_eq!(on.series("train_loss"), off.series("train_loss"));
    assert_eq!(
        on.series("grad_snr").len(),
        5,
        "a probe at step 0 and at every evaluation"
    );
    assert!(on.series("grad_snr/layer1.w").len() == 5 && on.series("grad_snr_label").len() == 5);
    assert!(off.series("grad_snr").is_empty());
}

#[test]
fn lp_emits_snr_with_its_evaluations() {
    let p = params_with(
        "LP",
        &[
            ("d", "5"),
            ("r", "1"),
            ("steps", "300"),
            ("eval_every", "100"),
            ("snr_every", "50"),
        ],
    )
    .unwrap();
    let mut c = CollectCtx::new();
    run_direct("LP", &p, 0, &mut c).unwrap();
    let steps: Vec<u64> = c.series("grad_snr").iter().map(|p| p.0).collect();
    assert_eq!(steps, vec![0, 50, 100, 150, 200, 250, 300]);
    assert!(c
        .series("grad_snr")
        .iter()
        .all(|p| p.1.is_finite() && p.1 >= 0.0));
}
