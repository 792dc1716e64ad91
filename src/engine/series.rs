//! A metric's history with bounded memory: once full, old points are merged pairwise, each
//! merged point keeping its bucket's last step and value and its min and max.

/// One (possibly merged) point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub step: u64,
    pub value: f64,
    pub min: f64,
    pub max: f64,
}

/// A bounded series of points in step order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    points: Vec<Point>,
    cap: usize,
    /// Raw points merged into each stored point (a power of two).
    stride: usize,
    /// Raw points waiting to form one stored point at the current stride.
    pending: Option<(Point, usize)>,
    total: u64,
}

impl Default for Series {
    fn default() -> Self {
        Self::with_capacity(4096)
    }
}

fn merge(a: Point, b: Point) -> Point {
    Point {
        step: b.step,
        value: b.value,
        min: a.min.min(b.min),
        max: a.max.max(b.max),
    }
}

impl Series {
    /// A series that keeps at most `cap` (at least 16) points.
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            points: Vec::new(),
            cap: cap.max(16),
            stride: 1,
            pending: None,
            total: 0,
        }
    }

    pub fn push(&mut self, step: u64, value: f64) {
        self.total += 1;
        let p = Point {
            step,
            value,
            min: value,
            max: value,
        };
        let (acc, n) = match self.pending.take() {
            Some((acc, n)) => (merge(acc, p), n + 1),
            None => (p, 1),
        };
        if n < self.stride {
            self.pending = Some((acc, n));
            return;
        }
        self.points.push(acc);
        if self.points.len() >= self.cap {
            self.points = self
                .points
                .chunks(2)
                .map(|c| {
                    if c.len() == 2 {
                        merge(c[0], c[1])
                    } else {
                        c[0]
                    }
                })
                .collect();
            self.stride *= 2;
        }
    }

    /// Stored points plus the partial bucket still being filled, in step order.
    pub fn points(&self) -> impl Iterator<Item = Point> + '_ {
        self.points.iter().copied().chain(self.pending.map(|p| p.0))
    }

    /// The `i`-th of [`Series::points`].
    pub fn get(&self, i: usize) -> Option<Point> {
        match self.points.get(i) {
            Some(p) => Some(*p),
            None if i == self.points.len() => self.pending.map(|p| p.0),
            None => None,
        }
    }

    pub fn len(&self) -> usize {
        self.points.len() + usize::from(self.pending.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of values ever pushed.
    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn last(&self) -> Option<Point> {
        self.pending
            .map(|p| p.0)
            .or_else(|| self.points.last().copied())
    }

    /// The smallest and largest value seen (over merged buckets too).
    pub fn bounds(&self) -> Option<(f64, f64)> {
        self.points().fold(None, |acc, p| {
            let (lo, hi) = acc.unwrap_or((f64::INFINITY, f64::NEG_INFINITY));
            if p.min.is_finite() || p.max.is_finite() {
                Some((lo.min(p.min), hi.max(p.max)))
            } else {
                acc
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_stays_bounded_and_extremes_survive() {
        let mut s = Series::with_capacity(64);
        for i in 0..1_000_000u64 {
            let v = if i == 123_456 { 99.0 } else { (i % 7) as f64 };
            s.push(i, v);
        }
        assert!(s.len() <= 65, "{} points kept", s.len());
        assert_eq!(s.total(), 1_000_000);
        assert_eq!(s.bounds(), Some((0.0, 99.0)));
        assert_eq!(s.last().unwrap().step, 999_999);
        let steps: Vec<u64> = s.points().map(|p| p.step).collect();
        assert!(steps.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn short_series_keep_every_point() {
        let mut s = Series::with_capacity(100);
        for i in 0..50 {
            s.push(i, i as f64);
        }
        assert_eq!(s.len(), 50);
        assert_eq!(s.points().nth(10).unwrap().value, 10.0);
    }
}
