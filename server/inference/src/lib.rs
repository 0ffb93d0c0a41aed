//! Caravan's ONNX Runtime integration: loading the runtime library, and validating an uploaded
//! model (ONNX Runtime must load it; its signature and metadata are extracted), preferably in
//! a short-lived, confined child process with time and memory limits so that a hostile file can
//! neither crash nor bloat the server, nor read its files.

mod external_data;
mod inspect;
mod onnx_proto;
mod runtime;
pub mod sandbox;
pub mod serving;
mod session;
mod subprocess;

pub use inspect::{Refusal, check_self_contained, inspect_bytes, inspect_model};
pub use runtime::{RuntimeError, environment, resolve_library};
pub use subprocess::{CHILD_SUBCOMMAND, ValidationError, Validator, run_validation_child};
