//! The terminal side: raw mode and the alternate screen (always undone, even on a panic), the
//! loop that drains worker events, reads keys and draws at most ~30 frames a second and only
//! after a change, and the shutdown that stops every run and waits for its files.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event as TermEvent, KeyEventKind,
};
use crossterm::execute;
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::Backend;
use ratatui::Terminal;

use super::app::App;
use super::{log, view};

/// The shortest time between two frames (about 30 a second).
pub const FRAME: Duration = Duration::from_millis(33);
/// How long the loop sleeps at most when nothing happens (signals are checked this often).
const IDLE: Duration = Duration::from_millis(200);

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The user quit.
    Quit,
    /// SIGTERM, SIGHUP or SIGINT arrived.
    Signal,
}

/// What the loop did, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopStats {
    pub frames: u64,
    pub turns: u64,
}

/// Where keys come from: waits at most the given time for the next terminal event.
pub type Input<'a> = dyn FnMut(Duration) -> io::Result<Option<TermEvent>> + 'a;

/// Reads the real terminal on a thread of its own, so that the loop never blocks inside the
/// terminal library.
///
/// crossterm's reader never returns once the terminal is gone (a closed SSH connection, a
/// killed tmux pane): the terminal stays readable, every read gives nothing or EIO, and its
/// `poll` retries at once, forever, whatever its timeout. Called from the loop, that left an
/// orphaned lab spinning a core and deaf to the SIGHUP it had received. Here only the input
/// thread can get caught; the loop waits on a channel, checks the signal flag every turn, and
/// asks the operating system whether the terminal has hung up.
pub struct TerminalInput {
    events: crossbeam_channel::Receiver<io::Result<TermEvent>>,
}

impl TerminalInput {
    pub fn start() -> io::Result<Self> {
        let (tx, events) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("lab-input".into())
            .spawn(move || loop {
                let ev = event::read();
                let failed = ev.is_err();
                if tx.send(ev).is_err() || failed {
                    break;
                }
            })?;
        Ok(TerminalInput { events })
    }

    /// The next terminal event, waiting at most `timeout`; an error once the terminal is gone.
    pub fn next(&mut self, timeout: Duration) -> io::Result<Option<TermEvent>> {
        if terminal_hung_up() {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the terminal hung up",
            ));
        }
        match self.events.recv_timeout(timeout) {
            Ok(Ok(ev)) => Ok(Some(ev)),
            Ok(Err(e)) => Err(e),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Ok(None),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the terminal input ended",
            )),
        }
    }
}

/// Whether the terminal on stdin has hung up (its other end closed).
#[cfg(unix)]
pub fn terminal_hung_up() -> bool {
    let mut fd = libc::pollfd {
        fd: 0,
        events: 0,
        revents: 0,
    };
    // POLLHUP, POLLERR and POLLNVAL are reported whatever `events` asks for
    let n = unsafe { libc::poll(&mut fd, 1, 0) };
    n > 0 && fd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

#[cfg(not(unix))]
pub fn terminal_hung_up() -> bool {
    false
}

/// Runs the lab until the user quits or `stop` is set. Draws the first frame at once, then
/// only when keys, worker events, a resize or an expiring message changed something, and
/// never more often than [`FRAME`].
pub fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    input: &mut Input<'_>,
    stop: &AtomicBool,
    stats: &mut LoopStats,
) -> io::Result<Exit> {
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    loop {
        stats.turns += 1;
        if stop.load(Ordering::Relaxed) {
            return Ok(Exit::Signal);
        }
        dirty |= app.update_from_workers();
        if app.should_quit() {
            return Ok(Exit::Quit);
        }
        if let Ok(size) = terminal.size() {
            if (size.width, size.height) != (app.area.width, app.area.height) {
                app.resize(size.width, size.height);
                dirty = true;
            }
        }
        let now = Instant::now();
        let since = last_draw.map(|t| now - t).unwrap_or(FRAME);
        if dirty && since >= FRAME {
            app.load_shown();
            terminal.draw(|f| view::render(f, app))?;
            stats.frames += 1;
            last_draw = Some(Instant::now());
            dirty = false;
        }
        // how long to wait for a key: until the next frame is allowed if one is due, else
        // until workers may have news (they report ~10 times a second) or a message expires
        let mut wait = if dirty {
            FRAME.saturating_sub(since.min(FRAME))
        } else if app.runs.active() > 0 || app.pool.is_busy() {
            FRAME
        } else {
            IDLE
        };
        if let Some(d) = app.next_deadline() {
            wait = wait.min(d.saturating_duration_since(now));
        }
        if let Some(ev) = input(wait)? {
            dirty |= handle_term_event(app, ev);
            // take whatever else is already there before drawing
            let mut more = 0;
            while more < 256 {
                match input(Duration::ZERO)? {
                    Some(ev) => dirty |= handle_term_event(app, ev),
                    None => break,
                }
                more += 1;
            }
        }
    }
}

fn handle_term_event(app: &mut App, ev: TermEvent) -> bool {
    match ev {
        TermEvent::Key(k) if k.kind != KeyEventKind::Release => {
            app.handle_key(k);
            true
        }
        TermEvent::Mouse(m) => app.handle_mouse(m),
        TermEvent::Resize(w, h) => {
            app.resize(w, h);
            true
        }
        TermEvent::FocusGained => true,
        _ => false,
    }
}

/// Whether the lab is on the alternate screen (entered and not yet left).
static ON_ALTERNATE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back: cooked mode, main screen, cursor shown. Safe to call twice and
/// when the terminal is gone (errors are ignored).
///
/// The alternate screen is blanked before it is left: a terminal resized while the lab was
/// on it (tmux, for one) can carry the alternate screen's rows onto the main screen as it
/// is given back, which left the lab's rows on the user's shell.
pub fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let mut out = io::stdout();
    if ON_ALTERNATE.swap(false, Ordering::SeqCst) {
        let _ = execute!(
            out,
            crossterm::style::ResetColor,
            terminal::Clear(terminal::ClearType::All),
            crossterm::cursor::MoveTo(0, 0)
        );
    }
    let _ = execute!(
        out,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = out.flush();
}

/// Raw mode and the alternate screen, and mouse reports when `mouse` is on.
pub fn enter_terminal(mouse: bool) -> io::Result<()> {
    terminal::enable_raw_mode()?;
    ON_ALTERNATE.store(true, Ordering::SeqCst);
    let entered = execute!(io::stdout(), EnterAlternateScreen).and_then(|_| {
        if mouse {
            execute!(io::stdout(), EnableMouseCapture)
        } else {
            Ok(())
        }
    });
    if let Err(e) = entered {
        restore_terminal();
        return Err(e);
    }
    Ok(())
}

/// Installs a panic hook: a panic on the thread that installs it (the UI) first calls
/// `restore` (so the message lands on a usable screen), then the previous hook; a panic on
/// another thread (a run, which the engine turns into a failed run) only goes to the log,
/// never to the screen.
pub fn install_panic_hook(restore: Box<dyn Fn() + Send + Sync>) {
    let previous = std::panic::take_hook();
    let ui = std::thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        let here = std::thread::current();
        if here.id() == ui {
            restore();
            log::line(&format!("the lab panicked: {info}"));
            previous(info);
        } else {
            log::line(&format!(
                "panic in thread {}: {info}",
                here.name().unwrap_or("unnamed")
            ));
        }
    }));
}

/// Sets `flag` on SIGTERM, SIGHUP (a dropped SSH connection) and SIGINT. A second SIGTERM or
/// SIGINT ends the process at once; SIGHUP never does, because a hang-up often arrives twice
/// (from the terminal and from the shell or multiplexer that owned it) and the runs still
/// need their files written.
pub fn watch_signals(flag: &Arc<AtomicBool>) {
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(flag));
        let _ = signal_hook::flag::register(sig, Arc::clone(flag));
    }
    let _ = signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(flag));
}

/// Stops every run (queued ones are dropped) and waits until each has written its files.
/// Returns the number of runs that had not ended by the deadline.
pub fn stop_all_runs(app: &mut App, timeout: Duration) -> usize {
    let dropped = app.pool.stop_all();
    if !dropped.is_empty() {
        log::line(&format!("{} queued run(s) dropped", dropped.len()));
    }
    let (ended, all) = app.pool.wait_all(timeout);
    // collect the runs' last events so the log says how each ended
    app.update_from_workers();
    for id in &ended {
        log::line(&format!("run {id} ended and its files are written"));
    }
    if all {
        0
    } else {
        let left = app.pool.running();
        log::line(&format!(
            "{left} run(s) still busy after {} s; leaving without them",
            timeout.as_secs()
        ));
        left
    }
}
