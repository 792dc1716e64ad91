//! Part 3 of the spec (E5-E9): Lemma 1, the condition numbers, the curve generators, the
//! convolution layer against a naive loop and finite differences, and the quick checks.

use fail_lab::experiments::conditioning::{
    checks, decode, eigenvalues, encode, lemma1_residual, pwl_data, row_covariance, sample_curves,
    sym_cond, to_row_major_f32, w_conditioning, w_inverse, w_matrix, whitened_covariance,
    whitening_matrix, CurveDist, SLOPE_PATTERNS,
};
use fail_lab::experiments::{params_with, run_direct, Budget, CollectCtx};
use fail_lab::nn::{Conv1d, LinearMap, Loss, OptimKind, Optimizer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn uniform(rng: &mut StdRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-scale..scale)).collect()
}

// ---------------------------------------------------------------------------------------------
// E5: W, Lemma 1, the curves

#[test]
fn lemma1_the_inverse_of_w_is_the_1_minus2_1_band() {
    for n in [1, 2, 3, 5, 25, 100] {
        assert_eq!(lemma1_residual(n), 0.0, "n = {n}");
    }
    // the band itself, and W's entries in the code's convention
    let u = w_inverse(6);
    let w = w_matrix(6);
    for i in 0..6 {
        for j in 0..6 {
            let want_u = match j as isize - i as isize {
                0 => 1.0,
                1 => -2.0,
                2 => 1.0,
                _ => 0.0,
            };
            assert_eq!(u[(i, j)], want_u, "U[{i}][{j}]");
            assert_eq!(
                w[(i, j)],
                (j as f64 - i as f64 + 1.0).max(0.0),
                "W[{i}][{j}]"
            );
        }
    }
    // a numerical inverse agrees with the band
    let inv = w_matrix(30).try_inverse().expect("W is invertible");
    assert!((inv - w_inverse(30)).abs().max() < 1e-9);
}

#[test]
fn encode_and_decode_are_the_products_with_w_inverse_and_w() {
    let mut r = rng(1);
    let n = 40;
    let p: Vec<f64> = (0..n).map(|_| r.gen_range(-1.0..1.0)).collect();
    let f = decode(&p);
    let w = w_matrix(n);
    for x in 0..n {
        let by_matrix: f64 = (0..n).map(|i| p[i] * w[(i, x)]).sum();
        assert!((f[x] - by_matrix).abs() < 1e-9, "f[{x}]");
    }
    let back = encode(&f);
    for x in 0..n {
        assert!((back[x] - p[x]).abs() < 1e-9, "p[{x}]");
    }
}

#[test]
fn pattern_curves_follow_the_code() {
    let c = sample_curves(CurveDist::Patterns, 100, 3, 10_000, &mut rng(2));
    assert_eq!((c.n, c.count), (100, 10_000));
    let allowed: Vec<[f64; 3]> = SLOPE_PATTERNS
        .iter()
        .map(|s| [s[0], s[1] - s[0], s[2] - s[1]])
        .collect();
    for i in 0..c.count {
        let p = c.p_row(i);
        let kinks: Vec<usize> = (0..100).filter(|&j| p[j] != 0.0).collect();
        assert_eq!(kinks.len(), 3, "curve {i}: {kinks:?}");
        assert!(
            kinks[0] >= 3 && kinks[2] <= 96,
            "curve {i}: kinks {kinks:?}"
        );
        let a = [p[kinks[0]] as f64, p[kinks[1]] as f64, p[kinks[2]] as f64];
        assert!(allowed.contains(&a), "curve {i}: a = {a:?}");
        let f = c.f_row(i);
        assert_eq!(&f[..3], &[0.0, 0.0, 0.0], "curves start flat at 0");
        let back = encode(&f.iter().map(|&v| v as f64).collect::<Vec<_>>());
        for j in 0..100 {
            assert_eq!(back[j], p[j] as f64, "curve {i}, x = {j}");
        }
    }
    // spec: E[f^2] ~ 1,170, E[p_j^2] = 14.75 / 100; values reach about +-190
    let (f2, p2) = (c.mean_f2(), c.mean_p2());
    println!("patterns: E f^2 = {f2:.1}, E p^2 = {p2:.4}");
    assert!((1100.0..1250.0).contains(&f2), "E f^2 = {f2}");
    assert!((p2 - 0.1475).abs() < 0.004, "E p^2 = {p2}");
    let top = c.f.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!((150.0..=200.0).contains(&top), "max |f| = {top}");
}

#[test]
fn continuous_and_paper_curves() {
    let c = sample_curves(CurveDist::Continuous, 100, 3, 5000, &mut rng(3));
    for i in 0..50 {
        let f = c.f_row(i);
        assert_eq!(f[0], 0.0);
        let p = encode(&f.iter().map(|&v| v as f64).collect::<Vec<_>>());
        let kinks = p.iter().filter(|v| v.abs() > 1e-5).count();
        // a kink between grid points shows in two (rarely three) coordinates of p
        assert!((3..=9).contains(&kinks), "curve {i}: {kinks} nonzero");
        for (a, &b) in p.iter().zip(c.p_row(i)) {
            assert!((a - b as f64).abs() < 1e-4);
        }
    }
    let f2 = c.mean_f2();
    println!("continuous: E f^2 = {f2:.1}");
    assert!(
        (700.0..950.0).contains(&f2),
        "E f^2 = {f2} (spec: about 830)"
    );

    let c = sample_curves(CurveDist::Paper, 100, 3, 2000, &mut rng(4));
    for i in 0..c.count {
        let p = c.p_row(i);
        let nz: Vec<f32> = p.iter().cloned().filter(|v| *v != 0.0).collect();
        assert_eq!(nz.len(), 3);
        assert!(nz.iter().all(|v| v.abs() <= 1.0));
    }
}

#[test]
fn datasets_depend_on_the_seed_and_share_validation_curves() {
    let (t1, v1) = pwl_data(CurveDist::Continuous, 50, 3, 100, 20, 7);
    let (t2, v2) = pwl_data(CurveDist::Continuous, 50, 3, 300, 20, 7);
    let (_, v3) = pwl_data(CurveDist::Continuous, 50, 3, 100, 20, 8);
    assert_eq!(
        v1, v2,
        "the validation set does not depend on the training set's size"
    );
    assert_eq!(&t2.f[..t1.f.len()], &t1.f[..]);
    assert_ne!(v1, v3);
}

// ---------------------------------------------------------------------------------------------
// conditioning numbers

#[test]
fn condition_numbers_of_w_match_the_spec_table() {
    // spec table (E6): n, S1/Sn, S1^2/Sn^2, S1
    let table = [
        (25, 766.0, 5.9e5, 192.0),
        (50, 2956.0, 8.7e6, 740.0),
        (100, 1.16e4, 1.35e8, 2901.0),
        (200, 4.6e4, 2.1e9, 1.15e4),
    ];
    let mut pts = Vec::new();
    for (n, ratio, cond, s1) in table {
        let c = w_conditioning(n);
        println!(
            "n = {n}: S1 = {:.1}, Sn = {:.4}, S1/Sn = {:.1}, cond = {:.4e}",
            c.s_max,
            c.s_min,
            c.s_max / c.s_min,
            c.cond_wtw()
        );
        assert!(((c.s_max / c.s_min) / ratio - 1.0).abs() < 0.02, "n = {n}");
        assert!((c.cond_wtw() / cond - 1.0).abs() < 0.03, "n = {n}");
        assert!((c.s_max / s1 - 1.0).abs() < 0.01, "n = {n}");
        assert!((c.s_min - 0.25).abs() < 0.005, "n = {n}: Sn = {}", c.s_min);
        pts.push(((n as f64).ln(), c.cond_wtw().ln()));
    }
    let c100 = w_conditioning(100).cond_wtw();
    assert!((1e8..=2e8).contains(&c100), "cond at n = 100: {c100:e}");
    let slope = fail_lab::experiments::common::least_squares_slope(&pts);
    println!("growth exponent {slope:.3}");
    assert!((3.5..=4.2).contains(&slope), "exponent {slope}");
}

#[test]
fn row_covariance_and_whitening() {
    for (dist, lo, hi) in [
        // spec: cond ~1.4e5 on the code's curves, ~1.6e6 on the paper's
        (CurveDist::Patterns, 1.0e5, 2.0e5),
        (CurveDist::Paper, 0.8e6, 3.0e6),
        (CurveDist::Continuous, 0.8e6, 4.0e6),
    ] {
        let train = sample_curves(dist, 100, 3, 10_000, &mut rng(5));
        let c = row_covariance(&train);
        let e = eigenvalues(&c);
        let cond = sym_cond(&c);
        println!("{dist:?}: eigenvalues {e:?}, cond {cond:.4e}");
        assert!(cond >= lo && cond <= hi, "{dist:?}: cond {cond:e}");
        let m = to_row_major_f32(&whitening_matrix(&c).unwrap());
        let wc = whitened_covariance(&train, &m);
        let wcond = sym_cond(&wc);
        println!("{dist:?}: whitened cond {wcond:.6}");
        assert!(wcond <= 1.01, "{dist:?}: whitened cond {wcond}");
        for i in 0..3 {
            assert!((wc[(i, i)] - 1.0).abs() < 1e-3);
        }
        if dist == CurveDist::Patterns {
            // spec: eigenvalues about 3.5e3, 2.0, 2.5e-2
            assert!((e[0] / 3.5e3 - 1.0).abs() < 0.1, "{e:?}");
            assert!((e[1] / 2.0 - 1.0).abs() < 0.1, "{e:?}");
            assert!((e[2] / 2.5e-2 - 1.0).abs() < 0.1, "{e:?}");
        }
    }
    let singular = nalgebra::Matrix3::from_diagonal(&nalgebra::Vector3::new(1.0, 1.0, 0.0));
    let err = whitening_matrix(&singular).unwrap_err();
    assert!(err.contains("not positive definite"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// the layers

/// `y_t = sum_k v_k x_{t-k}` by a plain loop.
fn naive_conv(x: &[f32], len: usize, v: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    for s in x.chunks(len) {
        for t in 0..len {
            let mut acc = 0.0;
            for (k, &w) in v.iter().enumerate() {
                if t >= k {
                    acc += w * s[t - k] as f64;
                }
            }
            out.push(acc);
        }
    }
    out
}

fn conditioner(r: &mut StdRng, taps: usize) -> Vec<f32> {
    uniform(r, taps * taps, 1.0)
}

#[test]
fn conv1d_forward_matches_a_naive_loop() {
    let mut r = rng(6);
    for (taps, len, batch, cond) in [
        (3, 17, 4, false),
        (3, 17, 4, true),
        (1, 5, 2, false),
        (5, 9, 3, true),
        (4, 2, 2, true),
    ] {
        let w = uniform(&mut r, taps, 2.0);
        let mut conv = Conv1d::from_filter(w.clone()).unwrap();
        if cond {
            conv = conv.with_conditioner(conditioner(&mut r, taps)).unwrap();
        }
        let v = conv.effective_filter();
        if !cond {
            assert_eq!(v, w.iter().map(|&x| x as f64).collect::<Vec<_>>());
        }
        let x = uniform(&mut r, batch * len, 3.0);
        let got = conv.forward(&x, batch).unwrap();
        let want = naive_conv(&x, len, &v);
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (*g as f64 - w).abs() < 1e-4,
                "taps {taps}, cond {cond}, out {i}: {g} vs {w}"
            );
        }
    }
    // [1, -2, 1] on a PWL curve gives back its encoding exactly (Lemma 1)
    let c = sample_curves(CurveDist::Patterns, 100, 3, 5, &mut rng(7));
    let conv = Conv1d::from_filter(vec![1.0, -2.0, 1.0]).unwrap();
    assert_eq!(conv.forward(&c.f, 5).unwrap(), c.p);
}

/// Loss of a convolution with weights `w`, from its forward pass, in f64.
fn conv_loss(
    w: &[f32],
    cond: Option<&[f32]>,
    scale: f32,
    x: &[f32],
    batch: usize,
    t: &[f32],
) -> f64 {
    let mut c = Conv1d::from_filter(w.to_vec()).unwrap();
    if let Some(m) = cond {
        c = c.with_conditioner(m.to_vec()).unwrap();
    }
    let out = c.forward(x, batch).unwrap();
    scale as f64 * Loss::Mse(t).value(&out, x.len() / batch)
}

#[test]
fn conv1d_gradients_match_finite_differences() {
    let mut r = rng(8);
    for cond in [false, true] {
        let (taps, len, batch) = (3, 12, 5);
        let w = uniform(&mut r, taps, 1.0);
        let m = conditioner(&mut r, taps);
        let x = uniform(&mut r, batch * len, 2.0);
        let t = uniform(&mut r, batch * len, 2.0);
        let scale = 3.0f32;
        let mut conv = Conv1d::from_filter(w.clone())
            .unwrap()
            .with_loss_scale(scale)
            .unwrap();
        if cond {
            conv = conv.with_conditioner(m.clone()).unwrap();
        }
        let mref = if cond { Some(m.as_slice()) } else { None };
        let (value, g) = conv.loss_and_grads(&x, batch, Loss::Mse(&t)).unwrap();
        let direct = conv_loss(&w, mref, scale, &x, batch, &t);
        assert!((value as f64 - direct).abs() < 1e-4 * direct.max(1.0));
        let h = 1e-2f32; // the loss is quadratic in w: central differences are exact up to rounding
        for k in 0..taps {
            let (mut up, mut down) = (w.clone(), w.clone());
            up[k] += h;
            down[k] -= h;
            let numeric = (conv_loss(&up, mref, scale, &x, batch, &t)
                - conv_loss(&down, mref, scale, &x, batch, &t))
                / (2.0 * h as f64);
            assert!(
                (numeric - g[k] as f64).abs() <= 1e-3 + 1e-3 * numeric.abs(),
                "cond {cond}, tap {k}: backprop {}, finite difference {numeric}",
                g[k]
            );
        }
        // per-sample gradients: each row is that sample's own gradient; they average to g
        let rows = conv.per_sample_grads(&x, batch, Loss::Mse(&t)).unwrap();
        assert_eq!(rows.len(), batch * taps);
        for i in 0..batch {
            let (_, gi) = conv
                .loss_and_grads(
                    &x[i * len..(i + 1) * len],
                    1,
                    Loss::Mse(&t[i * len..(i + 1) * len]),
                )
                .unwrap();
            for k in 0..taps {
                assert!((rows[i * taps + k] - gi[k]).abs() <= 1e-4 * (1.0 + gi[k].abs()));
            }
        }
        for k in 0..taps {
            let mean: f32 = (0..batch).map(|i| rows[i * taps + k]).sum::<f32>() / batch as f32;
            assert!((mean - g[k]).abs() <= 1e-4 * (1.0 + g[k].abs()));
        }
    }
}

#[test]
fn linear_map_forward_gradients_and_per_sample_rows() {
    let mut r = rng(9);
    let (d, o, batch) = (4, 3, 6);
    let w = uniform(&mut r, d * o, 1.0);
    let x = uniform(&mut r, batch * d, 2.0);
    let t = uniform(&mut r, batch * o, 2.0);
    let scale = o as f32;
    let map = LinearMap::from_weights(d, o, w.clone())
        .unwrap()
        .with_loss_scale(scale)
        .unwrap();
    let out = map.forward(&x, batch).unwrap();
    for b in 0..batch {
        for j in 0..o {
            let want: f32 = (0..d).map(|i| x[b * d + i] * w[i * o + j]).sum();
            assert!((out[b * o + j] - want).abs() < 1e-5);
        }
    }
    let loss_at = |w: &[f32]| {
        let m = LinearMap::from_weights(d, o, w.to_vec()).unwrap();
        scale as f64 * Loss::Mse(&t).value(&m.forward(&x, batch).unwrap(), o)
    };
    let (value, g) = map.loss_and_grads(&x, batch, Loss::Mse(&t)).unwrap();
    assert!((value as f64 - loss_at(&w)).abs() < 1e-4);
    let h = 1e-2f32;
    for k in 0..d * o {
        let (mut up, mut down) = (w.clone(), w.clone());
        up[k] += h;
        down[k] -= h;
        let numeric = (loss_at(&up) - loss_at(&down)) / (2.0 * h as f64);
        assert!(
            (numeric - g[k] as f64).abs() <= 1e-3 + 1e-3 * numeric.abs(),
            "w[{k}]: {} vs {numeric}",
            g[k]
        );
    }
    let rows = map.per_sample_grads(&x, batch, Loss::Mse(&t)).unwrap();
    for i in 0..batch {
        let (_, gi) = map
            .loss_and_grads(&x[i * d..(i + 1) * d], 1, Loss::Mse(&t[i * o..(i + 1) * o]))
            .unwrap();
        for k in 0..d * o {
            assert!((rows[i * d * o + k] - gi[k]).abs() <= 1e-4 * (1.0 + gi[k].abs()));
        }
    }
    let snr = map.gradient_snr(&x, batch, Loss::Mse(&t)).unwrap();
    assert!(snr.total.noise > 0.0);
    // zero start: zero output, and a step moves the weights
    let mut z = LinearMap::zeros(d, o);
    assert!(z.forward(&x, batch).unwrap().iter().all(|&v| v == 0.0));
    let mut opt = Optimizer::new(OptimKind::adam(0.1));
    z.train_step(&x, batch, Loss::Mse(&t), &mut opt).unwrap();
    assert!(z.weights().iter().any(|&v| v != 0.0));
    assert!(LinearMap::from_weights(2, 2, vec![0.0; 3]).is_err());
    assert!(LinearMap::zeros(2, 2).with_loss_scale(0.0).is_err());
    assert!(Conv1d::zeros(3).with_conditioner(vec![1.0; 4]).is_err());
    assert!(Conv1d::zeros(3).forward(&[1.0; 7], 2).is_err());
}

#[test]
fn conv1d_learns_the_filter_on_whitened_rows() {
    let (train, _) = pwl_data(CurveDist::Patterns, 50, 3, 500, 10, 3);
    let m = to_row_major_f32(&whitening_matrix(&row_covariance(&train)).unwrap());
    let mut conv = Conv1d::zeros(3).with_conditioner(m).unwrap();
    let mut opt = Optimizer::new(OptimKind::adam(0.1));
    for step in 0..400 {
        let i = (step * 7) % 490;
        let (x, t) = (
            &train.f[i * 50..(i + 10) * 50],
            &train.p[i * 50..(i + 10) * 50],
        );
        conv.train_step(x, 10, Loss::Mse(t), &mut opt).unwrap();
    }
    let v = conv.effective_filter();
    println!("filter {v:?}");
    for (a, b) in v.iter().zip([1.0, -2.0, 1.0]) {
        assert!((a - b).abs() < 0.01, "{v:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// the experiments

fn run(
    id: &str,
    overrides: &[(&str, &str)],
    seed: u64,
) -> (fail_lab::experiments::Summary, CollectCtx) {
    let p = params_with(id, overrides).unwrap();
    let mut ctx = CollectCtx::new();
    let s = run_direct(id, &p, seed, &mut ctx).unwrap();
    (s, ctx)
}

#[test]
fn e5_reports_the_table_and_the_whitening() {
    let (s, ctx) = run("E5", &[("train_size", "2000")], 0);
    let c100 = s.get("cond_wtw_n100").unwrap();
    assert!((1e8..=2e8).contains(&c100));
    assert!(s.get("whitened_cond").unwrap() <= 1.01);
    assert!(s.get("row_cov_cond").unwrap() > 1e4);
    assert_eq!(s.get("lemma1_residual"), Some(0.0));
    assert_eq!(ctx.series("cond_wtw").len(), 4);
    assert!(
        ctx.logs.iter().any(|l| l.contains("1.3460e8")),
        "{:?}",
        ctx.logs
    );
}

#[test]
fn e8_emits_metrics_figures_and_the_same_numbers_for_the_same_seed() {
    let o = [
        ("steps", "100"),
        ("eval_every", "20"),
        ("train_size", "2000"),
        ("val_size", "200"),
    ];
    let (a, ca) = run("E8", &o, 4);
    let (b, _) = run("E8", &o, 4);
    let (c, _) = run("E8", &o, 5);
    assert_eq!(a, b);
    assert_ne!(a.get("w0"), c.get("w0"));
    // the probe does not touch training
    let mut o2 = o.to_vec();
    o2.push(("probe", "3"));
    let (d, _) = run("E8", &o2, 4);
    assert_eq!(a.get("w0"), d.get("w0"));
    assert_eq!(a.get("val_mse_p"), d.get("val_mse_p"));
    for m in [
        "val_mse_p",
        "filter_error",
        "grad_snr",
        "val_max_err_mean",
        "w0",
        "train_loss",
    ] {
        assert_eq!(
            ca.series(m).len(),
            if m == "train_loss" { 5 } else { 6 },
            "{m}"
        );
    }
    assert!(ca
        .series("grad_snr")
        .iter()
        .all(|p| p.1.is_finite() && p.1 >= 0.0));
    assert_eq!(ca.figures.len(), 6);
    match &ca.figures[5].1 {
        fail_lab::experiments::Figure::Curves { series, .. } => {
            assert_eq!(series.len(), 4);
            assert!(series.iter().all(|(_, pts)| pts.len() == 100));
        }
        other => panic!("expected curves, got {other:?}"),
    }
    assert!(ca.logs.iter().any(|l| l.contains("gradient-SNR probe")));
}

#[test]
fn e9_reports_per_layer_snr() {
    let o = [
        ("steps", "20"),
        ("eval_every", "10"),
        ("train_size", "500"),
        ("val_size", "100"),
        ("probe", "4"),
    ];
    let (s, c) = run("E9", &o, 0);
    assert!(s.get("val_max_err_mean").unwrap() > 0.0);
    for layer in ["enc1", "enc2", "enc3", "dec1", "dec2", "dec3"] {
        assert_eq!(c.series(&format!("grad_snr_{layer}")).len(), 3, "{layer}");
    }
    assert_eq!(c.figures.len(), 3);
    assert!(s.get("code_units_active").unwrap() <= 6.0);
    // with k = 2 (a code of 4) the figure follows two validation curves instead
    let o = [
        ("steps", "2"),
        ("k", "2"),
        ("train_size", "200"),
        ("val_size", "50"),
        ("probe", "4"),
    ];
    let (_, c) = run("E9", &o, 0);
    assert_eq!(c.figures.len(), 2);
    assert_eq!(c.series("grad_snr_enc3").len(), 2);
}

#[test]
fn bad_parameters_give_clear_messages() {
    let p = params_with("E7", &[("k", "4")]).unwrap();
    let err = run_direct("E7", &p, 0, &mut CollectCtx::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("patterns has 3 pieces") && err.contains("k = 4"),
        "{err}"
    );
    let p = params_with("E6", &[("probe", "50"), ("train_size", "20")]).unwrap();
    let err = run_direct("E6", &p, 0, &mut CollectCtx::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("probe = 50 is larger than train_size = 20"),
        "{err}"
    );
    let p = params_with("E9", &[("curves", "paper"), ("n", "8"), ("k", "9")]).unwrap();
    let err = run_direct("E9", &p, 0, &mut CollectCtx::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs n >= 9"), "{err}");
    let err = params_with("E8", &[("lr", "0")]).unwrap_err();
    assert!(err.contains("> 0"), "{err}");
}

/// The quick checks of E6-E9, as `fail-lab reproduce --quick` runs them.
#[test]
fn quick_checks_pass() {
    let mut failed = Vec::new();
    for c in checks() {
        let out = (c.run)(Budget::Quick, &mut |m| println!("  .. {m}")).unwrap();
        println!(
            "{}: {} | {}",
            out.id,
            out.measured,
            if out.pass { "pass" } else { "FAIL" }
        );
        for d in &out.details {
            println!("    {d}");
        }
        if !out.pass {
            failed.push(out.id);
        }
    }
    assert!(failed.is_empty(), "quick checks failed: {failed:?}");
}
