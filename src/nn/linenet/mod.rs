//! E2's tuple network (spec part 2): the per-image network N1 (two conv + pool stages and
//! three dense layers) shared by the k images of a tuple, and the combining network N2, with
//! the training step, per-tuple gradients and the gradient SNR probes of E2 and E3.
//!
//! The conv + pool stages are the op on the tape of `conv2d/`; the dense layers, the
//! losses and the optimizer are ordinary dfdx ops on runtime shapes.

mod head;
mod net;

use std::ops::Range;

use dfdx::prelude::*;
use rand::Rng;

use dfdx::tensor::Cpu;

use super::conv2d::ConvPoolShape;
use super::device::{on_device, place, Backend};
use super::init::truncated_normal;
use super::loss::Loss;
use super::ops::{host, loss_tensor, push_grad, Dense, Mat, Vector};
use super::optim::Optimizer;

#[cfg(feature = "cuda")]
use super::parallel::map_chunks_in_order;
use super::parallel::{map_chunks, share, sum_in_order};
use super::snr::{gradient_snr, SnrReport};
use super::{NnError, NnResult};
pub use head::{HeadGrads, HeadSnr};
use net::{MapChunks, Net};

/// Images in a chunk of a data-parallel pass (a training step, a gradient, a forward pass):
/// a batch is cut into chunks of this many images (whole tuples, at least one), whatever the
/// number of threads, so that its numbers do not depend on it.
pub(crate) const CHUNK_IMAGES: usize = 32;

/// Sizes of the E2 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineNetConfig {
    /// Images are `side x side`, one channel (`side` a multiple of 4).
    pub side: usize,
    /// Images per tuple.
    pub k: usize,
    /// Channels of both convolutions (16 in the paper).
    pub channels: usize,
    /// Width of N2's hidden layer (100 in the code, for every k).
    pub n2_width: usize,
}

impl LineNetConfig {
    /// The paper's network for tuples of `k` images of 28 x 28.
    pub fn paper(k: usize) -> Self {
        LineNetConfig {
            side: 28,
            k,
            channels: 16,
            n2_width: 100,
        }
    }

    fn check(&self) -> NnResult<()> {
        if self.side < 4 || !self.side.is_multiple_of(4) {
            return Err(NnError(format!(
                "image side must be a positive multiple of 4, got {}",
                self.side
            )));
        }
        if self.k == 0 || self.channels == 0 || self.n2_width == 0 {
            return Err(NnError(
                "k, channels and the N2 width must be positive".into(),
            ));
        }
        Ok(())
    }

    fn stage1(&self) -> ConvPoolShape {
        ConvPoolShape {
            h: self.side,
            w: self.side,
            cin: 1,
            cout: self.channels,
        }
    }

    fn stage2(&self) -> ConvPoolShape {
        ConvPoolShape {
            h: self.side / 2,
            w: self.side / 2,
            cin: self.channels,
            cout: self.channels,
        }
    }

    /// Numbers per image.
    pub fn image_len(&self) -> usize {
        self.side * self.side
    }
}

/// Which loss a training step or a gradient follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// The primary hinge loss on the tuple label only.
    EndToEnd,
    /// The primary loss plus the per-image hinge loss (mean over all images), a plain sum.
    Decomposition,
}

/// A batch of tuples: `batch * k` images (tuple-major: tuple `i` holds images
/// `i k .. i k + k`), the tuple labels and the image labels, all in {-1, +1}.
#[derive(Debug, Clone, Copy)]
pub struct TupleBatch<'a> {
    pub images: &'a [f32],
    pub batch: usize,
    pub labels: &'a [f32],
    pub image_labels: &'a [f32],
}

/// The two parts of the loss of a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossParts {
    /// Hinge loss of the tuple scores against the tuple labels.
    pub primary: f32,
    /// Hinge loss of the per-image scores against the image labels (mean over images).
    pub per_image: f32,
}

/// E2's network: N1 (conv 5x5 -> pool -> conv 5x5 -> pool -> 50 -> ReLU -> 100 -> ReLU -> 1),
/// shared by the k images of a tuple, then N2 (sigmoid of the k scores -> 100 -> ReLU -> 1).
///
/// Placed on the current device ([`crate::nn::current_device`]) when built: on the CPU its conv
/// + pool stages are the host kernels of `conv2d/`, on a GPU dfdx ops (`conv2d/gathered.rs`).
pub struct LineNet(Placed);

enum Placed {
    Cpu(Net<Cpu>),
    #[cfg(feature = "cuda")]
    Cuda(Net<dfdx::tensor::Cuda>),
}

impl LineNet {
    /// The authors' initialisation: truncated normal with std 1/sqrt(28) for the first
    /// convolution (TensorFlow took the input's last axis, 28, as its fan-in), 1/sqrt(channels)
    /// for the second, 1/sqrt(fan_in) for the dense layers; biases 0.
    pub fn new<R: Rng + ?Sized>(cfg: LineNetConfig, rng: &mut R) -> NnResult<Self> {
        cfg.check()?;
        Ok(LineNet(place!(dev => Net::new(dev, cfg, rng))))
    }

    /// A fresh N2 for tuples of `k` images, keeping N1 (E3 draws N1 once for every k).
    pub fn with_new_n2<R: Rng + ?Sized>(&self, k: usize, rng: &mut R) -> NnResult<Self> {
        Ok(LineNet(match &self.0 {
            Placed::Cpu(n) => Placed::Cpu(n.with_new_n2(k, rng)?),
            #[cfg(feature = "cuda")]
            Placed::Cuda(n) => Placed::Cuda(n.with_new_n2(k, rng)?),
        }))
    }

    /// An independent copy with the same weights, on the same device.
    /// The parameters and `opt`'s state for them, for a checkpoint.
    pub fn snapshot(&self, opt: &mut Optimizer) -> NnResult<crate::nn::TrainSnapshot> {
        on_device!(&self.0, n => n.snapshot(opt))
    }

    /// Writes a checkpoint's parameters and optimizer state back (the same shapes).
    pub fn restore(&mut self, opt: &mut Optimizer, s: &crate::nn::TrainSnapshot) -> NnResult<()> {
        on_device!(&mut self.0, n => n.restore(opt, s))
    }

    pub fn duplicate(&self) -> Self {
        LineNet(match &self.0 {
            Placed::Cpu(n) => Placed::Cpu(n.duplicate()),
            #[cfg(feature = "cuda")]
            Placed::Cuda(n) => Placed::Cuda(n.duplicate()),
        })
    }

    pub fn config(&self) -> LineNetConfig {
        on_device!(&self.0, n => n.cfg)
    }

    /// Names and sizes of the parameter blocks in the order of flattened gradients:
    /// `conv1.w, conv1.b, conv2.w, conv2.b, n1.dense1.w, n1.dense1.b, ..., n2.dense2.b`.
    pub fn param_layout(&self) -> Vec<(String, usize)> {
        on_device!(&self.0, n => n.param_layout())
    }

    pub fn num_params(&self) -> usize {
        on_device!(&self.0, n => n.num_params())
    }

    /// Every parameter, flattened in the order of [`LineNet::param_layout`].
    pub fn params(&self) -> Vec<f32> {
        on_device!(&self.0, n => n.params())
    }

    /// Replaces every parameter (flattened as [`LineNet::params`]).
    pub fn set_params(&mut self, p: &[f32]) -> NnResult<()> {
        on_device!(&mut self.0, n => n.set_params(p))
    }

    /// N1's score of each of `n` images (fixed chunks in parallel).
    pub fn image_scores(&self, images: &[f32], n: usize) -> NnResult<Vec<f32>> {
        on_device!(&self.0, m => m.image_scores(images, n))
    }

    /// The tuple scores of `batch` tuples (`batch k` images, tuple-major).
    pub fn predict(&self, images: &[f32], batch: usize) -> NnResult<Vec<f32>> {
        Ok(self.predict_all(images, batch)?.0)
    }

    /// Both loss parts on a batch and the gradient of `objective` with respect to every
    /// parameter, flattened as [`LineNet::params`].
    pub fn loss_and_grads(
        &self,
        t: &TupleBatch<'_>,
        objective: Objective,
    ) -> NnResult<(LossParts, Vec<f32>)> {
        on_device!(&self.0, n => n.chunked_grads(t, objective))
    }

    /// One optimizer step on `objective`; returns the loss parts before the step.
    pub fn train_step(
        &mut self,
        t: &TupleBatch<'_>,
        objective: Objective,
        opt: &mut Optimizer,
    ) -> NnResult<LossParts> {
        on_device!(&mut self.0, n => n.train_step(t, objective, opt))
    }

    /// The per-image hinge loss of N1's scores on `n` images and its gradient (flattened as
    /// [`LineNet::params`]; N2's blocks are zero): N1 trained alone as an image classifier.
    /// Fixed chunks of images run in parallel, as in [`LineNet::train_step`].
    pub fn image_loss_and_grads(
        &self,
        images: &[f32],
        n: usize,
        labels: &[f32],
    ) -> NnResult<(f32, Vec<f32>)> {
        on_device!(&self.0, m => m.image_loss_and_grads(images, n, labels))
    }

    /// One gradient of `objective` per tuple (`batch x num_params`, row-major); the tuples'
    /// backward passes run in parallel on the current rayon pool.
    pub fn per_sample_grads(&self, t: &TupleBatch<'_>, objective: Objective) -> NnResult<Vec<f32>> {
        on_device!(&self.0, n => n.per_sample_grads(t, objective))
    }

    /// Gradient SNR of `objective` over the tuples of `t` (whole model and per parameter
    /// block, see [`crate::nn::gradient_snr`]), from one gradient per tuple.
    pub fn gradient_snr(&self, t: &TupleBatch<'_>, objective: Objective) -> NnResult<SnrReport> {
        let rows = self.per_sample_grads(t, objective)?;
        Ok(gradient_snr(&rows, t.batch, &self.param_layout()))
    }

    /// The tuple scores and N1's per-image scores of `batch` tuples in one pass (fixed
    /// chunks of tuples in parallel).
    pub fn predict_all(&self, images: &[f32], batch: usize) -> NnResult<(Vec<f32>, Vec<f32>)> {
        on_device!(&self.0, n => n.predict_all(images, batch))
    }

    /// The network on the CPU (where the tests build it).
    #[cfg(test)]
    fn on_cpu(&self) -> &Net<Cpu> {
        #[allow(unreachable_patterns)]
        match &self.0 {
            Placed::Cpu(n) => n,
            _ => panic!("the tests build networks on the CPU"),
        }
    }
}

#[cfg(all(test, not(feature = "cuda")))]
mod tests;
