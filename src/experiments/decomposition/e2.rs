//! E2: k-tuples of line images, the tuple label the parity of the k orientation labels; one
//! network (N1 shared over the images, then N2) trained end-to-end on the tuple label, or with
//! the per-image labels added (decomposition). One run trains both methods from the same
//! initialisation, side by side.

use crate::experiments::state::{method_state, MethodState, StateReader, StateWriter, Stream};

use super::lines::{batch_of, classes_figure, sample_tuples, tuples_figure, Tuples, SIDE};
use super::method::{
    methods, stream, Method, FIGURE, INIT, METHODS, METHOD_HELP, PROBE, TEST, TRAIN,
};
use crate::experiments::common::{
    emit_snr, optim_kind, sign_accuracy, snr_due, snr_params, OPTIMIZERS, OPT_HELP_PAPER,
};
use crate::experiments::ctx::{Ctx, Figure, Halt, Restore, Summary};
use crate::nn::{LineNet, LineNetConfig, Optimizer};
use crate::spec::{ParamDef, Params};

pub(super) fn params() -> Vec<ParamDef> {
    vec![
        ParamDef::int(
            "k",
            3,
            1,
            16,
            "images per tuple; the label is the product of their k orientation labels",
        ),
        ParamDef::choice("method", "both", METHODS, METHOD_HELP),
        ParamDef::int(
            "steps_e2e",
            20_000,
            1,
            100_000_000,
            "end-to-end training iterations (paper: 20,000)",
        ),
        ParamDef::int(
            "steps_dec",
            2_500,
            1,
            100_000_000,
            "decomposition training iterations (paper: 2,500)",
        ),
        ParamDef::choice("optimizer", "adam99", OPTIMIZERS, OPT_HELP_PAPER),
        ParamDef::positive("lr", 1e-3, 10.0, "learning rate"),
        ParamDef::int("batch", 200, 1, 65_536, "fresh tuples per step"),
        ParamDef::int(
            "eval_every",
            100,
            1,
            1_000_000,
            "iterations between evaluations on the test set",
        ),
        ParamDef::int(
            "test_size",
            2000,
            10,
            1_000_000,
            "tuples in the fixed test set (paper: 2,000)",
        ),
        ParamDef::int(
            "channels",
            16,
            1,
            256,
            "channels of both convolutions of N1 (paper: 16)",
        ),
        ParamDef::int(
            "n2_width",
            100,
            1,
            4096,
            "hidden units of N2 (the code: 100 for every k)",
        ),
    ]
    .into_iter()
    .chain(snr_params(64))
    .collect()
}

pub(super) fn validate(p: &Params) -> Result<(), String> {
    let images = p.usize("batch") * p.usize("k");
    if images > 1 << 16 {
        return Err(format!(
            "batch x k = {images} images per step is too many (at most 65,536)"
        ));
    }
    Ok(())
}

/// Accuracy on the primary label and N1's accuracy on the image labels over a test set.
fn evaluate(net: &LineNet, test: &Tuples) -> Result<(f64, f64), Halt> {
    let (k, len) = (test.k, SIDE * SIDE);
    let chunk = (2048 / k).max(1);
    let (mut tuple_scores, mut image_scores) = (Vec::new(), Vec::new());
    for start in (0..test.batch).step_by(chunk) {
        let m = chunk.min(test.batch - start);
        let (t, i) = net.predict_all(&test.images[start * k * len..(start + m) * k * len], m)?;
        tuple_scores.extend(t);
        image_scores.extend(i);
    }
    Ok((
        sign_accuracy(&tuple_scores, &test.labels),
        sign_accuracy(&image_scores, &test.image_labels),
    ))
}

/// One method's training: its copy of the network, optimizer and data stream.
struct E2Run {
    method: Method,
    prefix: &'static str,
    net: LineNet,
    opt: Optimizer,
    rng: Stream,
    steps: u64,
    loss_sum: f64,
    loss_n: u64,
    acc: Vec<(u64, f64)>,
}

impl E2Run {
    /// One step on a fresh batch; the loss each method minimises.
    fn train_step(&mut self, batch: usize, k: usize) -> Result<f64, Halt> {
        let data = sample_tuples(&mut self.rng, batch, k);
        let parts =
            self.net
                .train_step(&batch_of(&data), self.method.objective(), &mut self.opt)?;
        let loss = match self.method {
            Method::EndToEnd => parts.primary,
            Method::Decomposition => parts.primary + parts.per_image,
        } as f64;
        self.loss_sum += loss;
        self.loss_n += 1;
        Ok(loss)
    }

    /// Accuracy on the test set's tuple and image labels.
    fn evaluate(&mut self, step: u64, test: &Tuples, ctx: &mut dyn Ctx) -> Result<(), Halt> {
        let (acc, img_acc) = evaluate(&self.net, test)?;
        ctx.metric(step, &format!("{}test_accuracy", self.prefix), acc);
        ctx.metric(step, &format!("{}image_accuracy", self.prefix), img_acc);
        self.acc.push((step, acc));
        Ok(())
    }

    /// The mean training loss since the last report.
    fn report_loss(&mut self, step: u64, ctx: &mut dyn Ctx) {
        ctx.metric(
            step,
            &format!("{}train_loss", self.prefix),
            self.loss_sum / self.loss_n.max(1) as f64,
        );
        (self.loss_sum, self.loss_n) = (0.0, 0);
    }
}

/// The gradient SNR probe, on fresh tuples from its own stream.
struct Probe {
    n: usize,
    k: usize,
    rng: Stream,
}

impl Probe {
    /// Probes the runs whose `active` flag is set, on one shared batch.
    fn run(
        &mut self,
        runs: &[E2Run],
        active: &[bool],
        step: u64,
        ctx: &mut dyn Ctx,
    ) -> Result<(), Halt> {
        let t = sample_tuples(&mut self.rng, self.n, self.k);
        for (r, _) in runs.iter().zip(active).filter(|(_, a)| **a) {
            let report = r.net.gradient_snr(&batch_of(&t), r.method.objective())?;
            emit_snr(ctx, step, r.prefix, &report);
        }
        Ok(())
    }
}

/// Whether a method's run of `budget` steps ends on a step where a longer one records the same
/// (see `ExperimentDef::prefix_aligned`): an evaluation step, and a probe step when the
/// gradient SNR is probed. A method also evaluates and probes at its last step, so a budget
/// off that grid would have points a longer run lacks.
pub(super) fn evaluates_at(p: &Params, budget: i64) -> bool {
    let on = |every: i64| every > 0 && budget % every == 0;
    let probes = p.int("snr_samples") > 0 && p.int("snr_every") > 0;
    on(p.int("eval_every")) && (!probes || on(p.int("snr_every")))
}

pub(super) fn run(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let k = p.usize("k");
    let (mut runs, test) = setup(p, seed)?;
    let total = runs.iter().map(|r| r.steps).max().unwrap_or(0);
    ctx.log(&format!(
        "E2: k = {k}, {} parameters, {} lr {}, batch {}, test set {} tuples; {}",
        runs[0].net.num_params(),
        p.str("optimizer"),
        p.float("lr"),
        p.usize("batch"),
        test.batch,
        runs.iter()
            .map(|r| format!("{} for {} steps", r.method.name(), r.steps))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let restore = ctx.restore();
    if restore.is_none() {
        let mut fig_rng = stream(seed, FIGURE);
        ctx.figure(0, classes_figure(&mut fig_rng));
        ctx.figure(
            0,
            tuples_figure(
                &sample_tuples(&mut fig_rng, 4, k),
                4,
                &format!("E2: four {k}-tuples, orientations = tuple label"),
            ),
        );
    }
    let mut probe = Probe {
        n: p.usize("snr_samples"),
        k,
        rng: stream(seed, PROBE),
    };
    train(p, &mut runs, &test, total, &mut probe, restore, ctx)?;
    Ok(finish(&runs, k, total, ctx))
}

/// The state of every method's run and of the probe, as bytes for a checkpoint.
fn save_state(runs: &mut [E2Run], probe: &Probe) -> Result<Vec<u8>, Halt> {
    let mut w = StateWriter::new();
    w.stream(&probe.rng);
    let mut methods = Vec::with_capacity(runs.len());
    for r in runs.iter_mut() {
        methods.push(MethodState {
            name: r.method.name().to_string(),
            snap: r.net.snapshot(&mut r.opt)?,
            rng: r.rng.clone(),
            loss_sum: r.loss_sum,
            loss_n: r.loss_n,
            points: r.acc.clone(),
        });
    }
    w.methods(&methods);
    Ok(w.into_bytes())
}

/// The state of [`save_state`] put back. Each run takes the saved run of its method, or the
/// only saved run where a fork trains one method from a checkpoint of one other method (the
/// end-to-end network switched to decomposition).
fn load_state(runs: &mut [E2Run], probe: &mut Probe, bytes: &[u8]) -> Result<(), String> {
    let mut r = StateReader::new(bytes);
    probe.rng = r.stream()?;
    let saved = r.methods()?;
    if !r.is_done() {
        return Err("bytes left over after E2's state".into());
    }
    let n = runs.len();
    for run in runs.iter_mut() {
        let s = method_state(&saved, run.method.name(), n, "network")?;
        run.net
            .restore(&mut run.opt, &s.snap)
            .map_err(|e| e.to_string())?;
        run.rng = s.rng.clone();
        (run.loss_sum, run.loss_n) = (s.loss_sum, s.loss_n);
        run.acc = s.points.clone();
    }
    Ok(())
}

/// The methods' runs, each from the same initial network, and the fixed test set.
fn setup(p: &Params, seed: u64) -> Result<(Vec<E2Run>, Tuples), Halt> {
    let k = p.usize("k");
    let kind = optim_kind(p, p.float("lr"))?;
    let cfg = LineNetConfig {
        k,
        channels: p.usize("channels"),
        n2_width: p.usize("n2_width"),
        ..LineNetConfig::paper(k)
    };
    let net0 = LineNet::new(cfg, &mut stream(seed, INIT))?;
    let test = sample_tuples(&mut stream(seed, TEST), p.usize("test_size"), k);
    let runs = methods(p)
        .into_iter()
        .map(|(method, prefix)| E2Run {
            method,
            prefix,
            net: net0.duplicate(),
            opt: Optimizer::new(kind),
            rng: stream(seed, TRAIN + method as u64),
            steps: match method {
                Method::EndToEnd => p.int("steps_e2e") as u64,
                Method::Decomposition => p.int("steps_dec") as u64,
            },
            loss_sum: 0.0,
            loss_n: 0,
            acc: Vec::new(),
        })
        .collect();
    Ok((runs, test))
}

/// Trains the methods side by side, each for its own number of steps: from step 0, or from
/// the step of the checkpoint `restore`.
fn train(
    p: &Params,
    runs: &mut [E2Run],
    test: &Tuples,
    total: u64,
    probe: &mut Probe,
    restore: Option<Restore>,
    ctx: &mut dyn Ctx,
) -> Result<(), Halt> {
    let (k, batch) = (p.usize("k"), p.usize("batch"));
    let first = match restore {
        Some(r) => {
            r.resume(total, ctx, |s| load_state(runs, probe, s))?;
            after_step(p, runs, test, probe, r.step, ctx)?;
            r.step + 1
        }
        None => {
            for r in runs.iter_mut() {
                r.evaluate(0, test, ctx)?;
            }
            if probe.n > 0 {
                probe.run(runs, &vec![true; runs.len()], 0, ctx)?;
            }
            1
        }
    };
    for step in first..=total {
        let mut reported = 0.0;
        for r in runs.iter_mut() {
            if step <= r.steps {
                reported += r.train_step(batch, k)?;
            }
        }
        ctx.step_saving(step, total, reported, &mut || save_state(runs, probe))?;
        after_step(p, runs, test, probe, step, ctx)?;
    }
    Ok(())
}

/// What follows a training step: each run's evaluation and the SNR probe, when due.
fn after_step(
    p: &Params,
    runs: &mut [E2Run],
    test: &Tuples,
    probe: &mut Probe,
    step: u64,
    ctx: &mut dyn Ctx,
) -> Result<(), Halt> {
    let eval_every = p.int("eval_every") as u64;
    let mut due = vec![false; runs.len()];
    for (i, r) in runs.iter_mut().enumerate() {
        if step > r.steps {
            continue;
        }
        let last = step == r.steps;
        if step.is_multiple_of(eval_every) || last {
            r.evaluate(step, test, ctx)?;
            r.report_loss(step, ctx);
        }
        due[i] = snr_due(p, step, eval_every, last);
    }
    if due.iter().any(|d| *d) {
        probe.run(runs, &due, step, ctx)?;
    }
    Ok(())
}

/// The final and best accuracy of each method, and the figure of their curves.
fn finish(runs: &[E2Run], k: usize, total: u64, ctx: &mut dyn Ctx) -> Summary {
    let mut summary = Summary::default();
    let mut series = Vec::new();
    for r in runs {
        let last = r.acc.last().map(|a| a.1).unwrap_or(f64::NAN);
        let best = r.acc.iter().map(|a| a.1).fold(0.0f64, f64::max);
        summary
            .set(&format!("{}test_accuracy", r.prefix), last)
            .set(&format!("{}best_accuracy", r.prefix), best);
        ctx.log(&format!(
            "{}: final accuracy {last:.3}, best {best:.3}",
            r.method.name()
        ));
        series.push((
            r.method.name().to_string(),
            r.acc.iter().map(|&(s, a)| (s as f64, a)).collect(),
        ));
    }
    ctx.figure(
        total,
        Figure::Curves {
            title: format!("E2: accuracy on the primary label, k = {k}"),
            x_label: "iteration".into(),
            y_label: "test accuracy".into(),
            series,
        },
    );
    summary
}
