//! TLS for federation: the listener requires a client certificate chained to the configured
//! CA bundles (and not revoked by the configured CRLs), reloading both when their files change
//! so peers can be added or revoked without a restart; the peer identity a certificate
//! carries; and the HTTPS client an instance uses to call its peers.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::{Duration, SystemTime},
};

use rustls::{
    DigitallySignedStruct, DistinguishedName, Error as TlsError, RootCertStore, ServerConfig,
    SignatureScheme,
    client::danger::HandshakeSignatureValid,
    pki_types::{
        CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime, pem::PemObject,
    },
    server::{
        WebPkiClientVerifier,
        danger::{ClientCertVerified, ClientCertVerifier},
    },
};
use sha2::{Digest, Sha256};

/// Who a peer is: its leaf certificate's subject and SHA-256 fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// RFC 4514 form, e.g. `CN=org-b.example, O=Org B`.
    pub subject: String,
    /// Lower-case hex SHA-256 of the DER certificate.
    pub fingerprint: String,
}

impl PeerIdentity {
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        Some(Self {
            subject: cert.subject().to_string(),
            fingerprint: hex::encode(Sha256::digest(der)),
        })
    }
}

/// Errors loading TLS material.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsSetupError(pub String);

fn read_error(path: &Path, e: impl std::fmt::Display) -> TlsSetupError {
    TlsSetupError(format!("{}: {e}", path.display()))
}

/// Where the federation listener's TLS material lives.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// PEM bundles of the CAs peers' certificates must chain to.
    pub ca: Vec<PathBuf>,
    /// PEM CRLs; a certificate they revoke is refused.
    pub crl: Vec<PathBuf>,
}

/// A client-certificate verifier rebuilt from the CA and CRL files whenever they change.
#[derive(Debug)]
pub struct ReloadingVerifier {
    files: TlsFiles,
    current: RwLock<(Arc<dyn ClientCertVerifier>, FileStamps)>,
}

/// The modification times of the CA and CRL files the current verifier was built from.
type FileStamps = Vec<Option<SystemTime>>;

fn modified(paths: &[PathBuf]) -> Vec<Option<SystemTime>> {
    paths
        .iter()
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}

fn build_verifier(files: &TlsFiles) -> Result<Arc<dyn ClientCertVerifier>, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for path in &files.ca {
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| read_error(path, e))? {
            roots
                .add(cert.map_err(|e| read_error(path, e))?)
                .map_err(|e| read_error(path, e))?;
        }
    }
    if roots.is_empty() {
        return Err(TlsSetupError(
            "federation.tls.ca names no CA certificate".into(),
        ));
    }
    let mut crls = Vec::new();
    for path in &files.crl {
        for crl in
            CertificateRevocationListDer::pem_file_iter(path).map_err(|e| read_error(path, e))?
        {
            crls.push(crl.map_err(|e| read_error(path, e))?);
        }
    }
    WebPkiClientVerifier::builder(Arc::new(roots))
        .with_crls(crls)
        .only_check_end_entity_revocation()
        .allow_unknown_revocation_status()
        .build()
        .map_err(|e| TlsSetupError(format!("client verifier: {e}")))
}

impl ReloadingVerifier {
    pub fn new(files: TlsFiles) -> Result<Arc<Self>, TlsSetupError> {
        let verifier = build_verifier(&files)?;
        let stamp = modified(&[files.ca.clone(), files.crl.clone()].concat());
        Ok(Arc::new(Self {
            files,
            current: RwLock::new((verifier, stamp)),
        }))
    }

    /// Rebuilds the verifier if a CA or CRL file changed; a broken file keeps the old one.
    pub fn reload_if_changed(&self) -> Result<bool, TlsSetupError> {
        let stamp = modified(&[self.files.ca.clone(), self.files.crl.clone()].concat());
        if self.current.read().expect("verifier lock").1 == stamp {
            return Ok(false);
        }
        let verifier = build_verifier(&self.files)?;
        *self.current.write().expect("verifier lock") = (verifier, stamp);
        Ok(true)
    }

    fn inner(&self) -> Arc<dyn ClientCertVerifier> {
        self.current.read().expect("verifier lock").0.clone()
    }

    /// Reloads every `every` until the process ends.
    pub fn watch(self: &Arc<Self>, every: Duration) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                match this.reload_if_changed() {
                    Ok(true) => tracing::info!("federation CA bundle or CRL reloaded"),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "federation CA bundle or CRL unreadable; keeping the previous one")
                    }
                }
            }
        });
    }
}

impl ClientCertVerifier for ReloadingVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // Hints are optional; clients send their certificate without them.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, TlsError> {
        self.inner()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner().supported_verify_schemes()
    }
}

/// The listener's TLS configuration: client certificates required and checked by `verifier`.
pub fn server_config(
    files: &TlsFiles,
    verifier: Arc<ReloadingVerifier>,
) -> Result<ServerConfig, TlsSetupError> {
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| read_error(&files.cert, e))?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| read_error(&files.key, e))?;
    ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| TlsSetupError(format!("certificate and key: {e}")))
}

/// The HTTPS client this instance calls peers with: its own certificate as identity, the
/// federation CAs as the only trust roots, and timeouts so a hanging peer cannot stall sync.
/// Peers are set by admins: the outgoing-request policy applies at its admin level.
pub fn client(
    files: &TlsFiles,
    timeout: Duration,
    outbound: &caravan_outbound::OutboundPolicy,
) -> Result<reqwest::Client, TlsSetupError> {
    let mut identity = std::fs::read(&files.cert).map_err(|e| read_error(&files.cert, e))?;
    identity.extend(std::fs::read(&files.key).map_err(|e| read_error(&files.key, e))?);
    let identity = reqwest::Identity::from_pem(&identity)
        .map_err(|e| TlsSetupError(format!("identity: {e}")))?;
    let mut roots = Vec::new();
    for path in &files.ca {
        let pem = std::fs::read(path).map_err(|e| read_error(path, e))?;
        roots.extend(reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| read_error(path, e))?);
    }
    outbound
        .builder(caravan_outbound::Trust::Admin, reqwest::Client::builder())
        .tls_certs_only(roots)
        .identity(identity)
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .read_timeout(timeout)
        .build()
        .map_err(|e| TlsSetupError(format!("HTTPS client: {e}")))
}
