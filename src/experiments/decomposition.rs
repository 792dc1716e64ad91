//! Part 2 of the spec (paper section 3): decomposition vs end-to-end, E2-E4.
//!
//! - E2: k-tuples of 28 x 28 line images, the tuple label the parity (product) of the k
//!   orientation labels; one network (N1 shared over the images, then N2) trained end-to-end
//!   on the tuple label, or with the per-image labels added (decomposition). One run trains
//!   both methods from the same initialisation, side by side.
//! - E3: the SNR of the two gradients at N1's last layer at initialisation, for several k.
//! - E4: the "portfolio" toy: a softmax over k stocks, the end-to-end estimator (the returns
//!   z) against the decomposition one (the stock's label), and their exact SNR at
//!   initialisation.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::check::{Budget, CheckDef, CheckOutcome};
use super::common::{
    first_at_most, fmt_step, mean, optim_kind, run_collect, sign_accuracy, value_at, OPTIMIZERS,
    OPT_HELP_PAPER as OPT_HELP,
};
use super::ctx::{Ctx, Figure, Halt, Summary};
use super::{ExperimentDef, Family};
use crate::nn::{
    LineNet, LineNetConfig, Objective, Optimizer, PortfolioTarget, Snr, SoftmaxPolicy, TupleBatch,
};
use crate::spec::{ParamDef, Params};

const METHODS: &[&str] = &["both", "e2e", "dec"];
const METHOD_HELP: &str =
    "both (end-to-end and decomposition side by side, from the same initialisation), e2e, dec";

// ---------------------------------------------------------------------------------------------
// E2 data: line images and k-tuples

/// Side of a line image.
pub const SIDE: usize = 28;

/// One line image with what produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct LineImage {
    /// `SIDE x SIDE` pixels in {0, 1}, row-major, row 0 at the top (y grows upward).
    pub pixels: Vec<f32>,
    /// +1 if the angle is below pi/2 (a rising "/" line), else -1.
    pub label: f32,
    pub theta: f64,
    pub length: f64,
    pub centre: (f64, f64),
}

/// Draws one image as the authors' script does: centre c ~ 28 U(0,1)^2, length l ~ U(5, 23),
/// angle theta ~ U[0, pi), u = (cos theta, sin theta); for j = 0 .. floor(l/2) - 1 and
/// s = -1, +1 the pixel at c + s j u, each coordinate truncated toward zero, is set to 1 if it
/// lies inside the image.
pub fn line_image<R: Rng + ?Sized>(rng: &mut R) -> LineImage {
    let side = SIDE as f64;
    let centre = (side * rng.gen::<f64>(), side * rng.gen::<f64>());
    let length: f64 = rng.gen_range(5.0..23.0);
    let theta: f64 = rng.gen_range(0.0..std::f64::consts::PI);
    let (ux, uy) = (theta.cos(), theta.sin());
    let mut pixels = vec![0.0f32; SIDE * SIDE];
    let half = (length / 2.0).floor() as i64;
    for j in 0..half {
        for s in [-1.0, 1.0] {
            // `as` truncates toward zero, as Python's int() does
            let px = (centre.0 + s * j as f64 * ux) as i64;
            let py = (centre.1 + s * j as f64 * uy) as i64;
            if (0..SIDE as i64).contains(&px) && (0..SIDE as i64).contains(&py) {
                let row = SIDE - 1 - py as usize;
                pixels[row * SIDE + px as usize] = 1.0;
            }
        }
    }
    let label = if theta < std::f64::consts::FRAC_PI_2 {
        1.0
    } else {
        -1.0
    };
    LineImage {
        pixels,
        label,
        theta,
        length,
        centre,
    }
}

/// A batch of k-tuples of line images.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuples {
    pub batch: usize,
    pub k: usize,
    /// `batch * k` images of `SIDE x SIDE`, tuple-major.
    pub images: Vec<f32>,
    /// The orientation label of every image.
    pub image_labels: Vec<f32>,
    /// The primary label of every tuple: the product of its image labels (the paper's
    /// definition; the authors' script negates it for even k).
    pub labels: Vec<f32>,
}

/// `batch` tuples of `k` independent line images.
pub fn sample_tuples<R: Rng + ?Sized>(rng: &mut R, batch: usize, k: usize) -> Tuples {
    let mut images = Vec::with_capacity(batch * k * SIDE * SIDE);
    let mut image_labels = Vec::with_capacity(batch * k);
    let mut labels = Vec::with_capacity(batch);
    for _ in 0..batch {
        let mut y = 1.0f32;
        for _ in 0..k {
            let img = line_image(rng);
            images.extend_from_slice(&img.pixels);
            image_labels.push(img.label);
            y *= img.label;
        }
        labels.push(y);
    }
    Tuples {
        batch,
        k,
        images,
        image_labels,
        labels,
    }
}

pub fn experiments() -> Vec<ExperimentDef> {
    vec![
        ExperimentDef {
            id: "E2",
            name: "tuples of line images: end-to-end vs decomposition",
            family: Family::Decomposition,
            shows: "the parity of k orientations: end-to-end stays at chance for k >= 3, the per-image labels learn it in a few hundred steps",
            params: e2_params,
            validate: e2_validate,
            run: run_e2,
            main_metric: "e2e/test_accuracy",
        },
        ExperimentDef {
            id: "E3",
            name: "gradient SNR at N1's last layer vs k",
            family: Family::Decomposition,
            shows: "at initialisation the end-to-end gradient's SNR collapses from k = 2 on, the decomposition gradient's does not move",
            params: e3_params,
            validate: e3_validate,
            run: run_e3,
            main_metric: "ratio",
        },
        ExperimentDef {
            id: "E4",
            name: "portfolio: end-to-end vs decomposition estimator",
            family: Family::Decomposition,
            shows: "two unbiased gradients of the same loss: the end-to-end one has ~k times the variance and stalls for k = 1000",
            params: e4_params,
            validate: e4_validate,
            run: run_e4,
            main_metric: "e2e/test_loss",
        },
    ]
}

pub fn checks() -> Vec<CheckDef> {
    vec![
        CheckDef {
            id: "E2",
            run: check_e2,
        },
        CheckDef {
            id: "E3",
            run: check_e3,
        },
        CheckDef {
            id: "E4",
            run: check_e4,
        },
    ]
}

/// The methods a run trains, with their metric prefix.
fn methods(p: &Params) -> Vec<(Method, &'static str)> {
    match p.str("method") {
        "e2e" => vec![(Method::EndToEnd, "e2e/")],
        "dec" => vec![(Method::Decomposition, "dec/")],
        _ => vec![(Method::EndToEnd, "e2e/"), (Method::Decomposition, "dec/")],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    EndToEnd,
    Decomposition,
}

impl Method {
    fn objective(self) -> Objective {
        match self {
            Method::EndToEnd => Objective::EndToEnd,
            Method::Decomposition => Objective::Decomposition,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Method::EndToEnd => "end-to-end",
            Method::Decomposition => "decomposition",
        }
    }
}

/// Seeds of the random streams of a run, so that each part draws the same numbers whatever
/// the others do (turning the SNR probe off, or training one method only, leaves the rest
/// unchanged).
fn stream(seed: u64, part: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ part.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

const INIT: u64 = 1;
const TEST: u64 = 2;
const PROBE: u64 = 3;
const FIGURE: u64 = 4;
const TRAIN: u64 = 5;

fn batch_of(t: &Tuples) -> TupleBatch<'_> {
    TupleBatch {
        images: &t.images,
        batch: t.batch,
        labels: &t.labels,
        image_labels: &t.image_labels,
    }
}

// ---------------------------------------------------------------------------------------------
// E2

fn e2_params() -> Vec<ParamDef> {
    vec![
        ParamDef::int(
            "k",
            3,
            1,
            16,
            "images per tuple; the label is the product of their k orientation labels",
        ),
        ParamDef::choice("method", "both", METHODS, METHOD_HELP),
        ParamDef::int(
            "steps_e2e",
            20_000,
            1,
            100_000_000,
            "end-to-end training iterations (paper: 20,000)",
        ),
        ParamDef::int(
            "steps_dec",
            2_500,
            1,
            100_000_000,
            "decomposition training iterations (paper: 2,500)",
        ),
        ParamDef::choice("optimizer", "adam99", OPTIMIZERS, OPT_HELP),
        ParamDef::positive("lr", 1e-3, 10.0, "learning rate"),
        ParamDef::int("batch", 200, 1, 65_536, "fresh tuples per step"),
        ParamDef::int(
            "eval_every",
            100,
            1,
            1_000_000,
            "iterations between evaluations on the test set",
        ),
        ParamDef::int(
            "test_size",
            2000,
            10,
            1_000_000,
            "tuples in the fixed test set (paper: 2,000)",
        ),
        ParamDef::int(
            "channels",
            16,
            1,
            256,
            "channels of both convolutions of N1 (paper: 16)",
        ),
        ParamDef::int(
            "n2_width",
            100,
            1,
            4096,
            "hidden units of N2 (the code: 100 for every k)",
        ),
    ]
    .into_iter()
    .chain(super::snr_params(64))
    .collect()
}

fn e2_validate(p: &Params) -> Result<(), String> {
    let images = p.usize("batch") * p.usize("k");
    if images > 1 << 16 {
        return Err(format!(
            "batch x k = {images} images per step is too many (at most 65,536)"
        ));
    }
    Ok(())
}

/// Accuracy on the primary label and N1's accuracy on the image labels over a test set.
fn e2_evaluate(net: &LineNet, test: &Tuples) -> Result<(f64, f64), Halt> {
    let (k, len) = (test.k, SIDE * SIDE);
    let chunk = (2048 / k).max(1);
    let (mut tuple_scores, mut image_scores) = (Vec::new(), Vec::new());
    for start in (0..test.batch).step_by(chunk) {
        let m = chunk.min(test.batch - start);
        let (t, i) = net.predict_all(&test.images[start * k * len..(start + m) * k * len], m)?;
        tuple_scores.extend(t);
        image_scores.extend(i);
    }
    Ok((
        sign_accuracy(&tuple_scores, &test.labels),
        sign_accuracy(&image_scores, &test.image_labels),
    ))
}

/// A grid of `rows` tuples of k images (one per row, a dark line between images) and a title
/// with their labels.
fn tuples_figure(t: &Tuples, rows: usize, title: &str) -> Figure {
    let (k, s) = (t.k, SIDE);
    let rows = rows.min(t.batch);
    let (width, height) = (k * (s + 1) - 1, rows * (s + 1) - 1);
    let mut pixels = vec![0.25f32; width * height];
    let mut labels = Vec::new();
    for r in 0..rows {
        for j in 0..k {
            let img = &t.images[(r * k + j) * s * s..(r * k + j + 1) * s * s];
            for y in 0..s {
                for x in 0..s {
                    pixels[(r * (s + 1) + y) * width + j * (s + 1) + x] = img[y * s + x];
                }
            }
        }
        let per: Vec<&str> = t.image_labels[r * k..(r + 1) * k]
            .iter()
            .map(|&y| if y > 0.0 { "/" } else { "\\" })
            .collect();
        labels.push(format!("{} = {:+}", per.join(""), t.labels[r] as i32));
    }
    Figure::Image {
        title: format!("{title}: {}", labels.join(", ")),
        width,
        height,
        pixels,
    }
}

/// Five images of each class, as in the paper's Figure 2: top row +1 ("/"), bottom row -1.
fn classes_figure(rng: &mut StdRng) -> Figure {
    let mut pos = Vec::new();
    let mut neg = Vec::new();
    while pos.len() < 5 || neg.len() < 5 {
        let img = line_image(rng);
        if img.label > 0.0 && pos.len() < 5 {
            pos.push(img);
        } else if img.label < 0.0 && neg.len() < 5 {
            neg.push(img);
        }
    }
    let t = Tuples {
        batch: 2,
        k: 5,
        images: pos
            .iter()
            .chain(&neg)
            .flat_map(|i| i.pixels.iter().copied())
            .collect(),
        image_labels: pos.iter().chain(&neg).map(|i| i.label).collect(),
        labels: vec![1.0, -1.0],
    };
    let mut f = tuples_figure(&t, 2, "");
    if let Figure::Image { title, .. } = &mut f {
        *title = "E2: line images, top row y = +1 (rising), bottom row y = -1 (falling)".into();
    }
    f
}

struct E2Run {
    method: Method,
    prefix: &'static str,
    net: LineNet,
    opt: Optimizer,
    rng: StdRng,
    steps: u64,
    loss_sum: f64,
    loss_n: u64,
    acc: Vec<(u64, f64)>,
}

fn run_e2(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let k = p.usize("k");
    let batch = p.usize("batch");
    let eval_every = p.int("eval_every") as u64;
    let kind = optim_kind(p, p.float("lr"))?;
    let cfg = LineNetConfig {
        k,
        channels: p.usize("channels"),
        n2_width: p.usize("n2_width"),
        ..LineNetConfig::paper(k)
    };
    let net0 = LineNet::new(cfg, &mut stream(seed, INIT))?;
    let test = sample_tuples(&mut stream(seed, TEST), p.usize("test_size"), k);
    let mut runs: Vec<E2Run> = methods(p)
        .into_iter()
        .map(|(method, prefix)| E2Run {
            method,
            prefix,
            net: net0.duplicate(),
            opt: Optimizer::new(kind),
            rng: stream(seed, TRAIN + method as u64),
            steps: match method {
                Method::EndToEnd => p.int("steps_e2e") as u64,
                Method::Decomposition => p.int("steps_dec") as u64,
            },
            loss_sum: 0.0,
            loss_n: 0,
            acc: Vec::new(),
        })
        .collect();
    drop(net0);
    let total = runs.iter().map(|r| r.steps).max().unwrap_or(0);
    ctx.log(&format!(
        "E2: k = {k}, {} parameters, {} lr {}, batch {batch}, test set {} tuples; {}",
        runs[0].net.num_params(),
        p.str("optimizer"),
        p.float("lr"),
        test.batch,
        runs.iter()
            .map(|r| format!("{} for {} steps", r.method.name(), r.steps))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut fig_rng = stream(seed, FIGURE);
    ctx.figure(0, classes_figure(&mut fig_rng));
    ctx.figure(
        0,
        tuples_figure(
            &sample_tuples(&mut fig_rng, 4, k),
            4,
            &format!("E2: four {k}-tuples, orientations = tuple label"),
        ),
    );

    let probe_n = p.usize("snr_samples");
    let mut probe_rng = stream(seed, PROBE);
    let probe =
        |runs: &[E2Run], active: &[bool], step: u64, rng: &mut StdRng, ctx: &mut dyn Ctx| {
            let t = sample_tuples(rng, probe_n, k);
            for (r, _) in runs.iter().zip(active).filter(|(_, a)| **a) {
                let report = r.net.gradient_snr(&batch_of(&t), r.method.objective())?;
                super::emit_snr(ctx, step, r.prefix, &report);
            }
            Ok::<(), Halt>(())
        };

    for r in runs.iter_mut() {
        let (acc, img_acc) = e2_evaluate(&r.net, &test)?;
        ctx.metric(0, &format!("{}test_accuracy", r.prefix), acc);
        ctx.metric(0, &format!("{}image_accuracy", r.prefix), img_acc);
        r.acc.push((0, acc));
    }
    if probe_n > 0 {
        probe(&runs, &vec![true; runs.len()], 0, &mut probe_rng, ctx)?;
    }
    for step in 1..=total {
        let mut reported = 0.0;
        let mut active = vec![false; runs.len()];
        for (i, r) in runs.iter_mut().enumerate() {
            if step > r.steps {
                continue;
            }
            active[i] = true;
            let data = sample_tuples(&mut r.rng, batch, k);
            let parts = r
                .net
                .train_step(&batch_of(&data), r.method.objective(), &mut r.opt)?;
            let loss = match r.method {
                Method::EndToEnd => parts.primary,
                Method::Decomposition => parts.primary + parts.per_image,
            } as f64;
            r.loss_sum += loss;
            r.loss_n += 1;
            reported += loss;
        }
        ctx.step(step, total, reported)?;
        let mut due = vec![false; runs.len()];
        for (i, r) in runs.iter_mut().enumerate() {
            if !active[i] {
                continue;
            }
            let last = step == r.steps;
            if step % eval_every == 0 || last {
                let (acc, img_acc) = e2_evaluate(&r.net, &test)?;
                ctx.metric(step, &format!("{}test_accuracy", r.prefix), acc);
                ctx.metric(step, &format!("{}image_accuracy", r.prefix), img_acc);
                ctx.metric(
                    step,
                    &format!("{}train_loss", r.prefix),
                    r.loss_sum / r.loss_n.max(1) as f64,
                );
                (r.loss_sum, r.loss_n) = (0.0, 0);
                r.acc.push((step, acc));
            }
            due[i] = super::snr_due(p, step, eval_every, last);
        }
        if due.iter().any(|d| *d) {
            probe(&runs, &due, step, &mut probe_rng, ctx)?;
        }
    }

    let mut summary = Summary::default();
    let mut series = Vec::new();
    for r in &runs {
        let last = r.acc.last().map(|a| a.1).unwrap_or(f64::NAN);
        let best = r.acc.iter().map(|a| a.1).fold(0.0f64, f64::max);
        summary
            .set(&format!("{}test_accuracy", r.prefix), last)
            .set(&format!("{}best_accuracy", r.prefix), best);
        ctx.log(&format!(
            "{}: final accuracy {last:.3}, best {best:.3}",
            r.method.name()
        ));
        series.push((
            r.method.name().to_string(),
            r.acc.iter().map(|&(s, a)| (s as f64, a)).collect(),
        ));
    }
    ctx.figure(
        total,
        Figure::Curves {
            title: format!("E2: accuracy on the primary label, k = {k}"),
            x_label: "iteration".into(),
            y_label: "test accuracy".into(),
            series,
        },
    );
    Ok(summary)
}

// ---------------------------------------------------------------------------------------------
// E3

fn e3_params() -> Vec<ParamDef> {
    vec![
        ParamDef::int_list("ks", &[1, 2, 3, 4], 1, 16, 16, "tuple sizes k"),
        ParamDef::int(
            "inits",
            5,
            1,
            1000,
            "random initialisations of N1 averaged (N2 is drawn afresh for every k)",
        ),
        ParamDef::int(
            "samples",
            20_000,
            2,
            10_000_000,
            "tuples per SNR estimate (one gradient each; the script used 500,000)",
        ),
        ParamDef::choice(
            "dec_loss",
            "first_image",
            &["first_image", "full"],
            "decomposition gradient: the per-image loss of each tuple's first image (the script's), or the full decomposition loss",
        ),
        ParamDef::int("channels", 16, 1, 256, "channels of both convolutions of N1"),
        ParamDef::int("n2_width", 100, 1, 4096, "hidden units of N2"),
    ]
}

fn e3_validate(p: &Params) -> Result<(), String> {
    let ks = p.int_list("ks");
    if ks.is_empty() {
        return Err("ks needs at least one tuple size".into());
    }
    if ks.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!("ks must be increasing, got {ks:?}"));
    }
    Ok(())
}

/// Running sums of per-sample gradients for the SNR, with the standard error of the signal
/// estimate from the sample covariance.
struct Moments {
    n: usize,
    sum: Vec<f64>,
    cov: Vec<f64>,
}

impl Moments {
    fn new(width: usize) -> Self {
        Moments {
            n: 0,
            sum: vec![0.0; width],
            cov: vec![0.0; width * width],
        }
    }

    fn add_rows(&mut self, rows: &[f32]) {
        let w = self.sum.len();
        for g in rows.chunks(w) {
            self.n += 1;
            for (i, &gi) in g.iter().enumerate() {
                self.sum[i] += gi as f64;
                let row = &mut self.cov[i * w..(i + 1) * w];
                for (c, &gj) in row.iter_mut().zip(g) {
                    *c += gi as f64 * gj as f64;
                }
            }
        }
    }

    /// The SNR estimate ([`Snr`], bias-corrected) and the standard error of its signal.
    fn snr(&self) -> (Snr, f64) {
        let (n, w) = (self.n as f64, self.sum.len());
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        // covariance of a single gradient
        let mut sigma = vec![0.0f64; w * w];
        for i in 0..w {
            for j in 0..w {
                sigma[i * w + j] = self.cov[i * w + j] / n - mean[i] * mean[j];
            }
        }
        let noise: f64 = (0..w).map(|i| sigma[i * w + i]).sum();
        let plugin: f64 = mean.iter().map(|m| m * m).sum();
        let snr = Snr::from_moments(plugin, noise.max(0.0), self.n);
        // Var ||g_bar||^2 ~ 2 tr(S^2) / n^2 + 4 mu' S mu / n for g_bar ~ N(mu, S / n)
        let tr2: f64 = sigma.iter().map(|v| v * v).sum();
        let mut quad = 0.0f64;
        for i in 0..w {
            for j in 0..w {
                quad += mean[i] * sigma[i * w + j] * mean[j];
            }
        }
        let se = (2.0 * tr2 / (n * n) + 4.0 * quad.max(0.0) / n).sqrt();
        (snr, se)
    }
}

/// Per k: the SNR of both gradients for each initialisation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct E3Point {
    pub k: usize,
    pub e2e: Vec<f64>,
    pub dec: Vec<f64>,
    /// Standard errors of the SNR estimates (signal standard error over noise).
    pub e2e_se: Vec<f64>,
    pub dec_se: Vec<f64>,
}

fn run_e3(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let ks: Vec<usize> = p.int_list("ks").iter().map(|&k| k as usize).collect();
    let k_max = *ks.last().expect("validated: not empty");
    let inits = p.usize("inits");
    let samples = p.usize("samples");
    let full_dec = p.str("dec_loss") == "full";
    let cfg = LineNetConfig {
        channels: p.usize("channels"),
        n2_width: p.usize("n2_width"),
        ..LineNetConfig::paper(1)
    };
    ctx.log(&format!(
        "E3: SNR at N1's last layer at initialisation, k in {ks:?}, {inits} initialisations, \
         {samples} tuples per estimate; decomposition gradient: {}",
        if full_dec {
            "the full decomposition loss"
        } else {
            "the per-image loss of each tuple's first image (the script's)"
        }
    ));
    let mut points: Vec<E3Point> = ks
        .iter()
        .map(|&k| E3Point {
            k,
            ..Default::default()
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(seed);
    // one pool of images per initialisation serves every k: tuple i of size k is images
    // i k .. i k + k, so each k sees `samples` independent tuples
    let chunk_tuples = 512usize;
    let total_work = (inits * samples * k_max) as u64;
    let mut done = 0u64;
    for init in 0..inits {
        let n1 = LineNet::new(cfg, &mut rng)?;
        let nets: Vec<LineNet> = ks
            .iter()
            .map(|&k| n1.with_new_n2(k, &mut rng))
            .collect::<Result<_, _>>()?;
        let mut moments: Vec<(Moments, Moments)> = ks
            .iter()
            .map(|_| (Moments::new(100), Moments::new(100)))
            .collect();
        let mut data_rng = StdRng::seed_from_u64(rng.gen());
        // images are drawn in blocks of `chunk_tuples * k_max`; every k takes whole tuples
        let block = chunk_tuples * k_max;
        let pool = samples * k_max;
        for start in (0..pool).step_by(block) {
            let m = block.min(pool - start);
            let imgs = sample_tuples(&mut data_rng, m, 1);
            let (feats, scores) = n1.image_features(&imgs.images, m)?;
            let width = feats.len() / m;
            for ((net, &k), (me, md)) in nets.iter().zip(&ks).zip(moments.iter_mut()) {
                // tuples of this k that lie in [start, start + m) and below samples * k
                let end = (start + m).min(samples * k);
                if end <= start {
                    continue;
                }
                let first = start.div_ceil(k) * k;
                let n = (end - first) / k;
                if n == 0 {
                    continue;
                }
                let (a, b) = (first - start, first - start + n * k);
                let image_labels = &imgs.image_labels[a..b];
                let labels: Vec<f32> = image_labels.chunks(k).map(|c| c.iter().product()).collect();
                let t = TupleBatch {
                    images: &[],
                    batch: n,
                    labels: &labels,
                    image_labels,
                };
                let g = net.head_grads_from(&feats[a * width..b * width], &scores[a..b], &t)?;
                me.add_rows(&g.end_to_end);
                md.add_rows(if full_dec {
                    &g.decomposition
                } else {
                    &g.first_image
                });
            }
            done += m as u64;
            ctx.step(done, total_work, 0.0)?;
        }
        for (pt, (me, md)) in points.iter_mut().zip(&moments) {
            let (se, e_err) = me.snr();
            let (sd, d_err) = md.snr();
            // signal / noise without clamping a negative signal estimate at 0, so that the
            // mean over initialisations stays unbiased
            let (e, d) = (se.signal / se.noise, sd.signal / sd.noise);
            pt.e2e.push(e);
            pt.dec.push(d);
            pt.e2e_se.push(e_err / se.noise);
            pt.dec_se.push(d_err / sd.noise);
            ctx.log(&format!(
                "init {}: k = {}: SNR end-to-end {e:.3e} (+- {:.1e}), decomposition {d:.3e} (+- {:.1e}), ratio {:.4}",
                init + 1,
                pt.k,
                e_err / se.noise,
                d_err / sd.noise,
                e / d
            ));
        }
    }
    let mut summary = Summary::default();
    let (mut e2e_pts, mut bound_pts, mut dec_pts) = (Vec::new(), Vec::new(), Vec::new());
    let n_inits = inits as f64;
    for pt in &points {
        let (e, d) = (mean(&pt.e2e), mean(&pt.dec));
        let se_e = pt.e2e_se.iter().map(|s| s * s).sum::<f64>().sqrt() / n_inits;
        let se_d = pt.dec_se.iter().map(|s| s * s).sum::<f64>().sqrt() / n_inits;
        let step = pt.k as u64;
        // the charts take the estimates clamped at 0 (an estimate below 0 means "under the
        // probe's resolution"); the summary keeps the signed means
        ctx.metric(step, "e2e/grad_snr", e.max(0.0));
        ctx.metric(step, "dec/grad_snr", d.max(0.0));
        ctx.metric(step, "ratio", e / d);
        ctx.metric(step, "e2e/grad_snr_se", se_e);
        ctx.metric(step, "dec/grad_snr_se", se_d);
        summary
            .set(&format!("e2e_snr_k{}", pt.k), e)
            .set(&format!("dec_snr_k{}", pt.k), d)
            .set(&format!("dec_snr_se_k{}", pt.k), se_d)
            .set(&format!("ratio_k{}", pt.k), e / d)
            .set(&format!("ratio_se_k{}", pt.k), se_e / d);
        ctx.log(&format!(
            "k = {}: mean SNR end-to-end {e:.3e} (+- {se_e:.1e}), decomposition {d:.3e} (+- {se_d:.1e}), ratio {:.4} (+- {:.4})",
            pt.k,
            e / d,
            se_e / d
        ));
        // an end-to-end estimate within two standard errors of 0 is not a value: what is
        // known is an upper bound, drawn as its own curve for every k
        if e > 2.0 * se_e {
            e2e_pts.push((pt.k as f64, e.log10()));
        }
        let bound = e.max(0.0) + 2.0 * se_e;
        if bound > 0.0 {
            bound_pts.push((pt.k as f64, bound.log10()));
        }
        if d > 0.0 {
            dec_pts.push((pt.k as f64, d.log10()));
        }
    }
    ctx.figure(
        k_max as u64,
        Figure::Curves {
            title: format!(
                "E3: SNR at N1's last layer vs k (mean of {inits} inits; end-to-end drawn where above 2 se)"
            ),
            x_label: "k".into(),
            y_label: "log10 SNR".into(),
            series: vec![
                ("end-to-end".into(), e2e_pts),
                ("end-to-end at most (+2 se)".into(), bound_pts),
                ("decomposition".into(), dec_pts),
            ],
        },
    );
    Ok(summary)
}

// ---------------------------------------------------------------------------------------------
// E4

fn e4_params() -> Vec<ParamDef> {
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
        ParamDef::choice("optimizer", "adam99", OPTIMIZERS, OPT_HELP),
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
    .chain(super::snr_params(1000))
    .collect()
}

fn e4_validate(p: &Params) -> Result<(), String> {
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

/// `n` portfolio samples: inputs uniform over the d one-hot vectors, returns fair coins
/// except `z_y(x) = +1`.
pub struct PortfolioBatch {
    pub idx: Vec<usize>,
    pub labels: Vec<usize>,
    /// `n x k` returns in {-1, +1}.
    pub returns: Vec<f32>,
}

pub fn portfolio_batch<R: Rng + ?Sized>(
    rng: &mut R,
    n: usize,
    stock_of: &[usize],
    k: usize,
    with_returns: bool,
) -> PortfolioBatch {
    let idx: Vec<usize> = (0..n).map(|_| rng.gen_range(0..stock_of.len())).collect();
    let labels: Vec<usize> = idx.iter().map(|&j| stock_of[j]).collect();
    let mut returns = Vec::new();
    if with_returns {
        returns.reserve(n * k);
        for &y in &labels {
            let mut bits = 0u64;
            for c in 0..k {
                if c % 64 == 0 {
                    bits = rng.gen();
                }
                returns.push(if c == y || (bits >> (c % 64)) & 1 == 1 {
                    1.0
                } else {
                    -1.0
                });
            }
        }
    }
    PortfolioBatch {
        idx,
        labels,
        returns,
    }
}

/// The stock tied to each of the d inputs, drawn once.
pub fn stock_labels<R: Rng + ?Sized>(rng: &mut R, d: usize, k: usize) -> Vec<usize> {
    (0..d).map(|_| rng.gen_range(0..k)).collect()
}

/// The exact SNR of both estimators at a fresh initialisation: `(end-to-end, decomposition)`.
pub fn portfolio_init_snr<R: Rng + ?Sized>(
    rng: &mut R,
    d: usize,
    k: usize,
) -> Result<(f64, f64), Halt> {
    let policy = SoftmaxPolicy::new(d, k, rng)?;
    let labels = stock_labels(rng, d, k);
    let (e2e, dec) = policy.population_snr(&labels)?;
    Ok((e2e.total.snr(), dec.total.snr()))
}

struct E4Run {
    method: Method,
    prefix: &'static str,
    policy: SoftmaxPolicy,
    opt: Optimizer,
    rng: StdRng,
    loss_sum: f64,
    loss_n: u64,
    losses: Vec<(u64, f64)>,
}

fn run_e4(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let (d, k) = (p.usize("d"), p.usize("k"));
    let batch = p.usize("batch");
    let steps = p.int("steps") as u64;
    let eval_every = p.int("eval_every") as u64;
    let eval_n = p.usize("eval_samples");
    let kind = optim_kind(p, p.float("lr"))?;
    let mut summary = Summary::default();

    let snr_ks: Vec<usize> = p.int_list("snr_ks").iter().map(|&k| k as usize).collect();
    if !snr_ks.is_empty() {
        let mut rng = stream(seed, PROBE + 100);
        let (mut e2e_pts, mut dec_pts) = (Vec::new(), Vec::new());
        for &kk in &snr_ks {
            let (e, dd) = portfolio_init_snr(&mut rng, d, kk)?;
            let step = kk as u64;
            ctx.metric(step, "init/snr_e2e", e);
            ctx.metric(step, "init/snr_dec", dd);
            ctx.metric(step, "init/snr_ratio", dd / e);
            summary.set(&format!("init_ratio_k{kk}"), dd / e);
            ctx.log(&format!(
                "at initialisation, k = {kk}: exact SNR decomposition {dd:.3e}, end-to-end {e:.3e}, ratio {:.1}",
                dd / e
            ));
            e2e_pts.push(((kk as f64).log10(), e.log10()));
            dec_pts.push(((kk as f64).log10(), dd.log10()));
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
    }

    let stock_of = stock_labels(&mut stream(seed, TEST + 100), d, k);
    let policy0 = SoftmaxPolicy::new(d, k, &mut stream(seed, INIT))?;
    let mut runs: Vec<E4Run> = methods(p)
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
        .collect();
    drop(policy0);
    ctx.log(&format!(
        "E4: d = {d}, k = {k}, {} lr {}, batch {batch}, {steps} steps; primary loss on {eval_n} fresh samples every {eval_every}",
        p.str("optimizer"),
        p.float("lr")
    ));
    let mut eval_rng = stream(seed, TEST);
    let mut probe_rng = stream(seed, PROBE);
    let probe_n = p.usize("snr_samples");
    let evaluate = |runs: &mut [E4Run], step: u64, rng: &mut StdRng, ctx: &mut dyn Ctx| {
        let b = portfolio_batch(rng, eval_n, &stock_of, k, true);
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
        Ok::<(), Halt>(())
    };
    let exact = p.str("snr_probe") == "exact";
    let probe = |runs: &[E4Run], step: u64, rng: &mut StdRng, ctx: &mut dyn Ctx| {
        if exact {
            for r in runs {
                let (e2e, dec) = r.policy.population_snr(&stock_of)?;
                let report = match r.method {
                    Method::EndToEnd => e2e,
                    Method::Decomposition => dec,
                };
                super::emit_snr(ctx, step, r.prefix, &report);
            }
            return Ok(());
        }
        let b = portfolio_batch(rng, probe_n, &stock_of, k, true);
        for r in runs {
            let target = match r.method {
                Method::EndToEnd => PortfolioTarget::Returns(&b.returns),
                Method::Decomposition => PortfolioTarget::Labels(&b.labels),
            };
            let report = r.policy.gradient_snr(&b.idx, target)?;
            super::emit_snr(ctx, step, r.prefix, &report);
        }
        Ok::<(), Halt>(())
    };
    evaluate(&mut runs, 0, &mut eval_rng, ctx)?;
    if probe_n > 0 {
        probe(&runs, 0, &mut probe_rng, ctx)?;
    }
    for step in 1..=steps {
        let mut reported = 0.0;
        for r in runs.iter_mut() {
            let e2e = r.method == Method::EndToEnd;
            let b = portfolio_batch(&mut r.rng, batch, &stock_of, k, e2e);
            let target = if e2e {
                PortfolioTarget::Returns(&b.returns)
            } else {
                PortfolioTarget::Labels(&b.labels)
            };
            let loss = r.policy.train_step(&b.idx, target, &mut r.opt)? as f64;
            r.loss_sum += loss;
            r.loss_n += 1;
            reported += loss;
        }
        ctx.step(step, steps, reported)?;
        if step % eval_every == 0 || step == steps {
            evaluate(&mut runs, step, &mut eval_rng, ctx)?;
        }
        if super::snr_due(p, step, eval_every, step == steps) {
            probe(&runs, step, &mut probe_rng, ctx)?;
        }
    }
    let mut series = Vec::new();
    for r in &runs {
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
    Ok(summary)
}

// ---------------------------------------------------------------------------------------------
// checks

/// E2 at a budget: (k values, steps of both methods, batch, test tuples).
pub fn e2_check_budget(budget: Budget) -> (Vec<usize>, u64, usize, usize) {
    match budget {
        // k = 1 and k = 3: the k = 3 case is the paper's failure (k = 4 fails the same way and
        // costs a third more). With a batch of 64 tuples (192 images per step) the
        // decomposition reaches its plateau (0.86) at about 600 steps, against about 400 with
        // the paper's 200; 800 steps leave a margin, and the check takes about 45 s of one
        // core. The test set of 500 tuples gives the accuracy to about +- 0.02.
        Budget::Quick => (vec![1, 3], E2_QUICK_STEPS, E2_QUICK_BATCH, 500),
        // the spec's check: 2,500 iterations of both methods, the paper's batch and test set
        Budget::Full => (vec![1, 2, 3, 4], 2500, 200, 2000),
    }
}

const E2_QUICK_STEPS: u64 = 800;
const E2_QUICK_BATCH: usize = 64;

fn check_e2(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let (ks, steps, batch, test) = e2_check_budget(budget);
    let mut details = Vec::new();
    let mut pass = true;
    let mut measured = Vec::new();
    for &k in &ks {
        // at the quick budget k = 1 trains end-to-end only: the decomposition adds the same
        // per-image loss to it
        let method = if budget == Budget::Quick && k == 1 {
            "e2e"
        } else {
            "both"
        };
        progress(&format!(
            "E2 k = {k}, {method}, {steps} steps, batch {batch}"
        ));
        let c = run_collect(
            "E2",
            &[
                ("k", k.to_string()),
                ("method", method.into()),
                ("steps_e2e", steps.to_string()),
                ("steps_dec", steps.to_string()),
                ("batch", batch.to_string()),
                ("test_size", test.to_string()),
                ("eval_every", "100".into()),
                ("snr_samples", "0".into()),
            ],
            0,
        )?
        .ctx;
        let e2e = c.series("e2e/test_accuracy");
        let e2e_last = e2e.last().map(|p| p.1).unwrap_or(f64::NAN);
        let e2e_max = e2e.iter().skip(1).map(|p| p.1).fold(0.0f64, f64::max);
        let mut line = format!("k={k}: e2e {e2e_last:.3}");
        if k == 1 {
            let ok = e2e_last >= 0.90;
            pass &= ok;
            details.push(format!(
                "k = 1: end-to-end accuracy {e2e_last:.3} at {steps} (needs >= 0.90){}",
                if ok { "" } else { "  <- FAIL" }
            ));
        }
        if k >= 3 {
            let ok = e2e_max <= 0.56;
            pass &= ok;
            details.push(format!(
                "k = {k}: end-to-end accuracy at most {e2e_max:.3} over {} evaluations (needs <= 0.56 at every one){}",
                e2e.len() - 1,
                if ok { "" } else { "  <- FAIL" }
            ));
        }
        if method == "both" {
            let dec = c.series("dec/test_accuracy");
            let dec_last = dec.last().map(|p| p.1).unwrap_or(f64::NAN);
            let need = [0.90, 0.85, 0.80, 0.75][(k - 1).min(3)];
            let ok = dec_last >= need;
            pass &= ok;
            let at = |s: u64| {
                value_at(dec, s)
                    .map(|v| format!("{v:.2}"))
                    .unwrap_or_else(|| "-".into())
            };
            details.push(format!(
                "k = {k}: decomposition accuracy {dec_last:.3} at {steps} (needs >= {need:.2}); at 100/200/400: {}/{}/{}{}",
                at(100),
                at(200),
                at(400),
                if ok { "" } else { "  <- FAIL" }
            ));
            line.push_str(&format!(", dec {dec_last:.3}"));
            if k >= 3 {
                let gap = dec_last - e2e_last;
                let ok = gap >= 0.25;
                pass &= ok;
                details.push(format!(
                    "k = {k}: gap decomposition - end-to-end {gap:.3} (needs >= 0.25){}",
                    if ok { "" } else { "  <- FAIL" }
                ));
            }
        }
        measured.push(line);
    }
    Ok(CheckOutcome {
        id: "E2",
        paper: match budget {
            Budget::Quick => format!(
                "quick: k=1,3, {steps} steps, batch {batch}, test {test}: e2e k=1 >=0.90; k=3 dec >=0.80, e2e <=0.56 always, gap >=0.25 (paper k=3: e2e 0.48, dec 0.86)"
            ),
            Budget::Full => "2,500 steps: dec >=0.90/0.85/0.80/0.75 (k=1..4), e2e k=1 >=0.90, e2e k=3,4 <=0.56 always, gap >=0.25 (paper: dec 0.945/0.908/0.862/0.839, e2e k>=3 0.48-0.49)".into(),
        },
        measured: measured.join("; "),
        pass,
        details,
    })
}

/// The largest SNR ratio (end-to-end over decomposition) E3's check allows at k >= 2.
///
/// The spec asks for 0.05 at k = 2 and 0.01 from k = 3. The estimate of a signal near zero
/// has a standard error of about 1.6 / n times the noise for n tuples (the 100 gradient
/// numbers move together: they are one ReLU feature vector times a scalar), so with SNR_dec
/// about 1e-3 the ratio's standard error is about 1600 / (n sqrt(inits)): 0.003 at the full
/// budget (150,000 tuples, 5 initialisations), which resolves 0.01; 0.03 at the quick one
/// (25,000), where the check demands 0.1 instead (an end-to-end SNR ten times below the
/// decomposition's, against 1 at k = 1).
pub fn e3_limit(budget: Budget, k: usize) -> f64 {
    match (budget, k) {
        (Budget::Quick, _) => 0.1,
        (Budget::Full, 2) => 0.05,
        (Budget::Full, _) => 0.01,
    }
}

/// E3 at a budget: (k values, initialisations, tuples per estimate).
pub fn e3_check_budget(budget: Budget) -> (Vec<usize>, usize, usize) {
    match budget {
        Budget::Quick => (vec![1, 2, 3, 4], 5, E3_QUICK_SAMPLES),
        Budget::Full => (vec![1, 2, 3, 4], 5, E3_FULL_SAMPLES),
    }
}

const E3_QUICK_SAMPLES: usize = 25_000;
const E3_FULL_SAMPLES: usize = 150_000;

fn check_e3(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let (ks, inits, samples) = e3_check_budget(budget);
    progress(&format!(
        "E3 k = {ks:?}, {inits} initialisations, {samples} tuples per estimate"
    ));
    let ks_text = format!(
        "[{}]",
        ks.iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let s = run_collect(
        "E3",
        &[
            ("ks", ks_text),
            ("inits", inits.to_string()),
            ("samples", samples.to_string()),
        ],
        0,
    )?
    .summary;
    let get = |name: String| s.get(&name).unwrap_or(f64::NAN);
    let mut details = Vec::new();
    let mut pass = true;
    let mut measured = Vec::new();
    let decs: Vec<f64> = ks.iter().map(|k| get(format!("dec_snr_k{k}"))).collect();
    for &k in &ks {
        let ratio = get(format!("ratio_k{k}"));
        let se = get(format!("ratio_se_k{k}"));
        let limit = e3_limit(budget, k);
        let (ok, need) = if k == 1 {
            ((0.5..=2.0).contains(&ratio), "in [0.5, 2]".to_string())
        } else {
            (ratio <= limit, format!("<= {limit}"))
        };
        pass &= ok;
        details.push(format!(
            "k = {k}: SNR end-to-end / decomposition = {ratio:.4} (+- {se:.4}; needs {need}), SNR_dec {:.3e}, SNR_e2e {:.3e}{}",
            get(format!("dec_snr_k{k}")),
            get(format!("e2e_snr_k{k}")),
            if ok { "" } else { "  <- FAIL" }
        ));
        measured.push(format!("k={k}: {ratio:.3}"));
    }
    let lo = decs.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = decs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let spread = hi / lo - 1.0;
    let ok = spread < 0.3;
    pass &= ok;
    details.push(format!(
        "decomposition SNR {lo:.3e} .. {hi:.3e} across k: spread {:.0}% (needs < 30%){}",
        spread * 100.0,
        if ok { "" } else { "  <- FAIL" }
    ));
    Ok(CheckOutcome {
        id: "E3",
        paper: match budget {
            Budget::Quick => format!(
                "quick: {inits} inits, {samples} tuples per estimate (ratio resolution ~0.03): ratio k=1 in [0.5,2], k>=2 <=0.1; dec flat (<30%) (paper: ratio 0.975, ~0.002, ~0.001)"
            ),
            Budget::Full => format!(
                "{inits} inits, {samples} tuples per estimate: ratio k=1 in [0.5,2], k=2 <=0.05, k>=3 <=0.01; dec flat (<30%) (paper: ratio 0.975, ~0.002, ~0.001)"
            ),
        },
        measured: format!(
            "ratio {}; dec SNR {:.1e} (spread {:.0}%)",
            measured.join(", "),
            mean(&decs),
            spread * 100.0
        ),
        pass,
        details,
    })
}

/// E4 at a budget: (k values trained, seeds, k values of the exact SNR at initialisation).
pub fn e4_check_budget(budget: Budget) -> (Vec<usize>, Vec<u64>, Vec<usize>) {
    match budget {
        // k = 2000 behaves as k = 1000 with twice the work per step
        Budget::Quick => (vec![10, 1000], vec![0], vec![10, 100, 1000]),
        Budget::Full => (vec![10, 1000, 2000], vec![0, 1, 2], vec![10, 100, 1000]),
    }
}

fn check_e4(budget: Budget, progress: &mut dyn FnMut(&str)) -> Result<CheckOutcome, String> {
    let (ks, seeds, snr_ks) = e4_check_budget(budget);
    let mut details = Vec::new();
    let mut pass = true;
    let mut measured = Vec::new();
    for &k in &ks {
        for &seed in &seeds {
            progress(&format!("E4 k = {k}, seed {seed}, 2,500 steps"));
            let c = run_collect(
                "E4",
                &[
                    ("k", k.to_string()),
                    ("snr_ks", "[2]".into()),
                    ("snr_samples", "0".into()),
                ],
                seed,
            )?
            .ctx;
            let e2e = c.series("e2e/test_loss");
            let dec = c.series("dec/test_loss");
            let (e_last, d_last) = (
                e2e.last().map(|p| p.1).unwrap_or(f64::NAN),
                dec.last().map(|p| p.1).unwrap_or(f64::NAN),
            );
            if k <= 10 {
                let (re, rd) = (first_at_most(e2e, -0.99), first_at_most(dec, -0.99));
                let (e100, d100) = (
                    value_at(e2e, 100).unwrap_or(f64::NAN),
                    value_at(dec, 100).unwrap_or(f64::NAN),
                );
                let ok = re.is_some_and(|s| s <= 1000) && rd.is_some_and(|s| s <= 1000);
                let faster = d100 < e100;
                pass &= ok && faster;
                details.push(format!(
                    "k = {k}, seed {seed}: loss <= -0.99 at {} (e2e) / {} (dec) (needs <= 1000); at 100: dec {d100:.3} < e2e {e100:.3}{}",
                    fmt_step(re),
                    fmt_step(rd),
                    if ok && faster { "" } else { "  <- FAIL" }
                ));
                measured.push(format!("k={k}: e2e@100 {e100:.2}, dec@100 {d100:.2}"));
            } else {
                let e_max = if k >= 2000 { -0.35 } else { -0.6 };
                let gap = e_last - d_last;
                let ok = d_last <= -0.95 && e_last > e_max && gap >= 0.4;
                pass &= ok;
                details.push(format!(
                    "k = {k}, seed {seed}: at 2,500 dec {d_last:.3} (needs <= -0.95), e2e {e_last:.3} (needs > {e_max}), gap {gap:.3} (needs >= 0.4){}",
                    if ok { "" } else { "  <- FAIL" }
                ));
                measured.push(format!("k={k}: e2e {e_last:.2}, dec {d_last:.2}"));
            }
        }
    }
    progress("E4 exact SNR at initialisation");
    let mut rng = StdRng::seed_from_u64(0);
    let mut ratios = Vec::new();
    for &k in &snr_ks {
        let (e, d) = portfolio_init_snr(&mut rng, 1000, k).map_err(|h| h.to_string())?;
        let ratio = d / e;
        let ok = (ratio / k as f64 - 1.0).abs() <= 0.1;
        pass &= ok;
        details.push(format!(
            "k = {k}: exact SNR at init, decomposition {d:.3e}, end-to-end {e:.3e}, ratio {ratio:.1} (needs within 10% of {k}){}",
            if ok { "" } else { "  <- FAIL" }
        ));
        ratios.push(format!("{ratio:.0}"));
    }
    measured.push(format!("SNR ratio {} for k={snr_ks:?}", ratios.join("/")));
    Ok(CheckOutcome {
        id: "E4",
        paper: format!(
            "{}k=10 both <=-0.99 by 1k, dec faster at 100; k>=1000 dec <=-0.95, e2e >-0.6 (k=1000) / >-0.35 (k=2000), gap >=0.4; SNR ratio ~k (paper: e2e -0.29/-0.24, dec -1.00)",
            if budget == Budget::Quick {
                "quick: k=10 and 1000, one seed; "
            } else {
                ""
            }
        ),
        measured: measured.join("; "),
        pass,
        details,
    })
}
