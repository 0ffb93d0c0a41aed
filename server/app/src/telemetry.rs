//! Logging with `tracing`: text or JSON, level from settings or `RUST_LOG`.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global subscriber (a second call, as in tests, keeps the first).
pub fn init(level: &str, format: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},sqlx=warn,ort=warn")));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if format == "json" {
        registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init()
    } else {
        registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init()
    };
    drop(result);
}
