//! LineNet's chunked passes on the CPU: gradients, training steps and per-tuple passes give
//! the same bits at any thread count.

use super::*;
use crate::nn::{with_compute_threads, OptimKind};
use rand::SeedableRng;

/// A small tuple batch with a fixed pattern (labels in {-1, +1}).
fn batch_data(cfg: LineNetConfig, batch: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let n = batch * cfg.k;
    let images: Vec<f32> = (0..n * cfg.image_len())
        .map(|_| if rng.gen_bool(0.1) { 1.0 } else { 0.0 })
        .collect();
    let image_labels: Vec<f32> = (0..n)
        .map(|_| if rng.gen_bool(0.5) { 1.0 } else { -1.0 })
        .collect();
    let labels = image_labels
        .chunks(cfg.k)
        .map(|c| c.iter().product())
        .collect();
    (images, labels, image_labels)
}

fn net(k: usize) -> LineNet {
    let cfg = LineNetConfig {
        side: 12,
        k,
        channels: 4,
        n2_width: 8,
    };
    LineNet::new(cfg, &mut rand::rngs::StdRng::seed_from_u64(5)).unwrap()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn rel_dist(a: &[f32], b: &[f32]) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let n: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (d / n).sqrt()
}

#[test]
fn chunked_gradients_are_the_same_bits_at_any_thread_count_and_near_the_whole_batch() {
    // 37 tuples of 3: 10 tuples a chunk, so four chunks, the last one short
    let net = net(3);
    let (images, labels, image_labels) = batch_data(net.config(), 37);
    let t = TupleBatch {
        images: &images,
        batch: 37,
        labels: &labels,
        image_labels: &image_labels,
    };
    assert_eq!(net.on_cpu().chunk_tuples(), 10);
    for objective in [Objective::EndToEnd, Objective::Decomposition] {
        let (p1, g1) = with_compute_threads(1, || net.loss_and_grads(&t, objective).unwrap());
        for threads in [2, 3] {
            let (p, g) =
                with_compute_threads(threads, || net.loss_and_grads(&t, objective).unwrap());
            assert_eq!(bits(&g), bits(&g1), "{objective:?} at {threads} threads");
            assert_eq!(p.primary.to_bits(), p1.primary.to_bits());
            assert_eq!(p.per_image.to_bits(), p1.per_image.to_bits());
        }
        // the single pass over the whole batch, as before the chunks
        let (whole, mut grads) = net.on_cpu().backward(&t, objective, 1.0).unwrap();
        let whole_g = net.on_cpu().flatten(&mut grads).unwrap();
        let d = rel_dist(&g1, &whole_g);
        assert!(d < 1e-5, "{objective:?}: relative distance {d}");
        assert!((p1.primary - whole.primary).abs() <= 1e-5 * whole.primary.abs());
        assert!((p1.per_image - whole.per_image).abs() <= 1e-5 * whole.per_image.abs());
    }
}

#[test]
fn training_steps_give_the_same_weights_at_any_thread_count() {
    let train = |threads: usize| {
        with_compute_threads(threads, || {
            let mut net = net(2);
            let mut opt = Optimizer::new(OptimKind::adam_tf(1e-2));
            let mut losses = Vec::new();
            for step in 0..3 {
                let (images, labels, image_labels) = batch_data(net.config(), 40 + step);
                let t = TupleBatch {
                    images: &images,
                    batch: 40 + step,
                    labels: &labels,
                    image_labels: &image_labels,
                };
                let p = net
                    .train_step(&t, Objective::Decomposition, &mut opt)
                    .unwrap();
                losses.push(p.primary.to_bits());
            }
            (bits(&net.params()), losses)
        })
    };
    let one = train(1);
    assert_eq!(train(2), one);
    assert_eq!(train(3), one);
}

#[test]
fn per_tuple_gradients_and_forward_passes_do_not_depend_on_the_threads() {
    let net = net(2);
    let (images, labels, image_labels) = batch_data(net.config(), 45);
    let t = TupleBatch {
        images: &images,
        batch: 45,
        labels: &labels,
        image_labels: &image_labels,
    };
    let run = |threads: usize| {
        with_compute_threads(threads, || {
            let rows = net.per_sample_grads(&t, Objective::EndToEnd).unwrap();
            let (tuples, per_image) = net.predict_all(&images, 45).unwrap();
            let (feats, scores) = net.image_features(&images, 90).unwrap();
            let head = net.head_grads(&t).unwrap();
            let image = net
                .image_loss_and_grads(&images, 90, &image_labels)
                .unwrap();
            [
                bits(&rows),
                bits(&tuples),
                bits(&per_image),
                bits(&feats),
                bits(&scores),
                bits(&head.decomposition),
                bits(&image.1),
            ]
        })
    };
    let one = run(1);
    assert_eq!(run(2), one);
    assert_eq!(run(3), one);
    // a per-tuple row is that tuple's gradient alone
    let p = net.num_params();
    let single = net.on_cpu().sub_batch(&t, 7..8);
    let (_, g7) = net.loss_and_grads(&single, Objective::EndToEnd).unwrap();
    assert_eq!(bits(&g7), one[0][7 * p..8 * p].to_vec());
    // per-image scores agree between the passes
    assert_eq!(one[2], one[4]);
}
