//! Signed manifests: for each revision an instance signs, with its ed25519 key, a JSON
//! document naming the revision and the SHA-256 and size of each artifact. An importer
//! verifies the signature with the key it pinned for that peer, then checks every byte it
//! downloads against the manifest, before anything becomes visible.
//!
//! The signed bytes travel as they were signed (base64 in `manifest`), so no JSON
//! canonicalization is involved: the signature is over exactly those bytes.

use base64::{Engine, engine::general_purpose::STANDARD};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Prefix of public keys as `caravan peer add --signing-key` takes them.
pub const KEY_PREFIX: &str = "ed25519:";
pub const SCHEMA: &str = "caravan.manifest/1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("the signing key is not ed25519:<base64 of 32 bytes>")]
    BadKey,
    #[error("the manifest is not base64 JSON of schema {SCHEMA}")]
    Malformed,
    #[error("the manifest signature does not verify with the key pinned for this peer")]
    BadSignature,
}

/// What an instance signs for one revision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema: String,
    /// The signing instance's name.
    pub issuer: String,
    pub solution_id: Uuid,
    pub solution_name: String,
    pub revision_id: Uuid,
    pub version: String,
    pub artifacts: Vec<ManifestArtifact>,
    pub signed_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ManifestArtifact {
    pub artifact_id: Uuid,
    pub artifact_type_code: String,
    pub sha256: String,
    pub size: u64,
}

/// A manifest with its signature, as it travels in a revision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignedManifest {
    /// Base64 (standard, padded) of the exact signed bytes: the manifest's JSON.
    pub manifest: String,
    /// Base64 of the 64-byte ed25519 signature over those bytes.
    pub signature: String,
    /// The signer's public key (`ed25519:...`), for information: importers use the pinned one.
    pub key: String,
}

/// This instance's signing key.
pub struct InstanceKey(SigningKey);

impl InstanceKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("the OS random source works");
        Self(SigningKey::from_bytes(&seed))
    }

    /// The key from its secret (base64 of the 32-byte seed), as stored.
    pub fn from_secret(secret: &str) -> Result<Self, ManifestError> {
        let bytes = STANDARD
            .decode(secret.trim())
            .map_err(|_| ManifestError::BadKey)?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| ManifestError::BadKey)?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    pub fn secret(&self) -> String {
        STANDARD.encode(self.0.to_bytes())
    }

    /// The public key to give peers: `ed25519:<base64 of 32 bytes>`.
    pub fn public_key(&self) -> String {
        format!(
            "{KEY_PREFIX}{}",
            STANDARD.encode(self.0.verifying_key().to_bytes())
        )
    }

    pub fn sign(&self, manifest: &Manifest) -> SignedManifest {
        let bytes = serde_json::to_vec(manifest).expect("a manifest serializes");
        let signature = self.0.sign(&bytes);
        SignedManifest {
            manifest: STANDARD.encode(&bytes),
            signature: STANDARD.encode(signature.to_bytes()),
            key: self.public_key(),
        }
    }
}

/// Parses `ed25519:<base64>`.
pub fn parse_public_key(key: &str) -> Result<VerifyingKey, ManifestError> {
    let encoded = key
        .trim()
        .strip_prefix(KEY_PREFIX)
        .ok_or(ManifestError::BadKey)?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| ManifestError::BadKey)?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| ManifestError::BadKey)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| ManifestError::BadKey)
}

/// Verifies a signed manifest with a pinned public key and returns what it says.
pub fn verify(pinned_key: &str, signed: &SignedManifest) -> Result<Manifest, ManifestError> {
    let key = parse_public_key(pinned_key)?;
    let bytes = STANDARD
        .decode(&signed.manifest)
        .map_err(|_| ManifestError::Malformed)?;
    let signature = STANDARD
        .decode(&signed.signature)
        .map_err(|_| ManifestError::BadSignature)?;
    let signature = Signature::from_slice(&signature).map_err(|_| ManifestError::BadSignature)?;
    // Strict: refuses small-order keys and non-canonical signatures (RFC 8032 section 5.1.7).
    key.verify_strict(&bytes, &signature)
        .map_err(|_| ManifestError::BadSignature)?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|_| ManifestError::Malformed)?;
    if manifest.schema != SCHEMA {
        return Err(ManifestError::Malformed);
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            schema: SCHEMA.into(),
            issuer: "org-a".into(),
            solution_id: Uuid::from_u128(1),
            solution_name: "fraud".into(),
            revision_id: Uuid::from_u128(2),
            version: "1".into(),
            artifacts: vec![ManifestArtifact {
                artifact_id: Uuid::from_u128(3),
                artifact_type_code: "MI".into(),
                sha256: "ab".repeat(32),
                size: 42,
            }],
            signed_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_signed_manifest_verifies_with_the_signers_key_only() {
        let key = InstanceKey::generate();
        let signed = key.sign(&manifest());
        assert_eq!(verify(&key.public_key(), &signed).unwrap(), manifest());
        let other = InstanceKey::generate();
        assert_eq!(
            verify(&other.public_key(), &signed),
            Err(ManifestError::BadSignature)
        );
        let restored = InstanceKey::from_secret(&key.secret()).unwrap();
        assert_eq!(restored.public_key(), key.public_key());
    }

    #[test]
    fn tampered_manifests_and_bad_keys_are_refused() {
        let key = InstanceKey::generate();
        let mut signed = key.sign(&manifest());
        let mut changed = manifest();
        changed.artifacts[0].sha256 = "cd".repeat(32);
        signed.manifest = STANDARD.encode(serde_json::to_vec(&changed).unwrap());
        assert_eq!(
            verify(&key.public_key(), &signed),
            Err(ManifestError::BadSignature)
        );
        signed.signature = "not base64!".into();
        assert_eq!(
            verify(&key.public_key(), &signed),
            Err(ManifestError::BadSignature)
        );
        for bad in ["", "ed25519:", "rsa:AAAA", "ed25519:AAAA"] {
            assert_eq!(
                parse_public_key(bad).err(),
                Some(ManifestError::BadKey),
                "{bad:?}"
            );
        }
    }
}
