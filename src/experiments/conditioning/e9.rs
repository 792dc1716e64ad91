//! E9: a deep autoencoder of the curves, 100-500-100-2k-100-100-100, with the capacity to
//! represent them exactly, that smooths their kinks away.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::curves::{dist_of, pwl_data, Curves, CURVES, CURVES_HELP, INIT_STREAM};
use super::fit::{curve_errors, curves_figure, figure_curves, Batches, CurveErrors, Timing};
use super::OPT_HELP;
use crate::experiments::common::{optimizer, OPTIMIZERS_ADAM_FIRST as OPTIMIZERS};
use crate::experiments::ctx::{Ctx, Halt, Summary};
use crate::experiments::state::{StateReader, StateWriter};
use crate::nn::{Activation, Loss, Mlp, Optimizer, Snr, SnrReport};
use crate::spec::{ParamDef, Params};

pub(super) fn params() -> Vec<ParamDef> {
    vec![
        ParamDef::choice("curves", "continuous", CURVES, CURVES_HELP),
        ParamDef::int(
            "n",
            100,
            8,
            400,
            "samples per curve (input and output width)",
        ),
        ParamDef::int("k", 3, 1, 10, "pieces per curve; the code is 2k wide"),
        ParamDef::int(
            "train_size",
            10_000,
            10,
            200_000,
            "curves in the fixed training set (batches drawn with replacement)",
        ),
        ParamDef::int(
            "val_size",
            1000,
            10,
            100_000,
            "curves in the validation set",
        ),
        ParamDef::choice("optimizer", "adam", OPTIMIZERS, OPT_HELP),
        ParamDef::positive("lr", 1e-3, 10.0, "learning rate"),
        ParamDef::int("batch", 100, 1, 10_000, "curves per step"),
        ParamDef::int("steps", 10_000, 1, 10_000_000, "training iterations"),
        ParamDef::int(
            "eval_every",
            250,
            1,
            1_000_000,
            "iterations between evaluations (metrics, figure, gradient SNR)",
        ),
        ParamDef::int(
            "probe",
            16,
            2,
            1024,
            "training curves in the gradient-SNR probe (per-sample gradients)",
        ),
    ]
}

/// Layer names of the autoencoder, for the per-layer gradient SNR.
const E9_LAYERS: [&str; 6] = ["enc1", "enc2", "enc3", "dec1", "dec2", "dec3"];

/// The autoencoder's layer sizes: n -> 500 -> 100 -> 2k -> 100 -> 100 -> n.
pub fn e9_sizes(n: usize, k: usize) -> Vec<usize> {
    vec![n, 500, 100, 2 * k, 100, 100, n]
}

/// SNR of layer `k`'s weights and bias together: signals and noises add over disjoint blocks.
fn layer_snr(rep: &SnrReport, k: usize) -> f64 {
    let get = |name: String| rep.blocks.iter().find(|(n, _)| *n == name).map(|b| b.1);
    match (get(format!("layer{k}.w")), get(format!("layer{k}.b"))) {
        (Some(w), Some(b)) => Snr {
            signal: w.signal + b.signal,
            noise: w.noise + b.noise,
            signal_plugin: w.signal_plugin + b.signal_plugin,
        }
        .snr(),
        _ => f64::NAN,
    }
}

/// How many of the `width` code units (after the encoder's ReLU) are positive on at least one
/// validation curve.
fn active_code_units(net: &Mlp, val: &Curves, width: usize) -> Result<usize, Halt> {
    let encoder = Mlp::from_weights(net.weights()[..3].to_vec(), Activation::Relu)?;
    let code = encoder.forward(&val.f, val.count)?;
    Ok((0..width)
        .filter(|&j| (0..val.count).any(|i| code[i * width + j] > 0.0))
        .count())
}

/// What every evaluation of a run looks at: the validation curves, the example curves of the
/// figure and the probe batch.
struct Bench {
    n: usize,
    k: usize,
    val: Curves,
    examples: Curves,
    probe: usize,
    probe_x: Vec<f32>,
}

impl Bench {
    /// Validation errors, the active code units, the gradient SNR and the figure, at `step`.
    fn evaluate(
        &self,
        net: &Mlp,
        step: u64,
        loss_avg: Option<f64>,
        timing: &mut Timing,
        ctx: &mut dyn Ctx,
    ) -> Result<CurveErrors, Halt> {
        let out = net.forward(&self.val.f, self.val.count)?;
        let out: Vec<f64> = out.iter().map(|&v| v as f64).collect();
        let e = curve_errors(&self.val, &out, &self.val.f, false);
        if let Some(l) = loss_avg {
            ctx.metric(step, "train_loss", l);
        }
        ctx.metric(step, "val_mse", e.mse);
        ctx.metric(step, "val_curve_rmse", e.curve_rmse);
        ctx.metric(step, "val_max_err_mean", e.max_err_mean);
        let active = active_code_units(net, &self.val, 2 * self.k)?;
        ctx.metric(step, "code_units_active", active as f64);
        let t = Instant::now();
        let rep = net.gradient_snr(&self.probe_x, self.probe, Loss::Mse(&self.probe_x))?;
        timing.probe += t.elapsed();
        timing.probes += 1;
        ctx.metric(step, "grad_snr", rep.total.snr());
        for (k, name) in E9_LAYERS.iter().enumerate() {
            ctx.metric(step, &format!("grad_snr_{name}"), layer_snr(&rep, k + 1));
        }
        if self.examples.count == 2 {
            let o = net.forward(&self.examples.f, self.examples.count)?;
            let decoded: Vec<Vec<f64>> = o
                .chunks(self.n)
                .map(|c| c.iter().map(|&v| v as f64).collect())
                .collect();
            ctx.figure(step, curves_figure("E9", step, &self.examples, &decoded));
        }
        Ok(e)
    }
}

pub(super) fn run(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let dist = dist_of(p)?;
    let (n, k) = (p.usize("n"), p.usize("k"));
    let probe = p.usize("probe");
    let (train, val) = pwl_data(dist, n, k, p.usize("train_size"), p.usize("val_size"), seed);
    let sizes = e9_sizes(n, k);
    let mut init_rng = StdRng::seed_from_u64(seed ^ INIT_STREAM);
    let mut net = Mlp::new(&sizes, Activation::Relu, &mut init_rng);
    let mut opt = optimizer(p)?;
    let sizes_txt: Vec<String> = sizes.iter().map(|s| s.to_string()).collect();
    ctx.log(&format!(
        "E9: {} curves, n = {n}, k = {k}, E f^2 = {:.1}; autoencoder {} (ReLU after every layer \
         but the last), {} parameters; {} lr {}, batch {}, {} steps",
        dist.name(),
        train.mean_f2(),
        sizes_txt.join("-"),
        net.num_params(),
        p.str("optimizer"),
        p.float("lr"),
        p.usize("batch"),
        p.int("steps")
    ));
    let bench = Bench {
        n,
        k,
        examples: figure_curves(dist, n, k, &val),
        probe_x: train.f[..probe * n].to_vec(),
        val,
        probe,
    };
    let mut s = Summary::default();
    s.set("mean_f2", bench.val.mean_f2());
    let Trained {
        last,
        active0,
        timing,
    } = train_e9(p, seed, &mut net, &mut opt, &train, &bench, ctx)?;
    timing.log(probe, ctx);
    ctx.log(&format!(
        "E9: validation MSE {:.4} (E f^2 = {:.1}), decoded RMSE {:.4}, mean per-curve max error {:.4}",
        last.mse,
        bench.val.mean_f2(),
        last.curve_rmse,
        last.max_err_mean
    ));
    let active = active_code_units(&net, &bench.val, 2 * k)?;
    ctx.log(&format!(
        "E9: {active} of the {} code units are active on some validation curve ({active0} at \
         the start); a unit at zero gets no gradient from the curves it is zero on",
        2 * k
    ));
    s.set("val_mse", last.mse)
        .set("val_curve_rmse", last.curve_rmse)
        .set("val_max_err_mean", last.max_err_mean)
        .set("code_units_active", active as f64);
    Ok(s)
}

/// How training ended.
struct Trained {
    last: CurveErrors,
    /// Active code units at initialisation.
    active0: usize,
    timing: Timing,
}

/// What training changes besides the network: the batch stream, the loss since the last
/// evaluation and the last evaluation (a checkpoint holds them with the network).
struct Progress {
    batches: Batches,
    loss_sum: f64,
    loss_n: u64,
    last: CurveErrors,
}

impl Progress {
    fn save(&self, net: &Mlp, opt: &mut Optimizer) -> Result<Vec<u8>, Halt> {
        let mut w = StateWriter::new();
        w.snapshot(&net.snapshot(opt)?);
        self.batches.save(&mut w);
        w.f64(self.loss_sum).u64(self.loss_n);
        self.last.save(&mut w);
        Ok(w.into_bytes())
    }

    fn load(&mut self, net: &mut Mlp, opt: &mut Optimizer, bytes: &[u8]) -> Result<(), String> {
        let mut r = StateReader::new(bytes);
        let snap = r.snapshot()?;
        net.restore(opt, &snap).map_err(|e| e.to_string())?;
        self.batches.load(&mut r)?;
        self.loss_sum = r.f64()?;
        self.loss_n = r.u64()?;
        self.last = CurveErrors::load(&mut r)?;
        if !r.is_done() {
            return Err("bytes left over after E9's state".into());
        }
        Ok(())
    }
}

/// The training loop: the autoencoder reconstructs each batch of curves; from step 0, or from
/// the step of the checkpoint the context hands back.
fn train_e9(
    p: &Params,
    seed: u64,
    net: &mut Mlp,
    opt: &mut Optimizer,
    train: &Curves,
    bench: &Bench,
    ctx: &mut dyn Ctx,
) -> Result<Trained, Halt> {
    let batch = p.usize("batch");
    let steps = p.int("steps") as u64;
    let eval_every = p.int("eval_every") as u64;
    let mut timing = Timing::default();
    // of the network at initialisation, before a checkpoint is put back
    let active0 = active_code_units(net, &bench.val, 2 * bench.k)?;
    let mut t = Progress {
        batches: Batches::new(seed, batch, bench.n, false),
        loss_sum: 0.0,
        loss_n: 0,
        last: CurveErrors::default(),
    };
    let due = |step: u64| step.is_multiple_of(eval_every) || step == steps;
    let first = match ctx.restore() {
        Some(r) => {
            r.resume(steps, ctx, |s| t.load(net, opt, s))?;
            if due(r.step) {
                let avg = Some(t.loss_sum / t.loss_n.max(1) as f64);
                t.last = bench.evaluate(net, r.step, avg, &mut timing, ctx)?;
                (t.loss_sum, t.loss_n) = (0.0, 0);
            }
            r.step + 1
        }
        None => {
            t.last = bench.evaluate(net, 0, None, &mut timing, ctx)?;
            1
        }
    };
    for step in first..=steps {
        t.batches.draw(train, false);
        let x = &t.batches.x;
        let start = Instant::now();
        let loss = net.train_step(x, batch, Loss::Mse(x), opt)? as f64;
        timing.train += start.elapsed();
        t.loss_sum += loss;
        t.loss_n += 1;
        ctx.step_saving(step, steps, loss, &mut || t.save(net, opt))?;
        if due(step) {
            let avg = Some(t.loss_sum / t.loss_n as f64);
            t.last = bench.evaluate(net, step, avg, &mut timing, ctx)?;
            (t.loss_sum, t.loss_n) = (0.0, 0);
        }
    }
    Ok(Trained {
        last: t.last,
        active0,
        timing,
    })
}
