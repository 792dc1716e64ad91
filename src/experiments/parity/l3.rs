//! L3: the network of Lemma 3, a ReLU layer of width 3(d/2+1) that computes any parity, checked
//! on every input.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::experiments::common::sign_accuracy;
use crate::experiments::ctx::{Ctx, Halt, Summary};
use crate::nn::{Activation, LayerWeights, Mlp};
use crate::spec::{ParamDef, Params};

pub(super) fn params() -> Vec<ParamDef> {
    vec![
        ParamDef::int("d_min", 2, 1, 20, "smallest d"),
        ParamDef::int("d_max", 12, 1, 20, "largest d (all 2^d inputs are checked)"),
        ParamDef::int("trials", 5, 1, 1000, "random v* per d"),
    ]
}

/// The network of Lemma 3 for the parity with support `v` (inputs in {0,1}^d), with the e = 0
/// triad the paper's construction needs: triads at every even e in 0..=d with input weights v,
/// biases -(e - 1/2), -e, -(e + 1/2) and output weights 4, -8, 4; output bias -1.
pub fn lemma3_network(v: &[bool]) -> Result<Mlp, Halt> {
    let d = v.len();
    let evens: Vec<usize> = (0..=d).step_by(2).collect();
    let width = 3 * evens.len();
    let mut w1 = vec![0.0f32; d * width];
    let mut b1 = vec![0.0f32; width];
    let mut w2 = vec![0.0f32; width];
    for (t, &e) in evens.iter().enumerate() {
        let e = e as f32;
        for (u, (bias, out)) in [(-(e - 0.5), 4.0), (-e, -8.0), (-(e + 0.5), 4.0)]
            .into_iter()
            .enumerate()
        {
            let unit = 3 * t + u;
            for i in 0..d {
                w1[i * width + unit] = if v[i] { 1.0 } else { 0.0 };
            }
            b1[unit] = bias;
            w2[unit] = out;
        }
    }
    Ok(Mlp::from_weights(
        vec![
            LayerWeights {
                inputs: d,
                outputs: width,
                w: w1,
                b: b1,
            },
            LayerWeights {
                inputs: width,
                outputs: 1,
                w: w2,
                b: vec![-1.0],
            },
        ],
        Activation::Relu,
    )?)
}

/// Accuracy of [`lemma3_network`] on all 2^d inputs of {0,1}^d, against (-1)^<x, v>.
pub fn lemma3_accuracy(v: &[bool]) -> Result<f64, Halt> {
    let d = v.len();
    let n = 1usize << d;
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for idx in 0..n {
        let mut s = 0;
        for (i, &vi) in v.iter().enumerate() {
            let bit = (idx >> i) & 1;
            x.push(bit as f32);
            if vi && bit == 1 {
                s += 1;
            }
        }
        y.push(if s % 2 == 0 { 1.0 } else { -1.0 });
    }
    let net = lemma3_network(v)?;
    Ok(sign_accuracy(&net.forward(&x, n)?, &y))
}

pub(super) fn run(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let (d_min, d_max, trials) = (p.usize("d_min"), p.usize("d_max"), p.usize("trials"));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut worst = 1.0f64;
    for d in d_min..=d_max {
        let mut worst_d = 1.0f64;
        for _ in 0..trials {
            let v: Vec<bool> = (0..d).map(|_| rng.gen()).collect();
            worst_d = worst_d.min(lemma3_accuracy(&v)?);
        }
        ctx.metric(d as u64, "accuracy", worst_d);
        ctx.log(&format!(
            "d = {d:2}: width {:3}, worst accuracy over {trials} random v*: {worst_d:.4}",
            3 * (d / 2 + 1)
        ));
        worst = worst.min(worst_d);
        ctx.step((d - d_min + 1) as u64, (d_max - d_min + 1) as u64, 0.0)?;
    }
    let mut s = Summary::default();
    s.set("accuracy", worst);
    Ok(s)
}
