//! How Caravan builds ONNX Runtime sessions, in one place, so that validation loads a model
//! exactly as serving will: from bytes (never a path, so nothing is resolved against a
//! directory), as ONNX only (not ONNX Runtime's own format), fully optimised, and with constant
//! folding capped so that a tiny model cannot make loading compute gigabytes.

use ort::{
    environment::Environment,
    session::{
        Session,
        builder::{GraphOptimizationLevel, SessionBuilder},
    },
};

/// The largest tensor constant folding may compute at load time. ONNX Runtime's own default
/// is 1 GiB per node; folding is an optimisation, so anything larger is left to run time,
/// where the serving arena bounds it.
pub const MAX_FOLDED_BYTES: u64 = 64 << 20;

/// What the session is for.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    /// The validator child: one thread, no shared arena (its address space is limited).
    Validation,
    /// Serving: `intra_threads` threads, tensors in the shared arena when one is registered.
    Serving { intra_threads: usize },
}

/// Loads `bytes` as a session for `purpose`.
pub fn load(env: &Environment, bytes: &[u8], purpose: Purpose) -> ort::Result<Session> {
    builder(env, purpose)?.commit_from_memory(bytes)
}

fn builder(env: &Environment, purpose: Purpose) -> ort::Result<SessionBuilder> {
    let threads = match purpose {
        Purpose::Validation => 1,
        Purpose::Serving { intra_threads } => intra_threads.max(1),
    };
    let builder = Session::builder(env)?
        .with_optimization_level(GraphOptimizationLevel::Level3)?
        .with_intra_threads(threads)?
        .with_inter_threads(1)?
        .with_config_entry("session.load_model_format", "ONNX")?
        .with_config_entry(
            "optimization.constant_folding_max_output_size_in_bytes",
            MAX_FOLDED_BYTES.to_string(),
        )?;
    match purpose {
        Purpose::Serving { .. } if crate::serving::arena::ceiling().is_some() => {
            Ok(builder.with_env_allocators()?)
        }
        _ => Ok(builder),
    }
}
