//! Lemma 1 and the conditioning of part 3: the matrix `W` with `f = p . W`, its inverse (the
//! `[1, -2, 1]` band), the singular values of `W`, and the 3 x 3 covariance of the rows
//! `[f_t, f_t-1, f_t-2]` that a 3-tap convolution sees, with its whitening.

use nalgebra::{DMatrix, Matrix3, SymmetricEigen};

use super::curves::Curves;
use crate::experiments::common::least_squares_slope;

/// The code's `W`: `W[i][x] = max(0, x - i + 1)`, so that `f = p . W` (row vectors).
pub fn w_matrix(n: usize) -> DMatrix<f64> {
    DMatrix::from_fn(n, n, |i, x| (x as f64 - i as f64 + 1.0).max(0.0))
}

/// Lemma 1's inverse of [`w_matrix`] in the same convention: 1 on the diagonal, -2 on the
/// first and 1 on the second superdiagonal (`p_x = f_x - 2 f_{x-1} + f_{x-2}`).
pub fn w_inverse(n: usize) -> DMatrix<f64> {
    DMatrix::from_fn(n, n, |i, j| {
        if j == i {
            1.0
        } else if j == i + 1 {
            -2.0
        } else if j == i + 2 {
            1.0
        } else {
            0.0
        }
    })
}

/// Singular values of `W` and the condition number of `W^T W` (Theorem 3's `S11^2 / Snn^2`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WConditioning {
    pub n: usize,
    pub s_max: f64,
    pub s_min: f64,
}

impl WConditioning {
    pub fn cond_wtw(&self) -> f64 {
        (self.s_max / self.s_min).powi(2)
    }
}

/// The singular values of the code's `W` for this `n` (SVD in f64).
pub fn w_conditioning(n: usize) -> WConditioning {
    let s = w_matrix(n).singular_values();
    let s_max = s.iter().cloned().fold(0.0f64, f64::max);
    let s_min = s.iter().cloned().fold(f64::INFINITY, f64::min);
    WConditioning { n, s_max, s_min }
}

/// `max |W . W^-1 - I|` and `max |W^-1 . W - I|` with Lemma 1's `W^-1` (exactly 0 in f64).
pub fn lemma1_residual(n: usize) -> f64 {
    let w = w_matrix(n);
    let u = w_inverse(n);
    let id = DMatrix::<f64>::identity(n, n);
    let a = (&w * &u - &id).abs().max();
    let b = (&u * &w - &id).abs().max();
    a.max(b)
}

/// The uncentred covariance `C = mean_t F_t^T F_t` of the rows `F_t = [f_t, f_{t-1}, f_{t-2}]`,
/// `t = 2..n-1`, over all curves (what E7 regresses on and E8 whitens).
pub fn row_covariance(curves: &Curves) -> Matrix3<f64> {
    let mut c = Matrix3::<f64>::zeros();
    let mut rows = 0usize;
    for i in 0..curves.count {
        let f = curves.f_row(i);
        for t in 2..curves.n {
            let r = [f[t] as f64, f[t - 1] as f64, f[t - 2] as f64];
            for a in 0..3 {
                for b in 0..3 {
                    c[(a, b)] += r[a] * r[b];
                }
            }
            rows += 1;
        }
    }
    c / rows.max(1) as f64
}

/// Eigenvalues of a symmetric 3 x 3 matrix, largest first.
pub fn eigenvalues(c: &Matrix3<f64>) -> [f64; 3] {
    let e = SymmetricEigen::new(*c).eigenvalues;
    let mut v = [e[0], e[1], e[2]];
    v.sort_by(|a, b| b.total_cmp(a));
    v
}

/// Condition number of a symmetric positive (semi)definite 3 x 3 matrix.
pub fn sym_cond(c: &Matrix3<f64>) -> f64 {
    let e = eigenvalues(c);
    if e[2] <= 0.0 {
        f64::INFINITY
    } else {
        e[0] / e[2]
    }
}

/// `C^-1/2 = V diag(s^-1/2) V^T` from the eigendecomposition, or an error when `C` is not
/// positive definite.
pub fn whitening_matrix(c: &Matrix3<f64>) -> Result<Matrix3<f64>, String> {
    let e = SymmetricEigen::new(*c);
    let smallest = e.eigenvalues.iter().cloned().fold(f64::INFINITY, f64::min);
    if smallest <= 0.0 || !smallest.is_finite() {
        return Err(format!(
            "the row covariance is not positive definite (smallest eigenvalue {smallest:e}); \
             the curves need kinks away from the ends"
        ));
    }
    let d = Matrix3::from_diagonal(&e.eigenvalues.map(|s| 1.0 / s.sqrt()));
    Ok(e.eigenvectors * d * e.eigenvectors.transpose())
}

/// The matrix as f32, row-major, as a model takes it.
pub fn to_row_major_f32(m: &Matrix3<f64>) -> Vec<f32> {
    (0..3)
        .flat_map(|i| (0..3).map(move |j| (i, j)))
        .map(|(i, j)| m[(i, j)] as f32)
        .collect()
}

/// Covariance of the whitened rows `F_t . M` with `M` as the model holds it (f32, row-major),
/// computed in f64 from the f32 samples.
pub fn whitened_covariance(curves: &Curves, m: &[f32]) -> Matrix3<f64> {
    let m = Matrix3::from_fn(|i, j| m[i * 3 + j] as f64);
    m.transpose() * row_covariance(curves) * m
}

/// Least-squares slope of log10(cond W^T W) against log10(n).
pub(super) fn cond_exponent(points: &[WConditioning]) -> f64 {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .map(|c| ((c.n as f64).log10(), c.cond_wtw().log10()))
        .collect();
    least_squares_slope(&pts)
}
