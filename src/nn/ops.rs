//! Tensor pieces shared by the models of this folder: copying a tensor to the host, adding a
//! bias row-wise, a dense layer, turning input numbers into a matrix, and the losses.

use dfdx::prelude::*;
use rand::Rng;

use super::device::Dev;
use super::init::truncated_normal;
use super::loss::Loss;
use super::{err, NnError, NnResult};

pub(crate) type Mat<T = NoneTape> = Tensor<(usize, usize), f32, Dev, T>;
pub(crate) type Vector = Tensor<(usize,), f32, Dev>;

/// A `batch x d` input matrix from row-major numbers, checking the count.
pub(crate) fn input_matrix(dev: &Dev, x: &[f32], batch: usize, d: usize) -> NnResult<Mat> {
    if x.len() != batch * d {
        return Err(NnError(format!(
            "input has {} numbers, expected batch {batch} x {d}",
            x.len()
        )));
    }
    Ok(dev.tensor_from_vec(x.to_vec(), (batch, d)))
}

/// The numbers of a contiguous tensor (a plain copy; `as_vec` walks a strided index).
pub(crate) fn host<S: Shape, T>(t: &Tensor<S, f32, Dev, T>) -> Vec<f32> {
    let mut v = vec![0.0f32; t.shape().num_elements()];
    t.copy_into(&mut v);
    v
}

/// `x + b` with `b` added to every row.
///
/// dfdx's broadcast add walks both operands through a generic strided index, which made it
/// the most expensive part of a training step at the paper's sizes (over a third of all
/// instructions for E1); on the CPU this op adds the rows directly and sums the rows of the
/// incoming gradient for `b`.
#[cfg(not(feature = "cuda"))]
pub(crate) fn add_bias<T: Tape<f32, Dev> + Merge<T>>(x: Mat<T>, b: &Vector) -> Mat<T> {
    let (batch, width) = *x.shape();
    let (x, x_tape) = x.split_tape();
    let (b, b_tape) = b.retaped::<T>().split_tape();
    let mut tape = x_tape.merge(b_tape);
    let bv = host(&b);
    let mut out = host(&x);
    for row in out.chunks_mut(width) {
        for (o, bj) in row.iter_mut().zip(&bv) {
            *o += bj;
        }
    }
    let out = x.device().tensor_from_vec(out, (batch, width));
    let (x_g, b_g, out_g) = (x.ghost(), b.ghost(), out.ghost());
    tape.add_backward_op(move |grads| {
        grads.try_alloc_for(&out_g)?;
        let go: Vec<f32> = grads.get_or_alloc_mut(&out_g)?.to_vec();
        let gx = grads.get_or_alloc_mut(&x_g)?;
        for (g, o) in gx.iter_mut().zip(&go) {
            *g += o;
        }
        let gb = grads.get_or_alloc_mut(&b_g)?;
        for row in go.chunks(width) {
            for (g, o) in gb.iter_mut().zip(row) {
                *g += o;
            }
        }
        Ok(())
    });
    out.put_tape(tape)
}

#[cfg(feature = "cuda")]
pub(crate) fn add_bias<T: Tape<f32, Dev> + Merge<T>>(x: Mat<T>, b: &Vector) -> Mat<T> {
    let shape = *x.shape();
    x + b.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape)
}

/// Appends the gradient of `t` to `flat` (zeros where none flowed to it).
pub(crate) fn push_grad<S: Shape>(
    grads: &mut Gradients<f32, Dev>,
    t: &Tensor<S, f32, Dev>,
    flat: &mut Vec<f32>,
) -> NnResult<()> {
    grads.try_alloc_for(t).map_err(err)?;
    flat.extend(host(&grads.get(t)));
    Ok(())
}

/// A dense layer `x W + b`, `W` `inputs x outputs`.
#[derive(Clone)]
pub(crate) struct Dense {
    pub(crate) w: Mat,
    pub(crate) b: Vector,
}

impl Dense {
    /// Truncated-normal weights with std `1/sqrt(inputs)`, a zero bias.
    pub(crate) fn new<R: Rng + ?Sized>(dev: &Dev, i: usize, o: usize, rng: &mut R) -> Self {
        Dense {
            w: dev.tensor_from_vec(
                truncated_normal(rng, i * o, 1.0 / (i as f32).sqrt()),
                (i, o),
            ),
            b: dev.tensor_from_vec(vec![0.0; o], (o,)),
        }
    }

    pub(crate) fn forward<T: Tape<f32, Dev> + Merge<T>>(&self, x: Mat<T>) -> Mat<T> {
        add_bias(x.matmul(self.w.retaped::<T>()), &self.b)
    }
}

/// The loss of a batch of outputs (`batch x width`), as a mean over the batch (see [`Loss`]).
pub(crate) fn loss_tensor<T: Tape<f32, Dev> + Merge<T> + Default>(
    dev: &Dev,
    out: Mat<T>,
    loss: Loss<'_>,
) -> NnResult<Tensor<(), f32, Dev, T>> {
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
            let y: Mat = dev.tensor_from_vec(y.to_vec(), (batch, width));
            ((out * y).negate() + 1.0).relu().mean()
        }
        Loss::HingeLabelPart(y) => {
            check(y.len(), batch * width, "hinge loss")?;
            let y: Mat = dev.tensor_from_vec(y.to_vec(), (batch, width));
            // (hinge(z) - hinge(-z)) / 2 = -(z + clamp(z, -1, 1)) / 2 with z = y s
            let z = out * y;
            let clamped = z.with_empty_tape().clamp(-1.0, 1.0);
            ((z + clamped) * -0.5).mean()
        }
        Loss::Mse(t) => {
            check(t.len(), batch * width, "mean squared error")?;
            let t: Mat = dev.tensor_from_vec(t.to_vec(), (batch, width));
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
            let probs: Mat = dev.tensor_from_vec(probs, (batch, width));
            dfdx::losses::cross_entropy_with_logits_loss(out, probs)
        }
        Loss::OutputSum => out.sum(),
    })
}
