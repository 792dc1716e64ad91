//! Weight initialisation.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Normal distribution with standard deviation `std`, truncated at two standard deviations by
/// redrawing (TensorFlow's `truncated_normal`).
#[derive(Debug, Clone, Copy)]
pub struct TruncatedNormal {
    pub std: f32,
}

impl Distribution<f32> for TruncatedNormal {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f32 {
        loop {
            let z: f32 = StandardNormal.sample(rng);
            if z.abs() <= 2.0 {
                return z * self.std;
            }
        }
    }
}

/// `n` draws from a truncated normal with standard deviation `std`.
pub fn truncated_normal<R: Rng + ?Sized>(rng: &mut R, n: usize, std: f32) -> Vec<f32> {
    let dist = TruncatedNormal { std };
    (0..n).map(|_| dist.sample(rng)).collect()
}
