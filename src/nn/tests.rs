use super::*;
use rand::SeedableRng;

fn rng() -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(7)
}

/// Loss of `net` with parameter `idx` (flattened order) moved by `delta`, in f64 from f32 outputs.
fn loss_with(net: &Mlp, idx: usize, delta: f32, x: &[f32], batch: usize, loss: Loss<'_>) -> f64 {
    let mut layers = net.weights();
    let mut k = idx;
    'outer: for l in layers.iter_mut() {
        for v in [&mut l.w, &mut l.b] {
            if k < v.len() {
                v[k] += delta;
                break 'outer;
            }
            k -= v.len();
        }
    }
    let moved = Mlp::from_weights(layers, Activation::Relu).unwrap();
    let out = moved.forward(x, batch).unwrap();
    loss.value(&out, moved.outputs())
}

fn check_finite_differences(sizes: &[usize], loss: Loss<'_>, x: &[f32], batch: usize) {
    let net = Mlp::new(sizes, Activation::Relu, &mut rng());
    let (value, grads) = net.loss_and_grads(x, batch, loss).unwrap();
    let out = net.forward(x, batch).unwrap();
    assert!((value as f64 - loss.value(&out, net.outputs())).abs() < 1e-4);
    assert_eq!(grads.len(), net.num_params());
    let h = 1e-3f32;
    for (idx, &g) in grads.iter().enumerate() {
        let numeric = (loss_with(&net, idx, h, x, batch, loss)
            - loss_with(&net, idx, -h, x, batch, loss))
            / (2.0 * h as f64);
        assert!(
            (numeric - g as f64).abs() <= 2e-3 + 2e-2 * numeric.abs(),
            "parameter {idx}: backprop {g}, finite difference {numeric}"
        );
    }
}

fn inputs(batch: usize, d: usize) -> Vec<f32> {
    // values away from ReLU kinks are not guaranteed, but a fixed seed keeps this deterministic
    (0..batch * d)
        .map(|i| ((i * 37 % 17) as f32 - 8.0) / 5.0)
        .collect()
}

#[test]
fn mse_gradients_match_finite_differences() {
    let x = inputs(5, 3);
    let t: Vec<f32> = (0..10).map(|i| (i as f32 - 4.0) / 3.0).collect();
    check_finite_differences(&[3, 6, 2], Loss::Mse(&t), &x, 5);
}

#[test]
fn hinge_gradients_match_finite_differences() {
    let x = inputs(6, 4);
    let y = [1.0, -1.0, 1.0, 1.0, -1.0, -1.0];
    check_finite_differences(&[4, 8, 1], Loss::Hinge(&y), &x, 6);
}

#[test]
fn hinge_label_part_gradients_match_finite_differences() {
    let x = inputs(6, 4);
    let y = [1.0, -1.0, 1.0, 1.0, -1.0, -1.0];
    check_finite_differences(&[4, 8, 1], Loss::HingeLabelPart(&y), &x, 6);
}

#[test]
fn cross_entropy_gradients_match_finite_differences() {
    let x = inputs(4, 3);
    let c = [0usize, 2, 1, 2];
    check_finite_differences(&[3, 5, 5, 3], Loss::SoftmaxCrossEntropy(&c), &x, 4);
}

#[test]
fn per_sample_gradients_average_to_the_batch_gradient() {
    let net = Mlp::new(&[3, 7, 1], Activation::Relu, &mut rng());
    let x = inputs(4, 3);
    let y = [0.5, -1.0, 2.0, 0.0];
    let (_, batch_grad) = net.loss_and_grads(&x, 4, Loss::Mse(&y)).unwrap();
    let rows = net.per_sample_grads(&x, 4, Loss::Mse(&y)).unwrap();
    let p = net.num_params();
    for j in 0..p {
        let mean: f32 = (0..4).map(|i| rows[i * p + j]).sum::<f32>() / 4.0;
        assert!((mean - batch_grad[j]).abs() < 1e-5);
    }
}

#[test]
fn two_adam_steps_match_a_hand_computation() {
    // one weight w, one bias b; input x = 2, target 0: loss = (2w + b)^2
    let layer = LayerWeights {
        inputs: 1,
        outputs: 1,
        w: vec![0.5],
        b: vec![0.25],
    };
    let mut net = Mlp::from_weights(vec![layer], Activation::Identity).unwrap();
    let (lr, b1, b2, eps) = (0.1f64, 0.9f64, 0.99f64, 1e-5f64);
    let mut opt = Optimizer::new(OptimKind::adam_tf(lr));
    let (mut w, mut b) = (0.5f64, 0.25f64);
    let (mut mw, mut vw, mut mb, mut vb) = (0.0, 0.0, 0.0, 0.0);
    for t in 1..=2 {
        net.train_step(&[2.0], 1, Loss::Mse(&[0.0]), &mut opt)
            .unwrap();
        let r = 2.0 * w + b;
        let (gw, gb) = (2.0 * r * 2.0, 2.0 * r);
        mw = b1 * mw + (1.0 - b1) * gw;
        vw = b2 * vw + (1.0 - b2) * gw * gw;
        mb = b1 * mb + (1.0 - b1) * gb;
        vb = b2 * vb + (1.0 - b2) * gb * gb;
        let c1 = 1.0 - b1.powi(t);
        let c2 = 1.0 - b2.powi(t);
        w -= lr * (mw / c1) / ((vw / c2).sqrt() + eps);
        b -= lr * (mb / c1) / ((vb / c2).sqrt() + eps);
        let got = net.weights();
        assert!(
            (got[0].w[0] as f64 - w).abs() < 1e-6,
            "step {t}: w {} vs {w}",
            got[0].w[0]
        );
        assert!(
            (got[0].b[0] as f64 - b).abs() < 1e-6,
            "step {t}: b {} vs {b}",
            got[0].b[0]
        );
    }
}

#[test]
fn sgd_step_is_minus_lr_times_gradient() {
    let mut net = Mlp::new(&[3, 4, 1], Activation::Relu, &mut rng());
    let x = inputs(2, 3);
    let y = [1.0, -1.0];
    let before: Vec<f32> = net
        .weights()
        .iter()
        .flat_map(|l| l.w.iter().chain(&l.b).cloned().collect::<Vec<_>>())
        .collect();
    let (_, g) = net.loss_and_grads(&x, 2, Loss::Hinge(&y)).unwrap();
    let mut opt = Optimizer::new(OptimKind::sgd(0.5));
    net.train_step(&x, 2, Loss::Hinge(&y), &mut opt).unwrap();
    let after: Vec<f32> = net
        .weights()
        .iter()
        .flat_map(|l| l.w.iter().chain(&l.b).cloned().collect::<Vec<_>>())
        .collect();
    for i in 0..g.len() {
        assert!((after[i] - (before[i] - 0.5 * g[i])).abs() < 1e-6);
    }
}

#[test]
fn truncated_normal_stays_within_two_std() {
    let v = truncated_normal(&mut rng(), 20_000, 0.5);
    assert!(v.iter().all(|x| x.abs() <= 1.0));
    let var = v.iter().map(|x| (x * x) as f64).sum::<f64>() / v.len() as f64;
    // variance of a normal truncated at 2 std is 0.774 std^2
    assert!(
        (var / 0.25 - 0.774).abs() < 0.03,
        "variance ratio {}",
        var / 0.25
    );
}

#[test]
fn bad_shapes_are_errors_not_panics() {
    let net = Mlp::new(&[3, 4, 1], Activation::Relu, &mut rng());
    assert!(net.forward(&[1.0; 5], 2).is_err());
    assert!(net
        .loss_and_grads(&[1.0; 6], 2, Loss::Hinge(&[1.0]))
        .is_err());
    let bad = LayerWeights {
        inputs: 2,
        outputs: 2,
        w: vec![0.0; 3],
        b: vec![0.0; 2],
    };
    assert!(Mlp::from_weights(vec![bad], Activation::Relu).is_err());
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-4 * a.abs().max(b.abs()) + 1e-9,
        "{what}: {a} vs {b}"
    );
}

fn check_fast_snr(sizes: &[usize], loss: Loss<'_>, x: &[f32], batch: usize) {
    let net = Mlp::new(sizes, Activation::Relu, &mut rng());
    let fast = net.gradient_snr(x, batch, loss).unwrap();
    let rows = net.per_sample_grads(x, batch, loss).unwrap();
    let slow = gradient_snr(&rows, batch, &net.param_layout());
    assert_eq!(fast.blocks.len(), slow.blocks.len());
    for ((name, f), (name2, s)) in fast.blocks.iter().zip(&slow.blocks) {
        assert_eq!(name, name2);
        assert_close(f.signal_plugin, s.signal_plugin, &format!("{name} signal"));
        assert_close(f.noise, s.noise, &format!("{name} noise"));
    }
    assert_close(fast.total.signal, slow.total.signal, "total signal");
    assert_close(fast.total.noise, slow.total.noise, "total noise");
}

#[test]
fn batched_snr_probe_equals_the_per_sample_definition() {
    let x = inputs(9, 4);
    let y: Vec<f32> = (0..9)
        .map(|i| if i % 3 == 0 { 1.0 } else { -1.0 })
        .collect();
    check_fast_snr(&[4, 12, 1], Loss::Hinge(&y), &x, 9);
    let t: Vec<f32> = (0..18).map(|i| (i as f32 - 9.0) / 4.0).collect();
    check_fast_snr(&[4, 6, 5, 2], Loss::Mse(&t), &x, 9);
    let c: Vec<usize> = (0..9).map(|i| i % 3).collect();
    check_fast_snr(&[4, 7, 3], Loss::SoftmaxCrossEntropy(&c), &x, 9);
}
