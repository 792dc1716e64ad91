//! The backward pass of a conv + pool stage through the pool's winners only.
//!
//! A 2x2 max-pool passes the gradient of each pooled output, channel by channel, to one pixel
//! of its window, so three of every four conv outputs have a zero gradient. Instead of spreading
//! the pooled gradient over a dense conv-output gradient and convolving it (a quarter of the
//! multiply-adds useful), the passes here visit the winners only:
//!
//! - the weight gradient: `dw[dy][dx][ci][co] += g * xp[y + dy][x + dx][ci]` for every winner
//!   `(y, x)` of channel `co` with pooled gradient `g`. The patch of a winner is five rows of
//!   `5 cin` contiguous numbers of the padded NHWC image, so the gradient is accumulated
//!   channel-major, `(co, dy, dx ci)`, a block of vector registers at a time over every winner
//!   of the channel, and turned into the HWIO layout once per call;
//! - the input gradient: `dxp[y + dy][x + dx][ci] += g * w[dy][dx][ci][co]`: the same patch,
//!   scattered into a padded input gradient. The channels with the same winner are summed in
//!   registers first (a pooled output has at most four distinct winners), then added to the
//!   patch row by row.
//!
//! Rows of `5 cin` numbers are handled as whole vectors of [`V`] lanes; the lanes past a row's
//! end read neighbouring numbers of the padded image (dropped) or add zeros (the channel-major
//! filter is padded with zeros), so the buffers carry [`SLACK`] numbers past their end.
//! The kernel bodies are generic over the block of vectors and the fused multiply-add, compiled
//! for AVX2 + FMA and for plain targets like those of `kernels.rs`.

use super::isa::{isa, Isa};
use super::{Geo, K, PAD};

/// Lanes of one vector of a patch row.
pub(super) const V: usize = 8;
/// Numbers a padded buffer needs past its end for the lanes past the end of a row.
pub(super) const SLACK: usize = V;

#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
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

/// Where the winners of a chunk of images sit, channel by channel: for channel `co`,
/// `at[co * cap..][..count[co]]` are the offsets of the patches (of the padded images) and
/// `grad[..]` their pooled gradients. Zero gradients are left out.
#[derive(Default)]
pub(super) struct Winners {
    cap: usize,
    count: Vec<usize>,
    at: Vec<usize>,
    grad: Vec<f32>,
}

impl Winners {
    /// The winners of `m` images from their pooled gradient `gout` and the winner index `arg`
    /// (0..4 per pooled output and channel, row-major in the 2x2 window).
    pub(super) fn collect(&mut self, g: Geo, m: usize, arg: &[u8], gout: &[f32]) {
        let (h2, w2, c) = (g.h / 2, g.w / 2, g.cout);
        self.cap = m * h2 * w2;
        self.count.clear();
        self.count.resize(c, 0);
        self.at.resize(c * self.cap, 0);
        self.grad.resize(c * self.cap, 0.0);
        for b in 0..m {
            for py in 0..h2 {
                for px in 0..w2 {
                    let o = ((b * h2 + py) * w2 + px) * c;
                    for co in 0..c {
                        let gv = gout[o + co];
                        if gv == 0.0 {
                            continue;
                        }
                        let a = arg[o + co] as usize;
                        let (y, x) = (2 * py + a / 2, 2 * px + a % 2);
                        let i = co * self.cap + self.count[co];
                        self.at[i] = ((b * g.hp() + y) * g.wp() + x) * g.cin;
                        self.grad[i] = gv;
                        self.count[co] += 1;
                    }
                }
            }
        }
    }
}

/// `dwt[co][k] += sum over the winners of co of g * xp[at + offs[k] ..][..V]`, `R` vectors
/// at a time; `dwt` holds `offs.len()` vectors per channel.
///
/// # Safety
/// Every `at + offs[k] + V` of the winners is within `xp`; `offs.len()` is a multiple of `R`;
/// `dwt.len() >= cout * offs.len() * V`.
#[inline(always)]
unsafe fn dw_body<const R: usize, const FMA: bool>(
    xp: &[f32],
    win: &Winners,
    offs: &[usize],
    dwt: &mut [f32],
) {
    let per = offs.len() * V;
    for (co, &count) in win.count.iter().enumerate() {
        let at = &win.at[co * win.cap..co * win.cap + count];
        let gs = &win.grad[co * win.cap..co * win.cap + count];
        for rb in (0..offs.len()).step_by(R) {
            let mut o = [0usize; R];
            o.copy_from_slice(&offs[rb..rb + R]);
            let mut acc = [[0.0f32; V]; R];
            for (&a, &gv) in at.iter().zip(gs) {
                let base = xp.as_ptr().add(a);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let xv: [f32; V] = std::ptr::read_unaligned(base.add(o[r]) as *const [f32; V]);
                    for l in 0..V {
                        acc[l] = madd::<FMA>(gv, xv[l], acc[l]);
                    }
                }
            }
            let d = dwt.as_mut_ptr().add(co * per + rb * V);
            for (r, acc) in acc.iter().enumerate() {
                for (l, v) in acc.iter().enumerate() {
                    *d.add(r * V + l) += v;
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
    group: &mut Vec<(usize, f32)>,
    dxp: &mut [f32],
) {
    let (h2, w2, c) = (g.h / 2, g.w / 2, g.cout);
    let (wtp, dp) = (wt.as_ptr(), dxp.as_mut_ptr());
    let row = nv * V;
    for b in 0..m {
        for py in 0..h2 {
            for px in 0..w2 {
                let o = ((b * h2 + py) * w2 + px) * c;
                for win in 0..4u8 {
                    group.clear();
                    for co in 0..c {
                        let gv = gout[o + co];
                        if arg[o + co] == win && gv != 0.0 {
                            group.push((co, gv));
                        }
                    }
                    if group.is_empty() {
                        continue;
                    }
                    let (y, x) = (2 * py + win as usize / 2, 2 * px + win as usize % 2);
                    for dy in 0..K {
                        let dst = dp.add(((b * g.hp() + y + dy) * g.wp() + x) * g.cin);
                        for vb in (0..nv).step_by(R) {
                            let mut acc = [[0.0f32; V]; R];
                            for &(co, gv) in group.iter() {
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
    ($body:ident, $avx2:ident, $generic:ident, ($($arg:ident: $ty:ty),*)) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $avx2<const R: usize>($($arg: $ty),*) {
            $body::<R, true>($($arg),*)
        }
        #[allow(clippy::too_many_arguments)]
        unsafe fn $generic<const R: usize>($($arg: $ty),*) {
            $body::<R, false>($($arg),*)
        }
    };
}

isa_versions!(dw_body, dw_avx2, dw_generic,
    (xp: &[f32], win: &Winners, offs: &[usize], dwt: &mut [f32]));
isa_versions!(dx_body, dx_avx2, dx_generic,
    (g: Geo, m: usize, arg: &[u8], gout: &[f32], wt: &[f32], nv: usize,
     group: &mut Vec<(usize, f32)>, dxp: &mut [f32]));

macro_rules! dispatch {
    ($block:expr, $avx2:ident, $generic:ident, ($($arg:expr),*)) => {{
        macro_rules! call {
            ($r:literal) => {
                match isa() {
                    // the AVX-512 machines run the AVX2 + FMA kernels here
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 | Isa::Avx2 => $avx2::<$r>($($arg),*),
                    _ => $generic::<$r>($($arg),*),
                }
            };
        }
        match $block {
            10 => call!(10),
            5 => call!(5),
            2 => call!(2),
            _ => call!(1),
        }
    }};
}

/// The backward pass of one conv + pool stage through the winners, over chunks of images:
/// the weight gradient accumulates over the chunks, the input gradient is written per chunk.
pub(super) struct SparseBackward {
    g: Geo,
    /// Vectors of a patch row.
    nv: usize,
    /// The offsets of the vectors of a patch, row by row: `dy * wp cin + v * V`.
    offs: Vec<usize>,
    /// The weight gradient so far, `(co, dy, nv vectors)`.
    dwt: Vec<f32>,
    /// The filter `(co, dy, nv vectors)`, zero past `5 cin` in each row; empty without an input
    /// gradient.
    wt: Vec<f32>,
    win: Winners,
    group: Vec<(usize, f32)>,
    dxp: Vec<f32>,
}

impl SparseBackward {
    /// For a stage of shape `g` with the filter `w` (HWIO); `need_dx`: the input gradient too.
    pub(super) fn new(g: Geo, w: &[f32], need_dx: bool) -> Self {
        assert!(w.len() == K * K * g.cin * g.cout);
        let nv = row_vectors(g.cin);
        let offs = (0..K)
            .flat_map(|dy| (0..nv).map(move |v| dy * g.wp() * g.cin + v * V))
            .collect();
        let mut wt = Vec::new();
        if need_dx {
            wt.resize(g.cout * K * nv * V, 0.0);
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
            offs,
            dwt: vec![0.0; g.cout * K * nv * V],
            wt,
            win: Winners::default(),
            group: Vec::with_capacity(g.cout),
            dxp: Vec::new(),
        }
    }

    /// Adds the weight gradient of `m` images: `xp` their padded inputs with [`SLACK`] numbers
    /// past the end, `arg` and `gout` the winners and gradients of their pooled outputs.
    pub(super) fn weight_grad(&mut self, xp: &[f32], m: usize, arg: &[u8], gout: &[f32]) {
        let g = self.g;
        let pooled = m * (g.h / 2) * (g.w / 2) * g.cout;
        assert!(xp.len() >= m * g.padded_len() + SLACK);
        assert!(arg.len() == pooled && gout.len() == pooled);
        self.win.collect(g, m, arg, gout);
        let (win, offs, dwt) = (&self.win, &self.offs[..], &mut self.dwt[..]);
        // SAFETY: a patch starts at a pixel of the image, its last vector ends at most `V - 1`
        // numbers past the image's last row, within the slack; `block` divides `offs.len()`
        unsafe {
            dispatch!(
                block(offs.len()),
                dw_avx2,
                dw_generic,
                (xp, win, offs, dwt)
            )
        }
    }

    /// Writes to `dx` the input gradient of `m` images from the winners and gradients of their
    /// pooled outputs.
    pub(super) fn input_grad(&mut self, m: usize, arg: &[u8], gout: &[f32], dx: &mut [f32]) {
        let g = self.g;
        let pooled = m * (g.h / 2) * (g.w / 2) * g.cout;
        assert!(!self.wt.is_empty(), "built without the input gradient");
        assert!(arg.len() == pooled && gout.len() == pooled && dx.len() == m * g.in_len());
        self.dxp.clear();
        self.dxp.resize(m * g.padded_len() + SLACK, 0.0);
        let nv = self.nv;
        let (wt, group, dxp) = (&self.wt[..], &mut self.group, &mut self.dxp[..]);
        // SAFETY: lengths checked above; a patch row's last vector ends within the slack
        unsafe {
            dispatch!(
                block(nv),
                dx_avx2,
                dx_generic,
                (g, m, arg, gout, wt, nv, group, dxp)
            )
        }
        let rowlen = g.w * g.cin;
        for b in 0..m {
            for y in 0..g.h {
                let at = ((b * g.hp() + y + PAD) * g.wp() + PAD) * g.cin;
                let to = (b * g.h + y) * rowlen;
                dx[to..to + rowlen].copy_from_slice(&self.dxp[at..at + rowlen]);
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
