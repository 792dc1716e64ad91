//! Part 1 of the spec (paper section 2): random parities (E1), the exact gradient variance over
//! all parity targets (T1), the hand-built parity network of Lemma 3 (L3), and linear-periodic
//! targets (LP, Theorem 2).

mod checks;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Binomial, Distribution, StandardNormal};

use super::check::CheckDef;
use super::common::{least_squares_slope, optimizer, sign_accuracy, OPTIMIZERS};
use super::ctx::{Ctx, Figure, Halt, Summary};
use super::{ExperimentDef, Family};
use crate::nn::{Activation, LayerWeights, Loss, Mlp};
use crate::spec::{ParamDef, Params};

const OPT_HELP: &str = "sgd (plain), adam (b2 0.999, eps 1e-8), adam99 (b2 0.99, eps 1e-5)";

pub fn experiments() -> Vec<ExperimentDef> {
    vec![
        ExperimentDef {
            id: "E1",
            name: "random parity",
            family: Family::Parities,
            shows: "the gradient carries ~2^-d information about a random parity: at d = 30 SGD stays at chance",
            params: e1_params,
            validate: e1_validate,
            run: run_e1,
            main_metric: "test_accuracy",
        },
        ExperimentDef {
            id: "T1",
            name: "gradient variance over parities",
            family: Family::Parities,
            shows: "exact Var of the gradient over all 2^d parity targets sits at the bound G^2/2^d",
            params: t1_params,
            validate: d_range_validate,
            run: run_t1,
            main_metric: "ratio",
        },
        ExperimentDef {
            id: "L3",
            name: "parity network of Lemma 3",
            family: Family::Parities,
            shows: "a ReLU layer of width 3(d/2+1) represents any parity: the failure is optimisation, not expressiveness",
            params: l3_params,
            validate: d_range_validate,
            run: run_l3,
            main_metric: "accuracy",
        },
        ExperimentDef {
            id: "LP",
            name: "linear-periodic target",
            family: Family::Parities,
            shows: "y = cos(v*.x): the gradient barely depends on v* as d and |v*| grow, and learning stalls",
            params: lp_params,
            validate: super::no_extra_checks,
            run: run_lp,
            main_metric: "test_loss_ratio",
        },
    ]
}

/// The checks of part 1.
pub fn checks() -> Vec<CheckDef> {
    vec![
        CheckDef {
            id: "E1",
            run: checks::e1,
        },
        CheckDef {
            id: "T1",
            run: checks::t1,
        },
        CheckDef {
            id: "L3",
            run: checks::l3,
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// shared helpers

/// `n` samples uniform on {-1, +1}^d (d <= 64), row-major.
pub fn sample_signs<R: Rng>(rng: &mut R, n: usize, d: usize) -> Vec<f32> {
    let mut x = Vec::with_capacity(n * d);
    for _ in 0..n {
        let bits: u64 = rng.gen();
        for j in 0..d {
            x.push(if (bits >> j) & 1 == 1 { -1.0 } else { 1.0 });
        }
    }
    x
}

/// The parity of the first `k` coordinates of each row: the product of those signs.
pub fn parity_labels(x: &[f32], d: usize, k: usize) -> Vec<f32> {
    x.chunks(d)
        .map(|row| row[..k].iter().product::<f32>())
        .collect()
}

fn width_of(p: &Params, d: usize) -> usize {
    match p.usize("width") {
        0 => 10 * d,
        w => w,
    }
}

// ---------------------------------------------------------------------------------------------
// E1: random parities

fn e1_params() -> Vec<ParamDef> {
    vec![
        ParamDef::int("d", 30, 2, 63, "input bits"),
        ParamDef::int(
            "width",
            0,
            0,
            8192,
            "hidden ReLU units; 0 = 10 d, the paper's width",
        ),
        ParamDef::int(
            "subset_size",
            0,
            0,
            63,
            "|S|, bits in the parity; 0 = draw |S| ~ Binomial(d, 1/2), redrawn if 0",
        ),
        ParamDef::choice("optimizer", "sgd", OPTIMIZERS, OPT_HELP),
        ParamDef::positive("lr", 0.01, 10.0, "learning rate"),
        ParamDef::int("batch", 128, 1, 65536, "fresh samples per step"),
        ParamDef::int("steps", 50_000, 1, 100_000_000, "training iterations"),
        ParamDef::int(
            "eval_every",
            100,
            1,
            1_000_000,
            "iterations between evaluations",
        ),
        ParamDef::int(
            "eval_samples",
            500,
            10,
            1_000_000,
            "fresh samples per evaluation",
        ),
    ]
    .into_iter()
    .chain(super::snr_params(128))
    .collect()
}

fn e1_validate(p: &Params) -> Result<(), String> {
    if p.int("subset_size") > p.int("d") {
        return Err(format!(
            "subset_size = {} is larger than d = {}; allowed: 0 (random) or 1..={}",
            p.int("subset_size"),
            p.int("d"),
            p.int("d")
        ));
    }
    Ok(())
}

/// Draws |S| as the spec says: Binomial(d, 1/2), redrawn while 0.
pub fn draw_subset_size<R: Rng>(rng: &mut R, d: usize) -> usize {
    let bin = Binomial::new(d as u64, 0.5).expect("valid binomial");
    loop {
        let k = bin.sample(rng) as usize;
        if k > 0 {
            return k;
        }
    }
}

fn run_e1(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let d = p.usize("d");
    let width = width_of(p, d);
    let batch = p.usize("batch");
    let steps = p.int("steps") as u64;
    let eval_every = p.int("eval_every") as u64;
    let eval_n = p.usize("eval_samples");

    let mut rng = StdRng::seed_from_u64(seed);
    let k = match p.usize("subset_size") {
        0 => draw_subset_size(&mut rng, d),
        k => k,
    };
    let mut init_rng = StdRng::seed_from_u64(seed.wrapping_add(0x9e37_79b9_7f4a_7c15));
    let mut net = Mlp::new(&[d, width, 1], Activation::Relu, &mut init_rng);
    let mut opt = optimizer(p)?;
    ctx.log(&format!(
        "E1: d = {d}, |S| = {k}, width = {width}, {} lr {}, batch {batch}, {steps} steps",
        p.str("optimizer"),
        p.float("lr")
    ));

    let eval = |net: &Mlp, rng: &mut StdRng| -> Result<f64, Halt> {
        let x = sample_signs(rng, eval_n, d);
        let y = parity_labels(&x, d, k);
        Ok(sign_accuracy(&net.forward(&x, eval_n)?, &y))
    };
    // the probe draws from its own stream: turning it on or off leaves training unchanged
    let mut probe_rng = StdRng::seed_from_u64(seed.wrapping_add(0x005e_ed0f_5a5e));
    let probe_n = p.usize("snr_samples");
    let mut probe = |net: &Mlp, step: u64, ctx: &mut dyn Ctx| -> Result<(), Halt> {
        let x = sample_signs(&mut probe_rng, probe_n, d);
        let y = parity_labels(&x, d, k);
        let report = net.gradient_snr(&x, probe_n, Loss::Hinge(&y))?;
        super::emit_snr(ctx, step, "", &report);
        // the part of the gradient that depends on the labels, which Theorem 1 bounds
        let label = net.gradient_snr(&x, probe_n, Loss::HingeLabelPart(&y))?;
        ctx.metric(step, "grad_snr_label", label.total.snr());
        Ok(())
    };

    let mut summary = Summary::default();
    let acc0 = eval(&net, &mut rng)?;
    ctx.metric(0, "test_accuracy", acc0);
    if probe_n > 0 {
        probe(&net, 0, ctx)?;
    }
    let (mut loss_sum, mut loss_n) = (0.0f64, 0u64);
    let (mut best, mut last) = (acc0, acc0);
    let mut first_99: Option<u64> = None;
    for step in 1..=steps {
        let x = sample_signs(&mut rng, batch, d);
        let y = parity_labels(&x, d, k);
        let loss = net.train_step(&x, batch, Loss::Hinge(&y), &mut opt)? as f64;
        loss_sum += loss;
        loss_n += 1;
        ctx.step(step, steps, loss)?;
        if step % eval_every == 0 || step == steps {
            let acc = eval(&net, &mut rng)?;
            ctx.metric(step, "train_loss", loss_sum / loss_n as f64);
            ctx.metric(step, "test_accuracy", acc);
            (loss_sum, loss_n) = (0.0, 0);
            best = best.max(acc);
            last = acc;
            if acc >= 0.99 && first_99.is_none() {
                first_99 = Some(step);
            }
        }
        if super::snr_due(p, step, eval_every, step == steps) {
            probe(&net, step, ctx)?;
        }
    }
    summary
        .set("test_accuracy", last)
        .set("best_accuracy", best)
        .set("subset_size", k as f64)
        .set("width", width as f64);
    match first_99 {
        Some(s) => {
            summary.set("steps_to_0.99", s as f64);
        }
        None => {
            summary.note("accuracy never reached 0.99");
        }
    }
    Ok(summary)
}

// ---------------------------------------------------------------------------------------------
// T1: exact gradient variance over all 2^d parity targets

fn t1_params() -> Vec<ParamDef> {
    vec![
        ParamDef::int("d_min", 4, 2, 16, "smallest d"),
        ParamDef::int(
            "d_max",
            12,
            2,
            16,
            "largest d (memory grows like 2^d x 10 d^2)",
        ),
        ParamDef::int("width", 0, 0, 1024, "hidden ReLU units; 0 = 10 d, as in E1"),
        ParamDef::int("inits", 16, 1, 256, "random initialisations averaged per d"),
    ]
}

/// T1 and L3 run over `d_min..=d_max`.
fn d_range_validate(p: &Params) -> Result<(), String> {
    if p.int("d_min") > p.int("d_max") {
        return Err(format!(
            "d_min = {} is larger than d_max = {}",
            p.int("d_min"),
            p.int("d_max")
        ));
    }
    Ok(())
}

/// The exact variance of the hinge-loss gradient over the class of all 2^d parities, for one
/// network at its current weights, and the bound of Theorem 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParityVariance {
    pub d: usize,
    /// Var(H, F, w) = E_h || grad F_h - E_h' grad F_h' ||^2.
    pub var: f64,
    /// G^2 = E_x || d score / d w ||^2.
    pub g2: f64,
}

impl ParityVariance {
    pub fn bound(&self) -> f64 {
        self.g2 / (1u64 << self.d) as f64
    }

    pub fn ratio(&self) -> f64 {
        self.var / self.bound()
    }
}

/// All 2^d points of {-1, +1}^d; bit i of the index set means x_i = -1.
pub fn all_sign_inputs(d: usize) -> Vec<f32> {
    let n = 1usize << d;
    let mut x = Vec::with_capacity(n * d);
    for idx in 0..n {
        for i in 0..d {
            x.push(if (idx >> i) & 1 == 1 { -1.0 } else { 1.0 });
        }
    }
    x
}

/// In-place Walsh-Hadamard transform of `rows` (2^d rows of `width` numbers), row-wise:
/// `out[v] = sum_x (-1)^{popcount(v & x)} in[x]`.
fn walsh_hadamard_rows(data: &mut [f64], width: usize) {
    let n = data.len() / width;
    let mut h = 1;
    while h < n {
        for start in (0..n).step_by(2 * h) {
            for i in start..start + h {
                let (lo, hi) = data.split_at_mut((i + h) * width);
                let a = &mut lo[i * width..(i + 1) * width];
                let b = &mut hi[..width];
                for (x, y) in a.iter_mut().zip(b.iter_mut()) {
                    let (s, t) = (*x + *y, *x - *y);
                    *x = s;
                    *y = t;
                }
            }
        }
        h *= 2;
    }
}

/// Exact Var over all parity targets of the hinge-loss gradient of `net` (inputs in {-1,+1}^d).
///
/// For y in {-1, +1}, hinge(y s) = a(s) + y b(s) with b(s) = (hinge(s) - hinge(-s)) / 2, so
/// grad F_h = E_x[a'(s) grad s] + E_x[h(x) g(x)] with g(x) = b'(s(x)) grad s(x). The first term
/// is the same for every target and cancels in the variance; the second is the Fourier
/// coefficient of g at the parity h, which the Walsh-Hadamard transform gives for all 2^d
/// parities at once.
pub fn parity_gradient_variance(net: &Mlp, d: usize) -> Result<ParityVariance, Halt> {
    let n = 1usize << d;
    let x = all_sign_inputs(d);
    let scores = net.forward(&x, n)?;
    let grads = net.per_sample_grads(&x, n, Loss::OutputSum)?;
    let p = net.num_params();
    let g2 = grads.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / n as f64;
    // b'(s) = -(1[s < 1] + 1[s > -1]) / 2
    let bprime: Vec<f64> = scores
        .iter()
        .map(|&s| -0.5 * (f64::from(u8::from(s < 1.0)) + f64::from(u8::from(s > -1.0))))
        .collect();
    let chunk = 256usize.min(p);
    let mut sum_sq = 0.0f64; // sum_v || ghat(v) ||^2
    let mut mean_sq = 0.0f64; // || mean_v ghat(v) ||^2
    let mut buf = vec![0.0f64; n * chunk];
    let mut start = 0;
    while start < p {
        let w = chunk.min(p - start);
        for xi in 0..n {
            let row = &grads[xi * p + start..xi * p + start + w];
            for (j, &g) in row.iter().enumerate() {
                buf[xi * w + j] = bprime[xi] * g as f64 / n as f64;
            }
        }
        let data = &mut buf[..n * w];
        walsh_hadamard_rows(data, w);
        for j in 0..w {
            let mut col_sum = 0.0;
            for v in 0..n {
                let c = data[v * w + j];
                sum_sq += c * c;
                col_sum += c;
            }
            let m = col_sum / n as f64;
            mean_sq += m * m;
        }
        start += w;
    }
    Ok(ParityVariance {
        d,
        var: sum_sq / n as f64 - mean_sq,
        g2,
    })
}

fn run_t1(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let (d_min, d_max) = (p.usize("d_min"), p.usize("d_max"));
    let inits = p.usize("inits");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut summary = Summary::default();
    let (mut var_pts, mut bound_pts) = (Vec::new(), Vec::new());
    let mut max_single = 0.0f64;
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    let total = ((d_max - d_min + 1) * inits) as u64;
    let mut done = 0u64;
    for d in d_min..=d_max {
        let width = width_of(p, d);
        let (mut var, mut bound) = (0.0f64, 0.0f64);
        let (mut single_lo, mut single_hi) = (f64::INFINITY, 0.0f64);
        for _ in 0..inits {
            let net = Mlp::new(&[d, width, 1], Activation::Relu, &mut rng);
            let v = parity_gradient_variance(&net, d)?;
            var += v.var / inits as f64;
            bound += v.bound() / inits as f64;
            single_lo = single_lo.min(v.ratio());
            single_hi = single_hi.max(v.ratio());
            done += 1;
            ctx.step(done, total, 0.0)?;
        }
        let ratio = var / bound;
        let step = d as u64;
        ctx.metric(step, "log2_var", var.log2());
        ctx.metric(step, "log2_bound", bound.log2());
        ctx.metric(step, "ratio", ratio);
        ctx.metric(step, "ratio_min_init", single_lo);
        ctx.metric(step, "ratio_max_init", single_hi);
        ctx.log(&format!(
            "d = {d:2}: mean Var = {var:.3e}, mean G^2/2^d = {bound:.3e}, ratio = {ratio:.4} \
             (single inits {single_lo:.3}..{single_hi:.3})"
        ));
        var_pts.push((d as f64, var.log2()));
        bound_pts.push((d as f64, bound.log2()));
        max_single = max_single.max(single_hi);
        lo = lo.min(ratio);
        hi = hi.max(ratio);
        summary.set(&format!("ratio_d{d}"), ratio);
        ctx.figure(
            step,
            Figure::Curves {
                title: "T1: log2 Var of the gradient over all parities vs d".into(),
                x_label: "d".into(),
                y_label: "log2".into(),
                series: vec![
                    ("exact Var".into(), var_pts.clone()),
                    ("bound G^2/2^d".into(), bound_pts.clone()),
                ],
            },
        );
    }
    if var_pts.len() >= 2 {
        summary.set("log2_var_slope", least_squares_slope(&var_pts));
    }
    summary
        .set("max_ratio_single_init", max_single)
        .set("min_ratio", lo)
        .set("max_ratio", hi);
    Ok(summary)
}

// ---------------------------------------------------------------------------------------------
// L3: Lemma 3's network

fn l3_params() -> Vec<ParamDef> {
    vec![
        ParamDef::int("d_min", 2, 1, 20, "smallest d"),
        ParamDef::int("d_max", 12, 1, 20, "largest d (all 2^d inputs are checked)"),
        ParamDef::int("trials", 5, 1, 1000, "random v* per d"),
    ]
}

/// The network of Lemma 3 for the parity with support `v` (inputs in {0,1}^d), with the e = 0
/// triad the paper's construction needs: triads at every even e in 0..=d with input weights v,
/// biases -(e - 1/2), -e, -(e + 1/2) and output weights 4, -8, 4; output bias -1.
pub fn lemma3_network(v: &[bool]) -> Result<Mlp, Halt> {
    let d = v.len();
    let evens: Vec<usize> = (0..=d).step_by(2).collect();
    let width = 3 * evens.len();
    let mut w1 = vec![0.0f32; d * width];
    let mut b1 = vec![0.0f32; width];
    let mut w2 = vec![0.0f32; width];
    for (t, &e) in evens.iter().enumerate() {
        let e = e as f32;
        for (u, (bias, out)) in [(-(e - 0.5), 4.0), (-e, -8.0), (-(e + 0.5), 4.0)]
            .into_iter()
            .enumerate()
        {
            let unit = 3 * t + u;
            for i in 0..d {
                w1[i * width + unit] = if v[i] { 1.0 } else { 0.0 };
            }
            b1[unit] = bias;
            w2[unit] = out;
        }
    }
    Ok(Mlp::from_weights(
        vec![
            LayerWeights {
                inputs: d,
                outputs: width,
                w: w1,
                b: b1,
            },
            LayerWeights {
                inputs: width,
                outputs: 1,
                w: w2,
                b: vec![-1.0],
            },
        ],
        Activation::Relu,
    )?)
}

/// Accuracy of [`lemma3_network`] on all 2^d inputs of {0,1}^d, against (-1)^<x, v>.
pub fn lemma3_accuracy(v: &[bool]) -> Result<f64, Halt> {
    let d = v.len();
    let n = 1usize << d;
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for idx in 0..n {
        let mut s = 0;
        for (i, &vi) in v.iter().enumerate() {
            let bit = (idx >> i) & 1;
            x.push(bit as f32);
            if vi && bit == 1 {
                s += 1;
            }
        }
        y.push(if s % 2 == 0 { 1.0 } else { -1.0 });
    }
    let net = lemma3_network(v)?;
    Ok(sign_accuracy(&net.forward(&x, n)?, &y))
}

fn run_l3(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let (d_min, d_max, trials) = (p.usize("d_min"), p.usize("d_max"), p.usize("trials"));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut worst = 1.0f64;
    for d in d_min..=d_max {
        let mut worst_d = 1.0f64;
        for _ in 0..trials {
            let v: Vec<bool> = (0..d).map(|_| rng.gen()).collect();
            worst_d = worst_d.min(lemma3_accuracy(&v)?);
        }
        ctx.metric(d as u64, "accuracy", worst_d);
        ctx.log(&format!(
            "d = {d:2}: width {:3}, worst accuracy over {trials} random v*: {worst_d:.4}",
            3 * (d / 2 + 1)
        ));
        worst = worst.min(worst_d);
        ctx.step((d - d_min + 1) as u64, (d_max - d_min + 1) as u64, 0.0)?;
    }
    let mut s = Summary::default();
    s.set("accuracy", worst);
    Ok(s)
}

// ---------------------------------------------------------------------------------------------
// LP: linear-periodic targets y = cos(v*.x)

fn lp_params() -> Vec<ParamDef> {
    vec![
        ParamDef::int("d", 10, 1, 1000, "input dimension"),
        ParamDef::float("r", 5.0, 0.0, 1000.0, "|v*|, the target's frequency"),
        ParamDef::int(
            "width",
            100,
            1,
            4096,
            "units in each of the two hidden ReLU layers",
        ),
        ParamDef::choice("optimizer", "adam", OPTIMIZERS, OPT_HELP),
        ParamDef::positive("lr", 1e-3, 10.0, "learning rate"),
        ParamDef::int("batch", 128, 1, 65536, "fresh samples per step"),
        ParamDef::int("steps", 10_000, 1, 100_000_000, "training iterations"),
        ParamDef::int(
            "eval_every",
            500,
            1,
            1_000_000,
            "iterations between evaluations",
        ),
        ParamDef::int(
            "eval_samples",
            2000,
            10,
            1_000_000,
            "fresh samples per test loss",
        ),
        ParamDef::int(
            "targets",
            16,
            2,
            4096,
            "random targets v (|v| = r) for the variance of the gradient across targets",
        ),
        ParamDef::int(
            "probe",
            128,
            1,
            65536,
            "samples in that probe batch (its own sampling noise, ~Var[y] E|grad f|^2 / probe, adds to the variance)",
        ),
    ]
    .into_iter()
    .chain(super::snr_params(256))
    .collect()
}

fn unit_vector<R: Rng>(rng: &mut R, d: usize) -> Vec<f32> {
    loop {
        let v: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-12 {
            return v.iter().map(|x| (x / norm) as f32).collect();
        }
    }
}

fn gaussian_inputs<R: Rng>(rng: &mut R, n: usize, d: usize) -> Vec<f32> {
    (0..n * d)
        .map(|_| rng.sample::<f32, _>(StandardNormal))
        .collect()
}

fn cos_targets(x: &[f32], v: &[f32]) -> Vec<f32> {
    x.chunks(v.len())
        .map(|row| row.iter().zip(v).map(|(a, b)| a * b).sum::<f32>().cos())
        .collect()
}

/// Variance across targets of the full-batch gradient on a fixed probe batch:
/// (mean_j ||g_j - g_bar||^2, mean_j ||g_j||^2).
pub fn target_gradient_variance(
    net: &Mlp,
    x: &[f32],
    n: usize,
    targets: &[Vec<f32>],
) -> Result<(f64, f64), Halt> {
    let mut gs = Vec::with_capacity(targets.len());
    for v in targets {
        let y = cos_targets(x, v);
        gs.push(net.loss_and_grads(x, n, Loss::Mse(&y))?.1);
    }
    let p = gs[0].len();
    let m = gs.len() as f64;
    let mut mean = vec![0.0f64; p];
    for g in &gs {
        for (a, &b) in mean.iter_mut().zip(g) {
            *a += b as f64 / m;
        }
    }
    let (mut var, mut norm2) = (0.0, 0.0);
    for g in &gs {
        for (a, &b) in mean.iter().zip(g) {
            var += (b as f64 - a).powi(2) / m;
            norm2 += (b as f64).powi(2) / m;
        }
    }
    Ok((var, norm2))
}

fn run_lp(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let d = p.usize("d");
    let r = p.float("r") as f32;
    let batch = p.usize("batch");
    let steps = p.int("steps") as u64;
    let eval_every = p.int("eval_every") as u64;
    let eval_n = p.usize("eval_samples");
    let width = p.usize("width");
    let mut rng = StdRng::seed_from_u64(seed);
    let v_star: Vec<f32> = unit_vector(&mut rng, d).iter().map(|x| x * r).collect();
    let targets: Vec<Vec<f32>> = (0..p.usize("targets"))
        .map(|_| unit_vector(&mut rng, d).iter().map(|x| x * r).collect())
        .collect();
    let probe_n = p.usize("probe");
    let probe_x = gaussian_inputs(&mut rng, probe_n, d);
    let mut net = Mlp::new(&[d, width, width, 1], Activation::Relu, &mut rng);
    let mut opt = optimizer(p)?;
    // E[cos(z)] and Var[cos(z)] for z ~ N(0, r^2): the loss of the best constant predictor
    let r2 = (r as f64).powi(2);
    let mean_y = (-r2 / 2.0).exp();
    let var_y = (0.5 + 0.5 * (-2.0 * r2).exp() - mean_y * mean_y).max(1e-12);
    ctx.log(&format!(
        "LP: d = {d}, |v*| = {r}, Var[y] = {var_y:.4} (the loss of predicting the mean)"
    ));

    let probe = |net: &Mlp, step: u64, ctx: &mut dyn Ctx| -> Result<(), Halt> {
        let (var, norm2) = target_gradient_variance(net, &probe_x, probe_n, &targets)?;
        ctx.metric(step, "grad_var_targets", var);
        ctx.metric(step, "grad_var_relative", var / norm2.max(1e-30));
        Ok(())
    };
    let mut snr_rng = StdRng::seed_from_u64(seed.wrapping_add(0x005e_ed0f_5a5e));
    let snr_n = p.usize("snr_samples");
    let mut snr_probe = |net: &Mlp, step: u64, ctx: &mut dyn Ctx| -> Result<(), Halt> {
        let x = gaussian_inputs(&mut snr_rng, snr_n, d);
        let y = cos_targets(&x, &v_star);
        let report = net.gradient_snr(&x, snr_n, Loss::Mse(&y))?;
        super::emit_snr(ctx, step, "", &report);
        Ok(())
    };
    let test_loss = |net: &Mlp, rng: &mut StdRng| -> Result<f64, Halt> {
        let x = gaussian_inputs(rng, eval_n, d);
        let y = cos_targets(&x, &v_star);
        Ok(Loss::Mse(&y).value(&net.forward(&x, eval_n)?, 1))
    };

    let t0 = test_loss(&net, &mut rng)?;
    ctx.metric(0, "test_loss", t0);
    ctx.metric(0, "test_loss_ratio", t0 / var_y);
    probe(&net, 0, ctx)?;
    if snr_n > 0 {
        snr_probe(&net, 0, ctx)?;
    }
    let (mut loss_sum, mut loss_n) = (0.0f64, 0u64);
    let mut last_ratio = t0 / var_y;
    let mut best_ratio = last_ratio;
    for step in 1..=steps {
        let x = gaussian_inputs(&mut rng, batch, d);
        let y = cos_targets(&x, &v_star);
        let loss = net.train_step(&x, batch, Loss::Mse(&y), &mut opt)? as f64;
        loss_sum += loss;
        loss_n += 1;
        ctx.step(step, steps, loss)?;
        if step % eval_every == 0 || step == steps {
            let t = test_loss(&net, &mut rng)?;
            ctx.metric(step, "train_loss", loss_sum / loss_n as f64);
            ctx.metric(step, "test_loss", t);
            ctx.metric(step, "test_loss_ratio", t / var_y);
            probe(&net, step, ctx)?;
            (loss_sum, loss_n) = (0.0, 0);
            last_ratio = t / var_y;
            best_ratio = best_ratio.min(last_ratio);
        }
        if super::snr_due(p, step, eval_every, step == steps) {
            snr_probe(&net, step, ctx)?;
        }
    }
    let mut s = Summary::default();
    s.set("test_loss_ratio", last_ratio)
        .set("best_test_loss_ratio", best_ratio)
        .set("var_y", var_y);
    Ok(s)
}
