//! Every document refers only to what a reader can open: a path in backticks that names a
//! file of the repository (under src/, docs/, scripts/, scenarios/, assets/, tests/, benches/,
//! or any `*.md`) must exist in the checkout.

use std::path::{Path, PathBuf};

fn documents(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.join("README.md")];
    for dir in ["docs", "assets", "assets/figures", "scenarios"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    out
}

/// The backticked spans of a markdown text (inline code only; fenced blocks are skipped).
fn code_spans(text: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let parts: Vec<&str> = line.split('`').collect();
        for (i, p) in parts.iter().enumerate() {
            if i % 2 == 1 && i + 1 < parts.len() {
                spans.push(p.to_string());
            }
        }
    }
    spans
}

/// A span that names a repository file: a bare path (no spaces, no placeholder or glob
/// characters) under one of the repository's folders, or ending in `.md`.
fn repo_path(span: &str) -> Option<&str> {
    const ROOTS: [&str; 7] = [
        "src/",
        "docs/",
        "scripts/",
        "scenarios/",
        "assets/",
        "tests/",
        "benches/",
    ];
    let s = span.trim_end_matches(['.', ',', ':']);
    if s.is_empty() || s.contains([' ', '*', '<', '>', '{', '}', '$', '…', '|', '=']) {
        return None;
    }
    let s = s.split(':').next().unwrap_or(s);
    let s = s.strip_prefix("./").unwrap_or(s);
    (ROOTS.iter().any(|r| s.starts_with(r)) || s.ends_with(".md")).then_some(s)
}

#[test]
fn documents_name_only_files_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    for doc in documents(root) {
        let text = std::fs::read_to_string(&doc).unwrap();
        for span in code_spans(&text) {
            let Some(p) = repo_path(&span) else { continue };
            let here = doc.parent().unwrap().join(p);
            let found = root.join(p).exists()
                || here.exists()
                || (p.ends_with(".md")
                    && !p.contains('/')
                    && ["docs", "assets/figures"]
                        .iter()
                        .any(|d| root.join(d).join(p).exists()));
            if !found {
                missing.push(format!(
                    "{}: `{span}`",
                    doc.strip_prefix(root).unwrap().display()
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "documents name files that are not in the repository:\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_missing_file_is_found() {
    assert_eq!(repo_path("EXPERIMENTS.md"), Some("EXPERIMENTS.md"));
    assert_eq!(
        repo_path("src/figures/paper/values.rs"),
        Some("src/figures/paper/values.rs")
    );
    assert_eq!(repo_path("scenarios/*.toml"), None);
    assert_eq!(repo_path("fail-lab run --resume RUN"), None);
    assert_eq!(code_spans("a `b` c `d`"), vec!["b", "d"]);
}

/// The README's section on the paper's figures is the one the committed data under
/// `assets/figures/` gives: its captions, sittings and verdicts are the data's numbers.
#[test]
fn the_readme_figures_section_is_written_from_the_committed_data() {
    use fail_lab::figures::paper::story;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = story::section(&root.join("assets/figures")).unwrap();
    let remade = story::replace_section(&readme, &section).unwrap();
    assert!(
        remade == readme,
        "README.md's figures section differs from what assets/figures/data gives; remake it \
         with `fail-lab plot --paper --data assets/figures --readme README.md`"
    );
}
