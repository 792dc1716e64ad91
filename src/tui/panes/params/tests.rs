use super::*;
use crate::experiments::Registry;
use crate::spec::ParamDef;

fn e1() -> Scenario {
    let mut s = Scenario::with_defaults("E1", &Registry).unwrap();
    s.seed = Some(0);
    s
}

fn row_of(s: &Scenario, name: &str) -> usize {
    Editor::fields(s)
        .iter()
        .position(|f| f.name() == name)
        .unwrap()
}

#[test]
fn typing_is_validated_with_the_command_line_messages() {
    let mut s = e1();
    let mut ed = Editor {
        row: row_of(&s, "d"),
        input: None,
        typed: None,
        typed_grid: None,
    };
    ed.begin(&s);
    assert_eq!(ed.input.as_ref().unwrap().text, "30");
    let input = ed.input.as_mut().unwrap();
    input.clear();
    for c in "70".chars() {
        input.insert(c);
    }
    let msg = ed.verdict(&s).unwrap().unwrap_err();
    let mut cli = s.clone();
    let cli_msg = cli.set("d=70", &Registry).unwrap_err().message;
    assert_eq!(msg, cli_msg);
    assert!(ed.commit(&mut s).is_err());
    assert!(ed.input.is_some(), "an invalid value keeps the field open");
    let input = ed.input.as_mut().unwrap();
    input.backspace();
    input.backspace();
    input.insert('7');
    assert_eq!(ed.commit(&mut s), Ok(Change::Value));
    assert_eq!(s.params.get("d"), Some(&Value::Int(7)));
    assert!(ed.input.is_none());
}

#[test]
fn quick_changes_follow_the_type() {
    let mut s = e1();
    let mut ed = Editor {
        row: row_of(&s, "optimizer"),
        input: None,
        typed: None,
        typed_grid: None,
    };
    assert_eq!(ed.adjust(&mut s, 1), Change::Value);
    assert_eq!(s.params.get("optimizer"), Some(&Value::Str("adam".into())));
    ed.adjust(&mut s, -1);
    ed.adjust(&mut s, -1);
    assert_eq!(
        s.params.get("optimizer"),
        Some(&Value::Str("adam99".into()))
    );
    ed.row = row_of(&s, "d");
    for _ in 0..100 {
        ed.adjust(&mut s, 1);
    }
    assert_eq!(
        s.params.get("d"),
        Some(&Value::Int(63)),
        "clamped to the range"
    );
    assert_eq!(ed.adjust(&mut s, 1), Change::None);
    ed.row = row_of(&s, "lr");
    assert_eq!(ed.adjust(&mut s, 1), Change::None, "no step for numbers");
    assert_eq!(ed.reset(&mut s.clone(), &e1()), Change::None);
    ed.row = row_of(&s, "d");
    let orig = e1();
    assert_eq!(ed.reset(&mut s, &orig), Change::Value);
    assert_eq!(s.params.get("d"), Some(&Value::Int(30)));
}

#[test]
fn the_seed_takes_a_number_or_random() {
    let mut s = e1();
    let mut ed = Editor {
        row: 0,
        input: None,
        typed: None,
        typed_grid: None,
    };
    ed.begin(&s);
    ed.input = Some(TextInput::new("-3"));
    assert!(ed.commit(&mut s).unwrap_err().contains("an integer >= 0"));
    ed.input = Some(TextInput::new("random"));
    assert_eq!(ed.commit(&mut s), Ok(Change::Value));
    assert_eq!(s.seed, None);
    ed.begin(&s);
    assert_eq!(ed.input.as_ref().unwrap().text, "");
    ed.input = Some(TextInput::new("42"));
    ed.commit(&mut s).unwrap();
    assert_eq!(s.seed, Some(42));
    assert_eq!(ed.reset(&mut s, &e1()), Change::Value);
    assert_eq!(s.seed, Some(0));
}

#[test]
fn lists_are_edited_as_text() {
    let def = ParamDef::int_list("ks", &[1, 2], 1, 9, 4, "parts");
    let f = Field::Param(def);
    assert_eq!(f.parse("[3, 4]").unwrap(), Some(Value::IntList(vec![3, 4])));
    assert!(f.parse("3, x").unwrap_err().contains("not an integer"));
    assert!(f.parse("1,2,3,4,5").unwrap_err().contains("5 values"));
}

#[test]
fn text_input_edits_at_the_cursor_with_wide_characters() {
    let mut t = TextInput::new("aé");
    t.left();
    t.insert('x');
    assert_eq!(t.text, "axé");
    t.home();
    t.delete();
    assert_eq!(t.text, "xé");
    t.end();
    t.backspace();
    t.backspace();
    t.backspace();
    assert_eq!(t.text, "");
    t.right();
    assert_eq!(t.cursor, 0);
}

#[test]
fn cross_checks_and_file_names() {
    let mut s = e1();
    s.params.insert("d", Value::Int(5));
    s.params.insert("subset_size", Value::Int(9));
    assert!(cross_check(&s).is_err());
    let dir = std::env::temp_dir().join(format!("fail-lab-ed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let origin = dir.join("e1-parity.toml");
    let name = suggest_file_name(&dir, Some(&origin), &s, &e1());
    assert_eq!(name, "e1-parity-d5-subset_size9.toml");
    std::fs::write(dir.join(&name), "").unwrap();
    let again = suggest_file_name(&dir, Some(&origin), &s, &e1());
    assert_eq!(again, "e1-parity-d5-subset_size9-2.toml");
    assert!(check_file_name(&dir, &name).unwrap_err().contains("exists"));
    assert!(check_file_name(&dir, "../x").is_err());
    assert!(check_file_name(&dir, " ").is_err());
    assert_eq!(
        check_file_name(&dir, "mine").unwrap(),
        dir.join("mine.toml")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ranges_and_helps_show_whole_words_or_nothing() {
    for def in crate::experiments::registry() {
        let fields = fields_of(def.id);
        for w in 20..140 {
            let ws = widths(&fields, w);
            assert!(ws.help == 0 || ws.help >= MIN_HELP, "{w}: {ws:?}");
            let gaps = if ws.help > 0 { 3 } else { 2 };
            assert!(
                ws.name + ws.value + ws.range + ws.help + gaps <= w.max(ws.name + ws.value + 2)
            );
            for f in &fields {
                let (range, help) = range_and_help(f, &ws);
                assert!(range.chars().count() <= ws.range, "{w}: {range}");
                assert!(help.chars().count() <= ws.help, "{w}: {help}");
                // whole, or whole parts and a `…` standing apart
                let full_range = f.range_short();
                if range != full_range && !range.is_empty() {
                    assert!(range.ends_with("|…"), "{w}: {range} of {full_range}");
                }
                if help != f.help() && !help.is_empty() {
                    let kept = help.trim_end_matches('…').trim_end();
                    assert!(help.ends_with(" …"), "{w}: {help}");
                    assert!(f.help().starts_with(kept), "{w}: {help}");
                    assert!(f.help()[kept.len()..].starts_with(' '), "{w}: {help}");
                }
            }
        }
    }
    // the seed's range fits whole in the columns of an 80-column screen's pane
    let fields = fields_of("E1");
    let ws = widths(&fields, 48);
    assert_eq!(range_and_help(&fields[0], &ws).0, "0.. | random");
}
