use super::*;

fn presets() -> Scenarios {
    Scenarios::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
}

#[test]
fn presets_sit_under_their_family_and_experiment_in_natural_order() {
    let s = presets();
    let rows = s.rows();
    assert_eq!(rows[0].node, Node::Family(Family::Parities));
    assert_eq!(rows[1].node, Node::Experiment("E1"));
    let titles: Vec<&str> = rows
        .iter()
        .skip(2)
        .take_while(|r| r.depth == 2)
        .map(|r| match r.node {
            Node::Scenario(i) => s.entries[i].current.title.as_str(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(titles.len(), 3);
    assert!(titles[0].contains("d = 5"), "{titles:?}");
    assert!(titles[1].contains("d = 10"));
    assert!(titles[2].contains("d = 30"));
    // the first scenario is selected at start
    assert_eq!(s.selected, rows[2].node);
    // every family has a row, with or without experiments in this build
    for f in Family::ALL {
        assert!(rows.iter().any(|r| r.node == Node::Family(f)));
    }
}

#[test]
fn the_tree_folds_to_fit_and_keeps_the_four_families() {
    let mut s = presets();
    assert!(s.select_title("d = 10"));
    let families = |s: &Scenarios| {
        s.rows()
            .iter()
            .filter(|r| matches!(r.node, Node::Family(_)))
            .count()
    };
    // room for everything
    s.fit(1000);
    let all = s.rows().len();
    assert!(s.rows().iter().all(|r| r.fold != Some(false)), "all open");
    // the selection's family, and the next families while they fit
    s.fit(all - 1);
    assert!(
        s.rows().len() < all && s.rows().len() > 20,
        "{}",
        s.rows().len()
    );
    assert!(s.rows().iter().any(|r| r.fold == Some(false)));
    // only the selection's family open
    let parity_rows = 1 + s
        .rows()
        .iter()
        .skip(1)
        .take_while(|r| !matches!(r.node, Node::Family(_)))
        .count();
    s.fit(parity_rows + 3);
    assert_eq!(s.rows().len(), parity_rows + 3);
    // only the selection's experiment open: the four families, E1 and its scenarios,
    // the other experiments of the family folded
    s.fit(5);
    assert_eq!(families(&s), 4);
    let rows = s.rows();
    let open: Vec<Node> = rows
        .iter()
        .filter(|r| r.fold == Some(true))
        .map(|r| r.node)
        .collect();
    assert_eq!(
        open,
        vec![Node::Family(Family::Parities), Node::Experiment("E1")]
    );
    assert!(
        rows.iter().any(|r| r.node == s.selected),
        "the selection shows"
    );
}

#[test]
fn folding_and_moving() {
    let mut s = presets();
    let n = s.rows().len();
    s.select_first();
    assert!(s.toggle());
    assert!(s.rows().len() < n);
    s.expand();
    assert_eq!(s.rows().len(), n);
    s.expand(); // into the first child
    assert_eq!(s.selected, Node::Experiment("E1"));
    s.collapse(); // closes E1
    assert!(s.rows().len() < n);
    s.collapse(); // to the parent
    assert_eq!(s.selected, Node::Family(Family::Parities));
    s.move_by(-5);
    assert_eq!(s.selected, Node::Family(Family::Parities));
    s.move_by(1000);
    assert_eq!(s.selected, s.rows().last().unwrap().node);
}

#[test]
fn broken_files_are_listed_with_their_error() {
    let dir = std::env::temp_dir().join(format!("fail-lab-tree-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bad.toml"),
        "experiment = \"E1\"\n[params]\nd = 99\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("mine.toml"),
        "experiment = \"E1\"\ntitle = \"my parity\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not a scenario").unwrap();
    let s = Scenarios::load(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(s.broken.len(), 1);
    assert!(
        s.broken[0].error.contains("params.d"),
        "{}",
        s.broken[0].error
    );
    assert!(s.rows().iter().any(|r| r.node == Node::Broken(0)));
    let mine: Vec<&Entry> = s
        .scenarios_of("E1")
        .into_iter()
        .map(|i| &s.entries[i])
        .filter(|e| !e.built_in)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].current.title, "my parity");
    assert_eq!(mine[0].origin(), "mine.toml");
    // an experiment without a file has the binary's own presets
    let t1 = &s.entries[s.scenarios_of("T1")[0]];
    assert!(t1.built_in && t1.origin() == "t1-gradient-variance.toml (built in)");
}

#[test]
fn a_missing_folder_gives_the_built_in_presets() {
    let dir = Path::new("/nonexistent/fail-lab");
    let s = Scenarios::load(dir);
    assert_eq!(s.entries.len(), crate::spec::presets::built_in().len());
    assert!(s.entries.iter().all(|e| e.built_in));
    // saving one writes it into the folder the lab was pointed at
    assert!(s.entries[0].path.as_ref().unwrap().starts_with(dir));
    assert!(s.broken.is_empty());
    assert!(matches!(s.selected, Node::Scenario(_)));
}

#[test]
fn an_experiment_row_is_its_id_and_a_whole_name_or_its_id() {
    assert_eq!(
        experiment_text("T1", "gradient variance over parities", 40),
        "T1 gradient variance over parities"
    );
    assert_eq!(
        experiment_text("T1", "gradient variance over parities", 24),
        "T1"
    );
    assert_eq!(
        experiment_text("E10", "staircase: four methods compared", 24),
        "E10 staircase"
    );
    assert_eq!(
        experiment_text("E6", "PWL encoding, full linear map", 20),
        "E6 PWL encoding"
    );
    for d in experiments::registry() {
        for room in 0..50 {
            let t = experiment_text(d.id, d.name, room);
            let whole = t == d.id
                || t == format!("{} {}", d.id, d.name)
                || d.name.starts_with(&t[d.id.len() + 1..])
                    && d.name[t.len() - d.id.len() - 1..].starts_with([':', ',', ' ', '(']);
            assert!(whole, "{room}: {t}");
            assert!(t.chars().count() <= room.max(d.id.len()), "{room}: {t}");
        }
    }
}
