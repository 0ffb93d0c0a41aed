//! Development certificates (rcgen): a CA, instance certificates usable as TLS server and
//! client, and CRLs, so that instances can be paired on one machine in minutes. Production
//! certificates come from the organisations' own CAs.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber,
};

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Pem {
    pub cert: String,
    pub key: String,
}

/// A self-signed CA for a federation of development instances.
pub fn new_ca(name: &str) -> Result<Pem, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Caravan federation (development)");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

fn issuer(ca: &Pem) -> Result<Issuer<'static, KeyPair>, rcgen::Error> {
    Issuer::from_ca_cert_pem(&ca.cert, KeyPair::from_pem(&ca.key)?)
}

/// An instance certificate signed by `ca`, for both ends of mutual TLS, valid for `hosts`
/// (DNS names or IP addresses), with the given serial number (what CRLs revoke).
pub fn issue(
    ca: &Pem,
    common_name: &str,
    hosts: &[String],
    serial: u64,
) -> Result<Pem, rcgen::Error> {
    let mut params = CertificateParams::new(hosts.to_vec())?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Caravan federation (development)");
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.serial_number = Some(SerialNumber::from(serial));
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer(ca)?)?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A CRL from `ca` revoking the certificates with these serial numbers.
pub fn revocation_list(ca: &Pem, revoked: &[u64]) -> Result<String, rcgen::Error> {
    let now = time::OffsetDateTime::now_utc();
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + time::Duration::days(30),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|&serial| RevokedCertParams {
                serial_number: SerialNumber::from(serial),
                revocation_time: now,
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    params.signed_by(&issuer(ca)?)?.pem()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PeerIdentity;

    #[test]
    fn issued_certificates_carry_their_name_and_a_fingerprint() {
        let ca = new_ca("Test CA").unwrap();
        let leaf = issue(
            &ca,
            "org-b.example",
            &["127.0.0.1".into(), "localhost".into()],
            7,
        )
        .unwrap();
        let der = rustls::pki_types::pem::PemObject::from_pem_slice(leaf.cert.as_bytes())
            .map(|c: rustls::pki_types::CertificateDer| c.to_vec())
            .unwrap();
        let identity = PeerIdentity::from_der(&der).unwrap();
        assert!(
            identity.subject.contains("CN=org-b.example"),
            "{}",
            identity.subject
        );
        assert_eq!(identity.fingerprint.len(), 64);
        assert!(
            revocation_list(&ca, &[7])
                .unwrap()
                .contains("BEGIN X509 CRL")
        );
    }
}
