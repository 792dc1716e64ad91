//! The only module that touches dfdx.
//!
//! Everything above this folder sees plain `Vec<f32>` / `&[f32]` and the types defined here
//! ([`Mlp`], [`Optimizer`], [`Loss`]); no dfdx type leaves it. Swapping the tensor library
//! means rewriting this folder only.
//!
//! Conventions shared with the authors' code (spec "Conventions"):
//! - weights start from a truncated normal with std `1/sqrt(fan_in)` (redrawn beyond 2 std),
//!   biases at 0;
//! - "Adam (b2 = 0.99, eps = 1e-5)" and "Adam default" are both available ([`OptimKind`]).

mod conv;
mod conv2d;
mod device;
mod init;
mod linenet;
mod loss;
mod mlp;
mod ops;
mod optim;
mod parallel;
mod portfolio;
mod snapshot;
mod snr;
mod staircase;

#[allow(unused_imports)]
pub use conv::*;
pub use conv2d::{
    conv2d_same, conv_kernel_isa, conv_kernels_available, conv_pool, conv_pool_grads, max_pool2,
    with_conv_kernels, ConvPoolShape,
};
pub use device::{
    compute_threads, cuda_built, current_device, resolve, set_default_device, with_compute_threads,
    with_device, ComputeDevice, DeviceChoice, DeviceError, DeviceInfo,
};
pub use init::{truncated_normal, TruncatedNormal};
pub use linenet::{HeadGrads, HeadSnr, LineNet, LineNetConfig, LossParts, Objective, TupleBatch};
pub use loss::Loss;
pub use mlp::{Activation, LayerWeights, Mlp};
pub use optim::{OptimKind, Optimizer};
pub use portfolio::{PortfolioTarget, SoftmaxPolicy};
pub use snapshot::TrainSnapshot;
pub use snr::{gradient_snr, snr_of_columns, Snr, SnrReport};
#[allow(unused_imports)]
pub use staircase::*;

/// Error raised by a tensor operation (out of memory on a device, a CUDA error, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct NnError(pub String);

impl std::fmt::Display for NnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tensor error: {}", self.0)
    }
}

impl std::error::Error for NnError {}

pub type NnResult<T> = Result<T, NnError>;

pub(crate) fn err<E: std::fmt::Debug>(e: E) -> NnError {
    NnError(format!("{e:?}"))
}

#[cfg(test)]
mod tests;
