//! A list of planned runs ([`RunRequest`]s) trained on a few threads at once, each result kept
//! whole in memory, as the checks read them; with a folder to save in, every run also goes
//! through the engine ([`super::launch`]) and is written there as an ordinary saved run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::{launch, panic_message, Event, LaunchOptions};
use crate::experiments::common::{Finished, RunError};
use crate::experiments::plan::{self, RunRequest};
use crate::experiments::{CollectCtx, Ctx, Halt};

/// How a batch trains.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Runs that train at once (at least 1).
    pub jobs: usize,
    /// Compute threads of each run.
    pub compute_threads: usize,
    /// Where each run is also saved, if anywhere.
    pub save_to: Option<PathBuf>,
    /// Unfinished saved runs (in `save_to`) that a request continues from their last
    /// checkpoint rather than training anew, by [`RunRequest::key`].
    pub resume: HashMap<String, PathBuf>,
    /// Once raised (by a signal, say), no further run starts and each saved run stops at a
    /// checkpoint, to be continued later through `resume`; a run not saved trains to its end.
    pub stop: Option<Arc<AtomicBool>>,
}

impl BatchOptions {
    fn stopping(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }
}

/// What a batch reports as it goes, by the run's index in the list.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchUpdate {
    Started {
        index: usize,
    },
    /// The run (saved ones only) is at iteration `step` of its `total`.
    Progress {
        index: usize,
        step: u64,
        total: u64,
    },
    /// `error`: why the run gave no result, if it did not.
    Ended {
        index: usize,
        elapsed_s: f64,
        error: Option<String>,
    },
}

/// One trained run: its result, its wall-clock seconds and, when saved, its folder.
#[derive(Debug)]
pub struct Trained {
    pub result: Result<Finished, RunError>,
    pub elapsed_s: f64,
    pub dir: Option<PathBuf>,
}

fn halted(req: &RunRequest, halt: Halt) -> RunError {
    RunError::Halted {
        id: req.experiment.clone(),
        seed: req.seed,
        halt,
    }
}

/// Trains every request, `opts.jobs` at a time, in the list's order of starts, calling `on`
/// (in the calling thread) as each starts and ends. Gives one [`Trained`] per request, in the
/// list's order.
pub fn train_all(
    reqs: &[RunRequest],
    opts: &BatchOptions,
    mut on: impl FnMut(&BatchUpdate),
) -> Vec<Trained> {
    let next = AtomicUsize::new(0);
    let mut out: Vec<Option<Trained>> = reqs.iter().map(|_| None).collect();
    // a run's start (`Err(None)`), its step of its total (`Err(Some(..))`) or its end
    type Update = Result<Trained, Option<(u64, u64)>>;
    let (tx, rx) = crossbeam_channel::unbounded::<(usize, Update)>();
    std::thread::scope(|s| {
        for w in 0..opts.jobs.clamp(1, reqs.len().max(1)) {
            let (tx, next) = (tx.clone(), &next);
            let worker = move || loop {
                if opts.stopping() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(req) = reqs.get(i) else { break };
                let _ = tx.send((i, Err(None)));
                let step = |step, total| {
                    let _ = tx.send((i, Err(Some((step, total)))));
                };
                let _ = tx.send((i, Ok(train_one(req, opts, step))));
            };
            // a worker that cannot start leaves its share to the others (or, for all of
            // them, every run to the message below)
            let _ = std::thread::Builder::new()
                .name(format!("batch-{w}"))
                .spawn_scoped(s, worker);
        }
        drop(tx);
        for (index, t) in rx.iter() {
            let t = match t {
                Ok(t) => t,
                Err(None) => {
                    on(&BatchUpdate::Started { index });
                    continue;
                }
                Err(Some((step, total))) => {
                    on(&BatchUpdate::Progress { index, step, total });
                    continue;
                }
            };
            on(&BatchUpdate::Ended {
                index,
                elapsed_s: t.elapsed_s,
                error: t.result.as_ref().err().map(RunError::with_seed),
            });
            out[index] = Some(t);
        }
    });
    out.into_iter()
        .zip(reqs)
        .map(|(t, req)| {
            t.unwrap_or_else(|| Trained {
                result: Err(halted(
                    req,
                    Halt::Failed(if opts.stopping() {
                        "not started: the batch was stopped".into()
                    } else {
                        "no worker thread could start".into()
                    }),
                )),
                elapsed_s: 0.0,
                dir: None,
            })
        })
        .collect()
}

/// Trains one request: in this thread, or through the engine into `opts.save_to` (calling
/// `step` with each iteration it reports).
fn train_one(req: &RunRequest, opts: &BatchOptions, step: impl Fn(u64, u64)) -> Trained {
    let t = Instant::now();
    let (result, dir) = match &opts.save_to {
        None => {
            let r = crate::nn::with_compute_threads(opts.compute_threads, || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| plan::train(req)))
            });
            let r = r.unwrap_or_else(|p| {
                let reason = format!("the experiment panicked: {}", panic_message(p.as_ref()));
                Err(halted(req, Halt::Failed(reason)))
            });
            (r, None)
        }
        Some(runs_dir) => {
            let from = opts.resume.get(&req.key()).map(PathBuf::as_path);
            train_saved(req, runs_dir, opts, from, step)
        }
    };
    Trained {
        result,
        elapsed_s: t.elapsed().as_secs_f64(),
        dir,
    }
}

/// Trains `req` as a run of the engine saved in `runs_dir`, keeping what it emits; with
/// `from`, an unfinished run of it there, continued from its last checkpoint (and read back
/// whole from its files once finished: it emits only the steps after the checkpoint).
fn train_saved(
    req: &RunRequest,
    runs_dir: &Path,
    batch: &BatchOptions,
    from: Option<&Path>,
    on_step: impl Fn(u64, u64),
) -> (Result<Finished, RunError>, Option<PathBuf>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let opts = LaunchOptions {
        runs_dir: runs_dir.to_path_buf(),
        compute_threads: batch.compute_threads,
    };
    let started = match from {
        Some(dir) => super::resume::resume(dir, &opts, tx).map(|c| c.handle),
        None => launch(&req.scenario(), &opts, tx),
    };
    let handle = match started {
        Ok(h) => h,
        Err(e) => return (Err(halted(req, Halt::Failed(e))), None),
    };
    let dir = handle.dir.clone();
    let mut ctx = CollectCtx::new();
    let mut end = Err(Halt::Failed("the run ended without saying how".into()));
    handle.follow(
        &rx,
        || batch.stopping(),
        || {},
        |ev| {
            match ev.event {
                Event::Metric { step, name, value } => ctx.metric(step, &name, value),
                Event::Figure { step, figure } => ctx.figure(step, figure),
                Event::Log(line) => ctx.log(&line),
                Event::Progress { step, total, .. } => {
                    ctx.last_step = step;
                    on_step(step, total);
                }
                Event::Finished { summary, .. } => end = Ok(summary),
                Event::Stopped { step } => end = Err(Halt::Stopped { step }),
                Event::Diverged { step, reason } => end = Err(Halt::Diverged { step, reason }),
                Event::Failed { reason } => end = Err(Halt::Failed(reason)),
                Event::Started { .. } | Event::Paused | Event::Resumed => {}
            }
            true
        },
    );
    handle.join();
    let result = match (end, from) {
        (Ok(_), Some(_)) => super::saved::load_finished(&dir)
            .map(|(f, _)| f)
            .map_err(|e| {
                halted(
                    req,
                    Halt::Failed(format!("cannot read the resumed run: {e}")),
                )
            }),
        (end, _) => end
            .map(|summary| Finished { summary, ctx })
            .map_err(|h| halted(req, h)),
    };
    (result, Some(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::saved::{load_finished, SavedRuns};

    fn req(seed: u64) -> RunRequest {
        RunRequest::new(
            "E1",
            &[("d", "4"), ("steps", "60"), ("eval_every", "20")],
            seed,
        )
        .unwrap()
    }

    #[test]
    fn a_batch_gives_the_runs_in_order_and_saved_runs_read_back_the_same() {
        let dir = std::env::temp_dir().join(format!("fail-lab-batch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let reqs = vec![req(1), req(2), req(3)];
        let mut updates = Vec::new();
        let opts = BatchOptions {
            jobs: 2,
            compute_threads: 1,
            save_to: Some(dir.clone()),
            resume: HashMap::new(),
            stop: None,
        };
        let saved = train_all(&reqs, &opts, |u| updates.push(u.clone()));
        let count = |f: fn(&BatchUpdate) -> bool| updates.iter().filter(|u| f(u)).count();
        let starts = count(|u| matches!(u, BatchUpdate::Started { .. }));
        let ends = count(|u| matches!(u, BatchUpdate::Ended { .. }));
        assert_eq!((starts, ends), (3, 3));
        // each saved run reports its steps, the last at its end (60 of 60)
        for i in 0..3 {
            let at_end = |u: &BatchUpdate| {
                *u == BatchUpdate::Progress {
                    index: i,
                    step: 60,
                    total: 60,
                }
            };
            assert!(updates.iter().any(at_end), "{updates:?}");
        }
        let plain = train_all(
            &reqs,
            &BatchOptions {
                save_to: None,
                ..opts
            },
            |_| {},
        );
        let index = SavedRuns::scan(&dir).unwrap();
        assert_eq!(index.finished(), 3);
        for ((r, s), p) in reqs.iter().zip(&saved).zip(&plain) {
            let (s_run, p_run) = (s.result.as_ref().unwrap(), p.result.as_ref().unwrap());
            let alone = plan::train(r).unwrap();
            assert!(!alone.ctx.metrics.is_empty());
            assert_eq!(s_run.ctx.metrics, alone.ctx.metrics, "{}", r.label());
            assert_eq!(p_run.ctx.metrics, alone.ctx.metrics);
            assert_eq!(s_run.summary, alone.summary);
            let found = index.find(r).expect("the saved run is found");
            assert_eq!(Some(found), s.dir.as_deref());
            let (back, _) = load_finished(found).unwrap();
            assert_eq!(back.ctx.metrics, alone.ctx.metrics);
            assert_eq!(back.ctx.figures, alone.ctx.figures);
            assert_eq!(back.summary, alone.summary);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failing_run_is_reported_and_the_others_go_on() {
        let mut bad = req(0);
        bad.params.insert("subset_size", crate::spec::Value::Int(9));
        let reqs = vec![bad, req(4)];
        let mut errors = Vec::new();
        let opts = BatchOptions {
            jobs: 1,
            compute_threads: 1,
            save_to: None,
            resume: HashMap::new(),
            stop: None,
        };
        let out = train_all(&reqs, &opts, |u| {
            if let BatchUpdate::Ended { error, .. } = u {
                errors.push(error.clone());
            }
        });
        assert!(out[0].result.is_err() && out[1].result.is_ok());
        let first = errors[0].as_deref().unwrap_or("");
        assert!(
            first.contains("subset_size = 9 is larger than d = 4"),
            "{first}"
        );
        assert_eq!(errors[1], None);
    }
    #[test]
    fn a_stopped_batch_saves_its_running_run_at_a_checkpoint_and_starts_no_other() {
        let dir = std::env::temp_dir().join(format!("fail-lab-batch-stop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let long = RunRequest::new(
            "E1",
            &[("d", "4"), ("steps", "20000"), ("eval_every", "500")],
            7,
        )
        .unwrap();
        let reqs = vec![long.clone(), req(8)];
        let stop = Arc::new(AtomicBool::new(false));
        let opts = BatchOptions {
            jobs: 1,
            compute_threads: 1,
            save_to: Some(dir.clone()),
            resume: HashMap::new(),
            stop: Some(Arc::clone(&stop)),
        };
        let mut started = 0;
        let out = train_all(&reqs, &opts, |u| match u {
            BatchUpdate::Started { .. } => started += 1,
            BatchUpdate::Progress { step, .. } if *step >= 2000 => {
                stop.store(true, Ordering::Relaxed)
            }
            _ => {}
        });
        assert_eq!(started, 1, "no run starts once the batch is stopped");
        let at = match &out[0].result {
            Err(RunError::Halted {
                halt: Halt::Stopped { step },
                ..
            }) => *step,
            other => panic!("the running run stops: {other:?}"),
        };
        assert!((2000..20000).contains(&at), "stopped at step {at}");
        let not_started = out[1].result.as_ref().unwrap_err().with_seed();
        assert!(not_started.contains("not started"), "{not_started}");
        // saved at a checkpoint: the next batch continues it to the run it would have been
        let index = SavedRuns::scan(&dir).unwrap();
        assert_eq!(index.finished(), 0);
        let from = index
            .resumable(&long)
            .expect("the stopped run can be continued");
        let again = BatchOptions {
            resume: HashMap::from([(long.key(), from.to_path_buf())]),
            stop: None,
            ..opts
        };
        let resumed = train_all(std::slice::from_ref(&long), &again, |_| {});
        let resumed = resumed[0].result.as_ref().expect("it finishes");
        let alone = plan::train(&long).unwrap();
        assert_eq!(resumed.ctx.metrics, alone.ctx.metrics);
        assert_eq!(resumed.summary, alone.summary);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
