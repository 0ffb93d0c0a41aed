//! Finding and loading the ONNX Runtime library (ort `load-dynamic`), once per process.

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use ort::environment::Environment;

/// Why ONNX Runtime is not available.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "ONNX Runtime library not found (looked for {0}); run scripts/fetch-onnxruntime.sh or \
         set inference.ort_library / ORT_DYLIB_PATH"
    )]
    Missing(String),
    #[error("ONNX Runtime library {path} could not be loaded: {reason}")]
    Load { path: String, reason: String },
}

const LIB_NAME: &str = "libonnxruntime.so";

/// Resolves the library: the configured path, then `ORT_DYLIB_PATH`, then next to the binary,
/// then `./.ort/lib/` (where scripts/fetch-onnxruntime.sh puts it).
pub fn resolve_library(configured: Option<&Path>) -> Result<PathBuf, RuntimeError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(path) = configured {
        candidates.push(path.to_path_buf());
    } else {
        if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
            candidates.push(PathBuf::from(path));
        }
        if let Some(dir) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
        {
            candidates.push(dir.join(LIB_NAME));
        }
        candidates.push(PathBuf::from(".ort/lib").join(LIB_NAME));
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
        .ok_or_else(|| {
            let tried: Vec<_> = candidates.iter().map(|p| p.display().to_string()).collect();
            RuntimeError::Missing(tried.join(", "))
        })
}

static ENVIRONMENT: OnceLock<Result<Environment, RuntimeError>> = OnceLock::new();

/// The process's one ONNX Runtime environment, loading `library` on first use. ONNX Runtime
/// allows one environment per process for its whole life, so later calls return the first
/// one whatever path they pass.
pub fn environment(library: &Path) -> Result<&'static Environment, RuntimeError> {
    ENVIRONMENT
        .get_or_init(|| {
            let fail = |e: &dyn std::fmt::Display| RuntimeError::Load {
                path: library.display().to_string(),
                reason: e.to_string(),
            };
            let builder = ort::init_from(library).map_err(|e| fail(&e))?;
            builder.with_name("caravan").build().map_err(|e| fail(&e))
        })
        .as_ref()
        .map_err(Clone::clone)
}
