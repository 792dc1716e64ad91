//! Time to a threshold when some runs never reach it: a survival quantity. Each run is an
//! observation, either the step at which it reached the threshold (an event) or the last
//! step it ran without reaching it (censored there). The Kaplan–Meier estimate of the
//! fraction of runs still *not* there after `t` steps is
//!
//! ```text
//! S(t) = product over event times t_i <= t of (1 - d_i / n_i)
//! ```
//!
//! with `d_i` the runs that reached it at `t_i` and `n_i` the runs still under observation
//! then (not yet there, and not censored before `t_i`; a run censored at `t_i` itself still
//! counts). The median time is the first event time at which `S` falls to 1/2 or below; when
//! fewer than half of the runs got there it is unknown, only known to exceed the censoring
//! times (`> budget`). `1 - S(t)` is the cumulative success curve.

/// One run: the step at which it reached the threshold, or the last step it ran without.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    Reached(f64),
    Censored(f64),
}

/// The runs of a group on one threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Survival {
    /// Runs observed.
    pub n: usize,
    /// The steps of the runs that reached it, ascending.
    pub reached: Vec<f64>,
    /// The last steps of the runs that did not, ascending.
    pub censored: Vec<f64>,
}

impl Survival {
    /// The survival data of `obs` (non-finite times are left out).
    pub fn of(obs: impl IntoIterator<Item = Observation>) -> Survival {
        let mut reached = Vec::new();
        let mut censored = Vec::new();
        for o in obs {
            match o {
                Observation::Reached(t) if t.is_finite() => reached.push(t),
                Observation::Censored(t) if t.is_finite() => censored.push(t),
                _ => {}
            }
        }
        reached.sort_by(f64::total_cmp);
        censored.sort_by(f64::total_cmp);
        Survival {
            n: reached.len() + censored.len(),
            reached,
            censored,
        }
    }

    /// How many runs reached it.
    pub fn hits(&self) -> usize {
        self.reached.len()
    }

    /// The Kaplan–Meier curve: `(t_i, S(t_i))` at each distinct event time.
    pub fn km(&self) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        let mut s = 1.0;
        let mut i = 0;
        while i < self.reached.len() {
            let t = self.reached[i];
            let d = self.reached[i..].iter().take_while(|&&x| x == t).count();
            // at risk: not yet reached before t, and not censored before t
            let at_risk =
                (self.reached.len() - i) + self.censored.iter().filter(|&&c| c >= t).count();
            s *= 1.0 - d as f64 / at_risk as f64;
            out.push((t, s));
            i += d;
        }
        out
    }

    /// The Kaplan–Meier median: the first event time where `S` falls to 1/2 or below;
    /// `None` when it never does (fewer than half got there within their budgets).
    pub fn median(&self) -> Option<f64> {
        self.km()
            .into_iter()
            .find(|&(_, s)| s <= 0.5 + 1e-12)
            .map(|(t, _)| t)
    }

    /// The longest any run was followed: what a censored median exceeds.
    pub fn horizon(&self) -> f64 {
        let last_hit = self.reached.last().copied().unwrap_or(f64::NEG_INFINITY);
        let last_cut = self.censored.last().copied().unwrap_or(f64::NEG_INFINITY);
        last_hit.max(last_cut)
    }

    /// The cumulative success curve, `(t, 1 - S(t))` as a step function: 0 at `start`, a
    /// step at each event time, flat to the horizon.
    pub fn success_curve(&self, start: f64) -> Vec<(f64, f64)> {
        let mut out = vec![(start, 0.0)];
        let mut prev = 0.0;
        for (t, s) in self.km() {
            out.push((t, prev));
            prev = 1.0 - s;
            out.push((t, prev));
        }
        let end = self.horizon();
        if end.is_finite() && out.last().is_some_and(|p| p.0 < end) {
            out.push((end, prev));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Observation::{Censored, Reached};
    use super::*;

    #[test]
    fn kaplan_meier_median_of_hand_made_censored_data() {
        // Six runs: reached at 100, 300, 300 and 700; one stopped at 200 without reaching
        // it, one at 1000.
        //   t = 100: 6 at risk, 1 reached  -> S = 5/6
        //   t = 300: 4 at risk (the run cut at 200 left), 2 reached -> S = 5/6 * 2/4 = 5/12
        //   t = 700: 2 at risk, 1 reached  -> S = 5/12 * 1/2 = 5/24
        // S first falls to 1/2 or below at 300: the median is 300. Counting the two cut runs
        // as never getting there would give 500 (between 300 and 700 of six values).
        let s = Survival::of([
            Reached(300.0),
            Censored(200.0),
            Reached(100.0),
            Reached(700.0),
            Censored(1000.0),
            Reached(300.0),
        ]);
        assert_eq!((s.n, s.hits()), (6, 4));
        let km = s.km();
        let want = [(100.0, 5.0 / 6.0), (300.0, 5.0 / 12.0), (700.0, 5.0 / 24.0)];
        assert_eq!(km.len(), 3);
        for (g, w) in km.iter().zip(want) {
            assert_eq!(g.0, w.0);
            assert!((g.1 - w.1).abs() < 1e-12, "{km:?}");
        }
        assert_eq!(s.median(), Some(300.0));
        assert_eq!(s.horizon(), 1000.0);
    }

    #[test]
    fn fewer_than_half_reached_leaves_the_median_censored() {
        // 2 of 5 reached: S = 4/5, 3/5 never falls to 1/2
        let s = Survival::of([
            Reached(50.0),
            Reached(1150.0),
            Censored(1500.0),
            Censored(1500.0),
            Censored(1500.0),
        ]);
        assert_eq!(s.median(), None);
        assert_eq!(s.horizon(), 1500.0);
        // exactly half: S = 1/2 at the second hit, the median is that step
        let s = Survival::of([Reached(50.0), Reached(80.0), Censored(90.0), Censored(90.0)]);
        assert_eq!(s.median(), Some(80.0));
        let none = Survival::of([Censored(10.0), Censored(10.0)]);
        assert_eq!((none.hits(), none.median()), (0, None));
        assert!(Survival::of([]).km().is_empty());
    }

    #[test]
    fn the_success_curve_steps_at_each_hit_and_stays_flat_to_the_horizon() {
        let s = Survival::of([Reached(10.0), Reached(30.0), Censored(50.0), Censored(50.0)]);
        assert_eq!(
            s.success_curve(0.0),
            vec![
                (0.0, 0.0),
                (10.0, 0.0),
                (10.0, 0.25),
                (30.0, 0.25),
                (30.0, 0.5),
                (50.0, 0.5)
            ]
        );
    }
}
