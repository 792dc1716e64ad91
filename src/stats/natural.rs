//! Natural order for names with numbers in them: `d4` before `d10`, `ratio_k2` before
//! `ratio_k16`, `steps_to_0.5` before `steps_to_0.75`; letters without regard to case
//! (`d = 5` < `D = 7` < `d = 10`), the case breaking ties only.

use std::cmp::Ordering;

/// Compares `a` and `b` piece by piece, runs of digits by their value.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (pieces(a), pieces(b));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let number = |s: &str| {
                    s.starts_with(|c: char| c.is_ascii_digit())
                        .then(|| s.parse::<f64>().ok())
                        .flatten()
                };
                let o = match (number(p), number(q)) {
                    (Some(m), Some(n)) => m.total_cmp(&n),
                    _ => p.to_lowercase().cmp(&q.to_lowercase()),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// The numbers (`12`, `0.75`) and the runs of other characters of `s`, in turn.
fn pieces(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let digit = first.is_ascii_digit();
        let mut end = rest
            .find(|c: char| c.is_ascii_digit() != digit)
            .unwrap_or(rest.len());
        // a decimal point followed by a digit goes on with the number
        let b = rest.as_bytes();
        if digit && b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end += 1 + rest[end + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - end - 1);
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_names_sort_by_value() {
        let mut v = vec!["d10", "d4", "ratio_k16", "d", "ratio_k2", "d4x", "a"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["a", "d", "d4", "d4x", "d10", "ratio_k2", "ratio_k16"]);
        assert_eq!(
            natural_cmp("steps_to_0.99", "steps_to_0.95"),
            Ordering::Greater
        );
        assert_eq!(
            natural_cmp("steps_to_0.5", "steps_to_0.25"),
            Ordering::Greater
        );
        assert_eq!(natural_cmp("lr=0.05", "lr=0.1"), Ordering::Less);
        assert_eq!(
            natural_cmp("x01", "x1"),
            Ordering::Less,
            "ties broken by the text"
        );
        let mut t = vec!["d = 30", "d = 5", "d = 10", "D = 7"];
        t.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(t, vec!["d = 5", "D = 7", "d = 10", "d = 30"]);
    }
}
