//! E3: at initialisation, the SNR of the end-to-end and the decomposition gradient at N1's last
//! layer, for several tuple sizes k.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::lines::sample_tuples;
use crate::experiments::common::mean;
use crate::experiments::ctx::{Ctx, Figure, Halt, Summary};
use crate::nn::{LineNet, LineNetConfig, Snr, TupleBatch};
use crate::spec::{ParamDef, Params};

pub(super) fn params() -> Vec<ParamDef> {
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

pub(super) fn validate(p: &Params) -> Result<(), String> {
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

/// What a run measures, fixed by its parameters.
struct Plan {
    ks: Vec<usize>,
    k_max: usize,
    samples: usize,
    full_dec: bool,
}

/// The two gradients' moments for every k.
type KMoments = Vec<(Moments, Moments)>;

/// Tuples per block of images.
const CHUNK_TUPLES: usize = 512;

pub(super) fn run(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let ks: Vec<usize> = p.int_list("ks").iter().map(|&k| k as usize).collect();
    let plan = Plan {
        k_max: *ks.last().expect("validated: not empty"),
        ks,
        samples: p.usize("samples"),
        full_dec: p.str("dec_loss") == "full",
    };
    let inits = p.usize("inits");
    let cfg = LineNetConfig {
        channels: p.usize("channels"),
        n2_width: p.usize("n2_width"),
        ..LineNetConfig::paper(1)
    };
    ctx.log(&format!(
        "E3: SNR at N1's last layer at initialisation, k in {:?}, {inits} initialisations, \
         {} tuples per estimate; decomposition gradient: {}",
        plan.ks,
        plan.samples,
        if plan.full_dec {
            "the full decomposition loss"
        } else {
            "the per-image loss of each tuple's first image (the script's)"
        }
    ));
    let mut points: Vec<E3Point> = plan
        .ks
        .iter()
        .map(|&k| E3Point {
            k,
            ..Default::default()
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let total_work = (inits * plan.samples * plan.k_max) as u64;
    let mut done = 0u64;
    for init in 0..inits {
        let moments = one_init(&plan, cfg, &mut rng, &mut done, total_work, ctx)?;
        record(&mut points, &moments, init, ctx);
    }
    Ok(finish(&points, inits, plan.k_max, ctx))
}

/// The moments of both gradients for every k, at one initialisation of N1 (with a fresh N2 per
/// k). One pool of images serves every k: tuple i of size k is images i k .. i k + k, so each k
/// sees `samples` independent tuples.
fn one_init(
    plan: &Plan,
    cfg: LineNetConfig,
    rng: &mut StdRng,
    done: &mut u64,
    total_work: u64,
    ctx: &mut dyn Ctx,
) -> Result<KMoments, Halt> {
    let n1 = LineNet::new(cfg, rng)?;
    let nets: Vec<LineNet> = plan
        .ks
        .iter()
        .map(|&k| n1.with_new_n2(k, rng))
        .collect::<Result<_, _>>()?;
    let mut moments: KMoments = plan
        .ks
        .iter()
        .map(|_| (Moments::new(100), Moments::new(100)))
        .collect();
    let mut data_rng = StdRng::seed_from_u64(rng.gen());
    // images are drawn in blocks of `CHUNK_TUPLES * k_max`; every k takes whole tuples
    let block = CHUNK_TUPLES * plan.k_max;
    let pool = plan.samples * plan.k_max;
    for start in (0..pool).step_by(block) {
        let m = block.min(pool - start);
        let imgs = sample_tuples(&mut data_rng, m, 1);
        let (feats, scores) = n1.image_features(&imgs.images, m)?;
        let width = feats.len() / m;
        for ((net, &k), (me, md)) in nets.iter().zip(&plan.ks).zip(moments.iter_mut()) {
            // tuples of this k that lie in [start, start + m) and below samples * k
            let end = (start + m).min(plan.samples * k);
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
            md.add_rows(if plan.full_dec {
                &g.decomposition
            } else {
                &g.first_image
            });
        }
        *done += m as u64;
        ctx.step(*done, total_work, 0.0)?;
    }
    Ok(moments)
}

/// Adds one initialisation's SNR estimates to every k's point.
fn record(points: &mut [E3Point], moments: &KMoments, init: usize, ctx: &mut dyn Ctx) {
    for (pt, (me, md)) in points.iter_mut().zip(moments) {
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

/// The curves of the figure, in log10: end-to-end where it is resolved, its upper bound, and
/// the decomposition.
#[derive(Default)]
struct Curves {
    e2e: Vec<(f64, f64)>,
    bound: Vec<(f64, f64)>,
    dec: Vec<(f64, f64)>,
}

/// The means over initialisations, as metrics, summary and figure.
fn finish(points: &[E3Point], inits: usize, k_max: usize, ctx: &mut dyn Ctx) -> Summary {
    let mut summary = Summary::default();
    let mut curves = Curves::default();
    let n_inits = inits as f64;
    for pt in points {
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
            curves.e2e.push((pt.k as f64, e.log10()));
        }
        let bound = e.max(0.0) + 2.0 * se_e;
        if bound > 0.0 {
            curves.bound.push((pt.k as f64, bound.log10()));
        }
        if d > 0.0 {
            curves.dec.push((pt.k as f64, d.log10()));
        }
    }
    ctx.figure(k_max as u64, figure(curves, inits));
    summary
}

fn figure(curves: Curves, inits: usize) -> Figure {
    Figure::Curves {
        title: format!(
            "E3: SNR at N1's last layer vs k (mean of {inits} inits; end-to-end drawn where above 2 se)"
        ),
        x_label: "k".into(),
        y_label: "log10 SNR".into(),
        series: vec![
            ("end-to-end".into(), curves.e2e),
            ("end-to-end at most (+2 se)".into(), curves.bound),
            ("decomposition".into(), curves.dec),
        ],
    }
}
