//! The four methods of part 4 and their models: a linear score through the surrogate or the
//! exact staircase, a regression MLP, a classifier; their training step, predictions, gradient
//! SNR and test-set numbers.

use rand::rngs::StdRng;

use super::setup::{cosine, Samples, Setup};
use crate::experiments::common::optim_kind;
use crate::experiments::ctx::Halt;
use crate::nn::{
    Activation, Head, LinearScore, Loss, Mlp, OptimKind, Optimizer, Snr, SnrReport, PAPER_SHARPNESS,
};
use crate::spec::Params;

/// The four methods of part 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// E11: linear score, sum-of-sigmoids surrogate.
    Surrogate,
    /// E12: regression MLP.
    Regression,
    /// E13: one class per level.
    Classifier,
    /// E14: linear score, exact staircase, straight-through backward.
    ForwardOnly,
}

impl Method {
    pub const ALL: [Method; 4] = [
        Method::Surrogate,
        Method::Regression,
        Method::Classifier,
        Method::ForwardOnly,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Method::Surrogate => "E11",
            Method::Regression => "E12",
            Method::Classifier => "E13",
            Method::ForwardOnly => "E14",
        }
    }

    /// Metric prefix in E10.
    pub fn prefix(self) -> &'static str {
        match self {
            Method::Surrogate => "e11",
            Method::Regression => "e12",
            Method::Classifier => "e13",
            Method::ForwardOnly => "e14",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Method::Surrogate => "sum of sigmoids",
            Method::Regression => "regression MLP",
            Method::Classifier => "classifier",
            Method::ForwardOnly => "forward-only",
        }
    }

    pub(super) fn salt(self) -> u64 {
        match self {
            Method::Surrogate => 0x0e11_5151_0000_0011,
            Method::Regression => 0x0e12_7e67_0000_0012,
            Method::Classifier => 0x0e13_c1a5_0000_0013,
            Method::ForwardOnly => 0x0e14_f0f0_0000_0014,
        }
    }
}

/// Settings of one method's training.
#[derive(Debug, Clone)]
pub(super) struct Hyper {
    pub(super) kind: OptimKind,
    pub(super) steps: u64,
    pub(super) batch: usize,
    pub(super) eval_every: u64,
    pub(super) probe: usize,
    pub(super) b_init: f32,
    pub(super) sharpness: f64,
    pub(super) width: usize,
}

pub(super) enum Model {
    Linear(LinearScore),
    Net(Mlp),
}

impl Model {
    pub(super) fn new(method: Method, setup: &Setup, h: &Hyper, rng: &mut StdRng) -> Self {
        let n = setup.n;
        match method {
            Method::Surrogate => Model::Linear(LinearScore::new(
                n,
                setup.stair.clone(),
                Head::Surrogate {
                    sharpness: h.sharpness,
                },
                h.b_init,
                rng,
            )),
            Method::ForwardOnly => Model::Linear(LinearScore::new(
                n,
                setup.stair.clone(),
                Head::StraightThrough,
                h.b_init,
                rng,
            )),
            Method::Regression => Model::Net(Mlp::new(
                &[n, h.width, h.width, h.width, 1],
                Activation::Relu,
                rng,
            )),
            Method::Classifier => Model::Net(Mlp::new(
                &[n, h.width, h.width, setup.stair.num_levels()],
                Activation::Relu,
                rng,
            )),
        }
    }

    pub(super) fn train_step(
        &mut self,
        method: Method,
        s: &Samples,
        opt: &mut Optimizer,
    ) -> Result<f32, Halt> {
        let b = s.len();
        Ok(match self {
            Model::Linear(m) => m.train_step(&s.x, &s.y, b, opt)?,
            Model::Net(m) => {
                if method == Method::Classifier {
                    m.train_step(&s.x, b, Loss::SoftmaxCrossEntropy(&s.level), opt)?
                } else {
                    m.train_step(&s.x, b, Loss::Mse(&s.y), opt)?
                }
            }
        })
    }

    /// Outputs and predicted levels on `s`.
    pub(super) fn predict(
        &self,
        method: Method,
        setup: &Setup,
        s: &Samples,
    ) -> Result<Prediction, Halt> {
        let b = s.len();
        let stair = &setup.stair;
        Ok(match self {
            Model::Linear(m) => {
                let output = m.forward(&s.x, b)?;
                let level = output
                    .iter()
                    .map(|&o| stair.nearest_level(o as f64))
                    .collect();
                Prediction { output, level }
            }
            Model::Net(m) => {
                let out = m.forward(&s.x, b)?;
                if method == Method::Classifier {
                    let k = m.outputs();
                    let level: Vec<usize> = out
                        .chunks(k)
                        .map(|row| {
                            row.iter()
                                .enumerate()
                                .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                                    if v > best.1 {
                                        (i, v)
                                    } else {
                                        best
                                    }
                                })
                                .0
                        })
                        .collect();
                    let output = level.iter().map(|&l| stair.levels()[l] as f32).collect();
                    Prediction { output, level }
                } else {
                    let level = out.iter().map(|&o| stair.nearest_level(o as f64)).collect();
                    Prediction { output: out, level }
                }
            }
        })
    }

    /// Gradient SNR of the training loss on the probe samples; MLP blocks are whole layers.
    pub(super) fn snr(&self, method: Method, s: &Samples) -> Result<SnrReport, Halt> {
        let b = s.len();
        Ok(match self {
            Model::Linear(m) => m.gradient_snr(&s.x, &s.y, b)?,
            Model::Net(m) => {
                let r = if method == Method::Classifier {
                    m.gradient_snr(&s.x, b, Loss::SoftmaxCrossEntropy(&s.level))?
                } else {
                    m.gradient_snr(&s.x, b, Loss::Mse(&s.y))?
                };
                // one block per layer: its weights and biases together
                let mut layers: Vec<(String, Snr)> = Vec::new();
                for (name, snr) in r.blocks {
                    let layer = name.split('.').next().unwrap_or(&name).to_string();
                    match layers.last_mut() {
                        Some((l, acc)) if *l == layer => *acc = acc.combine(&snr),
                        _ => layers.push((layer, snr)),
                    }
                }
                SnrReport {
                    total: r.total,
                    blocks: layers,
                }
            }
        })
    }
}

pub(super) struct Prediction {
    pub(super) output: Vec<f32>,
    pub(super) level: Vec<usize>,
}

/// Test-set numbers of one evaluation.
#[derive(Debug, Clone, Default)]
pub(super) struct Eval {
    pub(super) wrong_level: f64,
    pub(super) mse: f64,
    pub(super) mae: f64,
    /// Linear models: cos(w, v*), b - b*, |w| / |v*|.
    pub(super) linear: Option<(f64, f64, f64)>,
}

pub(super) fn evaluate(model: &Model, pred: &Prediction, setup: &Setup, test: &Samples) -> Eval {
    let n = test.len().max(1) as f64;
    let wrong = pred
        .level
        .iter()
        .zip(&test.level)
        .filter(|(a, b)| a != b)
        .count();
    let (mut se, mut ae) = (0.0, 0.0);
    for (&o, &y) in pred.output.iter().zip(&test.y) {
        let e = (o - y) as f64;
        se += e * e;
        ae += e.abs();
    }
    let linear = match model {
        Model::Linear(m) => {
            let w: Vec<f64> = m.w().iter().map(|&v| v as f64).collect();
            let nw = w.iter().map(|v| v * v).sum::<f64>().sqrt();
            let nv = setup.v_star.iter().map(|v| v * v).sum::<f64>().sqrt();
            Some((
                cosine(&w, &setup.v_star),
                m.b() as f64 - setup.b_star,
                nw / nv,
            ))
        }
        Model::Net(_) => None,
    };
    Eval {
        wrong_level: wrong as f64 / n,
        mse: se / n,
        mae: ae / n,
        linear,
    }
}

/// A method's settings from an experiment's parameters, at learning rate `lr` for `steps`
/// steps; a parameter the experiment lacks takes its default.
pub(super) fn hyper(p: &Params, lr: f64, steps: u64) -> Result<Hyper, Halt> {
    let kind = optim_kind(p, lr)?;
    let get_f = |name: &str, default: f64| p.get(name).map(|_| p.float(name)).unwrap_or(default);
    Ok(Hyper {
        kind,
        steps,
        batch: p.usize("batch"),
        eval_every: p.int("eval_every") as u64,
        probe: p.usize("probe"),
        b_init: get_f("b_init", 0.0) as f32,
        sharpness: get_f("sharpness", PAPER_SHARPNESS),
        width: p.get("width").map(|_| p.usize("width")).unwrap_or(100),
    })
}
