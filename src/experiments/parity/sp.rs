//! SP: a k-sparse parity of n bits (the product of k hidden coordinates, drawn from the seed)
//! learned by a one-hidden-layer ReLU network with online SGD on fresh batches, with the
//! hidden-progress metrics of `hidden.rs` on a fixed held-out batch. The loss sits flat for a
//! long time while the correlation with the target parity grows underneath; the time to solve
//! grows like n^O(k) (Barak et al. 2022).

use rand::seq::index::sample;
use rand::Rng;

use super::e1::sample_signs;
use super::hidden::{character, HiddenProbe, OTHER_SUBSETS};
use super::OPT_HELP;
use crate::experiments::common::{
    emit_snr, optimizer, sign_accuracy, snr_due, snr_params, OPTIMIZERS,
};
use crate::experiments::ctx::{Ctx, Halt, Summary};
use crate::experiments::state::{stream_from, StateReader, StateWriter, Stream};
use crate::nn::{Activation, Loss, Mlp, Optimizer};
use crate::spec::{ParamDef, Params};

/// The accuracy a run counts as solved.
pub const SOLVED: f64 = 0.99;

/// The summary's times to thresholds: solved, and the hidden progress clearing its margin.
pub(super) fn thresholds() -> Vec<String> {
    vec!["steps_to_0.99".into(), "steps_to_gap".into()]
}

pub(super) fn params() -> Vec<ParamDef> {
    vec![
        ParamDef::int("n", 30, 2, 63, "input bits"),
        ParamDef::int(
            "k",
            3,
            1,
            63,
            "bits in the parity, a subset of the n drawn from the seed",
        ),
        ParamDef::int("width", 1000, 1, 8192, "hidden ReLU units"),
        ParamDef::choice(
            "loss",
            "hinge",
            &["hinge", "square"],
            "hinge: mean max(0, 1 - y f); square: mean (f - y)^2",
        ),
        ParamDef::choice("optimizer", "sgd", OPTIMIZERS, OPT_HELP),
        ParamDef::positive("lr", 0.03, 10.0, "learning rate"),
        ParamDef::int("batch", 32, 1, 65536, "fresh samples per step"),
        ParamDef::int(
            "steps",
            100_000,
            1,
            100_000_000,
            "training iterations at most",
        ),
        ParamDef::boolean(
            "stop_solved",
            true,
            "end the run at the first evaluation with held-out accuracy >= 0.99",
        ),
        ParamDef::int(
            "eval_every",
            100,
            1,
            1_000_000,
            "iterations between evaluations",
        ),
        ParamDef::int(
            "eval_samples",
            2048,
            16,
            1_000_000,
            "the fixed held-out batch every evaluation measures",
        ),
        ParamDef::int(
            "other_subsets",
            OTHER_SUBSETS as i64,
            1,
            4096,
            "other subsets of size k that fourier_max_other takes the largest correlation over",
        ),
        ParamDef::float(
            "gap_margin",
            0.1,
            0.0,
            1.0,
            "steps_to_gap: the first evaluation with fourier_target - fourier_max_other above this",
        ),
    ]
    .into_iter()
    .chain(snr_params(0))
    .collect()
}

pub(super) fn validate(p: &Params) -> Result<(), String> {
    if p.int("k") > p.int("n") {
        return Err(format!(
            "k = {} is larger than n = {}; allowed: 1..={}",
            p.int("k"),
            p.int("n"),
            p.int("n")
        ));
    }
    Ok(())
}

/// The hidden subset of a run: `k` of the `n` coordinates, drawn with `rng`, sorted.
pub fn draw_subset<R: Rng>(rng: &mut R, n: usize, k: usize) -> Vec<usize> {
    let mut s = sample(rng, n, k).into_vec();
    s.sort_unstable();
    s
}

/// The target: the parity of `subset` of `n` bits.
struct Task {
    n: usize,
    subset: Vec<usize>,
}

impl Task {
    fn sample(&self, rng: &mut Stream, m: usize) -> (Vec<f32>, Vec<f32>) {
        let x = sample_signs(rng, m, self.n);
        let y = character(&x, self.n, &self.subset);
        (x, y)
    }
}

fn loss<'a>(p: &Params, y: &'a [f32]) -> Loss<'a> {
    match p.str("loss") {
        "square" => Loss::Mse(y),
        _ => Loss::Hinge(y),
    }
}

/// What training leaves for the summary.
#[derive(Default)]
struct Curve {
    best: f64,
    last: f64,
    first_99: Option<u64>,
    first_gap: Option<u64>,
    last_target: f64,
    steps: u64,
}

pub(super) fn run(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let n = p.usize("n");
    let k = p.usize("k");
    let width = p.usize("width");
    let mut rng = stream_from(seed);
    let task = Task {
        n,
        subset: draw_subset(&mut rng, n, k),
    };
    let mut init_rng = stream_from(seed.wrapping_add(0x9e37_79b9_7f4a_7c15));
    let net = Mlp::new(&[n, width, 1], Activation::Relu, &mut init_rng);
    // measured against the network at initialisation: built before a checkpoint is put back
    let probe = HiddenProbe::new(
        n,
        &task.subset,
        p.usize("eval_samples"),
        p.usize("other_subsets"),
        seed.wrapping_add(0x0f1d_de4e),
        &net,
    );
    let subset = task
        .subset
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    ctx.log(&format!(
        "SP: n = {n}, k = {k}, S = {{{subset}}}, width = {width}, {} loss, {} lr {}, batch {}, \
         at most {} steps; held-out batch {}, {} other subsets",
        p.str("loss"),
        p.str("optimizer"),
        p.float("lr"),
        p.usize("batch"),
        p.int("steps"),
        probe.n,
        probe.other_count()
    ));
    let mut t = Training {
        task,
        net,
        opt: optimizer(p)?,
        rng,
        snr_rng: stream_from(seed.wrapping_add(0x005e_ed0f_5a5e)),
        probe,
        loss_sum: 0.0,
        loss_n: 0,
        curve: Curve::default(),
    };
    t.train(p, ctx)?;
    let curve = t.curve;
    let mut summary = Summary::default();
    summary
        .set("test_accuracy", curve.last)
        .set("best_accuracy", curve.best)
        .set("fourier_target", curve.last_target)
        .set("steps_run", curve.steps as f64);
    summary.note(format!("S = {{{subset}}}"));
    match curve.first_99 {
        Some(s) => summary.set("steps_to_0.99", s as f64),
        None => summary.note(format!(
            "held-out accuracy never reached {SOLVED} in {} steps",
            curve.steps
        )),
    };
    match curve.first_gap {
        Some(s) => summary.set("steps_to_gap", s as f64),
        None => summary.note(format!(
            "fourier_target - fourier_max_other never exceeded {}",
            p.float("gap_margin")
        )),
    };
    Ok(summary)
}

/// Everything training changes: the network and its optimizer, the data and SNR streams, the
/// loss since the last evaluation and the curve (a checkpoint holds all of it). The held-out
/// batch and its reference outputs follow from the seed and the initial network.
struct Training {
    task: Task,
    net: Mlp,
    opt: Optimizer,
    rng: Stream,
    snr_rng: Stream,
    probe: HiddenProbe,
    loss_sum: f64,
    loss_n: u64,
    curve: Curve,
}

impl Training {
    /// The state as bytes, for a checkpoint.
    fn save(&mut self) -> Result<Vec<u8>, Halt> {
        let snap = self.net.snapshot(&mut self.opt)?;
        let c = &self.curve;
        let mut w = StateWriter::new();
        w.snapshot(&snap)
            .stream(&self.rng)
            .stream(&self.snr_rng)
            .f64(self.loss_sum)
            .u64(self.loss_n)
            .f64(c.best)
            .f64(c.last)
            .opt_u64(c.first_99)
            .opt_u64(c.first_gap)
            .f64(c.last_target)
            .u64(c.steps);
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
        self.snr_rng = r.stream()?;
        self.loss_sum = r.f64()?;
        self.loss_n = r.u64()?;
        self.curve = Curve {
            best: r.f64()?,
            last: r.f64()?,
            first_99: r.opt_u64()?,
            first_gap: r.opt_u64()?,
            last_target: r.f64()?,
            steps: r.u64()?,
        };
        if !r.is_done() {
            return Err("bytes left over after SP's state".into());
        }
        Ok(())
    }

    /// The gradient SNR probe, on its own stream.
    fn snr_probe(&mut self, p: &Params, step: u64, ctx: &mut dyn Ctx) -> Result<(), Halt> {
        let m = p.usize("snr_samples");
        let (x, y) = self.task.sample(&mut self.snr_rng, m);
        let report = self.net.gradient_snr(&x, m, loss(p, &y))?;
        emit_snr(ctx, step, "", &report);
        Ok(())
    }

    /// The evaluation on the held-out batch: accuracy, loss and the hidden-progress metrics.
    fn evaluate(&mut self, p: &Params, step: u64, ctx: &mut dyn Ctx) -> Result<(), Halt> {
        let f = self.probe.outputs(&self.net)?;
        let acc = sign_accuracy(&f, &self.probe.target);
        ctx.metric(step, "test_accuracy", acc);
        ctx.metric(step, "test_loss", loss(p, &self.probe.target).value(&f, 1));
        let progress = self.probe.measure(&self.net, &f);
        progress.emit(ctx, step);
        let curve = &mut self.curve;
        curve.best = curve.best.max(acc);
        curve.last = acc;
        curve.last_target = progress.fourier_target;
        if acc >= SOLVED && curve.first_99.is_none() {
            curve.first_99 = Some(step);
        }
        if curve.first_gap.is_none() && progress.gap().is_some_and(|g| g > p.float("gap_margin")) {
            curve.first_gap = Some(step);
        }
        Ok(())
    }

    /// The training loop, from step 0 or from the step of the checkpoint the context hands
    /// back; it ends early once solved where `stop_solved` says so.
    fn train(&mut self, p: &Params, ctx: &mut dyn Ctx) -> Result<(), Halt> {
        let batch = p.usize("batch");
        let steps = p.int("steps") as u64;
        let first = match ctx.restore() {
            Some(r) => {
                r.resume(steps, ctx, |s| self.load(s))?;
                if self.after_step(p, r.step, ctx)? {
                    return Ok(());
                }
                r.step + 1
            }
            None => {
                self.evaluate(p, 0, ctx)?;
                if p.usize("snr_samples") > 0 {
                    self.snr_probe(p, 0, ctx)?;
                }
                1
            }
        };
        for step in first..=steps {
            let (x, y) = self.task.sample(&mut self.rng, batch);
            let l = self.net.train_step(&x, batch, loss(p, &y), &mut self.opt)? as f64;
            self.loss_sum += l;
            self.loss_n += 1;
            ctx.step_saving(step, steps, l, &mut || self.save())?;
            if self.after_step(p, step, ctx)? {
                break;
            }
        }
        Ok(())
    }

    /// What follows a training step: the evaluation and the SNR probe when due; true where the
    /// run ends here, solved.
    fn after_step(&mut self, p: &Params, step: u64, ctx: &mut dyn Ctx) -> Result<bool, Halt> {
        let steps = p.int("steps") as u64;
        let eval_every = p.int("eval_every") as u64;
        let last = step == steps;
        self.curve.steps = step;
        if step.is_multiple_of(eval_every) || last {
            ctx.metric(
                step,
                "train_loss",
                self.loss_sum / self.loss_n.max(1) as f64,
            );
            (self.loss_sum, self.loss_n) = (0.0, 0);
            self.evaluate(p, step, ctx)?;
        }
        if snr_due(p, step, eval_every, last) {
            self.snr_probe(p, step, ctx)?;
        }
        if p.bool("stop_solved") && self.curve.first_99.is_some() {
            // solved: the run is complete at this step (its progress reads step/step)
            ctx.step(step, step, 0.0)?;
            ctx.log(&format!(
                "solved at step {step}: held-out accuracy {:.4}; the run ends here \
                 (stop_solved)",
                self.curve.last
            ));
            return Ok(true);
        }
        Ok(false)
    }
}
