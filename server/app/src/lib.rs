//! The `caravan` application: configuration, start-up, routes and the command line.

pub mod cli;
pub mod commands;
pub mod config;
pub mod dto;
pub mod error;
pub mod extract;
pub mod federation;
pub mod federation_commands;
pub mod jwt_keys;
pub mod limited;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod telemetry;
pub mod ui;
pub mod upload;
pub mod v2;

pub use config::Settings;
pub use startup::Application;
