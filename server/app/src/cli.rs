//! The `caravan` command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "caravan",
    version,
    about = "A federated marketplace for ONNX models"
)]
pub struct Cli {
    /// A TOML configuration file (see `caravan config default`).
    #[arg(long, global = true, env = "CARAVAN_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (API, downloads, health) until SIGTERM.
    Serve,
    /// Create or upgrade the catalog database, then exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Show configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Validate an ONNX file in this process (used by the server, with limits).
    #[command(name = "__validate-onnx", hide = true)]
    ValidateOnnx {
        #[arg(long)]
        ort_library: PathBuf,
        #[arg(long)]
        memory_limit: u64,
        #[arg(long)]
        cpu_seconds: u64,
        model: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from the first line of standard input, or
    /// generated and printed when standard input is a terminal or empty.
    Create {
        username: String,
        #[arg(long, default_value = "user", value_parser = ["user", "admin"])]
        role: String,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (it is shown only once).
    Create {
        #[arg(long)]
        user: String,
        /// read, publish, deploy or admin; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Expire after this many days (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print the default configuration file, every key documented.
    Default,
    /// Print the effective settings (defaults, file, environment), secrets redacted.
    Show,
}
