//! The `caravan` command line: its grammar here, what each command does in `commands`
//! (administration) and `federation` (peers, shares, subscriptions, set-up), and the hidden
//! launcher of trainers in `limited`.

pub mod commands;
pub mod federation;
pub mod limited;

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
    /// Serve one model over the Open Inference Protocol, with no database, until SIGTERM.
    Runner(crate::runner::RunnerArgs),
    /// Create or upgrade the catalog database, then exit.
    Migrate,
    /// Sign in to a server and keep an API token for it (for push and pull).
    Login {
        /// The server, e.g. https://models.example.org
        url: String,
        /// Sign in as this user (the password from CARAVAN_PASSWORD or standard input); a new
        /// API token with the read, publish and deploy scopes is made and kept.
        #[arg(long, conflicts_with = "token_stdin")]
        username: Option<String>,
        /// Keep the API token read from standard input instead.
        #[arg(long)]
        token_stdin: bool,
    },
    /// Upload a model file to a server as a new version, resumably (run again to resume).
    Push(crate::client::PushArgs),
    /// Download a version's file from a server, resumably, verifying its SHA-256.
    Pull(crate::client::PullArgs),
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
    /// Session keys.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// Show configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage federation peers.
    Peer {
        #[command(subcommand)]
        command: PeerCommand,
    },
    /// Share models with peers.
    Share {
        #[command(subcommand)]
        command: ShareCommand,
    },
    /// Manage subscriptions to peers' catalogs.
    Subscription {
        #[command(subcommand)]
        command: SubscriptionCommand,
    },
    /// Federation set-up.
    Federation {
        #[command(subcommand)]
        command: FederationCommand,
    },
    /// Run a program with resource limits, never as root (used to start trainers).
    #[command(name = "__run-limited", hide = true)]
    RunLimited {
        #[arg(long)]
        memory_mb: u64,
        #[arg(long)]
        cpu_secs: u64,
        #[arg(last = true, required = true)]
        argv: Vec<String>,
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
        /// The model file; without it, the model is read from standard input.
        model: Option<PathBuf>,
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
pub enum AuthCommand {
    /// Make a new session-signing key in the key file (auth.jwt_secret_file), keeping the
    /// current one as the previous key: servers sign with the new key from their next start,
    /// and sessions signed with the old one stay valid until they expire.
    RotateJwtSecret,
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

#[derive(Subcommand)]
pub enum PeerCommand {
    /// Register a peer: where it listens, the certificate it presents, its signing key.
    Add {
        name: String,
        /// The peer's federation listener, https://host:port
        #[arg(long)]
        url: String,
        /// The certificate subject to expect (RFC 4514), e.g. "CN=org-b.example, O=Org B".
        #[arg(long)]
        subject: Option<String>,
        /// The certificate's SHA-256 fingerprint (hex, colons allowed).
        #[arg(long)]
        fingerprint: Option<String>,
        /// The peer's manifest-signing key, ed25519:<base64> (its `caravan federation init` prints it).
        #[arg(long, default_value = "")]
        signing_key: String,
        /// A legacy Acumos federation gateway: its revisions, which carry no digest or signed
        /// manifest, are imported as unverified.
        #[arg(long)]
        legacy_acumos: bool,
    },
    List,
    /// Cut a peer off (at its next request, open connections included).
    Disable {
        name: String,
    },
    Enable {
        name: String,
    },
    /// Remove a peer for good (imported models keep their provenance).
    Remove {
        name: String,
    },
}

#[derive(Subcommand)]
pub enum ShareCommand {
    /// Share MODEL with PEER (it appears in the peer's "shared" catalog).
    Add {
        model: String,
        peer: String,
    },
    Remove {
        model: String,
        peer: String,
    },
}

#[derive(Subcommand)]
pub enum SubscriptionCommand {
    /// Subscribe to PEER's catalog (or to named models in it).
    Add {
        peer: String,
        /// public or shared
        #[arg(long, default_value = "public")]
        catalog: String,
        /// Only these remote models (repeat); default: the whole catalog.
        #[arg(long = "model")]
        models: Vec<String>,
        /// Seconds between syncs.
        #[arg(long, default_value_t = 300)]
        interval: i64,
        /// Visibility of the imported copies: private, organization or public.
        #[arg(long, default_value = "private")]
        visibility: String,
        /// The local user who owns the imported copies.
        #[arg(long)]
        owner: String,
    },
    List,
    Remove {
        id: String,
    },
}

#[derive(Subcommand)]
pub enum FederationCommand {
    /// Make this instance's federation certificate (signed by a development CA, created
    /// unless one is given) and print what a peer needs to register it.
    Init {
        /// Directory for the certificate, key and CA files.
        #[arg(long, default_value = "caravan-data/federation")]
        out: PathBuf,
        /// Host names and addresses the certificate is valid for (repeat).
        #[arg(long = "host", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
        hosts: Vec<String>,
        /// An existing CA certificate and key (PEM) to sign with.
        #[arg(long, requires = "ca_key")]
        ca_cert: Option<PathBuf>,
        #[arg(long, requires = "ca_cert")]
        ca_key: Option<PathBuf>,
    },
}
