//! Building the application from settings: the core (catalog, storage, validator, auth) and
//! the HTTP server around it.

use std::{net::TcpListener, path::PathBuf, sync::Arc, time::Duration};

use actix_web::dev::Server;
use anyhow::Context;
use caravan_core::{AuthSettings, Core, Limits, Serving};
use caravan_inference::{
    Validator, environment, resolve_library,
    serving::{Batching, Registry, ServingSettings},
};
use caravan_storage::{BlobStore, S3Options};
use secrecy::ExposeSecret;

use crate::config::Settings;

/// A built, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    /// The federation listener and its port, when `federation.bind` is set.
    federation: Option<(Server, u16)>,
    /// The gRPC listener's port, when `grpc.bind` is set.
    grpc_port: Option<u16>,
    core: Core,
    /// The pipelines' work directory of this process, removed when it stops.
    _work_dir: caravan_storage::ScratchDir,
}

/// Creates or upgrades the catalog database (opening it runs the migrations).
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    caravan_catalog::open(&settings.database_url(), 1).await?;
    Ok(())
}

/// Opens the catalog (running migrations), the blob store and the auth settings. With
/// `load_runtime`, ONNX Runtime must load too (the server needs it; the CLI does not).
pub async fn build_core(settings: &Settings, load_runtime: bool) -> anyhow::Result<Core> {
    Ok(build_services(settings, load_runtime).await?.0)
}

/// The core, and the pipelines' own handle on their tables and blobs (start-up wiring is the
/// one place, besides the use cases, that holds the catalog and the blob store).
async fn build_services(
    settings: &Settings,
    load_runtime: bool,
) -> anyhow::Result<(Core, caravan_pipelines::PipelineStore)> {
    let configured = Some(settings.inference.ort_library.as_str())
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    let ort_library = match resolve_library(configured.as_deref()) {
        Ok(path) => path,
        Err(e) if load_runtime => return Err(e.into()),
        Err(_) => PathBuf::new(),
    };
    let runtime = if load_runtime {
        Some(environment(&ort_library)?)
    } else {
        None
    };
    let catalog = open_catalog(settings).await?;
    let jwt_keys = crate::jwt_keys::resolve(settings, catalog.as_ref())
        .await
        .context("reading the session key")?;
    let s3 = &settings.storage.s3;
    let non_empty = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
    let s3 = S3Options {
        endpoint: non_empty(&s3.endpoint),
        region: s3.region.clone(),
        access_key_id: non_empty(&s3.access_key_id),
        secret_access_key: non_empty(s3.secret_access_key.expose_secret()),
        allow_http: s3.allow_http,
    };
    let blobs = BlobStore::open(&settings.storage_url(), &s3, &settings.staging_dir())
        .context("opening the object store")?;
    let validator = validator(settings, ort_library)?;
    let auth = AuthSettings {
        jwt_secret: jwt_keys.current,
        previous_jwt_secrets: jwt_keys.previous,
        issuer: settings.auth.issuer.clone(),
        audience: settings.auth.audience.clone(),
        session_ttl: Duration::from_secs(settings.auth.session_ttl_minutes.max(1) * 60),
    };
    let limits = Limits {
        max_model_bytes: settings.onboarding.max_model_bytes,
        upload_expiry: Duration::from_secs(settings.onboarding.upload_expiry_hours.max(1) * 3600),
    };
    let serving = runtime.map(|env| serving(env, &settings.serving));
    let pipeline_store = caravan_pipelines::PipelineStore::new(catalog.clone(), blobs.clone());
    let core = Core::new(catalog, blobs, validator, auth, limits, serving);
    Ok((core, pipeline_store))
}

/// Opens the catalog, retrying with backoff for `database.connect_wait_secs` while the
/// database does not answer (a container started before its PostgreSQL); a configuration
/// error fails at once.
async fn open_catalog(settings: &Settings) -> anyhow::Result<Arc<dyn caravan_catalog::Catalog>> {
    let wait = Duration::from_secs(settings.database.connect_wait_secs);
    let started = std::time::Instant::now();
    let mut backoff = Duration::from_millis(250);
    let remote = !settings.database_url().starts_with("sqlite:");
    loop {
        match caravan_catalog::open(&settings.database_url(), settings.database.max_connections)
            .await
        {
            Ok(catalog) => return Ok(catalog),
            Err(e @ caravan_catalog::CatalogError::Config(_)) => {
                return Err(e).context("opening the catalog database");
            }
            // Only a server can be late; a SQLite file that fails to open will not get better.
            Err(e) if remote && started.elapsed() + backoff <= wait => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "the catalog database does not answer yet");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "opening the catalog database (gave up after {} s)",
                        started.elapsed().as_secs()
                    )
                });
            }
        }
    }
}

/// The validator child every uploaded model goes through (`[onboarding]`).
pub(crate) fn validator(settings: &Settings, ort_library: PathBuf) -> anyhow::Result<Validator> {
    let onboarding = &settings.onboarding;
    Ok(Validator {
        exe: match onboarding.validator.as_str() {
            "" => std::env::current_exe().context("locating the caravan binary")?,
            path => PathBuf::from(path),
        },
        ort_library,
        timeout: Duration::from_secs(onboarding.validation_timeout_secs.max(1)),
        memory_limit: Some(onboarding.validation_memory_mb)
            .filter(|mb| *mb > 0)
            .map(|mb| mb << 20),
    })
}

/// How loaded versions run (`[serving]`): the server's and a runner's alike.
pub(crate) fn serving_settings(config: &crate::config::ServingConfig) -> ServingSettings {
    let batching = config.batching.then(|| Batching {
        max_rows: config.max_batch_rows.max(1),
        max_delay: Duration::from_micros(config.max_queue_delay_us),
    });
    ServingSettings {
        sessions: config.sessions_per_version.max(1),
        intra_threads: config.intra_op_threads.max(1),
        memory_budget: config.memory_budget_mb << 20,
        queue_capacity: config.queue_capacity.max(1),
        max_rows: config.max_rows_per_request.max(1),
        batching,
        max_run: Duration::from_millis(config.max_run_ms.max(1)),
        inference_memory: config.inference_memory_mb << 20,
    }
}

fn serving(
    env: &'static ort::environment::Environment,
    config: &crate::config::ServingConfig,
) -> Serving {
    Serving::new(
        Registry::new(env, serving_settings(config)),
        config.anonymous,
    )
}

impl Application {
    /// Binds `http.bind` and builds everything.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.http.bind)
            .with_context(|| format!("binding {}", settings.http.bind))?;
        Self::build_with_listener(settings, listener).await
    }

    /// Builds on an already bound listener (tests bind port 0).
    pub async fn build_with_listener(
        settings: Settings,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let (core, pipeline_store) = build_services(&settings, true).await?;
        let configured = settings
            .auth
            .bootstrap_admin_password
            .expose_secret()
            .to_owned();
        let admin_password = std::env::var("CARAVAN_ADMIN_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty())
            .or(Some(configured).filter(|p| !p.is_empty()));
        if let Some(generated) = core.bootstrap_admin(admin_password).await? {
            eprintln!(
                "Created the user 'admin' with password: {generated}\n(shown once; change it with POST /api/v1/auth/password)"
            );
        }
        let port = listener.local_addr()?.port();
        let federation_listener = match settings.federation.bind.as_str() {
            "" => None,
            bind => Some(
                TcpListener::bind(bind)
                    .with_context(|| format!("binding federation.bind {bind}"))?,
            ),
        };
        let federation =
            crate::http::federation::start(&settings, &core, federation_listener).await?;
        let grpc_port = match settings.grpc.bind.as_str() {
            "" => None,
            bind => {
                let listener =
                    TcpListener::bind(bind).with_context(|| format!("binding grpc.bind {bind}"))?;
                Some(crate::grpc::spawn(
                    core.clone(),
                    listener,
                    settings.serving.max_request_bytes,
                )?)
            }
        };
        let identity =
            crate::http::federation::identity(&settings, &core, federation.as_ref().map(|f| f.1))
                .await?;
        let (pipelines, work_dir) =
            pipelines(&settings, &core, pipeline_store, listener.local_addr()?)?;
        if settings.pipelines.enabled {
            caravan_pipelines::spawn_workers(pipelines.clone());
            caravan_pipelines::spawn_scheduler(pipelines.clone());
            caravan_pipelines::spawn_event_delivery(pipelines.clone());
        }
        let server = crate::http::server(&settings, core.clone(), pipelines, identity, listener)?;
        spawn_sweeper(&core, settings.storage.sweep_interval_secs);
        spawn_preload(&core);
        // Replicas on one PostgreSQL hear each other's changes at once.
        if core.follow_changes().await? {
            tracing::info!("following other replicas' changes (PostgreSQL LISTEN)");
        }
        Ok(Self {
            port,
            server,
            federation,
            grpc_port,
            core,
            _work_dir: work_dir,
        })
    }

    /// The federation listener's port, if it runs.
    pub fn federation_port(&self) -> Option<u16> {
        self.federation.as_ref().map(|(_, port)| *port)
    }

    /// The gRPC listener's port, if it runs.
    pub fn grpc_port(&self) -> Option<u16> {
        self.grpc_port
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Handles to stop the listeners; with `graceful`, in-flight requests finish first.
    pub fn handles(&self) -> Vec<actix_web::dev::ServerHandle> {
        let federation = self.federation.iter().map(|(server, _)| server.handle());
        std::iter::once(self.server.handle())
            .chain(federation)
            .collect()
    }

    /// Serves until stopped, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        match self.federation {
            Some((federation, _)) => futures::future::try_join(self.server, federation)
                .await
                .map(|_| ()),
            None => self.server.await,
        }
    }
}

/// The pipelines service: what its API calls, and what its workers run.
fn pipelines(
    settings: &Settings,
    core: &Core,
    store: caravan_pipelines::PipelineStore,
    api: std::net::SocketAddr,
) -> anyhow::Result<(caravan_pipelines::Pipelines, caravan_storage::ScratchDir)> {
    let config = &settings.pipelines;
    let launcher = match config.launcher.as_str() {
        "" => std::env::current_exe().context("locating the caravan binary")?,
        path => PathBuf::from(path),
    };
    let work_root = match config.work_dir.as_str() {
        // Under the system's temporary directory, which trainers running as another user
        // can reach (the data directory may not be).
        "" => std::env::temp_dir().join("caravan-pipelines"),
        dir => PathBuf::from(dir),
    };
    // This process's own directory there; what killed processes left is swept first.
    let (work_dir, swept) = caravan_storage::ScratchDir::claim(&work_root)
        .with_context(|| format!("claiming a work directory in {}", work_root.display()))?;
    if swept != caravan_storage::Swept::default() {
        tracing::info!(
            files = swept.files,
            dirs = swept.dirs,
            "removed run files that stopped processes left behind"
        );
    }
    let settings = caravan_pipelines::PipelineSettings {
        command_trainers: config.command_trainers,
        max_concurrent_runs: config.max_concurrent_runs.max(1),
        trainer_memory_mb: config.trainer_memory_mb.max(64),
        launcher,
        work_dir: work_dir.path().to_path_buf(),
        poll: Duration::from_secs(config.poll_secs.max(1)),
        lease: Duration::from_secs(config.lease_secs.max(3)),
        retry_base: Duration::from_secs(config.retry_base_secs),
        max_dataset_bytes: config.max_dataset_bytes,
        max_batch_rows: settings.serving.max_rows_per_request.max(1),
        outbound: settings.outbound()?,
        public_url: match settings.http.public_url.as_str() {
            // Without a configured address, the listener's own (loopback when it listens on all).
            "" if api.ip().is_unspecified() => format!("http://127.0.0.1:{}", api.port()),
            "" => format!("http://{api}"),
            url => url.to_owned(),
        },
    };
    Ok((
        caravan_pipelines::Pipelines::new(core.clone(), store, settings),
        work_dir,
    ))
}

/// Loads the versions aliases point to; until it is done, readiness says "not ready".
fn spawn_preload(core: &Core) {
    let core = core.clone();
    tokio::spawn(async move {
        match core.preload_aliased().await {
            Ok(n) => tracing::info!(versions = n, "aliased versions loaded; serving is ready"),
            Err(e) => tracing::error!(error = %e, "could not load the aliased versions"),
        }
    });
}

/// Periodically deletes blobs that no version references (after crashes or failed pushes),
/// uploads that expired, and login-attempt windows that ended.
fn spawn_sweeper(core: &Core, interval_secs: u64) {
    if interval_secs == 0 {
        return;
    }
    let core = Arc::new(core.clone());
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(interval_secs));
        ticker.tick().await;
        loop {
            ticker.tick().await;
            match core.sweep_orphans().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "swept unreferenced blobs"),
                Err(e) => tracing::warn!(error = %e, "blob sweep failed"),
            }
            match core.sweep_uploads().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "swept expired uploads"),
                Err(e) => tracing::warn!(error = %e, "upload sweep failed"),
            }
            match core.sweep_artifact_parts().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "swept stale MLflow multipart parts"),
                Err(e) => tracing::warn!(error = %e, "MLflow multipart sweep failed"),
            }
            if let Err(e) = core.prune_login_attempts().await {
                tracing::warn!(error = %e, "could not prune ended login-attempt windows");
            }
        }
    });
}
