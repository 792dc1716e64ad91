//! The direct 5x5 convolution kernels on the host: the forward pass and the weight gradient,
//! each keeping a block of outputs (several pixels x a lane block of output channels) in
//! registers. The bodies are generic over the lane count and the fused multiply-add and are
//! compiled once for AVX2 + FMA and once for plain x86-64 / other targets; the AVX-512 ones are
//! written with intrinsics (`avx512.rs`). The two drivers at the end pick one at run time.
//!
//! The kernel bodies are `#[inline(always)]` so that each `#[target_feature]` wrapper compiles
//! its own copy for its instruction set; splitting them into smaller non-inlined functions
//! would lose that.

#[cfg(target_arch = "x86_64")]
use super::avx512;
use super::isa::{isa, Isa};
use super::{Geo, K, TAPS};

/// `a * b + c`, fused where the kernel is compiled with FMA (shared with `sparse.rs`).
#[inline(always)]
pub(super) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
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
pub(super) fn conv_forward_padded(
    xp: &[f32],
    n: usize,
    g: Geo,
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
) {
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
pub(super) fn conv_weight_grad_padded(xp: &[f32], n: usize, g: Geo, gout: &[f32], dw: &mut [f32]) {
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
