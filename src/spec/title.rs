//! A scenario's title kept true to its values: a run, a saved file or a sweep's point whose
//! parameters differ from those its title was written for gets a title that says so, once.

use std::ops::Range;

/// `title` for values that changed from those it was written for (`changes`: a parameter's
/// name and its new value as shown). A parameter the title names as `name = value` gets
/// its new value in place (`Random parity, d = 5` at d = 6 is `Random parity, d = 6`); the
/// others are listed at the end, `(name = value, ...)`, in the list the title already ends
/// with if it has one, so that repeated edits and saves never stack stale suffixes.
pub fn retitle(title: &str, changes: &[(String, String)]) -> String {
    let mut t = title.to_string();
    let mut rest = Vec::new();
    for (name, value) in changes {
        match named_value(&t, name) {
            Some(at) => t.replace_range(at, value),
            None => rest.push(format!("{name} = {value}")),
        }
    }
    if rest.is_empty() {
        return t;
    }
    if ends_with_list(&t) {
        t.pop();
        format!("{t}, {})", rest.join(", "))
    } else if t.is_empty() {
        rest.join(", ")
    } else {
        format!("{t} ({})", rest.join(", "))
    }
}

/// Where the value of `name = value` is in `title`: `name` as a whole word, then `=` with
/// or without spaces around it, then the value (a `[..]` list, or up to a space, comma,
/// parenthesis, semicolon or `·`).
fn named_value(title: &str, name: &str) -> Option<Range<usize>> {
    if name.is_empty() {
        return None;
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = title[from..].find(name) {
        let start = from + i;
        let end = start + name.len();
        from = end;
        if title[..start].chars().next_back().is_some_and(word) {
            continue;
        }
        let after = title[end..].trim_start_matches(' ');
        let Some(value) = after.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start_matches(' ');
        let at = title.len() - value.len();
        let len = if value.starts_with('[') {
            value.find(']').map_or(0, |j| j + 1)
        } else {
            value
                .find(|c: char| c.is_whitespace() || matches!(c, ',' | '(' | ')' | ';' | '·'))
                .unwrap_or(value.len())
        };
        if len > 0 {
            return Some(at..at + len);
        }
    }
    None
}

/// True if `title` ends with a parenthesised list of `name = value` (one it was given by
/// [`retitle`], or written that way).
fn ends_with_list(title: &str) -> bool {
    let Some(inner) = title.strip_suffix(')') else {
        return false;
    };
    let Some(open) = inner.rfind('(') else {
        return false;
    };
    let list = &inner[open + 1..];
    let first = list.split('=').next().unwrap_or("").trim();
    list.contains('=')
        && !first.is_empty()
        && first.chars().all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::retitle;

    fn ch(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_value_the_title_names_is_replaced_in_place() {
        let t = "Random parity, d = 5";
        assert_eq!(retitle(t, &ch(&[("d", "6")])), "Random parity, d = 6");
        assert_eq!(
            retitle("E1 d=10 lr=0.1", &ch(&[("lr", "0.5")])),
            "E1 d=10 lr=0.5"
        );
        assert_eq!(
            retitle("k = [1, 2] test", &ch(&[("k", "[3]")])),
            "k = [3] test"
        );
        // a name inside another word is not it
        assert_eq!(
            retitle("Random parity, d_min = 5", &ch(&[("d", "6")])),
            "Random parity, d_min = 5 (d = 6)"
        );
        assert_eq!(retitle("bad = 5", &ch(&[("d", "6")])), "bad = 5 (d = 6)");
    }

    #[test]
    fn other_values_go_to_one_list_at_the_end_that_never_stacks() {
        let once = retitle("Random parity, d = 5", &ch(&[("d_min", "12")]));
        assert_eq!(once, "Random parity, d = 5 (d_min = 12)");
        let twice = retitle(&once, &ch(&[("d_min", "13")]));
        assert_eq!(twice, "Random parity, d = 5 (d_min = 13)");
        let more = retitle(&twice, &ch(&[("lr", "0.1"), ("d", "6")]));
        assert_eq!(more, "Random parity, d = 6 (d_min = 13, lr = 0.1)");
        // a parenthesis that is not such a list stays as it is
        assert_eq!(
            retitle("Random parity, d = 30 (fails)", &ch(&[("lr", "0.1")])),
            "Random parity, d = 30 (fails) (lr = 0.1)"
        );
        assert_eq!(retitle("t", &[]), "t");
    }

    #[test]
    fn set_tells_the_new_value_in_the_title() {
        let text = "experiment = \"E1\"\ntitle = \"Random parity, d = 5\"\n[params]\nd = 5\n";
        let reg = crate::experiments::Registry;
        let mut s = crate::spec::parse_scenario(text, None, &reg).unwrap();
        s.set("d=6", &reg).unwrap();
        s.set("lr=0.2", &reg).unwrap();
        s.set("lr=0.3", &reg).unwrap();
        assert_eq!(s.title, "Random parity, d = 6 (lr = 0.3)");
    }
}
