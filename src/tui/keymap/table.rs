//! The key table: every binding of the lab, by context, in help-screen order.

use crossterm::event::KeyCode;

use super::{Binding, Cmd, Context, Key};

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

pub(super) const UP_DOWN: &[(Key, Cmd)] = &[
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
        X::Global,
        &[(c('E'), Cmd::Export)],
        "export the chart, comparison or figure on screen to runs/exports (SVG, PNG)",
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
        "compare the marked runs or groups",
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
    b(
        X::Main,
        &[(c('X'), Cmd::LogX)],
        "log scale on the x axis (on / off; with y: log-log)",
    ),
    b(
        X::Main,
        &[(c('T'), Cmd::Theory)],
        "the theory's reference lines (T1's bound, E4's k, E5's n^3.5, float32) on / off",
    ),
    b(X::Main, &[(c('s'), Cmd::Smooth)], "smoothing (on / off)"),
    b(
        X::Main,
        &[(c('b'), Cmd::Band)],
        "a group's band: min..max or ± 1 sd",
    ),
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
    b(
        X::Runs,
        UP_DOWN,
        "select a run, a group or a sweep (a click too)",
    ),
    b(X::Runs, PAGES, "a page up / down"),
    b(X::Runs, ENDS, "first / last row"),
    b(
        X::Runs,
        &[(p(K::Right), Cmd::Unfold), (p(K::Left), Cmd::Fold)],
        "unfold a sweep or a group / fold it (or go up to it)",
    ),
    b(
        X::Runs,
        &[(c('R'), Cmd::Resume)],
        "resume a stopped run, or what a sweep did not finish",
    ),
    b(
        X::Runs,
        &[(c('F'), Cmd::Fork)],
        "fork from a kept checkpoint with the editor's values",
    ),
    h(
        X::Runs,
        &[(c(' '), Cmd::Mark)],
        "mark / unmark a run or a group for comparison",
        1,
        "mark",
    ),
    b(X::Runs, &[(c('u'), Cmd::UnmarkAll)], "unmark all"),
    h(
        X::Runs,
        &[(c('c'), Cmd::Compare)],
        "compare the marked runs or groups",
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
        "stop (or drop a queued run); groups and sweeps too",
        1,
        "stop",
    ),
    h(
        X::Runs,
        &[(c('r'), Cmd::Rerun)],
        "run again with the same settings and seed",
        1,
        "rerun",
    ),
    h(
        X::Runs,
        &[(c('n'), Cmd::NextSeed)],
        "run again with the next seed its group has not used",
        1,
        "new seed",
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
    h(
        X::Runs,
        &[(c('S'), Cmd::SweepScreen)],
        "the sweep screen: grid table and summary chart",
        1,
        "sweep",
    ),
    b(X::Runs, &[(p(K::Enter), Cmd::ToChart)], "to the chart"),
    h(
        X::Runs,
        &[(c('/'), Cmd::Filter)],
        "filter: words, d=30, lr>0.01, status=failed, acc>0.9",
        1,
        "filter",
    ),
    b(
        X::Runs,
        &[(p(K::Esc), Cmd::ClearFilter)],
        "show every run again",
    ),
    // typing the filter
    h(
        X::Filtering,
        &[(p(K::Enter), Cmd::Apply)],
        "keep the filter",
        1,
        "keep",
    ),
    h(
        X::Filtering,
        &[(p(K::Esc), Cmd::Cancel)],
        "back to the filter before",
        1,
        "cancel",
    ),
    b(
        X::Filtering,
        &[
            (p(K::Left), Cmd::CursorLeft),
            (p(K::Right), Cmd::CursorRight),
            (p(K::Home), Cmd::CursorHome),
            (p(K::End), Cmd::CursorEnd),
        ],
        "move in the text",
    ),
    b(
        X::Filtering,
        &[
            (p(K::Backspace), Cmd::Erase),
            (p(K::Delete), Cmd::EraseForward),
            (Key::Ctrl('u'), Cmd::Clear),
        ],
        "erase, clear",
    ),
    b(
        X::Filtering,
        &[(Key::AnyChar, Cmd::Insert)],
        "typed into the filter (the table follows as you type)",
    ),
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
    b(
        X::Chart,
        &[(c('X'), Cmd::LogX)],
        "log-x on / off (with log-y: log-log)",
    ),
    b(
        X::Chart,
        &[(c('T'), Cmd::Theory)],
        "the theory's reference lines on / off (the formula in the legend)",
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
    h(
        X::Chart,
        &[(c('/'), Cmd::Filter)],
        "find a metric: the list keeps the names with every word typed",
        1,
        "find",
    ),
    b(X::Chart, &[(c('b'), Cmd::Band)], "band: min..max or ± 1 sd"),
    b(
        X::Chart,
        &[(c('t'), Cmd::Success)],
        "a group: share of its runs past a threshold, by step",
    ),
    b(
        X::Chart,
        &[(c('H'), Cmd::HiddenProgress)],
        "a parity run: loss, accuracy and fourier_target against fourier_max_other in one chart",
    ),
    b(X::Chart, UP_DOWN, "previous / next row of the runs"),
    b(X::Chart, &[(p(K::Esc), Cmd::Back)], "back to the runs"),
    // searching the metrics
    h(
        X::MetricSearch,
        &[(p(K::Enter), Cmd::Apply)],
        "keep the metric shown",
        1,
        "keep",
    ),
    h(
        X::MetricSearch,
        &[(p(K::Esc), Cmd::Cancel)],
        "back to the metric before",
        1,
        "cancel",
    ),
    h(
        X::MetricSearch,
        UP_DOWN,
        "previous / next metric found",
        2,
        "found",
    ),
    b(
        X::MetricSearch,
        &[
            (p(K::Left), Cmd::CursorLeft),
            (p(K::Right), Cmd::CursorRight),
            (p(K::Home), Cmd::CursorHome),
            (p(K::End), Cmd::CursorEnd),
        ],
        "move in the text",
    ),
    b(
        X::MetricSearch,
        &[
            (p(K::Backspace), Cmd::Erase),
            (p(K::Delete), Cmd::EraseForward),
            (Key::Ctrl('u'), Cmd::Clear),
        ],
        "erase, clear",
    ),
    b(
        X::MetricSearch,
        &[(Key::AnyChar, Cmd::Insert)],
        "typed into the search (the list and the chart follow as you type)",
    ),
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
    b(
        X::Compare,
        &[(c('X'), Cmd::LogX)],
        "log-x on / off (with log-y: log-log)",
    ),
    h(
        X::Compare,
        &[(c('s'), Cmd::Smooth)],
        "smoothing on / off",
        1,
        "smooth",
    ),
    h(X::Compare, UP_DOWN, "scroll the table", 2, "scroll"),
    b(
        X::Compare,
        &[(c('b'), Cmd::Band)],
        "groups' bands: min..max or ± 1 sd",
    ),
    h(
        X::Compare,
        &[(p(K::Esc), Cmd::Back), (c('c'), Cmd::Back)],
        "back",
        1,
        "back",
    ),
    // sweep screen
    h(X::Sweep, UP_DOWN, "select a grid point", 2, "move"),
    h(
        X::Sweep,
        &[(c('o'), Cmd::Sort), (c('O'), Cmd::SortReverse)],
        "sort by the next column / reverse the order",
        2,
        "sort",
    ),
    h(
        X::Sweep,
        METRICS,
        "next / previous summary metric",
        1,
        "metric",
    ),
    h(
        X::Sweep,
        &[(c('a'), Cmd::NextAxis)],
        "the next swept parameter on the x axis",
        1,
        "x axis",
    ),
    b(X::Sweep, &[(c('y'), Cmd::LogY)], "log-y on / off"),
    b(
        X::Sweep,
        &[(c('X'), Cmd::LogX)],
        "log-x on / off (with log-y: log-log)",
    ),
    b(
        X::Sweep,
        &[(c('F'), Cmd::Fit)],
        "fit a growth law to each line: power (y = a·x^b), exponential (y = a·e^(b·x)), off",
    ),
    b(
        X::Sweep,
        &[(c('i'), Cmd::Interval)],
        "95% intervals of the results on / off",
    ),
    b(
        X::Sweep,
        &[(c('b'), Cmd::Band)],
        "error bars: min..max or ± 1 sd",
    ),
    b(
        X::Sweep,
        &[(p(K::Enter), Cmd::ToChart)],
        "the selected grid point's group in the chart",
    ),
    h(
        X::Sweep,
        &[(p(K::Esc), Cmd::Back), (c('S'), Cmd::Back)],
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
    b(
        X::Confirm,
        UP_DOWN,
        "pick (the checkpoint a fork starts from)",
    ),
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
