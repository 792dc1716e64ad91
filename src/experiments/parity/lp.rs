//! LP: a linear-periodic target y = cos(v*.x) on Gaussian inputs (Theorem 2), learned by a
//! two-hidden-layer ReLU network; the variance of the gradient across random targets v with
//! |v| = |v*| shows how little the gradient says about v*.

use rand::Rng;
use rand_distr::StandardNormal;

use super::OPT_HELP;
use crate::experiments::common::{emit_snr, optimizer, snr_due, snr_params, OPTIMIZERS};
use crate::experiments::ctx::{Ctx, Halt, Summary};
use crate::experiments::state::{stream_from, StateReader, StateWriter, Stream};
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
    fn sample(&self, rng: &mut Stream, n: usize) -> (Vec<f32>, Vec<f32>) {
        let x = gaussian_inputs(rng, n, self.d);
        let y = cos_targets(&x, &self.v_star);
        (x, y)
    }

    /// The MSE of `net` on `n` fresh samples.
    fn test_loss(&self, net: &Mlp, rng: &mut Stream, n: usize) -> Result<f64, Halt> {
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
    snr_rng: Stream,
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
    let mut rng = stream_from(seed);
    let target = Target {
        d,
        v_star: scaled_unit(&mut rng, d, r),
    };
    let targets: Vec<Vec<f32>> = (0..p.usize("targets"))
        .map(|_| scaled_unit(&mut rng, d, r))
        .collect();
    let probe_n = p.usize("probe");
    let probe_x = gaussian_inputs(&mut rng, probe_n, d);
    let net = Mlp::new(&[d, width, width, 1], Activation::Relu, &mut rng);
    let var_y = constant_loss(r);
    ctx.log(&format!(
        "LP: d = {d}, |v*| = {r}, Var[y] = {var_y:.4} (the loss of predicting the mean)"
    ));
    let mut t = Training {
        net,
        opt: optimizer(p)?,
        rng,
        probes: Probes {
            target: &target,
            x: probe_x,
            n: probe_n,
            targets,
            snr_rng: stream_from(seed.wrapping_add(0x005e_ed0f_5a5e)),
            snr_n: p.usize("snr_samples"),
        },
        var_y,
        loss_sum: 0.0,
        loss_n: 0,
        last_ratio: 0.0,
        best_ratio: 0.0,
    };
    t.train(p, ctx)?;
    let mut s = Summary::default();
    s.set("test_loss_ratio", t.last_ratio)
        .set("best_test_loss_ratio", t.best_ratio)
        .set("var_y", var_y);
    Ok(s)
}

/// Everything training changes: the network and its optimizer, the data and SNR streams, the
/// loss since the last evaluation and the test loss over Var[y] so far (a checkpoint holds
/// all of it).
struct Training<'a> {
    net: Mlp,
    opt: Optimizer,
    rng: Stream,
    probes: Probes<'a>,
    var_y: f64,
    loss_sum: f64,
    loss_n: u64,
    last_ratio: f64,
    best_ratio: f64,
}

impl Training<'_> {
    fn save(&mut self) -> Result<Vec<u8>, Halt> {
        let snap = self.net.snapshot(&mut self.opt)?;
        let mut w = StateWriter::new();
        w.snapshot(&snap)
            .stream(&self.rng)
            .stream(&self.probes.snr_rng)
            .f64(self.loss_sum)
            .u64(self.loss_n)
            .f64(self.last_ratio)
            .f64(self.best_ratio);
        Ok(w.into_bytes())
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut r = StateReader::new(bytes);
        let snap = r.snapshot()?;
        self.net
            .restore(&mut self.opt, &snap)
            .map_err(|e| e.to_string())?;
        self.rng = r.stream()?;
        self.probes.snr_rng = r.stream()?;
        self.loss_sum = r.f64()?;
        self.loss_n = r.u64()?;
        self.last_ratio = r.f64()?;
        self.best_ratio = r.f64()?;
        if !r.is_done() {
            return Err("bytes left over after LP's state".into());
        }
        Ok(())
    }

    /// The training loop, from step 0 or from the step of the checkpoint the context hands
    /// back.
    fn train(&mut self, p: &Params, ctx: &mut dyn Ctx) -> Result<(), Halt> {
        let batch = p.usize("batch");
        let steps = p.int("steps") as u64;
        let first = match ctx.restore() {
            Some(r) => {
                r.resume(steps, ctx, |s| self.load(s))?;
                self.after_step(p, r.step, ctx)?;
                r.step + 1
            }
            None => {
                let target = self.probes.target;
                let t0 = target.test_loss(&self.net, &mut self.rng, p.usize("eval_samples"))?;
                ctx.metric(0, "test_loss", t0);
                ctx.metric(0, "test_loss_ratio", t0 / self.var_y);
                self.probes.across_targets(&self.net, 0, ctx)?;
                if self.probes.snr_n > 0 {
                    self.probes.snr(&self.net, 0, ctx)?;
                }
                self.last_ratio = t0 / self.var_y;
                self.best_ratio = self.last_ratio;
                1
            }
        };
        for step in first..=steps {
            let (x, y) = self.probes.target.sample(&mut self.rng, batch);
            let loss = self
                .net
                .train_step(&x, batch, Loss::Mse(&y), &mut self.opt)? as f64;
            self.loss_sum += loss;
            self.loss_n += 1;
            ctx.step_saving(step, steps, loss, &mut || self.save())?;
            self.after_step(p, step, ctx)?;
        }
        Ok(())
    }

    /// What follows a training step: the evaluation and the probes when due.
    fn after_step(&mut self, p: &Params, step: u64, ctx: &mut dyn Ctx) -> Result<(), Halt> {
        let steps = p.int("steps") as u64;
        let eval_every = p.int("eval_every") as u64;
        if step.is_multiple_of(eval_every) || step == steps {
            let target = self.probes.target;
            let t = target.test_loss(&self.net, &mut self.rng, p.usize("eval_samples"))?;
            ctx.metric(
                step,
                "train_loss",
                self.loss_sum / self.loss_n.max(1) as f64,
            );
            ctx.metric(step, "test_loss", t);
            ctx.metric(step, "test_loss_ratio", t / self.var_y);
            self.probes.across_targets(&self.net, step, ctx)?;
            (self.loss_sum, self.loss_n) = (0.0, 0);
            self.last_ratio = t / self.var_y;
            self.best_ratio = self.best_ratio.min(self.last_ratio);
        }
        if snr_due(p, step, eval_every, step == steps) {
            self.probes.snr(&self.net, step, ctx)?;
        }
        Ok(())
    }
}
