//! E5: no training, the facts the other experiments of part 3 rest on: Lemma 1's inverse of
//! `W`, the growth of cond(W^T W) in n, and the conditioning of the 3-tap rows before and after
//! whitening.

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::curves::{
    check_curves, dist_of, example_curves, sample_curves, xy, CurveDist, Curves, CURVES,
    CURVES_HELP, TRAIN_STREAM,
};
use super::matrices::{
    cond_exponent, eigenvalues, lemma1_residual, row_covariance, sym_cond, to_row_major_f32,
    w_conditioning, whitened_covariance, whitening_matrix,
};
use crate::experiments::ctx::{Ctx, Figure, Halt, Summary};
use crate::spec::{ParamDef, Params};

pub(super) fn params() -> Vec<ParamDef> {
    vec![
        ParamDef::int_list(
            "ns",
            &[25, 50, 100, 200],
            4,
            1000,
            12,
            "curve lengths n for the cond(W^T W) table",
        ),
        ParamDef::choice("curves", "patterns", CURVES, CURVES_HELP),
        ParamDef::int(
            "n",
            100,
            8,
            1000,
            "samples per curve for the row covariance",
        ),
        ParamDef::int("k", 3, 1, 10, "pieces (kinks) per curve; patterns needs 3"),
        ParamDef::int(
            "train_size",
            10_000,
            10,
            1_000_000,
            "curves in the training set",
        ),
    ]
}

pub(super) fn validate(p: &Params) -> Result<(), String> {
    check_curves(p)
}

pub(super) fn run(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let ns: Vec<usize> = p.int_list("ns").iter().map(|&v| v as usize).collect();
    let dist = dist_of(p)?;
    let n = p.usize("n");
    let mut s = Summary::default();
    let total = ns.len() as u64 + 2;

    let res = lemma1_residual(n);
    ctx.log(&format!(
        "Lemma 1 at n = {n}: max |W W^-1 - I| = {res:e} with W^-1 the [1,-2,1] band"
    ));
    s.set("lemma1_residual", res);
    w_table(&ns, total, &mut s, ctx)?;
    row_covariance_part(p, seed, dist, total, &mut s, ctx)?;
    if let Some(ex) = example_curves(dist, n, p.usize("k")) {
        ctx.figure(total, examples_figure(&ex, dist));
    }
    ctx.step(total, total, 0.0)?;
    Ok(s)
}

/// The singular values of `W` and cond(W^T W) for every n of `ns`, and the exponent of its
/// growth in n.
fn w_table(ns: &[usize], total: u64, s: &mut Summary, ctx: &mut dyn Ctx) -> Result<(), Halt> {
    let mut table = Vec::new();
    for (i, &m) in ns.iter().enumerate() {
        let c = w_conditioning(m);
        ctx.metric(m as u64, "cond_wtw", c.cond_wtw());
        ctx.metric(m as u64, "s_max", c.s_max);
        ctx.metric(m as u64, "s_min", c.s_min);
        ctx.log(&format!(
            "n = {m:4}: S1 = {:.4e}, Sn = {:.4}, S1/Sn = {:.4e}, cond(W^T W) = {:.4e}",
            c.s_max,
            c.s_min,
            c.s_max / c.s_min,
            c.cond_wtw()
        ));
        s.set(&format!("cond_wtw_n{m}"), c.cond_wtw());
        table.push(c);
        let pts: Vec<(f64, f64)> = table
            .iter()
            .map(|c| ((c.n as f64).log10(), c.cond_wtw().log10()))
            .collect();
        ctx.figure(
            m as u64,
            Figure::Curves {
                title: "E5: log10 cond(W^T W) against log10 n".into(),
                x_label: "log10 n".into(),
                y_label: "log10 cond".into(),
                series: vec![("cond(W^T W)".into(), pts)],
            },
        );
        ctx.step(i as u64 + 1, total, 0.0)?;
    }
    if table.len() >= 2 {
        let slope = cond_exponent(&table);
        ctx.log(&format!(
            "cond(W^T W) grows like n^{slope:.2} (Theorem 3: Omega(n^3.5))"
        ));
        s.set("cond_exponent", slope);
    }
    Ok(())
}

/// The covariance of the 3-tap rows over a training set, before and after whitening.
fn row_covariance_part(
    p: &Params,
    seed: u64,
    dist: CurveDist,
    total: u64,
    s: &mut Summary,
    ctx: &mut dyn Ctx,
) -> Result<(), Halt> {
    let (n, k) = (p.usize("n"), p.usize("k"));
    let mut rng = StdRng::seed_from_u64(seed ^ TRAIN_STREAM);
    let train = sample_curves(dist, n, k, p.usize("train_size"), &mut rng);
    s.set("mean_f2", train.mean_f2())
        .set("mean_p2", train.mean_p2());
    ctx.log(&format!(
        "{} curves ({}), n = {n}, k = {k}: E f^2 = {:.1}, E p_j^2 = {:.4}, max |f| = {:.1}",
        train.count,
        dist.name(),
        train.mean_f2(),
        train.mean_p2(),
        train.f.iter().fold(0.0f32, |m, v| m.max(v.abs()))
    ));
    let c = row_covariance(&train);
    let e = eigenvalues(&c);
    let cond = sym_cond(&c);
    ctx.log(&format!(
        "row covariance C of [f_t, f_t-1, f_t-2]: eigenvalues {:.4e}, {:.4e}, {:.4e}; cond = {cond:.4e}",
        e[0], e[1], e[2]
    ));
    s.set("row_cov_cond", cond);
    ctx.step(total - 1, total, 0.0)?;
    let m = whitening_matrix(&c).map_err(Halt::Failed)?;
    let wc = sym_cond(&whitened_covariance(&train, &to_row_major_f32(&m)));
    ctx.log(&format!(
        "after whitening with C^-1/2 (as f32): cond = {wc:.6}"
    ));
    s.set("whitened_cond", wc);
    Ok(())
}

fn examples_figure(ex: &Curves, dist: CurveDist) -> Figure {
    let series = (0..2)
        .map(|i| {
            (
                format!("curve {}", ["A", "B"][i]),
                xy(&ex.f_row(i).iter().map(|&v| v as f64).collect::<Vec<_>>()),
            )
        })
        .collect();
    Figure::Curves {
        title: format!("E5: the two example curves ({})", dist.name()),
        x_label: "x".into(),
        y_label: "f(x)".into(),
        series,
    }
}
