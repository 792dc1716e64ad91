//! The training core of part 4: one method trained on the setup, evaluated on the fixed test
//! set, with its gradient probe and figures, and the numbers on where its errors lie. E10 runs
//! it for the four methods in turn, E11-E14 for one each.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::model::{evaluate, Eval, Hyper, Method, Model, Prediction};
use super::setup::{DataRng, Samples, Setup, PROBE_SALT};
use super::state::Progress;
use crate::experiments::ctx::{Ctx, Figure, Halt, Restore};
use crate::experiments::state::StateReader;
use crate::nn::Optimizer;

/// Test points shown in the figure: those within this distance of b* (the paper's zoom).
pub const FIGURE_HALF_WIDTH: f64 = 0.33;
/// At most this many test points in a figure.
pub const FIGURE_POINTS: usize = 1000;
/// An error "lies next to a step" when the true r is within this distance of a jump.
pub const NEAR_STEP: f64 = 0.01;

/// Where a method's metrics go: plain names in its own experiment, `e1x/name` in E10.
pub(super) struct Out<'a> {
    pub(super) ctx: &'a mut dyn Ctx,
    pub(super) prefix: String,
    /// Added to this method's step numbers for progress (E10 runs methods one after another).
    pub(super) offset: u64,
    pub(super) total: u64,
    /// Written before the method's own state in each of its checkpoints (E10: the methods it
    /// finished before this one).
    pub(super) head: Vec<u8>,
}

impl Out<'_> {
    fn name(&self, metric: &str) -> String {
        format!("{}{metric}", self.prefix)
    }

    fn metric(&mut self, step: u64, metric: &str, v: f64) {
        let name = self.name(metric);
        self.ctx.metric(step, &name, v);
    }
}

/// Everything a method's run ends with.
pub(super) struct MethodResult {
    pub(super) summary: Vec<(String, f64)>,
    pub(super) notes: Vec<String>,
    /// Figure series: (r, label, output) for the test points near b*.
    pub(super) figure: Points,
    pub(super) train_time: Duration,
    pub(super) probe_time: Duration,
}

/// Figure data: (r, label, output) per test point.
pub(super) type Points = Vec<(f64, f64, f64)>;

/// Test points near b*, sorted by r: (r, label, output).
fn figure_points(test: &Samples, pred: &Prediction, b_star: f64) -> Points {
    let mut pts: Vec<(f64, f64, f64)> = test
        .r
        .iter()
        .zip(&test.y)
        .zip(&pred.output)
        .filter(|((r, _), _)| (**r - b_star).abs() <= FIGURE_HALF_WIDTH)
        .take(FIGURE_POINTS)
        .map(|((&r, &y), &o)| (r, y as f64, o as f64))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts
}

/// What every evaluation of a method looks at: the test set and the probe samples.
struct Bench<'a> {
    method: Method,
    setup: &'a Setup,
    test: &'a Samples,
    probe: Option<Samples>,
}

impl Bench<'_> {
    /// The test-set numbers and the gradient probe at `step`.
    fn evaluate(
        &self,
        step: u64,
        model: &Model,
        out: &mut Out<'_>,
        probe_time: &mut Duration,
    ) -> Result<(Eval, Prediction), Halt> {
        let pred = model.predict(self.method, self.setup, self.test)?;
        let e = evaluate(model, &pred, self.setup, self.test);
        out.metric(step, "wrong_level", e.wrong_level);
        out.metric(step, "mse", e.mse);
        out.metric(step, "mae", e.mae);
        if let Some((cos, db, ratio)) = e.linear {
            out.metric(step, "cos_w_vstar", cos);
            out.metric(step, "b_minus_bstar", db);
            out.metric(step, "w_norm_ratio", ratio);
        }
        if let Some(p) = &self.probe {
            let t = Instant::now();
            let snr = model.snr(self.method, p)?;
            *probe_time += t.elapsed();
            out.metric(step, "grad_snr", snr.total.snr());
            out.metric(step, "grad_norm", snr.total.signal_plugin.sqrt());
            for (block, s) in &snr.blocks {
                out.metric(step, &format!("grad_snr/{block}"), s.snr());
            }
        }
        Ok((e, pred))
    }
}

/// How a method's training ended.
struct Trained {
    last: Eval,
    last_pred: Prediction,
    train_time: Duration,
    probe_time: Duration,
}

pub(super) fn train_method(
    method: Method,
    setup: &Setup,
    h: &Hyper,
    test: &Samples,
    seed: u64,
    out: &mut Out<'_>,
    resume: Option<(&Restore, &mut StateReader<'_>)>,
) -> Result<MethodResult, Halt> {
    let mut model = Model::new(
        method,
        setup,
        h,
        &mut StdRng::seed_from_u64(seed ^ method.salt()),
    );
    let rng = DataRng::new(seed ^ method.salt());
    let probe = (h.probe >= 2).then(|| {
        setup.sample(
            &mut DataRng::new(seed ^ method.salt() ^ PROBE_SALT),
            h.probe,
        )
    });
    out.ctx.log(&format!(
        "{} ({}): b* = {:.4}, {} steps, batch {}, {:?}",
        method.id(),
        method.label(),
        setup.b_star,
        h.steps,
        h.batch,
        h.kind
    ));
    let bench = Bench {
        method,
        setup,
        test,
        probe,
    };
    let t = train(&bench, h, &mut model, rng, out, resume)?;
    let (summary, notes) = error_summary(method, setup, test, &t.last, &t.last_pred);
    for line in &notes {
        out.ctx.log(line);
    }
    if bench.probe.is_some() {
        out.ctx.log(&format!(
            "{}: gradient probe took {:.0} ms against {:.0} ms of training ({:.1}%)",
            method.id(),
            t.probe_time.as_secs_f64() * 1e3,
            t.train_time.as_secs_f64() * 1e3,
            100.0 * t.probe_time.as_secs_f64() / t.train_time.as_secs_f64().max(1e-9)
        ));
    }
    Ok(MethodResult {
        summary,
        notes,
        figure: figure_points(test, &t.last_pred, setup.b_star),
        train_time: t.train_time,
        probe_time: t.probe_time,
    })
}

/// The training loop, on fresh samples at every step, from step 0 or from the checkpoint in
/// `resume` (the method's state is what is left of its reader); a single method's run also
/// draws its figure about ten times.
fn train(
    bench: &Bench<'_>,
    h: &Hyper,
    model: &mut Model,
    rng: DataRng,
    out: &mut Out<'_>,
    resume: Option<(&Restore, &mut StateReader<'_>)>,
) -> Result<Trained, Halt> {
    let (method, setup) = (bench.method, bench.setup);
    let mut opt = Optimizer::new(h.kind);
    let mut times = Times::default();
    let evals = h.steps.div_ceil(h.eval_every).max(1);
    let figure_every = evals.div_ceil(10).max(1);
    let (first, mut t) = match resume {
        Some((r, reader)) => {
            let step = r.step.saturating_sub(out.offset);
            if step > h.steps {
                return Err(r.bad(format!("it is at step {step} of {}", h.steps)));
            }
            let t = Progress::load(reader, model, &mut opt).map_err(|e| r.bad(e))?;
            if !reader.is_done() {
                return Err(r.bad(format!("bytes left over after {}'s state", method.id())));
            }
            out.ctx.log(&format!(
                "{}: continuing from the checkpoint of step {step}",
                method.id()
            ));
            let mut t = t;
            after_step(bench, h, model, &mut t, step, figure_every, out, &mut times)?;
            (step + 1, t)
        }
        None => {
            let (last, last_pred) = bench.evaluate(0, model, out, &mut times.probe)?;
            let t = Progress {
                rng,
                loss_sum: 0.0,
                loss_n: 0,
                eval_count: 0,
                last,
                last_pred,
            };
            (1, t)
        }
    };
    for step in first..=h.steps {
        let start = Instant::now();
        let batch = setup.sample(&mut t.rng, h.batch);
        let loss = model.train_step(method, &batch, &mut opt)? as f64;
        times.train += start.elapsed();
        t.loss_sum += loss;
        t.loss_n += 1;
        let head = &out.head;
        out.ctx
            .step_saving(out.offset + step, out.total, loss, &mut || {
                t.save(head, model, &mut opt)
            })?;
        after_step(bench, h, model, &mut t, step, figure_every, out, &mut times)?;
    }
    Ok(Trained {
        last: t.last,
        last_pred: t.last_pred,
        train_time: times.train,
        probe_time: times.probe,
    })
}

/// Time spent in training steps and in the gradient probe.
#[derive(Default)]
struct Times {
    train: Duration,
    probe: Duration,
}

/// What follows a training step: the evaluation when due, and the figure of a single
/// method's run at every `figure_every`-th evaluation and at the end.
#[allow(clippy::too_many_arguments)]
fn after_step(
    bench: &Bench<'_>,
    h: &Hyper,
    model: &Model,
    t: &mut Progress,
    step: u64,
    figure_every: u64,
    out: &mut Out<'_>,
    times: &mut Times,
) -> Result<(), Halt> {
    if step.is_multiple_of(h.eval_every) || step == h.steps {
        out.metric(step, "train_loss", t.loss_sum / t.loss_n.max(1) as f64);
        (t.loss_sum, t.loss_n) = (0.0, 0);
        let (e, p) = bench.evaluate(step, model, out, &mut times.probe)?;
        t.eval_count += 1;
        if out.prefix.is_empty() && (t.eval_count.is_multiple_of(figure_every) || step == h.steps) {
            let pts = figure_points(bench.test, &p, bench.setup.b_star);
            out.ctx
                .figure(step, single_figure(bench.method, bench.setup, h, &pts));
        }
        (t.last, t.last_pred) = (e, p);
    }
    Ok(())
}

/// The final numbers of a method, and notes on where its errors lie: how many test points are
/// on the wrong level, and how close to a jump in r they are.
fn error_summary(
    method: Method,
    setup: &Setup,
    test: &Samples,
    last: &Eval,
    last_pred: &Prediction,
) -> (Vec<(String, f64)>, Vec<String>) {
    let dists: Vec<f64> = last_pred
        .level
        .iter()
        .zip(&test.level)
        .zip(&test.r)
        .filter(|((a, b), _)| a != b)
        .map(|(_, &r)| setup.stair.boundary_distance(r))
        .collect();
    let errors = dists.len();
    let near = dists.iter().filter(|&&d| d <= NEAR_STEP).count();
    let max_dist = dists.iter().cloned().fold(f64::NAN, f64::max);
    let med = crate::stats::median(&dists);
    let abs_err: Vec<f64> = last_pred
        .output
        .iter()
        .zip(&test.y)
        .map(|(&o, &y)| ((o - y) as f64).abs())
        .collect();
    let m = abs_err.len().max(1) as f64;
    let off_001 = abs_err.iter().filter(|&&e| e > 0.01).count() as f64 / m;
    let off_005 = abs_err.iter().filter(|&&e| e > 0.05).count() as f64 / m;
    let max_err = abs_err.iter().cloned().fold(0.0, f64::max);
    let mut summary = vec![
        ("wrong_level".to_string(), last.wrong_level),
        ("mse".to_string(), last.mse),
        ("rmse".to_string(), last.mse.sqrt()),
        ("mae".to_string(), last.mae),
        ("errors".to_string(), errors as f64),
        ("off_0.01".to_string(), off_001),
        ("off_0.05".to_string(), off_005),
        ("max_abs_err".to_string(), max_err),
        ("b_star".to_string(), setup.b_star),
    ];
    let mut notes = Vec::new();
    if errors > 0 {
        let frac_near = near as f64 / errors as f64;
        summary.push(("err_near_step".into(), frac_near));
        summary.push(("err_step_dist_median".into(), med));
        summary.push(("err_step_dist_max".into(), max_dist));
        notes.push(format!(
            "{}: {errors} of {} test points on the wrong level; {:.1}% of them within {NEAR_STEP} \
             of a jump in r (median distance {med:.5}, largest {max_dist:.5})",
            method.id(),
            test.len(),
            100.0 * frac_near
        ));
    } else {
        notes.push(format!(
            "{}: every one of the {} test points on the right level",
            method.id(),
            test.len()
        ));
    }
    if let Some((cos, db, ratio)) = last.linear {
        summary.push(("cos_w_vstar".into(), cos));
        summary.push(("b_minus_bstar".into(), db));
        summary.push(("w_norm_ratio".into(), ratio));
    }
    (summary, notes)
}

fn figure_title(method: Method) -> String {
    format!(
        "{}: {} output and the label u(r), test points near b* sorted by r",
        method.id(),
        method.label()
    )
}

fn single_figure(method: Method, setup: &Setup, h: &Hyper, pts: &[(f64, f64, f64)]) -> Figure {
    let mut series = vec![
        (
            "label u(r)".to_string(),
            pts.iter().map(|p| (p.0, p.1)).collect(),
        ),
        (
            format!("{} output", method.label()),
            pts.iter().map(|p| (p.0, p.2)).collect(),
        ),
    ];
    if method == Method::Surrogate {
        series.push((
            "surrogate at the true r".to_string(),
            pts.iter()
                .map(|p| (p.0, setup.stair.surrogate(p.0, h.sharpness)))
                .collect(),
        ));
    }
    Figure::Curves {
        title: figure_title(method),
        x_label: "r = v*.x + b*".into(),
        y_label: "y".into(),
        series,
    }
}
