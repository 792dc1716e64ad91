//! The tree's short whole names: an experiment's id and a short name, a scenario's title
//! without the words its siblings share.

use super::Scenarios;

/// An experiment's row in `room` characters: its id and name, or its id and the name's head
/// (`E10 staircase` for "staircase: four methods compared"), or its id alone; the params
/// pane names it whole.
pub fn experiment_text(id: &str, name: &str, room: usize) -> String {
    let full = format!("{id} {name}");
    if full.chars().count() <= room {
        return full;
    }
    let head = name.split([':', ',', '(']).next().unwrap_or("").trim();
    let short = format!("{id} {head}");
    if !head.is_empty() && head != name && short.chars().count() <= room {
        short
    } else {
        id.to_string()
    }
}

/// A scenario's title in the tree, without the words it shares with its siblings
/// ("Random parity, d = 5" under E1 shows as "d = 5" when "d = 10" sits next to it).
pub fn tree_title(s: &Scenarios, k: usize) -> String {
    let title = s.entries[k].current.title.as_str();
    let siblings: Vec<&str> = s
        .scenarios_of(&s.entries[k].current.experiment)
        .into_iter()
        .filter(|&i| s.entries[i].path.is_some())
        .map(|i| s.entries[i].current.title.as_str())
        .collect();
    if siblings.len() < 2 {
        return title.to_string();
    }
    // the longest common prefix that ends at a word boundary
    let mut common = siblings[0].len();
    for other in &siblings[1..] {
        common = common.min(
            siblings[0]
                .char_indices()
                .zip(other.chars())
                .take_while(|((_, a), b)| a == b)
                .last()
                .map(|((i, c), _)| i + c.len_utf8())
                .unwrap_or(0),
        );
    }
    let prefix = &siblings[0][..common];
    // cut after the last ", " or ": " of the shared words
    let cut = [", ", ": ", " - ", " · "]
        .iter()
        .filter_map(|sep| prefix.rfind(sep).map(|i| i + sep.len()))
        .max()
        .unwrap_or(0);
    let rest = title.get(cut..).unwrap_or(title).trim_start();
    if cut == 0 || rest.is_empty() || siblings.iter().any(|t| t.len() <= cut) {
        title.to_string()
    } else {
        rest.to_string()
    }
}
