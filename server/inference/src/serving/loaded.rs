//! One version loaded for serving: its sessions (inside an executor), signature, batching
//! mode and an estimate of its memory.

use std::{
    path::Path,
    sync::atomic::{AtomicU64, Ordering},
    time::Instant,
};

use caravan_domain::Signature;
use ort::{
    environment::Environment,
    session::{Session, builder::GraphOptimizationLevel},
};

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
}

/// Why a request could not be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InferError {
    /// The queue is full; retry shortly.
    Busy,
    /// ONNX Runtime failed on this request.
    Failed(String),
}

/// Counters behind the statistics endpoint.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    pub executions: AtomicU64,
    pub queue_ns: AtomicU64,
    pub compute_ns: AtomicU64,
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
    /// Blocking (seconds for large models): call it off the async threads.
    pub fn load(
        env: &Environment,
        path: &Path,
        key: VersionKey,
        label: String,
        settings: &ServingSettings,
    ) -> Result<Self, String> {
        let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
        let sessions = (0..settings.sessions.max(1))
            .map(|_| new_session(env, path, settings.intra_threads))
            .collect::<Result<Vec<_>, _>>()?;
        let signature = crate::inspect::signature_of(&sessions[0]).map_err(|r| r.0)?;
        let batchable = !signature.inputs.is_empty()
            && signature
                .inputs
                .iter()
                .chain(&signature.outputs)
                .all(|s| s.shape.first() == Some(&-1));
        let batching = settings.batching.filter(|_| batchable);
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
        let executor = Executor::start(sessions, batching, settings.queue_capacity, warmup, &label);
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
        let result = match self.executor.submit(inputs, outputs) {
            Err(_) => Err(InferError::Busy),
            Ok(receiver) => match receiver.await {
                Ok(Ok(output)) => Ok(output),
                Ok(Err(message)) => Err(InferError::Failed(message)),
                Err(_) => Err(InferError::Failed("the inference thread stopped".into())),
            },
        };
        match &result {
            Ok(output) => {
                self.stats.executions.fetch_add(1, Ordering::Relaxed);
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

    /// Requests waiting in this version's queue.
    pub fn queued(&self) -> usize {
        self.executor.queued()
    }
}

fn new_session(env: &Environment, path: &Path, intra_threads: usize) -> Result<Session, String> {
    let fail = |e: &dyn std::fmt::Display| format!("ONNX Runtime could not load the model: {e}");
    Session::builder(env)
        .map_err(|e| fail(&e))?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| fail(&e))?
        .with_intra_threads(intra_threads.max(1))
        .map_err(|e| fail(&e))?
        .with_inter_threads(1)
        .map_err(|e| fail(&e))?
        .commit_from_file(path)
        .map_err(|e| fail(&e))
}
