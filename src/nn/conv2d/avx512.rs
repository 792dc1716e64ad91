//! AVX-512 kernels for blocks of 16 channels (one register), written with intrinsics: left to
//! itself the compiler turned the generic loops into gathers and scatters.

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
