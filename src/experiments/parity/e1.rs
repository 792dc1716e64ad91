//! E1: a random parity of d bits learned by a one-hidden-layer ReLU network with the hinge
//! loss, from fresh samples at every step.

use rand::Rng;
use rand_distr::{Binomial, Distribution};

use super::hidden::{HiddenProbe, OTHER_SUBSETS};
use super::{width_of, OPT_HELP};
use crate::experiments::common::{
    emit_snr, optimizer, sign_accuracy, snr_due, snr_params, OPTIMIZERS,
};
use crate::experiments::ctx::{Ctx, Halt, Summary};
use crate::experiments::state::{stream_from, StateReader, StateWriter, Stream};
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
    fn sample(&self, rng: &mut Stream, n: usize) -> (Vec<f32>, Vec<f32>) {
        let x = sample_signs(rng, n, self.d);
        let y = parity_labels(&x, self.d, self.k);
        (x, y)
    }

    /// Accuracy of `net` on `n` fresh samples.
    fn accuracy(&self, net: &Mlp, rng: &mut Stream, n: usize) -> Result<f64, Halt> {
        let (x, y) = self.sample(rng, n);
        Ok(sign_accuracy(&net.forward(&x, n)?, &y))
    }
}

/// The gradient SNR probe. It draws from its own stream: turning it on or off leaves training
/// unchanged.
struct Probe {
    task: Parity,
    n: usize,
    rng: Stream,
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
    let mut rng = stream_from(seed);
    let k = match p.usize("subset_size") {
        0 => draw_subset_size(&mut rng, d),
        k => k,
    };
    let task = Parity { d, k };
    let mut init_rng = stream_from(seed.wrapping_add(0x9e37_79b9_7f4a_7c15));
    let net = Mlp::new(&[d, width, 1], Activation::Relu, &mut init_rng);
    // the hidden-progress metrics, on a fixed held-out batch of its own stream (training draws
    // the same samples with or without it), measured against the network at initialisation:
    // built before a checkpoint is put back, so a resumed run measures from the same start
    let subset: Vec<usize> = (0..k).collect();
    let hidden = HiddenProbe::new(
        d,
        &subset,
        p.usize("eval_samples"),
        OTHER_SUBSETS,
        seed.wrapping_add(0x0f1d_de4e),
        &net,
    );
    ctx.log(&format!(
        "E1: d = {d}, |S| = {k}, width = {width}, {} lr {}, batch {}, {} steps",
        p.str("optimizer"),
        p.float("lr"),
        p.usize("batch"),
        p.int("steps")
    ));
    let mut t = Training {
        task,
        net,
        opt: optimizer(p)?,
        rng,
        probe: Probe {
            task,
            n: p.usize("snr_samples"),
            rng: stream_from(seed.wrapping_add(0x005e_ed0f_5a5e)),
        },
        hidden,
        loss_sum: 0.0,
        loss_n: 0,
        curve: Curve {
            best: 0.0,
            last: 0.0,
            first_99: None,
        },
    };
    t.train(p, ctx)?;
    let curve = t.curve;
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

/// Everything training changes: the network and its optimizer, the data and probe streams,
/// the loss since the last evaluation and the accuracy curve (a checkpoint holds all of it).
struct Training {
    task: Parity,
    net: Mlp,
    opt: Optimizer,
    rng: Stream,
    probe: Probe,
    /// Deterministic from the seed and the initial network: not part of a checkpoint.
    hidden: HiddenProbe,
    loss_sum: f64,
    loss_n: u64,
    curve: Curve,
}

impl Training {
    /// The state as bytes, for a checkpoint.
    fn save(&mut self) -> Result<Vec<u8>, Halt> {
        let snap = self.net.snapshot(&mut self.opt)?;
        let mut w = StateWriter::new();
        w.snapshot(&snap)
            .stream(&self.rng)
            .stream(&self.probe.rng)
            .f64(self.loss_sum)
            .u64(self.loss_n)
            .f64(self.curve.best)
            .f64(self.curve.last)
            .opt_u64(self.curve.first_99);
        Ok(w.into_bytes())
    }

    /// The state of [`Training::save`] put back.
    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut r = StateReader::new(bytes);
        let snap = r.snapshot()?;
        self.net
            .restore(&mut self.opt, &snap)
            .map_err(|e| e.to_string())?;
        self.rng = r.stream()?;
        self.probe.rng = r.stream()?;
        self.loss_sum = r.f64()?;
        self.loss_n = r.u64()?;
        self.curve = Curve {
            best: r.f64()?,
            last: r.f64()?,
            first_99: r.opt_u64()?,
        };
        if !r.is_done() {
            return Err("bytes left over after E1's state".into());
        }
        Ok(())
    }

    /// The training loop, with an evaluation on fresh samples every `eval_every` steps; from
    /// step 0, or from the step of the checkpoint the context hands back.
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
                let acc0 = self
                    .task
                    .accuracy(&self.net, &mut self.rng, p.usize("eval_samples"))?;
                ctx.metric(0, "test_accuracy", acc0);
                emit_hidden(&self.hidden, &self.net, 0, ctx)?;
                if self.probe.n > 0 {
                    self.probe.run(&self.net, 0, ctx)?;
                }
                self.curve = Curve {
                    best: acc0,
                    last: acc0,
                    first_99: None,
                };
                1
            }
        };
        for step in first..=steps {
            let (x, y) = self.task.sample(&mut self.rng, batch);
            let loss =
                self.net
                    .train_step(&x, batch, Loss::Hinge(&y), &mut self.opt)? as f64;
            self.loss_sum += loss;
            self.loss_n += 1;
            ctx.step_saving(step, steps, loss, &mut || self.save())?;
            self.after_step(p, step, ctx)?;
        }
        Ok(())
    }

    /// What follows a training step: the evaluation and the SNR probe when due.
    fn after_step(&mut self, p: &Params, step: u64, ctx: &mut dyn Ctx) -> Result<(), Halt> {
        let steps = p.int("steps") as u64;
        let eval_every = p.int("eval_every") as u64;
        if step.is_multiple_of(eval_every) || step == steps {
            let acc = self
                .task
                .accuracy(&self.net, &mut self.rng, p.usize("eval_samples"))?;
            ctx.metric(
                step,
                "train_loss",
                self.loss_sum / self.loss_n.max(1) as f64,
            );
            ctx.metric(step, "test_accuracy", acc);
            emit_hidden(&self.hidden, &self.net, step, ctx)?;
            (self.loss_sum, self.loss_n) = (0.0, 0);
            self.curve.best = self.curve.best.max(acc);
            self.curve.last = acc;
            if acc >= 0.99 && self.curve.first_99.is_none() {
                self.curve.first_99 = Some(step);
            }
        }
        if snr_due(p, step, eval_every, step == steps) {
            self.probe.run(&self.net, step, ctx)?;
        }
        Ok(())
    }
}
