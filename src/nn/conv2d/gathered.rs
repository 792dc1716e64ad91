//! The conv + pool stage from dfdx's own ops, for a device that cannot run the host kernels (a
//! GPU): im2col by one `gather` of the flattened input (each output pixel's 5x5 window, zeros
//! through a mask where the window leaves the image), one `matmul` with the `25 cin x cout`
//! filter, the bias, then the 2x2 max-pool as the `maximum` of four `gather`s. Only dfdx's
//! precompiled kernels are used (no `concat` or strided `reshape`, which dfdx compiles at run
//! time). Same layout and numbers as [`super::conv_pool`], up to the order of the sums; slower
//! than the host kernels on a CPU (it writes 25 copies of every input), so the CPU keeps those.

use dfdx::prelude::*;

use super::{ConvPoolShape, K, PAD, TAPS};
use crate::nn::device::Backend;
use crate::nn::ops::{add_bias, Mat, Vector};

/// The gather indices of the im2col of `n` images and the mask of the taps inside the image:
/// row `(b, y, x)`, column `(dy, dx, ci)` reads `x[b][y + dy - 2][x + dx - 2][ci]`.
fn im2col_indices(n: usize, s: ConvPoolShape) -> (Vec<usize>, Vec<f32>) {
    let (h, w, cin) = (s.h, s.w, s.cin);
    let len = n * h * w * TAPS * cin;
    let (mut idx, mut mask) = (Vec::with_capacity(len), Vec::with_capacity(len));
    for b in 0..n {
        for y in 0..h {
            for x in 0..w {
                for dy in 0..K {
                    for dx in 0..K {
                        let (sy, sx) = (
                            (y + dy) as isize - PAD as isize,
                            (x + dx) as isize - PAD as isize,
                        );
                        let inside = sy >= 0 && sx >= 0 && (sy as usize) < h && (sx as usize) < w;
                        for ci in 0..cin {
                            if inside {
                                idx.push(((b * h + sy as usize) * w + sx as usize) * cin + ci);
                                mask.push(1.0);
                            } else {
                                idx.push(0);
                                mask.push(0.0);
                            }
                        }
                    }
                }
            }
        }
    }
    (idx, mask)
}

/// The four gathers of the 2x2 max-pool over `n` conv outputs (`h x w x cout` each): pooled
/// element `(b, py, px, co)` from `(b, 2py + dy, 2px + dx, co)`, one list per `(dy, dx)`.
fn pool_indices(n: usize, s: ConvPoolShape) -> [Vec<usize>; 4] {
    let (h, w, c) = (s.h, s.w, s.cout);
    let mut out: [Vec<usize>; 4] = Default::default();
    for (k, list) in out.iter_mut().enumerate() {
        let (dy, dx) = (k / 2, k % 2);
        list.reserve(n * s.out_len());
        for b in 0..n {
            for py in 0..h / 2 {
                for px in 0..w / 2 {
                    for co in 0..c {
                        list.push(((b * h + 2 * py + dy) * w + 2 * px + dx) * c + co);
                    }
                }
            }
        }
    }
    out
}

/// Conv + bias + 2x2 max-pool of the rows of `x` (`n x h w cin`, NHWC per row), by dfdx ops on
/// `x`'s device: `n x (h/2)(w/2) cout`. Gradients flow to `x`, `w` and `b`.
pub(crate) fn conv_pool_gathered<D: Backend, T: Tape<f32, D> + Merge<T>>(
    x: Mat<T, D>,
    w: &Mat<NoneTape, D>,
    b: &Vector<D>,
    s: ConvPoolShape,
) -> Mat<T, D> {
    let n = x.shape().0;
    let dev = x.device().clone();
    let (idx, mask) = im2col_indices(n, s);
    let rows = n * s.h * s.w;
    let cols_len = idx.len();
    let flat = x.reshape_like(&(n * s.in_len(),));
    let idx: Tensor<(usize,), usize, D> = dev.tensor_from_vec(idx, (cols_len,));
    let mask: Tensor<(usize,), f32, D> = dev.tensor_from_vec(mask, (cols_len,));
    let cols = flat.gather(idx) * mask.retaped::<T>();
    let cols = cols.reshape_like(&(rows, TAPS * s.cin));
    let conv = add_bias(cols.matmul(w.retaped::<T>()), b);
    let conv = conv.reshape_like(&(rows * s.cout,));
    let [i0, i1, i2, i3] = pool_indices(n, s);
    let m = n * s.out_len();
    let pick = |i: Vec<usize>| -> Tensor<(usize,), usize, D> { dev.tensor_from_vec(i, (m,)) };
    let a = conv.retaped::<T>().gather(pick(i0));
    let bb = conv.retaped::<T>().gather(pick(i1));
    let c = conv.retaped::<T>().gather(pick(i2));
    let d = conv.gather(pick(i3));
    a.maximum(bb)
        .maximum(c.maximum(d))
        .reshape_like(&(n, s.out_len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::ops::host;
    use crate::nn::{conv_pool, conv_pool_grads};
    use dfdx::tensor::Cpu;
    use rand::{Rng, SeedableRng};

    fn close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-4 + 1e-4 * y.abs(),
                "{what}[{i}]: dfdx ops {x}, host kernels {y}"
            );
        }
    }

    /// The route a GPU takes, run on the CPU, against the host kernels: the same outputs and
    /// the same gradients of the filter, the bias and the input.
    #[test]
    fn gathered_conv_pool_matches_the_host_kernels() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let dev = Cpu::seed_from_u64(0);
        for s in [
            ConvPoolShape {
                h: 6,
                w: 8,
                cin: 1,
                cout: 4,
            },
            ConvPoolShape {
                h: 4,
                w: 4,
                cin: 3,
                cout: 16,
            },
        ] {
            let n = 3;
            let mut draw =
                |len: usize| -> Vec<f32> { (0..len).map(|_| rng.gen_range(-1.0..1.0)).collect() };
            let (xv, wv, bv) = (draw(n * s.in_len()), draw(s.filter_len()), draw(s.cout));
            let gout = draw(n * s.out_len());
            let x: Mat = dev.tensor_from_vec(xv.clone(), (n, s.in_len()));
            let w: Mat = dev.tensor_from_vec(wv.clone(), s.filter_shape());
            let b: Vector = dev.tensor_from_vec(bv.clone(), (s.cout,));
            let out = conv_pool_gathered(x.clone().leaky_traced(), &w, &b, s);
            close(
                &host(&out),
                &conv_pool(&xv, n, s, &wv, &bv).unwrap(),
                "output",
            );
            let r: Mat = dev.tensor_from_vec(gout.clone(), (n, s.out_len()));
            let grads = (out * r).sum().backward();
            let (dw, db, dx) = conv_pool_grads(&xv, n, s, &wv, &bv, &gout).unwrap();
            close(&grads.get(&w).as_vec(), &dw, "filter gradient");
            close(&grads.get(&b).as_vec(), &db, "bias gradient");
            close(&grads.get(&x).as_vec(), &dx, "input gradient");
        }
    }
}
