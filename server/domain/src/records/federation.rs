//! Federation records: peers, subscriptions and where imported models came from.

use std::{fmt, str::FromStr};

use crate::{NameError, Visibility};
use uuid::Uuid;

use super::{ModelRecord, Timestamp};

/// Whether a peer may call this instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerStatus {
    Active,
    Disabled,
    /// Kept so imported models keep their provenance; never reactivated.
    Removed,
}

impl PeerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PeerStatus::Active => "active",
            PeerStatus::Disabled => "disabled",
            PeerStatus::Removed => "removed",
        }
    }
}

impl fmt::Display for PeerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PeerStatus {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(PeerStatus::Active),
            "disabled" => Ok(PeerStatus::Disabled),
            "removed" => Ok(PeerStatus::Removed),
            other => Err(NameError(format!("unknown peer status {other:?}"))),
        }
    }
}

/// Another Caravan (or Acumos) instance this one federates with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    pub id: Uuid,
    pub name: String,
    /// Base URL of the peer's federation listener.
    pub api_url: String,
    /// Expected certificate subject (RFC 4514 form), if pinned.
    pub subject: Option<String>,
    /// Expected SHA-256 of the peer's certificate (hex), if pinned.
    pub fingerprint: Option<String>,
    /// The peer's manifest-signing key (ed25519, base64); empty for a legacy Acumos gateway
    /// that signs nothing.
    pub signing_key: String,
    /// An Acumos federation gateway (an admin's explicit choice): its revisions, which carry
    /// no digest or signed manifest, are imported as unverified after every other check.
    pub legacy_acumos: bool,
    pub status: PeerStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A peer about to be registered.
#[derive(Debug, Clone)]
pub struct NewPeer {
    pub name: String,
    pub api_url: String,
    pub subject: Option<String>,
    pub fingerprint: Option<String>,
    pub signing_key: String,
    pub legacy_acumos: bool,
}

/// Which of this instance's catalogs a peer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FederatedCatalog {
    /// Public local models.
    Public,
    /// Models shared with the calling peer.
    Shared,
}

/// What changed for a peer since a cursor.
#[derive(Debug, Clone)]
pub struct ChangeSet {
    /// Models the peer can see that changed.
    pub models: Vec<ModelRecord>,
    /// Models the peer was shown before and can no longer see.
    pub withdrawn: Vec<Uuid>,
    pub cursor: i64,
}

/// A subscription to a peer's catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub id: Uuid,
    pub peer_id: Uuid,
    pub peer_name: String,
    pub catalog_id: String,
    /// Remote model names to import; empty means the whole catalog.
    pub models: Vec<String>,
    pub interval_secs: i64,
    /// Visibility of the imported copies.
    pub visibility: Visibility,
    /// The local user who owns imported copies.
    pub owner_id: Uuid,
    pub cursor: i64,
    pub next_run_at: Timestamp,
    pub failures: i64,
    pub last_success_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
    pub imported: i64,
    pub withdrawn: i64,
    pub created_at: Timestamp,
}

/// A subscription about to be created.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub peer_id: Uuid,
    pub catalog_id: String,
    pub models: Vec<String>,
    pub interval_secs: i64,
    pub visibility: Visibility,
    pub owner_id: Uuid,
}

/// How a sync pass ended.
#[derive(Debug, Clone)]
pub enum SyncOutcome {
    Success {
        cursor: i64,
        withdrawn: i64,
        next_run_at: Timestamp,
        /// Items the peer sent that were refused, summarised; kept as the last error.
        refused: Option<String>,
    },
    Failure {
        error: String,
        next_run_at: Timestamp,
    },
}

/// Where an imported model came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenanceRecord {
    pub peer_id: Uuid,
    pub peer_name: String,
    pub remote_solution_id: Uuid,
    pub remote_name: String,
    pub fetched_at: Timestamp,
    /// Versions imported without a signed manifest (from a legacy Acumos gateway).
    pub unverified_versions: Vec<i64>,
}
