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
    /// Work was queued that any replica's worker may take: idle workers look now rather than
    /// at their next poll (the work itself is claimed in the database, so one takes it).
    Work { queue: WorkQueue },
    /// The listening connection was lost and re-established: what was announced meanwhile is
    /// unknown, so everything cached is dropped.
    Resync,
}

/// The queues whose workers a `Change::Work` wakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkQueue {
    /// Pipeline runs (a run queued by hand, a trigger or a schedule).
    Runs,
    /// Federation subscriptions (one created, or a sync asked for).
    Sync,
}
