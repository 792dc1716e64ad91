//! Every key of the lab, written once.
//!
//! A [`Binding`] says which keys, in which [`Context`], give which [`Cmd`], with the help
//! screen's text and (for the most useful few) the hint bar's. The dispatcher
//! ([`lookup`]), the help screen ([`help_sections`]) and the hint bar ([`hints`]) all read
//! this one table, so what the lab says about its keys is what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where the keyboard focus is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// Keys that work on every screen (help, quit).
    Global,
    /// Keys that work in every pane of the main screen.
    Main,
    Scenarios,
    Params,
    Editing,
    Runs,
    /// Typing the runs table's filter.
    Filtering,
    Chart,
    /// Typing a search in the chart's list of metrics.
    MetricSearch,
    Compare,
    /// The sweep screen: its grid table and summary chart.
    Sweep,
    Figure,
    Help,
    Confirm,
    SaveAs,
    /// Ctrl-C: asks to quit from anywhere but a question.
    Interrupt,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Main => "Main screen, any pane",
            Context::Scenarios => "Scenarios",
            Context::Params => "Parameters",
            Context::Editing => "Typing a value",
            Context::Runs => "Runs",
            Context::Filtering => "Typing a filter",
            Context::Chart => "Chart",
            Context::MetricSearch => "Searching the metrics",
            Context::Compare => "Compare",
            Context::Sweep => "Sweep screen",
            Context::Figure => "Figure and log",
            Context::Help => "Help",
            Context::Confirm => "Questions",
            Context::SaveAs => "Saving a scenario",
            Context::Interrupt => "Interrupt",
        }
    }

    /// The sections of the help screen, in order.
    pub const HELP: [Context; 14] = [
        Context::Global,
        Context::Main,
        Context::Scenarios,
        Context::Params,
        Context::Editing,
        Context::SaveAs,
        Context::Runs,
        Context::Filtering,
        Context::Chart,
        Context::MetricSearch,
        Context::Compare,
        Context::Sweep,
        Context::Figure,
        Context::Confirm,
    ];

    /// Every context the lab can be in (where keys go), for tests and the help screen.
    pub const ALL: [Context; 14] = [
        Context::Scenarios,
        Context::Params,
        Context::Editing,
        Context::Runs,
        Context::Filtering,
        Context::Chart,
        Context::MetricSearch,
        Context::Compare,
        Context::Sweep,
        Context::Figure,
        Context::Help,
        Context::Confirm,
        Context::SaveAs,
        Context::Main,
    ];

    /// The tables a key is looked up in, first match wins: the context's own, then the keys
    /// that work more widely.
    pub fn chain(self) -> &'static [Context] {
        use Context::*;
        match self {
            Scenarios => &[Scenarios, Main, Global, Interrupt],
            Params => &[Params, Main, Global, Interrupt],
            Runs => &[Runs, Main, Global, Interrupt],
            Chart => &[Chart, Main, Global, Interrupt],
            Main => &[Main, Global, Interrupt],
            Compare => &[Compare, Global, Interrupt],
            Sweep => &[Sweep, Global, Interrupt],
            Figure => &[Figure, Global, Interrupt],
            Global => &[Global, Interrupt],
            Editing => &[Editing, Interrupt],
            Filtering => &[Filtering, Interrupt],
            MetricSearch => &[MetricSearch, Interrupt],
            SaveAs => &[SaveAs, Interrupt],
            Help => &[Help, Interrupt],
            Confirm => &[Confirm],
            Interrupt => &[Interrupt],
        }
    }
}

/// What a key asks for. The pane or screen of the binding's context carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmd {
    Help,
    Quit,
    NextPane,
    PrevPane,
    Zoom,
    Compare,
    Figure,
    NextMetric,
    PrevMetric,
    LogY,
    /// Log scale on the chart's x axis (log-log with log-y).
    LogX,
    /// The theory's reference lines on the chart, on or off.
    Theory,
    Smooth,
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    Fold,
    Unfold,
    Activate,
    Start,
    Edit,
    Type,
    Decrease,
    Increase,
    Default,
    SaveAs,
    Back,
    Apply,
    Cancel,
    CursorLeft,
    CursorRight,
    CursorHome,
    CursorEnd,
    Erase,
    EraseForward,
    Clear,
    Insert,
    Mark,
    UnmarkAll,
    Pause,
    Stop,
    Rerun,
    Delete,
    ToChart,
    Filter,
    ClearFilter,
    Layout,
    NextFigure,
    PrevFigure,
    /// The sweep screen of the selected sweep.
    SweepScreen,
    /// Run again what a sweep did not finish.
    Resume,
    /// A new run from the selected run's checkpoint, with the editor's parameters.
    Fork,
    /// A group's band: min..max or ± sd.
    Band,
    /// The sweep screen's table: sort by the next column, or reverse.
    Sort,
    SortReverse,
    /// The sweep screen's chart: the next swept parameter on the x axis.
    NextAxis,
    /// Results' 95% intervals in a table, on or off.
    Interval,
    /// The sweep screen's growth-law fit: off, power, exponential.
    Fit,
    /// A group's chart: the fraction of its runs that reached a threshold, by step.
    Success,
    /// The chart: a parity run's hidden progress (loss, accuracy, the target's correlation
    /// against the others') in one chart, or its metric again.
    HiddenProgress,
    /// Start the selected run again with the next seed its group has not used.
    NextSeed,
    Export,
    Yes,
    No,
}

/// A key as the table writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A key without Ctrl or Alt (Shift is part of the character: `G`, `M`).
    Plain(KeyCode),
    /// Ctrl and a letter.
    Ctrl(char),
    /// Any printable character without Ctrl or Alt (typing).
    AnyChar,
}

impl Key {
    pub fn matches(self, ev: &KeyEvent) -> bool {
        let ctrl_alt = ev
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match self {
            Key::Plain(code) => !ctrl_alt && ev.code == code,
            Key::Ctrl(c) => {
                ev.modifiers.contains(KeyModifiers::CONTROL)
                    && matches!(ev.code, KeyCode::Char(x) if x.eq_ignore_ascii_case(&c))
            }
            Key::AnyChar => !ctrl_alt && matches!(ev.code, KeyCode::Char(_)),
        }
    }

    /// How the help screen and the hint bar write the key.
    pub fn label(self) -> String {
        match self {
            Key::Plain(code) => match code {
                KeyCode::Up => "↑".into(),
                KeyCode::Down => "↓".into(),
                KeyCode::Left => "←".into(),
                KeyCode::Right => "→".into(),
                KeyCode::Char(' ') => "Space".into(),
                KeyCode::Char(c) => c.to_string(),
                KeyCode::Enter => "Enter".into(),
                KeyCode::Esc => "Esc".into(),
                KeyCode::Tab => "Tab".into(),
                KeyCode::BackTab => "S-Tab".into(),
                KeyCode::Home => "Home".into(),
                KeyCode::End => "End".into(),
                KeyCode::PageUp => "PgUp".into(),
                KeyCode::PageDown => "PgDn".into(),
                KeyCode::Backspace => "Backspace".into(),
                KeyCode::Delete => "Del".into(),
                other => format!("{other:?}"),
            },
            Key::Ctrl(c) => format!("Ctrl-{}", c.to_ascii_uppercase()),
            Key::AnyChar => "a character".into(),
        }
    }

    fn is_arrow(self) -> bool {
        matches!(
            self,
            Key::Plain(KeyCode::Up | KeyCode::Down | KeyCode::Left | KeyCode::Right)
        )
    }
}

/// Writes keys the way people read them: arrows side by side (`↑↓`), others apart.
pub fn label_of(keys: impl IntoIterator<Item = Key>) -> String {
    let mut out = String::new();
    let mut prev_arrow = false;
    for k in keys {
        let arrow = k.is_arrow();
        if !(out.is_empty() || arrow && prev_arrow) {
            out.push(' ');
        }
        out.push_str(&k.label());
        prev_arrow = arrow;
    }
    out
}

/// One line of the help screen: some keys, each with its command, in one context.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub ctx: Context,
    pub keys: &'static [(Key, Cmd)],
    pub help: &'static str,
    /// The hint bar's short text, for the most useful bindings.
    pub hint: Option<&'static str>,
    /// How many of the keys the hint bar shows (the first ones).
    pub hint_keys: usize,
}

impl Binding {
    pub fn label(&self) -> String {
        label_of(self.keys.iter().map(|(k, _)| *k))
    }

    /// The hint bar's (keys, text), if this binding has a hint.
    pub fn hint(&self) -> Option<(String, &'static str)> {
        let text = self.hint?;
        Some((
            label_of(self.keys.iter().take(self.hint_keys).map(|(k, _)| *k)),
            text,
        ))
    }
}

mod table;

pub use table::TABLE;

/// The bindings of one context, in table order.
pub fn bindings(ctx: Context) -> impl Iterator<Item = &'static Binding> {
    TABLE.iter().filter(move |b| b.ctx == ctx)
}

/// The command a key gives in a context, and the context whose binding gave it.
pub fn lookup(ctx: Context, key: &KeyEvent) -> Option<(Context, Cmd)> {
    ctx.chain().iter().find_map(|&c| {
        bindings(c)
            .flat_map(|b| b.keys.iter())
            .find(|(k, _)| k.matches(key))
            .map(|(_, cmd)| (c, *cmd))
    })
}

/// The first key that gives `cmd` in `ctx` (along its chain).
pub fn key_of(ctx: Context, cmd: Cmd) -> Option<Key> {
    ctx.chain().iter().find_map(|&c| {
        bindings(c)
            .flat_map(|b| b.keys.iter())
            .find(|(_, x)| *x == cmd)
            .map(|(k, _)| *k)
    })
}

/// The hint bar's (keys, text) pairs for a context: its own first, then the wider ones
/// along its chain.
pub fn hints(ctx: Context) -> Vec<(String, &'static str)> {
    ctx.chain()
        .iter()
        .flat_map(|&c| bindings(c))
        .filter_map(Binding::hint)
        .collect()
}

/// The help screen's sections: a title and its (keys, text) lines.
pub fn help_sections() -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    Context::HELP
        .iter()
        .map(|&ctx| {
            let mut lines: Vec<(String, &'static str)> =
                bindings(ctx).map(|b| (b.label(), b.help)).collect();
            if ctx == Context::Global {
                lines.extend(bindings(Context::Interrupt).map(|b| (b.label(), b.help)));
            }
            (ctx.title(), lines)
        })
        .collect()
}

/// The key table as the markdown table of `docs/LAB.md` (a test keeps the two the same).
pub fn markdown() -> String {
    let mut out = String::from("| where | keys | what they do |\n| --- | --- | --- |\n");
    for (title, lines) in help_sections() {
        for (i, (keys, help)) in lines.iter().enumerate() {
            let wher = if i == 0 {
                title.to_lowercase()
            } else {
                String::new()
            };
            out.push_str(&format!("| {wher} | `{keys}` | {help} |\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_lab_guide_lists_the_keys_of_the_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LAB.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let table = markdown();
        assert!(
            doc.contains(&table),
            "docs/LAB.md's key table is not the lab's; put this in its place:\n{table}"
        );
    }

    #[test]
    fn labels_read_like_the_keys() {
        assert_eq!(label_of(table::UP_DOWN.iter().map(|k| k.0)), "↑↓ k j");
        assert_eq!(Key::Ctrl('u').label(), "Ctrl-U");
        assert_eq!(Key::Plain(KeyCode::Char(' ')).label(), "Space");
    }

    #[test]
    fn lookup_follows_the_chain_and_the_own_table_wins() {
        assert_eq!(
            lookup(Context::Runs, &key(KeyCode::Char('c'))),
            Some((Context::Runs, Cmd::Compare))
        );
        assert_eq!(
            lookup(Context::Compare, &key(KeyCode::Char('c'))),
            Some((Context::Compare, Cmd::Back))
        );
        assert_eq!(
            lookup(Context::Scenarios, &key(KeyCode::Char('?'))),
            Some((Context::Global, Cmd::Help))
        );
        // while typing, q and ? are characters
        assert_eq!(
            lookup(Context::Editing, &key(KeyCode::Char('q'))),
            Some((Context::Editing, Cmd::Insert))
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            lookup(Context::Editing, &ctrl_c),
            Some((Context::Interrupt, Cmd::Quit))
        );
        assert_eq!(lookup(Context::Confirm, &ctrl_c), None);
        assert_eq!(lookup(Context::Figure, &key(KeyCode::Char('z'))), None);
    }

    #[test]
    fn no_key_means_two_things_in_one_context() {
        for (i, b) in TABLE.iter().enumerate() {
            assert!(
                !TABLE[..i]
                    .iter()
                    .any(|o| o.ctx == b.ctx && o.help == b.help),
                "{:?}: \"{}\" twice",
                b.ctx,
                b.help
            );
        }
        for b in TABLE {
            for other in TABLE.iter().filter(|o| o.ctx == b.ctx) {
                for (k, cmd) in b.keys {
                    for (k2, cmd2) in other.keys {
                        if k == k2 {
                            assert_eq!(cmd, cmd2, "{:?}: {} twice", b.ctx, k.label());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_context_has_keys_and_hints() {
        for ctx in Context::HELP.iter().copied().chain([Context::Help]) {
            assert!(bindings(ctx).next().is_some(), "{ctx:?}");
            assert!(!hints(ctx).is_empty(), "{ctx:?}");
        }
        let h = hints(Context::Runs);
        assert!(h.iter().any(|(k, _)| k == "Space"));
        assert!(h.iter().any(|(k, _)| k == "?"));
        assert!(
            !hints(Context::Editing).iter().any(|(k, _)| k == "?"),
            "while typing, ? is a character"
        );
    }
}
