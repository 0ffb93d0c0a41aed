//! The federation administration API's bodies: peers, shares, subscriptions, provenance.

use caravan_domain::Visibility;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// What peers need to register this instance: `caravan peer add` takes these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FederationIdentity {
    /// This instance's name, as peers know it.
    pub name: String,
    /// The federation listener's URL, when it runs.
    pub api_url: Option<String>,
    /// The subject of the certificate this instance presents (RFC 4514).
    pub subject: Option<String>,
    /// Its SHA-256 fingerprint (hex).
    pub fingerprint: Option<String>,
    /// The key its manifests are signed with: ed25519:<base64>.
    pub signing_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Peer {
    pub id: Uuid,
    pub name: String,
    pub api_url: String,
    pub subject: Option<String>,
    pub fingerprint: Option<String>,
    pub signing_key: String,
    /// A legacy Acumos gateway: its revisions, unsigned, are imported as unverified.
    pub legacy_acumos: bool,
    /// active, disabled or removed.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl From<caravan_domain::records::PeerRecord> for Peer {
    fn from(p: caravan_domain::records::PeerRecord) -> Self {
        Peer {
            id: p.id,
            name: p.name,
            api_url: p.api_url,
            subject: p.subject,
            fingerprint: p.fingerprint,
            signing_key: p.signing_key,
            legacy_acumos: p.legacy_acumos,
            status: p.status.to_string(),
            created_at: p.created_at.0,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPeer {
    pub name: String,
    /// The peer's federation listener, https://...
    pub api_url: String,
    /// Pin the peer's certificate subject (RFC 4514, e.g. "CN=org-b.example, O=Org B")...
    pub subject: Option<String>,
    /// ...and/or its SHA-256 fingerprint (hex).
    pub fingerprint: Option<String>,
    /// The peer's manifest-signing key: ed25519:<base64> (empty for a legacy Acumos peer).
    #[serde(default)]
    pub signing_key: String,
    /// Mark the peer as a legacy Acumos federation gateway: its revisions carry no sha256
    /// and no signed manifest and are imported as unverified after the size and model checks.
    /// Every other peer keeps the strict rule.
    #[serde(default)]
    pub legacy_acumos: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeerChange {
    /// active or disabled.
    pub status: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShare {
    pub peer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Subscription {
    pub id: Uuid,
    pub peer: String,
    pub catalog_id: String,
    pub models: Vec<String>,
    pub interval_secs: i64,
    pub visibility: Visibility,
    pub cursor: i64,
    pub next_run_at: DateTime<Utc>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub failures: i64,
    pub imported: i64,
    pub withdrawn: i64,
    pub created_at: DateTime<Utc>,
}

impl From<caravan_domain::records::SubscriptionRecord> for Subscription {
    fn from(s: caravan_domain::records::SubscriptionRecord) -> Self {
        Subscription {
            id: s.id,
            peer: s.peer_name,
            catalog_id: s.catalog_id,
            models: s.models,
            interval_secs: s.interval_secs,
            visibility: s.visibility,
            cursor: s.cursor,
            next_run_at: s.next_run_at.0,
            last_success_at: s.last_success_at.map(|t| t.0),
            last_error: s.last_error,
            last_error_at: s.last_error_at.map(|t| t.0),
            failures: s.failures,
            imported: s.imported,
            withdrawn: s.withdrawn,
            created_at: s.created_at.0,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    pub peer: String,
    /// "public" (default) or "shared".
    pub catalog_id: Option<String>,
    /// Remote model names; absent or empty for the whole catalog.
    #[serde(default)]
    pub models: Vec<String>,
    /// Seconds between syncs (default 300).
    pub interval_secs: Option<i64>,
    /// Visibility of the imported copies (default private).
    pub visibility: Option<Visibility>,
}

/// Where an imported model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Provenance {
    pub peer: String,
    pub remote_solution_id: Uuid,
    pub remote_name: String,
    pub fetched_at: DateTime<Utc>,
    /// Versions imported without a signed manifest, from a legacy Acumos peer: their bytes
    /// were checked only against the size the peer announced.
    pub unverified_versions: Vec<i64>,
}

impl From<caravan_domain::records::ProvenanceRecord> for Provenance {
    fn from(p: caravan_domain::records::ProvenanceRecord) -> Self {
        Provenance {
            peer: p.peer_name,
            remote_solution_id: p.remote_solution_id,
            remote_name: p.remote_name,
            fetched_at: p.fetched_at.0,
            unverified_versions: p.unverified_versions,
        }
    }
}
