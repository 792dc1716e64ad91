//! The runs pane: every run the lab knows, one line each, with its status, progress, latest
//! values and sparklines of its main metric and gradient SNR.

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::engine::{RunState, Status};
use crate::experiments;
use crate::figures::views::siblings;

use super::Pane;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::fmt::{self, clip};
use crate::tui::keymap::Cmd;
use crate::tui::model::run_filter::Filter;
use crate::tui::model::run_list::{RunRow, Runs};
use crate::tui::model::run_tree::Node;
use crate::tui::plot;

mod group_rows;
mod reason;
use crate::tui::theme::{status_icon, Theme};
use crate::tui::widgets::{
    highlight, input_spans, pad, pane_block, rpad, scroll_offset, TextInput,
};
pub(crate) use reason::reason_text;
pub use reason::{note_rows, status_note};

/// The runs filter while it is typed: the text, the filter it replaces, and the verdict on
/// the text so far.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterInput {
    pub input: TextInput,
    pub before: Option<Filter>,
    pub verdict: Result<(), String>,
}

/// The runs pane's own state (the runs themselves are the lab's model, [`Runs`]).
#[derive(Debug, Clone, Default)]
pub struct RunsPane {
    /// The filter being typed (`/`), if it is.
    pub typing: Option<FilterInput>,
}

/// What a key does in the runs pane.
pub fn on_cmd(runs: &mut Runs, pane: &mut RunsPane, cmd: Cmd, out: &mut Vec<Action>) {
    match cmd {
        Cmd::Up => runs.move_by(-1),
        Cmd::Down => runs.move_by(1),
        Cmd::PageUp => runs.move_by(-10),
        Cmd::PageDown => runs.move_by(10),
        Cmd::First => runs.select_first(),
        Cmd::Last => runs.select_last(),
        Cmd::Unfold => runs.unfold(),
        Cmd::Fold => runs.fold(),
        Cmd::Mark => toggle_mark(runs),
        Cmd::UnmarkAll => {
            for r in &mut runs.rows {
                r.marked = false;
            }
            runs.marked_groups.clear();
        }
        Cmd::Compare => out.push(Action::OpenCompare),
        Cmd::Figure => out.push(Action::OpenFigure),
        Cmd::ToChart => out.push(Action::Focus(Pane::Chart)),
        Cmd::SweepScreen => out.push(Action::OpenSweep),
        // a run: continued from its checkpoint (the app falls back to its sweep)
        Cmd::Fork => match runs.selected() {
            Some(num) => out.push(Action::ForkRun(num)),
            None => out.push(Action::Error(
                "select a run to fork (→ unfolds a group, ← goes back up)".into(),
            )),
        },
        Cmd::Resume => out.push(match runs.selected() {
            Some(num) => Action::ResumeRun(num),
            None => Action::ResumeSweep,
        }),
        Cmd::Filter => {
            let text = runs.filter.as_ref().map_or("", |f| f.text.as_str());
            pane.typing = Some(FilterInput {
                input: TextInput::new(text),
                before: runs.filter.clone(),
                verdict: Ok(()),
            });
        }
        Cmd::ClearFilter => runs.set_filter(None),
        Cmd::Pause | Cmd::Stop | Cmd::Rerun | Cmd::Delete => on_run_cmd(runs, cmd, out),
        Cmd::NextSeed => {
            // a run, or a group's first run: the group grows by one seed
            let num = runs.selected().or_else(|| {
                runs.selected_group()
                    .and_then(|g| g.members.first().copied())
            });
            match num {
                Some(num) => out.push(Action::NextSeed(num)),
                None => out.push(Action::Error(
                    "select a run or a group to run again with a new seed".into(),
                )),
            }
        }
        _ => {}
    }
}

/// Marks (or unmarks) the selected run or group for comparison; a sweep marks its groups.
fn toggle_mark(runs: &mut Runs) {
    match runs.cursor.clone() {
        Some(Node::Run(_)) => {
            if let Some(r) = runs.selected_row_mut() {
                r.marked = !r.marked;
            }
        }
        Some(Node::Group(key)) if !runs.marked_groups.remove(&key) => {
            runs.marked_groups.insert(key);
        }
        Some(Node::Group(_)) => {}
        Some(Node::Sweep(id)) => {
            let keys: Vec<String> = runs
                .tree
                .sweep_groups(&id)
                .iter()
                .map(|g| g.key.clone())
                .collect();
            let all = keys.iter().all(|k| runs.marked_groups.contains(k));
            for k in keys {
                if all {
                    runs.marked_groups.remove(&k);
                } else {
                    runs.marked_groups.insert(k);
                }
            }
        }
        None => {}
    }
}

/// Pause, stop, run again, delete: on a run; stop also on a group or a sweep (every run of
/// it that trains or waits).
fn on_run_cmd(runs: &Runs, cmd: Cmd, out: &mut Vec<Action>) {
    match (runs.selected(), cmd) {
        (Some(num), Cmd::Pause) => out.push(Action::PauseResume(num)),
        // a stop cannot be undone: it asks first
        (Some(num), Cmd::Stop) => out.push(Action::AskStop(Box::new(Action::Stop(num)))),
        (Some(num), Cmd::Rerun) => out.push(Action::Rerun(num)),
        (Some(num), Cmd::Delete) => out.push(Action::AskDelete(num)),
        (None, Cmd::Stop) if runs.cursor.is_some() => out.push(Action::AskStop(Box::new(
            Action::StopRuns(runs.selected_runs()),
        ))),
        (None, _) if runs.cursor.is_some() => out.push(Action::Error(
            "select a run for this (→ unfolds a group, ← goes back up)".into(),
        )),
        _ => {}
    }
}

pub(super) struct Cols {
    pub(super) exp: usize,
    pub(super) differs: usize,
    pub(super) status: usize,
    pub(super) step: usize,
    pub(super) speed: usize,
    pub(super) eta: usize,
    pub(super) latest: usize,
    pub(super) trend: usize,
    /// The gradient SNR's sparkline (0: no room for it).
    pub(super) snr: usize,
}

/// What a key does while the filter is typed: the table follows every valid text.
pub fn on_filter_typing(runs: &mut Runs, pane: &mut RunsPane, cmd: Cmd, key: &KeyEvent) {
    let Some(mut t) = pane.typing.take() else {
        return;
    };
    match cmd {
        Cmd::Cancel => {
            runs.set_filter(t.before);
            return;
        }
        Cmd::Apply if t.verdict.is_ok() => return,
        Cmd::Apply => {}
        _ => {
            t.input.edit(cmd, key);
            match Filter::parse(&t.input.text) {
                Ok(f) => {
                    t.verdict = Ok(());
                    runs.set_filter(Some(f));
                }
                Err(e) => t.verdict = Err(e),
            }
        }
    }
    pane.typing = Some(t);
}

/// The pane's title: how many runs are marked, and the filter with what it lets through.
fn title(t: Theme, runs: &Runs) -> Line<'static> {
    let mut title = vec![Span::styled(" Runs ", t.title())];
    let marked = runs.marked().len();
    if marked > 0 {
        title.push(Span::styled(format!("{marked} marked "), t.edited()));
    }
    if let Some(f) = &runs.filter {
        title.push(Span::styled(
            format!(
                "· filter: {} · {} of {} runs ",
                f.text,
                runs.passing(),
                runs.rows.len()
            ),
            t.key(),
        ));
    }
    Line::from(title)
}

/// The line that takes the column header's place while the filter is typed.
fn typing_line(t: Theme, typing: &FilterInput, w: usize) -> Line<'static> {
    let mut spans = vec![Span::styled("filter ", t.heading())];
    let field_w = (w / 2).max(10);
    spans.extend(input_spans(
        t,
        &typing.input.text,
        typing.input.cursor,
        field_w,
    ));
    if let Err(e) = &typing.verdict {
        let room = w.saturating_sub(field_w + 9);
        spans.push(Span::styled(format!(" ✗ {}", clip(e, room)), t.error()));
    }
    Line::from(spans)
}

/// A column and the space after it; a column of width 0 is left out.
fn col(w: usize) -> usize {
    if w > 0 {
        w + 1
    } else {
        0
    }
}

/// The narrowest differs column: a group's run, `  seed 12`.
const MIN_DIFFERS: usize = 9;

fn columns(w: usize) -> Cols {
    // fixed: mark+icon 2, # 3, separators. In a narrow pane the status shows as its icon
    // only, and speed and ETA (on the chart's frame too) make room for the parameters.
    let wide = w >= 120;
    let narrow = w < 76;
    let exp = if wide { 18 } else { 4 };
    let status = match w {
        100.. => 11,
        76.. => 8,
        _ => 0,
    };
    let step = if narrow { 9 } else { 11 };
    let (speed, eta) = if narrow { (0, 0) } else { (7, 6) };
    let latest = if wide { 30 } else { 7 };
    let fixed =
        2 + 1 + 3 + 1 + exp + 1 + col(status) + step + 1 + col(speed) + col(eta) + latest + 1;
    let rest = w.saturating_sub(fixed);
    // what sets a run apart (`d=10`, a group's `seed 2`) before its trend: a column too
    // narrow for either shows only `…`, so the trend goes first
    let sparks = if rest < MIN_DIFFERS + 1 + 6 {
        0
    } else {
        (rest / 2).clamp(6, 24).min(rest - MIN_DIFFERS - 1)
    };
    let differs = rest.saturating_sub(sparks + usize::from(sparks > 0));
    // the main metric's trend, and the gradient SNR's next to it when there is room
    let (trend, snr) = if sparks >= 13 {
        let snr = sparks / 2;
        (sparks - snr - 1, snr)
    } else {
        (sparks, 0)
    };
    Cols {
        exp,
        differs,
        status,
        step,
        speed,
        eta,
        latest,
        trend,
        snr,
    }
}

/// The run's whole-model gradient SNR: `grad_snr`, or the first `<method>/grad_snr` of a run
/// that compares methods.
pub(super) fn snr_metric(s: &RunState) -> Option<&str> {
    if s.metrics.contains_key("grad_snr") {
        return Some("grad_snr");
    }
    s.metrics
        .keys()
        .find(|k| k.ends_with("/grad_snr"))
        .map(String::as_str)
}

fn status_text(s: Status, w: usize) -> String {
    let label = match (s, w < 11) {
        (Status::Interrupted, true) => "cut off",
        (Status::Elsewhere, true) => "external",
        (Status::Elsewhere, false) if w < s.label().len() => "elsewhere",
        _ => s.label(),
    };
    pad(label, w)
}

/// Draws the table of runs.
pub fn render(f: &mut Frame, app: &App, area: Rect) {
    let t = app.settings.theme;
    let focused = app.focus == Pane::Runs;
    let block = pane_block(t, title(t, &app.runs), focused);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = inner.width as usize;
    if app.runs.rows.is_empty() && app.runs_pane.typing.is_none() {
        let lines = vec![
            Line::from(Span::styled("No runs yet.", t.heading())),
            Line::from(Span::styled(
                "Select a scenario and press Enter to start one; saved runs come back here.",
                t.dim(),
            )),
        ];
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
        return;
    }
    let c = columns(w);
    let mut header = format!(
        "   {} {} {} ",
        rpad("#", 3),
        pad("exp", c.exp),
        pad("differs", c.differs)
    );
    for (text, width, right) in [
        ("status", c.status, false),
        ("step", c.step, true),
        ("speed", c.speed, true),
        ("ETA", c.eta, true),
        ("latest", c.latest, true),
        ("trend", c.trend, false),
        (if c.snr >= 9 { "snr (log)" } else { "snr" }, c.snr, false),
    ] {
        if width > 0 {
            header.push_str(&if right {
                rpad(text, width)
            } else {
                pad(text, width)
            });
            header.push(' ');
        }
    }
    let mut lines = vec![match &app.runs_pane.typing {
        Some(typing) => typing_line(t, typing, w),
        None => Line::from(Span::styled(clip(header.trim_end(), w), t.heading())),
    }];
    if app.runs.shown() == 0 && !app.runs.rows.is_empty() {
        lines.push(Line::from(Span::styled(
            "no run matches the filter (Esc shows every run)",
            t.dim(),
        )));
    }
    let height = (inner.height as usize).saturating_sub(1);
    let rows = app.runs.display_rows();
    let sel = app.runs.selected_index().unwrap_or(0);
    let offset = scroll_offset(sel, rows.len(), height);
    for (node, depth) in rows.into_iter().skip(offset).take(height) {
        let mut line = match &node {
            Node::Run(num) => match app.runs.get(*num) {
                Some(r) => run_line(t, app, r, &c, w, depth),
                None => continue,
            },
            Node::Group(key) => match app.runs.tree.group(key) {
                Some(g) => group_rows::group_line(t, app, g, &c, depth),
                None => continue,
            },
            Node::Sweep(id) => group_rows::sweep_line(t, app, id, &c),
        };
        if app.runs.cursor.as_ref() == Some(&node) {
            line = highlight(line, t.selected(focused), w);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// A cell of `w` columns and the space after it; nothing when the column is left out.
pub(super) fn cell(
    spans: &mut Vec<Span<'static>>,
    text: String,
    w: usize,
    style: ratatui::style::Style,
) {
    if w > 0 {
        spans.push(Span::styled(text, style));
        spans.push(Span::raw(" "));
    }
}

/// The experiment's column: its id, and its name where it fits whole.
fn exp_text(experiment: &str, w: usize) -> String {
    let name = experiments::find(experiment).map(|d| d.name).unwrap_or("");
    let full = format!("{experiment} {name}");
    if w > 6 && full.chars().count() <= w {
        full
    } else {
        experiment.to_string()
    }
}

/// Where a fork comes from: `fork #3@5000` (its parent's number in the table, or its run id
/// when the parent is not in it, and the step of the checkpoint).
fn fork_text(app: &App, r: &RunRow) -> Option<String> {
    let (parent, step) = r.state.fork.as_ref()?;
    let who = app
        .runs
        .by_id(parent)
        .map_or_else(|| parent.clone(), |p| format!("#{}", p.num));
    Some(format!("fork {who}@{step}"))
}

/// A run's seed under its group, indented by `depth` as room allows: `    seed 3`, then
/// `seed 3`, then the seed alone; never a cut `seed 6…`.
pub(crate) fn seed_text(seed: &str, depth: u8, w: usize) -> String {
    let tries = [
        format!("{}seed {seed}", "  ".repeat(depth as usize)),
        format!("{}seed {seed}", " ".repeat(depth as usize)),
        format!("seed {seed}"),
        format!("{}{seed}", " ".repeat(depth as usize)),
        seed.to_string(),
    ];
    tries
        .into_iter()
        .find(|t| t.chars().count() <= w)
        .unwrap_or_else(|| fmt::clip_middle(seed, w))
}

/// What sets a run apart in `w` columns: the `name=value` pairs that fit whole, then
/// `+2` for those left out; a first pair too long for the column is cut in its middle,
/// keeping its value (`st…e2e=300`).
pub(crate) fn fit_pairs(pairs: &[(String, String)], w: usize) -> String {
    let texts: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let all = texts.join(" ");
    if all.chars().count() <= w {
        return all;
    }
    for n in (1..texts.len()).rev() {
        let shown = format!("{} +{}", texts[..n].join(" "), texts.len() - n);
        if shown.chars().count() <= w {
            return shown;
        }
    }
    let Some(first) = texts.first() else {
        return String::new();
    };
    let more = if texts.len() > 1 {
        format!(" +{}", texts.len() - 1)
    } else {
        String::new()
    };
    let room = w.saturating_sub(more.chars().count());
    if room >= 6 {
        format!("{}{more}", fmt::clip_middle(first, room))
    } else {
        fmt::clip_middle(first, w)
    }
}

/// A run's row; inside a group (depth > 0) its parameters are the group's, so it shows its
/// seed.
fn run_line(t: Theme, app: &App, r: &RunRow, c: &Cols, w: usize, depth: u8) -> Line<'static> {
    let s = &r.state;
    let mark = if r.marked { "*" } else { " " };
    let differs = if depth > 0 {
        let seed = s.seed.map_or("random".into(), |x| x.to_string());
        seed_text(&seed, depth, c.differs)
    } else {
        match fork_text(app, r) {
            Some(f) if r.differs.is_empty() => fmt::clip_middle(&f, c.differs),
            Some(f) => {
                let rest = c.differs.saturating_sub(f.chars().count() + 1);
                if rest >= 6 {
                    format!("{f} {}", fit_pairs(&r.differs, rest))
                } else {
                    fmt::clip_middle(&f, c.differs)
                }
            }
            None => fit_pairs(&r.differs, c.differs),
        }
    };
    let mut spans = vec![
        Span::styled(mark, t.edited()),
        Span::styled(status_icon(s.status), t.status(s.status)),
        Span::raw(" "),
        Span::raw(rpad(&r.num.to_string(), 3)),
        Span::raw(" "),
        Span::raw(pad(&exp_text(&s.experiment, c.exp), c.exp)),
        Span::raw(" "),
        Span::raw(pad(&differs, c.differs)),
        Span::raw(" "),
    ];
    let status = status_text(s.status, c.status);
    cell(&mut spans, status, c.status, t.status(s.status));
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let bad_end = matches!(
        s.status,
        Status::Diverged | Status::Failed | Status::Interrupted
    );
    match (&s.reason, bad_end) {
        (Some(reason), true) => {
            spans.push(Span::styled(
                reason_text(
                    s.step,
                    reason,
                    (c.status == 0).then(|| s.status.label()),
                    w.saturating_sub(used),
                ),
                t.status(s.status),
            ));
        }
        _ => progress_cells(&mut spans, t, app, r, c),
    }
    Line::from(spans)
}

/// The latest values in `w` columns: of the main metric and, for a run that trains several
/// methods side by side (E2, E4, E10), of the same quantity of each (`e2e 0.485 · dec 0.94`,
/// or `.49/.94` where room is short); in a wide column, of the first metrics with names.
pub(crate) fn latest_text(r: &RunRow, w: usize) -> String {
    let s = &r.state;
    let Some(main) = r.main_metric() else {
        return String::new();
    };
    let methods: Vec<(String, f64)> = std::iter::once(main.to_string())
        .chain(siblings(&s.metrics, main).into_iter().map(|(n, _)| n))
        .filter_map(|m| s.latest(&m).map(|v| (m, v)))
        .collect();
    if methods.len() > 1 {
        let named = methods
            .iter()
            .map(|(m, v)| {
                let method = m.split_once('/').map_or(m.as_str(), |(g, _)| g);
                format!("{method} {}", fmt::value(*v))
            })
            .collect::<Vec<_>>()
            .join(" · ");
        if named.chars().count() <= w {
            return named;
        }
        let values = |f: fn(f64) -> String| {
            methods
                .iter()
                .map(|(_, v)| f(*v))
                .collect::<Vec<_>>()
                .join("/")
        };
        let full = values(fmt::value);
        return if full.chars().count() <= w {
            full
        } else {
            values(fmt::tiny)
        };
    }
    if w > 10 {
        // as many whole `name value` pairs as fit (never a cut `train_lo…`)
        let mut text = String::new();
        for m in r.metric_names().iter().take(3) {
            let Some(v) = s.latest(m) else { continue };
            let pair = format!("{m} {}", fmt::value(v));
            let sep = if text.is_empty() { "" } else { " · " };
            if text.chars().count() + sep.chars().count() + pair.chars().count() > w {
                break;
            }
            text.push_str(sep);
            text.push_str(&pair);
        }
        if text.is_empty() {
            s.latest(main).map(fmt::value).unwrap_or_default()
        } else {
            text
        }
    } else {
        s.latest(main).map(fmt::value).unwrap_or_default()
    }
}

/// Step, speed, ETA, latest values and the sparklines of a run that did not end badly.
fn progress_cells(spans: &mut Vec<Span<'static>>, t: Theme, app: &App, r: &RunRow, c: &Cols) {
    let s = &r.state;
    let step = if s.total > 0 {
        format!("{}/{}", fmt::count(s.step), fmt::count(s.total))
    } else if s.step > 0 {
        fmt::count(s.step)
    } else {
        String::new()
    };
    let live = matches!(s.status, Status::Running | Status::Elsewhere);
    let speed = if live {
        fmt::rate(s.steps_per_sec)
    } else {
        String::new()
    };
    let eta = s.eta_secs().map(fmt::duration).unwrap_or_default();
    let main = r.main_metric();
    let latest = latest_text(r, c.latest);
    let trend = main
        .and_then(|m| s.metrics.get(m))
        .map(|series| plot::sparkline(series, c.trend, app.chart.look(main.unwrap_or("")).log_y))
        .unwrap_or_default();
    cell(spans, rpad(&step, c.step), c.step, t.text());
    cell(spans, rpad(&speed, c.speed), c.speed, t.dim());
    cell(spans, rpad(&eta, c.eta), c.eta, t.dim());
    cell(spans, rpad(&latest, c.latest), c.latest, t.heading());
    cell(spans, pad(&trend, c.trend), c.trend, t.series(0).0);
    if c.snr > 0 {
        let snr = snr_metric(s)
            .and_then(|m| s.metrics.get(m))
            .map(|series| plot::sparkline(series, c.snr, true))
            .unwrap_or_default();
        cell(spans, pad(&snr, c.snr), c.snr, t.series(1).0);
    }
    // no space after the last column
    spans.pop();
}
