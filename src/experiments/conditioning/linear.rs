//! E6, E7 and E8: three linear models that learn the encoding `p` from the curve `f`, all with
//! the same runner: a full `n x n` map (E6, badly conditioned), a 3-tap convolution (E7, the
//! right architecture, still slow), and that convolution on whitened rows (E8, fast and exact).

use std::time::Instant;

use super::curves::{decode, dist_of, pwl_data, Curves, CURVES, CURVES_HELP, TARGET_FILTER};
use super::fit::{
    curve_errors, curves_figure, figure_curves, gather_batch, Batches, CurveErrors, Timing,
};
use super::matrices::{
    eigenvalues, row_covariance, sym_cond, to_row_major_f32, w_conditioning, w_inverse,
    whitened_covariance, whitening_matrix,
};
use super::OPT_HELP;
use crate::experiments::common::{optimizer, OPTIMIZERS_ADAM_FIRST as OPTIMIZERS};
use crate::experiments::ctx::{Ctx, Halt, Summary};
use crate::experiments::state::{StateReader, StateWriter};
use crate::nn::{Conv1d, LinearMap, Loss, Optimizer, TrainSnapshot};
use crate::spec::{ParamDef, Params};

/// Filter-error levels whose first crossing each run records (`steps_to_err_<level>`).
pub const ERROR_LEVELS: [f64; 5] = [0.5, 0.1, 0.05, 0.02, 0.01];

fn linear_params(
    lr: f64,
    batch: i64,
    steps: i64,
    eval_every: i64,
    curves: &'static str,
) -> Vec<ParamDef> {
    vec![
        ParamDef::choice("curves", curves, CURVES, CURVES_HELP),
        ParamDef::int("n", 100, 8, 400, "samples per curve"),
        ParamDef::int("k", 3, 1, 10, "pieces (kinks) per curve; patterns needs 3"),
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
        ParamDef::positive("lr", lr, 10.0, "learning rate"),
        ParamDef::int("batch", batch, 1, 10_000, "curves per step"),
        ParamDef::int("steps", steps, 1, 10_000_000, "training iterations"),
        ParamDef::int(
            "eval_every",
            eval_every,
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

pub(super) fn e6_params() -> Vec<ParamDef> {
    linear_params(1e-4, 100, 50_000, 500, "patterns")
}

pub(super) fn e7_params() -> Vec<ParamDef> {
    linear_params(0.05, 100, 50_000, 500, "patterns")
}

pub(super) fn e8_params() -> Vec<ParamDef> {
    linear_params(0.99, 10, 500, 50, "patterns")
}

/// The three models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinKind {
    Full,
    Conv,
    Whitened,
}

enum LinModel {
    Full(LinearMap),
    Conv(Conv1d),
}

impl LinModel {
    fn train_step(
        &mut self,
        x: &[f32],
        b: usize,
        y: &[f32],
        opt: &mut Optimizer,
    ) -> Result<f32, Halt> {
        Ok(match self {
            LinModel::Full(m) => m.train_step(x, b, Loss::Mse(y), opt)?,
            LinModel::Conv(m) => m.train_step(x, b, Loss::Mse(y), opt)?,
        })
    }

    /// The encodings `p-hat` of `curves` (row-major), widened to f64 for decoding.
    fn predict(&self, curves: &Curves) -> Result<Vec<f64>, Halt> {
        let out = match self {
            LinModel::Full(m) => m.forward(&curves.f, curves.count)?,
            LinModel::Conv(m) => m.forward(&curves.f, curves.count)?,
        };
        Ok(out.iter().map(|&v| v as f64).collect())
    }

    fn snr(&self, x: &[f32], b: usize, y: &[f32]) -> Result<f64, Halt> {
        Ok(match self {
            LinModel::Full(m) => m.gradient_snr(x, b, Loss::Mse(y))?.total.snr(),
            LinModel::Conv(m) => m.gradient_snr(x, b, Loss::Mse(y))?.total.snr(),
        })
    }

    /// `max |U - W^-1|` over the matrix the model applies; for a convolution that is
    /// `max_k |v_k - [1,-2,1]_k|` of its effective filter `v`.
    fn filter_error(&self, inverse: &[f64]) -> f64 {
        match self {
            LinModel::Full(m) => m
                .weights()
                .iter()
                .zip(inverse)
                .map(|(&u, &v)| (u as f64 - v).abs())
                .fold(0.0, f64::max),
            LinModel::Conv(m) => filter_error(&m.effective_filter()),
        }
    }

    fn snapshot(&self, opt: &mut Optimizer) -> Result<TrainSnapshot, Halt> {
        Ok(match self {
            LinModel::Full(m) => m.snapshot(opt)?,
            LinModel::Conv(m) => m.snapshot(opt)?,
        })
    }

    fn restore(&mut self, opt: &mut Optimizer, s: &TrainSnapshot) -> Result<(), String> {
        match self {
            LinModel::Full(m) => m.restore(opt, s),
            LinModel::Conv(m) => m.restore(opt, s),
        }
        .map_err(|e| e.to_string())
    }

    fn filter(&self) -> Option<Vec<f64>> {
        match self {
            LinModel::Full(_) => None,
            LinModel::Conv(m) => Some(m.effective_filter()),
        }
    }
}

/// `max_k |v_k - [1,-2,1]_k|` (taps beyond the third count against 0).
pub fn filter_error(v: &[f64]) -> f64 {
    v.iter()
        .enumerate()
        .map(|(k, &w)| (w - TARGET_FILTER.get(k).copied().unwrap_or(0.0)).abs())
        .fold(0.0, f64::max)
}

/// A filter as `[w0, w1, w2]`.
pub(super) fn fmt_filter(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.4}")).collect();
    format!("[{}]", parts.join(", "))
}

/// The times to each error level that a run's summary reports when it gets there.
pub(super) fn thresholds() -> Vec<String> {
    ERROR_LEVELS.iter().map(|&l| level_name(l)).collect()
}

/// The summary metric of a level's first crossing.
pub(super) fn level_name(level: f64) -> String {
    format!("steps_to_err_{level}")
}

pub(super) fn run_e6(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    run_linear(LinKind::Full, "E6", p, seed, ctx)
}

pub(super) fn run_e7(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    run_linear(LinKind::Conv, "E7", p, seed, ctx)
}

pub(super) fn run_e8(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    run_linear(LinKind::Whitened, "E8", p, seed, ctx)
}

/// What every evaluation of a run looks at: the validation curves, the two example curves of
/// the figure, the probe batch and, for the full map, `W^-1` (row-major).
struct Bench<'a> {
    kind: LinKind,
    id: &'a str,
    n: usize,
    val: Curves,
    examples: Curves,
    probe: usize,
    probe_x: Vec<f32>,
    probe_y: Vec<f32>,
    inverse: Vec<f64>,
}

impl Bench<'_> {
    /// Validation errors, the filter, the gradient SNR and the figure, at `step`; returns the
    /// errors and `max |U - W^-1|`.
    fn evaluate(
        &self,
        model: &LinModel,
        step: u64,
        loss_avg: Option<f64>,
        timing: &mut Timing,
        ctx: &mut dyn Ctx,
    ) -> Result<(CurveErrors, f64), Halt> {
        let out = model.predict(&self.val)?;
        let e = curve_errors(&self.val, &out, &self.val.p, true);
        let err = model.filter_error(&self.inverse);
        if let Some(l) = loss_avg {
            ctx.metric(step, "train_loss", l);
        }
        ctx.metric(step, "val_mse_p", e.mse);
        ctx.metric(step, "val_curve_rmse", e.curve_rmse);
        ctx.metric(step, "val_max_err_mean", e.max_err_mean);
        ctx.metric(step, "filter_error", err);
        if let Some(v) = model.filter() {
            for (j, w) in v.iter().enumerate() {
                ctx.metric(step, &format!("w{j}"), *w);
            }
        }
        let t = Instant::now();
        let snr = model.snr(&self.probe_x, self.probe, &self.probe_y)?;
        timing.probe += t.elapsed();
        timing.probes += 1;
        ctx.metric(step, "grad_snr", snr);
        let ex_out = model.predict(&self.examples)?;
        let decoded: Vec<Vec<f64>> = ex_out.chunks(self.n).map(decode).collect();
        if self.examples.count == 2 {
            ctx.figure(step, curves_figure(self.id, step, &self.examples, &decoded));
        }
        Ok((e, err))
    }
}

/// The first step at which the filter error got to each of [`ERROR_LEVELS`].
#[derive(Debug, Default)]
struct Hits([Option<u64>; ERROR_LEVELS.len()]);

impl Hits {
    fn record(&mut self, err: f64, step: u64) {
        for (h, &level) in self.0.iter_mut().zip(&ERROR_LEVELS) {
            if h.is_none() && err <= level {
                *h = Some(step);
            }
        }
    }
}

/// How training ended.
struct Outcome {
    last: CurveErrors,
    last_err: f64,
    hits: Hits,
    timing: Timing,
}

fn run_linear(
    kind: LinKind,
    id: &str,
    p: &Params,
    seed: u64,
    ctx: &mut dyn Ctx,
) -> Result<Summary, Halt> {
    let dist = dist_of(p)?;
    let (n, k) = (p.usize("n"), p.usize("k"));
    let (train, val) = pwl_data(dist, n, k, p.usize("train_size"), p.usize("val_size"), seed);
    let mut s = Summary::default();
    ctx.log(&format!(
        "{id}: {} curves, n = {n}, k = {k}; {} training and {} validation curves; E f^2 = {:.1}, \
         E p_j^2 = {:.4}",
        dist.name(),
        train.count,
        val.count,
        train.mean_f2(),
        train.mean_p2()
    ));
    s.set("mean_p2", val.mean_p2());
    let mut model = build_model(kind, n, &train, &mut s, ctx)?;
    let mut opt = optimizer(p)?;
    ctx.log(&format!(
        "{id}: {} lr {}, batch {}, {} steps, weights start at 0",
        p.str("optimizer"),
        p.float("lr"),
        p.usize("batch"),
        p.int("steps")
    ));
    let inverse: Vec<f64> = if kind == LinKind::Full {
        let u = w_inverse(n);
        (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| u[(i, j)])
            .collect()
    } else {
        Vec::new()
    };
    let examples = figure_curves(dist, n, k, &val);
    let probe = p.usize("probe");
    let probe_idx: Vec<usize> = (0..probe).collect();
    let (mut probe_x, mut probe_y) = (Vec::new(), Vec::new());
    gather_batch(&train, &probe_idx, &mut probe_x, Some(&mut probe_y));
    let bench = Bench {
        kind,
        id,
        n,
        val,
        examples,
        probe,
        probe_x,
        probe_y,
        inverse,
    };
    let outcome = train_linear(p, seed, &mut model, &mut opt, &train, &bench, ctx)?;
    finish(p, &bench, &model, outcome, &mut s, ctx);
    Ok(s)
}

/// The model of `kind`, all weights 0, with the conditioning numbers of what it learns from.
fn build_model(
    kind: LinKind,
    n: usize,
    train: &Curves,
    s: &mut Summary,
    ctx: &mut dyn Ctx,
) -> Result<LinModel, Halt> {
    Ok(match kind {
        LinKind::Full => {
            let c = w_conditioning(n);
            ctx.log(&format!(
                "W: S1 = {:.4e}, Sn = {:.4}, cond(W^T W) = {:.4e} (Theorem 3: no better than \
                 0.5 from W^-1 before ~{:.1e} GD steps)",
                c.s_max,
                c.s_min,
                c.cond_wtw(),
                c.cond_wtw() / 2.0
            ));
            s.set("cond_wtw", c.cond_wtw());
            // loss: batch mean of the per-curve sum over the n coordinates
            LinModel::Full(LinearMap::zeros(n, n).with_loss_scale(n as f32)?)
        }
        LinKind::Conv | LinKind::Whitened => {
            let c = row_covariance(train);
            let e = eigenvalues(&c);
            let cond = sym_cond(&c);
            ctx.log(&format!(
                "row covariance C: eigenvalues {:.4e}, {:.4e}, {:.4e}; cond(C) = {cond:.4e}",
                e[0], e[1], e[2]
            ));
            s.set("row_cov_cond", cond);
            let conv = Conv1d::zeros(3);
            if kind == LinKind::Whitened {
                let m = whitening_matrix(&c).map_err(Halt::Failed)?;
                let m32 = to_row_major_f32(&m);
                let wc = sym_cond(&whitened_covariance(train, &m32));
                ctx.log(&format!("whitened rows F C^-1/2: cond = {wc:.6}"));
                s.set("whitened_cond", wc);
                LinModel::Conv(conv.with_conditioner(m32)?)
            } else {
                LinModel::Conv(conv)
            }
        }
    })
}

/// What training changes besides the model: the batch stream, the loss since the last
/// evaluation, the first crossings of the error levels and the last evaluation (a checkpoint
/// holds them with the model).
struct Progress {
    batches: Batches,
    loss_sum: f64,
    loss_n: u64,
    hits: Hits,
    last: CurveErrors,
    last_err: f64,
}

impl Progress {
    fn save(&self, model: &LinModel, opt: &mut Optimizer) -> Result<Vec<u8>, Halt> {
        let mut w = StateWriter::new();
        w.snapshot(&model.snapshot(opt)?);
        self.batches.save(&mut w);
        w.f64(self.loss_sum).u64(self.loss_n);
        for h in &self.hits.0 {
            w.opt_u64(*h);
        }
        self.last.save(&mut w);
        w.f64(self.last_err);
        Ok(w.into_bytes())
    }

    fn load(
        &mut self,
        model: &mut LinModel,
        opt: &mut Optimizer,
        bytes: &[u8],
    ) -> Result<(), String> {
        let mut r = StateReader::new(bytes);
        let snap = r.snapshot()?;
        model.restore(opt, &snap)?;
        self.batches.load(&mut r)?;
        self.loss_sum = r.f64()?;
        self.loss_n = r.u64()?;
        for h in self.hits.0.iter_mut() {
            *h = r.opt_u64()?;
        }
        self.last = CurveErrors::load(&mut r)?;
        self.last_err = r.f64()?;
        if !r.is_done() {
            return Err("bytes left over after the linear model's state".into());
        }
        Ok(())
    }

    /// The evaluation at `step` where one is due.
    fn evaluate(
        &mut self,
        model: &LinModel,
        bench: &Bench<'_>,
        step: u64,
        timing: &mut Timing,
        ctx: &mut dyn Ctx,
    ) -> Result<(), Halt> {
        let avg = Some(self.loss_sum / self.loss_n.max(1) as f64);
        let (e, err) = bench.evaluate(model, step, avg, timing, ctx)?;
        if bench.kind == LinKind::Full {
            self.hits.record(err, step);
        }
        (self.loss_sum, self.loss_n) = (0.0, 0);
        (self.last, self.last_err) = (e, err);
        Ok(())
    }
}

/// The training loop, from step 0 or from the step of the checkpoint the context hands back.
/// A convolution's filter error (three numbers) is followed at every step, the full map's at
/// the evaluations.
fn train_linear(
    p: &Params,
    seed: u64,
    model: &mut LinModel,
    opt: &mut Optimizer,
    train: &Curves,
    bench: &Bench<'_>,
    ctx: &mut dyn Ctx,
) -> Result<Outcome, Halt> {
    let batch = p.usize("batch");
    let steps = p.int("steps") as u64;
    let eval_every = p.int("eval_every") as u64;
    let mut timing = Timing::default();
    let mut t = Progress {
        batches: Batches::new(seed, batch, bench.n, true),
        loss_sum: 0.0,
        loss_n: 0,
        hits: Hits::default(),
        last: CurveErrors::default(),
        last_err: 0.0,
    };
    let due = |step: u64| step.is_multiple_of(eval_every) || step == steps;
    let first = match ctx.restore() {
        Some(r) => {
            r.resume(steps, ctx, |s| t.load(model, opt, s))?;
            if due(r.step) {
                t.evaluate(model, bench, r.step, &mut timing, ctx)?;
            }
            r.step + 1
        }
        None => {
            (t.last, t.last_err) = bench.evaluate(model, 0, None, &mut timing, ctx)?;
            1
        }
    };
    for step in first..=steps {
        t.batches.draw(train, true);
        let start = Instant::now();
        let loss = model.train_step(&t.batches.x, batch, &t.batches.y, opt)? as f64;
        timing.train += start.elapsed();
        t.loss_sum += loss;
        t.loss_n += 1;
        if bench.kind != LinKind::Full {
            // three numbers: cheap enough to follow every step
            t.hits.record(model.filter_error(&bench.inverse), step);
        }
        ctx.step_saving(step, steps, loss, &mut || t.save(model, opt))?;
        if due(step) {
            t.evaluate(model, bench, step, &mut timing, ctx)?;
        }
    }
    Ok(Outcome {
        last: t.last,
        last_err: t.last_err,
        hits: t.hits,
        timing,
    })
}

/// The summary and the closing log lines.
fn finish(
    p: &Params,
    bench: &Bench<'_>,
    model: &LinModel,
    outcome: Outcome,
    s: &mut Summary,
    ctx: &mut dyn Ctx,
) {
    let id = bench.id;
    let steps = p.int("steps") as u64;
    let Outcome {
        last,
        last_err,
        hits,
        timing,
    } = outcome;
    timing.log(bench.probe, ctx);
    s.set("val_mse_p", last.mse)
        .set("val_curve_rmse", last.curve_rmse)
        .set("val_max_err_mean", last.max_err_mean)
        .set("filter_error", last_err);
    if let Some(v) = model.filter() {
        for (j, w) in v.iter().enumerate() {
            s.set(&format!("w{j}"), *w);
        }
        ctx.log(&format!(
            "{id}: effective filter {} after {steps} steps (target [1, -2, 1])",
            fmt_filter(&v)
        ));
    }
    let resolution = if bench.kind == LinKind::Full {
        format!(" (checked every {} steps)", p.int("eval_every"))
    } else {
        String::new()
    };
    for (h, &level) in hits.0.iter().zip(&ERROR_LEVELS) {
        match h {
            Some(step) => {
                s.set(&level_name(level), *step as f64);
                ctx.log(&format!(
                    "{id}: filter error <= {level} first at step {step}{resolution}"
                ));
            }
            None => {
                s.note(format!(
                    "filter error never reached {level} in {steps} steps{resolution}"
                ));
            }
        }
    }
    ctx.log(&format!(
        "{id}: validation MSE on p {:.4e} (E p^2 = {:.4}), max |U - W^-1| = {last_err:.4e}, \
         decoded curves: RMSE {:.4e}, mean per-curve max error {:.4e}",
        last.mse,
        bench.val.mean_p2(),
        last.curve_rmse,
        last.max_err_mean
    ));
}
