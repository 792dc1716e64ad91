//! Sweeps from the parameters pane: a parameter given a list of values (`5,10,20,30`) and
//! the seeds field (`3`, `2..5`, `1,4,7`) make the entry's grid; the start key then starts
//! a sweep of it. Lists are read with the command line's words (`--grid`, `--seeds`).

use super::field::Field;
use crate::experiments::Registry;
use crate::spec::sweep::{parse_grid_arg, parse_seeds, Axis};
use crate::spec::Kind;
use crate::tui::panes::scenarios::Entry;

/// True if `text` typed in field `f` is a list of values for a sweep, not one value (a
/// list parameter's own values are separated by commas: its lists are parted by `;`).
fn is_list(f: &Field, text: &str) -> bool {
    match f {
        Field::Param(d) if matches!(d.kind, Kind::IntList { .. }) => text.contains(';'),
        Field::Param(_) => text.contains(','),
        _ => false,
    }
}

/// Seeds as the field shows them: `3 (0..2)` for a count, else the list.
pub fn seeds_text(seeds: &[u64]) -> String {
    let counted = seeds.iter().enumerate().all(|(i, s)| *s == i as u64);
    match seeds {
        [] => String::new(),
        _ if counted && seeds.len() > 1 => format!("{} (0..{})", seeds.len(), seeds.len() - 1),
        _ => seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn axis_text(a: &Axis) -> String {
    a.values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// What the field shows when the grid holds it: the seeds, or a parameter's list.
pub fn shown(e: &Entry, f: &Field) -> Option<String> {
    match f {
        Field::Seeds => Some(
            e.grid
                .seeds
                .as_deref()
                .map(seeds_text)
                .unwrap_or("-".into()),
        ),
        Field::Param(d) => e.grid.axes.iter().find(|a| a.name == d.name).map(axis_text),
        Field::Seed => None,
    }
}

/// The text the field opens with: the list or the seeds, as they would be typed.
pub fn begin_text(e: &Entry, f: &Field) -> Option<String> {
    match f {
        Field::Seeds => Some(
            e.grid
                .seeds
                .as_deref()
                .map(|s| s.iter().map(u64::to_string).collect::<Vec<_>>().join(","))
                .unwrap_or_default(),
        ),
        _ => shown(e, f),
    }
}

/// What typing `text` would do to the grid, if it is the grid's to read: `Ok` with a line
/// to show, or the message.
pub fn verdict(e: &Entry, f: &Field, text: &str) -> Option<Result<String, String>> {
    match f {
        Field::Seeds if text.trim().is_empty() => Some(Ok("one run, with the seed above".into())),
        Field::Seeds => Some(
            parse_seeds(text.trim())
                .map(|s| format!("{} seeds: {}", s.len(), seeds_text(&s)))
                .map_err(|m| format!("seeds: {m}")),
        ),
        Field::Param(d) if is_list(f, text) => Some(
            parse_grid_arg(
                &format!("{}={text}", d.name),
                &e.current.experiment,
                &Registry,
            )
            .map(|a| format!("sweep {} over {} values", a.name, a.values.len()))
            .map_err(|err| err.to_string()),
        ),
        _ => None,
    }
}

/// Enter on `text`: sets the seeds or the parameter's list in the grid. `None` when the
/// text is one value (the caller sets it, and [`forget`] drops the parameter's list).
pub fn commit(e: &mut Entry, f: &Field, text: &str) -> Option<Result<(), String>> {
    let ok = verdict(e, f, text)?;
    Some(ok.map(|_| {
        match f {
            Field::Seeds => {
                e.grid.seeds = parse_seeds(text.trim())
                    .ok()
                    .filter(|_| !text.trim().is_empty())
            }
            Field::Param(d) => {
                if let Ok(axis) = parse_grid_arg(
                    &format!("{}={text}", d.name),
                    &e.current.experiment,
                    &Registry,
                ) {
                    match e.grid.axes.iter_mut().find(|a| a.name == axis.name) {
                        Some(a) => *a = axis,
                        None => e.grid.axes.push(axis),
                    }
                }
            }
            Field::Seed => {}
        }
    }))
}

/// The parameter takes one value again: its list, if any, leaves the grid. True if it had
/// one.
pub fn forget(e: &mut Entry, f: &Field) -> bool {
    let before = (e.grid.axes.len(), e.grid.seeds.is_some());
    match f {
        Field::Seeds => e.grid.seeds = None,
        Field::Param(d) => e.grid.axes.retain(|a| a.name != d.name),
        Field::Seed => {}
    }
    before != (e.grid.axes.len(), e.grid.seeds.is_some())
}
