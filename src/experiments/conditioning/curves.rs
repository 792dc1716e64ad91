//! The curves of part 3: piecewise-linear curves `f` sampled at n points, their encodings `p`
//! (the changes of slope, `f = p . W`), the three distributions of the spec, the fixed data of
//! a run, and the two example curves of the figures.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::experiments::ctx::Halt;
use crate::spec::Params;

/// The curve distributions of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveDist {
    /// The authors' code for E6-E8: kinks at 3 + three sorted distinct values of {0..n-7}, the
    /// three segment slopes one of (1,-1,1), (1,-2,1), (-2,1,-1), (1,-1,2).
    Patterns,
    /// The paper's text: kinks uniform without replacement in {0..n-1}, a_i ~ U[-1, 1].
    Paper,
    /// The authors' code for E9: kinks theta_i ~ U[0, n) (not on the grid), a_i ~ U[-1, 1].
    Continuous,
}

pub const CURVES: &[&str] = &["patterns", "paper", "continuous"];
pub(super) const CURVES_HELP: &str = "patterns (the code's E6-E8 curves: 4 slope patterns, kinks in 3..=n-4), \
     paper (integer kinks, a ~ U[-1,1]), continuous (the code's E9 curves: real kinks, a ~ U[-1,1])";

impl CurveDist {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "patterns" => Some(Self::Patterns),
            "paper" => Some(Self::Paper),
            "continuous" => Some(Self::Continuous),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Patterns => "patterns",
            Self::Paper => "paper",
            Self::Continuous => "continuous",
        }
    }
}

/// The segment slopes of [`CurveDist::Patterns`].
pub const SLOPE_PATTERNS: [[f64; 3]; 4] = [
    [1.0, -1.0, 1.0],
    [1.0, -2.0, 1.0],
    [-2.0, 1.0, -1.0],
    [1.0, -1.0, 2.0],
];

/// The target filter of Lemma 1.
pub const TARGET_FILTER: [f64; 3] = [1.0, -2.0, 1.0];

/// A set of curves: samples `f` and encodings `p`, each `count x n` row-major, in f32 (what the
/// models see).
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    pub n: usize,
    pub count: usize,
    pub f: Vec<f32>,
    pub p: Vec<f32>,
}

impl Curves {
    pub(super) fn with_capacity(n: usize, count: usize) -> Self {
        Self {
            n,
            count: 0,
            f: Vec::with_capacity(n * count),
            p: Vec::with_capacity(n * count),
        }
    }

    pub(super) fn push(&mut self, f: &[f64], p: &[f64]) {
        self.f.extend(f.iter().map(|&v| v as f32));
        self.p.extend(p.iter().map(|&v| v as f32));
        self.count += 1;
    }

    pub fn f_row(&self, i: usize) -> &[f32] {
        &self.f[i * self.n..(i + 1) * self.n]
    }

    pub fn p_row(&self, i: usize) -> &[f32] {
        &self.p[i * self.n..(i + 1) * self.n]
    }

    /// Mean of f^2 over all samples.
    pub fn mean_f2(&self) -> f64 {
        mean_square(&self.f)
    }

    /// Mean of p_j^2 over all coordinates.
    pub fn mean_p2(&self) -> f64 {
        mean_square(&self.p)
    }
}

fn mean_square(v: &[f32]) -> f64 {
    v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / v.len().max(1) as f64
}

/// `f = p . W`: `f_x = sum_{i <= x} p_i (x - i + 1)`, by two running sums.
pub fn decode(p: &[f64]) -> Vec<f64> {
    let mut f = Vec::with_capacity(p.len());
    let (mut slope, mut value) = (0.0, 0.0);
    for &pi in p {
        slope += pi;
        value += slope;
        f.push(value);
    }
    f
}

/// `p = f . W^-1` (Lemma 1): `p_x = f_x - 2 f_{x-1} + f_{x-2}` with `f_{-1} = f_{-2} = 0`.
pub fn encode(f: &[f64]) -> Vec<f64> {
    (0..f.len())
        .map(|x| {
            let at = |j: isize| if j >= 0 { f[j as usize] } else { 0.0 };
            let x = x as isize;
            at(x) - 2.0 * at(x - 1) + at(x - 2)
        })
        .collect()
}

/// One curve from its kinks: with `on_grid`, `p[theta_i] = a_i` and `f = p . W` (the code's
/// convention for E6-E8); otherwise `f_x = sum_i a_i max(0, x - theta_i)` and `p = f . W^-1`
/// (the code's E9 curves).
fn curve_from_kinks(n: usize, thetas: &[f64], a: &[f64], on_grid: bool) -> (Vec<f64>, Vec<f64>) {
    if on_grid {
        let mut p = vec![0.0; n];
        for (&t, &ai) in thetas.iter().zip(a) {
            p[t as usize] += ai;
        }
        (decode(&p), p)
    } else {
        let f: Vec<f64> = (0..n)
            .map(|x| {
                thetas
                    .iter()
                    .zip(a)
                    .map(|(&t, &ai)| ai * (x as f64 - t).max(0.0))
                    .sum()
            })
            .collect();
        let p = encode(&f);
        (f, p)
    }
}

/// `count` curves of `k` pieces sampled at `n` points.
pub fn sample_curves<R: Rng>(
    dist: CurveDist,
    n: usize,
    k: usize,
    count: usize,
    rng: &mut R,
) -> Curves {
    let mut out = Curves::with_capacity(n, count);
    for _ in 0..count {
        let (thetas, a, on_grid): (Vec<f64>, Vec<f64>, bool) = match dist {
            CurveDist::Patterns => {
                let mut t: Vec<usize> = rand::seq::index::sample(rng, n - 6, k).into_vec();
                t.sort_unstable();
                let slopes = SLOPE_PATTERNS[rng.gen_range(0..SLOPE_PATTERNS.len())];
                let mut a = Vec::with_capacity(k);
                let mut s = 0.0;
                for &sj in slopes.iter().take(k) {
                    a.push(sj - s);
                    s = sj;
                }
                (t.iter().map(|&t| (t + 3) as f64).collect(), a, true)
            }
            CurveDist::Paper => {
                let t = rand::seq::index::sample(rng, n, k).into_vec();
                let a = (0..k).map(|_| rng.gen_range(-1.0..1.0)).collect();
                (t.iter().map(|&t| t as f64).collect(), a, true)
            }
            CurveDist::Continuous => {
                let t = (0..k).map(|_| rng.gen_range(0.0..n as f64)).collect();
                let a = (0..k).map(|_| rng.gen_range(-1.0..1.0)).collect();
                (t, a, false)
            }
        };
        let (f, p) = curve_from_kinks(n, &thetas, &a, on_grid);
        out.push(&f, &p);
    }
    out
}

pub(super) const TRAIN_STREAM: u64 = 0x5157_7261_696e_0001;
pub(super) const VAL_STREAM: u64 = 0x5157_7661_6c00_0002;
pub(super) const BATCH_STREAM: u64 = 0x5157_6261_7463_0003;
pub(super) const INIT_STREAM: u64 = 0x5157_696e_6974_0004;

/// The fixed training and validation sets of a run. The validation set depends only on
/// (distribution, n, k, size, seed), so runs of different models with one seed share it.
pub fn pwl_data(
    dist: CurveDist,
    n: usize,
    k: usize,
    train: usize,
    val: usize,
    seed: u64,
) -> (Curves, Curves) {
    let mut tr = StdRng::seed_from_u64(seed ^ TRAIN_STREAM);
    let mut va = StdRng::seed_from_u64(seed ^ VAL_STREAM);
    (
        sample_curves(dist, n, k, train, &mut tr),
        sample_curves(dist, n, k, val, &mut va),
    )
}

/// The two fixed example curves of the figures (like the paper's Figure 6): A goes flat, up,
/// down, up; B is a rising line with a small notch. `None` where they do not fit (k != 3 or a
/// very short n).
pub fn example_curves(dist: CurveDist, n: usize, k: usize) -> Option<Curves> {
    if k != 3 || n < 20 {
        return None;
    }
    let nf = n as f64;
    let mut out = Curves::with_capacity(n, 2);
    let shapes: [([f64; 3], [f64; 3], [f64; 3]); 2] = [
        // (kink positions as fractions of n, slopes for `patterns`, a for the others)
        ([0.2, 0.5, 0.75], [1.0, -1.0, 1.0], [0.6, -1.0, 0.8]),
        ([0.15, 0.6, 0.66], [1.0, -1.0, 2.0], [0.5, -0.9, 0.9]),
    ];
    for (frac, slopes, a) in shapes {
        let (thetas, a, on_grid): (Vec<f64>, Vec<f64>, bool) = match dist {
            CurveDist::Patterns => {
                let t: Vec<f64> = frac.iter().map(|q| (q * nf).round()).collect();
                let mut da = Vec::new();
                let mut s = 0.0;
                for sj in slopes {
                    da.push(sj - s);
                    s = sj;
                }
                (t, da, true)
            }
            CurveDist::Paper => (
                frac.iter().map(|q| (q * nf).round()).collect(),
                a.to_vec(),
                true,
            ),
            CurveDist::Continuous => (
                frac.iter().map(|q| q * nf + 0.37).collect(),
                a.to_vec(),
                false,
            ),
        };
        let distinct = thetas.windows(2).all(|w| w[0] < w[1]);
        let lo = if dist == CurveDist::Patterns {
            3.0
        } else {
            0.0
        };
        let hi = if dist == CurveDist::Patterns {
            nf - 4.0
        } else {
            nf - 1.0
        };
        if !distinct || thetas.iter().any(|&t| t < lo || t > hi) {
            return None;
        }
        let (f, p) = curve_from_kinks(n, &thetas, &a, on_grid);
        out.push(&f, &p);
    }
    Some(out)
}

/// Checks the curve distribution against n and k (E5-E9 take the same three parameters).
pub(super) fn check_curves(p: &Params) -> Result<(), String> {
    let dist = CurveDist::from_name(p.str("curves"))
        .ok_or_else(|| format!("unknown curve distribution {}", p.str("curves")))?;
    let (n, k) = (p.usize("n"), p.usize("k"));
    match dist {
        CurveDist::Patterns if k != 3 => Err(format!(
            "curves = patterns has 3 pieces (its slope patterns have 3 slopes); got k = {k}"
        )),
        CurveDist::Patterns if n < k + 6 => Err(format!(
            "curves = patterns puts kinks in 3..=n-4, which needs n >= {}; got n = {n}",
            k + 6
        )),
        CurveDist::Paper if n < k => Err(format!(
            "curves = paper puts k = {k} kinks on distinct grid points, which needs n >= {k}; got n = {n}"
        )),
        _ => Ok(()),
    }
}

/// The `curves` parameter.
pub(super) fn dist_of(p: &Params) -> Result<CurveDist, Halt> {
    CurveDist::from_name(p.str("curves"))
        .ok_or_else(|| Halt::Failed(format!("unknown curve distribution {}", p.str("curves"))))
}

/// A curve as (x, y) points.
pub(super) fn xy(v: &[f64]) -> Vec<(f64, f64)> {
    v.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect()
}
