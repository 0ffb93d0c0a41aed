//! Stops runs that take longer than the serving limit, or that nobody waits for any more (every
//! caller in the batch went away). ONNX Runtime checks a run's terminate flag between nodes and
//! between loop iterations, so a `Loop` whose trip count comes from the request stops within
//! one iteration of the deadline instead of holding a core for days. One thread watches every
//! run in the process; it sleeps until the nearest deadline or until a caller gives up. A new
//! run wakes it only when nothing else will in time (it was idle, or the run's deadline comes
//! before its next wake-up), so a busy server does not pay a thread wake-up per request.

use std::{
    collections::HashMap,
    sync::{
        Arc, Condvar, Mutex, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use ort::session::RunOptions;

/// Why the watchdog stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It ran past its deadline.
    TimedOut,
    /// Every caller waiting for it went away.
    Abandoned,
}

/// Set by a caller that stopped waiting (see [`Watchdog::poke`]).
pub type Abandoned = Arc<AtomicBool>;

struct Watched {
    deadline: Instant,
    options: Arc<RunOptions>,
    callers: Vec<Abandoned>,
    stopped: Option<Stopped>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    runs: HashMap<u64, Watched>,
    /// When the watchdog will look next by itself (`None`: it waits to be woken).
    next_wake: Option<Instant>,
}

pub struct Watchdog {
    state: Mutex<State>,
    wake: Condvar,
}

/// A watched run; dropping it (or [`Watch::finish`]) stops watching.
pub struct Watch {
    id: u64,
}

impl Watchdog {
    /// The process's watchdog, started on first use.
    pub fn global() -> &'static Watchdog {
        static WATCHDOG: OnceLock<&'static Watchdog> = OnceLock::new();
        WATCHDOG.get_or_init(|| {
            let watchdog: &'static Watchdog = Box::leak(Box::new(Watchdog {
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
            }));
            std::thread::Builder::new()
                .name("ort-watchdog".into())
                .spawn(move || watchdog.watch_forever())
                .expect("spawn the inference watchdog");
            watchdog
        })
    }

    /// Watches a run until the returned guard is finished or dropped.
    pub fn watch(
        &'static self,
        deadline: Instant,
        options: Arc<RunOptions>,
        callers: Vec<Abandoned>,
    ) -> Watch {
        let mut state = self.state.lock().expect("watchdog lock");
        let id = state.next_id;
        state.next_id += 1;
        state.runs.insert(
            id,
            Watched {
                deadline,
                options,
                callers,
                stopped: None,
            },
        );
        let wake = state.next_wake.is_none_or(|at| deadline < at);
        drop(state);
        if wake {
            self.wake.notify_one();
        }
        Watch { id }
    }

    /// Wakes the watchdog after a caller set its abandoned flag.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    fn finish(&self, watch: &Watch) -> Option<Stopped> {
        let mut state = self.state.lock().expect("watchdog lock");
        state.runs.remove(&watch.id).and_then(|w| w.stopped)
    }

    fn watch_forever(&self) {
        let mut state = self.state.lock().expect("watchdog lock");
        loop {
            let now = Instant::now();
            let mut next: Option<Instant> = None;
            for run in state.runs.values_mut().filter(|r| r.stopped.is_none()) {
                let abandoned = !run.callers.is_empty()
                    && run.callers.iter().all(|c| c.load(Ordering::Acquire));
                let reason = if now >= run.deadline {
                    Some(Stopped::TimedOut)
                } else if abandoned {
                    Some(Stopped::Abandoned)
                } else {
                    None
                };
                match reason {
                    Some(reason) => {
                        if let Err(e) = run.options.terminate() {
                            tracing::error!(error = %e, "cannot stop an inference run");
                        }
                        run.stopped = Some(reason);
                    }
                    None => next = Some(next.map_or(run.deadline, |n| n.min(run.deadline))),
                }
            }
            state.next_wake = next;
            state = match next {
                None => self.wake.wait(state).expect("watchdog lock"),
                Some(at) => {
                    let wait = at.saturating_duration_since(Instant::now());
                    self.wake
                        .wait_timeout(state, wait)
                        .expect("watchdog lock")
                        .0
                }
            };
        }
    }
}

impl Watch {
    /// Stops watching; says whether the watchdog stopped the run, and why.
    pub fn finish(self) -> Option<Stopped> {
        let stopped = Watchdog::global().finish(&self);
        std::mem::forget(self);
        stopped
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        Watchdog::global().finish(self);
    }
}
