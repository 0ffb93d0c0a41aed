//! Changes other replicas must see at once: announced after the change commits (PostgreSQL
//! NOTIFY), received by every replica listening, which drops what it cached of them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A model's aliases, versions (a deletion), visibility or existence changed.
    Model { name: String },
    /// A token was revoked, a user disabled or a password changed: cached credentials go.
    Credentials,
    /// The listening connection was lost and re-established: what was announced meanwhile is
    /// unknown, so everything cached is dropped.
    Resync,
}
