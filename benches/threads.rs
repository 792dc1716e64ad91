//! Scaling of the data-parallel steps with the compute threads of a run.
//!
//! `cargo bench --bench threads` times, at each thread count (default `1,2`; `-- --threads
//! 1,2,4` for others), in alternating rounds so that every count sees the same load on a
//! shared machine:
//! - E2's training step (k = 4, batch 200 tuples = 800 images, decomposition, Adam), the
//!   batches drawn before the clock starts;
//! - E2's gradient SNR probe (64 tuples of 4, both estimators: 128 per-tuple backward passes);
//! - N1's forward + backward on 64 images (the PyTorch comparison of `bench/torch_conv_e2.py`);
//! - a training step of the dense models: E1's MLP (30-300-1, batch 128), E12's (100-100-100-
//!   100-1, batch 256 and 1,024), E13's (100-100-100-8, batch 256) and E9's autoencoder
//!   (100-500-100-6-100-100-100, batch 100).
//!
//! `-- --only E2,N1` times only the cases whose name starts with one of those words. Each line
//! gives the median time per call at every thread count, the speedup over one thread
//! and the efficiency (speedup / threads).

use std::time::Instant;

use fail_lab::experiments::decomposition::{sample_tuples, Tuples};
use fail_lab::nn::{
    with_compute_threads, Activation, LineNet, LineNetConfig, Loss, Mlp, Objective, OptimKind,
    Optimizer, TupleBatch,
};
use rand::{Rng, SeedableRng};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn batch_of(t: &Tuples) -> TupleBatch<'_> {
    TupleBatch {
        images: &t.images,
        batch: t.batch,
        labels: &t.labels,
        image_labels: &t.image_labels,
    }
}

/// Whether the case `name` was asked for: `-- --only E2,N1` keeps the cases whose name starts
/// with one of those words (all by default).
fn wanted(args: &[String], name: &str) -> bool {
    match args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
    {
        None => true,
        Some(list) => list.split(',').any(|w| name.starts_with(w)),
    }
}

/// Times the case that `setup` builds (inside the run's pool: optimizers are not `Send`) at
/// every thread count, `rounds` alternating rounds of one warm-up call and `reps` timed calls,
/// and prints one line.
fn time_case<S, C>(name: &str, threads: &[usize], rounds: usize, reps: usize, setup: S)
where
    S: Fn() -> C + Sync,
    C: FnMut(),
{
    if !wanted(&std::env::args().collect::<Vec<_>>(), name) {
        return;
    }
    let mut ms: Vec<Vec<f64>> = vec![Vec::new(); threads.len()];
    for _ in 0..rounds {
        for (i, &n) in threads.iter().enumerate() {
            ms[i].push(with_compute_threads(n, || {
                let mut case = setup();
                case();
                let t = Instant::now();
                for _ in 0..reps {
                    case();
                }
                t.elapsed().as_secs_f64() * 1e3 / reps as f64
            }));
        }
    }
    let med: Vec<f64> = ms.iter_mut().map(|v| median(v)).collect();
    let cells: Vec<String> = threads
        .iter()
        .zip(&med)
        .map(|(&n, &m)| {
            let speedup = med[0] / m;
            let eff = speedup * threads[0] as f64 / n as f64;
            format!("{n} thr {m:.2} ms (x{speedup:.2}, eff {eff:.2})")
        })
        .collect();
    println!("threads {name}: {} [median of {rounds}]", cells.join(" | "));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --benches` runs bench targets in test mode: keep that quick
    let quick = args.iter().any(|a| a == "--test");
    let threads: Vec<usize> = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').filter_map(|t| t.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2]);
    let (rounds, scale) = if quick { (1, 1) } else { (7, 5) };
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);

    // E2's training step, k = 4
    let batches: Vec<Tuples> = (0..4).map(|_| sample_tuples(&mut rng, 200, 4)).collect();
    time_case(
        "E2 step k=4 batch=200 dec",
        &threads,
        rounds,
        2 * scale,
        || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(1);
            let mut net = LineNet::new(LineNetConfig::paper(4), &mut rng).unwrap();
            let mut opt = Optimizer::new(OptimKind::adam_tf(1e-3));
            let (mut i, batches) = (0, &batches);
            move || {
                let b = &batches[i % batches.len()];
                i += 1;
                net.train_step(&batch_of(b), Objective::Decomposition, &mut opt)
                    .unwrap();
            }
        },
    );

    // E2's SNR probe
    let probe = sample_tuples(&mut rng, 64, 4);
    time_case("E2 SNR probe k=4 64 tuples", &threads, rounds, 1, || {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let net = LineNet::new(LineNetConfig::paper(4), &mut rng).unwrap();
        let probe = &probe;
        move || {
            for objective in [Objective::EndToEnd, Objective::Decomposition] {
                net.gradient_snr(&batch_of(probe), objective).unwrap();
            }
        }
    });

    // N1 alone on 64 images
    let data = sample_tuples(&mut rng, 64, 1);
    time_case("N1 batch=64 fwd+bwd", &threads, rounds, 10 * scale, || {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let net = LineNet::new(LineNetConfig::paper(1), &mut rng).unwrap();
        let data = &data;
        move || {
            net.image_loss_and_grads(&data.images, 64, &data.image_labels)
                .unwrap();
        }
    });

    // the dense models
    let models: [(&str, Vec<usize>, usize); 5] = [
        ("E1 MLP 30-300-1 batch=128", vec![30, 300, 1], 128),
        (
            "E12 MLP 100-100-100-100-1 batch=256",
            vec![100, 100, 100, 100, 1],
            256,
        ),
        (
            "E12 MLP 100-100-100-100-1 batch=1024",
            vec![100, 100, 100, 100, 1],
            1024,
        ),
        (
            "E13 MLP 100-100-100-8 batch=256",
            vec![100, 100, 100, 8],
            256,
        ),
        (
            "E9 autoencoder 100-500-100-6-100-100-100 batch=100",
            vec![100, 500, 100, 6, 100, 100, 100],
            100,
        ),
    ];
    for (name, sizes, batch) in models {
        let (d, o) = (sizes[0], sizes[sizes.len() - 1]);
        let x: Vec<f32> = (0..batch * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let y: Vec<f32> = (0..batch * o).map(|_| rng.gen_range(-1.0..1.0)).collect();
        time_case(name, &threads, rounds, 40 * scale, || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(1);
            let mut net = Mlp::new(&sizes, Activation::Relu, &mut rng);
            let mut opt = Optimizer::new(OptimKind::adam_tf(1e-3));
            let (x, y) = (&x, &y);
            move || {
                net.train_step(x, batch, Loss::Mse(y), &mut opt).unwrap();
            }
        });
    }
}
