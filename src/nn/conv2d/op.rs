//! The conv + pool stage: padding, pooling and the host passes over chunks of images, the
//! public host functions, and the op on the tape that N1 uses.

use dfdx::prelude::*;
use dfdx::tensor::Cpu;

use super::kernels::{conv_forward_padded, conv_weight_grad_padded};
use super::sparse::{Aligned, SparseBackward, SLACK};
use super::{Geo, PAD, TAPS};
use crate::nn::ops::host;
use crate::nn::ops::{Mat, Vector};
use crate::nn::{NnError, NnResult};

/// Images per chunk: the padded inputs and conv outputs of a chunk stay in the L2 cache.
pub(super) const CHUNK: usize = 16;

/// Copies `n` images (`h x w x c`) into `dst` with a border of `PAD` zeros.
fn pad_images(x: &[f32], n: usize, h: usize, w: usize, c: usize, dst: &mut Vec<f32>) {
    dst.clear();
    dst.resize(n * (h + 2 * PAD) * (w + 2 * PAD) * c, 0.0);
    pad_into(x, n, h, w, c, dst);
}

/// As [`pad_images`], into the start of `dst`, zero where the border goes.
fn pad_into(x: &[f32], n: usize, h: usize, w: usize, c: usize, dst: &mut [f32]) {
    let (hp, wp) = (h + 2 * PAD, w + 2 * PAD);
    for b in 0..n {
        for y in 0..h {
            let src = &x[((b * h + y) * w) * c..((b * h + y) * w + w) * c];
            let at = ((b * hp + y + PAD) * wp + PAD) * c;
            dst[at..at + w * c].copy_from_slice(src);
        }
    }
}

/// The filter of the input gradient: `wt[((dy, dx), co)][ci] = w[((4 - dy, 4 - dx), ci)][co]`.
fn flip_transpose(w: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; w.len()];
    for tap in 0..TAPS {
        let src = TAPS - 1 - tap;
        for ci in 0..cin {
            for co in 0..cout {
                out[(tap * cout + co) * cin + ci] = w[(src * cin + ci) * cout + co];
            }
        }
    }
    out
}

/// 2x2 max-pool, stride 2, of `n` images `h x w x c` (h, w even); the index (0..4) of the
/// winner of each window goes to `arg`.
fn pool_forward(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    out: &mut [f32],
    arg: &mut [u8],
) {
    for_each_window(n, h, w, c, |cand, o| {
        for ch in 0..c {
            let mut best = x[cand[0] + ch];
            let mut at = 0u8;
            for (j, &p) in cand.iter().enumerate().skip(1) {
                let v = x[p + ch];
                if v > best {
                    best = v;
                    at = j as u8;
                }
            }
            out[o + ch] = best;
            arg[o + ch] = at;
        }
    });
}

/// Routes the pooled gradient `gp` back to the winners: `gx` (zeroed here) is `n x h x w x c`.
fn pool_backward(gp: &[f32], arg: &[u8], n: usize, h: usize, w: usize, c: usize, gx: &mut [f32]) {
    gx.iter_mut().for_each(|v| *v = 0.0);
    for_each_window(n, h, w, c, |cand, o| {
        for ch in 0..c {
            gx[cand[arg[o + ch] as usize] + ch] += gp[o + ch];
        }
    });
}

/// Calls `f(window, o)` for every 2x2 window (stride 2) of `n` images `h x w x c`: `window`
/// holds where its four pixels start, `o` where its pooled pixel does.
#[inline(always)]
fn for_each_window(n: usize, h: usize, w: usize, c: usize, mut f: impl FnMut([usize; 4], usize)) {
    let (h2, w2) = (h / 2, w / 2);
    for b in 0..n {
        for y in 0..h2 {
            for xx in 0..w2 {
                let p0 = ((b * h + 2 * y) * w + 2 * xx) * c;
                let o = ((b * h2 + y) * w2 + xx) * c;
                f([p0, p0 + c, p0 + w * c, p0 + w * c + c], o);
            }
        }
    }
}

fn check_geometry(x: &[f32], n: usize, h: usize, w: usize, cin: usize) -> Result<(), String> {
    if x.len() != n * h * w * cin {
        return Err(format!(
            "{} numbers do not fit {n} images of {h} x {w} x {cin}",
            x.len()
        ));
    }
    Ok(())
}

/// SAME 5x5 convolution (stride 1) of `n` NHWC images, with an HWIO filter `w`
/// (`25 cin x cout`) and a bias per output channel. Returns `n x h x w x cout`.
pub fn conv2d_same(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    cin: usize,
    filter: &[f32],
    bias: &[f32],
) -> NnResult<Vec<f32>> {
    check_geometry(x, n, h, w, cin).map_err(NnError)?;
    let cout = bias.len();
    if cout == 0 || filter.len() != TAPS * cin * cout {
        return Err(NnError(format!(
            "a 5x5 filter from {cin} to {cout} channels has {} numbers, got {}",
            TAPS * cin * cout,
            filter.len()
        )));
    }
    let g = Geo { h, w, cin, cout };
    let mut xp = Vec::new();
    pad_images(x, n, h, w, cin, &mut xp);
    let mut out = vec![0.0f32; n * g.out_len()];
    conv_forward_padded(&xp, n, g, filter, bias, &mut out);
    Ok(out)
}

/// 2x2 max-pool with stride 2 of `n` NHWC images (`h` and `w` even).
pub fn max_pool2(x: &[f32], n: usize, h: usize, w: usize, c: usize) -> NnResult<Vec<f32>> {
    check_geometry(x, n, h, w, c).map_err(NnError)?;
    if !h.is_multiple_of(2) || !w.is_multiple_of(2) {
        return Err(NnError(format!(
            "max-pool 2x2 needs even sides, got {h} x {w}"
        )));
    }
    let mut out = vec![0.0f32; x.len() / 4];
    let mut arg = vec![0u8; x.len() / 4];
    pool_forward(x, n, h, w, c, &mut out, &mut arg);
    Ok(out)
}

/// One "convolution then 2x2 max-pool" stage on host numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvPoolShape {
    /// Input height and width (both even).
    pub h: usize,
    pub w: usize,
    pub cin: usize,
    pub cout: usize,
}

impl ConvPoolShape {
    fn geo(&self) -> Geo {
        Geo {
            h: self.h,
            w: self.w,
            cin: self.cin,
            cout: self.cout,
        }
    }

    pub fn in_len(&self) -> usize {
        self.h * self.w * self.cin
    }

    pub fn out_len(&self) -> usize {
        (self.h / 2) * (self.w / 2) * self.cout
    }

    pub fn filter_len(&self) -> usize {
        TAPS * self.cin * self.cout
    }

    /// The filter as a matrix: `25 cin x cout` (HWIO).
    pub(crate) fn filter_shape(&self) -> (usize, usize) {
        (TAPS * self.cin, self.cout)
    }

    fn check(&self) -> NnResult<()> {
        if self.h < 2
            || self.w < 2
            || !self.h.is_multiple_of(2)
            || !self.w.is_multiple_of(2)
            || self.cin == 0
            || self.cout == 0
        {
            return Err(NnError(format!(
                "a conv + pool stage needs even sides and channels, got {} x {} x {} -> {}",
                self.h, self.w, self.cin, self.cout
            )));
        }
        Ok(())
    }
}

/// Forward pass of a conv + pool stage over `n` images: the pooled outputs and the winner of
/// every pooling window.
pub(super) fn conv_pool_forward(
    x: &[f32],
    n: usize,
    s: ConvPoolShape,
    w: &[f32],
    bias: &[f32],
) -> (Vec<f32>, Vec<u8>) {
    let g = s.geo();
    let mut out = vec![0.0f32; n * s.out_len()];
    let mut arg = vec![0u8; n * s.out_len()];
    let (mut xp, mut conv) = (Vec::new(), vec![0.0f32; CHUNK * g.out_len()]);
    for (start, m) in chunks(n) {
        let (ins, outs) = (images(start, m, g.in_len()), images(start, m, s.out_len()));
        pad_images(&x[ins], m, g.h, g.w, g.cin, &mut xp);
        conv_forward_padded(&xp, m, g, w, bias, &mut conv);
        let conv = &conv[..m * g.out_len()];
        pool_forward(
            conv,
            m,
            g.h,
            g.w,
            g.cout,
            &mut out[outs.clone()],
            &mut arg[outs],
        );
    }
    (out, arg)
}

/// Gradients of a conv + pool stage: `(d filter, d bias, d input if asked)` from the gradient
/// of the pooled outputs, through the pool's winners only (`sparse.rs`).
pub(super) fn conv_pool_backward(
    x: &[f32],
    n: usize,
    s: ConvPoolShape,
    w: &[f32],
    arg: &[u8],
    gout: &[f32],
    need_dx: bool,
) -> (Vec<f32>, Vec<f32>, Option<Vec<f32>>) {
    let g = s.geo();
    let db = bias_grad(gout, g.cout);
    let mut pass = SparseBackward::new(g, w, need_dx);
    let mut dx = need_dx.then(|| vec![0.0f32; n * g.in_len()]);
    let mut xp = Aligned::default();
    for (start, m) in chunks(n) {
        let (ins, outs) = (images(start, m, g.in_len()), images(start, m, s.out_len()));
        let (arg, gout) = (&arg[outs.clone()], &gout[outs]);
        let xp = xp.zeroed(m * g.padded_len() + SLACK);
        pad_into(&x[ins.clone()], m, g.h, g.w, g.cin, xp);
        pass.weight_grad(xp, m, arg, gout);
        if let Some(dx) = dx.as_mut() {
            pass.input_grad(m, arg, gout, &mut dx[ins]);
        }
    }
    (pass.weight_grad_hwio(), db, dx)
}

/// As [`conv_pool_backward`], through a dense gradient of the conv outputs (zero but at the
/// winners) and dense convolutions over every pixel: the reference of the tests.
#[cfg_attr(not(test), allow(dead_code))]
pub(super) fn conv_pool_backward_dense(
    x: &[f32],
    n: usize,
    s: ConvPoolShape,
    w: &[f32],
    arg: &[u8],
    gout: &[f32],
    need_dx: bool,
) -> (Vec<f32>, Vec<f32>, Option<Vec<f32>>) {
    let g = s.geo();
    let mut dw = vec![0.0f32; s.filter_len()];
    let db = bias_grad(gout, g.cout);
    let mut dx = need_dx.then(|| (InputGrad::new(g, w), vec![0.0f32; n * g.in_len()]));
    let (mut xp, mut gconv) = (Vec::new(), vec![0.0f32; CHUNK * g.out_len()]);
    for (start, m) in chunks(n) {
        let (ins, outs) = (images(start, m, g.in_len()), images(start, m, s.out_len()));
        let gc = &mut gconv[..m * g.out_len()];
        pool_backward(&gout[outs.clone()], &arg[outs], m, g.h, g.w, g.cout, gc);
        pad_images(&x[ins.clone()], m, g.h, g.w, g.cin, &mut xp);
        conv_weight_grad_padded(&xp, m, g, gc, &mut dw);
        if let Some((input_grad, dx)) = dx.as_mut() {
            input_grad.write(gc, m, &mut dx[ins]);
        }
    }
    (dw, db, dx.map(|(_, dx)| dx))
}

/// The chunks of `n` images the host passes work on: `(first image, images)`.
fn chunks(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n)
        .step_by(CHUNK)
        .map(move |start| (start, CHUNK.min(n - start)))
}

/// Where `m` images of `len` numbers each, from image `start` on, sit in a batch.
fn images(start: usize, m: usize, len: usize) -> std::ops::Range<usize> {
    start * len..(start + m) * len
}

/// The bias gradient: the output gradient summed over every pixel of every image.
fn bias_grad(gout: &[f32], cout: usize) -> Vec<f32> {
    let mut db = vec![0.0f32; cout];
    for row in gout.chunks(cout) {
        for (d, v) in db.iter_mut().zip(row) {
            *d += v;
        }
    }
    db
}

/// The input gradient of a convolution: a SAME convolution of the padded gradient of its
/// outputs, from `cout` to `cin` channels, with the flipped, transposed filter and no bias.
struct InputGrad {
    g: Geo,
    filter: Vec<f32>,
    zero_bias: Vec<f32>,
    padded: Vec<f32>,
}

impl InputGrad {
    fn new(g: Geo, w: &[f32]) -> Self {
        InputGrad {
            g: Geo {
                h: g.h,
                w: g.w,
                cin: g.cout,
                cout: g.cin,
            },
            filter: flip_transpose(w, g.cin, g.cout),
            zero_bias: vec![0.0f32; g.cin],
            padded: Vec::new(),
        }
    }

    /// Writes to `dx` the input gradient of `m` images from the gradient `gconv` of their
    /// convolution outputs.
    fn write(&mut self, gconv: &[f32], m: usize, dx: &mut [f32]) {
        let g = self.g;
        pad_images(gconv, m, g.h, g.w, g.cin, &mut self.padded);
        conv_forward_padded(&self.padded, m, g, &self.filter, &self.zero_bias, dx);
    }
}

/// A conv + pool stage applied to host numbers, for tests and benchmarks: the pooled outputs
/// of `n` images.
pub fn conv_pool(
    x: &[f32],
    n: usize,
    s: ConvPoolShape,
    filter: &[f32],
    bias: &[f32],
) -> NnResult<Vec<f32>> {
    s.check()?;
    check_geometry(x, n, s.h, s.w, s.cin).map_err(NnError)?;
    if filter.len() != s.filter_len() || bias.len() != s.cout {
        return Err(NnError("filter or bias does not fit the stage".into()));
    }
    Ok(conv_pool_forward(x, n, s, filter, bias).0)
}

/// Gradients of `sum(gout * conv_pool(x))` with respect to the filter, the bias and the input.
pub fn conv_pool_grads(
    x: &[f32],
    n: usize,
    s: ConvPoolShape,
    filter: &[f32],
    bias: &[f32],
    gout: &[f32],
) -> NnResult<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    s.check()?;
    check_geometry(x, n, s.h, s.w, s.cin).map_err(NnError)?;
    if filter.len() != s.filter_len() || bias.len() != s.cout || gout.len() != n * s.out_len() {
        return Err(NnError(
            "filter, bias or output gradient does not fit the stage".into(),
        ));
    }
    let (_, arg) = conv_pool_forward(x, n, s, filter, bias);
    let (dw, db, dx) = conv_pool_backward(x, n, s, filter, &arg, gout, true);
    Ok((dw, db, dx.expect("asked for")))
}

// ---------------------------------------------------------------------------------------------
// ops on the tape

/// Conv + bias + 2x2 max-pool of the rows of `x` (`n x h w cin`, NHWC per row); gives
/// `n x (h/2)(w/2) cout`. With `need_dx` false no gradient flows to `x` (the input images).
pub(crate) fn conv_pool_op<T: Tape<f32, Cpu> + Merge<T>>(
    x: Mat<T>,
    w: &Mat,
    b: &Vector,
    s: ConvPoolShape,
    need_dx: bool,
) -> Mat<T> {
    let n = x.shape().0;
    let (x, x_tape) = x.split_tape();
    let (w, w_tape) = w.retaped::<T>().split_tape();
    let (b, b_tape) = b.retaped::<T>().split_tape();
    let mut tape = x_tape.merge(w_tape).merge(b_tape);
    let (xv, wv, bv) = (host(&x), host(&w), host(&b));
    let (out, arg) = conv_pool_forward(&xv, n, s, &wv, &bv);
    let out = x.device().tensor_from_vec(out, (n, s.out_len()));
    let (x_g, w_g, b_g, out_g) = (x.ghost(), w.ghost(), b.ghost(), out.ghost());
    tape.add_backward_op(move |grads| {
        grads.try_alloc_for(&out_g)?;
        let go: Vec<f32> = grads.get_or_alloc_mut(&out_g)?.to_vec();
        let (dw, db, dx) = conv_pool_backward(&xv, n, s, &wv, &arg, &go, need_dx);
        add_into(grads.get_or_alloc_mut(&w_g)?, &dw);
        add_into(grads.get_or_alloc_mut(&b_g)?, &db);
        if let Some(dx) = dx {
            grads.try_alloc_for(&x_g)?;
            add_into(grads.get_or_alloc_mut(&x_g)?, &dx);
        }
        Ok(())
    });
    out.put_tape(tape)
}

fn add_into(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}
