//! E1 training throughput: d = 30, width 300, batch 128, Adam, one compute thread.
//!
//! `cargo bench --bench e1_throughput` prints steps/s for the bare training step (sampling a
//! fresh batch, forward, hinge loss, backward, Adam update) and for the whole E1 experiment
//! (which also evaluates every 100 steps). `bench/torch_e1.py` trains the same network the
//! same way in PyTorch; `bench/compare_e1.sh` runs both.

use std::time::Instant;

use fail_lab::experiments::parity::{parity_labels, sample_signs};
use fail_lab::experiments::{params_with, run_direct, CollectCtx};
use fail_lab::nn::{with_compute_threads, Activation, Loss, Mlp, OptimKind, Optimizer};
use rand::SeedableRng;

fn bare_steps_per_sec(steps: usize) -> f64 {
    let (d, width, batch, k) = (30, 300, 128, 15);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut net = Mlp::new(&[d, width, 1], Activation::Relu, &mut rng);
    let mut opt = Optimizer::new(OptimKind::adam(1e-3));
    let mut step = |rng: &mut rand::rngs::StdRng| {
        let x = sample_signs(rng, batch, d);
        let y = parity_labels(&x, d, k);
        net.train_step(&x, batch, Loss::Hinge(&y), &mut opt)
            .unwrap()
    };
    for _ in 0..200 {
        step(&mut rng);
    }
    let t = Instant::now();
    let mut sink = 0.0;
    for _ in 0..steps {
        sink += step(&mut rng);
    }
    assert!(sink.is_finite());
    steps as f64 / t.elapsed().as_secs_f64()
}

fn experiment_steps_per_sec(steps: u64) -> f64 {
    let p = params_with(
        "E1",
        &[
            ("d", "30"),
            ("optimizer", "adam"),
            ("lr", "0.001"),
            ("steps", &steps.to_string()),
        ],
    )
    .unwrap();
    let t = Instant::now();
    run_direct("E1", &p, 0, &mut CollectCtx::new()).unwrap();
    steps as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    // `cargo test --benches` runs bench targets in test mode: keep that quick
    let quick = std::env::args().any(|a| a == "--test");
    let (n, m) = if quick { (50, 200) } else { (5000, 5000) };
    with_compute_threads(1, || {
        let mut bare = Vec::new();
        let mut whole = Vec::new();
        for _ in 0..if quick { 1 } else { 5 } {
            bare.push(bare_steps_per_sec(n));
            whole.push(experiment_steps_per_sec(m));
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            v[v.len() / 2]
        };
        println!(
            "e1 d=30 width=300 batch=128 adam, 1 thread: training step {:.0} steps/s (median of {}), whole experiment with evaluation {:.0} steps/s",
            median(&mut bare),
            bare.len(),
            median(&mut whole)
        );
    });
}
