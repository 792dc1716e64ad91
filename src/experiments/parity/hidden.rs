//! Hidden progress on a parity target (Barak et al., *Hidden Progress in Deep Learning*, 2022):
//! while the loss sits flat, the network's correlation with the target parity and its
//! first-layer weights on the relevant bits grow underneath. Measured on a fixed held-out batch
//! drawn once per run, so that step to step the numbers move only because the network does.
//!
//! - `fourier_target`: E[f·χ_S] / sqrt(E[f²]) over the batch, the normalised Fourier
//!   coefficient of the network's output f on the target subset S (1 when f is a positive
//!   multiple of χ_S, about ±1/sqrt(batch) for a function unrelated to it);
//! - `fourier_max_other`: the largest |E[f·χ_T]| / sqrt(E[f²]) over a fixed sample of other
//!   subsets T of the same size: the level the target's correlation has to clear to be more
//!   than noise;
//! - `relevant_weight_ratio`: the mean |w| of the first layer on the coordinates in S over
//!   the mean |w| on the others;
//! - `relevant_drift_ratio`: the mean |w − w₀| of the first layer on the coordinates in S over
//!   the mean on the others: how much more the relevant weights have moved since the start
//!   (1 when training moves every input's weights alike; far above 1 when the gradient has
//!   found S, long before the weights' magnitudes show it);
//! - `dist_from_init`: ‖θ − θ₀‖ / ‖θ₀‖ over every parameter.

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;

use super::e1::sample_signs;
use crate::experiments::ctx::{Ctx, Halt};
use crate::nn::{LayerWeights, Mlp};

/// Other subsets sampled for `fourier_max_other` unless a run says otherwise.
pub const OTHER_SUBSETS: usize = 64;

/// The character χ_T(x) = Π_{i∈T} x_i of each row of `x` (`d` columns, entries ±1).
pub fn character(x: &[f32], d: usize, subset: &[usize]) -> Vec<f32> {
    x.chunks(d)
        .map(|row| subset.iter().map(|&i| row[i]).product::<f32>())
        .collect()
}

/// E[f·χ] / sqrt(E[f²]) over the samples; 0 for a function that is 0 on every sample (it
/// correlates with nothing).
pub fn fourier_correlation(f: &[f32], chi: &[f32]) -> f64 {
    let n = f.len().min(chi.len());
    if n == 0 {
        return 0.0;
    }
    let (mut fc, mut ff) = (0.0f64, 0.0f64);
    for (&a, &c) in f.iter().zip(chi) {
        fc += a as f64 * c as f64;
        ff += a as f64 * a as f64;
    }
    if ff <= 0.0 {
        return 0.0;
    }
    (fc / n as f64) / (ff / n as f64).sqrt()
}

/// The mean |w| of a first layer (`inputs x outputs`, row-major) on the rows in `subset` over
/// the mean on the other rows; `None` when either side is empty or the others are all 0.
pub fn relevant_weight_ratio(layer: &LayerWeights, subset: &[usize]) -> Option<f64> {
    let inside: BTreeSet<usize> = subset.iter().copied().collect();
    let (mut s_in, mut n_in, mut s_out, mut n_out) = (0.0f64, 0usize, 0.0f64, 0usize);
    for (i, row) in layer.w.chunks(layer.outputs.max(1)).enumerate() {
        let s: f64 = row.iter().map(|w| w.abs() as f64).sum();
        if inside.contains(&i) {
            s_in += s;
            n_in += row.len();
        } else {
            s_out += s;
            n_out += row.len();
        }
    }
    if n_in == 0 || n_out == 0 || s_out <= 0.0 {
        return None;
    }
    Some((s_in / n_in as f64) / (s_out / n_out as f64))
}

/// The mean |w − w₀| of a first layer on the rows in `subset` over the mean on the other rows;
/// `None` when either side is empty, the shapes differ, or the others have not moved.
pub fn relevant_drift_ratio(
    layer: &LayerWeights,
    init: &LayerWeights,
    subset: &[usize],
) -> Option<f64> {
    if layer.w.len() != init.w.len() || layer.outputs != init.outputs {
        return None;
    }
    let drift = LayerWeights {
        inputs: layer.inputs,
        outputs: layer.outputs,
        w: layer.w.iter().zip(&init.w).map(|(a, b)| a - b).collect(),
        b: Vec::new(),
    };
    relevant_weight_ratio(&drift, subset)
}

/// ‖θ − θ₀‖ / ‖θ₀‖ over every weight and bias (NaN when θ₀ is 0 or the shapes differ).
pub fn dist_from_init(now: &[LayerWeights], init: &[LayerWeights]) -> f64 {
    let (mut diff, mut base) = (0.0f64, 0.0f64);
    if now.len() != init.len() {
        return f64::NAN;
    }
    for (a, b) in now.iter().zip(init) {
        if a.w.len() != b.w.len() || a.b.len() != b.b.len() {
            return f64::NAN;
        }
        for (x, y) in a.w.iter().chain(&a.b).zip(b.w.iter().chain(&b.b)) {
            diff += (*x as f64 - *y as f64).powi(2);
            base += (*y as f64).powi(2);
        }
    }
    if base <= 0.0 {
        return f64::NAN;
    }
    (diff / base).sqrt()
}

/// n choose k, saturating at `u128::MAX`.
fn choose(n: usize, k: usize) -> u128 {
    let k = k.min(n - k.min(n));
    let mut c: u128 = 1;
    for i in 0..k {
        c = match c.checked_mul((n - i) as u128) {
            Some(v) => v / (i as u128 + 1),
            None => return u128::MAX,
        };
    }
    c
}

/// Every subset of `0..d` of size `k`, in lexicographic order.
fn all_subsets(d: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur: Vec<usize> = (0..k).collect();
    if k > d {
        return out;
    }
    loop {
        out.push(cur.clone());
        // the rightmost entry that can still move right
        let Some(i) = (0..k).rev().find(|&i| cur[i] < d - k + i) else {
            return out;
        };
        cur[i] += 1;
        for j in i + 1..k {
            cur[j] = cur[j - 1] + 1;
        }
    }
}

/// Up to `count` subsets of `0..d` of the size of `target`, none equal to it, all distinct:
/// every one of them when there are no more than `count`, else a sample drawn with `rng`.
pub fn other_subsets(
    d: usize,
    target: &[usize],
    count: usize,
    rng: &mut StdRng,
) -> Vec<Vec<usize>> {
    let k = target.len();
    let mut sorted_target = target.to_vec();
    sorted_target.sort_unstable();
    if count == 0 || k == 0 || k > d {
        return Vec::new();
    }
    if choose(d, k) <= count as u128 + 1 {
        return all_subsets(d, k)
            .into_iter()
            .filter(|s| *s != sorted_target)
            .collect();
    }
    let mut seen: BTreeSet<Vec<usize>> = BTreeSet::new();
    seen.insert(sorted_target);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let mut s = sample(rng, d, k).into_vec();
        s.sort_unstable();
        if seen.insert(s.clone()) {
            out.push(s);
        }
    }
    out
}

/// One measurement of the hidden-progress metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub fourier_target: f64,
    /// `None` when the target's size has no other subset (|S| = d).
    pub fourier_max_other: Option<f64>,
    /// `None` when every coordinate is in S.
    pub relevant_weight_ratio: Option<f64>,
    /// `None` when every coordinate is in S, or before any weight off S has moved.
    pub relevant_drift_ratio: Option<f64>,
    pub dist_from_init: f64,
}

impl Progress {
    /// Streams the measurement as metrics (those that are defined).
    pub fn emit(&self, ctx: &mut dyn Ctx, step: u64) {
        ctx.metric(step, "fourier_target", self.fourier_target);
        if let Some(v) = self.fourier_max_other {
            ctx.metric(step, "fourier_max_other", v);
        }
        if let Some(v) = self.relevant_weight_ratio {
            ctx.metric(step, "relevant_weight_ratio", v);
        }
        if let Some(v) = self.relevant_drift_ratio {
            ctx.metric(step, "relevant_drift_ratio", v);
        }
        ctx.metric(step, "dist_from_init", self.dist_from_init);
    }

    /// `fourier_target − fourier_max_other`, the hidden progress (`None` without others).
    pub fn gap(&self) -> Option<f64> {
        self.fourier_max_other.map(|o| self.fourier_target - o)
    }
}

/// The fixed held-out batch, the characters on it, and the network's initial weights.
pub struct HiddenProbe {
    pub d: usize,
    pub x: Vec<f32>,
    pub n: usize,
    /// χ_S on the batch: the labels of the held-out samples.
    pub target: Vec<f32>,
    subset: Vec<usize>,
    others: Vec<Vec<f32>>,
    init: Vec<LayerWeights>,
}

impl HiddenProbe {
    /// `n` held-out samples drawn from their own stream (`seed`: the run's training draws stay
    /// the same with or without the probe) and `others` other subsets of `subset`'s size.
    pub fn new(d: usize, subset: &[usize], n: usize, others: usize, seed: u64, net: &Mlp) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let x = sample_signs(&mut rng, n, d);
        Self::on(d, subset, x, others, &mut rng, net)
    }

    /// The probe on the given batch (`d` columns).
    pub fn on(
        d: usize,
        subset: &[usize],
        x: Vec<f32>,
        others: usize,
        rng: &mut StdRng,
        net: &Mlp,
    ) -> Self {
        let n = x.len() / d.max(1);
        let target = character(&x, d, subset);
        let others = other_subsets(d, subset, others, rng)
            .iter()
            .map(|s| character(&x, d, s))
            .collect();
        Self {
            d,
            n,
            target,
            subset: subset.to_vec(),
            others,
            init: net.weights(),
            x,
        }
    }

    /// The number of other subsets compared against.
    pub fn other_count(&self) -> usize {
        self.others.len()
    }

    /// The network's outputs on the held-out batch.
    pub fn outputs(&self, net: &Mlp) -> Result<Vec<f32>, Halt> {
        Ok(net.forward(&self.x, self.n)?)
    }

    /// The metrics for `net`, whose outputs on the held-out batch are `f`.
    pub fn measure(&self, net: &Mlp, f: &[f32]) -> Progress {
        let weights = net.weights();
        let max_other = self
            .others
            .iter()
            .map(|chi| fourier_correlation(f, chi).abs())
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        Progress {
            fourier_target: fourier_correlation(f, &self.target),
            fourier_max_other: max_other,
            relevant_weight_ratio: weights
                .first()
                .and_then(|l| relevant_weight_ratio(l, &self.subset)),
            relevant_drift_ratio: weights
                .first()
                .zip(self.init.first())
                .and_then(|(l, l0)| relevant_drift_ratio(l, l0, &self.subset)),
            dist_from_init: dist_from_init(&weights, &self.init),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::parity::{all_sign_inputs, lemma3_network};
    use crate::nn::Activation;

    /// Every Fourier coefficient f̂(T) = 2^-n Σ_x f(x) χ_T(x) over the whole cube, by a plain
    /// Walsh–Hadamard transform in f64 (`f` indexed as `all_sign_inputs` orders the inputs:
    /// bit i of the index set means x_i = -1, so χ_T(x) = (-1)^popcount(T & index)).
    fn fourier_coefficients(f: &[f32]) -> Vec<f64> {
        let mut a: Vec<f64> = f.iter().map(|&v| v as f64).collect();
        let mut h = 1;
        while h < a.len() {
            for i in (0..a.len()).step_by(2 * h) {
                for j in i..i + h {
                    let (u, v) = (a[j], a[j + h]);
                    a[j] = u + v;
                    a[j + h] = u - v;
                }
            }
            h *= 2;
        }
        let n = a.len() as f64;
        a.iter().map(|v| v / n).collect()
    }

    /// Lemma 3's network (inputs b in {0,1}^d, output sign (-1)^<b, v>) moved to inputs
    /// x = 1 - 2b in {±1}^d: the first layer's weights halved and negated, its biases raised
    /// by half the row sums. It then computes χ_S in sign.
    fn lemma3_on_signs(d: usize, subset: &[usize]) -> Mlp {
        let v: Vec<bool> = (0..d).map(|i| subset.contains(&i)).collect();
        let mut layers = lemma3_network(&v).unwrap().weights();
        let first = &mut layers[0];
        for u in 0..first.outputs {
            let col: f32 = (0..d).map(|i| first.w[i * first.outputs + u]).sum();
            first.b[u] += 0.5 * col;
            for i in 0..d {
                first.w[i * first.outputs + u] *= -0.5;
            }
        }
        Mlp::from_weights(layers, Activation::Relu).unwrap()
    }

    fn mask(subset: &[usize]) -> usize {
        subset.iter().map(|i| 1usize << i).sum()
    }

    /// The metrics on all 2^10 inputs against the Fourier coefficients computed directly: the
    /// target's normalised coefficient f̂(S) / ‖f‖ (‖f‖² = Σ f̂(T)² by Parseval), and the
    /// largest |f̂(T)| / ‖f‖ over every other T of size 3 (the probe takes all 119 of them).
    fn check_against_direct(net: &Mlp, subset: &[usize]) -> Progress {
        let d = 10;
        let x = all_sign_inputs(d);
        let mut rng = StdRng::seed_from_u64(5);
        let probe = HiddenProbe::on(d, subset, x, 500, &mut rng, net);
        assert_eq!(
            probe.other_count(),
            119,
            "C(10, 3) - 1 other subsets, all of them"
        );
        let f = probe.outputs(net).unwrap();
        let got = probe.measure(net, &f);
        let coef = fourier_coefficients(&f);
        let norm = coef.iter().map(|c| c * c).sum::<f64>().sqrt();
        let want_target = coef[mask(subset)] / norm;
        let want_other = (0..1usize << d)
            .filter(|t| t.count_ones() as usize == subset.len() && *t != mask(subset))
            .map(|t| coef[t].abs() / norm)
            .fold(0.0f64, f64::max);
        assert!(
            (got.fourier_target - want_target).abs() < 1e-5,
            "fourier_target {} against f̂(S)/‖f‖ = {want_target}",
            got.fourier_target
        );
        let other = got.fourier_max_other.unwrap();
        assert!(
            (other - want_other).abs() < 1e-5,
            "fourier_max_other {other} against {want_other}"
        );
        got
    }

    #[test]
    fn fourier_metrics_match_a_direct_computation_over_all_2_to_the_10_inputs() {
        let subset = [1, 4, 8];
        // a random network: its coefficients are small and spread
        let mut rng = StdRng::seed_from_u64(3);
        let random = Mlp::new(&[10, 64, 1], Activation::Relu, &mut rng);
        let r = check_against_direct(&random, &subset);
        assert!(r.fourier_target.abs() < 0.5, "{r:?}");
        // Lemma 3's network for S computes χ_S: its correlation with χ_S is the largest
        let exact = lemma3_on_signs(10, &subset);
        let e = check_against_direct(&exact, &subset);
        assert!(e.fourier_target > 0.9, "{e:?}");
        assert!(e.fourier_max_other.unwrap() < 0.1, "{e:?}");
        assert!(e.gap().unwrap() > 0.8);
    }

    #[test]
    fn correlation_of_known_functions() {
        // f = 2 χ on four samples: correlation 1; f = 0: 0; f = -χ: -1
        let chi = [1.0, -1.0, -1.0, 1.0];
        assert!((fourier_correlation(&[2.0, -2.0, -2.0, 2.0], &chi) - 1.0).abs() < 1e-12);
        assert_eq!(fourier_correlation(&[0.0; 4], &chi), 0.0);
        assert!((fourier_correlation(&[-1.0, 1.0, 1.0, -1.0], &chi) + 1.0).abs() < 1e-12);
        // f = χ + 1 (orthogonal parts of equal size): 1 / sqrt(2)
        let f = [2.0, 0.0, 0.0, 2.0];
        assert!((fourier_correlation(&f, &chi) - 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(
            character(&[1.0, -1.0, -1.0, -1.0, 1.0, 1.0], 3, &[0, 1]),
            [-1.0, -1.0]
        );
    }

    #[test]
    fn weight_ratios_and_distance_from_a_hand_computation() {
        // 3 inputs x 2 units, S = {0}: mean |w| on row 0 is 2, on rows 1-2 is 0.5
        let layer = LayerWeights {
            inputs: 3,
            outputs: 2,
            w: vec![2.0, -2.0, 0.5, -0.5, 0.5, 0.5],
            b: vec![0.0, 0.0],
        };
        assert_eq!(relevant_weight_ratio(&layer, &[0]), Some(4.0));
        assert_eq!(
            relevant_weight_ratio(&layer, &[0, 1, 2]),
            None,
            "no other coordinate"
        );
        let init = LayerWeights {
            w: vec![1.0, -1.0, 0.5, -0.5, 0.5, 0.0],
            ..layer.clone()
        };
        // drift: row 0 moved by 1 and 1 (mean 1), rows 1-2 by 0, 0, 0, 0.5 (mean 0.125)
        assert_eq!(relevant_drift_ratio(&layer, &init, &[0]), Some(8.0));
        assert_eq!(
            relevant_drift_ratio(&init, &init, &[0]),
            None,
            "nothing moved yet"
        );
        // ‖θ − θ₀‖² = 1 + 1 + 0.25 = 2.25, ‖θ₀‖² = 1 + 1 + 3 x 0.25 = 2.75
        let d = dist_from_init(std::slice::from_ref(&layer), std::slice::from_ref(&init));
        assert!((d - (2.25f64 / 2.75).sqrt()).abs() < 1e-12, "{d}");
        assert!(dist_from_init(&[], std::slice::from_ref(&init)).is_nan());
    }

    #[test]
    fn other_subsets_are_distinct_of_the_same_size_and_never_the_target() {
        let mut rng = StdRng::seed_from_u64(1);
        let target = [2, 7, 11];
        let others = other_subsets(30, &target, 64, &mut rng);
        assert_eq!(others.len(), 64);
        let set: BTreeSet<&Vec<usize>> = others.iter().collect();
        assert_eq!(set.len(), 64, "distinct");
        assert!(others.iter().all(|s| s.len() == 3 && *s != target.to_vec()));
        assert!(others.iter().all(|s| s.iter().all(|&i| i < 30)));
        // fewer candidates than asked for: every one of them
        assert_eq!(other_subsets(5, &[0, 1], 64, &mut rng).len(), 9);
        assert!(other_subsets(4, &[0, 1, 2, 3], 64, &mut rng).is_empty());
        assert_eq!(all_subsets(5, 2).len(), 10);
        assert_eq!(choose(63, 31), 916_312_070_471_295_267);
    }
}
