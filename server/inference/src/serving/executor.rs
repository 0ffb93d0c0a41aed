//! Runs inference for one loaded version: a few threads, each owning one ONNX Runtime
//! session (`Session::run` needs `&mut`), pull jobs from a bounded queue. With batching on, a
//! thread that takes a job also takes the compatible jobs already waiting (or arriving within
//! the configured delay), concatenates them along the batch axis, runs once and splits the
//! outputs back. A full queue refuses new jobs instead of growing without bound. Every run is
//! watched (see [`super::watchdog`]): it stops at the serving time limit, or as soon as nobody
//! waits for it; a job whose caller left before it started is skipped.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use ort::session::{RunOptions, Session};
use tokio::sync::oneshot;

use super::{
    InferError, NamedTensor, TensorData,
    watchdog::{Abandoned, Stopped, Watchdog},
};

/// Dynamic batching settings.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Most rows one run may hold.
    pub max_rows: usize,
    /// How long a job may wait for others to join its batch (zero: only those already queued).
    pub max_delay: Duration,
}

/// What a job produced, with where its time went.
#[derive(Debug)]
pub struct JobOutput {
    pub outputs: Vec<NamedTensor>,
    /// Rows in the run that served this job (more than its own when batched).
    pub batch_rows: usize,
    pub queued: Duration,
    pub computed: Duration,
}

/// A request for one run.
pub struct Job {
    /// Inputs in the model's input order.
    inputs: Vec<NamedTensor>,
    /// Outputs to return, in this order; empty means all, in the model's order.
    outputs: Vec<String>,
    rows: usize,
    enqueued: Instant,
    /// Set when the caller stops waiting.
    abandoned: Abandoned,
    /// The request's span: the run's log lines belong to it.
    span: tracing::Span,
    reply: oneshot::Sender<Result<JobOutput, InferError>>,
}

/// The queue is full.
#[derive(Debug)]
pub struct Busy;

/// The threads and queue of one loaded version.
pub struct Executor {
    queue: Sender<Job>,
}

/// How long one run may take.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_run: Duration,
}

/// The run options of one inference thread, reused from run to run: the watchdog stops a run
/// through them, and a stopped run's flag is cleared before the next one.
struct Runner {
    session: Session,
    options: Arc<RunOptions>,
    limits: Limits,
}

impl Executor {
    /// Starts one thread per session; each warms its session up before taking jobs, and this
    /// returns once all have.
    pub fn start(
        sessions: Vec<Session>,
        batching: Option<Batching>,
        queue_capacity: usize,
        max_run: Duration,
        warmup: Vec<NamedTensor>,
        label: &str,
    ) -> Self {
        let limits = Limits { max_run };
        let (queue, jobs) = crossbeam_channel::bounded(queue_capacity.max(1));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let threads = sessions.len();
        for (i, session) in sessions.into_iter().enumerate() {
            let jobs = jobs.clone();
            let ready = ready_tx.clone();
            let warmup = warmup.clone();
            let label = label.to_owned();
            std::thread::Builder::new()
                .name(format!("ort-{i}"))
                .spawn(move || {
                    let mut runner = match RunOptions::new() {
                        Ok(options) => Runner {
                            session,
                            options: Arc::new(options),
                            limits,
                        },
                        Err(e) => {
                            tracing::error!(model = %label, error = %e, "no run options");
                            return; // its jobs wait for another thread (or fail as busy)
                        }
                    };
                    if let Err(e) = runner.run(warmup, &[], Vec::new()) {
                        tracing::warn!(model = %label, error = %e, "warm-up run failed");
                    }
                    let _ = ready.send(());
                    drop(ready);
                    serve(runner, jobs, batching);
                })
                .expect("spawn an inference thread");
        }
        drop(ready_tx);
        for _ in 0..threads {
            if ready_rx.recv().is_err() {
                break; // a thread died while warming up; its jobs fail when they are run
            }
        }
        Self { queue }
    }

    /// Queues a job; the answer arrives on the returned receiver. The caller sets `abandoned`
    /// (and pokes the watchdog) if it stops waiting.
    pub fn submit(
        &self,
        inputs: Vec<NamedTensor>,
        outputs: Vec<String>,
        abandoned: Abandoned,
    ) -> Result<oneshot::Receiver<Result<JobOutput, InferError>>, Busy> {
        let rows = inputs
            .first()
            .and_then(|t| t.shape.first().copied())
            .unwrap_or(1);
        let (reply, receiver) = oneshot::channel();
        let job = Job {
            inputs,
            outputs,
            rows,
            enqueued: Instant::now(),
            abandoned,
            span: tracing::Span::current(),
            reply,
        };
        match self.queue.try_send(job) {
            Ok(()) => Ok(receiver),
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => Err(Busy),
        }
    }

    /// Jobs waiting in the queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

fn serve(mut runner: Runner, jobs: Receiver<Job>, batching: Option<Batching>) {
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => return, // the version was unloaded and its queue dropped
            },
        };
        if first.abandoned.load(Ordering::Acquire) {
            continue; // its caller left while it waited
        }
        let mut batch = vec![first];
        if let Some(cfg) = batching {
            let deadline = batch[0].enqueued + cfg.max_delay;
            let mut rows = batch[0].rows;
            while rows < cfg.max_rows {
                let next = if cfg.max_delay.is_zero() {
                    jobs.try_recv().ok()
                } else {
                    jobs.recv_deadline(deadline).ok()
                };
                let Some(job) = next else { break };
                if job.abandoned.load(Ordering::Acquire) {
                    continue;
                }
                if rows + job.rows <= cfg.max_rows && compatible(&batch[0], &job) {
                    rows += job.rows;
                    batch.push(job);
                } else {
                    carried = Some(job);
                    break;
                }
            }
        }
        run_batch(&mut runner, batch);
    }
}

/// Jobs can share a run when their inputs agree in everything but the number of rows and
/// they ask for the same outputs.
fn compatible(a: &Job, b: &Job) -> bool {
    a.outputs == b.outputs
        && a.inputs.len() == b.inputs.len()
        && a.inputs.iter().zip(&b.inputs).all(|(x, y)| {
            x.name == y.name
                && x.data.datatype() == y.data.datatype()
                && x.shape.len() == y.shape.len()
                && !x.shape.is_empty()
                && x.shape[1..] == y.shape[1..]
        })
}

fn run_batch(runner: &mut Runner, mut batch: Vec<Job>) {
    let started = Instant::now();
    if batch.len() == 1 {
        let job = batch.pop().expect("one job");
        let _entered = job.span.enter();
        let callers = vec![job.abandoned.clone()];
        let result = runner.run(job.inputs, &job.outputs, callers);
        reply(job.reply, job.enqueued, started, job.rows, result);
        return;
    }
    let total: usize = batch.iter().map(|j| j.rows).sum();
    let merged = batch[0]
        .inputs
        .iter()
        .enumerate()
        .map(|(i, first)| {
            let mut shape = first.shape.clone();
            shape[0] = total;
            let mut data = TensorData::empty(first.data.datatype(), shape.iter().product());
            for job in &batch {
                data.append(&job.inputs[i].data);
            }
            NamedTensor {
                name: first.name.clone(),
                shape,
                data,
            }
        })
        .collect();
    let outputs = batch[0].outputs.clone();
    let callers = batch.iter().map(|j| j.abandoned.clone()).collect();
    // One run for several requests: its span follows from each of theirs.
    let span = tracing::info_span!("batch", jobs = batch.len(), rows = total);
    for job in &batch {
        span.follows_from(&job.span);
    }
    let _entered = span.enter();
    match runner.run(merged, &outputs, callers) {
        Ok(results) if results.iter().all(|t| t.shape.first() == Some(&total)) => {
            let mut offset = 0;
            for job in batch {
                let mine = results
                    .iter()
                    .map(|t| {
                        let per_row = t.shape[1..].iter().product::<usize>();
                        let mut shape = t.shape.clone();
                        shape[0] = job.rows;
                        let data = t
                            .data
                            .slice(offset * per_row, (offset + job.rows) * per_row);
                        NamedTensor {
                            name: t.name.clone(),
                            shape,
                            data,
                        }
                    })
                    .collect();
                offset += job.rows;
                reply(job.reply, job.enqueued, started, total, Ok(mine));
            }
        }
        // Nobody waits for any job of the batch.
        Err(InferError::Abandoned) => {}
        // An output without a batch axis cannot be split back, and a failed batch may have
        // failed for one job's sake (a bad value, a limit one request hits): run the jobs one
        // by one, so each gets its own answer.
        _ => {
            for job in batch {
                let started = Instant::now();
                let callers = vec![job.abandoned.clone()];
                let result = runner.run(job.inputs, &job.outputs, callers);
                reply(job.reply, job.enqueued, started, job.rows, result);
            }
        }
    }
}

fn reply(
    to: oneshot::Sender<Result<JobOutput, InferError>>,
    enqueued: Instant,
    started: Instant,
    batch_rows: usize,
    result: Result<Vec<NamedTensor>, InferError>,
) {
    let output = result.map(|outputs| JobOutput {
        outputs,
        batch_rows,
        queued: started - enqueued,
        computed: started.elapsed(),
    });
    // The caller may have gone away (client disconnected); nothing to do then.
    let _ = to.send(output);
}

impl Runner {
    /// One watched `Session::run` with the given inputs, returning the requested outputs (all
    /// if none).
    fn run(
        &mut self,
        inputs: Vec<NamedTensor>,
        requested: &[String],
        callers: Vec<Abandoned>,
    ) -> Result<Vec<NamedTensor>, InferError> {
        let failed = |e: ort::Error| InferError::from_engine(&e.to_string());
        let values = inputs
            .into_iter()
            .map(|t| Ok((t.name, t.data.into_ort(&t.shape)?)))
            .collect::<ort::Result<Vec<_>>>()
            .map_err(failed)?;
        let deadline = Instant::now() + self.limits.max_run;
        let watch = Watchdog::global().watch(deadline, self.options.clone(), callers);
        let result = self.session.run_with_options(values, &self.options);
        let stopped = watch.finish();
        if stopped.is_some() {
            // Stopped (possibly just after it ended): clear the flag for the next run.
            self.options.unterminate().map_err(failed)?;
        }
        let outputs = match (stopped, result) {
            (Some(Stopped::TimedOut), Err(_)) => {
                return Err(InferError::TimedOut(self.limits.max_run));
            }
            (Some(Stopped::Abandoned), Err(_)) => return Err(InferError::Abandoned),
            (_, Err(e)) => return Err(failed(e)),
            (_, Ok(outputs)) => outputs,
        };
        let convert = |name: &str| -> Result<NamedTensor, InferError> {
            let value = outputs.get(name).ok_or_else(|| {
                InferError::Failed(format!("the model produced no output {name:?}"))
            })?;
            let (shape, data) = TensorData::from_ort(value)
                .map_err(failed)?
                .ok_or_else(|| InferError::Failed(format!("output {name:?} is not a tensor")))?;
            Ok(NamedTensor {
                name: name.to_owned(),
                shape,
                data,
            })
        };
        if requested.is_empty() {
            outputs.keys().map(convert).collect()
        } else {
            requested.iter().map(|name| convert(name)).collect()
        }
    }
}
