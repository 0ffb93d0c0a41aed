//! The federation listener: its own port, mutual TLS required, the caller identified by its
//! certificate and matched to an active registered peer on every request; and the worker
//! that syncs subscriptions.

use std::{any::Any, net::TcpListener, path::PathBuf, sync::Arc, time::Duration};

use actix_web::{
    App, HttpServer,
    dev::{Extensions, Server},
    middleware::from_fn,
    web,
};
use anyhow::Context;
use caravan_core::Core;
use caravan_federation::{
    InstanceKey, PeerIdentity,
    serve::Instance,
    sync::{SyncSettings, spawn_worker},
    tls::{self, ReloadingVerifier, TlsFiles},
};
use tracing_actix_web::TracingLogger;

use crate::config::Settings;

pub mod routes;

/// The instance's manifest-signing key, generated once and kept in the database.
pub async fn instance_key(core: &Core) -> anyhow::Result<InstanceKey> {
    let secret = core
        .instance_value("federation.signing_key", || {
            InstanceKey::generate().secret()
        })
        .await?;
    Ok(InstanceKey::from_secret(&secret)?)
}

/// What peers need to register this instance: its name, listener, certificate and key.
pub async fn identity(
    settings: &Settings,
    core: &Core,
    listener_port: Option<u16>,
) -> anyhow::Result<crate::http::dto::FederationIdentity> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let federation = &settings.federation;
    let certificate = match federation.tls.cert.as_str() {
        "" => None,
        path => {
            let der = CertificateDer::pem_file_iter(path)
                .with_context(|| format!("reading {path}"))?
                .next()
                .with_context(|| format!("{path} holds no certificate"))??;
            Some(PeerIdentity::from_der(&der).with_context(|| format!("parsing {path}"))?)
        }
    };
    let api_url = match (federation.public_url.as_str(), listener_port) {
        ("", Some(port)) => {
            let host = federation
                .bind
                .rsplit_once(':')
                .map_or("", |(host, _)| host);
            Some(format!("https://{host}:{port}"))
        }
        ("", None) => None,
        (url, _) => Some(url.trim_end_matches('/').to_owned()),
    };
    Ok(crate::http::dto::FederationIdentity {
        name: federation.name.clone(),
        api_url,
        subject: certificate.as_ref().map(|c| c.subject.clone()),
        fingerprint: certificate.map(|c| c.fingerprint),
        signing_key: instance_key(core).await?.public_key(),
    })
}

fn tls_files(settings: &Settings) -> Option<TlsFiles> {
    let tls = &settings.federation.tls;
    (!tls.cert.is_empty() && !tls.key.is_empty()).then(|| TlsFiles {
        cert: PathBuf::from(&tls.cert),
        key: PathBuf::from(&tls.key),
        ca: tls.ca.iter().map(PathBuf::from).collect(),
        crl: tls.crl.iter().map(PathBuf::from).collect(),
    })
}

/// Reads the peer certificate of each TLS connection into its extensions.
fn on_connect(connection: &dyn Any, extensions: &mut Extensions) {
    use actix_tls::accept::rustls_0_23::TlsStream;
    let Some(tls) = connection.downcast_ref::<TlsStream<actix_web::rt::net::TcpStream>>() else {
        return;
    };
    let (_, session) = tls.get_ref();
    if let Some(identity) = session
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|leaf| PeerIdentity::from_der(leaf))
    {
        extensions.insert(identity);
    }
}

/// Starts the listener (when `federation.bind` is set) and the sync worker (when this
/// instance has a certificate to call peers with). Returns the listener's server and port.
pub async fn start(
    settings: &Settings,
    core: &Core,
    listener: Option<TcpListener>,
) -> anyhow::Result<Option<(Server, u16)>> {
    let key = Arc::new(instance_key(core).await?);
    let federation = &settings.federation;
    let Some(files) = tls_files(settings) else {
        if listener.is_some() {
            anyhow::bail!("federation.bind needs federation.tls.cert, key and ca");
        }
        return Ok(None);
    };
    let outbound = settings.outbound()?;
    let http = tls::client(
        &files,
        Duration::from_secs(federation.timeout_secs.max(1)),
        &outbound,
    )?;
    let sync = SyncSettings {
        poll: Duration::from_secs(federation.poll_secs.max(1)),
        lease: Duration::from_secs(federation.lease_secs.max(3)),
        max_json_bytes: federation.max_json_bytes,
        max_artifact_bytes: federation.max_artifact_bytes,
        concurrency: federation.sync_concurrency.max(1),
        outbound,
    };
    spawn_worker(core.clone(), http, sync);
    let Some(listener) = listener else {
        return Ok(None);
    };
    let port = listener.local_addr()?.port();
    let verifier = ReloadingVerifier::new(files.clone())?;
    verifier.watch(Duration::from_secs(federation.tls.reload_secs.max(1)));
    let config = tls::server_config(&files, verifier)?;
    let api_url = match federation.public_url.as_str() {
        "" => format!("https://{}", listener.local_addr()?),
        url => url.trim_end_matches('/').to_owned(),
    };
    let instance = web::Data::new(Instance {
        name: federation.name.clone(),
        api_url,
        key,
    });
    let core = web::Data::new(core.clone());
    crate::http::metrics::install_recorder();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(core.clone())
            .app_data(instance.clone())
            // Counted in the same request metrics as the API listener (its routes are its own).
            .wrap(from_fn(crate::http::metrics::record))
            .wrap(from_fn(crate::http::spans::echo))
            .wrap(TracingLogger::<crate::http::spans::RequestSpan>::new())
            .configure(routes::routes)
    })
    .on_connect(on_connect)
    .disable_signals()
    .listen_rustls_0_23(listener, config)
    .context("starting the federation listener")?
    .run();
    Ok(Some((server, port)))
}
