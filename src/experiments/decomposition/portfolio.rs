//! E4's data: one-hot inputs, each tied to one of k stocks, and returns that are fair coins except
//! for the input's stock; and the exact SNR of both estimators at initialisation.

use rand::Rng;

use crate::experiments::ctx::Halt;
use crate::nn::SoftmaxPolicy;

/// `n` portfolio samples: inputs uniform over the d one-hot vectors, returns fair coins
/// except `z_y(x) = +1`.
pub struct PortfolioBatch {
    pub idx: Vec<usize>,
    pub labels: Vec<usize>,
    /// `n x k` returns in {-1, +1}.
    pub returns: Vec<f32>,
}

pub fn portfolio_batch<R: Rng + ?Sized>(
    rng: &mut R,
    n: usize,
    stock_of: &[usize],
    k: usize,
    with_returns: bool,
) -> PortfolioBatch {
    let idx: Vec<usize> = (0..n).map(|_| rng.gen_range(0..stock_of.len())).collect();
    let labels: Vec<usize> = idx.iter().map(|&j| stock_of[j]).collect();
    let mut returns = Vec::new();
    if with_returns {
        returns.reserve(n * k);
        for &y in &labels {
            let mut bits = 0u64;
            for c in 0..k {
                if c % 64 == 0 {
                    bits = rng.gen();
                }
                returns.push(if c == y || (bits >> (c % 64)) & 1 == 1 {
                    1.0
                } else {
                    -1.0
                });
            }
        }
    }
    PortfolioBatch {
        idx,
        labels,
        returns,
    }
}

/// The stock tied to each of the d inputs, drawn once.
pub fn stock_labels<R: Rng + ?Sized>(rng: &mut R, d: usize, k: usize) -> Vec<usize> {
    (0..d).map(|_| rng.gen_range(0..k)).collect()
}

/// The exact SNR of both estimators at a fresh initialisation: `(end-to-end, decomposition)`.
pub fn portfolio_init_snr<R: Rng + ?Sized>(
    rng: &mut R,
    d: usize,
    k: usize,
) -> Result<(f64, f64), Halt> {
    let policy = SoftmaxPolicy::new(d, k, rng)?;
    let labels = stock_labels(rng, d, k);
    let (e2e, dec) = policy.population_snr(&labels)?;
    Ok((e2e.total.snr(), dec.total.snr()))
}
