//! Part 1 of the spec: E1, T1, L3 and LP, at budgets that fit CI.

use fail_lab::experiments::common::first_reaching;
use fail_lab::experiments::parity::{
    all_sign_inputs, draw_subset_size, lemma3_accuracy, parity_gradient_variance,
};
use fail_lab::experiments::{params_with, run_direct, CollectCtx};
use fail_lab::nn::{Activation, Loss, Mlp};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn run(id: &str, overrides: &[(&str, &str)], seed: u64) -> CollectCtx {
    let p = params_with(id, overrides).unwrap();
    let mut ctx = CollectCtx::new();
    run_direct(id, &p, seed, &mut ctx).unwrap();
    ctx
}

/// |S| = ceil(d/2) = 3, the spec's choice for reproducible demos (the full parity |S| = 5 needs
/// about 5,000 iterations, the very limit; `reproduce --full` runs the drawn |S|).
#[test]
fn e1_d5_learns_within_5000_steps_on_two_seeds() {
    for seed in [0, 1] {
        let c = run(
            "E1",
            &[
                ("d", "5"),
                ("subset_size", "3"),
                ("steps", "5000"),
                ("eval_every", "10"),
            ],
            seed,
        );
        let hit = first_reaching(c.series("test_accuracy"), 0.99);
        println!("d = 5 seed {seed}: >= 0.99 at {hit:?}");
        assert!(hit.is_some(), "seed {seed}: never reached 0.99");
    }
}

#[test]
fn e1_d30_stays_at_chance_for_5000_steps() {
    let c = run("E1", &[("d", "30"), ("steps", "5000")], 0);
    let accs: Vec<f64> = c.series("test_accuracy").iter().map(|p| p.1).collect();
    assert_eq!(accs.len(), 51);
    let (lo, hi) = accs
        .iter()
        .fold((1.0f64, 0.0f64), |(l, h), &a| (l.min(a), h.max(a)));
    println!("d = 30: accuracy in [{lo}, {hi}]");
    assert!(
        lo >= 0.43 && hi <= 0.57,
        "accuracy left [0.43, 0.57]: [{lo}, {hi}]"
    );
}

#[test]
fn e1_subset_size_is_binomial_and_never_zero() {
    let mut rng = StdRng::seed_from_u64(3);
    let draws: Vec<usize> = (0..4000).map(|_| draw_subset_size(&mut rng, 6)).collect();
    assert!(draws.iter().all(|&k| (1..=6).contains(&k)));
    let mean = draws.iter().sum::<usize>() as f64 / draws.len() as f64;
    // Binomial(6, 1/2) conditioned on > 0 has mean 3 / (1 - 1/64) = 3.048
    assert!((mean - 3.048).abs() < 0.06, "mean |S| {mean}");
}

#[test]
fn e1_rejects_a_subset_larger_than_d() {
    let p = params_with("E1", &[("d", "5"), ("subset_size", "6")]).unwrap();
    let err = run_direct("E1", &p, 0, &mut CollectCtx::new()).unwrap_err();
    assert!(
        err.to_string()
            .contains("subset_size = 6 is larger than d = 5"),
        "{err}"
    );
}

#[test]
fn e1_same_seed_same_numbers() {
    let a = run(
        "E1",
        &[("d", "8"), ("steps", "300"), ("eval_every", "50")],
        11,
    );
    let b = run(
        "E1",
        &[("d", "8"), ("steps", "300"), ("eval_every", "50")],
        11,
    );
    assert_eq!(a.metrics, b.metrics);
}

/// Theorem 1 holds for every initialisation; the spec's "ratio in [0.9, 1] for d >= 6" holds
/// for the ratio of the averages over 16 initialisations (single inits vary: 0.65..0.999).
#[test]
fn t1_variance_never_exceeds_the_bound_and_sits_near_it_from_d_6() {
    let c = run("T1", &[("d_min", "4"), ("d_max", "12"), ("inits", "16")], 0);
    let ratios = c.series("ratio");
    assert_eq!(ratios.len(), 9);
    for (&(d, r), &(_, top)) in ratios.iter().zip(c.series("ratio_max_init")) {
        println!("d = {d}: mean Var / mean (G^2 / 2^d) = {r:.4}, largest single init {top:.4}");
        assert!(
            top <= 1.0 + 1e-9,
            "d = {d}: a single init at {top}, above the bound"
        );
        assert!(r <= 1.0 + 1e-9);
        if d >= 6 {
            assert!(r >= 0.9, "d = {d}: ratio {r} below 0.9");
        }
    }
    let lv: Vec<(f64, f64)> = c
        .series("log2_var")
        .iter()
        .map(|p| (p.0 as f64, p.1))
        .collect();
    let slope = fail_lab::experiments::common::least_squares_slope(&lv);
    println!("slope of log2 Var per unit of d: {slope:.3}");
    assert!((-1.1..=-0.7).contains(&slope), "slope {slope}");
}

/// The Walsh-Hadamard route against the definition: every parity's full-batch hinge-loss
/// gradient computed directly, then the variance over the 2^d targets.
#[test]
fn t1_transform_matches_brute_force_over_all_targets() {
    let d = 4;
    let n = 1 << d;
    let mut rng = StdRng::seed_from_u64(5);
    let net = Mlp::new(&[d, 10 * d, 1], Activation::Relu, &mut rng);
    let x = all_sign_inputs(d);
    let mut grads = Vec::new();
    for v in 0..n {
        let y: Vec<f32> = x
            .chunks(d)
            .map(|row| {
                (0..d)
                    .filter(|i| (v >> i) & 1 == 1)
                    .map(|i| row[i])
                    .product()
            })
            .collect();
        grads.push(net.loss_and_grads(&x, n, Loss::Hinge(&y)).unwrap().1);
    }
    let p = grads[0].len();
    let mean: Vec<f64> = (0..p)
        .map(|j| grads.iter().map(|g| g[j] as f64).sum::<f64>() / n as f64)
        .collect();
    let var = grads
        .iter()
        .map(|g| {
            g.iter()
                .zip(&mean)
                .map(|(a, m)| (*a as f64 - m).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / n as f64;
    let fast = parity_gradient_variance(&net, d).unwrap();
    println!("brute force {var:.6e}, transform {:.6e}", fast.var);
    assert!(
        (fast.var - var).abs() <= 1e-4 * var,
        "{} vs {var}",
        fast.var
    );
}

#[test]
fn l3_network_is_exact_for_every_parity_up_to_d_12() {
    let mut rng = StdRng::seed_from_u64(1);
    for d in 2..=12 {
        for _ in 0..5 {
            let v: Vec<bool> = (0..d).map(|_| rand::Rng::gen(&mut rng)).collect();
            assert_eq!(lemma3_accuracy(&v).unwrap(), 1.0, "d = {d}, v = {v:?}");
        }
        // the parity of all bits and the empty parity too
        assert_eq!(lemma3_accuracy(&vec![true; d]).unwrap(), 1.0);
        assert_eq!(lemma3_accuracy(&vec![false; d]).unwrap(), 1.0);
    }
}

#[test]
fn lp_low_frequency_is_learned_high_frequency_stalls() {
    let easy = run(
        "LP",
        &[
            ("d", "5"),
            ("r", "1"),
            ("steps", "3000"),
            ("eval_every", "500"),
        ],
        0,
    );
    let hard = run(
        "LP",
        &[
            ("d", "30"),
            ("r", "6"),
            ("steps", "3000"),
            ("eval_every", "500"),
        ],
        0,
    );
    let e = easy.last("test_loss_ratio").unwrap();
    let h = hard.last("test_loss_ratio").unwrap();
    println!("test loss / Var[y]: d = 5, r = 1: {e:.4}; d = 30, r = 6: {h:.4}");
    assert!(e < 0.2, "d = 5, r = 1 should be learned: {e}");
    assert!(h > 0.9, "d = 30, r = 6 should stall: {h}");
    // the probe of the gradient's variance across targets runs at every evaluation
    assert_eq!(hard.series("grad_var_targets").len(), 7);
    assert!(hard
        .series("grad_var_relative")
        .iter()
        .all(|p| p.1.is_finite() && p.1 >= 0.0));
}

/// SP at n = 10, k = 3 with its defaults: solved on both seeds, and the hidden progress
/// (fourier_target above fourier_max_other by the margin) shows no later than the accuracy.
#[test]
fn sp_n10_k3_is_solved_and_the_target_correlation_clears_the_others_first() {
    for seed in [0, 1] {
        let p = params_with("SP", &[("n", "10")]).unwrap();
        let mut c = CollectCtx::new();
        let s = run_direct("SP", &p, seed, &mut c).unwrap();
        let solved = s.get("steps_to_0.99").expect("solved within the budget");
        let gap = s.get("steps_to_gap").expect("the gap opened");
        println!("n = 10 seed {seed}: gap at {gap}, 0.99 at {solved}");
        assert!(gap <= solved, "gap at {gap}, solved at {solved}");
        // the run ends at the evaluation that solved it
        assert_eq!(s.get("steps_run"), Some(solved));
        let last = |m: &str| c.series(m).last().unwrap().1;
        assert!(last("test_accuracy") >= 0.99);
        assert!(
            last("fourier_target") > last("fourier_max_other") + 0.5,
            "target {} others {}",
            last("fourier_target"),
            last("fourier_max_other")
        );
        assert!(last("relevant_weight_ratio") > 1.0);
        assert!(last("relevant_drift_ratio") > 1.0);
        assert!(last("dist_from_init") > 0.0);
        // every evaluation measures every metric
        let evals = c.series("test_accuracy").len();
        for m in [
            "test_loss",
            "fourier_target",
            "fourier_max_other",
            "dist_from_init",
        ] {
            assert_eq!(c.series(m).len(), evals, "{m}");
        }
    }
}

#[test]
fn sp_runs_its_whole_budget_when_asked_and_rejects_k_above_n() {
    let c = run(
        "SP",
        &[
            ("n", "12"),
            ("width", "32"),
            ("steps", "300"),
            ("eval_every", "100"),
            ("stop_solved", "false"),
        ],
        4,
    );
    let steps: Vec<u64> = c.series("fourier_target").iter().map(|p| p.0).collect();
    assert_eq!(steps, [0, 100, 200, 300]);
    let p = params_with("SP", &[("n", "5"), ("k", "6")]).unwrap();
    let err = run_direct("SP", &p, 0, &mut CollectCtx::new()).unwrap_err();
    assert!(
        err.to_string().contains("k = 6 is larger than n = 5"),
        "{err}"
    );
}

/// E1 streams the hidden-progress metrics at every evaluation; once it has learned the
/// parity of its first 3 bits, the correlation with it stands far above the others'.
#[test]
fn e1_streams_the_hidden_progress_metrics() {
    let c = run(
        "E1",
        &[
            ("d", "5"),
            ("subset_size", "3"),
            ("steps", "4000"),
            ("eval_every", "100"),
            ("snr_samples", "0"),
        ],
        0,
    );
    let evals = c.series("test_accuracy").len();
    for m in [
        "fourier_target",
        "fourier_max_other",
        "relevant_weight_ratio",
        "dist_from_init",
    ] {
        assert_eq!(c.series(m).len(), evals, "{m}");
    }
    let last = |m: &str| c.series(m).last().unwrap().1;
    println!(
        "E1 d = 5: accuracy {}, target {}, others {}",
        last("test_accuracy"),
        last("fourier_target"),
        last("fourier_max_other")
    );
    assert!(last("test_accuracy") >= 0.99);
    assert!(last("fourier_target") > last("fourier_max_other") + 0.3);
}
