//! Part 4 of the spec: the staircase, its surrogate, the straight-through update, E10-E14 and
//! their quick checks.

use std::path::Path;

use fail_lab::experiments::flat::{DataRng, Setup};
use fail_lab::experiments::{
    checks, params_with, run_direct, Budget, CheckOutcome, CollectCtx, Figure, Registry, Summary,
};
use fail_lab::nn::{with_compute_threads, Head, LinearScore, OptimKind, Optimizer, Staircase};
use fail_lab::spec::load_scenario;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn run(id: &str, overrides: &[(&str, &str)], seed: u64) -> (Summary, CollectCtx) {
    let p = params_with(id, overrides).unwrap();
    let mut ctx = CollectCtx::new();
    let s = with_compute_threads(1, || run_direct(id, &p, seed, &mut ctx)).unwrap();
    (s, ctx)
}

// ---------------------------------------------------------------------------------------------
// the staircase

#[test]
fn paper_staircase_has_52_levels_on_the_spec_grid() {
    let b = 0.37;
    let st = Staircase::paper(b);
    assert_eq!(st.num_levels(), 52);
    assert_eq!(st.num_steps(), 51);
    let z = st.levels();
    assert!(z.windows(2).all(|w| w[1] > w[0]), "levels must increase");
    assert!((z[0] - (b - 100.0)).abs() < 1e-12);
    assert!((z[51] - (b + 95.0)).abs() < 1e-12);
    // the fine levels near b*, with the jumps the figures show
    let near: Vec<f64> = z
        .iter()
        .map(|v| v - b)
        .filter(|o| (-1.5..1.5).contains(o))
        .collect();
    let want = [-1.0, -0.2, 0.0, 0.1, 0.15, 0.175, 1.0];
    assert_eq!(near.len(), want.len(), "{near:?}");
    for (a, w) in near.iter().zip(want) {
        assert!((a - w).abs() < 1e-12, "{near:?}");
    }
    // the coarse grid: every multiple of 5 from -100 to 95 is a level, once
    for k in -20..=19 {
        let o = 5.0 * k as f64;
        assert_eq!(
            z.iter().filter(|&&v| (v - b - o).abs() < 1e-9).count(),
            1,
            "offset {o}"
        );
    }
}

#[test]
fn u_is_the_largest_level_at_or_below_r_and_matches_the_papers_sum() {
    let st = Staircase::paper(-0.65);
    let z = st.levels().to_vec();
    // on a level, just below and just above
    for (i, &zi) in z.iter().enumerate() {
        assert_eq!(st.level_index(zi), i);
        assert_eq!(st.u(zi), zi);
        if i > 0 {
            assert_eq!(st.level_index(zi - 1e-9), i - 1);
        }
        assert_eq!(st.level_index(zi + 1e-9), i);
    }
    assert_eq!(st.u(-1e6), z[0]);
    assert_eq!(st.u(1e6), z[51]);
    // z_0 + sum_i 1[r > z_i] (z_i - z_{i-1})
    let mut rng = StdRng::seed_from_u64(5);
    for _ in 0..20_000 {
        let r: f64 = rng.gen_range(-110.0..110.0);
        let sum = z[0]
            + (1..z.len())
                .filter(|&i| r > z[i])
                .map(|i| z[i] - z[i - 1])
                .sum::<f64>();
        assert!((st.u(r) - sum).abs() < 1e-9, "r = {r}");
    }
}

#[test]
fn class_of_a_label_is_its_level_index_even_after_rounding_to_f32() {
    let st = Staircase::paper(1.2345);
    for (i, &zi) in st.levels().iter().enumerate() {
        assert_eq!(st.class_of(zi), i);
        assert_eq!(st.class_of(zi as f32 as f64), i, "level {i} = {zi}");
        assert_eq!(st.nearest_level(zi as f32 as f64), i);
    }
    // the data pipeline: label = level of r, class = level index
    let setup = Setup::draw(100, 3, None);
    let s = setup.sample(&mut DataRng::new(9), 5000);
    for i in 0..s.len() {
        assert_eq!(s.level[i], setup.stair.level_index(s.r[i]));
        assert_eq!(s.y[i], setup.stair.levels()[s.level[i]] as f32);
        assert_eq!(setup.stair.class_of(s.y[i] as f64), s.level[i]);
    }
}

#[test]
fn setup_draws_r_near_b_star_with_the_spec_spread() {
    let setup = Setup::draw(100, 11, Some(-0.65));
    assert_eq!(setup.b_star, -0.65);
    // fixing b* leaves v* as drawn
    assert_eq!(Setup::draw(100, 11, None).v_star, setup.v_star);
    let s = setup.sample(&mut DataRng::new(1), 20_000);
    let n = s.len() as f64;
    let mean = s.r.iter().sum::<f64>() / n;
    let sd = (s.r.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    let want_sd = setup.v_star.iter().map(|v| v * v).sum::<f64>().sqrt() / 100.0;
    assert!((mean + 0.65).abs() < 0.005, "mean r {mean}");
    assert!((sd / want_sd - 1.0).abs() < 0.03, "sd {sd} vs {want_sd}");
    assert!((want_sd - 0.1).abs() < 0.03, "|v*|/N = {want_sd}");
}

#[test]
fn surrogate_uses_the_codes_slopes_and_centres() {
    let st = Staircase::paper(0.0);
    let (c, m, d) = (st.slopes(10.0), st.centres(10.0), st.heights());
    for i in 0..d.len() {
        let zi = st.levels()[i + 1];
        assert!((c[i] - 50.0 / d[i]).abs() < 1e-9);
        assert!((m[i] - (zi - d[i] / 20.0)).abs() < 1e-12);
    }
    let smallest = d.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!((smallest - 0.025).abs() < 1e-12);
    assert!((c.iter().cloned().fold(0.0, f64::max) - 2000.0).abs() < 1e-6);
    assert!((c.iter().cloned().fold(f64::INFINITY, f64::min) - 10.0).abs() < 1e-9);
    // away from the jumps the surrogate is the staircase
    for r in [-0.6, -0.1, 0.05, 0.5, 3.5, -37.5, 62.5] {
        assert!(
            (st.surrogate(r, 10.0) - st.u(r)).abs() < 1e-3,
            "r = {r}: {} vs {}",
            st.surrogate(r, 10.0),
            st.u(r)
        );
    }
    // the derivative matches finite differences
    for r in [-0.21, -0.005, 0.098, 0.149, 0.174, 0.96, 4.7] {
        let h = 1e-6;
        let fd = (st.surrogate(r + h, 10.0) - st.surrogate(r - h, 10.0)) / (2.0 * h);
        let g = st.surrogate_derivative(r, 10.0);
        assert!(
            (fd - g).abs() <= 1e-4 * (1.0 + g.abs()),
            "r = {r}: {g} vs {fd}"
        );
    }
    // on a wide flat step, far from every centre, it is flat to ~1e-7 (the E11 failure)
    assert!(st.surrogate_derivative(0.65, 10.0) < 1e-6);
}

// ---------------------------------------------------------------------------------------------
// the linear score and its heads

#[test]
fn straight_through_gradient_equals_the_upstream_gradient() {
    let st = Staircase::paper(0.2);
    let m =
        LinearScore::from_weights(vec![0.5; 4], 0.0, st.clone(), Head::StraightThrough).unwrap();
    let mut rng = StdRng::seed_from_u64(2);
    let s: Vec<f32> = (0..300).map(|_| rng.gen_range(-1.5f32..2.0)).collect();
    let a: Vec<f32> = (0..300).map(|_| rng.gen_range(-3.0f32..3.0)).collect();
    // forward: exactly the staircase
    let out = m.head_forward(&s).unwrap();
    for (o, &v) in out.iter().zip(&s) {
        assert_eq!(*o, st.u(v as f64) as f32);
    }
    // backward: exactly the upstream gradient
    assert_eq!(m.head_vjp(&s, &a).unwrap(), a);
    // the true derivative of the staircase is 0 almost everywhere; the plain head passes a too
    let plain = LinearScore::from_weights(vec![0.5; 4], 0.0, st, Head::Plain).unwrap();
    assert_eq!(plain.head_vjp(&s, &a).unwrap(), a);
}

#[test]
fn forward_only_update_is_the_isotron_direction() {
    // the gradient dfdx computes for the straight-through model is (2/B) sum (u(s_i) - y_i) x_i
    let setup = Setup::draw(20, 4, Some(0.1));
    let mut rng = StdRng::seed_from_u64(8);
    let m = LinearScore::new(
        20,
        setup.stair.clone(),
        Head::StraightThrough,
        0.0,
        &mut rng,
    );
    let batch = setup.sample(&mut DataRng::new(3), 64);
    let (_, g) = m.loss_and_grads(&batch.x, &batch.y, 64).unwrap();
    let s = m.scores(&batch.x, 64).unwrap();
    let mut want = vec![0.0f64; 21];
    for (i, (&si, &yi)) in s.iter().zip(&batch.y).enumerate() {
        let e = setup.stair.u(si as f64) - yi as f64;
        let xi = &batch.x[i * 20..(i + 1) * 20];
        for (wj, &xj) in want.iter_mut().zip(xi) {
            *wj += 2.0 / 64.0 * e * xj as f64;
        }
        want[20] += 2.0 / 64.0 * e;
    }
    for (j, (&a, &b)) in g.iter().zip(&want).enumerate() {
        assert!(
            (a as f64 - b).abs() <= 1e-5 * (1.0 + b.abs()),
            "{j}: {a} vs {b}"
        );
    }
    // and the per-sample rows average to it
    let rows = m.per_sample_grads(&batch.x, &batch.y, 64).unwrap();
    for j in 0..21 {
        let mean = (0..64).map(|i| rows[i * 21 + j] as f64).sum::<f64>() / 64.0;
        assert!((mean - g[j] as f64).abs() <= 1e-5 * (1.0 + mean.abs()));
    }
}

#[test]
fn surrogate_head_backprops_its_derivative() {
    let st = Staircase::paper(-0.3);
    let m = LinearScore::from_weights(
        vec![1.0],
        0.0,
        st.clone(),
        Head::Surrogate { sharpness: 10.0 },
    )
    .unwrap();
    let s = [-0.52f32, -0.31, -0.2, -0.15, 0.2, 0.7];
    let a = [1.0f32, -2.0, 0.5, 3.0, 1.0, 1.0];
    let out = m.head_forward(&s).unwrap();
    let g = m.head_vjp(&s, &a).unwrap();
    for i in 0..s.len() {
        let r = s[i] as f64;
        assert!((out[i] as f64 - st.surrogate(r, 10.0)).abs() < 1e-6);
        let want = a[i] as f64 * st.surrogate_derivative(r, 10.0);
        assert!(
            (g[i] as f64 - want).abs() <= 1e-4 * (1.0 + want.abs()),
            "{i}: {} vs {want}",
            g[i]
        );
    }
}

#[test]
fn straight_through_training_recovers_v_star_and_b_star() {
    let setup = Setup::draw(100, 1, None);
    let mut rng = StdRng::seed_from_u64(1);
    let mut m = LinearScore::new(
        100,
        setup.stair.clone(),
        Head::StraightThrough,
        0.0,
        &mut rng,
    );
    let mut opt = Optimizer::new(OptimKind::adam_tf(1e-3));
    let mut data = DataRng::new(2);
    with_compute_threads(1, || {
        for _ in 0..3000 {
            let b = setup.sample(&mut data, 256);
            m.train_step(&b.x, &b.y, 256, &mut opt).unwrap();
        }
    });
    let w: Vec<f64> = m.w().iter().map(|&v| v as f64).collect();
    let cos = fail_lab::experiments::flat::cosine(&w, &setup.v_star);
    println!("cos {cos}, b {} vs b* {}", m.b(), setup.b_star);
    assert!(cos > 0.99, "cos {cos}");
    assert!((m.b() as f64 - setup.b_star).abs() < 0.02);
}

// ---------------------------------------------------------------------------------------------
// the experiments

const SHORT: &[(&str, &str)] = &[
    ("steps", "300"),
    ("eval_every", "100"),
    ("test_samples", "1000"),
    ("probe", "16"),
    ("width", "32"),
];

fn short(id: &str) -> Vec<(&'static str, &'static str)> {
    SHORT
        .iter()
        .filter(|(k, _)| *k != "width" || matches!(id, "E10" | "E12" | "E13"))
        .cloned()
        .collect()
}

#[test]
fn e10_reports_each_method_as_its_own_experiment_does() {
    let mut o = short("E10");
    o.push(("e14_steps", "300"));
    let (all, ctx) = run("E10", &o, 7);
    for (id, prefix) in [
        ("E11", "e11"),
        ("E12", "e12"),
        ("E13", "e13"),
        ("E14", "e14"),
    ] {
        let (one, _) = run(id, &short(id), 7);
        for k in ["wrong_level", "mse", "mae"] {
            let a = all.get(&format!("{prefix}/{k}")).unwrap();
            let b = one.get(k).unwrap();
            assert_eq!(a, b, "{id} {k}: E10 {a} vs alone {b}");
        }
        assert!(!ctx.series(&format!("{prefix}/grad_snr")).is_empty());
    }
    for prefix in ["e12", "e13"] {
        for layer in ["layer1", "layer2", "layer3"] {
            let name = format!("{prefix}/grad_snr/{layer}");
            assert_eq!(ctx.series(&name).len(), 4, "{name}");
        }
    }
    assert!(!ctx.series("e11/cos_w_vstar").is_empty());
    // one compare figure per method, the last with the label and four outputs
    let (_, last) = ctx.figures.last().unwrap();
    match last {
        Figure::Curves { series, .. } => assert_eq!(series.len(), 5),
        other => panic!("unexpected figure {other:?}"),
    }
}

#[test]
fn same_seed_same_numbers() {
    let a = run("E13", &short("E13"), 3).0;
    let b = run("E13", &short("E13"), 3).0;
    assert_eq!(a, b);
    let c = run("E13", &short("E13"), 4).0;
    assert_ne!(a.get("mae"), c.get("mae"));
}

#[test]
fn e14_figure_shows_test_points_near_b_star_sorted_by_r() {
    let (s, ctx) = run("E14", &short("E14"), 2);
    let b = s.get("b_star").unwrap();
    let (_, fig) = ctx.figures.last().expect("a figure");
    let Figure::Curves { series, .. } = fig else {
        panic!("curves expected")
    };
    assert_eq!(series.len(), 2);
    let (label, output) = (&series[0].1, &series[1].1);
    assert!(label.len() > 100 && label.len() == output.len());
    assert!(label.windows(2).all(|w| w[0].0 <= w[1].0), "sorted by r");
    assert!(label.iter().all(|p| (p.0 - b).abs() <= 0.33));
    let st = Staircase::paper(b);
    for p in label {
        assert!((p.1 - st.u(p.0)).abs() < 1e-5, "label is u(r)");
    }
}

#[test]
fn bad_parameters_are_refused_with_a_message() {
    let p = params_with("E11", &[("probe", "1")]).unwrap();
    let err = run_direct("E11", &p, 0, &mut CollectCtx::new()).unwrap_err();
    assert!(err.to_string().contains("probe = 1"), "{err}");
    let err = params_with("E14", &[("batch", "0")]).unwrap_err();
    assert!(err.contains("1..=65536"), "{err}");
    let err = params_with("E11", &[("sharpness", "0")]).unwrap_err();
    assert!(err.contains("> 0"), "{err}");
}

#[test]
fn presets_load_and_name_their_experiment() {
    for (file, id) in [
        ("e10-flat-compare.toml", "E10"),
        ("e11-flat-surrogate.toml", "E11"),
        ("e12-flat-regression.toml", "E12"),
        ("e13-flat-classes.toml", "E13"),
        ("e14-flat-forward-only.toml", "E14"),
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(file);
        let sc = load_scenario(&path, &Registry).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(sc.experiment, id);
    }
}

// ---------------------------------------------------------------------------------------------
// the quick checks, as `fail-lab reproduce --quick` runs them

fn quick(id: &str) -> CheckOutcome {
    let all = checks();
    let c = all.iter().find(|c| c.id == id).expect("check registered");
    let o = with_compute_threads(1, || (c.run)(Budget::Quick, &mut |m| eprintln!(".. {m}")))
        .unwrap_or_else(|e| panic!("{id}: {e}"));
    println!("{id}: {}\n  {}", o.measured, o.details.join("\n  "));
    o
}

#[test]
fn quick_check_e11() {
    assert!(quick("E11").pass);
}

#[test]
fn quick_check_e12() {
    assert!(quick("E12").pass);
}

#[test]
fn quick_check_e13() {
    assert!(quick("E13").pass);
}

#[test]
fn quick_check_e14() {
    assert!(quick("E14").pass);
}
