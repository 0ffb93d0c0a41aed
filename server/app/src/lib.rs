//! The `caravan` application: configuration and start-up wiring, the HTTP surfaces (`http`),
//! and the command line (`cli`).

pub mod cli;
pub mod config;
pub mod http;
pub mod jwt_keys;
pub mod startup;
pub mod telemetry;

pub use config::Settings;
pub use startup::Application;
