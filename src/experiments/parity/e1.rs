//! E1: a random parity of d bits learned by a one-hidden-layer ReLU network with the hinge
//! loss, from fresh samples at every step.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Binomial, Distribution};

use super::hidden::{HiddenProbe, OTHER_SUBSETS};
use super::{width_of, OPT_HELP};
use crate::experiments::common::{
    emit_snr, optimizer, sign_accuracy, snr_due, snr_params, OPTIMIZERS,
};
use crate::experiments::ctx::{Ctx, Halt, Summary};
use crate::nn::{Activation, Loss, Mlp, Optimizer};
use crate::spec::{ParamDef, Params};

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

/// The time to a threshold E1's summary reports when a run gets there.
pub(super) fn thresholds() -> Vec<String> {
    vec!["steps_to_0.99".into()]
}

pub(super) fn params() -> Vec<ParamDef> {
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
    .chain(snr_params(128))
    .collect()
}

pub(super) fn validate(p: &Params) -> Result<(), String> {
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

/// The target of a run: the parity of the first `k` of `d` bits.
#[derive(Debug, Clone, Copy)]
struct Parity {
    d: usize,
    k: usize,
}

impl Parity {
    /// `n` fresh samples and their labels.
    fn sample(&self, rng: &mut StdRng, n: usize) -> (Vec<f32>, Vec<f32>) {
        let x = sample_signs(rng, n, self.d);
        let y = parity_labels(&x, self.d, self.k);
        (x, y)
    }

    /// Accuracy of `net` on `n` fresh samples.
    fn accuracy(&self, net: &Mlp, rng: &mut StdRng, n: usize) -> Result<f64, Halt> {
        let (x, y) = self.sample(rng, n);
        Ok(sign_accuracy(&net.forward(&x, n)?, &y))
    }
}

/// The gradient SNR probe. It draws from its own stream: turning it on or off leaves training
/// unchanged.
struct Probe {
    task: Parity,
    n: usize,
    rng: StdRng,
}

impl Probe {
    fn run(&mut self, net: &Mlp, step: u64, ctx: &mut dyn Ctx) -> Result<(), Halt> {
        let (x, y) = self.task.sample(&mut self.rng, self.n);
        let report = net.gradient_snr(&x, self.n, Loss::Hinge(&y))?;
        emit_snr(ctx, step, "", &report);
        // the part of the gradient that depends on the labels, which Theorem 1 bounds
        let label = net.gradient_snr(&x, self.n, Loss::HingeLabelPart(&y))?;
        ctx.metric(step, "grad_snr_label", label.total.snr());
        Ok(())
    }
}

/// What training leaves for the summary.
struct Curve {
    best: f64,
    last: f64,
    first_99: Option<u64>,
}

pub(super) fn run(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let d = p.usize("d");
    let width = width_of(p, d);
    let mut rng = StdRng::seed_from_u64(seed);
    let k = match p.usize("subset_size") {
        0 => draw_subset_size(&mut rng, d),
        k => k,
    };
    let task = Parity { d, k };
    let mut init_rng = StdRng::seed_from_u64(seed.wrapping_add(0x9e37_79b9_7f4a_7c15));
    let mut net = Mlp::new(&[d, width, 1], Activation::Relu, &mut init_rng);
    let mut opt = optimizer(p)?;
    ctx.log(&format!(
        "E1: d = {d}, |S| = {k}, width = {width}, {} lr {}, batch {}, {} steps",
        p.str("optimizer"),
        p.float("lr"),
        p.usize("batch"),
        p.int("steps")
    ));
    let mut probe = Probe {
        task,
        n: p.usize("snr_samples"),
        rng: StdRng::seed_from_u64(seed.wrapping_add(0x005e_ed0f_5a5e)),
    };
    // the hidden-progress metrics, on a fixed held-out batch of its own stream: training draws
    // the same samples with or without it
    let subset: Vec<usize> = (0..k).collect();
    let hidden = HiddenProbe::new(
        d,
        &subset,
        p.usize("eval_samples"),
        OTHER_SUBSETS,
        seed.wrapping_add(0x0f1d_de4e),
        &net,
    );
    let curve = train(
        p, task, &mut net, &mut opt, &mut rng, &mut probe, &hidden, ctx,
    )?;
    let mut summary = Summary::default();
    summary
        .set("test_accuracy", curve.last)
        .set("best_accuracy", curve.best)
        .set("subset_size", k as f64)
        .set("width", width as f64);
    match curve.first_99 {
        Some(s) => {
            summary.set("steps_to_0.99", s as f64);
        }
        None => {
            summary.note("accuracy never reached 0.99");
        }
    }
    Ok(summary)
}

/// The hidden-progress metrics of `net` at `step`.
fn emit_hidden(hidden: &HiddenProbe, net: &Mlp, step: u64, ctx: &mut dyn Ctx) -> Result<(), Halt> {
    let f = hidden.outputs(net)?;
    hidden.measure(net, &f).emit(ctx, step);
    Ok(())
}

/// The training loop, with an evaluation on fresh samples every `eval_every` steps.
#[allow(clippy::too_many_arguments)]
fn train(
    p: &Params,
    task: Parity,
    net: &mut Mlp,
    opt: &mut Optimizer,
    rng: &mut StdRng,
    probe: &mut Probe,
    hidden: &HiddenProbe,
    ctx: &mut dyn Ctx,
) -> Result<Curve, Halt> {
    let batch = p.usize("batch");
    let steps = p.int("steps") as u64;
    let eval_every = p.int("eval_every") as u64;
    let eval_n = p.usize("eval_samples");
    let acc0 = task.accuracy(net, rng, eval_n)?;
    ctx.metric(0, "test_accuracy", acc0);
    emit_hidden(hidden, net, 0, ctx)?;
    if probe.n > 0 {
        probe.run(net, 0, ctx)?;
    }
    let (mut loss_sum, mut loss_n) = (0.0f64, 0u64);
    let mut curve = Curve {
        best: acc0,
        last: acc0,
        first_99: None,
    };
    for step in 1..=steps {
        let (x, y) = task.sample(rng, batch);
        let loss = net.train_step(&x, batch, Loss::Hinge(&y), opt)? as f64;
        loss_sum += loss;
        loss_n += 1;
        ctx.step(step, steps, loss)?;
        if step % eval_every == 0 || step == steps {
            let acc = task.accuracy(net, rng, eval_n)?;
            ctx.metric(step, "train_loss", loss_sum / loss_n as f64);
            ctx.metric(step, "test_accuracy", acc);
            emit_hidden(hidden, net, step, ctx)?;
            (loss_sum, loss_n) = (0.0, 0);
            curve.best = curve.best.max(acc);
            curve.last = acc;
            if acc >= 0.99 && curve.first_99.is_none() {
                curve.first_99 = Some(step);
            }
        }
        if snr_due(p, step, eval_every, step == steps) {
            probe.run(net, step, ctx)?;
        }
    }
    Ok(curve)
}
