//! Why a run ended badly, as its row says it in a short whole form and the chart's note says
//! it whole.

use crate::engine::{RunState, Status};
use crate::tui::fmt;

/// Why a run ended badly, in its row, in `w` columns, after `label` (its status, where the
/// row has no status column): whole (`at 1.2k: loss is NaN`), or a short whole form
/// (`at 1.2k: NaN`, `failed: NaN`, `failed at 1.2k`, `failed`), or nothing; the chart's note
/// above the run's data has it whole.
pub(crate) fn reason_text(step: u64, reason: &str, label: Option<&str>, w: usize) -> String {
    // `at step 1200: ...`, as a diverged run's reason reads
    let (at, body) = match reason
        .strip_prefix("at step")
        .and_then(|r| r.split_once(':'))
    {
        Some((n, body)) => (n.trim().parse::<u64>().ok(), body.trim()),
        None => ((step > 0).then_some(step), reason),
    };
    let at = at.map(|n| format!("at {}", fmt::count(n)));
    let lower = body.to_lowercase();
    let kind = if lower.contains("nan") {
        Some("NaN")
    } else if lower.contains("inf") {
        Some("inf")
    } else {
        None
    };
    let head = |parts: &[Option<&str>]| -> String {
        parts
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let said = |head: String, what: &str| {
        if head.is_empty() {
            what.to_string()
        } else {
            format!("{head}: {what}")
        }
    };
    let mut forms = vec![said(head(&[label, at.as_deref()]), body)];
    if let Some(k) = kind {
        forms.push(said(head(&[label, at.as_deref()]), k));
        forms.push(said(head(&[label]), k));
    }
    forms.push(head(&[label, at.as_deref()]));
    forms.extend(label.map(String::from));
    forms
        .into_iter()
        .find(|f| f.chars().count() <= w)
        .unwrap_or_default()
}

/// What the chart and figure panes say above a run's data: why it ended badly, or which
/// process trains it.
pub fn status_note(s: &RunState) -> Option<String> {
    match (s.status, &s.reason, &s.owner) {
        (Status::Diverged | Status::Failed | Status::Interrupted, Some(reason), _) => {
            Some(format!("{}: {reason}", s.status.label()))
        }
        (Status::Elsewhere, _, Some(owner)) => Some(format!(
            "{} in {}; read from its files as they grow",
            s.status.label(),
            owner.describe()
        )),
        _ => None,
    }
}

/// The status note in rows of `width` characters, broken between words, three at most (a
/// reason that long ends in `…`): the chart's note above the run's data.
pub fn note_rows(s: &RunState, width: u16) -> Vec<String> {
    let Some(note) = status_note(s) else {
        return Vec::new();
    };
    let mut rows = fmt::wrap_words(&note, width as usize);
    if rows.len() > 3 {
        rows.truncate(3);
        let mut words: Vec<&str> = rows[2].split(' ').collect();
        while words.len() > 1 && words.join(" ").chars().count() + 2 > width as usize {
            words.pop();
        }
        rows[2] = format!("{} …", words.join(" "));
    }
    rows
}
