//! The boxes drawn over a screen that take the keys until they close: help, the two
//! questions (quit, delete) and the save-as box.

use std::path::PathBuf;

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use ratatui::Frame;

use super::help;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::fmt::clip;
use crate::tui::keymap::{Cmd, Context};
use crate::tui::widgets::{centered, confirm, input_line, key_legend, TextInput};

/// A box on top of the screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help {
        scroll: usize,
    },
    ConfirmQuit,
    ConfirmDelete(usize),
    /// A stop (of a run, a group's or a sweep's runs) waits for a yes: `what` it stops.
    ConfirmStop {
        stop: Box<Action>,
        what: String,
    },
    /// A sweep of this many runs waits for a yes.
    ConfirmSweep(usize),
    SaveAs(SaveAs),
    /// The checkpoint a fork starts from.
    ForkStep(ForkPick),
}

/// The fork box: run #num's kept checkpoints and its latest (`None`), oldest first, and the
/// one picked.
#[derive(Debug, Clone, PartialEq)]
pub struct ForkPick {
    pub num: usize,
    pub steps: Vec<Option<u64>>,
    /// The latest checkpoint's step.
    pub latest: Option<u64>,
    pub pick: usize,
}

/// The save-as box: the name typed so far, and whether it can be written (checked against
/// the scenarios folder when the name changes).
#[derive(Debug, Clone, PartialEq)]
pub struct SaveAs {
    pub input: TextInput,
    pub verdict: Result<PathBuf, String>,
}

impl SaveAs {
    pub fn new(name: &str, verdict: Result<PathBuf, String>) -> Self {
        Self {
            input: TextInput::new(name),
            verdict,
        }
    }
}

/// What a key does in a box: the box as it stays (`None` once it closes).
pub fn on_cmd(o: Overlay, cmd: Cmd, key: &KeyEvent, out: &mut Vec<Action>) -> Option<Overlay> {
    match o {
        Overlay::Help { scroll } => {
            help::on_cmd(scroll, cmd).map(|scroll| Overlay::Help { scroll })
        }
        Overlay::ConfirmQuit => match cmd {
            Cmd::Yes => {
                out.push(Action::Quit);
                None
            }
            Cmd::No => None,
            _ => Some(o),
        },
        Overlay::ConfirmDelete(num) => match cmd {
            Cmd::Yes => {
                out.push(Action::Delete(num));
                None
            }
            Cmd::No => None,
            _ => Some(o),
        },
        Overlay::ConfirmStop { stop, what } => match cmd {
            Cmd::Yes => {
                out.push(*stop);
                None
            }
            Cmd::No => None,
            _ => Some(Overlay::ConfirmStop { stop, what }),
        },
        Overlay::ConfirmSweep(_) => match cmd {
            Cmd::Yes => {
                out.push(Action::StartSweep);
                None
            }
            Cmd::No => None,
            _ => Some(o),
        },
        Overlay::ForkStep(mut p) => match cmd {
            Cmd::Up => {
                p.pick = p.pick.saturating_sub(1);
                Some(Overlay::ForkStep(p))
            }
            Cmd::Down => {
                p.pick = (p.pick + 1).min(p.steps.len().saturating_sub(1));
                Some(Overlay::ForkStep(p))
            }
            Cmd::Yes => {
                out.push(Action::ForkRunAt {
                    num: p.num,
                    step: p.steps.get(p.pick).copied().flatten(),
                });
                None
            }
            Cmd::No => None,
            _ => Some(Overlay::ForkStep(p)),
        },
        Overlay::SaveAs(mut b) => match cmd {
            Cmd::Cancel => None,
            Cmd::Apply => {
                // the box closes once the file is written; if it cannot be, it stays
                out.push(Action::SaveScenario(b.input.text.clone()));
                Some(Overlay::SaveAs(b))
            }
            _ => {
                b.input.edit(cmd, key);
                out.push(Action::CheckSaveName);
                Some(Overlay::SaveAs(b))
            }
        },
    }
}

/// Draws the box over `body`.
pub fn render(f: &mut Frame, app: &App, o: &Overlay, body: Rect) {
    let t = app.settings.theme;
    match o {
        Overlay::Help { scroll } => help::render(f, t, body, *scroll),
        Overlay::ConfirmQuit => {
            let (n, edited) = (app.runs.active(), app.scenarios.edited());
            let mut text = Vec::new();
            if n > 0 {
                text.push(format!(
                    "{n} run(s) are still active (training, paused or queued): quitting stops \
                     them; what they recorded so far stays in the runs folder."
                ));
            }
            if edited > 0 {
                text.push(format!(
                    "{edited} scenario(s) have edits not saved, lost on quitting (w in the \
                     parameters pane saves them as a new file)."
                ));
            }
            let yes = if n > 0 { "stop them and quit  " } else { "quit  " };
            confirm(
                f,
                t,
                body,
                " Quit? ",
                &text,
                key_legend(
                    t,
                    Context::Confirm,
                    &[(&[Cmd::Yes], yes), (&[Cmd::No], "stay")],
                ),
            )
        }
        Overlay::ConfirmStop { what, .. } => confirm(
            f,
            t,
            body,
            " Stop? ",
            &[
                format!("Stop {what}? Queued runs are dropped; the others end at their current step and keep what they recorded."),
                "R later continues it from its last checkpoint (every experiment that trains writes them; E3, E5, T1 and L3 start again at step 0); r runs it again from the start.".into(),
            ],
            key_legend(
                t,
                Context::Confirm,
                &[(&[Cmd::Yes], "stop  "), (&[Cmd::No], "keep going")],
            ),
        ),
        Overlay::ConfirmDelete(num) => {
            let what = app
                .runs
                .get(*num)
                .map(|r| {
                    let dir = r
                        .state
                        .dir
                        .as_ref()
                        .map(|d| d.display().to_string())
                        .unwrap_or_else(|| "(no files)".into());
                    format!("run #{num} ({}) and its folder {dir}", r.label())
                })
                .unwrap_or_default();
            confirm(
                f,
                t,
                body,
                " Delete? ",
                &[format!("Delete {what}?"), "This cannot be undone.".into()],
                key_legend(
                    t,
                    Context::Confirm,
                    &[(&[Cmd::Yes], "delete  "), (&[Cmd::No], "keep")],
                ),
            )
        }
        Overlay::ConfirmSweep(n) => {
            let cores = app.pool.limit();
            confirm(
                f,
                t,
                body,
                " Start a sweep? ",
                &[
                    format!("The grid and the seeds make {n} runs."),
                    format!("They train {cores} at a time; the others wait in the queue."),
                ],
                key_legend(
                    t,
                    Context::Confirm,
                    &[(&[Cmd::Yes], "start them  "), (&[Cmd::No], "not now")],
                ),
            )
        }
        Overlay::SaveAs(b) => render_save_as(f, app, b, body),
        Overlay::ForkStep(p) => render_fork_step(f, app, p, body),
    }
}

fn render_fork_step(f: &mut Frame, app: &App, p: &ForkPick, body: Rect) {
    let t = app.settings.theme;
    let w = 52.min(body.width.saturating_sub(4));
    let shown = p
        .steps
        .len()
        .min(body.height.saturating_sub(7) as usize)
        .max(1);
    let area = centered(body, w, shown as u16 + 6);
    f.render_widget(Clear, area);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(t.border(true))
        .title(Span::styled(
            format!(" Fork run #{} from ", p.num),
            t.title(),
        ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let iw = inner.width as usize;
    let mut lines = vec![Line::from(Span::styled(
        clip("the checkpoint of step (the editor's values apply)", iw),
        t.dim(),
    ))];
    // the picked step stays in view in a long list
    let first = (p.pick + 1).saturating_sub(shown);
    for (i, s) in p.steps.iter().enumerate().skip(first).take(shown) {
        let text = match s {
            Some(step) => format!("  {step}  kept"),
            None => format!(
                "  {}  latest",
                p.latest.map_or("?".into(), |s| s.to_string())
            ),
        };
        let line = clip(&text, iw);
        lines.push(if i == p.pick {
            Line::from(Span::styled(format!("{line:<iw$}"), t.selected(true)))
        } else {
            Line::from(line)
        });
    }
    lines.push(Line::from(""));
    lines.push(key_legend(
        t,
        Context::Confirm,
        &[
            (&[Cmd::Up, Cmd::Down], "pick  "),
            (&[Cmd::Yes], "fork  "),
            (&[Cmd::No], "cancel"),
        ],
    ));
    f.render_widget(Paragraph::new(lines), inner);
}

fn render_save_as(f: &mut Frame, app: &App, b: &SaveAs, body: Rect) {
    let t = app.settings.theme;
    let dir = app.scenarios.dir.display().to_string();
    let w = 64.min(body.width.saturating_sub(4));
    let area = centered(body, w, 7);
    f.render_widget(Clear, area);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.border(true))
        .title(Span::styled(" Save the edited scenario as ", t.title()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let iw = inner.width as usize;
    let verdict = match &b.verdict {
        Ok(p) => Line::from(Span::styled(
            clip(&format!("will write {}", p.display()), iw),
            t.ok(),
        )),
        Err(e) => Line::from(Span::styled(clip(e, iw), t.error())),
    };
    let lines = vec![
        Line::from(Span::styled(format!("in {dir}/"), t.dim())),
        input_line(t, &b.input.text, b.input.cursor, iw),
        verdict,
        Line::from(""),
        key_legend(
            t,
            Context::SaveAs,
            &[(&[Cmd::Apply], "save"), (&[Cmd::Cancel], "cancel")],
        ),
    ];
    f.render_widget(Paragraph::new(lines), inner);
}
