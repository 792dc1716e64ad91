//! E4's model (spec part 2): one softmax layer over one-hot inputs, trained with the
//! end-to-end estimator (the returns) or the decomposition one (the stock's label), and the
//! exact gradient SNR of both.

use dfdx::prelude::*;
use rand::Rng;

use dfdx::tensor::Cpu;

use super::device::{on_device, place, Backend};
use super::init::truncated_normal;
use super::ops::{add_bias, host, Mat, Vector};
use super::optim::Optimizer;
use super::snr::{Snr, SnrReport};
use super::{NnError, NnResult};

/// What a portfolio gradient follows.
#[derive(Debug, Clone, Copy)]
pub enum PortfolioTarget<'a> {
    /// End-to-end: the returns `z` (`batch x k`, in {-1, +1}); loss `-z . N(x)`.
    Returns(&'a [f32]),
    /// Decomposition: the stock tied to each input; loss `-N(x)_y`.
    Labels(&'a [usize]),
}

/// E4's model: `N(x) = softmax(W^T x + b)` for one-hot `x` in R^d, `W` `d x k` (truncated
/// normal, std 1/sqrt(d)), `b = 0`. An input is given by the index of its one. Placed on the
/// current device ([`crate::nn::current_device`]) when built.
pub struct SoftmaxPolicy(Placed);

enum Placed {
    Cpu(Layer<Cpu>),
    #[cfg(feature = "cuda")]
    Cuda(Layer<dfdx::tensor::Cuda>),
}

/// The policy's tensors on device `D`.
struct Layer<D: Backend> {
    dev: D,
    w: Mat<NoneTape, D>,
    b: Vector<D>,
}

impl<D: Backend> Layer<D> {
    fn new<R: Rng + ?Sized>(dev: D, d: usize, k: usize, rng: &mut R) -> Self {
        let w = dev.tensor_from_vec(
            truncated_normal(rng, d * k, 1.0 / (d as f32).sqrt()),
            (d, k),
        );
        let b = dev.tensor_from_vec(vec![0.0; k], (k,));
        Layer { dev, w, b }
    }

    fn duplicate(&self) -> Self {
        Layer {
            dev: self.dev.clone(),
            w: self.dev.tensor_from_vec(host(&self.w), *self.w.shape()),
            b: self.dev.tensor_from_vec(host(&self.b), *self.b.shape()),
        }
    }

    /// The parameters and `opt`'s state for them, for a checkpoint.
    fn snapshot(&self, opt: &mut Optimizer) -> NnResult<crate::nn::TrainSnapshot> {
        use crate::nn::snapshot::{take_snapshot, ParamRef};
        take_snapshot(
            [ParamRef::Mat(&self.w), ParamRef::Vec(&self.b)].into_iter(),
            opt,
        )
    }

    /// Writes a checkpoint's parameters and optimizer state back (the same shapes).
    fn restore(&mut self, opt: &mut Optimizer, s: &crate::nn::TrainSnapshot) -> NnResult<()> {
        use crate::nn::snapshot::{restore_snapshot, ParamMut};
        restore_snapshot(
            [ParamMut::Mat(&mut self.w), ParamMut::Vec(&mut self.b)].into_iter(),
            opt,
            s,
        )
    }

    fn index(&self, idx: &[usize]) -> NnResult<Tensor<(usize,), usize, D>> {
        let d = self.w.shape().0;
        if idx.is_empty() {
            return Err(NnError("a batch needs at least one input".into()));
        }
        if let Some(&bad) = idx.iter().find(|&&i| i >= d) {
            return Err(NnError(format!("input index {bad} but d = {d}")));
        }
        Ok(self.dev.tensor_from_vec(idx.to_vec(), (idx.len(),)))
    }

    fn probs_t<T: Tape<f32, D> + Merge<T>>(&self, idx: Tensor<(usize,), usize, D>) -> Mat<T, D> {
        let rows: Mat<T, D> = self.w.retaped::<T>().gather(idx);
        add_bias(rows, &self.b).softmax::<Axis<1>>()
    }

    fn probs(&self, idx: &[usize]) -> NnResult<Vec<f32>> {
        Ok(host(&self.probs_t::<NoneTape>(self.index(idx)?)))
    }

    /// One optimizer step on the batch mean of `-v . N(x)` (`v` `batch x k`).
    fn train_step(&mut self, idx: &[usize], v: Vec<f32>, opt: &mut Optimizer) -> NnResult<f32> {
        let n = idx.len();
        let p = self.probs_t::<OwnedTape<f32, D>>(self.index(idx)?);
        let shape = *p.shape();
        let v: Mat<NoneTape, D> = self.dev.tensor_from_vec(v, shape);
        let loss = (p * v).sum() * (-1.0 / n as f32);
        let value = loss.array();
        let mut grads = loss.backward();
        opt.begin_step();
        opt.update(&mut self.w, &mut grads)?;
        opt.update(&mut self.b, &mut grads)?;
        Ok(value)
    }
}

impl SoftmaxPolicy {
    pub fn new<R: Rng + ?Sized>(d: usize, k: usize, rng: &mut R) -> NnResult<Self> {
        if d == 0 || k < 2 {
            return Err(NnError(format!(
                "a softmax policy needs d >= 1 inputs and k >= 2 outputs, got d = {d}, k = {k}"
            )));
        }
        Ok(SoftmaxPolicy(place!(dev => Layer::new(dev, d, k, rng))))
    }

    /// An independent copy with the same weights, on the same device.
    pub fn duplicate(&self) -> Self {
        SoftmaxPolicy(match &self.0 {
            Placed::Cpu(l) => Placed::Cpu(l.duplicate()),
            #[cfg(feature = "cuda")]
            Placed::Cuda(l) => Placed::Cuda(l.duplicate()),
        })
    }

    /// The parameters and `opt`'s state for them, for a checkpoint.
    pub fn snapshot(&self, opt: &mut Optimizer) -> NnResult<crate::nn::TrainSnapshot> {
        on_device!(&self.0, n => n.snapshot(opt))
    }

    /// Writes a checkpoint's parameters and optimizer state back (the same shapes).
    pub fn restore(&mut self, opt: &mut Optimizer, s: &crate::nn::TrainSnapshot) -> NnResult<()> {
        on_device!(&mut self.0, n => n.restore(opt, s))
    }

    pub fn inputs(&self) -> usize {
        on_device!(&self.0, l => l.w.shape().0)
    }

    pub fn outputs(&self) -> usize {
        on_device!(&self.0, l => l.w.shape().1)
    }

    /// The output distributions (`batch x k`) for the inputs `idx`.
    pub fn probs(&self, idx: &[usize]) -> NnResult<Vec<f32>> {
        on_device!(&self.0, l => l.probs(idx))
    }

    /// The weights of each sample's loss on the outputs: `z` or the one-hot label.
    fn target_weights(&self, n: usize, target: PortfolioTarget<'_>) -> NnResult<Vec<f32>> {
        let k = self.outputs();
        match target {
            PortfolioTarget::Returns(z) => {
                if z.len() != n * k {
                    return Err(NnError(format!(
                        "{} returns for {n} samples of {k} stocks",
                        z.len()
                    )));
                }
                Ok(z.to_vec())
            }
            PortfolioTarget::Labels(y) => {
                if y.len() != n {
                    return Err(NnError(format!("{} labels for {n} samples", y.len())));
                }
                let mut v = vec![0.0f32; n * k];
                for (i, &c) in y.iter().enumerate() {
                    if c >= k {
                        return Err(NnError(format!("label {c} but k = {k}")));
                    }
                    v[i * k + c] = 1.0;
                }
                Ok(v)
            }
        }
    }

    /// Mean over the batch of `-v . N(x)` (v = z or the one-hot label) without gradients.
    pub fn loss(&self, idx: &[usize], target: PortfolioTarget<'_>) -> NnResult<f64> {
        let p = self.probs(idx)?;
        let v = self.target_weights(idx.len(), target)?;
        let total: f64 = p.iter().zip(&v).map(|(a, b)| (a * b) as f64).sum();
        Ok(-total / idx.len() as f64)
    }

    /// One optimizer step on the batch mean of `-v . N(x)`; returns the loss before the step.
    pub fn train_step(
        &mut self,
        idx: &[usize],
        target: PortfolioTarget<'_>,
        opt: &mut Optimizer,
    ) -> NnResult<f32> {
        let v = self.target_weights(idx.len(), target)?;
        on_device!(&mut self.0, l => l.train_step(idx, v, opt))
    }

    /// Per-sample gradient of `-v . N(x)` at the logits: `-p (v - v . p)`.
    fn logit_grad(p: &[f32], v: &[f32], out: &mut [f64]) {
        let vp: f64 = p
            .iter()
            .zip(v)
            .map(|(a, b)| (*a as f64) * (*b as f64))
            .sum();
        for ((o, &pc), &vc) in out.iter_mut().zip(p).zip(v) {
            *o = -(pc as f64) * (vc as f64 - vp);
        }
    }

    /// Gradient SNR of the estimator `target` over the samples `idx` (blocks `w` and `b`),
    /// from exact per-sample gradients: sample i's gradient is its logit gradient in row
    /// `idx[i]` of `W` and in `b`, so the statistics need no per-sample copies of `W`.
    pub fn gradient_snr(&self, idx: &[usize], target: PortfolioTarget<'_>) -> NnResult<SnrReport> {
        let (n, k) = (idx.len(), self.outputs());
        let p = self.probs(idx)?;
        let v = self.target_weights(n, target)?;
        let mut rows: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
        let mut mean_b = vec![0.0f64; k];
        let mut sq = 0.0f64;
        let mut g = vec![0.0f64; k];
        for i in 0..n {
            Self::logit_grad(&p[i * k..(i + 1) * k], &v[i * k..(i + 1) * k], &mut g);
            let row = rows.entry(idx[i]).or_insert_with(|| vec![0.0; k]);
            for ((r, m), gv) in row.iter_mut().zip(mean_b.iter_mut()).zip(&g) {
                *r += gv;
                *m += gv;
            }
            sq += g.iter().map(|x| x * x).sum::<f64>();
        }
        let nf = n as f64;
        let plug_w: f64 = rows
            .values()
            .map(|r| r.iter().map(|x| (x / nf).powi(2)).sum::<f64>())
            .sum();
        let plug_b: f64 = mean_b.iter().map(|x| (x / nf).powi(2)).sum();
        // ||g_i||^2 is the same in both blocks
        let w = Snr::from_moments(plug_w, (sq / nf - plug_w).max(0.0), n);
        let b = Snr::from_moments(plug_b, (sq / nf - plug_b).max(0.0), n);
        Ok(report(w, b))
    }

    /// The exact SNR of both estimators over the whole input distribution (x uniform over
    /// the d one-hot vectors, the returns fair coins but `z_y(x) = +1`), given the stock
    /// `labels[j]` of every input j: `(end-to-end, decomposition)`.
    ///
    /// With p = N(x) and A = diag(p) - p p^T, the logit gradient is `-A z` (end-to-end) or
    /// `-A e_y` (decomposition); both have mean `-A e_y` because E z = e_y, and
    /// E[z z^T] = I gives E||A z||^2 = ||A||_F^2 = S2 - 2 S3 + S2^2 (S_m = sum_c p_c^m),
    /// while ||A e_y||^2 = p_y^2 ((1 - p_y)^2 + S2 - p_y^2).
    pub fn population_snr(&self, labels: &[usize]) -> NnResult<(SnrReport, SnrReport)> {
        let (d, k) = (self.inputs(), self.outputs());
        if labels.len() != d {
            return Err(NnError(format!(
                "{} labels for d = {d} inputs",
                labels.len()
            )));
        }
        let all: Vec<usize> = (0..d).collect();
        let p = self.probs(&all)?;
        let mut signal_w = 0.0f64;
        let mut mean_b = vec![0.0f64; k];
        let (mut sq_e2e, mut sq_dec) = (0.0f64, 0.0f64);
        for (j, &y) in labels.iter().enumerate() {
            if y >= k {
                return Err(NnError(format!("label {y} but k = {k}")));
            }
            let pj = &p[j * k..(j + 1) * k];
            let py = pj[y] as f64;
            let (mut s2, mut s3) = (0.0f64, 0.0f64);
            for &pc in pj {
                let pc = pc as f64;
                s2 += pc * pc;
                s3 += pc * pc * pc;
                // row j's mean gradient: -A e_y = -p_c (1[c = y] - p_y)
            }
            let mut norm = 0.0f64;
            for (c, &pc) in pj.iter().enumerate() {
                let g = -(pc as f64) * (f64::from(u8::from(c == y)) - py);
                norm += g * g;
                mean_b[c] += g / d as f64;
            }
            signal_w += norm / (d * d) as f64;
            sq_dec += norm / d as f64;
            sq_e2e += (s2 - 2.0 * s3 + s2 * s2) / d as f64;
        }
        let signal_b: f64 = mean_b.iter().map(|m| m * m).sum();
        let exact = |sq: f64| {
            let w = Snr::from_moments(signal_w, sq - signal_w, 1);
            let b = Snr::from_moments(signal_b, sq - signal_b, 1);
            report(w, b)
        };
        Ok((exact(sq_e2e), exact(sq_dec)))
    }
}

/// The report of the two blocks `w` and `b`.
fn report(w: Snr, b: Snr) -> SnrReport {
    SnrReport {
        total: w.combine(&b),
        blocks: vec![("w".into(), w), ("b".into(), b)],
    }
}
