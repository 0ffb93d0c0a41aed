//! A certificate authority made at test time, the certificates it issues (as files, the way
//! instances read them) and its revocation list, rewritten to revoke.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use caravan_federation::{
    PeerIdentity,
    certs::{self, Pem},
    tls::TlsFiles,
};
use rustls::pki_types::{CertificateDer, pem::PemObject};

pub struct Pki {
    pub ca: Pem,
    pub ca_path: PathBuf,
    pub crl_path: PathBuf,
    dir: tempfile::TempDir,
    next_serial: AtomicU64,
}

/// An issued certificate: its files and the identity it carries.
#[derive(Clone)]
pub struct Leaf {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    pub identity: PeerIdentity,
    pub serial: u64,
}

impl Pki {
    /// A CA named `name`, with an empty CRL.
    pub fn new(name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = certs::new_ca(name).unwrap();
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, &ca.cert).unwrap();
        let pki = Pki {
            crl_path: dir.path().join("crl.pem"),
            ca,
            ca_path,
            dir,
            next_serial: AtomicU64::new(1000),
        };
        pki.revoke(&[]);
        pki
    }

    /// A certificate for `common_name`, valid for 127.0.0.1 and localhost.
    pub fn issue(&self, common_name: &str) -> Leaf {
        let serial = self.next_serial.fetch_add(1, Ordering::Relaxed);
        let hosts = ["127.0.0.1".to_owned(), "localhost".to_owned()];
        let pem = certs::issue(&self.ca, common_name, &hosts, serial).unwrap();
        let cert_path = self.dir.path().join(format!("{common_name}-{serial}.pem"));
        let key_path = self.dir.path().join(format!("{common_name}-{serial}.key"));
        std::fs::write(&cert_path, &pem.cert).unwrap();
        std::fs::write(&key_path, &pem.key).unwrap();
        let der = CertificateDer::from_pem_slice(pem.cert.as_bytes()).unwrap();
        Leaf {
            cert_path,
            key_path,
            identity: PeerIdentity::from_der(&der).unwrap(),
            serial,
        }
    }

    /// Rewrites the CRL to revoke exactly these serial numbers.
    pub fn revoke(&self, serials: &[u64]) {
        let crl = certs::revocation_list(&self.ca, serials).unwrap();
        // Written beside and renamed, so a reload never reads half a file.
        let partial = self.crl_path.with_extension("partial");
        std::fs::write(&partial, crl).unwrap();
        std::fs::rename(&partial, &self.crl_path).unwrap();
    }

    /// The TLS files an instance holding `leaf` uses.
    pub fn files(&self, leaf: &Leaf) -> TlsFiles {
        TlsFiles {
            cert: leaf.cert_path.clone(),
            key: leaf.key_path.clone(),
            ca: vec![self.ca_path.clone()],
            crl: vec![self.crl_path.clone()],
        }
    }
}

/// An HTTPS client presenting `leaf` (issued by `issuer`) and trusting `trust`'s CA.
pub fn client_with(issuer: &Pki, leaf: &Leaf, trust: &Pki) -> reqwest::Client {
    let mut files = issuer.files(leaf);
    files.ca = vec![trust.ca_path.clone()];
    caravan_federation::tls::client(
        &files,
        std::time::Duration::from_secs(10),
        &caravan_outbound::OutboundPolicy::default(),
    )
    .unwrap()
}

/// An HTTPS client that trusts `trust`'s CA and presents no certificate.
pub fn anonymous_client(trust: &Pki) -> reqwest::Client {
    let pem = std::fs::read(&trust.ca_path).unwrap();
    reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(&pem).unwrap())
        .build()
        .unwrap()
}
