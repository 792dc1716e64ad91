//! Every key of the lab in one table: the help screen lists it, the hint bar picks from it.

/// Where the keyboard focus is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
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
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Scenarios => "Scenarios",
            Context::Params => "Parameters",
            Context::Editing => "Typing a value",
            Context::Runs => "Runs",
            Context::Chart => "Chart (also from Runs)",
            Context::Compare => "Compare",
            Context::Figure => "Figure and log",
            Context::Help => "Help",
            Context::Confirm => "Questions",
            Context::SaveAs => "Saving a scenario",
        }
    }

    /// The sections of the help screen, in order.
    pub const HELP: [Context; 10] = [
        Context::Global,
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
}

/// One key (or a few equivalent keys) and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    pub keys: &'static str,
    pub action: &'static str,
    /// Shown in the hint bar as (keys, action), for the most useful few.
    pub hint: Option<(&'static str, &'static str)>,
}

const fn b(keys: &'static str, action: &'static str) -> Binding {
    Binding {
        keys,
        action,
        hint: None,
    }
}

/// A binding that also shows in the hint bar, in a short form.
const fn h(
    keys: &'static str,
    action: &'static str,
    hint_keys: &'static str,
    hint: &'static str,
) -> Binding {
    Binding {
        keys,
        action,
        hint: Some((hint_keys, hint)),
    }
}

const GLOBAL: &[Binding] = &[
    h("Tab / S-Tab", "next / previous pane", "Tab", "pane"),
    h("?", "help: every key", "?", "help"),
    h(
        "q  Ctrl-C",
        "quit (asks first while runs are active)",
        "q",
        "quit",
    ),
    b("c", "compare the marked runs"),
    b("f", "figure and log of the selected run"),
    b("m / M", "next / previous metric in the chart"),
    b("y", "log scale on the y axis (on / off)"),
    b("s", "smoothing (on / off)"),
];

const SCENARIOS: &[Binding] = &[
    h("↑↓  j k", "move", "↑↓", "move"),
    b("←→  h l", "fold / unfold a family or experiment"),
    h(
        "Enter",
        "start a run of the scenario (or fold)",
        "Enter",
        "start",
    ),
    b("r", "start a run of the scenario"),
    h("e", "edit its parameters", "e", "edit"),
    b("Home End  g G", "first / last row"),
];

const PARAMS: &[Binding] = &[
    b("↑↓  j k", "choose a parameter"),
    h("Enter  e", "type a value", "Enter", "type"),
    h(
        "←→  h l",
        "flip a boolean, cycle a choice, step an integer",
        "←→",
        "change",
    ),
    h("d", "reset the parameter to its default", "d", "default"),
    h(
        "w",
        "save the edited scenario as a new file",
        "w",
        "save as",
    ),
    h("r", "start a run with these values", "r", "start"),
    h("Esc", "back to the scenarios", "Esc", "back"),
];

const EDITING: &[Binding] = &[
    h("Enter", "apply (only a valid value)", "Enter", "apply"),
    h("Esc", "cancel", "Esc", "cancel"),
    b("←→  Home End", "move in the text"),
    b("Backspace Del", "erase"),
    h("Ctrl-U", "clear", "Ctrl-U", "clear"),
];

const SAVE_AS: &[Binding] = &[
    h("Enter", "save in the scenarios folder", "Enter", "save"),
    h("Esc", "cancel", "Esc", "cancel"),
];

const RUNS: &[Binding] = &[
    b("↑↓  j k", "select a run"),
    h("Space", "mark / unmark for comparison", "Space", "mark"),
    h("c", "compare the marked runs", "c", "compare"),
    h("p", "pause / resume", "p", "pause"),
    h("x", "stop (or drop a queued run)", "x", "stop"),
    h("r", "run again with the same settings", "r", "rerun"),
    h(
        "D  Delete",
        "delete a run and its files (asks)",
        "D",
        "delete",
    ),
    b("u", "unmark all"),
    h("f", "figure and log", "f", "figure"),
    b("Enter", "to the chart"),
];

const CHART: &[Binding] = &[
    h("m M  ←→ h l", "next / previous metric", "m", "metric"),
    h("y", "log-y on / off", "y", "log-y"),
    h("s", "smoothing on / off", "s", "smooth"),
    h("f", "figure and log", "f", "figure"),
    b("↑↓  j k", "previous / next run"),
    b("Esc", "back to the runs"),
];

const COMPARE: &[Binding] = &[
    h("v", "overlay / side by side", "v", "layout"),
    h("m M  ←→ h l", "next / previous metric", "m", "metric"),
    h("y", "log-y on / off", "y", "log-y"),
    h("s", "smoothing on / off", "s", "smooth"),
    h("↑↓  j k", "scroll the table", "↑↓", "scroll"),
    h("Esc", "back", "Esc", "back"),
];

const FIGURE: &[Binding] = &[
    h("←→  h l", "previous / next figure", "←→", "figure"),
    h("Esc  f", "back", "Esc", "back"),
];

const HELP: &[Binding] = &[
    h("↑↓  j k  PgUp PgDn", "scroll", "↑↓", "scroll"),
    h("Esc  ?  q", "close", "Esc", "close"),
];

const CONFIRM: &[Binding] = &[h("y", "yes", "y", "yes"), h("n  Esc", "no", "n", "no")];

pub fn bindings(ctx: Context) -> &'static [Binding] {
    match ctx {
        Context::Global => GLOBAL,
        Context::Scenarios => SCENARIOS,
        Context::Params => PARAMS,
        Context::Editing => EDITING,
        Context::SaveAs => SAVE_AS,
        Context::Runs => RUNS,
        Context::Chart => CHART,
        Context::Compare => COMPARE,
        Context::Figure => FIGURE,
        Context::Help => HELP,
        Context::Confirm => CONFIRM,
    }
}

/// The hint bar's (keys, action) pairs for a context: its own first, then global ones.
pub fn hints(ctx: Context) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<_> = bindings(ctx).iter().filter_map(|b| b.hint).collect();
    if matches!(
        ctx,
        Context::Scenarios | Context::Params | Context::Runs | Context::Chart
    ) {
        v.extend(bindings(Context::Global).iter().filter_map(|b| b.hint));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_context_has_keys_and_hints() {
        for ctx in Context::HELP.iter().copied().chain([Context::Help]) {
            assert!(!bindings(ctx).is_empty(), "{ctx:?}");
            assert!(!hints(ctx).is_empty(), "{ctx:?}");
        }
        let h = hints(Context::Runs);
        assert!(h.iter().any(|(k, _)| *k == "Space"));
        assert!(h.iter().any(|(k, _)| *k == "?"));
        assert_eq!(
            hints(Context::Editing)
                .iter()
                .filter(|(k, _)| *k == "?")
                .count(),
            0,
            "while typing, ? is a character"
        );
    }
}
