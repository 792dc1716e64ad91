//! Bias-free linear models for the piecewise-linear curve experiments (spec part 3):
//!
//! - [`LinearMap`]: `y = x . U`, a full `inputs x outputs` matrix with no bias, which may start
//!   at zero (E6);
//! - [`Conv1d`]: a causal 1-D convolution with `taps` weights and no bias,
//!   `y_t = sum_k w_k x_{t-k}` with `x_{t-k} = 0` before the start of the signal, optionally
//!   through a fixed `taps x taps` conditioner `M` applied to each input row
//!   (`y_t = [x_t, x_{t-1}, ...] . M . w`), which is how E8 whitens the rows (E7, E8).
//!
//! The convolution is built as im2col: the window of inputs of every output position is laid
//! out on the host as a column (the inputs are data: no gradient flows back into them), and
//! the filter row multiplies all columns in one `matmul`. (dfdx's generic `gather` kernel did
//! the same im2col several times slower at these sizes.)
//!
//! Both models take the [`Loss`] enum of [`super::Mlp`] and a `loss_scale` multiplying it (E6
//! trains on the batch mean of the per-sample *sum* of squared errors, which is `outputs` times
//! the mean over all elements). Per-sample gradients come from one backward pass with the
//! parameters copied once per sample ("expanded weights"): the gradient with respect to copy
//! `i` is the gradient of sample `i`'s loss alone.

use dfdx::prelude::*;

use super::device::host_device;

/// Trains on the host on every device (see docs/ARCHITECTURE.md).
type Dev = dfdx::tensor::Cpu;
use super::loss::Loss;
use super::optim::Optimizer;
use super::{err, NnError, NnResult};

use super::ops::Mat;
type Tape3 = OwnedTape<f32, Dev>;

/// The loss of a batch of outputs: the [`Loss`] reduction times `scale`. With `per_sample_sum`,
/// losses that average over the batch are summed over it instead, so that the result is the
/// sum of each sample's own loss (for gradients with respect to per-sample parameter copies).
fn loss_tensor<T: Tape<f32, Dev> + Merge<T> + Default>(
    dev: &Dev,
    out: Mat<T>,
    loss: Loss<'_>,
    scale: f32,
    per_sample_sum: bool,
) -> NnResult<Tensor<(), f32, Dev, T>> {
    let batch = out.shape().0 as f32;
    let factor = match loss {
        // already a sum over the batch
        Loss::OutputSum => scale,
        _ if per_sample_sum => scale * batch,
        _ => scale,
    };
    Ok(super::ops::loss_tensor(dev, out, loss)? * factor)
}

fn check_scale(scale: f32) -> NnResult<()> {
    if scale.is_finite() && scale > 0.0 {
        Ok(())
    } else {
        Err(NnError(format!(
            "loss scale must be a positive number, got {scale}"
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// LinearMap

/// `y = x . U` with `U` an `inputs x outputs` matrix and no bias.
pub struct LinearMap {
    dev: Dev,
    w: Mat,
    loss_scale: f32,
}

impl LinearMap {
    /// All weights zero (E6 starts there).
    pub fn zeros(inputs: usize, outputs: usize) -> Self {
        Self::from_weights(inputs, outputs, vec![0.0; inputs * outputs])
            .expect("a zero matrix of the given shape fits")
    }

    /// A map with the given weights (`inputs x outputs`, row-major).
    pub fn from_weights(inputs: usize, outputs: usize, w: Vec<f32>) -> NnResult<Self> {
        if inputs == 0 || outputs == 0 {
            return Err(NnError(format!(
                "a linear map needs at least one input and one output, got {inputs} x {outputs}"
            )));
        }
        if w.len() != inputs * outputs {
            return Err(NnError(format!(
                "{} weights do not fit {inputs} x {outputs}",
                w.len()
            )));
        }
        let dev = host_device();
        let w = dev.tensor_from_vec(w, (inputs, outputs));
        Ok(Self {
            dev,
            w,
            loss_scale: 1.0,
        })
    }

    /// Multiplies every loss (and so every gradient) by `scale` (> 0).
    pub fn with_loss_scale(mut self, scale: f32) -> NnResult<Self> {
        check_scale(scale)?;
        self.loss_scale = scale;
        Ok(self)
    }

    pub fn loss_scale(&self) -> f32 {
        self.loss_scale
    }

    pub fn inputs(&self) -> usize {
        self.w.shape().0
    }

    pub fn outputs(&self) -> usize {
        self.w.shape().1
    }

    pub fn num_params(&self) -> usize {
        self.inputs() * self.outputs()
    }

    /// The one parameter block, `w`.
    pub fn param_layout(&self) -> Vec<(String, usize)> {
        vec![("w".into(), self.num_params())]
    }

    /// The matrix, row-major `inputs x outputs`.
    pub fn weights(&self) -> Vec<f32> {
        self.w.as_vec()
    }

    /// The weights and `opt`'s state for them, for a checkpoint.
    pub fn snapshot(&self, opt: &mut Optimizer) -> NnResult<super::TrainSnapshot> {
        super::snapshot::take_snapshot([super::snapshot::ParamRef::Mat(&self.w)].into_iter(), opt)
    }

    /// Writes a checkpoint's weights and optimizer state back (the same shape).
    pub fn restore(&mut self, opt: &mut Optimizer, s: &super::TrainSnapshot) -> NnResult<()> {
        super::snapshot::restore_snapshot(
            [super::snapshot::ParamMut::Mat(&mut self.w)].into_iter(),
            opt,
            s,
        )
    }

    fn input(&self, x: &[f32], batch: usize) -> NnResult<Mat> {
        super::ops::input_matrix(&self.dev, x, batch, self.inputs())
    }

    /// Outputs (`batch x outputs`) for a batch of inputs (`batch x inputs`).
    pub fn forward(&self, x: &[f32], batch: usize) -> NnResult<Vec<f32>> {
        let x = self.input(x, batch)?;
        Ok(x.matmul(self.w.clone()).as_vec())
    }

    fn backward(
        &self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
    ) -> NnResult<(f32, Gradients<f32, Dev>)> {
        let x = self.input(x, batch)?.leaky_traced();
        let out = x.matmul(self.w.retaped::<Tape3>());
        let l = loss_tensor(&self.dev, out, loss, self.loss_scale, false)?;
        let value = l.array();
        Ok((value, l.backward()))
    }

    /// The (scaled) loss on a batch and its gradient with respect to `w`, row-major.
    pub fn loss_and_grads(
        &self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
    ) -> NnResult<(f32, Vec<f32>)> {
        let (value, mut grads) = self.backward(x, batch, loss)?;
        grads.try_alloc_for(&self.w).map_err(err)?;
        Ok((value, grads.get(&self.w).as_vec()))
    }

    /// One gradient per sample (`batch x num_params`, row-major), from one backward pass with a
    /// copy of `w` per sample.
    pub fn per_sample_grads(&self, x: &[f32], batch: usize, loss: Loss<'_>) -> NnResult<Vec<f32>> {
        let (d, o) = (self.inputs(), self.outputs());
        let x = self.input(x, batch)?;
        let w = self.w.as_vec();
        let mut copies = Vec::with_capacity(batch * w.len());
        for _ in 0..batch {
            copies.extend_from_slice(&w);
        }
        let wb: Tensor<(usize, usize, usize), f32, Dev> =
            self.dev.tensor_from_vec(copies, (batch, d, o));
        let x3 = x.reshape_like(&(batch, 1usize, d)).leaky_traced();
        let out = x3.matmul(wb.retaped::<Tape3>()).reshape_like(&(batch, o));
        let l = loss_tensor(&self.dev, out, loss, self.loss_scale, true)?;
        let mut grads = l.backward();
        grads.try_alloc_for(&wb).map_err(err)?;
        Ok(grads.get(&wb).as_vec())
    }

    /// Gradient SNR of `loss` on a probe batch; see [`crate::nn::gradient_snr`].
    pub fn gradient_snr(
        &self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
    ) -> NnResult<super::SnrReport> {
        let rows = self.per_sample_grads(x, batch, loss)?;
        Ok(super::gradient_snr(&rows, batch, &self.param_layout()))
    }

    /// One optimizer step on the batch; returns the (scaled) loss before the step.
    pub fn train_step(
        &mut self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
        opt: &mut Optimizer,
    ) -> NnResult<f32> {
        let (value, mut grads) = self.backward(x, batch, loss)?;
        opt.begin_step();
        opt.update(&mut self.w, &mut grads)?;
        Ok(value)
    }
}

// ---------------------------------------------------------------------------------------------
// Conv1d

/// A causal 1-D convolution without bias: one input channel, one output channel, `taps`
/// weights, output as long as the input: `y_t = ([x_t, x_{t-1}, ...] . M) . w` with the
/// windows zero before the start and `M` a fixed conditioner (identity unless set), so the
/// effective filter is `v = M . w` and `y_t = sum_k v_k x_{t-k}`.
pub struct Conv1d {
    dev: Dev,
    taps: usize,
    /// `taps x 1`: the trained weights (in conditioned coordinates when a conditioner is set).
    w: Mat,
    /// The fixed conditioner `M`, row-major `taps x taps`.
    cond: Option<Vec<f32>>,
    loss_scale: f32,
}

impl Conv1d {
    /// A filter of `taps` zeros (E7 and E8 start there).
    pub fn zeros(taps: usize) -> Self {
        Self::from_filter(vec![0.0; taps.max(1)]).expect("a non-empty filter")
    }

    /// A convolution with the given trained weights `w` (`w[k]` multiplies `x_{t-k}`).
    pub fn from_filter(w: Vec<f32>) -> NnResult<Self> {
        if w.is_empty() {
            return Err(NnError("a convolution needs at least one tap".into()));
        }
        let dev = host_device();
        let taps = w.len();
        let w = dev.tensor_from_vec(w, (taps, 1));
        Ok(Self {
            dev,
            taps,
            w,
            cond: None,
            loss_scale: 1.0,
        })
    }

    /// Applies the fixed `taps x taps` matrix `m` (row-major) to every input window
    /// `[x_t, x_{t-1}, ...]` before the filter: the effective filter becomes `m . w`.
    pub fn with_conditioner(mut self, m: Vec<f32>) -> NnResult<Self> {
        let taps = self.taps;
        if m.len() != taps * taps {
            return Err(NnError(format!(
                "a conditioner for {taps} taps needs {} numbers, got {}",
                taps * taps,
                m.len()
            )));
        }
        if m.iter().any(|v| !v.is_finite()) {
            return Err(NnError("the conditioner has a non-finite entry".into()));
        }
        self.cond = Some(m);
        Ok(self)
    }

    /// Multiplies every loss (and so every gradient) by `scale` (> 0).
    pub fn with_loss_scale(mut self, scale: f32) -> NnResult<Self> {
        check_scale(scale)?;
        self.loss_scale = scale;
        Ok(self)
    }

    pub fn taps(&self) -> usize {
        self.taps
    }

    pub fn num_params(&self) -> usize {
        self.taps
    }

    /// The one parameter block, `w`.
    pub fn param_layout(&self) -> Vec<(String, usize)> {
        vec![("w".into(), self.taps)]
    }

    /// The trained weights `w` (in conditioned coordinates when a conditioner is set).
    pub fn weights(&self) -> Vec<f32> {
        self.w.as_vec()
    }

    /// The weights and `opt`'s state for them, for a checkpoint.
    pub fn snapshot(&self, opt: &mut Optimizer) -> NnResult<super::TrainSnapshot> {
        super::snapshot::take_snapshot([super::snapshot::ParamRef::Mat(&self.w)].into_iter(), opt)
    }

    /// Writes a checkpoint's weights and optimizer state back (the same shape).
    pub fn restore(&mut self, opt: &mut Optimizer, s: &super::TrainSnapshot) -> NnResult<()> {
        super::snapshot::restore_snapshot(
            [super::snapshot::ParamMut::Mat(&mut self.w)].into_iter(),
            opt,
            s,
        )
    }

    /// The filter applied to the raw signal, `M . w`, computed in f64.
    pub fn effective_filter(&self) -> Vec<f64> {
        let w = self.w.as_vec();
        match &self.cond {
            None => w.iter().map(|&v| v as f64).collect(),
            Some(m) => {
                let taps = self.taps;
                (0..taps)
                    .map(|i| {
                        (0..taps)
                            .map(|k| m[i * taps + k] as f64 * w[k] as f64)
                            .sum()
                    })
                    .collect()
            }
        }
    }

    /// Signal length of a batch of `batch` signals held in `x`.
    fn length(&self, x: &[f32], batch: usize) -> NnResult<usize> {
        if batch == 0 || x.is_empty() || !x.len().is_multiple_of(batch) {
            return Err(NnError(format!(
                "input has {} numbers, which is not batch {batch} x a signal length",
                x.len()
            )));
        }
        Ok(x.len() / batch)
    }

    /// im2col, transposed and built on the host: for every signal `b` and position `t` the
    /// window `r = [x_t, x_{t-1}, ...]` (zeros before the start), times `M` when a conditioner
    /// is set, laid out as a column. With `per_signal` the layout is `batch x taps x len`,
    /// otherwise `taps x (batch * len)`.
    fn windows(&self, x: &[f32], batch: usize, len: usize, per_signal: bool) -> Vec<f32> {
        let taps = self.taps;
        let mut out = vec![0.0f32; batch * len * taps];
        let at = |b: usize, j: usize, t: usize| {
            if per_signal {
                (b * taps + j) * len + t
            } else {
                j * batch * len + b * len + t
            }
        };
        let mut r = vec![0.0f32; taps];
        for (b, signal) in x.chunks(len).enumerate() {
            for t in 0..len {
                for (k, v) in r.iter_mut().enumerate() {
                    *v = if t >= k { signal[t - k] } else { 0.0 };
                }
                match &self.cond {
                    None => {
                        for (j, &v) in r.iter().enumerate() {
                            out[at(b, j, t)] = v;
                        }
                    }
                    Some(m) => {
                        for j in 0..taps {
                            let mut z = 0.0f32;
                            for (k, &v) in r.iter().enumerate() {
                                z += v * m[k * taps + j];
                            }
                            out[at(b, j, t)] = z;
                        }
                    }
                }
            }
        }
        out
    }

    fn output<T: Tape<f32, Dev> + Merge<NoneTape>>(
        &self,
        w: Mat<T>,
        x: &[f32],
        batch: usize,
        len: usize,
    ) -> Mat<T> {
        let cols: Mat = self
            .dev
            .tensor_from_vec(self.windows(x, batch, len, false), (self.taps, batch * len));
        w.permute::<_, Axes2<1, 0>>()
            .matmul(cols)
            .reshape_like(&(batch, len))
    }

    /// Outputs (`batch x len`) for a batch of signals (`batch x len`).
    pub fn forward(&self, x: &[f32], batch: usize) -> NnResult<Vec<f32>> {
        let len = self.length(x, batch)?;
        Ok(self.output(self.w.clone(), x, batch, len).as_vec())
    }

    fn backward(
        &self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
    ) -> NnResult<(f32, Gradients<f32, Dev>)> {
        let len = self.length(x, batch)?;
        let out = self.output(self.w.retaped::<Tape3>(), x, batch, len);
        let l = loss_tensor(&self.dev, out, loss, self.loss_scale, false)?;
        let value = l.array();
        Ok((value, l.backward()))
    }

    /// The (scaled) loss on a batch and its gradient with respect to `w`.
    pub fn loss_and_grads(
        &self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
    ) -> NnResult<(f32, Vec<f32>)> {
        let (value, mut grads) = self.backward(x, batch, loss)?;
        grads.try_alloc_for(&self.w).map_err(err)?;
        Ok((value, grads.get(&self.w).as_vec()))
    }

    /// One gradient per sample (`batch x taps`, row-major), from one backward pass with a copy
    /// of `w` per sample.
    pub fn per_sample_grads(&self, x: &[f32], batch: usize, loss: Loss<'_>) -> NnResult<Vec<f32>> {
        let len = self.length(x, batch)?;
        let taps = self.taps;
        let w = self.w.as_vec();
        let mut copies = Vec::with_capacity(batch * taps);
        for _ in 0..batch {
            copies.extend_from_slice(&w);
        }
        // row b of `wb` is sample b's copy of w^T
        let wb: Tensor<(usize, usize, usize), f32, Dev> =
            self.dev.tensor_from_vec(copies, (batch, 1, taps));
        let rows = wb.retaped::<Tape3>();
        let cols: Tensor<(usize, usize, usize), f32, Dev> = self
            .dev
            .tensor_from_vec(self.windows(x, batch, len, true), (batch, taps, len));
        let out = rows.matmul(cols).reshape_like(&(batch, len));
        let l = loss_tensor(&self.dev, out, loss, self.loss_scale, true)?;
        let mut grads = l.backward();
        grads.try_alloc_for(&wb).map_err(err)?;
        Ok(grads.get(&wb).as_vec())
    }

    /// Gradient SNR of `loss` on a probe batch; see [`crate::nn::gradient_snr`].
    pub fn gradient_snr(
        &self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
    ) -> NnResult<super::SnrReport> {
        let rows = self.per_sample_grads(x, batch, loss)?;
        Ok(super::gradient_snr(&rows, batch, &self.param_layout()))
    }

    /// One optimizer step on the batch; returns the (scaled) loss before the step.
    pub fn train_step(
        &mut self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
        opt: &mut Optimizer,
    ) -> NnResult<f32> {
        let (value, mut grads) = self.backward(x, batch, loss)?;
        opt.begin_step();
        opt.update(&mut self.w, &mut grads)?;
        Ok(value)
    }
}
