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
    Chart,
    Compare,
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
            Context::Chart => "Chart",
            Context::Compare => "Compare",
            Context::Figure => "Figure and log",
            Context::Help => "Help",
            Context::Confirm => "Questions",
            Context::SaveAs => "Saving a scenario",
            Context::Interrupt => "Interrupt",
        }
    }

    /// The sections of the help screen, in order.
    pub const HELP: [Context; 11] = [
        Context::Global,
        Context::Main,
        Context::Scenarios,
        Context::Params,
        Context::Editing,
        Context::SaveAs,
        Context::Runs,
        Context::Chart,
        Context::Compare,
        Context::Figure,
        Context::Confirm,
    ];

    /// Every context the lab can be in (where keys go), for tests and the help screen.
    pub const ALL: [Context; 11] = [
        Context::Scenarios,
        Context::Params,
        Context::Editing,
        Context::Runs,
        Context::Chart,
        Context::Compare,
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
            Figure => &[Figure, Global, Interrupt],
            Global => &[Global, Interrupt],
            Editing => &[Editing, Interrupt],
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
    Layout,
    NextFigure,
    PrevFigure,
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

const fn b(ctx: Context, keys: &'static [(Key, Cmd)], help: &'static str) -> Binding {
    Binding {
        ctx,
        keys,
        help,
        hint: None,
        hint_keys: 1,
    }
}

/// A binding that shows in the hint bar with its first `n` keys.
const fn h(
    ctx: Context,
    keys: &'static [(Key, Cmd)],
    help: &'static str,
    n: usize,
    hint: &'static str,
) -> Binding {
    Binding {
        ctx,
        keys,
        help,
        hint: Some(hint),
        hint_keys: n,
    }
}

const fn p(code: KeyCode) -> Key {
    Key::Plain(code)
}

const fn c(ch: char) -> Key {
    Key::Plain(KeyCode::Char(ch))
}

use Context as X;
use KeyCode as K;

const UP_DOWN: &[(Key, Cmd)] = &[
    (p(K::Up), Cmd::Up),
    (p(K::Down), Cmd::Down),
    (c('k'), Cmd::Up),
    (c('j'), Cmd::Down),
];
const PAGES: &[(Key, Cmd)] = &[(p(K::PageUp), Cmd::PageUp), (p(K::PageDown), Cmd::PageDown)];
const ENDS: &[(Key, Cmd)] = &[
    (p(K::Home), Cmd::First),
    (p(K::End), Cmd::Last),
    (c('g'), Cmd::First),
    (c('G'), Cmd::Last),
];
const METRICS: &[(Key, Cmd)] = &[
    (c('m'), Cmd::NextMetric),
    (c('M'), Cmd::PrevMetric),
    (p(K::Left), Cmd::PrevMetric),
    (p(K::Right), Cmd::NextMetric),
    (c('h'), Cmd::PrevMetric),
    (c('l'), Cmd::NextMetric),
];

/// The whole table, in help-screen order within each context.
pub const TABLE: &[Binding] = &[
    // everywhere
    h(
        X::Global,
        &[(c('?'), Cmd::Help)],
        "help: every key",
        1,
        "help",
    ),
    h(
        X::Global,
        &[(c('q'), Cmd::Quit)],
        "quit (asks first while runs are active)",
        1,
        "quit",
    ),
    b(
        X::Interrupt,
        &[(Key::Ctrl('c'), Cmd::Quit)],
        "quit, from anywhere but a question",
    ),
    // main screen
    h(
        X::Main,
        &[(p(K::Tab), Cmd::NextPane), (p(K::BackTab), Cmd::PrevPane)],
        "next / previous pane (a click focuses one too)",
        1,
        "pane",
    ),
    b(
        X::Main,
        &[(c('z'), Cmd::Zoom)],
        "zoom the focused pane (and back)",
    ),
    b(
        X::Main,
        &[(c('c'), Cmd::Compare)],
        "compare the marked runs",
    ),
    b(
        X::Main,
        &[(c('f'), Cmd::Figure)],
        "figure and log of the selected run",
    ),
    b(
        X::Main,
        &[(c('m'), Cmd::NextMetric), (c('M'), Cmd::PrevMetric)],
        "next / previous metric in the chart",
    ),
    b(
        X::Main,
        &[(c('y'), Cmd::LogY)],
        "log scale on the y axis (on / off)",
    ),
    b(X::Main, &[(c('s'), Cmd::Smooth)], "smoothing (on / off)"),
    // scenarios
    h(X::Scenarios, UP_DOWN, "move (the wheel scrolls)", 2, "move"),
    b(X::Scenarios, PAGES, "a page up / down"),
    b(X::Scenarios, ENDS, "first / last row"),
    b(
        X::Scenarios,
        &[
            (p(K::Left), Cmd::Fold),
            (p(K::Right), Cmd::Unfold),
            (c('h'), Cmd::Fold),
            (c('l'), Cmd::Unfold),
        ],
        "fold / unfold a family or experiment",
    ),
    h(
        X::Scenarios,
        &[(p(K::Enter), Cmd::Activate)],
        "start a run of the scenario (or fold)",
        1,
        "start",
    ),
    b(
        X::Scenarios,
        &[(c('r'), Cmd::Start)],
        "start a run of the scenario",
    ),
    h(
        X::Scenarios,
        &[(c('e'), Cmd::Edit)],
        "edit its parameters",
        1,
        "edit",
    ),
    // parameters
    b(X::Params, UP_DOWN, "choose a parameter"),
    b(X::Params, ENDS, "first / last parameter"),
    h(
        X::Params,
        &[(p(K::Enter), Cmd::Type), (c('e'), Cmd::Type)],
        "type a value",
        1,
        "type",
    ),
    h(
        X::Params,
        &[
            (p(K::Left), Cmd::Decrease),
            (p(K::Right), Cmd::Increase),
            (c('h'), Cmd::Decrease),
            (c('l'), Cmd::Increase),
        ],
        "flip a boolean, cycle a choice, step an integer",
        2,
        "change",
    ),
    h(
        X::Params,
        &[(c('d'), Cmd::Default)],
        "reset the parameter to its default",
        1,
        "default",
    ),
    h(
        X::Params,
        &[(c('w'), Cmd::SaveAs)],
        "save the edited scenario as a new file",
        1,
        "save as",
    ),
    h(
        X::Params,
        &[(c('r'), Cmd::Start)],
        "start a run with these values",
        1,
        "start",
    ),
    h(
        X::Params,
        &[(p(K::Esc), Cmd::Back)],
        "back to the scenarios",
        1,
        "back",
    ),
    // typing a value (and a file name)
    h(
        X::Editing,
        &[(p(K::Enter), Cmd::Apply)],
        "apply (only a valid value)",
        1,
        "apply",
    ),
    h(
        X::Editing,
        &[(p(K::Esc), Cmd::Cancel)],
        "cancel",
        1,
        "cancel",
    ),
    b(
        X::Editing,
        &[
            (p(K::Left), Cmd::CursorLeft),
            (p(K::Right), Cmd::CursorRight),
            (p(K::Home), Cmd::CursorHome),
            (p(K::End), Cmd::CursorEnd),
        ],
        "move in the text",
    ),
    b(
        X::Editing,
        &[
            (Key::Ctrl('a'), Cmd::CursorHome),
            (Key::Ctrl('e'), Cmd::CursorEnd),
        ],
        "to the start / end",
    ),
    b(
        X::Editing,
        &[
            (p(K::Backspace), Cmd::Erase),
            (p(K::Delete), Cmd::EraseForward),
        ],
        "erase",
    ),
    h(
        X::Editing,
        &[(Key::Ctrl('u'), Cmd::Clear)],
        "clear",
        1,
        "clear",
    ),
    b(
        X::Editing,
        &[(Key::AnyChar, Cmd::Insert)],
        "typed into the field",
    ),
    h(
        X::SaveAs,
        &[(p(K::Enter), Cmd::Apply)],
        "save in the scenarios folder",
        1,
        "save",
    ),
    h(
        X::SaveAs,
        &[(p(K::Esc), Cmd::Cancel)],
        "cancel",
        1,
        "cancel",
    ),
    b(
        X::SaveAs,
        &[
            (p(K::Left), Cmd::CursorLeft),
            (p(K::Right), Cmd::CursorRight),
            (p(K::Home), Cmd::CursorHome),
            (p(K::End), Cmd::CursorEnd),
        ],
        "move in the name",
    ),
    b(
        X::SaveAs,
        &[
            (Key::Ctrl('a'), Cmd::CursorHome),
            (Key::Ctrl('e'), Cmd::CursorEnd),
        ],
        "to the start / end",
    ),
    b(
        X::SaveAs,
        &[
            (p(K::Backspace), Cmd::Erase),
            (p(K::Delete), Cmd::EraseForward),
        ],
        "erase",
    ),
    b(X::SaveAs, &[(Key::Ctrl('u'), Cmd::Clear)], "clear"),
    b(
        X::SaveAs,
        &[(Key::AnyChar, Cmd::Insert)],
        "typed into the name",
    ),
    // runs
    b(X::Runs, UP_DOWN, "select a run (a click selects one too)"),
    b(X::Runs, PAGES, "a page up / down"),
    b(X::Runs, ENDS, "first / last run"),
    h(
        X::Runs,
        &[(c(' '), Cmd::Mark)],
        "mark / unmark for comparison",
        1,
        "mark",
    ),
    b(X::Runs, &[(c('u'), Cmd::UnmarkAll)], "unmark all"),
    h(
        X::Runs,
        &[(c('c'), Cmd::Compare)],
        "compare the marked runs",
        1,
        "compare",
    ),
    h(
        X::Runs,
        &[(c('p'), Cmd::Pause)],
        "pause / resume",
        1,
        "pause",
    ),
    h(
        X::Runs,
        &[(c('x'), Cmd::Stop)],
        "stop (or drop a queued run)",
        1,
        "stop",
    ),
    h(
        X::Runs,
        &[(c('r'), Cmd::Rerun)],
        "run again with the same settings",
        1,
        "rerun",
    ),
    h(
        X::Runs,
        &[(c('D'), Cmd::Delete), (p(K::Delete), Cmd::Delete)],
        "delete a run and its files (asks)",
        1,
        "delete",
    ),
    h(
        X::Runs,
        &[(c('f'), Cmd::Figure)],
        "figure and log",
        1,
        "figure",
    ),
    b(X::Runs, &[(p(K::Enter), Cmd::ToChart)], "to the chart"),
    // chart
    h(
        X::Chart,
        METRICS,
        "next / previous metric (the wheel too)",
        1,
        "metric",
    ),
    h(
        X::Chart,
        &[(c('y'), Cmd::LogY)],
        "log-y on / off",
        1,
        "log-y",
    ),
    h(
        X::Chart,
        &[(c('s'), Cmd::Smooth)],
        "smoothing on / off",
        1,
        "smooth",
    ),
    h(
        X::Chart,
        &[(c('f'), Cmd::Figure)],
        "figure and log",
        1,
        "figure",
    ),
    b(X::Chart, UP_DOWN, "previous / next run"),
    b(X::Chart, &[(p(K::Esc), Cmd::Back)], "back to the runs"),
    // compare
    h(
        X::Compare,
        &[(c('v'), Cmd::Layout)],
        "overlay / side by side",
        1,
        "layout",
    ),
    h(X::Compare, METRICS, "next / previous metric", 1, "metric"),
    h(
        X::Compare,
        &[(c('y'), Cmd::LogY)],
        "log-y on / off",
        1,
        "log-y",
    ),
    h(
        X::Compare,
        &[(c('s'), Cmd::Smooth)],
        "smoothing on / off",
        1,
        "smooth",
    ),
    h(X::Compare, UP_DOWN, "scroll the table", 2, "scroll"),
    h(
        X::Compare,
        &[(p(K::Esc), Cmd::Back), (c('c'), Cmd::Back)],
        "back",
        1,
        "back",
    ),
    // figure
    h(
        X::Figure,
        &[
            (p(K::Left), Cmd::PrevFigure),
            (p(K::Right), Cmd::NextFigure),
            (c('h'), Cmd::PrevFigure),
            (c('l'), Cmd::NextFigure),
            (p(K::BackTab), Cmd::PrevFigure),
            (p(K::Tab), Cmd::NextFigure),
        ],
        "previous / next figure",
        2,
        "figure",
    ),
    h(
        X::Figure,
        &[(p(K::Esc), Cmd::Back), (c('f'), Cmd::Back)],
        "back",
        1,
        "back",
    ),
    // help
    h(X::Help, UP_DOWN, "scroll", 2, "scroll"),
    b(
        X::Help,
        &[
            (p(K::PageUp), Cmd::PageUp),
            (p(K::PageDown), Cmd::PageDown),
            (c(' '), Cmd::PageDown),
        ],
        "a page up / down",
    ),
    b(
        X::Help,
        &[(p(K::Home), Cmd::First), (c('g'), Cmd::First)],
        "to the top",
    ),
    h(
        X::Help,
        &[
            (p(K::Esc), Cmd::Back),
            (c('?'), Cmd::Back),
            (c('q'), Cmd::Back),
            (p(K::Enter), Cmd::Back),
        ],
        "close",
        1,
        "close",
    ),
    // questions
    h(
        X::Confirm,
        &[(c('y'), Cmd::Yes), (c('Y'), Cmd::Yes)],
        "yes",
        1,
        "yes",
    ),
    h(
        X::Confirm,
        &[(c('n'), Cmd::No), (c('N'), Cmd::No), (p(K::Esc), Cmd::No)],
        "no",
        1,
        "no",
    ),
];

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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn labels_read_like_the_keys() {
        assert_eq!(label_of(UP_DOWN.iter().map(|k| k.0)), "↑↓ k j");
        assert_eq!(Key::Ctrl('u').label(), "Ctrl-U");
        assert_eq!(c(' ').label(), "Space");
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
