//! E4: the "portfolio" toy. A softmax over k stocks learns which stock each one-hot input stands
//! for, from the end-to-end estimator (the returns z) or the decomposition one (the stock's
//! label); both are unbiased gradients of the same loss, and their exact SNR at initialisation
//! is k apart.

use crate::experiments::state::{method_state, MethodState, StateReader, StateWriter, Stream};

use super::method::{methods, stream, Method, INIT, METHODS, METHOD_HELP, PROBE, TEST, TRAIN};
use super::portfolio::{portfolio_batch, portfolio_init_snr, stock_labels};
use crate::experiments::common::{
    emit_snr, optim_kind, snr_due, snr_params, OPTIMIZERS, OPT_HELP_PAPER,
};
use crate::experiments::ctx::{Ctx, Figure, Halt, Restore, Summary};
use crate::nn::{OptimKind, Optimizer, PortfolioTarget, SoftmaxPolicy};
use crate::spec::{ParamDef, Params};

pub(super) fn params() -> Vec<ParamDef> {
    vec![
        ParamDef::int(
            "d",
            1000,
            1,
            1_000_000,
            "inputs: the one-hot vectors e_1 .. e_d",
        ),
        ParamDef::int("k", 1000, 2, 1_000_000, "stocks (outputs of the softmax)"),
        ParamDef::choice("method", "both", METHODS, METHOD_HELP),
        ParamDef::choice("optimizer", "adam99", OPTIMIZERS, OPT_HELP_PAPER),
        ParamDef::positive("lr", 0.1, 100.0, "learning rate"),
        ParamDef::int("batch", 100, 1, 1_000_000, "fresh samples per step"),
        ParamDef::int("steps", 2500, 1, 100_000_000, "training iterations"),
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
            1,
            10_000_000,
            "fresh samples (fresh returns) per evaluation of the primary loss",
        ),
        ParamDef::int_list(
            "snr_ks",
            &[2, 10, 100, 1000, 2000],
            2,
            1_000_000,
            16,
            "k values for the exact SNR of both estimators at initialisation",
        ),
        ParamDef::choice(
            "snr_probe",
            "exact",
            &["exact", "sampled"],
            "exact: the SNR over the whole input distribution and all returns (cheap here: one softmax per input); sampled: from snr_samples fresh samples",
        ),
    ]
    .into_iter()
    .chain(snr_params(1000))
    .collect()
}

pub(super) fn validate(p: &Params) -> Result<(), String> {
    let d = p.usize("d");
    for k in std::iter::once(p.usize("k")).chain(p.int_list("snr_ks").iter().map(|&k| k as usize)) {
        if d.saturating_mul(k) > 50_000_000 {
            return Err(format!(
                "d x k = {d} x {k} weights is too many (at most 50,000,000)"
            ));
        }
    }
    Ok(())
}

/// One method's training: its copy of the policy, optimizer and data stream.
struct E4Run {
    method: Method,
    prefix: &'static str,
    policy: SoftmaxPolicy,
    opt: Optimizer,
    rng: Stream,
    loss_sum: f64,
    loss_n: u64,
    losses: Vec<(u64, f64)>,
}

/// The task of a run: k stocks, and the stock tied to each input.
struct Market {
    k: usize,
    stock_of: Vec<usize>,
}

impl E4Run {
    /// One step on a fresh batch: the returns for end-to-end, the labels for decomposition.
    fn train_step(&mut self, market: &Market, batch: usize) -> Result<f64, Halt> {
        let e2e = self.method == Method::EndToEnd;
        let b = portfolio_batch(&mut self.rng, batch, &market.stock_of, market.k, e2e);
        let target = if e2e {
            PortfolioTarget::Returns(&b.returns)
        } else {
            PortfolioTarget::Labels(&b.labels)
        };
        let loss = self.policy.train_step(&b.idx, target, &mut self.opt)? as f64;
        self.loss_sum += loss;
        self.loss_n += 1;
        Ok(loss)
    }
}

/// The gradient SNR probe: exact over the whole distribution, or on fresh samples from its own
/// stream.
struct Probe {
    exact: bool,
    n: usize,
    rng: Stream,
}

impl Probe {
    fn run(
        &mut self,
        runs: &[E4Run],
        market: &Market,
        step: u64,
        ctx: &mut dyn Ctx,
    ) -> Result<(), Halt> {
        if self.exact {
            for r in runs {
                let (e2e, dec) = r.policy.population_snr(&market.stock_of)?;
                let report = match r.method {
                    Method::EndToEnd => e2e,
                    Method::Decomposition => dec,
                };
                emit_snr(ctx, step, r.prefix, &report);
            }
            return Ok(());
        }
        let b = portfolio_batch(&mut self.rng, self.n, &market.stock_of, market.k, true);
        for r in runs {
            let target = match r.method {
                Method::EndToEnd => PortfolioTarget::Returns(&b.returns),
                Method::Decomposition => PortfolioTarget::Labels(&b.labels),
            };
            let report = r.policy.gradient_snr(&b.idx, target)?;
            emit_snr(ctx, step, r.prefix, &report);
        }
        Ok(())
    }
}

pub(super) fn run(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let (d, k) = (p.usize("d"), p.usize("k"));
    let kind = optim_kind(p, p.float("lr"))?;
    let mut summary = Summary::default();
    let restore = ctx.restore();
    // a resumed run has its initial SNR in its files already: computed again for the summary
    init_snr(p, seed, &mut summary, restore.is_none(), ctx)?;
    let market = Market {
        k,
        stock_of: stock_labels(&mut stream(seed, TEST + 100), d, k),
    };
    let mut runs = setup(p, seed, kind)?;
    ctx.log(&format!(
        "E4: d = {d}, k = {k}, {} lr {}, batch {}, {} steps; primary loss on {} fresh samples every {}",
        p.str("optimizer"),
        p.float("lr"),
        p.usize("batch"),
        p.int("steps"),
        p.usize("eval_samples"),
        p.int("eval_every")
    ));
    let mut probe = Probe {
        exact: p.str("snr_probe") == "exact",
        n: p.usize("snr_samples"),
        rng: stream(seed, PROBE),
    };
    train(p, seed, &mut runs, &market, &mut probe, restore, ctx)?;
    finish(&runs, &mut summary, d, k, p.int("steps") as u64, ctx);
    Ok(summary)
}

/// The exact SNR of both estimators at a fresh initialisation for every k in `snr_ks`, with
/// its figure.
fn init_snr(
    p: &Params,
    seed: u64,
    summary: &mut Summary,
    emit: bool,
    ctx: &mut dyn Ctx,
) -> Result<(), Halt> {
    let d = p.usize("d");
    let snr_ks: Vec<usize> = p.int_list("snr_ks").iter().map(|&k| k as usize).collect();
    if snr_ks.is_empty() {
        return Ok(());
    }
    let mut rng = stream(seed, PROBE + 100);
    let (mut e2e_pts, mut dec_pts) = (Vec::new(), Vec::new());
    for &kk in &snr_ks {
        let (e, dd) = portfolio_init_snr(&mut rng, d, kk)?;
        summary.set(&format!("init_ratio_k{kk}"), dd / e);
        if !emit {
            continue;
        }
        let step = kk as u64;
        ctx.metric(step, "init/snr_e2e", e);
        ctx.metric(step, "init/snr_dec", dd);
        ctx.metric(step, "init/snr_ratio", dd / e);
        ctx.log(&format!(
            "at initialisation, k = {kk}: exact SNR decomposition {dd:.3e}, end-to-end {e:.3e}, ratio {:.1}",
            dd / e
        ));
        e2e_pts.push(((kk as f64).log10(), e.log10()));
        dec_pts.push(((kk as f64).log10(), dd.log10()));
    }
    if !emit {
        return Ok(());
    }
    ctx.figure(
        0,
        Figure::Curves {
            title: format!("E4: exact SNR of the two estimators at initialisation, d = {d}"),
            x_label: "log10 k".into(),
            y_label: "log10 SNR".into(),
            series: vec![
                ("end-to-end".into(), e2e_pts),
                ("decomposition".into(), dec_pts),
            ],
        },
    );
    Ok(())
}

/// The methods' runs, each from the same initial policy.
fn setup(p: &Params, seed: u64, kind: OptimKind) -> Result<Vec<E4Run>, Halt> {
    let policy0 = SoftmaxPolicy::new(p.usize("d"), p.usize("k"), &mut stream(seed, INIT))?;
    Ok(methods(p)
        .into_iter()
        .map(|(method, prefix)| E4Run {
            method,
            prefix,
            policy: policy0.duplicate(),
            opt: Optimizer::new(kind),
            rng: stream(seed, TRAIN + method as u64),
            loss_sum: 0.0,
            loss_n: 0,
            losses: Vec::new(),
        })
        .collect())
}

/// The primary loss of every run on one fresh batch (fresh returns).
fn evaluate(
    runs: &mut [E4Run],
    market: &Market,
    eval_n: usize,
    step: u64,
    rng: &mut Stream,
    ctx: &mut dyn Ctx,
) -> Result<(), Halt> {
    let b = portfolio_batch(rng, eval_n, &market.stock_of, market.k, true);
    for r in runs.iter_mut() {
        let loss = r
            .policy
            .loss(&b.idx, PortfolioTarget::Returns(&b.returns))?;
        ctx.metric(step, &format!("{}test_loss", r.prefix), loss);
        if r.loss_n > 0 {
            ctx.metric(
                step,
                &format!("{}train_loss", r.prefix),
                r.loss_sum / r.loss_n as f64,
            );
        }
        (r.loss_sum, r.loss_n) = (0.0, 0);
        r.losses.push((step, loss));
    }
    Ok(())
}

/// The state of every method's run, the evaluation stream and the probe, as bytes for a
/// checkpoint.
fn save_state(runs: &mut [E4Run], eval_rng: &Stream, probe: &Probe) -> Result<Vec<u8>, Halt> {
    let mut w = StateWriter::new();
    w.stream(eval_rng).stream(&probe.rng);
    let mut methods = Vec::with_capacity(runs.len());
    for r in runs.iter_mut() {
        methods.push(MethodState {
            name: r.method.name().to_string(),
            snap: r.policy.snapshot(&mut r.opt)?,
            rng: r.rng.clone(),
            loss_sum: r.loss_sum,
            loss_n: r.loss_n,
            points: r.losses.clone(),
        });
    }
    w.methods(&methods);
    Ok(w.into_bytes())
}

/// The state of [`save_state`] put back; each run takes the saved run of its method, or the
/// only saved run where a fork switches one method to the other.
fn load_state(
    runs: &mut [E4Run],
    eval_rng: &mut Stream,
    probe: &mut Probe,
    bytes: &[u8],
) -> Result<(), String> {
    let mut r = StateReader::new(bytes);
    *eval_rng = r.stream()?;
    probe.rng = r.stream()?;
    let saved = r.methods()?;
    if !r.is_done() {
        return Err("bytes left over after E4's state".into());
    }
    let n = runs.len();
    for run in runs.iter_mut() {
        let s = method_state(&saved, run.method.name(), n, "policy")?;
        run.policy
            .restore(&mut run.opt, &s.snap)
            .map_err(|e| e.to_string())?;
        run.rng = s.rng.clone();
        (run.loss_sum, run.loss_n) = (s.loss_sum, s.loss_n);
        run.losses = s.points.clone();
    }
    Ok(())
}

/// Trains the methods side by side: from step 0, or from the step of the checkpoint
/// `restore`.
fn train(
    p: &Params,
    seed: u64,
    runs: &mut [E4Run],
    market: &Market,
    probe: &mut Probe,
    restore: Option<Restore>,
    ctx: &mut dyn Ctx,
) -> Result<(), Halt> {
    let batch = p.usize("batch");
    let steps = p.int("steps") as u64;
    let eval_every = p.int("eval_every") as u64;
    let eval_n = p.usize("eval_samples");
    let mut eval_rng = stream(seed, TEST);
    let after_step = |runs: &mut [E4Run],
                      eval_rng: &mut Stream,
                      probe: &mut Probe,
                      step: u64,
                      ctx: &mut dyn Ctx|
     -> Result<(), Halt> {
        if step.is_multiple_of(eval_every) || step == steps {
            evaluate(runs, market, eval_n, step, eval_rng, ctx)?;
        }
        if snr_due(p, step, eval_every, step == steps) {
            probe.run(runs, market, step, ctx)?;
        }
        Ok(())
    };
    let first = match restore {
        Some(r) => {
            r.resume(steps, ctx, |s| load_state(runs, &mut eval_rng, probe, s))?;
            after_step(runs, &mut eval_rng, probe, r.step, ctx)?;
            r.step + 1
        }
        None => {
            evaluate(runs, market, eval_n, 0, &mut eval_rng, ctx)?;
            if probe.n > 0 {
                probe.run(runs, market, 0, ctx)?;
            }
            1
        }
    };
    for step in first..=steps {
        let mut reported = 0.0;
        for r in runs.iter_mut() {
            reported += r.train_step(market, batch)?;
        }
        ctx.step_saving(step, steps, reported, &mut || {
            save_state(runs, &eval_rng, probe)
        })?;
        after_step(runs, &mut eval_rng, probe, step, ctx)?;
    }
    Ok(())
}

/// The final primary loss of each method, and the figure of their curves.
fn finish(
    runs: &[E4Run],
    summary: &mut Summary,
    d: usize,
    k: usize,
    steps: u64,
    ctx: &mut dyn Ctx,
) {
    let mut series = Vec::new();
    for r in runs {
        let last = r.losses.last().map(|l| l.1).unwrap_or(f64::NAN);
        summary.set(&format!("{}test_loss", r.prefix), last);
        ctx.log(&format!(
            "{}: final primary loss {last:.3}",
            r.method.name()
        ));
        series.push((
            r.method.name().to_string(),
            r.losses.iter().map(|&(s, l)| (s as f64, l)).collect(),
        ));
    }
    ctx.figure(
        steps,
        Figure::Curves {
            title: format!("E4: primary loss -z.N(x), d = {d}, k = {k}"),
            x_label: "iteration".into(),
            y_label: "loss".into(),
            series,
        },
    );
}
