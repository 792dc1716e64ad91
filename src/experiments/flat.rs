//! Part 4 of the spec (paper section 5): flat activations, E10-E14.
//!
//! The target is y = u(v*.x + b*) with u the authors' 52-level staircase (E10). Four ways to
//! learn it, each its own experiment, all on the same data:
//! - E11: a linear score through the sum-of-sigmoids surrogate ũ (MSE, Adam lr 0.01, 10k);
//! - E12: a 4-layer ReLU regression MLP (MSE, Adam lr 1e-3, 10k);
//! - E13: a 3-layer MLP classifier, one class per level (softmax cross-entropy, 10k);
//! - E14: a linear score through the exact staircase, updated with the forward-only
//!   (straight-through) gradient (Adam lr 1e-3, 5k).
//!
//! E10 runs the four on the same draw of (v*, b*) and the same test points. A method's numbers
//! in E10 equal those of its own experiment with the same seed and settings: the draw of
//! (v*, b*) and the test set come from the seed, and each method's training data and
//! initialisation from the seed and the method.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use rand_distr::StandardNormal;

use super::check::{Budget, CheckDef, CheckOutcome};
use super::common::{
    cached_run, mean, optim_kind, summary_value as metric, OPTIMIZERS, OPT_HELP_PAPER as OPT_HELP,
};
use super::ctx::{Ctx, Figure, Halt, Summary};
use super::{ExperimentDef, Family};
use crate::nn::{
    Activation, Head, LinearScore, Loss, Mlp, OptimKind, Optimizer, Snr, SnrReport, Staircase,
    PAPER_SHARPNESS,
};
use crate::spec::{ParamDef, Params};

/// Test points shown in the figure: those within this distance of b* (the paper's zoom).
pub const FIGURE_HALF_WIDTH: f64 = 0.33;
/// At most this many test points in a figure.
pub const FIGURE_POINTS: usize = 1000;
/// An error "lies next to a step" when the true r is within this distance of a jump.
pub const NEAR_STEP: f64 = 0.01;

pub fn experiments() -> Vec<ExperimentDef> {
    vec![
        ExperimentDef {
            id: "E10",
            name: "staircase: four methods compared",
            family: Family::FlatActivations,
            shows: "on one draw of (v*, b*): the surrogate (E11) stalls, the MLPs (E12, E13) are blurry at the jumps, forward-only (E14) is exact",
            params: e10_params,
            validate: validate_common,
            run: run_e10,
            main_metric: "e14/wrong_level",
        },
        ExperimentDef {
            id: "E11",
            name: "staircase: sum-of-sigmoids surrogate",
            family: Family::FlatActivations,
            shows: "a smooth surrogate of a flat activation still has ~0 gradient on the flat parts: from b = 0 it often never moves",
            params: e11_params,
            validate: validate_common,
            run: run_e11,
            main_metric: "wrong_level",
        },
        ExperimentDef {
            id: "E12",
            name: "staircase: regression MLP",
            family: Family::FlatActivations,
            shows: "an end-to-end ReLU MLP fits the staircase roughly, noisy on the flats and smeared at the jumps",
            params: e12_params,
            validate: validate_common,
            run: run_e12,
            main_metric: "mae",
        },
        ExperimentDef {
            id: "E13",
            name: "staircase: one class per level",
            family: Family::FlatActivations,
            shows: "a classifier gets most levels right but its class boundaries are blurry: every error sits next to a jump",
            params: e13_params,
            validate: validate_common,
            run: run_e13,
            main_metric: "wrong_level",
        },
        ExperimentDef {
            id: "E14",
            name: "staircase: forward-only update",
            family: Family::FlatActivations,
            shows: "forward through the exact staircase, backward as if it were the identity: exact in half the iterations",
            params: e14_params,
            validate: validate_common,
            run: run_e14,
            main_metric: "wrong_level",
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// parameters

fn setup_params() -> Vec<ParamDef> {
    vec![
        ParamDef::int("n", 100, 2, 10_000, "input dimension N; x ~ N(0, I/N^2)"),
        ParamDef::boolean(
            "fix_b_star",
            false,
            "use b_star as b*; false = draw b* ~ N(0, 1) from the seed",
        ),
        ParamDef::float(
            "b_star",
            0.0,
            -50.0,
            50.0,
            "b* when fix_b_star is true, ignored otherwise (the checks use -0.65 and 0)",
        ),
    ]
}

fn b_init_param() -> ParamDef {
    ParamDef::float(
        "b_init",
        0.0,
        -50.0,
        50.0,
        "initial bias b of the linear score (the paper's: 0)",
    )
}

fn sharpness_param() -> ParamDef {
    ParamDef::positive(
        "sharpness",
        PAPER_SHARPNESS,
        1000.0,
        "L of the surrogate: slopes c_i = 5L/step_i, centres m_i = z_i - step_i/(2L)",
    )
}

fn width_param() -> ParamDef {
    ParamDef::int("width", 100, 1, 4096, "units in each hidden ReLU layer")
}

fn training_params(lr: f64, steps: i64) -> Vec<ParamDef> {
    vec![
        ParamDef::choice("optimizer", "adam99", OPTIMIZERS, OPT_HELP),
        ParamDef::positive("lr", lr, 10.0, "learning rate"),
        ParamDef::int("batch", 256, 1, 65_536, "fresh samples per step"),
        ParamDef::int("steps", steps, 1, 100_000_000, "training iterations"),
    ]
}

fn eval_params() -> Vec<ParamDef> {
    vec![
        ParamDef::int(
            "eval_every",
            250,
            1,
            1_000_000,
            "iterations between evaluations",
        ),
        ParamDef::int(
            "test_samples",
            5000,
            100,
            1_000_000,
            "fixed test points, drawn once from the seed",
        ),
        ParamDef::int(
            "probe",
            64,
            0,
            4096,
            "samples in the per-sample gradient probe for grad_snr; 0 = off",
        ),
    ]
}

fn e10_params() -> Vec<ParamDef> {
    let mut v = setup_params();
    v.extend([b_init_param(), sharpness_param(), width_param()]);
    v.extend([
        ParamDef::choice("optimizer", "adam99", OPTIMIZERS, OPT_HELP),
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

fn e11_params() -> Vec<ParamDef> {
    let mut v = setup_params();
    v.extend([b_init_param(), sharpness_param()]);
    v.extend(training_params(0.01, 10_000));
    v.extend(eval_params());
    v
}

fn e12_params() -> Vec<ParamDef> {
    let mut v = setup_params();
    v.push(width_param());
    v.extend(training_params(1e-3, 10_000));
    v.extend(eval_params());
    v
}

fn e13_params() -> Vec<ParamDef> {
    e12_params()
}

fn e14_params() -> Vec<ParamDef> {
    let mut v = setup_params();
    v.push(b_init_param());
    v.extend(training_params(1e-3, 5000));
    v.extend(eval_params());
    v
}

fn validate_common(p: &Params) -> Result<(), String> {
    if p.usize("probe") == 1 {
        return Err(
            "probe = 1: the gradient SNR needs at least 2 samples; allowed: 0 (off) or 2..=4096"
                .into(),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// the setup (E10)

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

    fn salt(self) -> u64 {
        match self {
            Method::Surrogate => 0x0e11_5151_0000_0011,
            Method::Regression => 0x0e12_7e67_0000_0012,
            Method::Classifier => 0x0e13_c1a5_0000_0013,
            Method::ForwardOnly => 0x0e14_f0f0_0000_0014,
        }
    }
}

/// The generator of training and test inputs: xoshiro256++ (Blackman and Vigna), seeded
/// through SplitMix64. About twice as fast as `StdRng` on the 25,600 normal draws of every
/// batch, which are most of a linear model's step.
#[derive(Debug, Clone)]
pub struct DataRng([u64; 4]);

impl DataRng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self([next(), next(), next(), next()])
    }
}

impl RngCore for DataRng {
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let out = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// The target of one run: y = u(v*.x + b*), x ~ N(0, I/N^2).
#[derive(Debug, Clone)]
pub struct Setup {
    pub n: usize,
    pub v_star: Vec<f64>,
    pub b_star: f64,
    pub stair: Staircase,
}

/// Samples of the setup: inputs (row-major, f32), the true r, its level and the label u(r).
#[derive(Debug, Clone, Default)]
pub struct Samples {
    pub x: Vec<f32>,
    pub r: Vec<f64>,
    pub level: Vec<usize>,
    pub y: Vec<f32>,
}

impl Samples {
    pub fn len(&self) -> usize {
        self.r.len()
    }

    pub fn is_empty(&self) -> bool {
        self.r.is_empty()
    }
}

const TEST_SALT: u64 = 0x7e57_0000_0000_0010;
const PROBE_SALT: u64 = 0x960b_e000_0000_0010;

impl Setup {
    /// v* ~ N(0, I_N), then b* ~ N(0, 1), both from `seed`; `fixed_b` replaces the drawn b*
    /// (v* stays the same).
    pub fn draw(n: usize, seed: u64, fixed_b: Option<f64>) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let v_star: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
        let drawn: f64 = rng.sample(StandardNormal);
        let b_star = fixed_b.unwrap_or(drawn);
        Self {
            n,
            v_star,
            b_star,
            stair: Staircase::paper(b_star),
        }
    }

    fn from_params(p: &Params, seed: u64) -> Self {
        let fixed = p.bool("fix_b_star").then(|| p.float("b_star"));
        Self::draw(p.usize("n"), seed, fixed)
    }

    /// r = v*.x + b* for one input.
    pub fn score(&self, x: &[f32]) -> f64 {
        x.iter()
            .zip(&self.v_star)
            .map(|(&a, &v)| a as f64 * v)
            .sum::<f64>()
            + self.b_star
    }

    /// `count` fresh samples.
    pub fn sample<R: Rng>(&self, rng: &mut R, count: usize) -> Samples {
        let n = self.n;
        let scale = 1.0 / n as f64;
        let mut s = Samples {
            x: Vec::with_capacity(count * n),
            r: Vec::with_capacity(count),
            level: Vec::with_capacity(count),
            y: Vec::with_capacity(count),
        };
        for _ in 0..count {
            let start = s.x.len();
            s.x.extend((0..n).map(|_| (rng.sample::<f64, _>(StandardNormal) * scale) as f32));
            let r = self.score(&s.x[start..]);
            let level = self.stair.level_index(r);
            s.r.push(r);
            s.level.push(level);
            s.y.push(self.stair.levels()[level] as f32);
        }
        s
    }

    /// The fixed test set of a seed.
    pub fn test_set(&self, seed: u64, count: usize) -> Samples {
        self.sample(&mut DataRng::new(seed ^ TEST_SALT), count)
    }
}

/// Cosine of the angle between two vectors.
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na > 0.0 && nb > 0.0 {
        dot / (na * nb)
    } else {
        0.0
    }
}

/// Median of a list (NaN when empty).
fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

// ---------------------------------------------------------------------------------------------
// models and evaluation

/// Settings of one method's training.
#[derive(Debug, Clone)]
struct Hyper {
    kind: OptimKind,
    steps: u64,
    batch: usize,
    eval_every: u64,
    probe: usize,
    b_init: f32,
    sharpness: f64,
    width: usize,
}

enum Model {
    Linear(LinearScore),
    Net(Mlp),
}

impl Model {
    fn new(method: Method, setup: &Setup, h: &Hyper, rng: &mut StdRng) -> Self {
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

    fn train_step(
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
    fn predict(&self, method: Method, setup: &Setup, s: &Samples) -> Result<Prediction, Halt> {
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
    fn snr(&self, method: Method, s: &Samples) -> Result<SnrReport, Halt> {
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

struct Prediction {
    output: Vec<f32>,
    level: Vec<usize>,
}

/// Test-set numbers of one evaluation.
#[derive(Debug, Clone, Default)]
struct Eval {
    wrong_level: f64,
    mse: f64,
    mae: f64,
    /// Linear models: cos(w, v*), b - b*, |w| / |v*|.
    linear: Option<(f64, f64, f64)>,
}

fn evaluate(model: &Model, pred: &Prediction, setup: &Setup, test: &Samples) -> Eval {
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

/// Figure data: (r, label, output) per test point.
type Points = Vec<(f64, f64, f64)>;

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

/// Where a method's metrics go: plain names in its own experiment, `e1x/name` in E10.
struct Out<'a> {
    ctx: &'a mut dyn Ctx,
    prefix: String,
    /// Added to this method's step numbers for progress (E10 runs methods one after another).
    offset: u64,
    total: u64,
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
struct MethodResult {
    summary: Vec<(String, f64)>,
    notes: Vec<String>,
    /// Figure series: (r, label, output) for the test points near b*.
    figure: Points,
    train_time: Duration,
    probe_time: Duration,
}

fn train_method(
    method: Method,
    setup: &Setup,
    h: &Hyper,
    test: &Samples,
    seed: u64,
    out: &mut Out<'_>,
) -> Result<MethodResult, Halt> {
    let mut model = Model::new(
        method,
        setup,
        h,
        &mut StdRng::seed_from_u64(seed ^ method.salt()),
    );
    let mut rng = DataRng::new(seed ^ method.salt());
    let mut opt = Optimizer::new(h.kind);
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

    let mut probe_time = Duration::ZERO;
    let mut train_time = Duration::ZERO;
    let eval_at = |step: u64,
                   model: &Model,
                   out: &mut Out<'_>,
                   probe_time: &mut Duration|
     -> Result<(Eval, Prediction), Halt> {
        let pred = model.predict(method, setup, test)?;
        let e = evaluate(model, &pred, setup, test);
        out.metric(step, "wrong_level", e.wrong_level);
        out.metric(step, "mse", e.mse);
        out.metric(step, "mae", e.mae);
        if let Some((cos, db, ratio)) = e.linear {
            out.metric(step, "cos_w_vstar", cos);
            out.metric(step, "b_minus_bstar", db);
            out.metric(step, "w_norm_ratio", ratio);
        }
        if let Some(p) = &probe {
            let t = Instant::now();
            let snr = model.snr(method, p)?;
            *probe_time += t.elapsed();
            out.metric(step, "grad_snr", snr.total.snr());
            out.metric(step, "grad_norm", snr.total.signal_plugin.sqrt());
            for (block, s) in &snr.blocks {
                out.metric(step, &format!("grad_snr/{block}"), s.snr());
            }
        }
        Ok((e, pred))
    };

    let (mut last, mut last_pred) = eval_at(0, &model, out, &mut probe_time)?;
    let evals = h.steps.div_ceil(h.eval_every).max(1);
    let figure_every = evals.div_ceil(10).max(1);
    let mut eval_count = 0u64;
    let (mut loss_sum, mut loss_n) = (0.0f64, 0u64);
    for step in 1..=h.steps {
        let t = Instant::now();
        let batch = setup.sample(&mut rng, h.batch);
        let loss = model.train_step(method, &batch, &mut opt)? as f64;
        train_time += t.elapsed();
        loss_sum += loss;
        loss_n += 1;
        out.ctx.step(out.offset + step, out.total, loss)?;
        if step % h.eval_every == 0 || step == h.steps {
            out.metric(step, "train_loss", loss_sum / loss_n as f64);
            (loss_sum, loss_n) = (0.0, 0);
            let (e, p) = eval_at(step, &model, out, &mut probe_time)?;
            eval_count += 1;
            if out.prefix.is_empty() && (eval_count.is_multiple_of(figure_every) || step == h.steps)
            {
                let pts = figure_points(test, &p, setup.b_star);
                out.ctx.figure(step, single_figure(method, setup, h, &pts));
            }
            (last, last_pred) = (e, p);
        }
    }

    // where the errors lie
    let mut dists: Vec<f64> = last_pred
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
    let med = median(&mut dists);
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
    for line in &notes {
        out.ctx.log(line);
    }
    if probe.is_some() {
        out.ctx.log(&format!(
            "{}: gradient probe took {:.0} ms against {:.0} ms of training ({:.1}%)",
            method.id(),
            probe_time.as_secs_f64() * 1e3,
            train_time.as_secs_f64() * 1e3,
            100.0 * probe_time.as_secs_f64() / train_time.as_secs_f64().max(1e-9)
        ));
    }
    Ok(MethodResult {
        summary,
        notes,
        figure: figure_points(test, &last_pred, setup.b_star),
        train_time,
        probe_time,
    })
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

fn hyper(p: &Params, lr: f64, steps: u64) -> Result<Hyper, Halt> {
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

fn run_single(method: Method, p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let setup = Setup::from_params(p, seed);
    let test = setup.test_set(seed, p.usize("test_samples"));
    let steps = p.int("steps") as u64;
    let h = hyper(p, p.float("lr"), steps)?;
    let mut out = Out {
        ctx,
        prefix: String::new(),
        offset: 0,
        total: steps,
    };
    let r = train_method(method, &setup, &h, &test, seed, &mut out)?;
    let mut s = Summary::default();
    for (k, v) in &r.summary {
        s.set(k, *v);
    }
    for n in r.notes {
        s.note(n);
    }
    Ok(s)
}

fn run_e11(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    run_single(Method::Surrogate, p, seed, ctx)
}

fn run_e12(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    run_single(Method::Regression, p, seed, ctx)
}

fn run_e13(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    run_single(Method::Classifier, p, seed, ctx)
}

fn run_e14(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    run_single(Method::ForwardOnly, p, seed, ctx)
}

fn run_e10(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
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
    let mut offset = 0;
    let mut fig_pts: Vec<(Method, Points)> = Vec::new();
    let mut table = Vec::new();
    for method in Method::ALL {
        let (lr, st) = match method {
            Method::Surrogate => (p.float("e11_lr"), steps),
            Method::ForwardOnly => (p.float("lr"), e14_steps),
            _ => (p.float("lr"), steps),
        };
        let h = hyper(p, lr, st)?;
        let mut out = Out {
            ctx: &mut *ctx,
            prefix: format!("{}/", method.prefix()),
            offset,
            total,
        };
        let r = train_method(method, &setup, &h, &test, seed, &mut out)?;
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
        fig_pts.push((method, r.figure));
        ctx.figure(offset, compare_figure(&fig_pts));
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

// ---------------------------------------------------------------------------------------------
// checks

pub fn checks() -> Vec<CheckDef> {
    vec![
        CheckDef {
            id: "E11",
            run: check_e11,
        },
        CheckDef {
            id: "E12",
            run: check_e12,
        },
        CheckDef {
            id: "E13",
            run: check_e13,
        },
        CheckDef {
            id: "E14",
            run: check_e14,
        },
    ]
}

/// The final numbers of one standalone run, shared between the checks: E14's ranking reuses
/// the runs of E11, E12 and E13.
fn result_of(id: &str, overrides: &[(&str, &str)], seed: u64) -> Result<Summary, String> {
    cached_run(id, overrides, seed)
        .map(|f| f.summary.clone())
        .map_err(|e| e.with_seed())
}

/// Settings the checks use on top of an experiment's defaults: evaluation only at the end
/// matters, and a larger test set at the full budget.
fn check_overrides(budget: Budget) -> Vec<(&'static str, &'static str)> {
    match budget {
        Budget::Quick => vec![("eval_every", "2500"), ("test_samples", "5000")],
        Budget::Full => vec![("eval_every", "1000"), ("test_samples", "20000")],
    }
}

/// Seeds of E12, E13, E14 and the ranking: one at the quick budget, three (the spec's
/// minimum for the ranking) at the full one.
fn seeds(budget: Budget) -> Vec<u64> {
    match budget {
        Budget::Quick => vec![0],
        Budget::Full => vec![0, 1, 2],
    }
}

fn pct(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}

/// E11 in its failing configuration: b initialised at 0, b* fixed at -0.65.
fn e11_failing(budget: Budget, seed: u64) -> Result<Summary, String> {
    let mut o = check_overrides(budget);
    o.extend([("fix_b_star", "true"), ("b_star", "-0.65")]);
    result_of("E11", &o, seed)
}

fn e11_seeds(budget: Budget) -> Vec<u64> {
    match budget {
        Budget::Quick => vec![0],
        Budget::Full => vec![0, 1, 2],
    }
}

fn check_e11(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let mut details = Vec::new();
    let mut pass = true;
    let mut measured = Vec::new();

    // b* = -0.65: stuck
    let (mut wrongs, mut coss) = (Vec::new(), Vec::new());
    for seed in e11_seeds(budget) {
        progress(&format!("E11 b* = -0.65, seed {seed}"));
        let s = e11_failing(budget, seed)?;
        let (w, c) = (metric(&s, "wrong_level"), metric(&s, "cos_w_vstar"));
        let ok = w >= 0.9 && c < 0.5;
        pass &= ok;
        details.push(format!(
            "b* = -0.65, seed {seed}: wrong level {}, cos(w, v*) {c:.3}, b - b* {:.3} \
             (want >= 90% and cos < 0.5){}",
            pct(w),
            metric(&s, "b_minus_bstar"),
            if ok { "" } else { "  <- not stuck" }
        ));
        wrongs.push(w);
        coss.push(c);
    }
    measured.push(format!(
        "b*=-0.65: {} wrong, cos {:.2}",
        pct(mean(&wrongs)),
        mean(&coss)
    ));

    // b* = 0: learns the direction but not the levels
    let (mut wrongs, mut coss) = (Vec::new(), Vec::new());
    for seed in e11_seeds(budget) {
        progress(&format!("E11 b* = 0, seed {seed}"));
        let mut o = check_overrides(budget);
        o.extend([("fix_b_star", "true"), ("b_star", "0")]);
        let s = result_of("E11", &o, seed)?;
        let (w, c) = (metric(&s, "wrong_level"), metric(&s, "cos_w_vstar"));
        let ok = c >= 0.99 && w >= 0.03;
        pass &= ok;
        details.push(format!(
            "b* = 0, seed {seed}: wrong level {}, cos(w, v*) {c:.4} (want cos >= 0.99 and >= 3% \
             wrong){}",
            pct(w),
            if ok { "" } else { "  <- outside" }
        ));
        wrongs.push(w);
        coss.push(c);
    }
    measured.push(format!(
        "b*=0: {} wrong, cos {:.3}",
        pct(mean(&wrongs)),
        mean(&coss)
    ));

    // random b*: at least one failure in 5 seeds
    let mut failures = 0;
    for seed in 0..5u64 {
        progress(&format!("E11 random b*, seed {seed}"));
        let s = result_of("E11", &check_overrides(budget), seed)?;
        let (w, c) = (metric(&s, "wrong_level"), metric(&s, "cos_w_vstar"));
        let failed = c < 0.5 || w >= 0.5;
        failures += usize::from(failed);
        details.push(format!(
            "random b*, seed {seed}: b* = {:.3}, wrong level {}, cos(w, v*) {c:.3}{}",
            metric(&s, "b_star"),
            pct(w),
            if failed { "  (failed)" } else { "" }
        ));
    }
    pass &= failures >= 1;
    details.push(format!(
        "random b*: {failures} of 5 seeds failed (cos < 0.5 or >= 50% wrong); want >= 1"
    ));
    measured.push(format!("random b*: {failures}/5 failed"));

    Ok(CheckOutcome {
        id: "E11",
        paper: "fails from b=0: 97% wrong (Fig 7a); b*=-0.65 >=90% wrong, cos<0.5; b*=0 cos>=0.99, >=3% wrong; >=1/5 random fail".into(),
        measured: measured.join("; "),
        pass,
        details,
    })
}

fn check_e12(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let mut details = Vec::new();
    let mut pass = true;
    let (mut maes, mut maes14) = (Vec::new(), Vec::new());
    for seed in seeds(budget) {
        progress(&format!("E12 seed {seed}"));
        let s = result_of("E12", &check_overrides(budget), seed)?;
        progress(&format!("E14 seed {seed}"));
        let s14 = result_of("E14", &check_overrides(budget), seed)?;
        let (mae, mae14) = (metric(&s, "mae"), metric(&s14, "mae"));
        let ok = (0.003..=0.05).contains(&mae);
        pass &= ok;
        details.push(format!(
            "seed {seed}: MAE {mae:.4} (want 0.003..0.05), MSE {:.2e}, off by > 0.01: {}, > 0.05: \
             {}, largest error {:.3}; E14 MAE {mae14:.5}{}",
            metric(&s, "mse"),
            pct(metric(&s, "off_0.01")),
            pct(metric(&s, "off_0.05")),
            metric(&s, "max_abs_err"),
            if ok { "" } else { "  <- outside" }
        ));
        maes.push(mae);
        maes14.push(mae14);
    }
    let (m, m14) = (mean(&maes), mean(&maes14));
    let ratio_ok = m >= 5.0 * m14;
    pass &= ratio_ok;
    details.push(format!(
        "mean MAE {m:.4} vs E14 {m14:.5}: ratio {:.1} (want >= 5)",
        m / m14
    ));
    Ok(CheckOutcome {
        id: "E12",
        paper: "MAE ~0.015, RMSE ~0.039 (Fig 7b); MAE in [0.003,0.05], >= 5x E14's".into(),
        measured: format!(
            "MAE {m:.4} (RMSE {:.3}), {:.0}x E14's, {} seed(s)",
            mean(
                &seeds(budget)
                    .iter()
                    .map(|&s| result_of("E12", &check_overrides(budget), s)
                        .map(|r| metric(&r, "rmse"))
                        .unwrap_or(f64::NAN))
                    .collect::<Vec<_>>()
            ),
            m / m14,
            maes.len()
        ),
        pass,
        details,
    })
}

fn check_e13(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let mut details = Vec::new();
    let mut pass = true;
    let (mut wrongs, mut nears) = (Vec::new(), Vec::new());
    for seed in seeds(budget) {
        progress(&format!("E13 seed {seed}"));
        let s = result_of("E13", &check_overrides(budget), seed)?;
        let w = metric(&s, "wrong_level");
        let errors = metric(&s, "errors");
        // no error at all satisfies "every error is next to a step"
        let near = if errors > 0.0 {
            metric(&s, "err_near_step")
        } else {
            1.0
        };
        let ok = w <= 0.03 && near >= 0.9;
        pass &= ok;
        details.push(format!(
            "seed {seed}: wrong level {} ({errors} points; want <= 3%), {} of errors within \
             {NEAR_STEP} of a jump (want >= 90%), median distance {:.5}{}",
            pct(w),
            pct(near),
            metric(&s, "err_step_dist_median"),
            if ok { "" } else { "  <- outside" }
        ));
        wrongs.push(w);
        nears.push(near);
    }
    Ok(CheckOutcome {
        id: "E13",
        paper: "1.2% wrong, all within 0.003 of a step (Fig 7c); want <= 3%, >= 90% within 0.01"
            .into(),
        measured: format!(
            "{} wrong, {} of errors near a step, {} seed(s)",
            pct(mean(&wrongs)),
            pct(mean(&nears)),
            wrongs.len()
        ),
        pass,
        details,
    })
}

fn check_e14(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let mut details = Vec::new();
    let mut pass = true;
    let (mut w14, mut mae14, mut w13, mut mae12) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for seed in seeds(budget) {
        progress(&format!("E14 seed {seed}"));
        let s = result_of("E14", &check_overrides(budget), seed)?;
        let (w, c, m) = (
            metric(&s, "wrong_level"),
            metric(&s, "cos_w_vstar"),
            metric(&s, "mae"),
        );
        let ok = w <= 0.01 && c >= 0.999 && m <= 0.005;
        pass &= ok;
        details.push(format!(
            "seed {seed}: b* = {:.3}, wrong level {} (want <= 1%), cos(w, v*) {c:.5} (want >= \
             0.999), MAE {m:.5} (want <= 0.005), |w|/|v*| {:.4}, b - b* {:.1e}{}",
            metric(&s, "b_star"),
            pct(w),
            metric(&s, "w_norm_ratio"),
            metric(&s, "b_minus_bstar"),
            if ok { "" } else { "  <- outside" }
        ));
        w14.push(w);
        mae14.push(m);
        progress(&format!("E13 seed {seed} (ranking)"));
        let s13 = result_of("E13", &check_overrides(budget), seed)?;
        w13.push(metric(&s13, "wrong_level"));
        progress(&format!("E12 seed {seed} (ranking)"));
        let s12 = result_of("E12", &check_overrides(budget), seed)?;
        mae12.push(metric(&s12, "mae"));
        details.push(format!(
            "seed {seed} ranking: E14 wrong {} vs E13 {}; E14 MAE {m:.5} vs E12 {:.4}",
            pct(w),
            pct(w13[w13.len() - 1]),
            mae12[mae12.len() - 1]
        ));
    }
    let mut mae11 = Vec::new();
    for seed in e11_seeds(budget) {
        progress(&format!("E11 b* = -0.65, seed {seed} (ranking)"));
        mae11.push(metric(&e11_failing(budget, seed)?, "mae"));
    }
    let (a14, a13) = (mean(&w14), mean(&w13));
    let (m14, m12, m11) = (mean(&mae14), mean(&mae12), mean(&mae11));
    let r1 = a14 <= a13;
    let r2 = m14 <= m12 / 5.0;
    let r3 = m11 >= 0.1;
    pass &= r1 && r2 && r3;
    details.push(format!(
        "ranking over {} seeds: E14 wrong {} <= E13 {}: {}",
        w14.len(),
        pct(a14),
        pct(a13),
        if r1 { "yes" } else { "NO" }
    ));
    details.push(format!(
        "ranking: E14 MAE {m14:.5} <= E12 MAE / 5 = {:.5}: {}",
        m12 / 5.0,
        if r2 { "yes" } else { "NO" }
    ));
    details.push(format!(
        "ranking: E11 (b* = -0.65, b from 0) MAE {m11:.3} >= 0.1: {}",
        if r3 { "yes" } else { "NO" }
    ));
    details.push(
        "runs are shared with the E11-E13 checks: whichever check runs one first spends its time"
            .into(),
    );
    Ok(CheckOutcome {
        id: "E14",
        paper: "0.47% wrong at 5k (Fig 7e); want <=1%, cos>=0.999, MAE<=0.005; E14<=E13 wrong, E14 MAE<=E12/5, E11 fail MAE>=0.1".into(),
        measured: format!(
            "{} wrong, MAE {m14:.5}; vs E13 {} wrong, E12 MAE {m12:.4}, E11 MAE {m11:.2}; {} seeds",
            pct(a14),
            pct(a13),
            w14.len()
        ),
        pass,
        details,
    })
}
