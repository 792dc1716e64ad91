//! The presets built into the binary (every `scenarios/*.toml` of the source tree, by
//! `build.rs`), and the scenarios folder read over them: a file in the folder takes
//! precedence over the built-in preset of the same name, so `fail-lab` works from any
//! directory and a user's edits win.

use std::path::{Path, PathBuf};

use super::{parse_scenario, Catalog, Scenario, SpecError};

include!(concat!(env!("OUT_DIR"), "/presets.rs"));

/// The built-in presets: file name and text, in name order.
pub fn built_in() -> &'static [(&'static str, &'static str)] {
    BUILT_IN
}

/// The text of the built-in preset `name` (`e1-parity-d5.toml`, or without `.toml`).
pub fn built_in_text(name: &str) -> Option<&'static str> {
    let with = if name.ends_with(".toml") {
        name.to_string()
    } else {
        format!("{name}.toml")
    };
    BUILT_IN.iter().find(|(n, _)| *n == with).map(|(_, t)| *t)
}

/// Where a preset comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file of the scenarios folder.
    Folder(PathBuf),
    /// Built into the binary, under this file name (none of that name in the folder).
    BuiltIn(&'static str),
}

impl Origin {
    /// `e1-parity.toml` or `e1-parity.toml (built in)`.
    pub fn label(&self) -> String {
        match self {
            Origin::Folder(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default(),
            Origin::BuiltIn(n) => format!("{n} (built in)"),
        }
    }

    /// The file this preset is (or, built in, would be saved as) in `dir`.
    pub fn path_in(&self, dir: &Path) -> PathBuf {
        match self {
            Origin::Folder(p) => p.clone(),
            Origin::BuiltIn(n) => dir.join(n),
        }
    }
}

/// The presets of the folder `dir` (every `*.toml`, read and checked) and the built-in
/// ones it has no file of the same name for, by file name. A folder that cannot be read
/// gives the built-in presets alone.
pub fn read(dir: &Path, catalog: &dyn Catalog) -> Vec<(Origin, Result<Scenario, SpecError>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out: Vec<(Origin, Result<Scenario, SpecError>)> = files
        .into_iter()
        .map(|f| {
            let s = super::load_scenario(&f, catalog);
            (Origin::Folder(f), s)
        })
        .collect();
    for (name, text) in BUILT_IN {
        let shadowed = out.iter().any(
            |(o, _)| matches!(o, Origin::Folder(p) if p.file_name().is_some_and(|f| f == *name)),
        );
        if !shadowed {
            let file = format!("{name} (built in)");
            out.push((
                Origin::BuiltIn(name),
                parse_scenario(text, Some(&file), catalog),
            ));
        }
    }
    out.sort_by(|a, b| a.0.label().cmp(&b.0.label()));
    out
}

/// Which presets a folder gives: the folder read, or where it was looked for and how to
/// point at another.
pub fn where_from(dir: &Path) -> String {
    if dir.is_dir() {
        format!(
            "presets in {}/ (its files take precedence over the built-in presets of the same name)",
            dir.display()
        )
    } else {
        let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        format!(
            "no scenarios folder at {}: the presets built into fail-lab (`--scenarios DIR` reads \
             another folder)",
            abs.display()
        )
    }
}

/// The text of a scenario file; when `path` does not exist and its file name is that of a
/// built-in preset, the preset's text (so `fail-lab run scenarios/e1-parity-d5.toml` works
/// outside a checkout). Gives the text and the name its messages use.
pub fn read_text(path: &Path) -> Result<(String, String), SpecError> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(t) => Ok((t, file)),
        Err(e) => {
            let name = path.file_name().map(|n| n.to_string_lossy().to_string());
            match name.as_deref().and_then(built_in_text) {
                Some(t) if e.kind() == std::io::ErrorKind::NotFound => Ok((
                    t.to_string(),
                    format!("{} (built in)", name.unwrap_or_default()),
                )),
                _ => Err(SpecError::new(format!("cannot read the file: {e}")).in_file(Some(file))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::Registry;

    #[test]
    fn every_preset_is_built_in_and_reads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let on_disk = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "toml")
            })
            .count();
        assert_eq!(built_in().len(), on_disk);
        // from nowhere: the built-in presets alone, each one valid
        let all = read(Path::new("/nonexistent/fail-lab"), &Registry);
        assert_eq!(all.len(), on_disk);
        assert!(all
            .iter()
            .all(|(o, s)| matches!(o, Origin::BuiltIn(_)) && s.is_ok()));
    }

    #[test]
    fn a_folder_file_takes_precedence_over_the_built_in_one() {
        let dir = std::env::temp_dir().join(format!("fail-lab-presets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("e1-parity-d5.toml"),
            "experiment = \"E1\"\ntitle = \"mine\"\n",
        )
        .unwrap();
        let all = read(&dir, &Registry);
        let d5: Vec<_> = all
            .iter()
            .filter(|(o, _)| o.label().starts_with("e1-parity-d5.toml"))
            .collect();
        assert_eq!(d5.len(), 1);
        assert_eq!(d5[0].0, Origin::Folder(dir.join("e1-parity-d5.toml")));
        assert_eq!(d5[0].1.as_ref().unwrap().title, "mine");
        assert_eq!(all.len(), built_in().len());
        // a missing path named like a preset reads the built-in copy
        let (text, name) = read_text(Path::new("/elsewhere/e1-parity.toml")).unwrap();
        assert!(text.contains("experiment") && name == "e1-parity.toml (built in)");
        let err = read_text(Path::new("/elsewhere/mine.toml")).unwrap_err();
        assert!(err.to_string().contains("cannot read the file"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
