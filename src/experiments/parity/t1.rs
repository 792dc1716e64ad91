//! T1: the exact variance of the hinge-loss gradient over all 2^d parity targets, for random
//! initialisations, against Theorem 1's bound G^2/2^d.

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::width_of;
use crate::experiments::common::least_squares_slope;
use crate::experiments::ctx::{Ctx, Figure, Halt, Summary};
use crate::nn::{Activation, Loss, Mlp};
use crate::spec::{ParamDef, Params};

pub(super) fn params() -> Vec<ParamDef> {
    vec![
        ParamDef::int("d_min", 4, 2, 16, "smallest d"),
        ParamDef::int(
            "d_max",
            12,
            2,
            16,
            "largest d (memory grows like 2^d x 10 d^2)",
        ),
        ParamDef::int("width", 0, 0, 1024, "hidden ReLU units; 0 = 10 d, as in E1"),
        ParamDef::int("inits", 16, 1, 256, "random initialisations averaged per d"),
    ]
}

/// The exact variance of the hinge-loss gradient over the class of all 2^d parities, for one
/// network at its current weights, and the bound of Theorem 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParityVariance {
    pub d: usize,
    /// Var(H, F, w) = E_h || grad F_h - E_h' grad F_h' ||^2.
    pub var: f64,
    /// G^2 = E_x || d score / d w ||^2.
    pub g2: f64,
}

impl ParityVariance {
    pub fn bound(&self) -> f64 {
        self.g2 / (1u64 << self.d) as f64
    }

    pub fn ratio(&self) -> f64 {
        self.var / self.bound()
    }
}

/// All 2^d points of {-1, +1}^d; bit i of the index set means x_i = -1.
pub fn all_sign_inputs(d: usize) -> Vec<f32> {
    let n = 1usize << d;
    let mut x = Vec::with_capacity(n * d);
    for idx in 0..n {
        for i in 0..d {
            x.push(if (idx >> i) & 1 == 1 { -1.0 } else { 1.0 });
        }
    }
    x
}

/// In-place Walsh-Hadamard transform of `rows` (2^d rows of `width` numbers), row-wise:
/// `out[v] = sum_x (-1)^{popcount(v & x)} in[x]`.
fn walsh_hadamard_rows(data: &mut [f64], width: usize) {
    let n = data.len() / width;
    let mut h = 1;
    while h < n {
        for start in (0..n).step_by(2 * h) {
            for i in start..start + h {
                let (lo, hi) = data.split_at_mut((i + h) * width);
                let a = &mut lo[i * width..(i + 1) * width];
                let b = &mut hi[..width];
                for (x, y) in a.iter_mut().zip(b.iter_mut()) {
                    let (s, t) = (*x + *y, *x - *y);
                    *x = s;
                    *y = t;
                }
            }
        }
        h *= 2;
    }
}

/// Exact Var over all parity targets of the hinge-loss gradient of `net` (inputs in {-1,+1}^d).
///
/// For y in {-1, +1}, hinge(y s) = a(s) + y b(s) with b(s) = (hinge(s) - hinge(-s)) / 2, so
/// grad F_h = E_x[a'(s) grad s] + E_x[h(x) g(x)] with g(x) = b'(s(x)) grad s(x). The first term
/// is the same for every target and cancels in the variance; the second is the Fourier
/// coefficient of g at the parity h, which the Walsh-Hadamard transform gives for all 2^d
/// parities at once.
pub fn parity_gradient_variance(net: &Mlp, d: usize) -> Result<ParityVariance, Halt> {
    let n = 1usize << d;
    let x = all_sign_inputs(d);
    let scores = net.forward(&x, n)?;
    let grads = net.per_sample_grads(&x, n, Loss::OutputSum)?;
    let p = net.num_params();
    let g2 = grads.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / n as f64;
    // b'(s) = -(1[s < 1] + 1[s > -1]) / 2
    let bprime: Vec<f64> = scores
        .iter()
        .map(|&s| -0.5 * (f64::from(u8::from(s < 1.0)) + f64::from(u8::from(s > -1.0))))
        .collect();
    let chunk = 256usize.min(p);
    let mut sum_sq = 0.0f64; // sum_v || ghat(v) ||^2
    let mut mean_sq = 0.0f64; // || mean_v ghat(v) ||^2
    let mut buf = vec![0.0f64; n * chunk];
    let mut start = 0;
    while start < p {
        let w = chunk.min(p - start);
        for xi in 0..n {
            let row = &grads[xi * p + start..xi * p + start + w];
            for (j, &g) in row.iter().enumerate() {
                buf[xi * w + j] = bprime[xi] * g as f64 / n as f64;
            }
        }
        let data = &mut buf[..n * w];
        walsh_hadamard_rows(data, w);
        for j in 0..w {
            let mut col_sum = 0.0;
            for v in 0..n {
                let c = data[v * w + j];
                sum_sq += c * c;
                col_sum += c;
            }
            let m = col_sum / n as f64;
            mean_sq += m * m;
        }
        start += w;
    }
    Ok(ParityVariance {
        d,
        var: sum_sq / n as f64 - mean_sq,
        g2,
    })
}

/// One d: the means over the initialisations of Var and of the bound, and the smallest and
/// largest ratio of a single initialisation.
struct AtD {
    var: f64,
    bound: f64,
    single_lo: f64,
    single_hi: f64,
}

/// Averages over `inits` fresh initialisations at one d.
fn at_d(
    p: &Params,
    d: usize,
    rng: &mut StdRng,
    done: &mut u64,
    total: u64,
    ctx: &mut dyn Ctx,
) -> Result<AtD, Halt> {
    let inits = p.usize("inits");
    let width = width_of(p, d);
    let mut r = AtD {
        var: 0.0,
        bound: 0.0,
        single_lo: f64::INFINITY,
        single_hi: 0.0,
    };
    for _ in 0..inits {
        let net = Mlp::new(&[d, width, 1], Activation::Relu, rng);
        let v = parity_gradient_variance(&net, d)?;
        r.var += v.var / inits as f64;
        r.bound += v.bound() / inits as f64;
        r.single_lo = r.single_lo.min(v.ratio());
        r.single_hi = r.single_hi.max(v.ratio());
        *done += 1;
        ctx.step(*done, total, 0.0)?;
    }
    Ok(r)
}

pub(super) fn run(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let (d_min, d_max) = (p.usize("d_min"), p.usize("d_max"));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut summary = Summary::default();
    let (mut var_pts, mut bound_pts) = (Vec::new(), Vec::new());
    let mut max_single = 0.0f64;
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    let total = ((d_max - d_min + 1) * p.usize("inits")) as u64;
    let mut done = 0u64;
    for d in d_min..=d_max {
        let AtD {
            var,
            bound,
            single_lo,
            single_hi,
        } = at_d(p, d, &mut rng, &mut done, total, ctx)?;
        let ratio = var / bound;
        let step = d as u64;
        ctx.metric(step, "log2_var", var.log2());
        ctx.metric(step, "log2_bound", bound.log2());
        ctx.metric(step, "ratio", ratio);
        ctx.metric(step, "ratio_min_init", single_lo);
        ctx.metric(step, "ratio_max_init", single_hi);
        ctx.log(&format!(
            "d = {d:2}: mean Var = {var:.3e}, mean G^2/2^d = {bound:.3e}, ratio = {ratio:.4} \
             (single inits {single_lo:.3}..{single_hi:.3})"
        ));
        var_pts.push((d as f64, var.log2()));
        bound_pts.push((d as f64, bound.log2()));
        max_single = max_single.max(single_hi);
        lo = lo.min(ratio);
        hi = hi.max(ratio);
        summary.set(&format!("ratio_d{d}"), ratio);
        ctx.figure(step, figure(&var_pts, &bound_pts));
    }
    if var_pts.len() >= 2 {
        summary.set("log2_var_slope", least_squares_slope(&var_pts));
    }
    summary
        .set("max_ratio_single_init", max_single)
        .set("min_ratio", lo)
        .set("max_ratio", hi);
    Ok(summary)
}

fn figure(var_pts: &[(f64, f64)], bound_pts: &[(f64, f64)]) -> Figure {
    Figure::Curves {
        title: "T1: log2 Var of the gradient over all parities vs d".into(),
        x_label: "d".into(),
        y_label: "log2".into(),
        series: vec![
            ("exact Var".into(), var_pts.to_vec()),
            ("bound G^2/2^d".into(), bound_pts.to_vec()),
        ],
    }
}
