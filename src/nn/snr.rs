//! Signal-to-noise ratio of a stochastic gradient, as the spec defines it for E3:
//! signal = ||E g||^2, the squared norm of the mean gradient; noise = E ||g - E g||^2, the
//! variance of a single-sample gradient; SNR = signal / noise.
//!
//! From `n` per-sample gradients g_1..g_n (rows), with mean g_bar:
//! - noise = (1/n) sum_i ||g_i - g_bar||^2 (the mean squared deviation);
//! - signal = ||g_bar||^2 - noise / (n - 1), which removes the bias E||g_bar||^2 =
//!   ||E g||^2 + Var/n of the plain estimate. Without it a gradient with no signal at all
//!   would show an SNR of about 1/n. The estimate can fall below zero when the true signal is
//!   under the probe's resolution (about 1/(n sqrt(P)) relative to the noise for P numbers);
//!   [`Snr::snr`] is then reported as 0.

/// Signal, noise and their ratio for one block of parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snr {
    /// Unbiased estimate of ||E g||^2 (may be slightly negative when it is ~0).
    pub signal: f64,
    /// Mean squared deviation of single-sample gradients from their mean.
    pub noise: f64,
    /// The plain ||g_bar||^2, before the bias correction.
    pub signal_plugin: f64,
}

impl Snr {
    /// From `||g_bar||^2` and the mean squared deviation of `n` single-sample gradients.
    pub fn from_moments(signal_plugin: f64, noise: f64, n: usize) -> Self {
        let signal = if n > 1 {
            signal_plugin - noise / (n - 1) as f64
        } else {
            signal_plugin
        };
        Snr {
            signal,
            noise,
            signal_plugin,
        }
    }

    /// Adds two disjoint blocks of parameters (squared norms add up).
    pub fn combine(&self, other: &Snr) -> Snr {
        Snr {
            signal: self.signal + other.signal,
            noise: self.noise + other.noise,
            signal_plugin: self.signal_plugin + other.signal_plugin,
        }
    }

    /// signal / noise, with a negative signal estimate reported as 0.
    pub fn snr(&self) -> f64 {
        if self.noise > 0.0 {
            self.signal.max(0.0) / self.noise
        } else if self.signal > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    }
}

/// SNR of the whole gradient and of each named block.
#[derive(Debug, Clone, PartialEq)]
pub struct SnrReport {
    pub total: Snr,
    pub blocks: Vec<(String, Snr)>,
}

/// SNR over columns `start..start + width` of `n` rows of `p` numbers.
pub fn snr_of_columns(rows: &[f32], n: usize, p: usize, start: usize, width: usize) -> Snr {
    assert!(
        rows.len() >= n * p && start + width <= p,
        "rows do not fit n x p"
    );
    if n == 0 || width == 0 {
        return Snr {
            signal: 0.0,
            noise: 0.0,
            signal_plugin: 0.0,
        };
    }
    let mut mean = vec![0.0f64; width];
    for i in 0..n {
        for (m, &g) in mean
            .iter_mut()
            .zip(&rows[i * p + start..i * p + start + width])
        {
            *m += g as f64;
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    let mut noise = 0.0;
    for i in 0..n {
        for (m, &g) in mean.iter().zip(&rows[i * p + start..i * p + start + width]) {
            noise += (g as f64 - m).powi(2);
        }
    }
    noise /= n as f64;
    let plugin: f64 = mean.iter().map(|m| m * m).sum();
    let signal = if n > 1 {
        plugin - noise / (n - 1) as f64
    } else {
        plugin
    };
    Snr {
        signal,
        noise,
        signal_plugin: plugin,
    }
}

/// SNR of `n` per-sample gradient rows laid out as `layout` (block name, size), in order.
pub fn gradient_snr(rows: &[f32], n: usize, layout: &[(String, usize)]) -> SnrReport {
    let p: usize = layout.iter().map(|(_, s)| s).sum();
    let total = snr_of_columns(rows, n, p, 0, p);
    let mut blocks = Vec::with_capacity(layout.len());
    let mut start = 0;
    for (name, size) in layout {
        blocks.push((name.clone(), snr_of_columns(rows, n, p, start, *size)));
        start += size;
    }
    SnrReport { total, blocks }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_distr::StandardNormal;

    /// Rows g_i = mu + sigma * z_i: signal ||mu||^2, noise P sigma^2.
    #[test]
    fn recovers_a_known_mean_and_variance() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let (n, p) = (4000, 20);
        let mu: Vec<f32> = (0..p).map(|j| 0.1 * j as f32).collect();
        let sigma = 2.0f32;
        let rows: Vec<f32> = (0..n * p)
            .map(|k| mu[k % p] + sigma * rng.sample::<f32, _>(StandardNormal))
            .collect();
        let s = snr_of_columns(&rows, n, p, 0, p);
        let want_signal: f64 = mu.iter().map(|m| (*m as f64).powi(2)).sum();
        let want_noise = p as f64 * 4.0;
        assert!(
            (s.noise / want_noise - 1.0).abs() < 0.03,
            "noise {}",
            s.noise
        );
        assert!(
            (s.signal - want_signal).abs() < 0.1 * want_signal,
            "signal {}",
            s.signal
        );
        assert!((s.snr() - want_signal / want_noise).abs() < 0.1 * want_signal / want_noise);
    }

    #[test]
    fn pure_noise_has_no_signal_after_the_bias_correction() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let (n, p) = (64, 500);
        let rows: Vec<f32> = (0..n * p)
            .map(|_| rng.sample::<f32, _>(StandardNormal))
            .collect();
        let s = snr_of_columns(&rows, n, p, 0, p);
        // the plug-in estimate sits at about 1/n; the corrected one near 0
        assert!((s.signal_plugin / s.noise - 1.0 / 63.0).abs() < 0.005);
        assert!(s.snr() < 0.005, "snr {}", s.snr());
    }

    #[test]
    fn blocks_follow_the_layout() {
        let rows = vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 2.0, 0.0];
        let r = gradient_snr(&rows, 3, &[("a".into(), 1), ("b".into(), 2)]);
        assert_eq!(r.blocks.len(), 2);
        assert_eq!(r.blocks[0].1.noise, 0.0);
        assert!(r.blocks[0].1.snr().is_infinite());
        assert!(r.blocks[1].1.noise > 0.0);
    }
}
