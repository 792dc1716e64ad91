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
//! authors' code), so the two run as one op on the tape: [`conv_pool`]. Its forward and
//! backward passes are direct convolutions on the host, written so that the compiler keeps a
//! block of outputs (several pixels x 16 channels) in vector registers; they are compiled for
//! AVX-512, for AVX2 + FMA and for plain x86-64 / other targets, and the best one the CPU
//! supports is picked at run time. The input gradient of a convolution is the convolution of
//! the padded output gradient with the flipped, transposed filter, so it reuses the forward
//! kernel. (An im2col through dfdx's `gather` and a `matmul` was several times slower: it
//! writes 25 copies of every input.)

use std::sync::OnceLock;

use dfdx::prelude::*;

use super::device::Dev;
use super::ops::{host, Mat, Vector};
use super::{NnError, NnResult};

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
pub(crate) fn conv_pool_op<T: Tape<f32, Dev> + Merge<T>>(
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
pub(crate) fn conv_pool_op<T: Tape<f32, Dev> + Merge<T>>(
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
