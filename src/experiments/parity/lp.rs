//! LP: a linear-periodic target y = cos(v*.x) on Gaussian inputs (Theorem 2), learned by a
//! two-hidden-layer ReLU network; the variance of the gradient across random targets v with
//! |v| = |v*| shows how little the gradient says about v*.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::OPT_HELP;
use crate::experiments::common::{emit_snr, optimizer, snr_due, snr_params, OPTIMIZERS};
use crate::experiments::ctx::{Ctx, Halt, Summary};
use crate::nn::{Activation, Loss, Mlp, Optimizer};
use crate::spec::{ParamDef, Params};

pub(super) fn params() -> Vec<ParamDef> {
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
    .chain(snr_params(256))
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

/// A random direction of length `r`.
fn scaled_unit<R: Rng>(rng: &mut R, d: usize, r: f32) -> Vec<f32> {
    unit_vector(rng, d).iter().map(|x| x * r).collect()
}

/// The target of a run, y = cos(v*.x) with x ~ N(0, I).
struct Target {
    d: usize,
    v_star: Vec<f32>,
}

impl Target {
    /// `n` fresh inputs and their labels.
    fn sample(&self, rng: &mut StdRng, n: usize) -> (Vec<f32>, Vec<f32>) {
        let x = gaussian_inputs(rng, n, self.d);
        let y = cos_targets(&x, &self.v_star);
        (x, y)
    }

    /// The MSE of `net` on `n` fresh samples.
    fn test_loss(&self, net: &Mlp, rng: &mut StdRng, n: usize) -> Result<f64, Halt> {
        let (x, y) = self.sample(rng, n);
        Ok(Loss::Mse(&y).value(&net.forward(&x, n)?, 1))
    }
}

/// E[cos(z)] and Var[cos(z)] for z ~ N(0, r^2): Var is the loss of the best constant predictor.
fn constant_loss(r: f32) -> f64 {
    let r2 = (r as f64).powi(2);
    let mean_y = (-r2 / 2.0).exp();
    (0.5 + 0.5 * (-2.0 * r2).exp() - mean_y * mean_y).max(1e-12)
}

/// The two probes of a run: the variance of the gradient across targets on a fixed batch, and
/// the gradient SNR on fresh samples from its own stream.
struct Probes<'a> {
    target: &'a Target,
    x: Vec<f32>,
    n: usize,
    targets: Vec<Vec<f32>>,
    snr_rng: StdRng,
    snr_n: usize,
}

impl Probes<'_> {
    fn across_targets(&self, net: &Mlp, step: u64, ctx: &mut dyn Ctx) -> Result<(), Halt> {
        let (var, norm2) = target_gradient_variance(net, &self.x, self.n, &self.targets)?;
        ctx.metric(step, "grad_var_targets", var);
        ctx.metric(step, "grad_var_relative", var / norm2.max(1e-30));
        Ok(())
    }

    fn snr(&mut self, net: &Mlp, step: u64, ctx: &mut dyn Ctx) -> Result<(), Halt> {
        let (x, y) = self.target.sample(&mut self.snr_rng, self.snr_n);
        let report = net.gradient_snr(&x, self.snr_n, Loss::Mse(&y))?;
        emit_snr(ctx, step, "", &report);
        Ok(())
    }
}

pub(super) fn run(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let d = p.usize("d");
    let r = p.float("r") as f32;
    let width = p.usize("width");
    let mut rng = StdRng::seed_from_u64(seed);
    let target = Target {
        d,
        v_star: scaled_unit(&mut rng, d, r),
    };
    let targets: Vec<Vec<f32>> = (0..p.usize("targets"))
        .map(|_| scaled_unit(&mut rng, d, r))
        .collect();
    let probe_n = p.usize("probe");
    let probe_x = gaussian_inputs(&mut rng, probe_n, d);
    let mut net = Mlp::new(&[d, width, width, 1], Activation::Relu, &mut rng);
    let mut opt = optimizer(p)?;
    let var_y = constant_loss(r);
    ctx.log(&format!(
        "LP: d = {d}, |v*| = {r}, Var[y] = {var_y:.4} (the loss of predicting the mean)"
    ));
    let mut probes = Probes {
        target: &target,
        x: probe_x,
        n: probe_n,
        targets,
        snr_rng: StdRng::seed_from_u64(seed.wrapping_add(0x005e_ed0f_5a5e)),
        snr_n: p.usize("snr_samples"),
    };
    let (last_ratio, best_ratio) = train(p, &mut net, &mut opt, &mut rng, &mut probes, var_y, ctx)?;
    let mut s = Summary::default();
    s.set("test_loss_ratio", last_ratio)
        .set("best_test_loss_ratio", best_ratio)
        .set("var_y", var_y);
    Ok(s)
}

/// The training loop; returns the last and the best test loss over Var[y].
fn train(
    p: &Params,
    net: &mut Mlp,
    opt: &mut Optimizer,
    rng: &mut StdRng,
    probes: &mut Probes<'_>,
    var_y: f64,
    ctx: &mut dyn Ctx,
) -> Result<(f64, f64), Halt> {
    let batch = p.usize("batch");
    let steps = p.int("steps") as u64;
    let eval_every = p.int("eval_every") as u64;
    let eval_n = p.usize("eval_samples");
    let target = probes.target;
    let t0 = target.test_loss(net, rng, eval_n)?;
    ctx.metric(0, "test_loss", t0);
    ctx.metric(0, "test_loss_ratio", t0 / var_y);
    probes.across_targets(net, 0, ctx)?;
    if probes.snr_n > 0 {
        probes.snr(net, 0, ctx)?;
    }
    let (mut loss_sum, mut loss_n) = (0.0f64, 0u64);
    let mut last_ratio = t0 / var_y;
    let mut best_ratio = last_ratio;
    for step in 1..=steps {
        let (x, y) = target.sample(rng, batch);
        let loss = net.train_step(&x, batch, Loss::Mse(&y), opt)? as f64;
        loss_sum += loss;
        loss_n += 1;
        ctx.step(step, steps, loss)?;
        if step % eval_every == 0 || step == steps {
            let t = target.test_loss(net, rng, eval_n)?;
            ctx.metric(step, "train_loss", loss_sum / loss_n as f64);
            ctx.metric(step, "test_loss", t);
            ctx.metric(step, "test_loss_ratio", t / var_y);
            probes.across_targets(net, step, ctx)?;
            (loss_sum, loss_n) = (0.0, 0);
            last_ratio = t / var_y;
            best_ratio = best_ratio.min(last_ratio);
        }
        if snr_due(p, step, eval_every, step == steps) {
            probes.snr(net, step, ctx)?;
        }
    }
    Ok((last_ratio, best_ratio))
}
