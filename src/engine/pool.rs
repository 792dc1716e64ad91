//! A small scheduler: at most `limit` runs train at once, the rest wait in a queue and start
//! as slots free up. It never blocks: [`Pool::pump`] reaps ended runs and starts queued ones,
//! and whoever owns the pool calls it as often as it likes (the lab: once per loop turn).
//!
//! A paused run keeps its slot (its thread is alive, waiting for a resume).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::{launch, Command, LaunchOptions, RunEvent, RunHandle};
use crate::experiments::uses_threads;
use crate::spec::Scenario;

/// A started run as the pool sees it: something that takes commands and ends.
pub trait Job: Send {
    fn id(&self) -> &str;
    fn send(&self, command: Command);
    /// True once the run's thread has ended (its files are complete).
    fn is_done(&self) -> bool;
    /// Waits for the run's thread to end.
    fn join(self: Box<Self>);
}

impl Job for RunHandle {
    fn id(&self) -> &str {
        &self.id
    }

    fn send(&self, command: Command) {
        RunHandle::send(self, command)
    }

    fn is_done(&self) -> bool {
        RunHandle::is_done(self)
    }

    fn join(self: Box<Self>) {
        RunHandle::join(*self)
    }
}

/// Starts one run of a scenario, as [`Start`] says.
pub type Launcher = Box<dyn FnMut(&Scenario, &Start) -> Result<Box<dyn Job>, String> + Send>;

/// How a queued run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A new run of its scenario, from step 0.
    New,
    /// The stopped run in this folder, continued from its last checkpoint.
    Resume(PathBuf),
    /// A new run from a checkpoint of the run in `parent` (at `step`, or its latest), with
    /// the parameter changes `sets` (`name=value`), as `run --fork` starts it.
    Fork {
        parent: PathBuf,
        step: Option<u64>,
        sets: Vec<String>,
    },
}

/// Starts a queued run as `start` says.
fn start_run(
    scenario: &Scenario,
    start: &Start,
    opts: &LaunchOptions,
    events: Sender<RunEvent>,
) -> Result<RunHandle, String> {
    match start {
        Start::Resume(dir) => super::resume::resume(dir, opts, events).map(|c| c.handle),
        Start::Fork { parent, step, sets } => {
            super::resume::fork(parent, *step, sets, opts, events).map(|c| c.handle)
        }
        Start::New => launch(scenario, opts, events),
    }
}

/// A launcher that starts runs with the engine, sending their events to `events`.
pub fn engine_launcher(opts: LaunchOptions, events: Sender<RunEvent>) -> Launcher {
    Box::new(move |scenario: &Scenario, how: &Start| {
        start_run(scenario, how, &opts, events.clone()).map(|h| Box::new(h) as Box<dyn Job>)
    })
}

/// The compute threads that a launcher's runs hold now, shared with whoever shows them.
pub type Busy = Arc<AtomicUsize>;

/// How many runs the pool is starting now, the one being launched included: the cores that
/// are free are shared among them.
pub type Starting = Arc<AtomicUsize>;

/// How many compute threads a run gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// This many, whatever else trains.
    Fixed(usize),
    /// The cores that are free when the run starts, shared with the runs starting with it
    /// (all of them for a run alone, one each when many start together), out of this many.
    Auto { cores: usize },
}

impl Threads {
    /// `auto`, or a number of at least 1.
    pub fn parse(text: &str) -> Result<Threads, String> {
        match text.trim() {
            "auto" => Ok(Threads::Auto {
                cores: default_limit(),
            }),
            t => match t.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(Threads::Fixed(n)),
                _ => Err(format!(
                    "got \"{text}\", allowed: a number of threads of at least 1, or auto"
                )),
            },
        }
    }
}

/// A launcher whose runs get their threads as `threads` says; `busy` counts the threads
/// its runs hold until the pool reaps them, `starting` is the pool's (see
/// [`Pool::with_starting`]).
pub fn sharing_launcher(
    opts: LaunchOptions,
    events: Sender<RunEvent>,
    threads: Threads,
    busy: Busy,
    starting: Starting,
) -> Launcher {
    Box::new(move |scenario: &Scenario, how: &Start| {
        let n = match threads {
            Threads::Fixed(n) => n.max(1),
            Threads::Auto { cores } if uses_threads(&scenario.experiment, &scenario.params) => {
                let free = cores.saturating_sub(busy.load(Ordering::SeqCst));
                (free / starting.load(Ordering::SeqCst).max(1)).max(1)
            }
            // the small experiments are fastest on one thread
            Threads::Auto { .. } => 1,
        };
        let opts = LaunchOptions {
            compute_threads: n,
            ..opts.clone()
        };
        let handle = start_run(scenario, how, &opts, events.clone())?;
        busy.fetch_add(n, Ordering::SeqCst);
        Ok(Box::new(Holding {
            job: Some(handle),
            threads: n,
            busy: busy.clone(),
        }) as Box<dyn Job>)
    })
}

/// A run that holds `threads` of `busy` until it is reaped.
struct Holding {
    job: Option<RunHandle>,
    threads: usize,
    busy: Busy,
}

impl Job for Holding {
    fn id(&self) -> &str {
        self.job.as_ref().map_or("", |j| j.id.as_str())
    }

    fn send(&self, command: Command) {
        if let Some(j) = &self.job {
            j.send(command);
        }
    }

    fn is_done(&self) -> bool {
        self.job.as_ref().is_none_or(|j| j.is_done())
    }

    fn join(mut self: Box<Self>) {
        if let Some(j) = self.job.take() {
            j.join();
        }
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        self.busy.fetch_sub(self.threads, Ordering::SeqCst);
    }
}

/// A queued run, known by its ticket until it starts and gets a run id.
pub type Ticket = u64;

/// What changed in the pool during one [`Pool::pump`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolUpdate {
    /// The queued run `ticket` started as run `id`.
    Launched { ticket: Ticket, id: String },
    /// The queued run `ticket` could not start.
    LaunchFailed { ticket: Ticket, reason: String },
    /// Run `id`'s thread ended and its slot is free.
    Ended { id: String },
}

/// Runs in flight and runs waiting for a slot.
pub struct Pool {
    launcher: Launcher,
    limit: usize,
    queue: VecDeque<(Ticket, Scenario, Start)>,
    running: Vec<Box<dyn Job>>,
    next_ticket: Ticket,
    starting: Option<Starting>,
}

/// The number of runs that may train at once by default: one per core.
pub fn default_limit() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

impl Pool {
    /// A pool running at most `limit` (at least 1) runs at once.
    pub fn new(limit: usize, launcher: Launcher) -> Self {
        Self {
            launcher,
            limit: limit.max(1),
            queue: VecDeque::new(),
            running: Vec::new(),
            next_ticket: 1,
            starting: None,
        }
    }

    /// Says in `starting`, before each launch, how many runs this pump starts from the one
    /// being launched on (a launcher that shares cores reads it).
    pub fn with_starting(mut self, starting: Starting) -> Self {
        self.starting = Some(starting);
        self
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Runs whose thread is alive (training or paused).
    pub fn running(&self) -> usize {
        self.running.len()
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// True while any run is in flight or waiting.
    pub fn is_busy(&self) -> bool {
        !self.running.is_empty() || !self.queue.is_empty()
    }

    /// Queues a run; it starts on the next [`Pool::pump`] that finds a free slot.
    pub fn submit(&mut self, scenario: Scenario) -> Ticket {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.queue.push_back((ticket, scenario, Start::New));
        ticket
    }

    /// Queues the stopped run in `dir` (of `scenario`), to continue from its last checkpoint
    /// in its own folder when a slot is free.
    pub fn submit_resume(&mut self, scenario: Scenario, dir: PathBuf) -> Ticket {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.queue.push_back((ticket, scenario, Start::Resume(dir)));
        ticket
    }

    /// Queues a run (of `scenario`, as it will read) that starts as `start` says.
    pub fn submit_as(&mut self, scenario: Scenario, start: Start) -> Ticket {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.queue.push_back((ticket, scenario, start));
        ticket
    }

    /// Removes a run that has not started yet. False if it is not in the queue.
    pub fn cancel(&mut self, ticket: Ticket) -> bool {
        let before = self.queue.len();
        self.queue.retain(|(t, _, _)| *t != ticket);
        self.queue.len() != before
    }

    /// True if run `id` is in flight here.
    pub fn has(&self, id: &str) -> bool {
        self.running.iter().any(|j| j.id() == id)
    }

    /// Sends a command to run `id`. False if no such run is in flight.
    pub fn send(&self, id: &str, command: Command) -> bool {
        match self.running.iter().find(|j| j.id() == id) {
            Some(j) => {
                j.send(command);
                true
            }
            None => false,
        }
    }

    /// Reaps the runs that ended, then starts queued runs while slots are free.
    pub fn pump(&mut self) -> Vec<PoolUpdate> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.running.len() {
            if self.running[i].is_done() {
                let job = self.running.swap_remove(i);
                out.push(PoolUpdate::Ended {
                    id: job.id().to_string(),
                });
                job.join();
            } else {
                i += 1;
            }
        }
        while self.running.len() < self.limit {
            let Some((ticket, scenario, how)) = self.queue.pop_front() else {
                break;
            };
            if let Some(s) = &self.starting {
                let slots = self.limit - self.running.len();
                s.store(slots.min(self.queue.len() + 1), Ordering::SeqCst);
            }
            match (self.launcher)(&scenario, &how) {
                Ok(job) => {
                    out.push(PoolUpdate::Launched {
                        ticket,
                        id: job.id().to_string(),
                    });
                    self.running.push(job);
                }
                Err(reason) => out.push(PoolUpdate::LaunchFailed { ticket, reason }),
            }
        }
        out
    }

    /// Empties the queue and asks every run in flight to stop. Returns the tickets that
    /// were dropped from the queue.
    pub fn stop_all(&mut self) -> Vec<Ticket> {
        let dropped = self.queue.drain(..).map(|(t, _, _)| t).collect();
        for job in &self.running {
            job.send(Command::Stop);
        }
        dropped
    }

    /// Waits until every run in flight has ended (their files written), at most `timeout`.
    /// Returns the ids of the runs that ended; true in the second field if none is left.
    pub fn wait_all(&mut self, timeout: Duration) -> (Vec<String>, bool) {
        let deadline = Instant::now() + timeout;
        let mut ended = Vec::new();
        loop {
            for u in self.pump_ended_only() {
                ended.push(u);
            }
            if self.running.is_empty() {
                return (ended, true);
            }
            if Instant::now() >= deadline {
                return (ended, false);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn pump_ended_only(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.running.len() {
            if self.running[i].is_done() {
                let job = self.running.swap_remove(i);
                out.push(job.id().to_string());
                job.join();
            } else {
                i += 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    /// A job that ends when the test says so, and records the commands it got.
    struct FakeJob {
        id: String,
        done: Arc<AtomicBool>,
        commands: Arc<Mutex<Vec<(String, Command)>>>,
    }

    impl Job for FakeJob {
        fn id(&self) -> &str {
            &self.id
        }
        fn send(&self, command: Command) {
            if command == Command::Stop {
                self.done.store(true, Ordering::SeqCst);
            }
            self.commands
                .lock()
                .unwrap()
                .push((self.id.clone(), command));
        }
        fn is_done(&self) -> bool {
            self.done.load(Ordering::SeqCst)
        }
        fn join(self: Box<Self>) {}
    }

    type Dones = Arc<Mutex<Vec<Arc<AtomicBool>>>>;
    type Log = Arc<Mutex<Vec<(String, Command)>>>;

    fn fake_pool(limit: usize) -> (Pool, Dones, Log) {
        let dones: Dones = Default::default();
        let log: Log = Default::default();
        let (d, l) = (dones.clone(), log.clone());
        let mut n = 0;
        let launcher: Launcher = Box::new(move |s: &Scenario, _: &Start| {
            if s.title == "broken" {
                return Err("cannot start".into());
            }
            n += 1;
            let done = Arc::new(AtomicBool::new(false));
            d.lock().unwrap().push(done.clone());
            Ok(Box::new(FakeJob {
                id: format!("run{n}"),
                done,
                commands: l.clone(),
            }) as Box<dyn Job>)
        });
        (Pool::new(limit, launcher), dones, log)
    }

    fn scenario(title: &str) -> Scenario {
        Scenario {
            experiment: "E1".into(),
            title: title.into(),
            description: String::new(),
            seed: Some(0),
            params: Default::default(),
            source: None,
            checkpoint_every: None,
            keep_checkpoints: Vec::new(),
        }
    }

    #[test]
    fn runs_beyond_the_limit_wait_and_start_as_slots_free() {
        let (mut pool, dones, _) = fake_pool(2);
        let tickets: Vec<Ticket> = (0..3).map(|_| pool.submit(scenario("a"))).collect();
        let u = pool.pump();
        assert_eq!(
            u,
            vec![
                PoolUpdate::Launched {
                    ticket: tickets[0],
                    id: "run1".into()
                },
                PoolUpdate::Launched {
                    ticket: tickets[1],
                    id: "run2".into()
                },
            ]
        );
        assert_eq!((pool.running(), pool.queued()), (2, 1));
        assert!(pool.pump().is_empty(), "nothing changes while both train");
        dones.lock().unwrap()[0].store(true, Ordering::SeqCst);
        let u = pool.pump();
        assert_eq!(
            u,
            vec![
                PoolUpdate::Ended { id: "run1".into() },
                PoolUpdate::Launched {
                    ticket: tickets[2],
                    id: "run3".into()
                },
            ]
        );
        assert_eq!((pool.running(), pool.queued()), (2, 0));
    }

    #[test]
    fn a_failed_launch_frees_its_place_and_is_reported() {
        let (mut pool, _, _) = fake_pool(1);
        let bad = pool.submit(scenario("broken"));
        let good = pool.submit(scenario("a"));
        let u = pool.pump();
        assert_eq!(
            u,
            vec![
                PoolUpdate::LaunchFailed {
                    ticket: bad,
                    reason: "cannot start".into()
                },
                PoolUpdate::Launched {
                    ticket: good,
                    id: "run1".into()
                },
            ]
        );
    }

    #[test]
    fn cancel_removes_only_queued_runs() {
        let (mut pool, _, _) = fake_pool(1);
        let a = pool.submit(scenario("a"));
        let b = pool.submit(scenario("b"));
        pool.pump();
        assert!(!pool.cancel(a), "a is running, not queued");
        assert!(pool.cancel(b));
        assert_eq!(pool.queued(), 0);
        assert!(!pool.cancel(b));
    }

    #[test]
    fn commands_reach_the_right_run_and_stop_all_empties_everything() {
        let (mut pool, _, log) = fake_pool(2);
        for _ in 0..3 {
            pool.submit(scenario("a"));
        }
        pool.pump();
        assert!(pool.send("run2", Command::Pause));
        assert!(!pool.send("nope", Command::Pause));
        let dropped = pool.stop_all();
        assert_eq!(dropped.len(), 1);
        let (ended, all) = pool.wait_all(Duration::from_secs(1));
        assert!(all);
        assert_eq!(ended.len(), 2);
        assert!(!pool.is_busy());
        let log = log.lock().unwrap();
        assert_eq!(log[0], ("run2".into(), Command::Pause));
        assert_eq!(log.iter().filter(|(_, c)| *c == Command::Stop).count(), 2);
    }

    #[test]
    fn wait_all_gives_up_at_its_deadline() {
        let (mut pool, _, _) = fake_pool(1);
        pool.submit(scenario("a"));
        pool.pump();
        let t = Instant::now();
        let (ended, all) = pool.wait_all(Duration::from_millis(30));
        assert!(!all && ended.is_empty());
        assert!(t.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn the_limit_is_at_least_one() {
        let (pool, _, _) = fake_pool(0);
        assert_eq!(pool.limit(), 1);
        assert!(default_limit() >= 1);
    }

    #[test]
    fn auto_threads_give_a_run_alone_every_core_and_share_what_is_free() {
        let dir = std::env::temp_dir().join(format!("fail-lab-auto-{}", std::process::id()));
        // E12 at a batch of 1,024 trains in parallel chunks; E1 is fastest on one thread
        let mut s = Scenario::with_defaults("E12", &crate::experiments::Registry).unwrap();
        s.params.insert("batch", crate::spec::Value::Int(1024));
        s.params.insert("steps", crate::spec::Value::Int(3));
        let mut small = Scenario::with_defaults("E1", &crate::experiments::Registry).unwrap();
        small.params.insert("steps", crate::spec::Value::Int(50));
        let (tx, _rx) = crossbeam_channel::unbounded();
        let busy = Busy::default();
        let starting = Starting::default();
        let opts = LaunchOptions {
            runs_dir: dir.clone(),
            compute_threads: 1,
        };
        let auto = Threads::Auto { cores: 4 };
        let launcher = sharing_launcher(opts, tx, auto, busy.clone(), starting.clone());
        let mut pool = Pool::new(3, launcher).with_starting(starting);
        // a run alone takes the four cores
        pool.submit(s.clone());
        pool.pump();
        assert_eq!(busy.load(Ordering::SeqCst), 4);
        // three more while it trains: two slots left, nothing free: one core each
        for _ in 0..3 {
            pool.submit(s.clone());
        }
        pool.pump();
        assert!(
            busy.load(Ordering::SeqCst) <= 6,
            "{}",
            busy.load(Ordering::SeqCst)
        );
        let t = Instant::now();
        while pool.is_busy() && t.elapsed() < Duration::from_secs(60) {
            pool.pump();
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!pool.is_busy());
        assert_eq!(
            busy.load(Ordering::SeqCst),
            0,
            "reaped runs give their cores back"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn threads_parse_a_count_or_auto() {
        assert_eq!(Threads::parse("3"), Ok(Threads::Fixed(3)));
        assert!(matches!(Threads::parse("auto"), Ok(Threads::Auto { cores }) if cores >= 1));
        for bad in ["0", "-1", "x", ""] {
            let e = Threads::parse(bad).unwrap_err();
            assert!(e.contains("at least 1, or auto"), "{bad}: {e}");
        }
    }
}
