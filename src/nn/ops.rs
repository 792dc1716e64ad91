//! Tensor pieces shared by the models of this folder: copying a tensor to the host, adding a
//! bias row-wise, a dense layer, turning input numbers into a matrix, and the losses.

use dfdx::prelude::*;
use rand::Rng;

use dfdx::tensor::Cpu;

use super::device::Backend;
use super::init::truncated_normal;
use super::loss::Loss;
use super::{err, NnError, NnResult};

/// A matrix on device `D` (the CPU unless named), with tape `T`.
pub(crate) type Mat<T = NoneTape, D = Cpu> = Tensor<(usize, usize), f32, D, T>;
pub(crate) type Vector<D = Cpu> = Tensor<(usize,), f32, D>;

/// A `batch x d` input matrix from row-major numbers, checking the count.
pub(crate) fn input_matrix<D: Backend>(
    dev: &D,
    x: &[f32],
    batch: usize,
    d: usize,
) -> NnResult<Mat<NoneTape, D>> {
    if x.len() != batch * d {
        return Err(NnError(format!(
            "input has {} numbers, expected batch {batch} x {d}",
            x.len()
        )));
    }
    Ok(dev.tensor_from_vec(x.to_vec(), (batch, d)))
}

/// The numbers of a contiguous tensor (a plain copy; `as_vec` walks a strided index).
pub(crate) fn host<S: Shape, D: Backend, T>(t: &Tensor<S, f32, D, T>) -> Vec<f32> {
    let mut v = vec![0.0f32; t.shape().num_elements()];
    t.copy_into(&mut v);
    v
}

/// `x + b` with `b` added to every row (see [`Backend::add_bias`]).
pub(crate) fn add_bias<D: Backend, T: Tape<f32, D> + Merge<T>>(
    x: Mat<T, D>,
    b: &Vector<D>,
) -> Mat<T, D> {
    D::add_bias(x, b)
}

/// Appends the gradient of `t` to `flat` (zeros where none flowed to it).
pub(crate) fn push_grad<S: Shape, D: Backend>(
    grads: &mut Gradients<f32, D>,
    t: &Tensor<S, f32, D>,
    flat: &mut Vec<f32>,
) -> NnResult<()> {
    grads.try_alloc_for(t).map_err(err)?;
    flat.extend(host(&grads.get(t)));
    Ok(())
}

/// A dense layer `x W + b`, `W` `inputs x outputs`.
#[derive(Clone)]
pub(crate) struct Dense<D: Backend = Cpu> {
    pub(crate) w: Mat<NoneTape, D>,
    pub(crate) b: Vector<D>,
}

impl<D: Backend> Dense<D> {
    /// Truncated-normal weights with std `1/sqrt(inputs)`, a zero bias.
    pub(crate) fn new<R: Rng + ?Sized>(dev: &D, i: usize, o: usize, rng: &mut R) -> Self {
        Dense {
            w: dev.tensor_from_vec(
                truncated_normal(rng, i * o, 1.0 / (i as f32).sqrt()),
                (i, o),
            ),
            b: dev.tensor_from_vec(vec![0.0; o], (o,)),
        }
    }

    pub(crate) fn forward<T: Tape<f32, D> + Merge<T>>(&self, x: Mat<T, D>) -> Mat<T, D> {
        add_bias(x.matmul(self.w.retaped::<T>()), &self.b)
    }
}

/// The loss of a batch of outputs (`batch x width`), as a mean over the batch (see [`Loss`]).
pub(crate) fn loss_tensor<D: Backend, T: Tape<f32, D> + Merge<T> + Default>(
    dev: &D,
    out: Mat<T, D>,
    loss: Loss<'_>,
) -> NnResult<Tensor<(), f32, D, T>> {
    let (batch, width) = *out.shape();
    let check = |len: usize, want: usize, what: &str| {
        if len == want {
            Ok(())
        } else {
            Err(NnError(format!("{what}: {len} targets, expected {want}")))
        }
    };
    Ok(match loss {
        Loss::Hinge(y) => {
            check(y.len(), batch * width, "hinge loss")?;
            let y: Mat<NoneTape, D> = dev.tensor_from_vec(y.to_vec(), (batch, width));
            ((out * y).negate() + 1.0).relu().mean()
        }
        Loss::HingeLabelPart(y) => {
            check(y.len(), batch * width, "hinge loss")?;
            let y: Mat<NoneTape, D> = dev.tensor_from_vec(y.to_vec(), (batch, width));
            // (hinge(z) - hinge(-z)) / 2 = -(z + clamp(z, -1, 1)) / 2 with z = y s
            let z = out * y;
            let clamped = z.with_empty_tape().clamp(-1.0, 1.0);
            ((z + clamped) * -0.5).mean()
        }
        Loss::Mse(t) => {
            check(t.len(), batch * width, "mean squared error")?;
            let t: Mat<NoneTape, D> = dev.tensor_from_vec(t.to_vec(), (batch, width));
            (out - t).square().mean()
        }
        Loss::SoftmaxCrossEntropy(classes) => {
            check(classes.len(), batch, "cross-entropy")?;
            let mut probs = vec![0.0f32; batch * width];
            for (row, &c) in classes.iter().enumerate() {
                if c >= width {
                    return Err(NnError(format!(
                        "cross-entropy: class {c} but the model has {width} outputs"
                    )));
                }
                probs[row * width + c] = 1.0;
            }
            let probs: Mat<NoneTape, D> = dev.tensor_from_vec(probs, (batch, width));
            dfdx::losses::cross_entropy_with_logits_loss(out, probs)
        }
        Loss::OutputSum => out.sum(),
    })
}
