//! Least-squares lines, with what a reader needs to trust a slope: its standard error, its
//! 95% interval (Student's t with n - 2 degrees of freedom) and R².

use super::t_975;

/// `y = intercept + slope · x`, fitted to n points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearFit {
    pub n: usize,
    pub slope: f64,
    pub intercept: f64,
    /// The slope's standard error (NaN with fewer than three points).
    pub slope_se: f64,
    /// The share of y's variance the line explains.
    pub r2: f64,
}

impl LinearFit {
    /// The least-squares line through the finite points; `None` with fewer than two, or when
    /// every x is the same.
    pub fn of(points: &[(f64, f64)]) -> Option<LinearFit> {
        let pts: Vec<(f64, f64)> = points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let n = pts.len();
        if n < 2 {
            return None;
        }
        let nf = n as f64;
        let mx = pts.iter().map(|p| p.0).sum::<f64>() / nf;
        let my = pts.iter().map(|p| p.1).sum::<f64>() / nf;
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let syy: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
        if sxx <= 0.0 {
            return None;
        }
        let slope = sxy / sxx;
        let intercept = my - slope * mx;
        let sse: f64 = pts
            .iter()
            .map(|p| (p.1 - intercept - slope * p.0).powi(2))
            .sum();
        let slope_se = if n > 2 {
            (sse / (nf - 2.0) / sxx).sqrt()
        } else {
            f64::NAN
        };
        let r2 = if syy > 0.0 { 1.0 - sse / syy } else { 1.0 };
        Some(LinearFit {
            n,
            slope,
            intercept,
            slope_se,
            r2,
        })
    }

    /// The slope's 95% interval; `None` with fewer than three points.
    pub fn slope_ci95(&self) -> Option<(f64, f64)> {
        if self.n < 3 {
            return None;
        }
        let half = t_975(self.n - 2) * self.slope_se;
        Some((self.slope - half, self.slope + half))
    }
}

/// How a quantity grows with a parameter: `y = a·x^b` (power: a line in log-log) or
/// `y = a·e^(b·x)` (exponential: a line in log-linear).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    Power,
    Exp,
}

impl Growth {
    pub fn parse(s: &str) -> Result<Growth, String> {
        match s {
            "power" => Ok(Growth::Power),
            "exp" => Ok(Growth::Exp),
            _ => Err(format!(
                "--fit {s}: allowed: power (y = a·x^b, a line in log-log) or exp (y = a·e^(b·x), \
                 a line in log-y)"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Growth::Power => "power",
            Growth::Exp => "exp",
        }
    }
}

/// A fitted growth law: its exponent `b` with its 95% interval and R² (of the line in the
/// transformed coordinates), over the points that could be used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GrowthFit {
    pub growth: Growth,
    pub line: LinearFit,
}

impl GrowthFit {
    /// Fits `growth` to `(x, y)`: points with y <= 0 (and x <= 0 for a power) cannot lie on
    /// such a curve and are left out; `None` below two usable points.
    pub fn of(growth: Growth, points: &[(f64, f64)]) -> Option<GrowthFit> {
        let pts: Vec<(f64, f64)> = points
            .iter()
            .filter(|(x, y)| *y > 0.0 && (growth == Growth::Exp || *x > 0.0))
            .map(|&(x, y)| match growth {
                Growth::Power => (x.ln(), y.ln()),
                Growth::Exp => (x, y.ln()),
            })
            .collect();
        LinearFit::of(&pts).map(|line| GrowthFit { growth, line })
    }

    /// The exponent `b`.
    pub fn exponent(&self) -> f64 {
        self.line.slope
    }

    /// The fitted curve's value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        let a = self.line.intercept;
        match self.growth {
            Growth::Power => (a + self.line.slope * x.ln()).exp(),
            Growth::Exp => (a + self.line.slope * x).exp(),
        }
    }

    /// `y ∝ x^2.98 [2.71, 3.25], R² 0.99 (5 points)`, or `y ∝ e^(0.69 x) ...`.
    pub fn describe(&self) -> String {
        let b = super::format::value(self.exponent());
        let ci = match self.line.slope_ci95() {
            Some((lo, hi)) => format!(
                " [{}, {}]",
                super::format::value(lo),
                super::format::value(hi)
            ),
            None => " (no interval from two points)".into(),
        };
        let law = match self.growth {
            Growth::Power => format!("∝ x^{b}"),
            Growth::Exp => format!("∝ e^({b} x)"),
        };
        format!(
            "{law}{ci}, R² {} ({} points)",
            super::format::sig(self.line.r2, 3),
            self.line.n
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_through_exact_points_has_no_error() {
        let f = LinearFit::of(&[(1.0, 3.0), (2.0, 5.0), (3.0, 7.0), (4.0, 9.0)]).unwrap();
        assert!((f.slope - 2.0).abs() < 1e-12 && (f.intercept - 1.0).abs() < 1e-12);
        assert!(f.slope_se.abs() < 1e-12 && (f.r2 - 1.0).abs() < 1e-12);
        let (lo, hi) = f.slope_ci95().unwrap();
        assert!((lo - 2.0).abs() < 1e-9 && (hi - 2.0).abs() < 1e-9);
    }

    #[test]
    fn slope_error_and_r2_match_a_hand_computation() {
        // x = 0, 1, 2, 3; y = 0, 2, 1, 3: mean x 1.5, mean y 1.5; sxx = 5, sxy = 4,
        // slope 0.8, intercept 0.3; residuals -0.3, 0.9, -0.9, 0.3: sse = 1.8;
        // se = sqrt(1.8 / 2 / 5) = 0.42426; syy = 5, R² = 1 - 1.8 / 5 = 0.64;
        // 95% interval 0.8 +- 4.303 x 0.42426
        let f = LinearFit::of(&[(0.0, 0.0), (1.0, 2.0), (2.0, 1.0), (3.0, 3.0)]).unwrap();
        assert!((f.slope - 0.8).abs() < 1e-12);
        assert!((f.intercept - 0.3).abs() < 1e-12);
        assert!((f.slope_se - 0.424_264_068_7).abs() < 1e-9);
        assert!((f.r2 - 0.64).abs() < 1e-12);
        let (lo, hi) = f.slope_ci95().unwrap();
        assert!((hi - lo - 2.0 * 4.303 * 0.424_264_068_7).abs() < 1e-9);
    }

    #[test]
    fn too_few_or_degenerate_points_give_no_line() {
        assert!(LinearFit::of(&[(1.0, 2.0)]).is_none());
        assert!(LinearFit::of(&[(1.0, 2.0), (1.0, 3.0)]).is_none());
        let two = LinearFit::of(&[(0.0, 0.0), (1.0, 1.0), (f64::NAN, 5.0)]).unwrap();
        assert_eq!((two.n, two.slope_ci95()), (2, None));
    }

    #[test]
    fn growth_laws_recover_their_exponents() {
        // y = 2 x^3 at x = 10..30: exponent 3 exactly
        let pts: Vec<(f64, f64)> = [10.0, 15.0, 20.0, 25.0, 30.0]
            .iter()
            .map(|&x: &f64| (x, 2.0 * x.powi(3)))
            .collect();
        let f = GrowthFit::of(Growth::Power, &pts).unwrap();
        assert!((f.exponent() - 3.0).abs() < 1e-9);
        assert!((f.at(12.0) - 2.0 * 12f64.powi(3)).abs() < 1e-6);
        assert!(
            f.describe().starts_with("∝ x^3 [3, 3], R² 1 (5 points)"),
            "{}",
            f.describe()
        );
        // y = 5 e^(0.7 d): rate 0.7; a point at y = 0 cannot lie on it and is left out
        let mut pts: Vec<(f64, f64)> = [4.0, 6.0, 8.0]
            .iter()
            .map(|&d: &f64| (d, 5.0 * (0.7 * d).exp()))
            .collect();
        pts.push((10.0, 0.0));
        let f = GrowthFit::of(Growth::Exp, &pts).unwrap();
        assert!((f.exponent() - 0.7).abs() < 1e-9);
        assert_eq!(f.line.n, 3);
        assert!(Growth::parse("cubic").unwrap_err().contains("power"));
    }
}
