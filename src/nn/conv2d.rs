//! 2-D convolution and max-pooling (spec part 2), the networks of E2/E3 (the per-image network
//! N1 and the combining network N2) and the softmax layer of E4.
//!
//! Images are stored channel-last (NHWC): image `b`, row `y`, column `x`, channel `c` sits at
//! `((b * h + y) * w + x) * c_count + c`. A convolution is 5x5, stride 1, SAME padding (two
//! zeros on every side), with weights laid out as TensorFlow's HWIO filter:
//! `w[((dy * 5 + dx) * cin + ci) * cout + co]`, and `out[y][x][co] = b[co] + sum over dy, dx, ci
//! of x[y + dy - 2][x + dx - 2][ci] * w[dy][dx][ci][co]`. Max-pooling is 2x2 with stride 2.
//!
//! In N1 every convolution is followed directly by a pool (no ReLU in between, as in the
//! authors' code), so the two run as one op on the tape: [`conv_pool`]. Its forward and
//! backward passes are direct convolutions on the host, written so that the compiler keeps a
//! block of outputs (several pixels x 16 channels) in vector registers; they are compiled for
//! AVX-512, for AVX2 + FMA and for plain x86-64 / other targets, and the best one the CPU
//! supports is picked at run time. The input gradient of a convolution is the convolution of
//! the padded output gradient with the flipped, transposed filter, so it reuses the forward
//! kernel. (An im2col through dfdx's `gather` and a `matmul` was several times slower: it
//! writes 25 copies of every input.)
//!
//! The dense layers, the losses and the optimizer are ordinary dfdx ops on runtime shapes.

use std::sync::OnceLock;

use dfdx::prelude::*;
use rand::Rng;

use super::device::{new_device, Dev};
use super::init::truncated_normal;
use super::loss::Loss;
use super::ops::{add_bias, host, loss_tensor, Mat, Vector};
use super::optim::Optimizer;
use super::snr::{gradient_snr, snr_of_columns, Snr, SnrReport};
use super::{err, NnError, NnResult};

const K: usize = 5;
const TAPS: usize = K * K;
const PAD: usize = 2;
/// Images per chunk: the padded inputs and conv outputs of a chunk stay in the L2 cache.
const CHUNK: usize = 16;

// ---------------------------------------------------------------------------------------------
// host kernels

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isa {
    Avx512,
    Avx2,
    Generic,
}

thread_local! {
    static FORCED: std::cell::Cell<Option<Isa>> = const { std::cell::Cell::new(None) };
}

fn detected_isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            let pick = std::env::var("FAIL_LAB_CONV_ISA").unwrap_or_default();
            if pick == "generic" {
                return Isa::Generic;
            }
            if pick != "avx2"
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("fma")
            {
                return Isa::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::Generic
    })
}

fn isa() -> Isa {
    FORCED.with(|f| f.get()).unwrap_or_else(detected_isa)
}

/// The convolution kernels this CPU can run, best first: some of `avx512`, `avx2+fma`, and
/// always `generic`.
pub fn conv_kernels_available() -> Vec<&'static str> {
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
            v.push("avx512");
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            v.push("avx2+fma");
        }
    }
    v.push("generic");
    v
}

/// Runs `f` with the convolution kernels `kind` (one of [`conv_kernels_available`]) on the
/// calling thread, to compare them; an unavailable kind is an error.
pub fn with_conv_kernels<R>(kind: &str, f: impl FnOnce() -> R) -> NnResult<R> {
    if !conv_kernels_available().contains(&kind) {
        return Err(NnError(format!(
            "convolution kernels {kind} are not available on this CPU; available: {}",
            conv_kernels_available().join(", ")
        )));
    }
    let pick = match kind {
        "avx512" => Isa::Avx512,
        "avx2+fma" => Isa::Avx2,
        _ => Isa::Generic,
    };
    let before = FORCED.with(|c| c.replace(Some(pick)));
    let out = f();
    FORCED.with(|c| c.set(before));
    Ok(out)
}

/// The instruction set the convolution kernels use on this CPU.
pub fn conv_kernel_isa() -> &'static str {
    match isa() {
        Isa::Avx512 => "avx512",
        Isa::Avx2 => "avx2+fma",
        Isa::Generic => "generic",
    }
}

#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Shape of one SAME 5x5 convolution: `h x w` images, `cin` channels in, `cout` out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geo {
    h: usize,
    w: usize,
    cin: usize,
    cout: usize,
}

impl Geo {
    fn hp(&self) -> usize {
        self.h + 2 * PAD
    }
    fn wp(&self) -> usize {
        self.w + 2 * PAD
    }
    fn in_len(&self) -> usize {
        self.h * self.w * self.cin
    }
    fn out_len(&self) -> usize {
        self.h * self.w * self.cout
    }
    fn padded_len(&self) -> usize {
        self.hp() * self.wp() * self.cin
    }
}

/// Copies `n` images (`h x w x c`) into `dst` with a border of `PAD` zeros.
fn pad_images(x: &[f32], n: usize, h: usize, w: usize, c: usize, dst: &mut Vec<f32>) {
    let (hp, wp) = (h + 2 * PAD, w + 2 * PAD);
    dst.clear();
    dst.resize(n * hp * wp * c, 0.0);
    for b in 0..n {
        for y in 0..h {
            let src = &x[((b * h + y) * w) * c..((b * h + y) * w + w) * c];
            let at = ((b * hp + y + PAD) * wp + PAD) * c;
            dst[at..at + w * c].copy_from_slice(src);
        }
    }
}

/// Lanes (output channels per register block) for `cout` channels.
fn lanes(cout: usize) -> usize {
    [16, 8, 4, 1]
        .into_iter()
        .find(|l| cout.is_multiple_of(*l))
        .unwrap_or(1)
}

/// Weights `rows x cout` regrouped in blocks of `lanes` output channels: block `j` holds
/// `rows x lanes` numbers.
fn pack_lanes(w: &[f32], rows: usize, cout: usize, lanes: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows * cout);
    for blk in 0..cout / lanes {
        for r in 0..rows {
            out.extend_from_slice(&w[r * cout + blk * lanes..r * cout + (blk + 1) * lanes]);
        }
    }
    out
}

/// One block of `P` output pixels x `L` channels of a SAME 5x5 convolution.
///
/// # Safety
/// `xp` holds the padded images, `wb` one lane block of packed weights and `out` the outputs;
/// the caller checks their lengths against `g`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn fwd_block<const L: usize, const P: usize, const FMA: bool>(
    xp: *const f32,
    wb: *const f32,
    bias: &[f32; L],
    g: Geo,
    b: usize,
    y: usize,
    x0: usize,
    out: *mut f32,
    co0: usize,
) {
    let cin = g.cin;
    let mut acc = [*bias; P];
    for dy in 0..K {
        let row = xp.add(((b * g.hp() + y + dy) * g.wp() + x0) * cin);
        for dx in 0..K {
            let xs = row.add(dx * cin);
            let wt = wb.add((dy * K + dx) * cin * L);
            for ci in 0..cin {
                let wv: [f32; L] = std::ptr::read_unaligned(wt.add(ci * L) as *const [f32; L]);
                for (p, a) in acc.iter_mut().enumerate() {
                    let xv = *xs.add(p * cin + ci);
                    for l in 0..L {
                        a[l] = madd::<FMA>(xv, wv[l], a[l]);
                    }
                }
            }
        }
    }
    for (p, a) in acc.iter().enumerate() {
        let o = out.add(((b * g.h + y) * g.w + x0 + p) * g.cout + co0);
        std::ptr::copy_nonoverlapping(a.as_ptr(), o, L);
    }
}

/// SAME 5x5 convolution of `n` padded images `xp` with lane-packed weights `wpk`.
///
/// # Safety
/// `xp.len() >= n * g.padded_len()`, `wpk.len() >= TAPS * g.cin * g.cout`,
/// `bias.len() >= g.cout`, `out.len() >= n * g.out_len()`, `g.cout % L == 0`.
#[inline(always)]
unsafe fn conv_fwd_body<const L: usize, const P: usize, const FMA: bool>(
    xp: &[f32],
    n: usize,
    g: Geo,
    wpk: &[f32],
    bias: &[f32],
    out: &mut [f32],
) {
    let block = TAPS * g.cin * L;
    for blk in 0..g.cout / L {
        let wb = wpk.as_ptr().add(blk * block);
        let mut bv = [0.0f32; L];
        bv.copy_from_slice(&bias[blk * L..(blk + 1) * L]);
        for b in 0..n {
            for y in 0..g.h {
                let mut x0 = 0;
                while x0 + P <= g.w {
                    fwd_block::<L, P, FMA>(
                        xp.as_ptr(),
                        wb,
                        &bv,
                        g,
                        b,
                        y,
                        x0,
                        out.as_mut_ptr(),
                        blk * L,
                    );
                    x0 += P;
                }
                while x0 < g.w {
                    fwd_block::<L, 1, FMA>(
                        xp.as_ptr(),
                        wb,
                        &bv,
                        g,
                        b,
                        y,
                        x0,
                        out.as_mut_ptr(),
                        blk * L,
                    );
                    x0 += 1;
                }
            }
        }
    }
}

/// Weight gradient of a SAME 5x5 convolution: `dw[r][co] += sum over pixels of
/// xp[pixel + offs[r]] * gout[pixel][co]`, `R` filter rows x `L` channels at a time.
///
/// # Safety
/// As [`conv_fwd_body`]; `offs` has a multiple of `R` entries, each a valid offset into a
/// padded image, and `dw.len() >= rows * g.cout`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn conv_dw_body<const L: usize, const R: usize, const FMA: bool>(
    xp: &[f32],
    n: usize,
    g: Geo,
    gout: &[f32],
    offs: &[usize],
    rows: usize,
    dw: &mut [f32],
) {
    let (xpp, gp) = (xp.as_ptr(), gout.as_ptr());
    for blk in 0..g.cout / L {
        for rb in (0..offs.len()).step_by(R) {
            let mut o = [0usize; R];
            o.copy_from_slice(&offs[rb..rb + R]);
            let mut acc = [[0.0f32; L]; R];
            for b in 0..n {
                for y in 0..g.h {
                    let prow = xpp.add(((b * g.hp() + y) * g.wp()) * g.cin);
                    let grow = gp.add(((b * g.h + y) * g.w) * g.cout + blk * L);
                    for x in 0..g.w {
                        let pix = prow.add(x * g.cin);
                        let gv: [f32; L] =
                            std::ptr::read_unaligned(grow.add(x * g.cout) as *const [f32; L]);
                        for (r, a) in acc.iter_mut().enumerate() {
                            let xv = *pix.add(o[r]);
                            for l in 0..L {
                                a[l] = madd::<FMA>(xv, gv[l], a[l]);
                            }
                        }
                    }
                }
            }
            for (r, a) in acc.iter().enumerate() {
                if rb + r < rows {
                    let d = &mut dw[(rb + r) * g.cout + blk * L..(rb + r) * g.cout + (blk + 1) * L];
                    for (dv, av) in d.iter_mut().zip(a) {
                        *dv += av;
                    }
                }
            }
        }
    }
}

macro_rules! isa_versions {
    ($body:ident, $avx2:ident, $generic:ident, $c2:literal, $cg:literal,
     ($($arg:ident: $ty:ty),*)) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $avx2<const L: usize>($($arg: $ty),*) {
            $body::<L, $c2, true>($($arg),*)
        }
        unsafe fn $generic<const L: usize>($($arg: $ty),*) {
            $body::<L, $cg, false>($($arg),*)
        }
    };
}

isa_versions!(conv_fwd_body, conv_fwd_avx2, conv_fwd_generic, 4, 2,
    (xp: &[f32], n: usize, g: Geo, wpk: &[f32], bias: &[f32], out: &mut [f32]));
isa_versions!(conv_dw_body, conv_dw_avx2, conv_dw_generic, 4, 2,
    (xp: &[f32], n: usize, g: Geo, gout: &[f32], offs: &[usize], rows: usize, dw: &mut [f32]));

/// AVX-512 kernels for blocks of 16 channels (one register), written with intrinsics: left to
/// itself the compiler turned the generic loops into gathers and scatters.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Geo, K, TAPS};
    use std::arch::x86_64::*;

    /// As `conv_fwd_body` with 16 lanes and blocks of `P` pixels.
    ///
    /// # Safety
    /// As `conv_fwd_body`; the CPU supports AVX-512F; `g.cout % 16 == 0`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn conv_fwd16(
        xp: &[f32],
        n: usize,
        g: Geo,
        wpk: &[f32],
        bias: &[f32],
        out: &mut [f32],
    ) {
        let block = TAPS * g.cin * 16;
        for blk in 0..g.cout / 16 {
            let wb = wpk.as_ptr().add(blk * block);
            let bv = _mm512_loadu_ps(bias.as_ptr().add(blk * 16));
            for b in 0..n {
                for y in 0..g.h {
                    let mut x0 = 0;
                    while x0 + 7 <= g.w {
                        fwd_block::<7>(xp.as_ptr(), wb, bv, g, b, y, x0, out.as_mut_ptr(), blk);
                        x0 += 7;
                    }
                    while x0 < g.w {
                        fwd_block::<1>(xp.as_ptr(), wb, bv, g, b, y, x0, out.as_mut_ptr(), blk);
                        x0 += 1;
                    }
                }
            }
        }
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn fwd_block<const P: usize>(
        xp: *const f32,
        wb: *const f32,
        bv: __m512,
        g: Geo,
        b: usize,
        y: usize,
        x0: usize,
        out: *mut f32,
        blk: usize,
    ) {
        let cin = g.cin;
        let mut acc = [bv; P];
        for dy in 0..K {
            let row = xp.add(((b * g.hp() + y + dy) * g.wp() + x0) * cin);
            for dx in 0..K {
                let xs = row.add(dx * cin);
                let wt = wb.add((dy * K + dx) * cin * 16);
                for ci in 0..cin {
                    let wv = _mm512_loadu_ps(wt.add(ci * 16));
                    for (p, a) in acc.iter_mut().enumerate() {
                        *a = _mm512_fmadd_ps(_mm512_set1_ps(*xs.add(p * cin + ci)), wv, *a);
                    }
                }
            }
        }
        for (p, a) in acc.iter().enumerate() {
            _mm512_storeu_ps(
                out.add(((b * g.h + y) * g.w + x0 + p) * g.cout + blk * 16),
                *a,
            );
        }
    }

    /// As `conv_dw_body` with 16 lanes and 16 filter rows at a time.
    ///
    /// # Safety
    /// As `conv_dw_body`; the CPU supports AVX-512F; `g.cout % 16 == 0`; `offs.len()` is a
    /// multiple of 16.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn conv_dw16(
        xp: &[f32],
        n: usize,
        g: Geo,
        gout: &[f32],
        offs: &[usize],
        rows: usize,
        dw: &mut [f32],
    ) {
        const R: usize = 16;
        let (xpp, gp) = (xp.as_ptr(), gout.as_ptr());
        for blk in 0..g.cout / 16 {
            for rb in (0..offs.len()).step_by(R) {
                let mut o = [0usize; R];
                o.copy_from_slice(&offs[rb..rb + R]);
                let mut acc = [_mm512_setzero_ps(); R];
                for b in 0..n {
                    for y in 0..g.h {
                        let prow = xpp.add(((b * g.hp() + y) * g.wp()) * g.cin);
                        let grow = gp.add(((b * g.h + y) * g.w) * g.cout + blk * 16);
                        for x in 0..g.w {
                            let pix = prow.add(x * g.cin);
                            let gv = _mm512_loadu_ps(grow.add(x * g.cout));
                            for (r, a) in acc.iter_mut().enumerate() {
                                *a = _mm512_fmadd_ps(_mm512_set1_ps(*pix.add(o[r])), gv, *a);
                            }
                        }
                    }
                }
                let mut tmp = [0.0f32; 16];
                for (r, a) in acc.iter().enumerate() {
                    if rb + r < rows {
                        _mm512_storeu_ps(tmp.as_mut_ptr(), *a);
                        let at = (rb + r) * g.cout + blk * 16;
                        for (d, t) in dw[at..at + 16].iter_mut().zip(&tmp) {
                            *d += t;
                        }
                    }
                }
            }
        }
    }
}

macro_rules! dispatch {
    ($lanes:expr, $avx2:ident, $generic:ident, ($($arg:expr),*)) => {{
        macro_rules! call {
            ($l:literal) => {
                match isa() {
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 | Isa::Avx2 => $avx2::<$l>($($arg),*),
                    _ => $generic::<$l>($($arg),*),
                }
            };
        }
        match $lanes {
            16 => call!(16),
            8 => call!(8),
            4 => call!(4),
            _ => call!(1),
        }
    }};
}

/// `out = conv(x) + bias` for `n` padded images; `w` is `25 cin x cout` (HWIO).
fn conv_forward_padded(xp: &[f32], n: usize, g: Geo, w: &[f32], bias: &[f32], out: &mut [f32]) {
    assert!(xp.len() >= n * g.padded_len() && out.len() >= n * g.out_len());
    assert!(w.len() == TAPS * g.cin * g.cout && bias.len() == g.cout);
    let l = lanes(g.cout);
    let wpk = pack_lanes(w, TAPS * g.cin, g.cout, l);
    // SAFETY: lengths checked above; `l` divides `cout`
    unsafe {
        #[cfg(target_arch = "x86_64")]
        if l == 16 && isa() == Isa::Avx512 {
            return avx512::conv_fwd16(xp, n, g, &wpk, bias, out);
        }
        dispatch!(
            l,
            conv_fwd_avx2,
            conv_fwd_generic,
            (xp, n, g, &wpk, bias, out)
        )
    }
}

/// `dw += conv weight gradient` for `n` padded images and their output gradients.
fn conv_weight_grad_padded(xp: &[f32], n: usize, g: Geo, gout: &[f32], dw: &mut [f32]) {
    assert!(xp.len() >= n * g.padded_len() && gout.len() >= n * g.out_len());
    let rows = TAPS * g.cin;
    assert!(dw.len() == rows * g.cout);
    let l = lanes(g.cout);
    let r = match isa() {
        Isa::Avx512 if l == 16 => 16,
        Isa::Avx512 | Isa::Avx2 => 4,
        Isa::Generic => 2,
    };
    let mut offs: Vec<usize> = (0..rows)
        .map(|row| {
            let (tap, ci) = (row / g.cin, row % g.cin);
            ((tap / K) * g.wp() + tap % K) * g.cin + ci
        })
        .collect();
    offs.resize(rows.div_ceil(r) * r, 0);
    // SAFETY: lengths checked above; every offset stays inside a padded image
    unsafe {
        #[cfg(target_arch = "x86_64")]
        if l == 16 && isa() == Isa::Avx512 {
            return avx512::conv_dw16(xp, n, g, gout, &offs, rows, dw);
        }
        dispatch!(
            l,
            conv_dw_avx2,
            conv_dw_generic,
            (xp, n, g, gout, &offs, rows, dw)
        )
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
    let (h2, w2) = (h / 2, w / 2);
    for b in 0..n {
        for y in 0..h2 {
            for xx in 0..w2 {
                let p0 = ((b * h + 2 * y) * w + 2 * xx) * c;
                let cand = [p0, p0 + c, p0 + w * c, p0 + w * c + c];
                let o = ((b * h2 + y) * w2 + xx) * c;
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
            }
        }
    }
}

/// Routes the pooled gradient `gp` back to the winners: `gx` (zeroed here) is `n x h x w x c`.
fn pool_backward(gp: &[f32], arg: &[u8], n: usize, h: usize, w: usize, c: usize, gx: &mut [f32]) {
    gx.iter_mut().for_each(|v| *v = 0.0);
    let (h2, w2) = (h / 2, w / 2);
    for b in 0..n {
        for y in 0..h2 {
            for xx in 0..w2 {
                let p0 = ((b * h + 2 * y) * w + 2 * xx) * c;
                let cand = [p0, p0 + c, p0 + w * c, p0 + w * c + c];
                let o = ((b * h2 + y) * w2 + xx) * c;
                for ch in 0..c {
                    gx[cand[arg[o + ch] as usize] + ch] += gp[o + ch];
                }
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
fn conv_pool_forward(
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
    for start in (0..n).step_by(CHUNK) {
        let m = CHUNK.min(n - start);
        pad_images(
            &x[start * g.in_len()..(start + m) * g.in_len()],
            m,
            g.h,
            g.w,
            g.cin,
            &mut xp,
        );
        conv_forward_padded(&xp, m, g, w, bias, &mut conv);
        pool_forward(
            &conv[..m * g.out_len()],
            m,
            g.h,
            g.w,
            g.cout,
            &mut out[start * s.out_len()..(start + m) * s.out_len()],
            &mut arg[start * s.out_len()..(start + m) * s.out_len()],
        );
    }
    (out, arg)
}

/// Gradients of a conv + pool stage: `(d filter, d bias, d input if asked)` from the gradient
/// of the pooled outputs.
fn conv_pool_backward(
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
    let mut db = vec![0.0f32; g.cout];
    for row in gout.chunks(g.cout) {
        for (d, v) in db.iter_mut().zip(row) {
            *d += v;
        }
    }
    let mut dx = need_dx.then(|| vec![0.0f32; n * g.in_len()]);
    // the input gradient is a convolution of the output gradient from cout to cin channels
    let gt = Geo {
        h: g.h,
        w: g.w,
        cin: g.cout,
        cout: g.cin,
    };
    let wt = flip_transpose(w, g.cin, g.cout);
    let zero = vec![0.0f32; g.cin];
    let (mut xp, mut gconv, mut gp) = (Vec::new(), vec![0.0f32; CHUNK * g.out_len()], Vec::new());
    for start in (0..n).step_by(CHUNK) {
        let m = CHUNK.min(n - start);
        let gc = &mut gconv[..m * g.out_len()];
        pool_backward(
            &gout[start * s.out_len()..(start + m) * s.out_len()],
            &arg[start * s.out_len()..(start + m) * s.out_len()],
            m,
            g.h,
            g.w,
            g.cout,
            gc,
        );
        pad_images(
            &x[start * g.in_len()..(start + m) * g.in_len()],
            m,
            g.h,
            g.w,
            g.cin,
            &mut xp,
        );
        conv_weight_grad_padded(&xp, m, g, gc, &mut dw);
        if let Some(dx) = dx.as_mut() {
            pad_images(gc, m, g.h, g.w, g.cout, &mut gp);
            conv_forward_padded(
                &gp,
                m,
                gt,
                &wt,
                &zero,
                &mut dx[start * g.in_len()..(start + m) * g.in_len()],
            );
        }
    }
    (dw, db, dx)
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
#[cfg(not(feature = "cuda"))]
fn conv_pool_op<T: Tape<f32, Dev> + Merge<T>>(
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
        for (g, d) in grads.get_or_alloc_mut(&w_g)?.iter_mut().zip(&dw) {
            *g += d;
        }
        for (g, d) in grads.get_or_alloc_mut(&b_g)?.iter_mut().zip(&db) {
            *g += d;
        }
        if let Some(dx) = dx {
            grads.try_alloc_for(&x_g)?;
            for (g, d) in grads.get_or_alloc_mut(&x_g)?.iter_mut().zip(&dx) {
                *g += d;
            }
        }
        Ok(())
    });
    out.put_tape(tape)
}

/// The conv + pool kernels compute on the host and write their gradients into host buffers;
/// with the `cuda` feature the E2 networks cannot run, and a run that tries ends as failed
/// with this message (the engine catches it).
#[cfg(feature = "cuda")]
fn conv_pool_op<T: Tape<f32, Dev> + Merge<T>>(
    _x: Mat<T>,
    _w: &Mat,
    _b: &Vector,
    _s: ConvPoolShape,
    _need_dx: bool,
) -> Mat<T> {
    panic!(
        "the E2 convolution and max-pool kernels run on the CPU only: \
         build fail-lab without the cuda feature to run E2 and E3"
    )
}

struct Dense {
    w: Mat,
    b: Vector,
}

impl Dense {
    fn new<R: Rng + ?Sized>(dev: &Dev, i: usize, o: usize, rng: &mut R) -> Self {
        Dense {
            w: dev.tensor_from_vec(
                truncated_normal(rng, i * o, 1.0 / (i as f32).sqrt()),
                (i, o),
            ),
            b: dev.tensor_from_vec(vec![0.0; o], (o,)),
        }
    }

    fn forward<T: Tape<f32, Dev> + Merge<T>>(&self, x: Mat<T>) -> Mat<T> {
        add_bias(x.matmul(self.w.retaped::<T>()), &self.b)
    }
}

// ---------------------------------------------------------------------------------------------
// E2: the tuple network

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

/// SNR of the gradient at N1's last layer (its 100 weights) for the two estimators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadSnr {
    /// The primary loss through N2.
    pub end_to_end: Snr,
    /// The per-image hinge loss of the first image of each tuple only (the authors' script).
    pub first_image: Snr,
    /// The whole decomposition loss (primary plus the mean per-image loss of the tuple).
    pub decomposition: Snr,
}

/// E2's network: N1 (conv 5x5 -> pool -> conv 5x5 -> pool -> 50 -> ReLU -> 100 -> ReLU -> 1),
/// shared by the k images of a tuple, then N2 (sigmoid of the k scores -> 100 -> ReLU -> 1).
pub struct LineNet {
    dev: Dev,
    cfg: LineNetConfig,
    conv: [(Mat, Vector); 2],
    n1: Vec<Dense>,
    n2: Vec<Dense>,
}

impl LineNet {
    /// The authors' initialisation: truncated normal with std 1/sqrt(28) for the first
    /// convolution (TensorFlow took the input's last axis, 28, as its fan-in), 1/sqrt(channels)
    /// for the second, 1/sqrt(fan_in) for the dense layers; biases 0.
    pub fn new<R: Rng + ?Sized>(cfg: LineNetConfig, rng: &mut R) -> NnResult<Self> {
        cfg.check()?;
        let dev = new_device(0);
        let c = cfg.channels;
        let conv_layer = |rng: &mut R, s: ConvPoolShape, std: f32| {
            (
                dev.tensor_from_vec(
                    truncated_normal(rng, s.filter_len(), std),
                    (TAPS * s.cin, s.cout),
                ),
                dev.tensor_from_vec(vec![0.0; s.cout], (s.cout,)),
            )
        };
        let c1 = conv_layer(rng, cfg.stage1(), 1.0 / (cfg.side as f32).sqrt());
        let c2 = conv_layer(rng, cfg.stage2(), 1.0 / (c as f32).sqrt());
        let flat = cfg.stage2().out_len();
        let n1 = vec![
            Dense::new(&dev, flat, 50, rng),
            Dense::new(&dev, 50, 100, rng),
            Dense::new(&dev, 100, 1, rng),
        ];
        let n2 = vec![
            Dense::new(&dev, cfg.k, cfg.n2_width, rng),
            Dense::new(&dev, cfg.n2_width, 1, rng),
        ];
        Ok(LineNet {
            dev,
            cfg,
            conv: [c1, c2],
            n1,
            n2,
        })
    }

    /// A fresh N2 for tuples of `k` images, keeping N1 (E3 draws N1 once for every k).
    pub fn with_new_n2<R: Rng + ?Sized>(&self, k: usize, rng: &mut R) -> NnResult<Self> {
        let cfg = LineNetConfig { k, ..self.cfg };
        cfg.check()?;
        let mut net = self.duplicate();
        net.cfg = cfg;
        net.n2 = vec![
            Dense::new(&net.dev, k, cfg.n2_width, rng),
            Dense::new(&net.dev, cfg.n2_width, 1, rng),
        ];
        Ok(net)
    }

    /// An independent copy with the same weights.
    pub fn duplicate(&self) -> Self {
        let mut net = LineNet {
            dev: self.dev.clone(),
            cfg: self.cfg,
            conv: [
                (self.conv[0].0.clone(), self.conv[0].1.clone()),
                (self.conv[1].0.clone(), self.conv[1].1.clone()),
            ],
            n1: Vec::new(),
            n2: Vec::new(),
        };
        let copy = |d: &Dense| Dense {
            w: d.w.clone(),
            b: d.b.clone(),
        };
        net.n1 = self.n1.iter().map(copy).collect();
        net.n2 = self.n2.iter().map(copy).collect();
        // fresh tensors, so that optimizer state and gradients never mix between copies
        let params = self.params();
        net.set_params(&params).expect("a copy has the same layout");
        net
    }

    pub fn config(&self) -> LineNetConfig {
        self.cfg
    }

    /// Names and sizes of the parameter blocks in the order of flattened gradients:
    /// `conv1.w, conv1.b, conv2.w, conv2.b, n1.dense1.w, n1.dense1.b, ..., n2.dense2.b`.
    pub fn param_layout(&self) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        for (i, (w, b)) in self.conv.iter().enumerate() {
            out.push((format!("conv{}.w", i + 1), w.shape().num_elements()));
            out.push((format!("conv{}.b", i + 1), b.shape().0));
        }
        for (prefix, layers) in [("n1", &self.n1), ("n2", &self.n2)] {
            for (i, d) in layers.iter().enumerate() {
                out.push((
                    format!("{prefix}.dense{}.w", i + 1),
                    d.w.shape().num_elements(),
                ));
                out.push((format!("{prefix}.dense{}.b", i + 1), d.b.shape().0));
            }
        }
        out
    }

    pub fn num_params(&self) -> usize {
        self.param_layout().iter().map(|(_, n)| n).sum()
    }

    /// Every parameter, flattened in the order of [`LineNet::param_layout`].
    pub fn params(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.num_params());
        for (w, b) in &self.conv {
            out.extend(host(w));
            out.extend(host(b));
        }
        for d in self.n1.iter().chain(&self.n2) {
            out.extend(host(&d.w));
            out.extend(host(&d.b));
        }
        out
    }

    /// Replaces every parameter (flattened as [`LineNet::params`]).
    pub fn set_params(&mut self, p: &[f32]) -> NnResult<()> {
        if p.len() != self.num_params() {
            return Err(NnError(format!(
                "{} numbers for {} parameters",
                p.len(),
                self.num_params()
            )));
        }
        let dev = self.dev.clone();
        let mut cursor = 0;
        let mut next = |n: usize| {
            let s = p[cursor..cursor + n].to_vec();
            cursor += n;
            s
        };
        let mut layers: Vec<(&mut Mat, &mut Vector)> =
            self.conv.iter_mut().map(|(w, b)| (w, b)).collect();
        layers.extend(
            self.n1
                .iter_mut()
                .chain(self.n2.iter_mut())
                .map(|d| (&mut d.w, &mut d.b)),
        );
        for (w, b) in layers {
            let s = *w.shape();
            *w = dev.tensor_from_vec(next(s.0 * s.1), s);
            let n = b.shape().0;
            *b = dev.tensor_from_vec(next(n), (n,));
        }
        Ok(())
    }

    fn images(&self, images: &[f32], n: usize) -> NnResult<Mat> {
        let len = self.cfg.image_len();
        if images.len() != n * len {
            return Err(NnError(format!(
                "{} numbers do not fit {n} images of {len} pixels",
                images.len()
            )));
        }
        Ok(self.dev.tensor_from_vec(images.to_vec(), (n, len)))
    }

    fn check_batch(&self, t: &TupleBatch<'_>) -> NnResult<()> {
        let k = self.cfg.k;
        if t.labels.len() != t.batch || t.image_labels.len() != t.batch * k {
            return Err(NnError(format!(
                "{} tuple labels and {} image labels for {} tuples of {k}",
                t.labels.len(),
                t.image_labels.len(),
                t.batch
            )));
        }
        if t.batch == 0 {
            return Err(NnError("a batch needs at least one tuple".into()));
        }
        Ok(())
    }

    /// N1 up to its last hidden layer: `n x 100` features after the ReLU.
    fn features<T: Tape<f32, Dev> + Merge<T>>(&self, x: Mat<T>) -> Mat<T> {
        let h = conv_pool_op(
            x,
            &self.conv[0].0,
            &self.conv[0].1,
            self.cfg.stage1(),
            false,
        );
        let h = conv_pool_op(h, &self.conv[1].0, &self.conv[1].1, self.cfg.stage2(), true);
        let h = self.n1[0].forward(h).relu();
        self.n1[1].forward(h).relu()
    }

    /// N2 on the per-image scores (`batch k x 1`): the tuple scores, `batch x 1`.
    fn combine<T: Tape<f32, Dev> + Merge<T>>(&self, scores: Mat<T>, batch: usize) -> Mat<T> {
        let u = scores.reshape_like(&(batch, self.cfg.k)).sigmoid();
        let h = self.n2[0].forward(u).relu();
        self.n2[1].forward(h)
    }

    /// N1's score of each of `n` images.
    pub fn image_scores(&self, images: &[f32], n: usize) -> NnResult<Vec<f32>> {
        let x = self.images(images, n)?;
        Ok(host(&self.n1[2].forward(self.features(x))))
    }

    /// The tuple scores of `batch` tuples (`batch k` images, tuple-major).
    pub fn predict(&self, images: &[f32], batch: usize) -> NnResult<Vec<f32>> {
        let x = self.images(images, batch * self.cfg.k)?;
        let s = self.n1[2].forward(self.features(x));
        Ok(host(&self.combine(s, batch)))
    }

    fn backward(
        &self,
        t: &TupleBatch<'_>,
        objective: Objective,
    ) -> NnResult<(LossParts, Gradients<f32, Dev>)> {
        self.check_batch(t)?;
        let x = self.images(t.images, t.batch * self.cfg.k)?.leaky_traced();
        let s = self.n1[2].forward(self.features(x));
        let s_img = s.with_empty_tape();
        let primary = loss_tensor(&self.dev, self.combine(s, t.batch), Loss::Hinge(t.labels))?;
        let per_image = loss_tensor(&self.dev, s_img, Loss::Hinge(t.image_labels))?;
        let parts = LossParts {
            primary: primary.array(),
            per_image: per_image.array(),
        };
        let grads = match objective {
            Objective::EndToEnd => {
                drop(per_image);
                primary.backward()
            }
            Objective::Decomposition => (primary + per_image).backward(),
        };
        Ok((parts, grads))
    }

    fn flatten(&self, grads: &mut Gradients<f32, Dev>) -> NnResult<Vec<f32>> {
        let mut flat = Vec::with_capacity(self.num_params());
        let mut layers: Vec<(&Mat, &Vector)> = self.conv.iter().map(|(w, b)| (w, b)).collect();
        layers.extend(self.n1.iter().chain(&self.n2).map(|d| (&d.w, &d.b)));
        for (w, b) in layers {
            grads.try_alloc_for(w).map_err(err)?;
            flat.extend(host(&grads.get(w)));
            grads.try_alloc_for(b).map_err(err)?;
            flat.extend(host(&grads.get(b)));
        }
        Ok(flat)
    }

    /// Both loss parts on a batch and the gradient of `objective` with respect to every
    /// parameter, flattened as [`LineNet::params`].
    pub fn loss_and_grads(
        &self,
        t: &TupleBatch<'_>,
        objective: Objective,
    ) -> NnResult<(LossParts, Vec<f32>)> {
        let (parts, mut grads) = self.backward(t, objective)?;
        Ok((parts, self.flatten(&mut grads)?))
    }

    /// One optimizer step on `objective`; returns the loss parts before the step.
    pub fn train_step(
        &mut self,
        t: &TupleBatch<'_>,
        objective: Objective,
        opt: &mut Optimizer,
    ) -> NnResult<LossParts> {
        let (parts, mut grads) = self.backward(t, objective)?;
        opt.begin_step();
        for (w, b) in self.conv.iter_mut() {
            opt.update(w, &mut grads)?;
            opt.update(b, &mut grads)?;
        }
        for d in self.n1.iter_mut().chain(self.n2.iter_mut()) {
            opt.update(&mut d.w, &mut grads)?;
            opt.update(&mut d.b, &mut grads)?;
        }
        Ok(parts)
    }

    /// The per-image hinge loss of N1's scores on `n` images and its gradient (flattened as
    /// [`LineNet::params`]; N2's blocks are zero): N1 trained alone as an image classifier.
    pub fn image_loss_and_grads(
        &self,
        images: &[f32],
        n: usize,
        labels: &[f32],
    ) -> NnResult<(f32, Vec<f32>)> {
        if labels.len() != n {
            return Err(NnError(format!("{} labels for {n} images", labels.len())));
        }
        let x = self.images(images, n)?.leaky_traced();
        let loss = loss_tensor(
            &self.dev,
            self.n1[2].forward(self.features(x)),
            Loss::Hinge(labels),
        )?;
        let value = loss.array();
        let mut grads = loss.backward();
        Ok((value, self.flatten(&mut grads)?))
    }

    /// One gradient of `objective` per tuple (`batch x num_params`, row-major).
    pub fn per_sample_grads(&self, t: &TupleBatch<'_>, objective: Objective) -> NnResult<Vec<f32>> {
        self.check_batch(t)?;
        let (k, len) = (self.cfg.k, self.cfg.image_len());
        let mut rows = Vec::with_capacity(t.batch * self.num_params());
        for i in 0..t.batch {
            let one = TupleBatch {
                images: &t.images[i * k * len..(i + 1) * k * len],
                batch: 1,
                labels: &t.labels[i..i + 1],
                image_labels: &t.image_labels[i * k..(i + 1) * k],
            };
            rows.extend(self.loss_and_grads(&one, objective)?.1);
        }
        Ok(rows)
    }

    /// Gradient SNR of `objective` over the tuples of `t` (whole model and per parameter
    /// block, see [`crate::nn::gradient_snr`]), from one gradient per tuple.
    pub fn gradient_snr(&self, t: &TupleBatch<'_>, objective: Objective) -> NnResult<SnrReport> {
        let rows = self.per_sample_grads(t, objective)?;
        Ok(gradient_snr(&rows, t.batch, &self.param_layout()))
    }

    /// SNR at the weights of N1's last layer (`100 -> 1`, 100 numbers) for the end-to-end
    /// gradient, the per-image gradient of each tuple's first image (E3, as the authors'
    /// script measures it) and the whole decomposition gradient, from exact per-tuple
    /// gradients ([`LineNet::head_grads`]).
    pub fn head_snr(&self, t: &TupleBatch<'_>) -> NnResult<HeadSnr> {
        let g = self.head_grads(t)?;
        let (n, w) = (t.batch, g.width);
        Ok(HeadSnr {
            end_to_end: snr_of_columns(&g.end_to_end, n, w, 0, w),
            first_image: snr_of_columns(&g.first_image, n, w, 0, w),
            decomposition: snr_of_columns(&g.decomposition, n, w, 0, w),
        })
    }

    /// Per-tuple gradients at the weights of N1's last layer, see [`HeadGrads`].
    pub fn head_grads(&self, t: &TupleBatch<'_>) -> NnResult<HeadGrads> {
        self.check_batch(t)?;
        let (features, scores) = self.image_features(t.images, t.batch * self.cfg.k)?;
        self.head_grads_from(&features, &scores, t)
    }

    /// N1's last hidden layer (`n x width` features after the ReLU, row-major) and its score
    /// for each of `n` images.
    pub fn image_features(&self, images: &[f32], n: usize) -> NnResult<(Vec<f32>, Vec<f32>)> {
        let feats = self.features(self.images(images, n)?);
        let h = host(&feats);
        let s = host(&self.n1[2].forward(feats));
        Ok((h, s))
    }

    /// [`LineNet::head_grads`] from N1's features and scores of the tuples' images (as
    /// [`LineNet::image_features`] gives them; `t.images` is not read): one backward pass of
    /// N2 gives every tuple's derivative with respect to its k scores, and the gradient at
    /// the last layer is the sum over the tuple's images of that derivative times the image's
    /// features.
    pub fn head_grads_from(
        &self,
        features: &[f32],
        scores: &[f32],
        t: &TupleBatch<'_>,
    ) -> NnResult<HeadGrads> {
        let (k, n) = (self.cfg.k, t.batch);
        if t.labels.len() != n || t.image_labels.len() != n * k || scores.len() != n * k {
            return Err(NnError(format!(
                "{} scores, {} image labels and {} tuple labels for {n} tuples of {k}",
                scores.len(),
                t.image_labels.len(),
                t.labels.len()
            )));
        }
        let width = features.len() / scores.len().max(1);
        if features.len() != width * n * k || width == 0 {
            return Err(NnError("features do not fit the scores".into()));
        }
        // d primary_i / d s_ij: the loss is a mean over tuples, so tuple i's own derivative
        // is `n` times its share of the batch gradient
        let s0: Mat = self.dev.tensor_from_vec(scores.to_vec(), (n * k, 1));
        let primary = loss_tensor(
            &self.dev,
            self.combine(s0.clone().leaky_traced(), n),
            Loss::Hinge(t.labels),
        )?;
        let grads = primary.backward();
        let ds: Vec<f32> = host(&grads.get(&s0)).iter().map(|v| v * n as f32).collect();
        let hinge_grad = |i: usize| {
            let y = t.image_labels[i];
            if y * scores[i] < 1.0 {
                -y
            } else {
                0.0
            }
        };
        let mut g = HeadGrads {
            width,
            end_to_end: vec![0.0f32; n * width],
            first_image: vec![0.0f32; n * width],
            decomposition: vec![0.0f32; n * width],
        };
        for i in 0..n {
            let row = i * width..(i + 1) * width;
            for j in 0..k {
                let img = i * k + j;
                let hj = &features[img * width..(img + 1) * width];
                let (a, c) = (ds[img], hinge_grad(img));
                let d = a + c / k as f32;
                for ((e, dd), &hv) in g.end_to_end[row.clone()]
                    .iter_mut()
                    .zip(&mut g.decomposition[row.clone()])
                    .zip(hj)
                {
                    *e += a * hv;
                    *dd += d * hv;
                }
                if j == 0 {
                    for (f, &hv) in g.first_image[row.clone()].iter_mut().zip(hj) {
                        *f = c * hv;
                    }
                }
            }
        }
        Ok(g)
    }

    /// The tuple scores and N1's per-image scores of `batch` tuples in one pass.
    pub fn predict_all(&self, images: &[f32], batch: usize) -> NnResult<(Vec<f32>, Vec<f32>)> {
        let x = self.images(images, batch * self.cfg.k)?;
        let s = self.n1[2].forward(self.features(x));
        let per_image = host(&s);
        Ok((host(&self.combine(s, batch)), per_image))
    }
}

/// Per-tuple gradients (`batch x width`, row-major) at the weights of N1's last layer.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadGrads {
    /// Numbers per gradient (the width of N1's last hidden layer, 100).
    pub width: usize,
    /// Of the primary loss through N2.
    pub end_to_end: Vec<f32>,
    /// Of the per-image hinge loss of the tuple's first image only (E3's script).
    pub first_image: Vec<f32>,
    /// Of the decomposition loss: primary plus the mean per-image loss of the tuple.
    pub decomposition: Vec<f32>,
}

// ---------------------------------------------------------------------------------------------
// E4: one softmax layer over one-hot inputs

/// What a portfolio gradient follows.
#[derive(Debug, Clone, Copy)]
pub enum PortfolioTarget<'a> {
    /// End-to-end: the returns `z` (`batch x k`, in {-1, +1}); loss `-z . N(x)`.
    Returns(&'a [f32]),
    /// Decomposition: the stock tied to each input; loss `-N(x)_y`.
    Labels(&'a [usize]),
}

/// E4's model: `N(x) = softmax(W^T x + b)` for one-hot `x` in R^d, `W` `d x k` (truncated
/// normal, std 1/sqrt(d)), `b = 0`. An input is given by the index of its one.
pub struct SoftmaxPolicy {
    dev: Dev,
    w: Mat,
    b: Vector,
}

impl SoftmaxPolicy {
    pub fn new<R: Rng + ?Sized>(d: usize, k: usize, rng: &mut R) -> NnResult<Self> {
        if d == 0 || k < 2 {
            return Err(NnError(format!(
                "a softmax policy needs d >= 1 inputs and k >= 2 outputs, got d = {d}, k = {k}"
            )));
        }
        let dev = new_device(0);
        let w = dev.tensor_from_vec(
            truncated_normal(rng, d * k, 1.0 / (d as f32).sqrt()),
            (d, k),
        );
        let b = dev.tensor_from_vec(vec![0.0; k], (k,));
        Ok(SoftmaxPolicy { dev, w, b })
    }

    /// An independent copy with the same weights.
    pub fn duplicate(&self) -> Self {
        SoftmaxPolicy {
            dev: self.dev.clone(),
            w: self.dev.tensor_from_vec(host(&self.w), *self.w.shape()),
            b: self.dev.tensor_from_vec(host(&self.b), *self.b.shape()),
        }
    }

    pub fn inputs(&self) -> usize {
        self.w.shape().0
    }

    pub fn outputs(&self) -> usize {
        self.w.shape().1
    }

    fn index(&self, idx: &[usize]) -> NnResult<Tensor<(usize,), usize, Dev>> {
        let d = self.inputs();
        if idx.is_empty() {
            return Err(NnError("a batch needs at least one input".into()));
        }
        if let Some(&bad) = idx.iter().find(|&&i| i >= d) {
            return Err(NnError(format!("input index {bad} but d = {d}")));
        }
        Ok(self.dev.tensor_from_vec(idx.to_vec(), (idx.len(),)))
    }

    fn probs_t<T: Tape<f32, Dev> + Merge<T>>(&self, idx: Tensor<(usize,), usize, Dev>) -> Mat<T> {
        let rows: Mat<T> = self.w.retaped::<T>().gather(idx);
        add_bias(rows, &self.b).softmax::<Axis<1>>()
    }

    /// The output distributions (`batch x k`) for the inputs `idx`.
    pub fn probs(&self, idx: &[usize]) -> NnResult<Vec<f32>> {
        Ok(host(&self.probs_t::<NoneTape>(self.index(idx)?)))
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
        let n = idx.len();
        let v = self.target_weights(n, target)?;
        let p = self.probs_t::<OwnedTape<f32, Dev>>(self.index(idx)?.clone());
        let shape = *p.shape();
        let v: Mat = self.dev.tensor_from_vec(v, shape);
        let loss = (p * v).sum() * (-1.0 / n as f32);
        let value = loss.array();
        let mut grads = loss.backward();
        opt.begin_step();
        opt.update(&mut self.w, &mut grads)?;
        opt.update(&mut self.b, &mut grads)?;
        Ok(value)
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
        Ok(SnrReport {
            total: w.combine(&b),
            blocks: vec![("w".into(), w), ("b".into(), b)],
        })
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
        let report = |sq: f64| {
            let w = Snr::from_moments(signal_w, sq - signal_w, 1);
            let b = Snr::from_moments(signal_b, sq - signal_b, 1);
            SnrReport {
                total: w.combine(&b),
                blocks: vec![("w".into(), w), ("b".into(), b)],
            }
        };
        Ok((report(sq_e2e), report(sq_dec)))
    }
}
