//! The backward pass of a conv + pool stage through the pool's winners only.
//!
//! A 2x2 max-pool passes the gradient of each pooled output, channel by channel, to one pixel
//! of its window (the winner the forward pass kept in `arg`), so three of every four conv
//! outputs have a zero gradient. Instead of spreading the pooled gradient over a dense
//! conv-output gradient and convolving it (a quarter of the multiply-adds useful), the passes
//! here visit the winners only:
//!
//! - the weight gradient: `dw[dy][dx][ci][co] += g * xp[y + dy][x + dx][ci]` for every winner
//!   `(y, x)` of channel `co` with pooled gradient `g`. The patch of a winner is five rows of
//!   `5 cin` contiguous numbers of the padded NHWC image, so the gradient is accumulated
//!   channel-major, `(co, dy, dx ci)`, a block of vector registers at a time over the winners of
//!   the channel in one image, and turned into the HWIO layout once per call;
//! - the input gradient: `dxp[y + dy][x + dx][ci] += g * w[dy][dx][ci][co]`: the same patch,
//!   scattered into a padded input gradient from the filter stored channel-major. The channels
//!   with the same winner are summed in registers first (a pooled output has at most four
//!   distinct winners), then added to the patch row by row.
//!
//! An image whose pooled gradient is all zero (a tuple whose loss is flat) is skipped. Rows of
//! `5 cin` numbers are handled as whole vectors of [`V`] lanes; the lanes past a row's end read
//! neighbouring numbers of the padded image (dropped) or add zeros (the channel-major filter is
//! padded with zeros), so the buffers carry [`SLACK`] numbers past their end, and start on a
//! cache line ([`Aligned`]). The kernel bodies are generic over the block of vectors and the
//! fused multiply-add, compiled for AVX2 + FMA (which the AVX-512 CPUs run too) and for plain
//! targets, as in `kernels.rs`.

use super::isa::{isa, Isa};
use super::kernels::madd;
use super::{Geo, K, PAD};

/// Lanes of one vector of a patch row.
pub(super) const V: usize = 8;
/// Numbers a padded buffer needs past its end for the lanes past the end of a row.
pub(super) const SLACK: usize = V;

/// A buffer whose numbers start on a cache line: the kernels' vector loads of patch rows (whole
/// vectors from a pixel of 16 channels, or from a filter row) then never straddle two lines.
#[derive(Default)]
pub(super) struct Aligned {
    buf: Vec<f32>,
    at: usize,
    len: usize,
}

impl Aligned {
    /// `len` zeros.
    pub(super) fn zeroed(&mut self, len: usize) -> &mut [f32] {
        self.buf.clear();
        self.buf.resize(len + 64 / std::mem::size_of::<f32>(), 0.0);
        self.at = self.buf.as_ptr().align_offset(64);
        self.len = len;
        &mut self.buf[self.at..self.at + len]
    }

    pub(super) fn get(&self) -> &[f32] {
        &self.buf[self.at..self.at + self.len]
    }

    fn get_mut(&mut self) -> &mut [f32] {
        &mut self.buf[self.at..self.at + self.len]
    }
}

/// Vectors of one patch row (`5 cin` numbers).
fn row_vectors(cin: usize) -> usize {
    (K * cin).div_ceil(V)
}

/// Vectors kept in registers at once, for `count` vectors to go through.
fn block(count: usize) -> usize {
    [10, 5, 2]
        .into_iter()
        .find(|r| count.is_multiple_of(*r))
        .unwrap_or(1)
}

/// Where the patches of the pooling windows' pixels start in a padded image: `first[p]` for
/// the first pixel of window `p`, `step[arg]` more for its pixel `arg` (0..4, row-major).
pub(super) struct Windows {
    first: Vec<usize>,
    step: [usize; 4],
}

impl Windows {
    fn new(g: Geo) -> Self {
        let (h2, w2) = (g.h / 2, g.w / 2);
        let first = (0..h2 * w2)
            .map(|p| (2 * (p / w2) * g.wp() + 2 * (p % w2)) * g.cin)
            .collect();
        let step = [0, g.cin, g.wp() * g.cin, (g.wp() + 1) * g.cin];
        Windows { first, step }
    }
}

/// `dwt[co][dy][v] += sum over the pooled outputs p of one image of gout[p][co] *
/// xp[win(p, co) + dy * wp cin + v V..][..V]`, with `win(p, co)` where the patch of the winner
/// of channel `co` in window `p` starts; `dwt` holds `K x nv` vectors per channel. A block of
/// `RR` rows x `RV` vectors at a time, in registers.
///
/// # Safety
/// `arg` and `gout` hold the `win.first.len() x cout` pooled outputs of the image; every patch
/// start plus `(K - 1) wp cin + nv V` is within `xp`; `RR` divides `K`, `RV` divides `nv`;
/// `dwt.len() >= cout * K * nv * V`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn dw_body<const RR: usize, const RV: usize, const FMA: bool>(
    xp: &[f32],
    arg: &[u8],
    gout: &[f32],
    win: &Windows,
    row_stride: usize,
    nv: usize,
    dwt: &mut [f32],
) {
    let c = gout.len() / win.first.len();
    let (ap, gp) = (arg.as_ptr(), gout.as_ptr());
    for co in 0..c {
        for dy0 in (0..K).step_by(RR) {
            for vb in (0..nv).step_by(RV) {
                let at = xp.as_ptr().add(dy0 * row_stride + vb * V);
                let mut acc = [[[0.0f32; V]; RV]; RR];
                for (p, &first) in win.first.iter().enumerate() {
                    let (a, gv) = (*ap.add(p * c + co), *gp.add(p * c + co));
                    let base = at.add(first + win.step[a as usize & 3]);
                    for (i, acc) in acc.iter_mut().enumerate() {
                        for (j, acc) in acc.iter_mut().enumerate() {
                            let xv: [f32; V] = std::ptr::read_unaligned(
                                base.add(i * row_stride + j * V) as *const [f32; V],
                            );
                            for l in 0..V {
                                acc[l] = madd::<FMA>(gv, xv[l], acc[l]);
                            }
                        }
                    }
                }
                for (i, acc) in acc.iter().enumerate() {
                    let d = dwt.as_mut_ptr().add(((co * K + dy0 + i) * nv + vb) * V);
                    for (j, acc) in acc.iter().enumerate() {
                        for (l, v) in acc.iter().enumerate() {
                            *d.add(j * V + l) += v;
                        }
                    }
                }
            }
        }
    }
}

/// `dxp[patch of (b, y, x)] += sum over the channels co won by (y, x) of g * wt[co]` for every
/// pooled output of `m` images, `R` vectors of a patch row at a time. `wt` is the filter
/// channel-major, `(co, dy, nv vectors)`, zero past `5 cin` in each row.
///
/// # Safety
/// `arg` and `gout` hold `m` images of pooled outputs; `dxp.len() >= m * g.padded_len() +
/// SLACK`; `wt.len() >= cout * K * nv * V`; `nv` is a multiple of `R`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn dx_body<const R: usize, const FMA: bool>(
    g: Geo,
    m: usize,
    arg: &[u8],
    gout: &[f32],
    wt: &[f32],
    nv: usize,
    group: &mut [(usize, f32)],
    dxp: &mut [f32],
) {
    let (h2, w2, c) = (g.h / 2, g.w / 2, g.cout);
    let (wtp, dp) = (wt.as_ptr(), dxp.as_mut_ptr());
    let row = nv * V;
    let pooled = h2 * w2 * c;
    for b in 0..m {
        // an image whose pooled gradient is zero adds nothing
        if gout[b * pooled..(b + 1) * pooled].iter().all(|v| *v == 0.0) {
            continue;
        }
        for py in 0..h2 {
            for px in 0..w2 {
                let o = ((b * h2 + py) * w2 + px) * c;
                // the channels by winner, `count[win]` of them at `group[win * c..]`;
                // written always, kept if the gradient is not zero: no branch to miss
                let mut count = [0usize; 4];
                for (co, (&a, &gv)) in arg[o..o + c].iter().zip(&gout[o..o + c]).enumerate() {
                    let win = a as usize & 3;
                    group[win * c + count[win]] = (co, gv);
                    count[win] += usize::from(gv != 0.0);
                }
                for (win, &count) in count.iter().enumerate() {
                    if count == 0 {
                        continue;
                    }
                    let group = &group[win * c..win * c + count];
                    let (y, x) = (2 * py + win / 2, 2 * px + win % 2);
                    for dy in 0..K {
                        let dst = dp.add(((b * g.hp() + y + dy) * g.wp() + x) * g.cin);
                        for vb in (0..nv).step_by(R) {
                            let mut acc = [[0.0f32; V]; R];
                            for &(co, gv) in group {
                                let src = wtp.add((co * K + dy) * row + vb * V);
                                for (r, acc) in acc.iter_mut().enumerate() {
                                    let wv: [f32; V] =
                                        std::ptr::read_unaligned(src.add(r * V) as *const [f32; V]);
                                    for l in 0..V {
                                        acc[l] = madd::<FMA>(gv, wv[l], acc[l]);
                                    }
                                }
                            }
                            let d = dst.add(vb * V);
                            for (r, acc) in acc.iter().enumerate() {
                                for (l, v) in acc.iter().enumerate() {
                                    *d.add(r * V + l) += v;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

macro_rules! isa_versions {
    ($body:ident, $avx2:ident, $generic:ident, [$(const $c:ident: usize),*],
     ($($arg:ident: $ty:ty),*)) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $avx2<$(const $c: usize),*>($($arg: $ty),*) {
            $body::<$($c,)* true>($($arg),*)
        }
        #[allow(clippy::too_many_arguments)]
        unsafe fn $generic<$(const $c: usize),*>($($arg: $ty),*) {
            $body::<$($c,)* false>($($arg),*)
        }
    };
}

isa_versions!(dw_body, dw_avx2, dw_generic, [const RR: usize, const RV: usize],
    (xp: &[f32], arg: &[u8], gout: &[f32], win: &Windows, row_stride: usize, nv: usize,
     dwt: &mut [f32]));
isa_versions!(dx_body, dx_avx2, dx_generic, [const R: usize],
    (g: Geo, m: usize, arg: &[u8], gout: &[f32], wt: &[f32], nv: usize,
     group: &mut [(usize, f32)], dxp: &mut [f32]));

/// Calls the AVX2 + FMA kernel on CPUs that have it (the AVX-512 ones too), else the generic one.
macro_rules! pick {
    ($avx2:ident, $generic:ident, [$($c:literal),*], ($($arg:expr),*)) => {
        match isa() {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 | Isa::Avx2 => $avx2::<$($c),*>($($arg),*),
            _ => $generic::<$($c),*>($($arg),*),
        }
    };
}

/// The backward pass of one conv + pool stage through the winners, over chunks of images:
/// the weight gradient accumulates over the chunks, the input gradient is written per chunk.
pub(super) struct SparseBackward {
    g: Geo,
    /// Vectors of a patch row.
    nv: usize,
    /// The weight gradient so far, `(co, dy, nv vectors)`.
    dwt: Vec<f32>,
    /// The filter `(co, dy, nv vectors)`, zero past `5 cin` in each row; empty without an input
    /// gradient.
    wt: Aligned,
    win: Windows,
    /// The channels of a pooled output by winner.
    group: Vec<(usize, f32)>,
    dxp: Aligned,
}

impl SparseBackward {
    /// For a stage of shape `g` with the filter `w` (HWIO); `need_dx`: the input gradient too.
    pub(super) fn new(g: Geo, w: &[f32], need_dx: bool) -> Self {
        assert!(w.len() == K * K * g.cin * g.cout);
        let nv = row_vectors(g.cin);
        let mut wt = Aligned::default();
        if need_dx {
            let wt = wt.zeroed(g.cout * K * nv * V);
            for co in 0..g.cout {
                for dy in 0..K {
                    for t in 0..K * g.cin {
                        wt[(co * K + dy) * nv * V + t] = w[(dy * K * g.cin + t) * g.cout + co];
                    }
                }
            }
        }
        SparseBackward {
            g,
            nv,
            dwt: vec![0.0; g.cout * K * nv * V],
            wt,
            win: Windows::new(g),
            group: vec![(0, 0.0); 4 * g.cout],
            dxp: Aligned::default(),
        }
    }

    /// Adds the weight gradient of `m` images: `xp` their padded inputs with [`SLACK`] numbers
    /// past the end, `arg` and `gout` the winners and gradients of their pooled outputs. One
    /// image at a time (its padded input stays in the L1 cache); an image whose pooled
    /// gradient is zero adds nothing and is skipped.
    pub(super) fn weight_grad(&mut self, xp: &[f32], m: usize, arg: &[u8], gout: &[f32]) {
        let g = self.g;
        let pooled = (g.h / 2) * (g.w / 2) * g.cout;
        assert!(xp.len() >= m * g.padded_len() + SLACK);
        assert!(arg.len() == m * pooled && gout.len() == m * pooled);
        for b in 0..m {
            let (arg, gout) = (&arg[b * pooled..][..pooled], &gout[b * pooled..][..pooled]);
            if gout.iter().all(|v| *v == 0.0) {
                continue;
            }
            let xp = &xp[b * g.padded_len()..];
            let (win, nv, dwt) = (&self.win, self.nv, &mut self.dwt[..]);
            let rs = g.wp() * g.cin;
            macro_rules! dw {
                ($rr:literal, $rv:literal) => {
                    pick!(
                        dw_avx2,
                        dw_generic,
                        [$rr, $rv],
                        (xp, arg, gout, win, rs, nv, dwt)
                    )
                };
            }
            // SAFETY: a patch starts at a pixel of the image, its last vector ends at most
            // `V - 1` numbers past the image, within the slack or the next image; the blocks
            // divide `K` and `nv`
            unsafe {
                match (nv, block(nv)) {
                    (1, _) => dw!(5, 1),
                    (_, 10) => dw!(1, 10),
                    (_, 5) => dw!(1, 5),
                    (_, 2) => dw!(1, 2),
                    _ => dw!(1, 1),
                }
            }
        }
    }

    /// Writes to `dx` the input gradient of `m` images from the winners and gradients of their
    /// pooled outputs.
    pub(super) fn input_grad(&mut self, m: usize, arg: &[u8], gout: &[f32], dx: &mut [f32]) {
        let g = self.g;
        let pooled = m * (g.h / 2) * (g.w / 2) * g.cout;
        assert!(
            !self.wt.get().is_empty(),
            "built without the input gradient"
        );
        assert!(arg.len() == pooled && gout.len() == pooled && dx.len() == m * g.in_len());
        self.dxp.zeroed(m * g.padded_len() + SLACK);
        let nv = self.nv;
        let (wt, group, dxp) = (self.wt.get(), &mut self.group, self.dxp.get_mut());
        // SAFETY: lengths checked above; a patch row's last vector ends within the slack
        unsafe {
            macro_rules! dx {
                ($r:literal) => {
                    pick!(
                        dx_avx2,
                        dx_generic,
                        [$r],
                        (g, m, arg, gout, wt, nv, group, dxp)
                    )
                };
            }
            match block(nv) {
                10 => dx!(10),
                5 => dx!(5),
                2 => dx!(2),
                _ => dx!(1),
            }
        }
        let rowlen = g.w * g.cin;
        for b in 0..m {
            for y in 0..g.h {
                let at = ((b * g.hp() + y + PAD) * g.wp() + PAD) * g.cin;
                let to = (b * g.h + y) * rowlen;
                dx[to..to + rowlen].copy_from_slice(&self.dxp.get()[at..at + rowlen]);
            }
        }
    }

    /// The weight gradient accumulated so far, in the HWIO layout (`25 cin x cout`).
    pub(super) fn weight_grad_hwio(&self) -> Vec<f32> {
        let g = self.g;
        let row = self.nv * V;
        let mut dw = vec![0.0f32; K * K * g.cin * g.cout];
        for co in 0..g.cout {
            for dy in 0..K {
                for t in 0..K * g.cin {
                    dw[(dy * K * g.cin + t) * g.cout + co] = self.dwt[(co * K + dy) * row + t];
                }
            }
        }
        dw
    }
}
