//! Settings: the documented defaults (`default-config.toml`, also printed by
//! `caravan config default`), an optional TOML file, then `CARAVAN__SECTION__KEY` variables.

use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use secrecy::SecretString;
use serde::Deserialize;

/// The default configuration file, with every key documented.
pub const DEFAULT_CONFIG: &str = include_str!("default-config.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub auth: AuthConfig,
    pub inference: InferenceSettings,
    pub serving: ServingConfig,
    pub federation: FederationSettings,
    pub grpc: GrpcSettings,
    pub onboarding: OnboardingSettings,
    pub pipelines: PipelinesConfig,
    pub metrics: MetricsSettings,
    pub outbound: OutboundSettings,
    pub deploy: DeploySettings,
    pub log: LogSettings,
}

/// The Open Inference Protocol over gRPC (`[grpc]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcSettings {
    /// Where it listens; empty: no gRPC listener.
    pub bind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundSettings {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    pub token: SecretString,
    pub anonymous: bool,
    pub model_labels: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub bind: String,
    pub public_url: String,
    pub workers: usize,
    pub shutdown_timeout_secs: u64,
    pub drain_secs: u64,
    pub client_request_timeout_secs: u64,
    pub body_idle_timeout_secs: u64,
    pub keep_alive_secs: u64,
    pub client_disconnect_timeout_secs: u64,
    pub max_connections: usize,
    pub tls: HttpTls,
    /// The older spelling of `tls.cert`, still read.
    #[serde(default)]
    pub tls_cert: String,
    /// The older spelling of `tls.key`, still read.
    #[serde(default)]
    pub tls_key: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTls {
    pub cert: String,
    pub key: String,
}

impl HttpSettings {
    /// The API port's certificate chain and key files (`http.tls.{cert,key}`, else the older
    /// `http.tls_cert` / `http.tls_key`); empty when the port has no TLS.
    pub fn tls_files(&self) -> (&str, &str) {
        if self.tls.cert.is_empty() && self.tls.key.is_empty() {
            (&self.tls_cert, &self.tls_key)
        } else {
            (&self.tls.cert, &self.tls.key)
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub connect_wait_secs: u64,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use secrecy::ExposeSecret;
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(self.url.expose_secret()))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// A URL with its password replaced by `***`, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    pub url: String,
    pub staging_dir: String,
    pub sweep_interval_secs: u64,
    pub s3: S3Settings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub allow_http: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub jwt_secret: SecretString,
    pub jwt_previous_secret: SecretString,
    pub jwt_secret_file: String,
    pub issuer: String,
    pub audience: String,
    pub session_ttl_minutes: u64,
    pub bootstrap_admin_password: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceSettings {
    pub ort_library: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServingConfig {
    pub anonymous: bool,
    pub sessions_per_version: usize,
    pub intra_op_threads: usize,
    pub memory_budget_mb: u64,
    pub queue_capacity: usize,
    pub max_rows_per_request: usize,
    pub max_request_bytes: usize,
    pub batching: bool,
    pub max_batch_rows: usize,
    pub max_queue_delay_us: u64,
    pub inference_memory_mb: u64,
    pub max_run_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationSettings {
    pub bind: String,
    pub name: String,
    pub public_url: String,
    pub poll_secs: u64,
    pub timeout_secs: u64,
    pub max_json_bytes: usize,
    pub max_artifact_bytes: u64,
    pub sync_concurrency: usize,
    pub lease_secs: u64,
    pub tls: FederationTls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationTls {
    pub cert: String,
    pub key: String,
    pub ca: Vec<String>,
    pub crl: Vec<String>,
    pub reload_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardingSettings {
    pub max_model_bytes: u64,
    pub upload_expiry_hours: u64,
    pub validation_timeout_secs: u64,
    pub validation_memory_mb: u64,
    pub validator: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelinesConfig {
    pub enabled: bool,
    pub command_trainers: bool,
    pub max_concurrent_runs: usize,
    pub trainer_memory_mb: u64,
    pub work_dir: String,
    pub launcher: String,
    pub poll_secs: u64,
    pub lease_secs: u64,
    pub retry_base_secs: u64,
    pub max_dataset_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploySettings {
    pub image: String,
    pub registry: String,
    pub inference_memory_mb: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
    pub format: String,
}

impl Settings {
    /// Loads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, config::ConfigError> {
        let mut builder =
            Config::builder().add_source(File::from_str(DEFAULT_CONFIG, FileFormat::Toml));
        if let Some(file) = file {
            builder = builder.add_source(File::from(file).format(FileFormat::Toml).required(true));
        }
        builder
            .add_source(
                Environment::with_prefix("CARAVAN")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("federation.tls.ca")
                    .with_list_parse_key("federation.tls.crl")
                    .with_list_parse_key("outbound.allow")
                    .with_list_parse_key("outbound.deny"),
            )
            .build()?
            .try_deserialize()
    }

    /// The defaults alone (ignores files and the environment).
    pub fn defaults() -> Self {
        Config::builder()
            .add_source(File::from_str(DEFAULT_CONFIG, FileFormat::Toml))
            .build()
            .and_then(Config::try_deserialize)
            .expect("the default configuration is valid")
    }

    /// `database.url`, or the embedded SQLite file in `data_dir`.
    pub fn database_url(&self) -> String {
        use secrecy::ExposeSecret;
        match self.database.url.expose_secret() {
            "" => format!("sqlite://{}", self.data_dir.join("caravan.db").display()),
            url => url.to_owned(),
        }
    }

    /// `storage.url`, or the local object store in `data_dir`.
    pub fn storage_url(&self) -> String {
        match self.storage.url.as_str() {
            "" => self.data_dir.join("objects").display().to_string(),
            url => url.to_owned(),
        }
    }

    /// `auth.jwt_secret_file`, or `jwt-secret` in `data_dir`.
    pub fn jwt_secret_file(&self) -> PathBuf {
        match self.auth.jwt_secret_file.as_str() {
            "" => self.data_dir.join("jwt-secret"),
            file => PathBuf::from(file),
        }
    }

    /// The `[outbound]` lists, parsed.
    pub fn outbound(&self) -> anyhow::Result<caravan_outbound::OutboundPolicy> {
        caravan_outbound::OutboundPolicy::from_lists(&self.outbound.allow, &self.outbound.deny)
            .map_err(|e| anyhow::anyhow!("outbound: {e}"))
    }

    pub fn staging_dir(&self) -> PathBuf {
        match self.storage.staging_dir.as_str() {
            "" => self.data_dir.join("staging"),
            dir => PathBuf::from(dir),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_use_the_embedded_data_dir() {
        let s = Settings::defaults();
        assert_eq!(s.http.bind, "127.0.0.1:8080");
        assert_eq!(s.database_url(), "sqlite://caravan-data/caravan.db");
        assert_eq!(s.storage_url(), "caravan-data/objects");
        assert_eq!(s.onboarding.max_model_bytes, 2 << 30);
    }

    #[test]
    fn the_example_configuration_is_the_default_one() {
        assert_eq!(
            include_str!("../../../deploy/caravan.toml"),
            DEFAULT_CONFIG,
            "copy server/app/src/default-config.toml to deploy/caravan.toml"
        );
    }

    #[test]
    fn outbound_lists_parse_and_bad_ranges_refuse_to_start() {
        let mut s = Settings::defaults();
        assert!(s.outbound().unwrap().allow.is_empty());
        s.outbound.allow = vec!["10.0.0.0/8".into(), "192.168.1.7".into()];
        assert_eq!(s.outbound().unwrap().allow.len(), 2);
        s.outbound.deny = vec!["not-a-range".into()];
        assert!(s.outbound().is_err());
    }

    #[test]
    fn the_api_port_takes_tls_files_in_the_documented_form_and_the_older_one() {
        let load = |toml: &str| {
            let file = tempfile::NamedTempFile::with_suffix(".toml").unwrap();
            std::fs::write(file.path(), toml).unwrap();
            Settings::load(Some(file.path())).unwrap()
        };
        let documented = load("[http.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n");
        assert_eq!(documented.http.tls_files(), ("c.pem", "k.pem"));
        let older = load("[http]\ntls_cert = \"old.pem\"\ntls_key = \"old.key\"\n");
        assert_eq!(older.http.tls_files(), ("old.pem", "old.key"));
        assert_eq!(Settings::defaults().http.tls_files(), ("", ""));
    }

    #[test]
    fn database_passwords_are_redacted_in_debug_output() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite://caravan.db"), "sqlite://caravan.db");
        let s = DatabaseSettings {
            url: "postgres://u:hunter2@h/d".to_owned().into(),
            max_connections: 1,
            connect_wait_secs: 0,
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
