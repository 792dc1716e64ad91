//! The parameter editor: one row per parameter (and the seed), type-aware quick changes, and
//! a text field validated on every key with the same messages as `--set`.

use crate::experiments;
use crate::spec::{Kind, ParamDef, Scenario, Value};

/// A line of text being typed, with a cursor (in characters).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextInput {
    pub text: String,
    pub cursor: usize,
}

impl TextInput {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    fn byte_at(&self, char_idx: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_idx)
            .map(|(b, _)| b)
            .unwrap_or(self.text.len())
    }

    pub fn insert(&mut self, c: char) {
        let b = self.byte_at(self.cursor);
        self.text.insert(b, c);
        self.cursor += 1;
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let b = self.byte_at(self.cursor);
            self.text.remove(b);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.chars().count() {
            let b = self.byte_at(self.cursor);
            self.text.remove(b);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }

    /// Ctrl-U: clears the line.
    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }
}

/// What a row of the editor edits.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Seed,
    Param(ParamDef),
}

impl Field {
    pub fn name(&self) -> &str {
        match self {
            Field::Seed => "seed",
            Field::Param(d) => d.name,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Field::Seed => "integer",
            Field::Param(d) => d.type_name(),
        }
    }

    pub fn range_short(&self) -> String {
        match self {
            Field::Seed => "0.. | random".into(),
            Field::Param(d) => d.range_short(),
        }
    }

    pub fn help(&self) -> &str {
        match self {
            Field::Seed => "random-number seed; empty or \"random\" draws a fresh one per run",
            Field::Param(d) => d.help,
        }
    }

    pub fn allowed(&self) -> String {
        match self {
            Field::Seed => "an integer >= 0, or empty for a fresh seed".into(),
            Field::Param(d) => d.allowed(),
        }
    }

    /// The value as shown in the table and pre-filled in the text field.
    pub fn show(&self, s: &Scenario) -> String {
        match self {
            Field::Seed => s.seed.map(|x| x.to_string()).unwrap_or("random".into()),
            Field::Param(d) => s
                .params
                .get(d.name)
                .map(|v| v.to_string())
                .unwrap_or_default(),
        }
    }

    fn get(&self, s: &Scenario) -> Option<Value> {
        match self {
            Field::Seed => s.seed.map(|x| Value::Int(x as i64)),
            Field::Param(d) => s.params.get(d.name).cloned(),
        }
    }

    /// Parses typed text, with the command line's messages.
    pub fn parse(&self, text: &str) -> Result<Option<Value>, String> {
        match self {
            Field::Seed => {
                let t = text.trim();
                if t.is_empty() || t.eq_ignore_ascii_case("random") {
                    return Ok(None);
                }
                t.parse::<u64>()
                    .map(|x| Some(Value::Int(x as i64)))
                    .map_err(|_| format!("got \"{t}\", allowed: {}", self.allowed()))
            }
            Field::Param(d) => d
                .parse_str(text)
                .map(Some)
                .map_err(|m| format!("{m} ({})", d.help)),
        }
    }

    fn set(&self, s: &mut Scenario, v: Option<Value>) {
        match (self, v) {
            (Field::Seed, Some(Value::Int(x))) => s.seed = Some(x.max(0) as u64),
            (Field::Seed, _) => s.seed = None,
            (Field::Param(d), Some(v)) => s.params.insert(d.name, v),
            (Field::Param(_), None) => {}
        }
    }
}

/// The fields of a scenario's experiment, seed first, then parameters in declared order.
pub fn fields_of(experiment: &str) -> Vec<Field> {
    let mut out = vec![Field::Seed];
    if let Some(def) = experiments::find(experiment) {
        out.extend((def.params)().into_iter().map(Field::Param));
    }
    out
}

/// The editor's state for the selected scenario.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Editor {
    pub row: usize,
    /// The text field, while a value is being typed.
    pub input: Option<TextInput>,
}

/// What a key did to the editor.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The scenario's values changed.
    Value,
    /// Nothing changed (a refused value, a key without effect).
    None,
}

impl Editor {
    pub fn fields(s: &Scenario) -> Vec<Field> {
        fields_of(&s.experiment)
    }

    pub fn selected_field(&self, s: &Scenario) -> Option<Field> {
        Self::fields(s).into_iter().nth(self.row)
    }

    pub fn move_by(&mut self, delta: isize, s: &Scenario) {
        let n = Self::fields(s).len() as isize;
        if n > 0 {
            self.row = (self.row as isize + delta).clamp(0, n - 1) as usize;
        }
    }

    pub fn clamp(&mut self, s: &Scenario) {
        let n = Self::fields(s).len();
        self.row = self.row.min(n.saturating_sub(1));
    }

    /// Opens the text field on the selected value.
    pub fn begin(&mut self, s: &Scenario) {
        if let Some(f) = self.selected_field(s) {
            let text = match (&f, f.get(s)) {
                (Field::Seed, None) => String::new(),
                (_, Some(Value::IntList(xs))) => xs
                    .iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => f.show(s),
            };
            self.input = Some(TextInput::new(&text));
        }
    }

    /// The verdict on the text being typed: `Ok` with the value it would set, or the message.
    pub fn verdict(&self, s: &Scenario) -> Option<Result<Option<Value>, String>> {
        let input = self.input.as_ref()?;
        let f = self.selected_field(s)?;
        Some(f.parse(&input.text))
    }

    /// Enter in the text field: applies a valid value and closes the field.
    pub fn commit(&mut self, s: &mut Scenario) -> Result<Change, String> {
        let Some(f) = self.selected_field(s) else {
            self.input = None;
            return Ok(Change::None);
        };
        match self.verdict(s) {
            Some(Ok(v)) => {
                let before = f.get(s);
                f.set(s, v);
                self.input = None;
                Ok(if f.get(s) != before {
                    Change::Value
                } else {
                    Change::None
                })
            }
            Some(Err(m)) => Err(m),
            None => Ok(Change::None),
        }
    }

    pub fn cancel(&mut self) {
        self.input = None;
    }

    /// Left/right on a value: flips a boolean, cycles a choice, steps an integer by one.
    pub fn adjust(&mut self, s: &mut Scenario, dir: i64) -> Change {
        let Some(Field::Param(d)) = self.selected_field(s) else {
            return Change::None;
        };
        let cur = s.params.get(d.name).cloned();
        let next = match (&d.kind, cur) {
            (Kind::Bool, Some(Value::Bool(b))) => Some(Value::Bool(!b)),
            (Kind::Choice(c), Some(Value::Str(v))) if !c.is_empty() => {
                let i = c.iter().position(|x| *x == v).unwrap_or(0) as i64;
                let n = c.len() as i64;
                Some(Value::Str(
                    c[((i + dir).rem_euclid(n)) as usize].to_string(),
                ))
            }
            (Kind::Int { min, max }, Some(Value::Int(x))) => {
                Some(Value::Int(x.saturating_add(dir).clamp(*min, *max)))
            }
            _ => None,
        };
        match next.and_then(|v| d.check(v).ok()) {
            Some(v) if Some(&v) != s.params.get(d.name) => {
                s.params.insert(d.name, v);
                Change::Value
            }
            _ => Change::None,
        }
    }

    /// Sets the selected parameter back to the experiment's default (the seed back to the
    /// file's seed).
    pub fn reset(&mut self, s: &mut Scenario, original: &Scenario) -> Change {
        let Some(f) = self.selected_field(s) else {
            return Change::None;
        };
        let v = match &f {
            Field::Seed => original.seed.map(|x| Value::Int(x as i64)),
            Field::Param(d) => Some(d.default.clone()),
        };
        if f.get(s) == v {
            return Change::None;
        }
        f.set(s, v);
        Change::Value
    }
}

/// The checks across parameters (e.g. `subset_size <= d`) for the edited values.
pub fn cross_check(s: &Scenario) -> Result<(), String> {
    match experiments::find(&s.experiment) {
        Some(def) => (def.validate)(&s.params),
        None => Err(format!("unknown experiment \"{}\"", s.experiment)),
    }
}

/// A file name for saving an edited scenario: `<origin stem>-<changes>.toml`, free in `dir`.
pub fn suggest_file_name(
    dir: &std::path::Path,
    origin: Option<&std::path::Path>,
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

/// Checks a file name typed for a save: a plain name in the scenarios folder, not taken.
pub fn check_file_name(dir: &std::path::Path, text: &str) -> Result<std::path::PathBuf, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::Registry;

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
}
