//! E2's per-image network N1 (conv 5x5 16 -> pool -> conv 5x5 16 -> pool -> 50 -> 100 -> 1)
//! forward and backward on a batch of 64 line images.
//!
//! `cargo bench --bench conv_e2` prints the median time of a forward + backward pass (hinge
//! loss on the image labels, gradients of every parameter) on one compute thread (`-- --threads
//! 1,2`: at each of those counts), and of one E2 decomposition training step (k = 4, batch 200
//! tuples, Adam), then what the gradient SNR probes cost against the training they watch (E2 at
//! k = 4; E4 at k = 1000), on one thread. `bench/torch_conv_e2.py` times the same network in
//! PyTorch; `bench/compare_conv_e2.sh` alternates the two at 1 and 2 threads and reports
//! medians. `benches/threads.rs` measures the scaling of the training steps.

use std::time::Instant;

use fail_lab::experiments::decomposition::{portfolio_batch, sample_tuples, stock_labels};
use fail_lab::nn::{
    conv_kernel_isa, with_compute_threads, LineNet, LineNetConfig, Objective, OptimKind, Optimizer,
    PortfolioTarget, SoftmaxPolicy, TupleBatch,
};
use rand::SeedableRng;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --benches` runs bench targets in test mode: keep that quick
    let quick = args.iter().any(|a| a == "--test");
    // `-- n1`: only the network's forward + backward (what bench/compare_conv_e2.sh times)
    let only_n1 = args.iter().any(|a| a == "n1");
    let (reps, rounds) = if quick { (2, 1) } else { (50, 7) };
    let threads: Vec<usize> = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').filter_map(|t| t.parse().ok()).collect())
        .unwrap_or_else(|| vec![1]);
    for &n in &threads {
        with_compute_threads(n, || n1_pass(n, reps, rounds));
    }
    if only_n1 {
        return;
    }
    with_compute_threads(1, || {
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
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
        let step_ms = median(&mut ms);
        println!(
            "conv_e2 E2 training step k=4 batch=200 (800 images, sampling included): {step_ms:.1} ms (median of {})",
            ms.len()
        );

        // the SNR probe at the defaults: 64 tuples, both estimators, every 100 steps of both
        let probe = sample_tuples(&mut rng, 64, 4);
        let mut ms = Vec::new();
        for _ in 0..rounds.min(3) {
            let t = Instant::now();
            for objective in [Objective::EndToEnd, Objective::Decomposition] {
                net4.gradient_snr(&batch_of(&probe), objective).unwrap();
            }
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let probe_ms = median(&mut ms);
        println!(
            "conv_e2 E2 SNR probe k=4 (64 tuples, both estimators): {probe_ms:.1} ms = {:.1}% of the 200 training steps (100 per method) between two probes",
            100.0 * probe_ms / (200.0 * step_ms)
        );

        // E4 at k = 1000: a training step against the exact SNR of both estimators
        let (d, k) = (1000, 1000);
        let mut policy = SoftmaxPolicy::new(d, k, &mut rng).unwrap();
        let stocks = stock_labels(&mut rng, d, k);
        let mut opt = Optimizer::new(OptimKind::adam_tf(0.1));
        let steps = if quick { 2 } else { 200 };
        let t = Instant::now();
        for _ in 0..steps {
            let b = portfolio_batch(&mut rng, 100, &stocks, k, true);
            policy
                .train_step(&b.idx, PortfolioTarget::Returns(&b.returns), &mut opt)
                .unwrap();
        }
        let e4_step = t.elapsed().as_secs_f64() * 1e3 / steps as f64;
        let t = Instant::now();
        let reps = if quick { 1 } else { 20 };
        for _ in 0..reps {
            policy.population_snr(&stocks).unwrap();
        }
        let e4_probe = t.elapsed().as_secs_f64() * 1e3 / reps as f64;
        println!(
            "conv_e4 E4 k=1000 training step {e4_step:.2} ms, exact SNR probe {e4_probe:.2} ms = {:.1}% of the 100 steps between two probes",
            100.0 * e4_probe / (100.0 * e4_step)
        );
    });
}

/// N1's forward + backward on 64 images on the current pool of `threads` threads: prints the
/// median of `rounds` timings of `reps` passes each.
fn n1_pass(threads: usize, reps: usize, rounds: usize) {
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
        "conv_e2 N1 batch=64 forward+backward, {threads} thread(s) ({}): {:.2} ms (median of {})",
        conv_kernel_isa(),
        median(&mut ms),
        ms.len()
    );
}

fn batch_of(t: &fail_lab::experiments::decomposition::Tuples) -> TupleBatch<'_> {
    TupleBatch {
        images: &t.images,
        batch: t.batch,
        labels: &t.labels,
        image_labels: &t.image_labels,
    }
}
