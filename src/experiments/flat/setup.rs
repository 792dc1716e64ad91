//! The task of part 4: y = u(v*.x + b*) with u the 52-level staircase, x ~ N(0, I/N^2); its
//! draw from the seed, its samples and fixed test set, and the fast generator of the inputs.

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use rand_distr::StandardNormal;

use crate::nn::Staircase;
use crate::spec::Params;

/// The generator of training and test inputs: xoshiro256++ (Blackman and Vigna), seeded
/// through SplitMix64. About twice as fast as `StdRng` on the 25,600 normal draws of every
/// batch, which are most of a linear model's step.
#[derive(Debug, Clone)]
pub struct DataRng([u64; 4]);

impl DataRng {
    /// The generator's whole state, for a checkpoint.
    pub fn words(&self) -> [u64; 4] {
        self.0
    }

    /// The generator at a state [`DataRng::words`] gave.
    pub fn from_words(words: [u64; 4]) -> Self {
        Self(words)
    }

    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self([next(), next(), next(), next()])
    }
}

impl RngCore for DataRng {
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let out = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// The target of one run: y = u(v*.x + b*), x ~ N(0, I/N^2).
#[derive(Debug, Clone)]
pub struct Setup {
    pub n: usize,
    pub v_star: Vec<f64>,
    pub b_star: f64,
    pub stair: Staircase,
}

/// Samples of the setup: inputs (row-major, f32), the true r, its level and the label u(r).
#[derive(Debug, Clone, Default)]
pub struct Samples {
    pub x: Vec<f32>,
    pub r: Vec<f64>,
    pub level: Vec<usize>,
    pub y: Vec<f32>,
}

impl Samples {
    pub fn len(&self) -> usize {
        self.r.len()
    }

    pub fn is_empty(&self) -> bool {
        self.r.is_empty()
    }
}

const TEST_SALT: u64 = 0x7e57_0000_0000_0010;
pub(super) const PROBE_SALT: u64 = 0x960b_e000_0000_0010;

impl Setup {
    /// v* ~ N(0, I_N), then b* ~ N(0, 1), both from `seed`; `fixed_b` replaces the drawn b*
    /// (v* stays the same).
    pub fn draw(n: usize, seed: u64, fixed_b: Option<f64>) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let v_star: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
        let drawn: f64 = rng.sample(StandardNormal);
        let b_star = fixed_b.unwrap_or(drawn);
        Self {
            n,
            v_star,
            b_star,
            stair: Staircase::paper(b_star),
        }
    }

    pub(super) fn from_params(p: &Params, seed: u64) -> Self {
        let fixed = p.bool("fix_b_star").then(|| p.float("b_star"));
        Self::draw(p.usize("n"), seed, fixed)
    }

    /// r = v*.x + b* for one input.
    pub fn score(&self, x: &[f32]) -> f64 {
        x.iter()
            .zip(&self.v_star)
            .map(|(&a, &v)| a as f64 * v)
            .sum::<f64>()
            + self.b_star
    }

    /// `count` fresh samples.
    pub fn sample<R: Rng>(&self, rng: &mut R, count: usize) -> Samples {
        let n = self.n;
        let scale = 1.0 / n as f64;
        let mut s = Samples {
            x: Vec::with_capacity(count * n),
            r: Vec::with_capacity(count),
            level: Vec::with_capacity(count),
            y: Vec::with_capacity(count),
        };
        for _ in 0..count {
            let start = s.x.len();
            s.x.extend((0..n).map(|_| (rng.sample::<f64, _>(StandardNormal) * scale) as f32));
            let r = self.score(&s.x[start..]);
            let level = self.stair.level_index(r);
            s.r.push(r);
            s.level.push(level);
            s.y.push(self.stair.levels()[level] as f32);
        }
        s
    }

    /// The fixed test set of a seed.
    pub fn test_set(&self, seed: u64, count: usize) -> Samples {
        self.sample(&mut DataRng::new(seed ^ TEST_SALT), count)
    }
}

/// Cosine of the angle between two vectors.
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na > 0.0 && nb > 0.0 {
        dot / (na * nb)
    } else {
        0.0
    }
}
