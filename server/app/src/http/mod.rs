//! Every HTTP surface, each under its own scope with its own error renderer and extractor
//! configuration, so that one surface's conventions never leak into another's:
//! - `api`: `/api/v1`, Caravan's REST API, errors as `{"error", "code"}`;
//! - `v2`: the Open Inference Protocol under `/v2`, errors in the same JSON (V2 clients read
//!   `error`);
//! - `ops`: health, readiness and metrics;
//! - `ui`: the web UI's pages, errors as HTML pages;
//! - `federation`: the Acumos E5 peer protocol on its own mutual-TLS listener, errors in the
//!   E5 envelope.
//!
//! Shared by the surfaces: `dto` (wire types), `error` (the JSON renderer), `extract`
//! (credentials), `upload` (multipart), `metrics`, `spans` (request spans and ids) and
//! `connections` (deadlines for slow clients, the connection cap).

pub mod acumos;
pub mod api;
pub mod artifact;
pub mod connections;
pub mod dto;
pub mod encoding;
pub mod error;
pub mod extract;
pub mod federation;
pub mod metrics;
pub mod mlflow;
pub mod ops;
pub mod spans;
pub mod ui;
pub mod upload;
pub mod v2;

use std::net::TcpListener;

use actix_web::{App, HttpServer, dev::Server, middleware::from_fn, web};
use anyhow::Context;
use caravan_core::Core;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;

/// The API listener: every surface but federation, with what they share as app data.
pub fn server(
    settings: &Settings,
    core: Core,
    pipelines: caravan_pipelines::Pipelines,
    identity: dto::FederationIdentity,
    listener: TcpListener,
) -> anyhow::Result<Server> {
    // The V2 surface reaches the models through the trait a runner implements too.
    let models: web::Data<dyn caravan_core::ModelService> = web::Data::from(std::sync::Arc::new(
        core.clone(),
    )
        as std::sync::Arc<dyn caravan_core::ModelService>);
    let core = web::Data::new(core);
    let pipelines = web::Data::new(pipelines);
    let identity = web::Data::new(identity);
    let metrics = web::Data::new(metrics::Metrics::install(metrics::MetricsAccess {
        token: settings.metrics.token.clone(),
        anonymous: settings.metrics.anonymous,
        model_labels: settings.metrics.model_labels,
    }));
    let max_request_bytes = settings.serving.max_request_bytes;
    let ui_config = web::Data::new(ui::UiConfig {
        secure: settings.http.public_url.starts_with("https://")
            || !settings.http.tls_files().0.is_empty(),
        public_url: settings.http.public_url.clone(),
    });
    let bundles = web::Data::new(crate::bundle::BundleConfig {
        image: settings.deploy.image.clone(),
        registry: settings.deploy.registry.clone(),
        inference_memory_mb: settings.deploy.inference_memory_mb,
        sessions_per_version: settings.serving.sessions_per_version,
        public_url: settings.http.public_url.clone(),
    });
    let workers = match settings.http.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let limits = connections::Limits::new(&settings.http, workers);
    let body_idle = web::Data::new(connections::BodyIdleTimeout(limits.body_idle_timeout));
    let factory = move || {
        App::new()
            .app_data(body_idle.clone())
            .app_data(core.clone())
            .app_data(models.clone())
            .app_data(metrics.clone())
            .app_data(identity.clone())
            .app_data(pipelines.clone())
            .app_data(ui_config.clone())
            .app_data(bundles.clone())
            .app_data(web::PayloadConfig::new(max_request_bytes))
            .wrap(from_fn(encoding::request_encoding))
            .wrap(from_fn(connections::body_idle_timeout))
            .wrap(from_fn(metrics::record))
            .wrap(from_fn(spans::echo))
            .wrap(TracingLogger::<spans::RequestSpan>::new())
            .configure(ops::routes)
            .configure(api::routes)
            .configure(v2::routes)
            .configure(acumos::routes)
            .configure(mlflow::routes)
            // Last: the UI's pages sit at the root, and its scope answers what nothing else did.
            .configure(ui::routes)
    };
    // Signals are handled by `caravan serve` itself (see `cli`), registered before the server
    // announces that it listens, so an early SIGTERM is never fatal.
    let server = HttpServer::new(factory)
        .on_connect(v2::disconnect::on_connect)
        .shutdown_timeout(settings.http.shutdown_timeout_secs)
        .client_request_timeout(limits.client_request_timeout)
        .client_disconnect_timeout(limits.client_disconnect_timeout)
        .keep_alive(limits.keep_alive)
        .max_connections(limits.max_connections_per_worker)
        .workers(workers)
        .disable_signals();
    let server = match tls_config(settings)? {
        Some(tls) => server.listen_rustls_0_23(listener, tls)?,
        None => server.listen(listener)?,
    };
    Ok(server.run())
}

/// This instance's origin as callers reach it, for URLs put in snippets and bundles:
/// `http.public_url` when set, else the request's scheme and host, where a host with anything
/// but the characters of a host name, an IP address and a port is replaced by `localhost`.
pub fn public_origin(req: &actix_web::HttpRequest, public_url: &str) -> String {
    if !public_url.is_empty() {
        return public_url.trim_end_matches('/').to_owned();
    }
    let info = req.connection_info();
    let host = info.host();
    let plain = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    format!(
        "{}://{}",
        info.scheme(),
        if plain { host } else { "localhost" }
    )
}

/// Optional TLS on the API port from `http.tls.cert` / `http.tls.key` (PEM).
fn tls_config(settings: &Settings) -> anyhow::Result<Option<rustls::ServerConfig>> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let (cert, key) = settings.http.tls_files();
    match (cert.is_empty(), key.is_empty()) {
        (true, true) => return Ok(None),
        (false, false) => {}
        _ => anyhow::bail!("http.tls.cert and http.tls.key must be set together"),
    }
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the certificate chain {cert}"))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key {key}"))?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not match")?;
    Ok(Some(config))
}
