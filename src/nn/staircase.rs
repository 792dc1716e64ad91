//! The staircase of spec part 4 (paper section 5) and the models built on it.
//!
//! - [`Staircase`]: u(r) = the largest level z_i with z_i <= r (E10), its class mapping, and the
//!   sum-of-sigmoids surrogate ũ of E11 with the per-step slopes c_i = 5L/Δ_i and centres
//!   m_i = z_i - Δ_i/(2L) of the authors' code (L = 10: c_i = 50/Δ_i, m_i = z_i - Δ_i/20).
//! - [`LinearScore`]: a linear score s = w.x + b followed by one of three [`Head`]s, trained
//!   through dfdx with an [`Optimizer`]: the surrogate ũ(s) (E11), the exact staircase u(s) with
//!   a straight-through backward (E14, the "forward-only" update), or nothing (plain s).
//!
//! Both non-plain heads are elementwise, so they enter the tape as `(s - sg(s)) * sg(f'(s)) +
//! sg(f(s))`, with `sg` a constant copy (no gradient) and f, f' evaluated on the host:
//! `s - sg(s)` is exactly 0 in floating point, so the forward value is exactly f(s), and the
//! gradient flowing into s is the upstream gradient times f'(s). The straight-through head
//! uses f = u with f' taken as 1: the upstream gradient passes unchanged, as if u were the
//! identity (the spec's `s + stop_gradient(u(s) - s)`, with an exact forward value).

use dfdx::prelude::*;
use rand::Rng;

use dfdx::tensor::Cpu;

use super::device::{on_device, place, Backend};
use super::init::truncated_normal;
use super::optim::Optimizer;
use super::snr::{gradient_snr, SnrReport};
use super::{err, NnError, NnResult};

type Mat<T = NoneTape, D = Cpu> = Tensor<(usize, usize), f32, D, T>;
type Vector<D = Cpu> = Tensor<(usize,), f32, D>;

/// Levels of the authors' staircase relative to b*, before removing duplicates: a coarse grid
/// b* + {-100, -95, ..., 95} and a fine one near b*. Together: 52 distinct levels, 51 steps.
pub const COARSE_OFFSETS: (i32, i32, i32) = (-100, 95, 5);
pub const FINE_OFFSETS: [f64; 15] = [
    -5.0, -4.0, -3.0, -2.0, -1.0, -0.2, 0.0, 0.1, 0.15, 0.175, 1.0, 2.0, 3.0, 4.0, 5.0,
];

/// The surrogate's sharpness L of the authors' code: c_i = 5L/Δ_i, m_i = z_i - Δ_i/(2L).
pub const PAPER_SHARPNESS: f64 = 10.0;

/// A non-decreasing staircase with levels z_0 < z_1 < ... < z_K:
/// u(r) = z_j for the largest j with z_j <= r, and z_0 below z_0.
#[derive(Debug, Clone, PartialEq)]
pub struct Staircase {
    z: Vec<f64>,
}

impl Staircase {
    /// The spec's grid (E10) shifted by `b_star`: 52 levels.
    pub fn paper(b_star: f64) -> Self {
        let (lo, hi, step) = COARSE_OFFSETS;
        let mut offsets: Vec<f64> = (lo..=hi).step_by(step as usize).map(|v| v as f64).collect();
        for &f in &FINE_OFFSETS {
            if !offsets.contains(&f) {
                offsets.push(f);
            }
        }
        offsets.sort_by(|a, b| a.total_cmp(b));
        Self {
            z: offsets.into_iter().map(|o| b_star + o).collect(),
        }
    }

    /// A staircase with these levels (finite, strictly increasing, at least two).
    pub fn from_levels(levels: Vec<f64>) -> Result<Self, String> {
        if levels.len() < 2 {
            return Err(format!(
                "a staircase needs at least 2 levels, got {}",
                levels.len()
            ));
        }
        if levels.iter().any(|z| !z.is_finite()) {
            return Err("staircase levels must be finite".into());
        }
        if let Some(w) = levels.windows(2).find(|w| w[1] <= w[0]) {
            return Err(format!(
                "staircase levels must increase strictly: {} is followed by {}",
                w[0], w[1]
            ));
        }
        Ok(Self { z: levels })
    }

    pub fn levels(&self) -> &[f64] {
        &self.z
    }

    pub fn num_levels(&self) -> usize {
        self.z.len()
    }

    /// Number of jumps, one fewer than the levels.
    pub fn num_steps(&self) -> usize {
        self.z.len() - 1
    }

    /// Step heights Δ_i = z_i - z_{i-1}, i = 1..=K.
    pub fn heights(&self) -> Vec<f64> {
        self.z.windows(2).map(|w| w[1] - w[0]).collect()
    }

    /// Index of the largest level z_j <= r (0 below z_0).
    pub fn level_index(&self, r: f64) -> usize {
        self.z.partition_point(|&z| z <= r).saturating_sub(1)
    }

    /// u(r).
    pub fn u(&self, r: f64) -> f64 {
        self.z[self.level_index(r)]
    }

    /// The class of a label y (a level, possibly rounded to f32): the index of the largest
    /// z_j <= y, with a tolerance of a thousandth of the smallest step for the rounding.
    pub fn class_of(&self, y: f64) -> usize {
        let tol = 1e-3 * self.heights().into_iter().fold(f64::INFINITY, f64::min);
        self.level_index(y + tol)
    }

    /// Index of the level nearest to `v` (the lower one on a tie).
    pub fn nearest_level(&self, v: f64) -> usize {
        let hi = self.z.partition_point(|&z| z < v);
        if hi == 0 {
            0
        } else if hi == self.z.len() || v - self.z[hi - 1] <= self.z[hi] - v {
            hi - 1
        } else {
            hi
        }
    }

    /// Distance from r to the nearest jump z_1..z_K.
    pub fn boundary_distance(&self, r: f64) -> f64 {
        let i = self.z.partition_point(|&z| z < r);
        let mut best = f64::INFINITY;
        for j in [i.saturating_sub(1), i] {
            if (1..self.z.len()).contains(&j) {
                best = best.min((r - self.z[j]).abs());
            }
        }
        best
    }

    /// Surrogate slopes c_i = 5L/Δ_i, one per step.
    pub fn slopes(&self, sharpness: f64) -> Vec<f64> {
        self.heights()
            .into_iter()
            .map(|d| 5.0 * sharpness / d)
            .collect()
    }

    /// Surrogate centres m_i = z_i - Δ_i/(2L), one per step.
    pub fn centres(&self, sharpness: f64) -> Vec<f64> {
        self.z
            .windows(2)
            .map(|w| w[1] - (w[1] - w[0]) / (2.0 * sharpness))
            .collect()
    }

    /// ũ(s) = z_0 + Σ_i Δ_i σ(c_i (s - m_i)).
    pub fn surrogate(&self, s: f64, sharpness: f64) -> f64 {
        self.surrogate_with_derivative(s, sharpness).0
    }

    /// dũ/ds.
    pub fn surrogate_derivative(&self, s: f64, sharpness: f64) -> f64 {
        self.surrogate_with_derivative(s, sharpness).1
    }

    /// (ũ(s), dũ/ds). Terms with |c_i (s - m_i)| > 40 count as fully on or off: what they
    /// leave out is below Δ_i e^-40, under f64 precision.
    pub fn surrogate_with_derivative(&self, s: f64, sharpness: f64) -> (f64, f64) {
        let (mut v, mut g) = (self.z[0], 0.0);
        for w in self.z.windows(2) {
            let d = w[1] - w[0];
            let c = 5.0 * sharpness / d;
            let a = c * (s - (w[1] - d / (2.0 * sharpness)));
            if a > 40.0 {
                v += d;
            } else if a >= -40.0 {
                let sg = sigmoid(a);
                v += d * sg;
                g += d * c * sg * (1.0 - sg);
            }
        }
        (v, g)
    }
}

fn sigmoid(a: f64) -> f64 {
    if a >= 0.0 {
        1.0 / (1.0 + (-a).exp())
    } else {
        let e = a.exp();
        e / (1.0 + e)
    }
}

/// What follows the linear score s = w.x + b.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Head {
    /// ũ(s), the sum of sigmoids with sharpness L (E11).
    Surrogate { sharpness: f64 },
    /// u(s) forward, identity backward (E14).
    StraightThrough,
    /// s itself.
    Plain,
}

/// A linear score s = w.x + b (w: `inputs` numbers, b: one) followed by a [`Head`], trained
/// on the mean squared error against targets. Placed on the current device
/// ([`crate::nn::current_device`]) when built; the heads are evaluated on the host.
pub struct LinearScore(Placed);

enum Placed {
    Cpu(ScoreOn<Cpu>),
    #[cfg(feature = "cuda")]
    Cuda(ScoreOn<dfdx::tensor::Cuda>),
}

impl LinearScore {
    /// w from a truncated normal with std `1/sqrt(inputs)` (0.1 at the paper's N = 100), b
    /// at `b_init`.
    ///
    /// # Panics
    /// When the current device is a GPU that fails (out of memory, a driver error): the
    /// engine ends the run as failed with the message.
    pub fn new<R: Rng + ?Sized>(
        inputs: usize,
        stair: Staircase,
        head: Head,
        b_init: f32,
        rng: &mut R,
    ) -> Self {
        let w = truncated_normal(rng, inputs, 1.0 / (inputs as f32).sqrt());
        match Self::from_weights(w, b_init, stair, head) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    /// A model with the given weights.
    pub fn from_weights(w: Vec<f32>, b: f32, stair: Staircase, head: Head) -> NnResult<Self> {
        if w.is_empty() {
            return Err(NnError("a linear score needs at least one input".into()));
        }
        if let Head::Surrogate { sharpness } = head {
            if !(sharpness.is_finite() && sharpness > 0.0) {
                return Err(NnError(format!(
                    "surrogate sharpness must be > 0, got {sharpness}"
                )));
            }
        }
        Ok(LinearScore(
            place!(dev => ScoreOn::from_weights(dev, w, b, stair, head)),
        ))
    }

    pub fn inputs(&self) -> usize {
        on_device!(&self.0, m => m.inputs())
    }

    pub fn head(&self) -> Head {
        on_device!(&self.0, m => m.head)
    }

    pub fn staircase(&self) -> &Staircase {
        on_device!(&self.0, m => &m.stair)
    }

    /// The weights w.
    pub fn w(&self) -> Vec<f32> {
        on_device!(&self.0, m => m.w.as_vec())
    }

    /// The bias b.
    pub fn b(&self) -> f32 {
        on_device!(&self.0, m => m.b.as_vec()[0])
    }

    /// Names and sizes of the parameter blocks in the order of flattened gradients.
    pub fn param_layout(&self) -> Vec<(String, usize)> {
        vec![("w".into(), self.inputs()), ("b".into(), 1)]
    }

    /// The parameters (w, then b) and `opt`'s state for them, for a checkpoint.
    pub fn snapshot(&self, opt: &mut Optimizer) -> NnResult<crate::nn::TrainSnapshot> {
        use crate::nn::snapshot::{take_snapshot, ParamRef};
        on_device!(&self.0, m => take_snapshot(
            [ParamRef::Mat(&m.w), ParamRef::Vec(&m.b)].into_iter(),
            opt,
        ))
    }

    /// Writes a checkpoint's parameters and optimizer state back (the same shapes).
    pub fn restore(&mut self, opt: &mut Optimizer, s: &crate::nn::TrainSnapshot) -> NnResult<()> {
        use crate::nn::snapshot::{restore_snapshot, ParamMut};
        on_device!(&mut self.0, m => restore_snapshot(
            [ParamMut::Mat(&mut m.w), ParamMut::Vec(&mut m.b)].into_iter(),
            opt,
            s,
        ))
    }

    /// Scores s = w.x + b, one per sample.
    pub fn scores(&self, x: &[f32], batch: usize) -> NnResult<Vec<f32>> {
        on_device!(&self.0, m => m.scores(x, batch))
    }

    /// Outputs (the head applied to the scores), one per sample.
    pub fn forward(&self, x: &[f32], batch: usize) -> NnResult<Vec<f32>> {
        on_device!(&self.0, m => m.forward(x, batch))
    }

    /// The head alone applied to given scores.
    pub fn head_forward(&self, s: &[f32]) -> NnResult<Vec<f32>> {
        on_device!(&self.0, m => m.head_forward(s))
    }

    /// The gradient, computed by backprop through the head, of Σ_i a_i head(s_i) with respect
    /// to each s_i. For the straight-through head it is `a` itself.
    pub fn head_vjp(&self, s: &[f32], upstream: &[f32]) -> NnResult<Vec<f32>> {
        on_device!(&self.0, m => m.head_vjp(s, upstream))
    }

    /// Mean squared error of the outputs against `y` (one per sample), no update.
    pub fn loss(&self, x: &[f32], y: &[f32], batch: usize) -> NnResult<f32> {
        on_device!(&self.0, m => m.loss(x, y, batch))
    }

    /// One optimizer step on the mean squared error against `y`; returns the loss before it.
    pub fn train_step(
        &mut self,
        x: &[f32],
        y: &[f32],
        batch: usize,
        opt: &mut Optimizer,
    ) -> NnResult<f32> {
        on_device!(&mut self.0, m => m.train_step(x, y, batch, opt))
    }

    /// The gradient of the mean squared error on the batch, flattened as
    /// [`LinearScore::param_layout`] (w, then b).
    pub fn loss_and_grads(&self, x: &[f32], y: &[f32], batch: usize) -> NnResult<(f32, Vec<f32>)> {
        on_device!(&self.0, m => m.loss_and_grads(x, y, batch))
    }

    /// One gradient of the squared error per sample (`batch x (inputs + 1)`, row-major).
    ///
    /// The score is linear, so sample i's gradient is g_i (x_i, 1) with g_i the derivative
    /// of its loss with respect to its score; one backward pass through the head with the
    /// scores as leaves gives every g_i.
    pub fn per_sample_grads(&self, x: &[f32], y: &[f32], batch: usize) -> NnResult<Vec<f32>> {
        on_device!(&self.0, m => m.per_sample_grads(x, y, batch))
    }

    /// Gradient SNR (whole model, w and b) from per-sample gradients on a probe batch.
    pub fn gradient_snr(&self, x: &[f32], y: &[f32], batch: usize) -> NnResult<SnrReport> {
        let rows = self.per_sample_grads(x, y, batch)?;
        Ok(gradient_snr(&rows, batch, &self.param_layout()))
    }
}

/// A [`LinearScore`] on device `D`.
struct ScoreOn<D: Backend> {
    dev: D,
    w: Mat<NoneTape, D>,
    b: Vector<D>,
    stair: Staircase,
    head: Head,
}

impl<D: Backend> ScoreOn<D> {
    fn from_weights(dev: D, w: Vec<f32>, b: f32, stair: Staircase, head: Head) -> Self {
        let inputs = w.len();
        Self {
            w: dev.tensor_from_vec(w, (inputs, 1)),
            b: dev.tensor_from_vec(vec![b], (1,)),
            dev,
            stair,
            head,
        }
    }

    fn inputs(&self) -> usize {
        self.w.shape().0
    }

    fn input(&self, x: &[f32], batch: usize) -> NnResult<Mat<NoneTape, D>> {
        super::ops::input_matrix(&self.dev, x, batch, self.inputs())
    }

    fn column(&self, v: &[f32], batch: usize, what: &str) -> NnResult<Mat<NoneTape, D>> {
        if v.len() != batch {
            return Err(NnError(format!(
                "{what}: {} numbers, expected {batch}",
                v.len()
            )));
        }
        Ok(self.dev.tensor_from_vec(v.to_vec(), (batch, 1)))
    }

    fn score_t<T: Tape<f32, D> + Merge<T>>(&self, x: Mat<T, D>) -> Mat<T, D> {
        let (batch, _) = *x.shape();
        x.matmul(self.w.retaped::<T>())
            + self
                .b
                .retaped::<T>()
                .broadcast_like::<_, Axis<0>>(&(batch, 1))
    }

    /// The head as an elementwise op whose value and derivative are evaluated on the host:
    /// `(s - sg(s)) * sg(f'(s)) + sg(f(s))`. The first product is exactly 0 in floating
    /// point, so the forward value is exactly f(s); backprop sees a linear function of s with
    /// slope f'(s). For the straight-through head, f = u and f' is taken to be 1.
    fn head_t<T: Tape<f32, D> + Merge<NoneTape>>(&self, s: Mat<T, D>) -> Mat<T, D> {
        let (batch, _) = *s.shape();
        let vals = s.as_vec();
        let (value, slope): (Vec<f32>, Option<Vec<f32>>) = match self.head {
            Head::Plain => return s,
            Head::StraightThrough => (
                vals.iter()
                    .map(|&v| self.stair.u(v as f64) as f32)
                    .collect(),
                None,
            ),
            Head::Surrogate { sharpness } => {
                let (v, d): (Vec<f32>, Vec<f32>) = vals
                    .iter()
                    .map(|&v| {
                        let (f, g) = self.stair.surrogate_with_derivative(v as f64, sharpness);
                        (f as f32, g as f32)
                    })
                    .unzip();
                (v, Some(d))
            }
        };
        // fresh tensors (new ids): constants as far as the tape is concerned
        let s_const: Mat<NoneTape, D> = self.dev.tensor_from_vec(vals, (batch, 1));
        let value: Mat<NoneTape, D> = self.dev.tensor_from_vec(value, (batch, 1));
        let zero = s - s_const;
        match slope {
            None => zero + value,
            Some(d) => {
                let d: Mat<NoneTape, D> = self.dev.tensor_from_vec(d, (batch, 1));
                zero * d + value
            }
        }
    }

    /// Scores s = w.x + b, one per sample.
    fn scores(&self, x: &[f32], batch: usize) -> NnResult<Vec<f32>> {
        Ok(self.score_t(self.input(x, batch)?).as_vec())
    }

    /// Outputs (the head applied to the scores), one per sample.
    fn forward(&self, x: &[f32], batch: usize) -> NnResult<Vec<f32>> {
        Ok(self.head_t(self.score_t(self.input(x, batch)?)).as_vec())
    }

    /// The head alone applied to given scores.
    fn head_forward(&self, s: &[f32]) -> NnResult<Vec<f32>> {
        Ok(self.head_t(self.column(s, s.len(), "scores")?).as_vec())
    }

    /// The gradient, computed by backprop through the head, of Σ_i a_i head(s_i) with respect
    /// to each s_i. For the straight-through head it is `a` itself.
    fn head_vjp(&self, s: &[f32], upstream: &[f32]) -> NnResult<Vec<f32>> {
        let n = s.len();
        let s_t = self.column(s, n, "scores")?;
        let a = self.column(upstream, n, "upstream gradient")?;
        let out = self.head_t(s_t.retaped::<OwnedTape<f32, D>>());
        let mut grads = (out * a).sum().backward();
        grads.try_alloc_for(&s_t).map_err(err)?;
        Ok(grads.get(&s_t).as_vec())
    }

    /// Mean squared error of the outputs against `y` (one per sample), no update.
    fn loss(&self, x: &[f32], y: &[f32], batch: usize) -> NnResult<f32> {
        let t = self.column(y, batch, "mean squared error")?;
        let out = self.head_t(self.score_t(self.input(x, batch)?));
        Ok((out - t).square().mean::<(), _>().array())
    }

    /// One optimizer step on the mean squared error against `y`; returns the loss before it.
    fn train_step(
        &mut self,
        x: &[f32],
        y: &[f32],
        batch: usize,
        opt: &mut Optimizer,
    ) -> NnResult<f32> {
        let t = self.column(y, batch, "mean squared error")?;
        let x = self.input(x, batch)?.leaky_traced();
        let out = self.head_t(self.score_t(x));
        let loss = (out - t).square().mean();
        let value = loss.array();
        let mut grads = loss.backward();
        opt.begin_step();
        opt.update(&mut self.w, &mut grads)?;
        opt.update(&mut self.b, &mut grads)?;
        Ok(value)
    }

    /// The gradient of the mean squared error on the batch, flattened as
    /// [`LinearScore::param_layout`] (w, then b).
    fn loss_and_grads(&self, x: &[f32], y: &[f32], batch: usize) -> NnResult<(f32, Vec<f32>)> {
        let t = self.column(y, batch, "mean squared error")?;
        let x = self.input(x, batch)?.leaky_traced();
        let out = self.head_t(self.score_t(x));
        let loss = (out - t).square().mean();
        let value = loss.array();
        let mut grads = loss.backward();
        grads.try_alloc_for(&self.w).map_err(err)?;
        grads.try_alloc_for(&self.b).map_err(err)?;
        let mut flat = grads.get(&self.w).as_vec();
        flat.extend(grads.get(&self.b).as_vec());
        Ok((value, flat))
    }

    /// One gradient of the squared error per sample (`batch x (inputs + 1)`, row-major).
    ///
    /// The score is linear, so sample i's gradient is g_i (x_i, 1) with g_i the derivative
    /// of its loss with respect to its score; one backward pass through the head with the
    /// scores as leaves gives every g_i.
    fn per_sample_grads(&self, x: &[f32], y: &[f32], batch: usize) -> NnResult<Vec<f32>> {
        let d = self.inputs();
        let s = self.scores(x, batch)?;
        let t = self.column(y, batch, "mean squared error")?;
        let s_t = self.column(&s, batch, "scores")?;
        let out = self.head_t(s_t.retaped::<OwnedTape<f32, D>>());
        let mut grads = (out - t).square().sum().backward();
        grads.try_alloc_for(&s_t).map_err(err)?;
        let g = grads.get(&s_t).as_vec();
        let mut rows = Vec::with_capacity(batch * (d + 1));
        for (i, gi) in g.iter().enumerate() {
            rows.extend(x[i * d..(i + 1) * d].iter().map(|v| gi * v));
            rows.push(*gi);
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straight_through_passes_the_upstream_gradient_at_the_tensor_level() {
        let stair = Staircase::paper(0.3);
        let m = LinearScore::from_weights(vec![1.0], 0.0, stair.clone(), Head::StraightThrough)
            .unwrap();
        #[allow(irrefutable_let_patterns)]
        let Placed::Cpu(m) = &m.0
        else {
            panic!("the tests build on the CPU")
        };
        let dev = crate::nn::device::host_device();
        let s_vals = vec![0.05f32, 0.31, 0.29, 0.4, -2.0, 1.7];
        let a_vals = vec![1.5f32, -0.25, 3.0, 0.0, -7.0, 0.125];
        let s: Mat = dev.tensor_from_vec(s_vals.clone(), (6, 1));
        let a: Mat = dev.tensor_from_vec(a_vals.clone(), (6, 1));
        let out = m.head_t(s.retaped::<OwnedTape<f32, Cpu>>());
        let vals = out.as_vec();
        for (o, &sv) in vals.iter().zip(&s_vals) {
            assert_eq!(*o, stair.u(sv as f64) as f32);
        }
        let grads = (out * a).sum().backward();
        assert_eq!(grads.get(&s).as_vec(), a_vals);
    }
}
