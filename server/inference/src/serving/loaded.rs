//! One version loaded for serving: its sessions (inside an executor), signature, batching
//! mode and an estimate of its memory.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use caravan_domain::Signature;
use ort::{environment::Environment, session::Session};

use super::{Batching, Executor, JobOutput, NamedTensor, TensorData, VersionKey};

/// How versions are loaded and run.
#[derive(Debug, Clone)]
pub struct ServingSettings {
    /// Sessions (and threads) per loaded version.
    pub sessions: usize,
    /// ONNX Runtime intra-op threads per session.
    pub intra_threads: usize,
    /// Estimated memory all loaded versions may use together, in bytes.
    pub memory_budget: u64,
    /// Requests that may wait per version before new ones get "busy".
    pub queue_capacity: usize,
    /// Most rows (first dimension) one request may carry.
    pub max_rows: usize,
    /// Batching for versions whose inputs and outputs all have a dynamic first dimension.
    pub batching: Option<Batching>,
    /// Longest one run may take before it is stopped.
    pub max_run: Duration,
    /// Memory the tensors of all running requests may use together (the shared arena's
    /// ceiling, see [`super::arena`]); zero leaves each session's arena unbounded.
    pub inference_memory: u64,
}

/// Why a request could not be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InferError {
    /// The queue is full; retry shortly.
    #[error("the model is at capacity")]
    Busy,
    /// The run needed more memory than the serving arena allows.
    #[error("the run needs more memory than serving allows")]
    OutOfMemory,
    /// The run took longer than the serving limit and was stopped.
    #[error("the run took longer than the {} ms serving limit and was stopped", .0.as_millis())]
    TimedOut(Duration),
    /// Every caller went away, so the run was stopped.
    #[error("every caller went away")]
    Abandoned,
    /// ONNX Runtime failed on this request; the message says why, without engine internals.
    #[error("{0}")]
    Failed(String),
}

impl InferError {
    /// Classifies an error ONNX Runtime returned from a run.
    pub(crate) fn from_engine(message: &str) -> Self {
        let out_of_memory = [
            "Available memory of",
            "Failed to allocate memory",
            "bad_alloc",
        ];
        if out_of_memory.iter().any(|m| message.contains(m)) {
            InferError::OutOfMemory
        } else {
            InferError::Failed(super::engine_text::without_internals(message))
        }
    }
}

/// Counters behind the statistics endpoint, in Triton's phases: a request's decode
/// (`input`), its queue and run, and its answer's encode (`output`).
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    pub executions: AtomicU64,
    pub queue_ns: AtomicU64,
    pub compute_ns: AtomicU64,
    pub input_ns: AtomicU64,
    pub output_ns: AtomicU64,
    /// When the last successful request finished, in milliseconds since the Unix epoch.
    pub last_inference_ms: AtomicU64,
}

/// A loaded version.
pub struct LoadedModel {
    pub key: VersionKey,
    /// `name:version`, for logs and metrics.
    pub label: String,
    pub signature: Signature,
    pub batching: Option<Batching>,
    /// An estimate (ONNX Runtime does not account memory per session): twice the model file
    /// per session, for initializers plus their pre-packed copies.
    pub estimated_bytes: u64,
    pub loaded_at: Instant,
    pub stats: Stats,
    executor: Executor,
}

impl LoadedModel {
    /// Creates the sessions from the file at `path`, warms them up and starts the executor.
    /// The file is checked again as onboarding checks it (it may predate a rule, or come from
    /// a store someone else can write) and given to ONNX Runtime as bytes, so that nothing in
    /// it is resolved against a directory. Blocking (seconds for large models): call it off
    /// the async threads.
    pub fn load(
        env: &Environment,
        path: &Path,
        key: VersionKey,
        label: String,
        settings: &ServingSettings,
    ) -> Result<Self, String> {
        let bytes = crate::inspect::map_file(path).map_err(|r| r.0)?;
        crate::check_self_contained(&bytes).map_err(|r| format!("the model is refused: {r}"))?;
        let size = bytes.len() as u64;
        let sessions = (0..settings.sessions.max(1))
            .map(|_| new_session(env, &bytes, settings.intra_threads))
            .collect::<Result<Vec<_>, _>>()?;
        drop(bytes);
        let signature = crate::inspect::signature_of(&sessions[0]).map_err(|r| r.0)?;
        refuse_fixed_outputs_over(&signature, settings.inference_memory)?;
        let batching = settings.batching.filter(|_| signature.batchable());
        let warmup = signature
            .inputs
            .iter()
            .map(|spec| {
                let shape: Vec<usize> = spec.shape.iter().map(|&d| d.max(1) as usize).collect();
                let data = TensorData::zeros(spec.datatype, shape.iter().product());
                NamedTensor {
                    name: spec.name.clone(),
                    shape,
                    data,
                }
            })
            .collect();
        let estimated_bytes = size * 2 * sessions.len() as u64;
        let executor = Executor::start(
            sessions,
            batching,
            settings.queue_capacity,
            settings.max_run,
            warmup,
            &label,
        );
        Ok(Self {
            key,
            label,
            signature,
            batching,
            estimated_bytes,
            loaded_at: Instant::now(),
            stats: Stats::default(),
            executor,
        })
    }

    /// Runs a request whose inputs were checked against the signature.
    pub async fn infer(
        &self,
        mut inputs: Vec<NamedTensor>,
        outputs: Vec<String>,
    ) -> Result<JobOutput, InferError> {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let order = |t: &NamedTensor| self.signature.inputs.iter().position(|s| s.name == t.name);
        inputs.sort_by_key(order);
        // If this future is dropped before the answer (the client went away), the guard tells
        // the executor and the watchdog, which skip or stop the run.
        let waiting = Waiting::new();
        let result = match self.executor.submit(inputs, outputs, waiting.flag.clone()) {
            Err(_) => Err(InferError::Busy),
            Ok(receiver) => match receiver.await {
                Ok(result) => result,
                Err(_) => Err(InferError::Failed("the inference thread stopped".into())),
            },
        };
        waiting.answered();
        match &result {
            Ok(output) => {
                self.stats.executions.fetch_add(1, Ordering::Relaxed);
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                self.stats
                    .last_inference_ms
                    .store(now_ms, Ordering::Relaxed);
                self.stats
                    .queue_ns
                    .fetch_add(output.queued.as_nanos() as u64, Ordering::Relaxed);
                self.stats
                    .compute_ns
                    .fetch_add(output.computed.as_nanos() as u64, Ordering::Relaxed);
            }
            Err(_) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    /// Adds a successful request's decode and encode times (the protocol layer's share).
    pub fn record_io(&self, input: std::time::Duration, output: std::time::Duration) {
        self.stats
            .input_ns
            .fetch_add(input.as_nanos() as u64, Ordering::Relaxed);
        self.stats
            .output_ns
            .fetch_add(output.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Requests waiting in this version's queue.
    pub fn queued(&self) -> usize {
        self.executor.queued()
    }
}

/// Refuses a model an output of which always has more bytes than every request together may
/// use: such a model can never answer (its size is fixed, by constants, whatever the request).
fn refuse_fixed_outputs_over(signature: &Signature, limit: u64) -> Result<(), String> {
    if limit == 0 {
        return Ok(());
    }
    for output in &signature.outputs {
        let Some(bytes) = fixed_bytes(output) else {
            continue;
        };
        if bytes > u128::from(limit) {
            return Err(format!(
                "output {:?} always holds {bytes} bytes, more than the {} MiB serving allows \
                 for running requests (serving.inference_memory_mb)",
                output.name,
                limit >> 20
            ));
        }
    }
    Ok(())
}

/// The size of a tensor whose every dimension is fixed (strings counted as 8 bytes each).
fn fixed_bytes(spec: &caravan_domain::TensorSpec) -> Option<u128> {
    let element = u128::from(spec.datatype.element_size().unwrap_or(8) as u64);
    spec.shape.iter().try_fold(element, |acc, &d| {
        u64::try_from(d)
            .ok()
            .map(|d| acc.saturating_mul(u128::from(d)))
    })
}

/// Marks a request abandoned if it is dropped before its answer arrives.
struct Waiting {
    flag: Arc<AtomicBool>,
    answered: bool,
}

impl Waiting {
    fn new() -> Self {
        Self {
            flag: Arc::default(),
            answered: false,
        }
    }

    fn answered(mut self) {
        self.answered = true;
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if !self.answered {
            self.flag.store(true, Ordering::Release);
            super::watchdog::Watchdog::global().poke();
        }
    }
}

fn new_session(env: &Environment, bytes: &[u8], intra_threads: usize) -> Result<Session, String> {
    crate::session::load(
        env,
        bytes,
        crate::session::Purpose::Serving { intra_threads },
    )
    .map_err(|e| {
        let message = super::engine_text::without_internals(&e.to_string());
        format!("ONNX Runtime could not load the model: {message}")
    })
}
