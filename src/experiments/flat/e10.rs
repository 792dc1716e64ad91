//! E10: the four methods of part 4 on one draw of (v*, b*) and one test set, one after another;
//! each method's numbers equal those of its own experiment (E11-E14) with the same seed.

use super::model::{hyper, Method};
use super::params::{b_init_param, eval_params, setup_params, sharpness_param, width_param};
use super::setup::Setup;
use super::train::{train_method, MethodResult, Out, Points};
use crate::experiments::common::{OPTIMIZERS, OPT_HELP_PAPER};
use crate::experiments::ctx::{Ctx, Figure, Halt, Summary};
use crate::experiments::state::{StateReader, StateWriter};
use crate::spec::{ParamDef, Params};

pub(super) fn params() -> Vec<ParamDef> {
    let mut v = setup_params();
    v.extend([b_init_param(), sharpness_param(), width_param()]);
    v.extend([
        ParamDef::choice("optimizer", "adam99", OPTIMIZERS, OPT_HELP_PAPER),
        ParamDef::positive("e11_lr", 0.01, 10.0, "learning rate of the surrogate (E11)"),
        ParamDef::positive("lr", 1e-3, 10.0, "learning rate of E12, E13 and E14"),
        ParamDef::int("batch", 256, 1, 65_536, "fresh samples per step"),
        ParamDef::int(
            "steps",
            10_000,
            1,
            100_000_000,
            "training iterations of E11, E12 and E13",
        ),
        ParamDef::int(
            "e14_steps",
            5000,
            1,
            100_000_000,
            "training iterations of the forward-only update (E14)",
        ),
    ]);
    v.extend(eval_params());
    v
}

pub(super) fn run(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let setup = Setup::from_params(p, seed);
    let test = setup.test_set(seed, p.usize("test_samples"));
    let steps = p.int("steps") as u64;
    let e14_steps = p.int("e14_steps") as u64;
    let total = 3 * steps + e14_steps;
    ctx.log(&format!(
        "E10: N = {}, b* = {:.4}{}, |v*| = {:.3}, {} levels; {} test points",
        setup.n,
        setup.b_star,
        if p.bool("fix_b_star") {
            " (fixed)"
        } else {
            " (drawn)"
        },
        setup.v_star.iter().map(|v| v * v).sum::<f64>().sqrt(),
        setup.stair.num_levels(),
        test.len()
    ));
    let mut summary = Summary::default();
    summary.set("b_star", setup.b_star);
    // a checkpoint holds the results of the methods finished before it, then the state of the
    // one it was written in
    let restore = ctx.restore();
    let mut reader = restore.as_ref().map(|r| StateReader::new(&r.state));
    let mut finished: Vec<MethodResult> = match (&restore, reader.as_mut()) {
        (Some(r), Some(rd)) => read_results(rd).map_err(|e| r.bad(e))?,
        _ => Vec::new(),
    };
    let restored = finished.len();
    if restore.is_some() && restored >= Method::ALL.len() {
        return Err(restore.as_ref().map_or_else(
            || Halt::Failed("no checkpoint".into()),
            |r| r.bad("it holds every method as finished"),
        ));
    }
    let mut resume = restore.as_ref().zip(reader.as_mut());
    let mut offset = 0;
    let mut fig_pts: Vec<(Method, Points)> = Vec::new();
    let mut table = Vec::new();
    for (i, method) in Method::ALL.into_iter().enumerate() {
        let (lr, st) = match method {
            Method::Surrogate => (p.float("e11_lr"), steps),
            Method::ForwardOnly => (p.float("lr"), e14_steps),
            _ => (p.float("lr"), steps),
        };
        if i >= restored {
            let h = hyper(p, lr, st)?;
            let mut out = Out {
                ctx: &mut *ctx,
                prefix: format!("{}/", method.prefix()),
                offset,
                total,
                head: write_results(&finished),
            };
            let r = train_method(method, &setup, &h, &test, seed, &mut out, resume.take())?;
            finished.push(r);
        }
        let r = &finished[i];
        offset += st;
        for (k, v) in &r.summary {
            if k != "b_star" {
                summary.set(&format!("{}/{k}", method.prefix()), *v);
            }
        }
        for n in &r.notes {
            summary.note(n.clone());
        }
        let get = |k: &str| {
            r.summary
                .iter()
                .find(|(n, _)| n == k)
                .map(|p| p.1)
                .unwrap_or(f64::NAN)
        };
        table.push(format!(
            "{} {:<16} {:>6} steps: wrong level {:6.2}%, MSE {:.2e}, MAE {:.4} ({:.1} s)",
            method.id(),
            method.label(),
            st,
            100.0 * get("wrong_level"),
            get("mse"),
            get("mae"),
            (r.train_time + r.probe_time).as_secs_f64()
        ));
        fig_pts.push((method, r.figure.clone()));
        if i >= restored {
            // a finished method's figure was written before the checkpoint
            ctx.figure(offset, compare_figure(&fig_pts));
        }
    }
    for line in &table {
        ctx.log(line);
    }
    Ok(summary)
}

fn compare_figure(done: &[(Method, Points)]) -> Figure {
    let mut series = Vec::new();
    if let Some((_, pts)) = done.first() {
        series.push((
            "label u(r)".to_string(),
            pts.iter().map(|p| (p.0, p.1)).collect(),
        ));
    }
    for (m, pts) in done {
        series.push((
            format!("{} {}", m.prefix(), m.label()),
            pts.iter().map(|p| (p.0, p.2)).collect(),
        ));
    }
    Figure::Curves {
        title: "E10: the four methods and the label u(r), test points near b* sorted by r".into(),
        x_label: "r = v*.x + b*".into(),
        y_label: "y".into(),
        series,
    }
}

/// The results of the finished methods, for a checkpoint.
fn write_results(done: &[MethodResult]) -> Vec<u8> {
    let mut w = StateWriter::new();
    w.u64(done.len() as u64);
    for r in done {
        w.u64(r.summary.len() as u64);
        for (k, v) in &r.summary {
            w.str(k).f64(*v);
        }
        w.u64(r.notes.len() as u64);
        for n in &r.notes {
            w.str(n);
        }
        w.u64(r.figure.len() as u64);
        for &(a, b, c) in &r.figure {
            w.f64(a).f64(b).f64(c);
        }
        w.f64(r.train_time.as_secs_f64())
            .f64(r.probe_time.as_secs_f64());
    }
    w.into_bytes()
}

/// The results [`write_results`] wrote.
fn read_results(r: &mut StateReader<'_>) -> Result<Vec<MethodResult>, String> {
    let n = r.u64()?;
    if n > Method::ALL.len() as u64 {
        return Err(format!("it names {n} finished methods, of 4"));
    }
    let time = |v: f64| std::time::Duration::try_from_secs_f64(v).unwrap_or_default();
    (0..n)
        .map(|_| {
            let k = r.u64()?;
            let summary = (0..k)
                .map(|_| Ok((r.str()?, r.f64()?)))
                .collect::<Result<Vec<_>, String>>()?;
            let k = r.u64()?;
            let notes = (0..k).map(|_| r.str()).collect::<Result<Vec<_>, _>>()?;
            let k = r.u64()?;
            let figure = (0..k)
                .map(|_| Ok((r.f64()?, r.f64()?, r.f64()?)))
                .collect::<Result<Vec<_>, String>>()?;
            Ok(MethodResult {
                summary,
                notes,
                figure,
                train_time: time(r.f64()?),
                probe_time: time(r.f64()?),
            })
        })
        .collect()
}
