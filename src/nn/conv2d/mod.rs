//! 2-D convolution and max-pooling (spec part 2), for the per-image network N1 of E2/E3
//! ([`super::LineNet`]).
//!
//! Images are stored channel-last (NHWC): image `b`, row `y`, column `x`, channel `c` sits at
//! `((b * h + y) * w + x) * c_count + c`. A convolution is 5x5, stride 1, SAME padding (two
//! zeros on every side), with weights laid out as TensorFlow's HWIO filter:
//! `w[((dy * 5 + dx) * cin + ci) * cout + co]`, and `out[y][x][co] = b[co] + sum over dy, dx, ci
//! of x[y + dy - 2][x + dx - 2][ci] * w[dy][dx][ci][co]`. Max-pooling is 2x2 with stride 2.
//!
//! In N1 every convolution is followed directly by a pool (no ReLU in between, as in the
//! authors' code), so the two run as one op on the tape: [`conv_pool`]. Its forward pass is a
//! direct convolution on the host, written so that the compiler keeps a block of outputs
//! (several pixels x 16 channels) in vector registers; it is compiled for AVX-512, for AVX2 +
//! FMA and for plain x86-64 / other targets, and the best one the CPU supports is picked at run
//! time. (An im2col through dfdx's `gather` and a `matmul` was several times slower: it writes
//! 25 copies of every input.) Its backward pass goes through the pool's winners only: a
//! pooled output passes its gradient, channel by channel, to one pixel of its window, so the
//! filter and input gradients take a quarter of the multiply-adds of dense ones (`sparse.rs`).
//! The dense backward (the input gradient as the convolution of the padded output gradient
//! with the flipped, transposed filter, reusing the forward kernel) stays as the tests'
//! reference.
//!
//! `isa.rs` picks the kernels for the CPU; `kernels.rs` holds the generic and AVX2 + FMA
//! kernels of the dense convolution and the two drivers that call them, `avx512.rs` the
//! AVX-512 ones; `sparse.rs` the backward pass through the winners (AVX2 + FMA and generic);
//! `op.rs` the conv + pool stage on host numbers, the public host functions and the op on the
//! tape.

#[cfg(target_arch = "x86_64")]
mod avx512;
// the route of a GPU (used on the CPU by its test only)
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
mod gathered;
mod isa;
mod kernels;
mod op;
mod sparse;
#[cfg(test)]
mod tests;

#[cfg_attr(not(feature = "cuda"), allow(unused_imports))]
pub(crate) use gathered::conv_pool_gathered;
pub use isa::{conv_kernel_isa, conv_kernels_available, with_conv_kernels};
pub(crate) use op::conv_pool_op;
pub use op::{conv2d_same, conv_pool, conv_pool_grads, max_pool2, ConvPoolShape};

const K: usize = 5;
const TAPS: usize = K * K;
const PAD: usize = 2;

/// Shape of one SAME 5x5 convolution: `h x w` images, `cin` channels in, `cout` out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geo {
    h: usize,
    w: usize,
    cin: usize,
    cout: usize,
}

// `#[inline]`: the kernels call these in their inner loops, from other codegen units
impl Geo {
    #[inline]
    fn hp(&self) -> usize {
        self.h + 2 * PAD
    }
    #[inline]
    fn wp(&self) -> usize {
        self.w + 2 * PAD
    }
    #[inline]
    fn in_len(&self) -> usize {
        self.h * self.w * self.cin
    }
    #[inline]
    fn out_len(&self) -> usize {
        self.h * self.w * self.cout
    }
    #[inline]
    fn padded_len(&self) -> usize {
        self.hp() * self.wp() * self.cin
    }
}
