//! The `caravan` application: configuration and start-up wiring, the HTTP surfaces (`http`),
//! the one-model runner (`runner`), its deployment bundles (`bundle`) and the command line
//! (`cli`).

pub mod bundle;
pub mod cli;
pub mod client;
pub mod config;
pub mod grpc;
pub mod http;
pub mod jwt_keys;
pub mod runner;
pub mod startup;
pub mod telemetry;

pub use config::Settings;
pub use startup::Application;
