//! Serving: tensors, request checks, the per-version executor with dynamic batching, and the
//! registry of loaded versions.

pub mod arena;
pub mod codec;

mod check;
mod engine_text;
mod executor;
mod loaded;
mod registry;
mod tensor;
mod watchdog;

pub use check::{check_inputs, check_outputs};
pub use executor::{Batching, Busy, Executor, JobOutput};
pub use loaded::{InferError, LoadedModel, ServingSettings, Stats};
pub use registry::{LoadError, LoadState, ModelFile, Registry, VersionKey};
pub use tensor::{NamedTensor, TensorData};
