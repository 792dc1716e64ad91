//! E2's per-image network N1 (conv 5x5 16 -> pool -> conv 5x5 16 -> pool -> 50 -> 100 -> 1)
//! forward and backward on a batch of 64 line images, one compute thread.
//!
//! `cargo bench --bench conv_e2` prints the median time of a forward + backward pass (hinge
//! loss on the image labels, gradients of every parameter) and of one E2 decomposition training
//! step (k = 4, batch 200 tuples, Adam). `bench/torch_conv_e2.py` times the same network in
//! PyTorch; `bench/compare_conv_e2.sh` alternates the two and reports medians.

use std::time::Instant;

use fail_lab::experiments::decomposition::sample_tuples;
use fail_lab::nn::{
    conv_kernel_isa, with_compute_threads, LineNet, LineNetConfig, Objective, OptimKind, Optimizer,
    TupleBatch,
};
use rand::SeedableRng;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    // `cargo test --benches` runs bench targets in test mode: keep that quick
    let quick = std::env::args().any(|a| a == "--test");
    let (reps, rounds) = if quick { (2, 1) } else { (50, 7) };
    with_compute_threads(1, || {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let net = LineNet::new(LineNetConfig::paper(1), &mut rng).unwrap();
        let data = sample_tuples(&mut rng, 64, 1);
        let pass = || {
            net.image_loss_and_grads(&data.images, 64, &data.image_labels)
                .unwrap()
                .0
        };
        for _ in 0..5 {
            pass();
        }
        let mut ms = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            let mut sink = 0.0;
            for _ in 0..reps {
                sink += pass();
            }
            assert!(sink.is_finite());
            ms.push(t.elapsed().as_secs_f64() / reps as f64 * 1e3);
        }
        println!(
            "conv_e2 N1 batch=64 forward+backward, 1 thread ({}): {:.2} ms (median of {})",
            conv_kernel_isa(),
            median(&mut ms),
            ms.len()
        );

        let mut net4 = LineNet::new(LineNetConfig::paper(4), &mut rng).unwrap();
        let mut opt = Optimizer::new(OptimKind::adam_tf(1e-3));
        let steps = if quick { 1 } else { 10 };
        let mut ms = Vec::new();
        for _ in 0..rounds.min(3) {
            let t = Instant::now();
            for _ in 0..steps {
                let d = sample_tuples(&mut rng, 200, 4);
                let b = TupleBatch {
                    images: &d.images,
                    batch: 200,
                    labels: &d.labels,
                    image_labels: &d.image_labels,
                };
                net4.train_step(&b, Objective::Decomposition, &mut opt)
                    .unwrap();
            }
            ms.push(t.elapsed().as_secs_f64() / steps as f64 * 1e3);
        }
        println!(
            "conv_e2 E2 training step k=4 batch=200 (800 images, sampling included): {:.1} ms (median of {})",
            median(&mut ms),
            ms.len()
        );
    });
}
