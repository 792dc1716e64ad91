//! What the trained models of part 3 (E6-E9) share: batches drawn from the fixed training set,
//! the errors of the decoded validation curves, the figure of the two example curves, and the
//! time the gradient-SNR probe takes.

use std::time::Duration;

use rand::Rng;

use super::curves::{check_curves, decode, example_curves, xy, CurveDist, Curves, BATCH_STREAM};
use crate::experiments::ctx::{Ctx, Figure};
use crate::experiments::state::{stream_from, StateReader, StateWriter, Stream};
use crate::spec::Params;

/// The checks across parameters of E6-E9: the curves fit n and k, and the probe batch fits in
/// the training set.
pub(super) fn validate(p: &Params) -> Result<(), String> {
    check_curves(p)?;
    if p.int("probe") > p.int("train_size") {
        return Err(format!(
            "probe = {} is larger than train_size = {}",
            p.int("probe"),
            p.int("train_size")
        ));
    }
    Ok(())
}

/// Validation numbers of a model that outputs `p-hat` (decoded as `p-hat . W`) or `f-hat`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CurveErrors {
    /// mean over all coordinates of (output - target)^2
    pub(super) mse: f64,
    /// RMSE of the decoded curves against f
    pub(super) curve_rmse: f64,
    /// mean over curves of max_x |decoded - f|
    pub(super) max_err_mean: f64,
}

/// Errors of `out` (predictions of `target`) on the validation curves; `decode_p` says the
/// outputs are encodings to decode with `W` before comparing with `f`.
pub(super) fn curve_errors(
    val: &Curves,
    out: &[f64],
    target: &[f32],
    decode_p: bool,
) -> CurveErrors {
    let n = val.n;
    let mse = out
        .iter()
        .zip(target)
        .map(|(&a, &b)| (a - b as f64).powi(2))
        .sum::<f64>()
        / out.len().max(1) as f64;
    let (mut sq, mut max_sum) = (0.0, 0.0);
    for i in 0..val.count {
        let row = &out[i * n..(i + 1) * n];
        let fh: Vec<f64> = if decode_p { decode(row) } else { row.to_vec() };
        let mut worst = 0.0f64;
        for (a, &b) in fh.iter().zip(val.f_row(i)) {
            let e = (a - b as f64).abs();
            sq += e * e;
            worst = worst.max(e);
        }
        max_sum += worst;
    }
    CurveErrors {
        mse,
        curve_rmse: (sq / (val.count * n).max(1) as f64).sqrt(),
        max_err_mean: max_sum / val.count.max(1) as f64,
    }
}

/// The rows `idx` of the training set: inputs `f` into `x`, and encodings `p` into `y` if asked.
pub(super) fn gather_batch(
    data: &Curves,
    idx: &[usize],
    x: &mut Vec<f32>,
    y: Option<&mut Vec<f32>>,
) {
    x.clear();
    for &i in idx {
        x.extend_from_slice(data.f_row(i));
    }
    if let Some(y) = y {
        y.clear();
        for &i in idx {
            y.extend_from_slice(data.p_row(i));
        }
    }
}

/// The two curves the figures follow: [`example_curves`], or the first two validation curves
/// where those do not fit.
pub(super) fn figure_curves(dist: CurveDist, n: usize, k: usize, val: &Curves) -> Curves {
    example_curves(dist, n, k).unwrap_or_else(|| {
        let mut c = Curves::with_capacity(n, 2);
        for i in 0..2.min(val.count) {
            let f: Vec<f64> = val.f_row(i).iter().map(|&v| v as f64).collect();
            let p: Vec<f64> = val.p_row(i).iter().map(|&v| v as f64).collect();
            c.push(&f, &p);
        }
        c
    })
}

/// Figure of the example curves: true `f` and the model's decoded curve.
pub(super) fn curves_figure(id: &str, step: u64, ex: &Curves, decoded: &[Vec<f64>]) -> Figure {
    let mut series = Vec::new();
    for (i, name) in ["A", "B"].iter().enumerate() {
        series.push((
            format!("{name} true"),
            xy(&ex.f_row(i).iter().map(|&v| v as f64).collect::<Vec<_>>()),
        ));
        series.push((format!("{name} decoded"), xy(&decoded[i])));
    }
    Figure::Curves {
        title: format!("{id} at step {step}: true curves and the decoded ones"),
        x_label: "x".into(),
        y_label: "f(x)".into(),
        series,
    }
}

/// Batches drawn with replacement from a fixed training set, from the run's batch stream.
pub(super) struct Batches {
    rng: Stream,
    idx: Vec<usize>,
    /// The inputs `f` of the last batch.
    pub(super) x: Vec<f32>,
    /// Their encodings `p`, where asked for.
    pub(super) y: Vec<f32>,
}

impl Batches {
    pub(super) fn new(seed: u64, batch: usize, n: usize, with_p: bool) -> Self {
        Self {
            rng: stream_from(seed ^ BATCH_STREAM),
            idx: vec![0usize; batch],
            x: Vec::with_capacity(batch * n),
            y: Vec::with_capacity(if with_p { batch * n } else { 0 }),
        }
    }

    /// The next batch; `with_p` also fills `y`.
    pub(super) fn draw(&mut self, train: &Curves, with_p: bool) {
        for i in self.idx.iter_mut() {
            *i = self.rng.gen_range(0..train.count);
        }
        gather_batch(train, &self.idx, &mut self.x, with_p.then_some(&mut self.y));
    }

    /// The stream's position, for a checkpoint.
    pub(super) fn save(&self, w: &mut StateWriter) {
        w.stream(&self.rng);
    }

    /// The stream's position put back.
    pub(super) fn load(&mut self, r: &mut StateReader<'_>) -> Result<(), String> {
        self.rng = r.stream()?;
        Ok(())
    }
}

impl CurveErrors {
    pub(super) fn save(&self, w: &mut StateWriter) {
        w.f64(self.mse).f64(self.curve_rmse).f64(self.max_err_mean);
    }

    pub(super) fn load(r: &mut StateReader<'_>) -> Result<Self, String> {
        Ok(Self {
            mse: r.f64()?,
            curve_rmse: r.f64()?,
            max_err_mean: r.f64()?,
        })
    }
}

/// Where a run's time goes: training steps and gradient-SNR probes.
#[derive(Debug, Default)]
pub(super) struct Timing {
    pub(super) train: Duration,
    pub(super) probe: Duration,
    pub(super) probes: u32,
}

impl Timing {
    /// The log line on the probe's share of the time.
    pub(super) fn log(&self, probe: usize, ctx: &mut dyn Ctx) {
        ctx.log(&format!(
            "gradient-SNR probe: {} probes of {probe} curves took {:.1} ms, {:.1}% of the {:.2} s \
             spent in training steps",
            self.probes,
            self.probe.as_secs_f64() * 1e3,
            100.0 * self.probe.as_secs_f64() / self.train.as_secs_f64().max(1e-9),
            self.train.as_secs_f64()
        ));
    }
}
