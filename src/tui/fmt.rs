//! Short, stable renderings of numbers, counts and durations for narrow table cells.

/// A metric value in at most about 7 characters: `0.9431`, `12.35`, `1.2e-5`, `3.4e6`.
pub fn value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    let s = if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.1e}");
        // 1.0e-5 -> 1e-5
        s.replace(".0e", "e")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    };
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A value in at most 3 or 4 characters, two significant digits: `.49`, `.05`, `1`, `12`,
/// `-.3`, `3e4`, for two or three values side by side in a narrow cell.
pub fn tiny(v: f64) -> String {
    if !v.is_finite() {
        return value(v);
    }
    let a = v.abs();
    let sign = if v < 0.0 { "-" } else { "" };
    let s = if a == 0.0 {
        "0".to_string()
    } else if !(0.01..100.0).contains(&a) {
        let s = format!("{a:.0e}");
        s.replace("e0", "")
    } else if a < 1.0 {
        let s = format!("{a:.2}");
        s.trim_start_matches('0')
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        let s = format!("{a:.1}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    let s = if s.is_empty() { "0".into() } else { s };
    format!("{sign}{s}")
}

/// A step count: `950`, `12.4k`, `50k`, `1.2M`.
pub fn count(n: u64) -> String {
    fn short(x: f64, unit: &str) -> String {
        let s = if x >= 100.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.1}")
        };
        format!("{}{unit}", s.trim_end_matches(".0"))
    }
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => short(n as f64 / 1e3, "k"),
        1_000_000..=999_999_999 => short(n as f64 / 1e6, "M"),
        _ => short(n as f64 / 1e9, "G"),
    }
}

/// A rate in steps per second, in at most 7 characters: `850/s`, `4.3k/s`, `3.4/s`, and
/// per minute below one a second (`24/min`, `0.6/min`), where `0.0/s` would say nothing.
pub fn rate(r: f64) -> String {
    if !r.is_finite() || r <= 0.0 {
        return String::new();
    }
    if r < 1.0 {
        let m = r * 60.0;
        if m < 10.0 {
            format!("{m:.1}/min")
        } else {
            format!("{m:.0}/min")
        }
    } else if r < 10.0 {
        format!("{r:.1}/s")
    } else {
        format!("{}/s", count(r.round() as u64))
    }
}

/// A duration: `9s`, `4m05s`, `2h10m`, `3d4h`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return String::new();
    }
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Cuts `s` to at most `width` characters, marking the cut with `…`.
pub fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Cuts `s` to at most `width` characters in the middle, keeping its end, which tells
/// similar names apart: `grad_snr/layer1_w` -> `grad_s…ayer1_w`.
pub fn clip_middle(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    if width < 5 {
        return clip(s, width);
    }
    let head = (width - 1) / 2;
    let tail = width - head - 1;
    let start: String = s.chars().take(head).collect();
    let end: String = s.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

/// Cuts each of `names` to at most `width` characters as [`clip_middle`] does, moving the
/// cut of a name whose middle cut another name shares: `dec/test_accuracy` and
/// `dec/image_accuracy` in 8 columns are `dec/t…cy` and `dec/i…cy`, not `dec…racy` twice.
/// Where one cut cannot tell two names apart (`…/n1.dense1.b`, `…/n2.dense1.b`), a second
/// cut keeps the part where they differ.
pub fn clip_distinct(names: &[&str], width: usize) -> Vec<String> {
    let chars: Vec<Vec<char>> = names.iter().map(|n| n.chars().collect()).collect();
    // head, then (start, length) of a kept piece in the middle, then tail
    let cut = |c: &[char], head: usize, piece: Option<(usize, usize)>, tail: usize| -> String {
        let mut out: String = c[..head].iter().collect();
        out.push('…');
        if let Some((a, m)) = piece {
            out.extend(&c[a..a + m]);
            out.push('…');
        }
        out.extend(&c[c.len() - tail..]);
        out
    };
    let fits = |c: &[char], head: usize, piece: Option<(usize, usize)>, tail: usize| match piece {
        None => head + tail < c.len(),
        Some((a, m)) => head < a && a + m < c.len() - tail,
    };
    let mid = width.saturating_sub(1) / 2;
    (0..names.len())
        .map(|i| {
            let c = &chars[i];
            if c.len() <= width || width < 5 {
                return clip_middle(names[i], width);
            }
            let unique = |head: usize, piece: Option<(usize, usize)>, tail: usize| {
                let me = cut(c, head, piece, tail);
                let clash = (0..names.len()).any(|j| {
                    j != i
                        && chars[j].len() > width
                        && fits(&chars[j], head, piece, tail)
                        && cut(&chars[j], head, piece, tail) == me
                });
                (!clash).then_some(me)
            };
            // one cut: after the method's prefix (`dec/…/n1.dense1.w`) when it is short, the
            // middle first, then more of the head, then more of the tail
            let prefix = c
                .iter()
                .position(|&ch| ch == '/')
                .map(|p| p + 1)
                .filter(|&p| p <= mid);
            for h in prefix.into_iter().chain(mid..width).chain((1..mid).rev()) {
                if let Some(s) = unique(h, None, width - 1 - h) {
                    return s;
                }
            }
            // two cuts: a short head and tail, and a piece between them
            if width >= 7 {
                let (h, t) = (2, 2);
                let m = width - 2 - h - t;
                for a in h + 1..c.len().saturating_sub(t + m) {
                    if let Some(s) = unique(h, Some((a, m)), t) {
                        return s;
                    }
                }
            }
            clip_middle(names[i], width)
        })
        .collect()
}

/// `s` whole when it fits in `width`; else its first whole parts (between `sep`s, a word or a
/// choice) and a `…` of its own after a separator, so that no part looks whole that is not:
/// `random-number seed; …`, `sgd|adam|…`. None when not even the first part fits.
pub fn whole_parts(s: &str, sep: char, width: usize) -> Option<String> {
    if s.chars().count() <= width {
        return Some(s.to_string());
    }
    let parts: Vec<&str> = s
        .split(sep)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let glue = if sep == ' ' {
        " ".to_string()
    } else {
        sep.to_string()
    };
    let mut best = None;
    for k in 1..parts.len() {
        let text = format!("{}{glue}…", parts[..k].join(&glue));
        if text.chars().count() > width {
            break;
        }
        best = Some(text);
    }
    best
}

/// A line in rows of at most `w` characters, broken between words (a word longer than a
/// row is broken where the row ends).
pub fn wrap_words(line: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut rows = vec![String::new()];
    for word in line.split(' ') {
        let last = rows.last_mut().expect("one row at least");
        let used = last.chars().count();
        let len = word.chars().count();
        if used > 0 && used + 1 + len <= w {
            last.push(' ');
            last.push_str(word);
            continue;
        }
        if used == 0 && len <= w {
            last.push_str(word);
            continue;
        }
        let chars: Vec<char> = word.chars().collect();
        let mut pieces = chars.chunks(w).map(|c| c.iter().collect::<String>());
        if used > 0 {
            rows.push(String::new());
        }
        if let Some(first) = pieces.next() {
            *rows.last_mut().expect("one row at least") = first;
        }
        rows.extend(pieces);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_short_and_readable() {
        assert_eq!(value(0.94312), "0.9431");
        assert_eq!(value(1.0), "1");
        assert_eq!(value(12.345), "12.35");
        assert_eq!(value(250.0), "250");
        assert_eq!(value(1.2e-5), "1.2e-5");
        assert_eq!(value(1e-5), "1e-5");
        assert_eq!(value(3.4e6), "3.4e6");
        assert_eq!(value(-0.5), "-0.5");
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(value(f64::NEG_INFINITY), "-inf");
        for v in [0.123456789, 99.999, 12345.678, -1.5e-9, 7e12] {
            assert!(value(v).len() <= 8, "{v} -> {}", value(v));
        }
    }

    #[test]
    fn tiny_values_fit_side_by_side() {
        assert_eq!(tiny(0.485), ".48");
        assert_eq!(tiny(0.94), ".94");
        assert_eq!(tiny(0.9), ".9");
        assert_eq!(tiny(1.0), "1");
        assert_eq!(tiny(12.34), "12.3");
        assert_eq!(tiny(-0.3), "-.3");
        assert_eq!(tiny(0.0), "0");
        assert_eq!(tiny(0.004), "4e-3");
        assert_eq!(tiny(31_000.0), "3e4");
        for v in [0.123, 0.999, 5.55, 99.9, 0.0123, -0.5] {
            assert!(tiny(v).chars().count() <= 4, "{v} -> {}", tiny(v));
        }
    }

    #[test]
    fn counts_rates_and_durations() {
        assert_eq!(count(950), "950");
        assert_eq!(count(12_400), "12.4k");
        assert_eq!(count(50_000), "50k");
        assert_eq!(count(250_000), "250k");
        assert_eq!(count(1_200_000), "1.2M");
        assert_eq!(rate(4321.0), "4321/s");
        assert_eq!(rate(43_210.0), "43.2k/s");
        assert_eq!(rate(2.5), "2.5/s");
        assert_eq!(rate(0.0), "");
        // slow runs (E2 trains at a few steps a second) still say something
        assert_eq!(rate(0.4), "24/min");
        assert_eq!(rate(0.01), "0.6/min");
        for r in [0.001, 0.4, 3.7, 9.99, 4321.0, 43_210.0, 9.9e6] {
            assert!(rate(r).chars().count() <= 7, "{r} -> {}", rate(r));
        }
        assert_eq!(duration(9.4), "9s");
        assert_eq!(duration(245.0), "4m05s");
        assert_eq!(duration(7800.0), "2h10m");
        assert_eq!(duration(f64::INFINITY), "");
    }

    #[test]
    fn names_cut_to_a_narrow_column_stay_apart() {
        let names = [
            "dec/test_accuracy",
            "dec/image_accuracy",
            "dec/grad_snr/conv1.w",
            "dec/grad_snr/conv1.b",
            "dec/grad_snr/n1.dense1.b",
            "dec/grad_snr/n2.dense1.b",
            "e2e/test_accuracy",
        ];
        let cut = clip_distinct(&names, 8);
        assert_eq!(cut[0], "dec/t…cy");
        assert_eq!(cut[1], "dec/i…cy");
        for (i, a) in cut.iter().enumerate() {
            assert!(a.chars().count() <= 8, "{a}");
            for b in &cut[i + 1..] {
                assert_ne!(a, b, "{cut:?}");
            }
        }
        // names that fit, or whose middle cut is theirs alone, are as clip_middle cuts them
        assert_eq!(
            clip_distinct(&["loss", "test_accuracy"], 10),
            ["loss", "test…uracy"]
        );
    }

    #[test]
    fn a_cut_name_keeps_its_method_and_its_tail() {
        let names = [
            "e2e/grad_snr/n1.dense1.w",
            "e2e/grad_snr/n2.dense1.w",
            "dec/grad_snr/conv1.b",
            "dec/test_accuracy",
        ];
        assert_eq!(
            clip_distinct(&names, 17),
            [
                "e2e/…/n1.dense1.w",
                "e2e/…/n2.dense1.w",
                "dec/…_snr/conv1.b",
                "dec/test_accuracy"
            ]
        );
    }

    #[test]
    fn whole_parts_never_cut_a_word_or_a_choice() {
        let help = "random-number seed; empty or \"random\" draws a fresh one per run";
        assert_eq!(whole_parts(help, ' ', 14), None);
        assert_eq!(whole_parts(help, ' ', 21).unwrap(), "random-number seed; …");
        assert_eq!(whole_parts(help, ' ', 80).unwrap(), help);
        assert_eq!(
            whole_parts("sgd|adam|adagrad", '|', 14).unwrap(),
            "sgd|adam|…"
        );
        assert_eq!(whole_parts("0.. | random", '|', 8).unwrap(), "0..|…");
        assert_eq!(
            whole_parts("0.. | random", '|', 12).unwrap(),
            "0.. | random"
        );
        for w in 0..30 {
            if let Some(t) = whole_parts(help, ' ', w) {
                assert!(t.chars().count() <= w, "{w}: {t}");
                let kept = t.trim_end_matches('…').trim_end();
                assert!(help.starts_with(kept), "{w}: {t}");
                assert!(
                    help[kept.len()..].starts_with(' '),
                    "cut inside a word: {t}"
                );
            }
        }
    }

    #[test]
    fn clip_and_natural_order() {
        assert_eq!(clip_middle("grad_snr/layer1_w", 14), "grad_s…ayer1_w");
        assert_eq!(clip_middle("test_accuracy", 10), "test…uracy");
        assert_eq!(clip_middle("short", 14), "short");
        assert_eq!(clip_middle("abcdefgh", 4), "abc…");
        assert_eq!(clip_middle("abcdefgh", 7).chars().count(), 7);
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        assert_eq!(clip("abc", 0), "");
    }
}
