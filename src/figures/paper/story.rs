//! The README's section on the paper's figures, written from a figures folder's data so that
//! its numbers are the committed data's: for Figures 1, 3, 4 and 5 the picture, what the paper
//! shows and what fail-lab measured (the figure's caption), then where the figures came from
//! (the sittings of the record that made them, from `data/sittings.csv`) and the verdict
//! table over its seed sets (`data/verdicts.md`), where the folder has them.

use std::path::Path;

/// The line that opens the section in the README.
pub const BEGIN: &str = "<!-- figures: written by `fail-lab plot --paper --data assets/figures \
                         --readme README.md` from the data under assets/figures/ -->";
/// The line that closes it.
pub const END: &str = "<!-- end of figures -->";

/// The figures the README shows, each with what the paper shows in it.
const SHOWN: &[(u32, &str)] = &[
    (
        1,
        "a random parity of d bits is learned at d = 5 (2,100 iterations) and d = 10 \
         (about 9,500), and at d = 30 accuracy stays at chance, mean 0.500 over 50,000 \
         iterations",
    ),
    (
        3,
        "end to end learns k = 1 and 2 and stays at chance for k = 3 and 4 (0.48 and 0.49) for \
         all 20,000 iterations, while decomposition learns every k within about 500 (0.95, \
         0.91, 0.86, 0.84)",
    ),
    (
        4,
        "the decomposition's estimator reaches the loss -1 for k = 10, 1000 and 2000; end to \
         end gets there only at k = 10 and ends near -0.29 and -0.24 at k = 1000 and 2000",
    ),
    (
        5,
        "at initialisation the end-to-end gradient's SNR is that of decomposition at k = 1 and \
         falls to under 0.2% of it from k = 2 on, while decomposition's stays flat",
    ),
];

/// One figure's title and caption line, from `dir/data/figure-N.json`.
fn title_and_caption(dir: &Path, n: u32) -> Result<(String, String), String> {
    let path = dir.join("data").join(format!("figure-{n}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let title = v["title"].as_str().unwrap_or_default().to_string();
    let caption = v["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str()?.strip_prefix("Caption: "))
        .next()
        .ok_or_else(|| format!("{}: no caption among its notes", path.display()))?
        .to_string();
    Ok((title, caption))
}

/// `s` seconds as `3 h 05 min` or `12 min`.
fn hours(s: f64) -> String {
    let m = (s / 60.0).round() as u64;
    if m >= 60 {
        format!("{} h {:02} min", m / 60, m % 60)
    } else {
        format!("{m} min")
    }
}

/// The paragraph on where the figures came from: the record's sittings, summed.
fn provenance(dir: &Path) -> Result<String, String> {
    let path = dir.join("data").join("sittings.csv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(
            "These figures are not the full record (no `data/sittings.csv` beside \
                   them): each caption gives the iterations and seeds of its runs. The full \
                   record is `scripts/full-record.sh`."
                .into(),
        );
    };
    let (mut sittings, mut wall, mut cpu, mut cpu_unknown) = (0, 0.0, 0.0, 0);
    let mut machines: Vec<String> = Vec::new();
    let mut commits: Vec<String> = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        // started,commit,cores,"cpu",wall_s,cpu_s,runs_finished (the CPU's name is quoted)
        let (head, rest) = line
            .split_once(",\"")
            .ok_or_else(|| format!("{}: cannot read {line:?}", path.display()))?;
        let (model, tail) = rest
            .split_once("\",")
            .ok_or_else(|| format!("{}: cannot read {line:?}", path.display()))?;
        let head: Vec<&str> = head.split(',').collect();
        let tail: Vec<&str> = tail.split(',').collect();
        if head.len() != 3 || tail.len() != 3 {
            return Err(format!("{}: cannot read {line:?}", path.display()));
        }
        sittings += 1;
        wall += tail[0].parse::<f64>().unwrap_or(0.0);
        match tail[1].parse::<f64>() {
            Ok(c) => cpu += c,
            Err(_) => cpu_unknown += 1,
        }
        let machine = format!("{} cores of {model}", head[2]);
        if !machines.contains(&machine) {
            machines.push(machine);
        }
        if !commits.iter().any(|c| c == head[1]) {
            commits.push(head[1].to_string());
        }
    }
    let cpu_text = match cpu_unknown {
        0 => format!("{} of CPU", hours(cpu)),
        n => format!(
            "{} of CPU in the {} sittings that measured it",
            hours(cpu),
            sittings - n
        ),
    };
    Ok(format!(
        "The full record: every run at the paper's budgets, three seed sets, made by \
         `scripts/full-record.sh` in {sittings} sitting{} on {} ({} of wall time, {cpu_text}; \
         commits {}; each sitting in [data/sittings.csv](assets/figures/data/sittings.csv)). \
         The same command remakes it.",
        if sittings == 1 { "" } else { "s" },
        machines.join(" and "),
        hours(wall),
        commits.join(", "),
    ))
}

/// The section, from the figures folder `dir` (`assets/figures`), its links relative to the
/// README at the repository's top.
pub fn section(dir: &Path) -> Result<String, String> {
    let mut out = vec![BEGIN.to_string(), String::new()];
    for &(n, paper) in SHOWN {
        let (title, caption) = title_and_caption(dir, n)?;
        out.push(format!("**{title}**"));
        out.push(String::new());
        out.push(format!("![Figure {n}](assets/figures/figure-{n}.png)"));
        out.push(String::new());
        out.push(format!("The paper: {paper}. fail-lab: {caption}"));
        out.push(String::new());
    }
    out.push(provenance(dir)?);
    out.push(String::new());
    let verdicts = dir.join("data").join("verdicts.md");
    if let Ok(text) = std::fs::read_to_string(&verdicts) {
        out.push("The verdict table of that record, each check over its seed sets:".into());
        out.push(String::new());
        out.push(text.trim().to_string());
        out.push(String::new());
    }
    out.push(
        "All six figures, each with its data, are in \
         [assets/figures/figures.md](assets/figures/figures.md)."
            .into(),
    );
    out.push(END.to_string());
    Ok(out.join("\n"))
}

/// `readme` with the text between [`BEGIN`] and [`END`] (both kept) replaced by `section`.
pub fn replace_section(readme: &str, section: &str) -> Result<String, String> {
    let start = readme
        .find(BEGIN)
        .ok_or_else(|| format!("no line {BEGIN:?} to start the figures' section at"))?;
    let end = readme[start..]
        .find(END)
        .map(|e| start + e + END.len())
        .ok_or_else(|| format!("no line {END:?} after {BEGIN:?}"))?;
    Ok(format!("{}{section}{}", &readme[..start], &readme[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str, sittings: Option<&str>) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("fail-lab-story-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        for (n, _) in SHOWN {
            let json = serde_json::json!({
                "title": format!("Figure {n} · something"),
                "notes": ["diamonds", format!("Caption: budget {n}0 iterations, 3 seeds. d = 5: 1.")],
                "panels": [],
            });
            std::fs::write(dir.join(format!("data/figure-{n}.json")), json.to_string()).unwrap();
        }
        if let Some(s) = sittings {
            std::fs::write(dir.join("data/sittings.csv"), s).unwrap();
        }
        dir
    }

    #[test]
    fn the_section_gives_each_figure_its_caption_and_sums_the_sittings() {
        let dir = folder(
            "sum",
            Some(
                "started,commit,cores,cpu,wall_s,cpu_s,runs_finished\n\
                 2026-12-06T22:46:56Z,aaa,2,\"AMD EPYC\",733,,\n\
                 2026-12-06T22:59:00Z,bbb,2,\"AMD EPYC\",7200,14000,r1 r2\n\
                 2026-12-07T10:00:00Z,bbb,16,\"Intel Xeon, 2.1 GHz\",3600,50000,r3\n",
            ),
        );
        let s = section(&dir).unwrap();
        assert!(s.starts_with(BEGIN) && s.ends_with(END), "{s}");
        for n in [1, 3, 4, 5] {
            assert!(
                s.contains(&format!("![Figure {n}](assets/figures/figure-{n}.png)")),
                "{s}"
            );
            assert!(
                s.contains(&format!("fail-lab: budget {n}0 iterations, 3 seeds.")),
                "{s}"
            );
        }
        assert!(!s.contains("figure-6.png"), "{s}");
        assert!(
            s.contains("in 3 sittings on 2 cores of AMD EPYC and 16 cores of Intel Xeon, 2.1 GHz"),
            "{s}"
        );
        // 733 + 7200 + 3600 s of wall; the CPU of the two sittings that measured it
        assert!(
            s.contains(
                "(3 h 12 min of wall time, 17 h 47 min of CPU in the 2 sittings that measured it;"
            ),
            "{s}"
        );
        assert!(s.contains("commits aaa, bbb;"), "{s}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_sittings_the_section_says_it_is_not_the_record() {
        let dir = folder("quick", None);
        let s = section(&dir).unwrap();
        assert!(s.contains("not the full record"), "{s}");
        std::fs::remove_file(dir.join("data/figure-3.json")).unwrap();
        let e = section(&dir).unwrap_err();
        assert!(e.contains("figure-3.json"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_section_replaces_only_what_lies_between_its_markers() {
        let readme = format!("# top\n\n{BEGIN}\nold\n{END}\n\n## after\n");
        let new = replace_section(&readme, &format!("{BEGIN}\nnew\n{END}")).unwrap();
        assert_eq!(new, format!("# top\n\n{BEGIN}\nnew\n{END}\n\n## after\n"));
        assert!(replace_section("# top\n", "x")
            .unwrap_err()
            .contains("no line"));
    }
}
