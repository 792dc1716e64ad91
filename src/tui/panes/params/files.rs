//! The edited scenario and the scenarios folder: its checks across parameters, and the file
//! it is saved as (a free name suggested, a typed name checked).

use std::path::{Path, PathBuf};

use crate::experiments;
use crate::spec::Scenario;

use crate::tui::panes::scenarios::Entry;

/// The checks across parameters (e.g. `subset_size <= d`) for the edited values.
pub fn cross_check(s: &Scenario) -> Result<(), String> {
    match experiments::find(&s.experiment) {
        Some(def) => (def.validate)(&s.params),
        None => Err(format!("unknown experiment \"{}\"", s.experiment)),
    }
}

/// A file name for saving an edited scenario: `<origin stem>-<changes>.toml`, free in `dir`.
pub fn suggest_file_name(
    dir: &Path,
    origin: Option<&Path>,
    s: &Scenario,
    original: &Scenario,
) -> String {
    let stem = origin
        .and_then(|p| p.file_stem())
        .map(|x| x.to_string_lossy().to_string())
        .unwrap_or_else(|| s.experiment.to_lowercase());
    let changes: Vec<String> = original
        .params
        .differing(&s.params)
        .iter()
        .take(3)
        .map(|k| {
            let v = s.params.get(k).map(|v| v.to_string()).unwrap_or_default();
            let v: String = v
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            format!("{k}{v}")
        })
        .collect();
    let base = if changes.is_empty() {
        format!("{stem}-copy")
    } else {
        format!("{stem}-{}", changes.join("-"))
    };
    let base: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    for n in 1..1000 {
        let name = if n == 1 {
            format!("{base}.toml")
        } else {
            format!("{base}-{n}.toml")
        };
        if !dir.join(&name).exists() {
            return name;
        }
    }
    format!("{base}-new.toml")
}

/// The scenario as it is saved to `path`: the edited values, with a title that tells
/// them (see [`crate::spec::retitle`]).
pub fn saved_copy(entry: &Entry, path: &Path) -> Scenario {
    let mut s = entry.as_run();
    s.source = Some(path.display().to_string());
    s
}

/// The text of the file a save writes: the scenario and, when the editor holds lists of
/// values or seeds, its `[sweep]` table, so that the file reads back as the editor held it.
pub fn saved_text(entry: &Entry, s: &Scenario) -> String {
    format!("{}{}", s.to_toml(), entry.grid.to_toml())
}

/// Checks a file name typed for a save: a plain name in the scenarios folder, not taken.
pub fn check_file_name(dir: &Path, text: &str) -> Result<PathBuf, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("type a file name".into());
    }
    if t.contains('/') || t.contains('\\') || t.starts_with('.') {
        return Err(format!(
            "a plain file name, saved in {}/ (no folders)",
            dir.display()
        ));
    }
    let name = if t.ends_with(".toml") {
        t.to_string()
    } else {
        format!("{t}.toml")
    };
    let path = dir.join(&name);
    if path.exists() {
        return Err(format!("{name} exists; choose another name"));
    }
    Ok(path)
}
