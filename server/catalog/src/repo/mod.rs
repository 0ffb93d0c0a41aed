//! The repository traits. Every write that changes what users see also appends to the audit
//! log in the same transaction, so the log and the data never disagree.

use async_trait::async_trait;
use caravan_domain::ModelName;
use uuid::Uuid;

use crate::{
    Actor, AliasRecord, AuditRecord, Change, ChangeSet, FederatedCatalog, ModelPatch, ModelQuery,
    ModelRecord, NewPeer, NewSubscription, NewToken, NewUser, NewVersion, Page, PeerRecord,
    PeerStatus, ProvenanceRecord, Published, Result, SubscriptionRecord, SyncOutcome, Timestamp,
    TokenRecord, UserRecord, VersionRecord,
};
use crate::{CommentRecord, RatingRecord, SocialSummary};

mod pipelines;
mod tracking;

pub use pipelines::{DatasetRepo, EventRepo, PipelineCatalog, PipelineRepo, TriggerRepo};
pub use tracking::{LoggedModelRepo, TrackingRepo};

/// Users and their passwords.
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Creates a user; `Conflict` when the name is taken. `actor` is `None` for the bootstrap.
    async fn create_user(&self, user: NewUser, actor: Option<&Actor>) -> Result<UserRecord>;
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>>;
    async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>>;
    async fn list_users(&self) -> Result<Vec<UserRecord>>;
    async fn count_users(&self) -> Result<i64>;
    async fn set_user_disabled(&self, id: Uuid, disabled: bool, actor: &Actor) -> Result<()>;
    async fn set_password(&self, id: Uuid, password_hash: &str, actor: &Actor) -> Result<()>;
}

/// Login attempts, counted in fixed windows per key and shared by every replica.
#[async_trait]
pub trait LoginAttemptRepo: Send + Sync {
    /// Counts one attempt under every `(key, cap)` at once, or none if any key already has
    /// `cap` attempts in its current window (a window starts with a key's first attempt and
    /// lasts `window`); then answers the seconds until that window ends (at least 1).
    /// Concurrent callers are serialized per key, so no more than `cap` are ever admitted.
    async fn count_login_attempt(
        &self,
        keys: &[(String, i64)],
        now: Timestamp,
        window: std::time::Duration,
    ) -> Result<Option<u64>>;
    /// A successful login: `forget` loses its count, each of `give_back` gets one attempt back.
    async fn login_succeeded(&self, forget: &str, give_back: &[String]) -> Result<()>;
    /// Drops the keys whose window started before `before`.
    async fn prune_login_attempts(&self, before: Timestamp) -> Result<u64>;
}

/// Resumable uploads and the parts they have received (the parts' bytes are in the object
/// store).
#[async_trait]
pub trait UploadRepo: Send + Sync {
    async fn create_upload(&self, upload: crate::NewUpload) -> Result<crate::UploadRecord>;
    async fn upload(&self, id: Uuid) -> Result<Option<crate::UploadRecord>>;
    /// The parts received, by number.
    async fn upload_parts(&self, id: Uuid) -> Result<Vec<crate::UploadPart>>;
    /// Records (or replaces) a part and moves the upload's expiry; `false` (nothing recorded)
    /// unless the upload is open.
    async fn record_part(
        &self,
        id: Uuid,
        part: &crate::UploadPart,
        expires_at: Timestamp,
    ) -> Result<bool>;
    /// Claims the completion of an open upload (or of one whose completer's claim lapsed
    /// before `now`) until `until`, which is the claim's token; `false` if another request
    /// holds it or it is done.
    async fn begin_completing(&self, id: Uuid, now: Timestamp, until: Timestamp) -> Result<bool>;
    /// Ends the completion claimed as `claim`: done as `version`, or open again (`None`) after
    /// a failure a retry may fix. `false` (nothing changed) if the claim was taken over.
    async fn end_completing(
        &self,
        id: Uuid,
        claim: Timestamp,
        version: Option<i64>,
        expires_at: Timestamp,
    ) -> Result<bool>;
    /// Marks an upload for deletion, so that no part, completion or other deletion touches it
    /// any more: the holder of `claim` may; without one, any upload but one whose completion
    /// is claimed past `now`. `false` if it may not (or is gone).
    async fn mark_deleting(
        &self,
        id: Uuid,
        claim: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<bool>;
    /// Forgets an upload marked for deletion and its parts (their bytes are deleted first).
    async fn delete_upload(&self, id: Uuid) -> Result<()>;
    /// Uploads past their expiry that nobody is completing, oldest first.
    async fn expired_uploads(&self, now: Timestamp, limit: i64) -> Result<Vec<Uuid>>;
}

/// API tokens, looked up by the SHA-256 of their secret.
#[async_trait]
pub trait TokenRepo: Send + Sync {
    async fn create_token(&self, token: NewToken, actor: &Actor) -> Result<TokenRecord>;
    async fn token_by_secret(&self, secret_sha256: &str) -> Result<Option<TokenRecord>>;
    async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<TokenRecord>>;
    /// Revokes one of `user_id`'s tokens; `NotFound` if it is not theirs or does not exist.
    async fn revoke_token(&self, user_id: Uuid, token_id: Uuid, actor: &Actor) -> Result<()>;
    async fn touch_token(&self, token_id: Uuid, at: Timestamp) -> Result<()>;
}

/// Models: publishing, metadata, deletion and downloads.
#[async_trait]
pub trait ModelRepo: Send + Sync {
    /// Adds a version (creating the model on its first one) in one transaction. Identical bytes
    /// pushed again return the existing version with `created: false`. The blob must have been
    /// reserved with [`BlobRepo::reserve_blob`]; this call takes over that reservation.
    async fn publish_version(&self, new: NewVersion, actor: &Actor) -> Result<Published>;
    /// Creates a model with no version yet, owned by `actor`; `Conflict` if the name is taken.
    async fn create_model(
        &self,
        name: &ModelName,
        patch: &ModelPatch,
        actor: &Actor,
    ) -> Result<ModelRecord>;
    async fn model_by_name(&self, name: &ModelName) -> Result<Option<ModelRecord>>;
    async fn model_by_id(&self, id: Uuid) -> Result<Option<ModelRecord>>;
    async fn update_model(
        &self,
        name: &ModelName,
        patch: &ModelPatch,
        actor: &Actor,
    ) -> Result<ModelRecord>;
    /// Gives a model a new name (`Conflict` if it is taken); its id, versions, aliases and
    /// everything else stay.
    async fn rename_model(
        &self,
        name: &ModelName,
        new_name: &ModelName,
        actor: &Actor,
    ) -> Result<ModelRecord>;
    /// Deletes a model with its versions and aliases; returns the blobs it referenced.
    async fn delete_model(&self, name: &ModelName, actor: &Actor) -> Result<Vec<String>>;
    async fn record_download(&self, model_id: Uuid) -> Result<()>;
}

/// The versions of a model and the aliases that point to them.
#[async_trait]
pub trait VersionRepo: Send + Sync {
    async fn versions(&self, model_id: Uuid) -> Result<Vec<VersionRecord>>;
    async fn version(&self, model_id: Uuid, version: i64) -> Result<Option<VersionRecord>>;
    /// Deletes a version; `Conflict` naming the alias when an alias points to it. Returns the
    /// blob it referenced.
    async fn delete_version(&self, model_id: Uuid, version: i64, actor: &Actor) -> Result<String>;
    async fn aliases(&self, model_id: Uuid) -> Result<Vec<AliasRecord>>;
    /// Points an alias at an existing version (`NotFound` if the version does not exist).
    async fn set_alias(
        &self,
        model_id: Uuid,
        alias: &str,
        version: i64,
        actor: &Actor,
    ) -> Result<AliasRecord>;
    async fn delete_alias(&self, model_id: Uuid, alias: &str, actor: &Actor) -> Result<()>;
    /// Every alias of every model, as (model id, alias, version): the versions to keep
    /// loaded for serving.
    async fn all_aliases(&self) -> Result<Vec<(Uuid, String, i64)>>;
}

/// Key/value properties of models and their versions.
#[async_trait]
pub trait PropertyRepo: Send + Sync {
    async fn properties(&self, model_id: Uuid) -> Result<crate::Properties>;
    /// Sets a property of the model, or of one of its versions (`NotFound` if it has no such
    /// version).
    async fn set_property(
        &self,
        model_id: Uuid,
        version: Option<i64>,
        key: &str,
        value: &str,
        actor: &Actor,
    ) -> Result<()>;
    /// Sets a version's description; `false` if there is no such version.
    async fn set_version_description(
        &self,
        model_id: Uuid,
        version: i64,
        description: &str,
        actor: &Actor,
    ) -> Result<bool>;
    /// `false` if there was no such property.
    async fn delete_property(
        &self,
        model_id: Uuid,
        version: Option<i64>,
        key: &str,
        actor: &Actor,
    ) -> Result<bool>;
}

/// Full-text search over models (each engine's own index).
#[async_trait]
pub trait SearchRepo: Send + Sync {
    async fn search_models(&self, query: &ModelQuery) -> Result<Page<ModelRecord>>;
}

/// Reference tracking for content-addressed blobs, so that a blob is deleted only when no
/// version uses it and no push is about to.
///
/// Protocol: a push reserves the blob before writing it and `publish_version` (or
/// `release_blob` on failure) ends the reservation. A sweep first claims an orphan (refused
/// while reserved or referenced), deletes the object, then forgets the row; a reservation
/// attempted meanwhile answers `false` and is retried once the row is gone.
#[async_trait]
pub trait BlobRepo: Send + Sync {
    /// Reserves a blob for a push. `false` while a sweep is deleting it: retry shortly.
    async fn reserve_blob(&self, sha256: &str, size: i64) -> Result<bool>;
    /// Ends a reservation that did not lead to a version.
    async fn release_blob(&self, sha256: &str) -> Result<()>;
    /// Claims an unreferenced, unreserved blob for deletion; `false` if it is still in use.
    /// Reservations older than `stale_before` (left by a crashed push) do not count.
    async fn claim_orphan_blob(&self, sha256: &str, stale_before: Timestamp) -> Result<bool>;
    /// Forgets a claimed blob after its object was deleted.
    async fn forget_blob(&self, sha256: &str) -> Result<()>;
    /// Gives up a claim whose delete failed (the store was unreachable, say): the blob is an
    /// ordinary orphan again, which new writes may reserve and a later sweep retries.
    async fn unclaim_blob(&self, sha256: &str) -> Result<()>;
    /// Blobs that are unreferenced (or claimed by an interrupted sweep), for a periodic sweep.
    async fn orphan_blobs(&self, limit: i64) -> Result<Vec<String>>;
    /// Is this blob known to the catalog (reserved, referenced or being deleted)?
    async fn blob_known(&self, sha256: &str) -> Result<bool>;
}

/// The append-only audit log.
#[async_trait]
pub trait AuditRepo: Send + Sync {
    /// Newest first; `before` is an entry id to page backwards from.
    async fn list_audit(&self, limit: i64, before: Option<i64>) -> Result<Vec<AuditRecord>>;
}

/// Instance-wide settings and health.
#[async_trait]
pub trait InstanceRepo: Send + Sync {
    /// Returns the stored value of `key`, storing `init` first if there is none (atomically,
    /// so replicas sharing a database agree on generated secrets).
    async fn setting_or_init(&self, key: &str, init: &str) -> Result<String>;
    /// Removes `key`, returning the value it had.
    async fn remove_setting(&self, key: &str) -> Result<Option<String>>;
    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;
}

/// Federation: peers, shares, what peers may see, and provenance of imports.
#[async_trait]
pub trait FederationRepo: Send + Sync {
    async fn create_peer(&self, peer: NewPeer, actor: &Actor) -> Result<PeerRecord>;
    async fn peers(&self) -> Result<Vec<PeerRecord>>;
    async fn peer_by_name(&self, name: &str) -> Result<Option<PeerRecord>>;
    async fn peer_by_id(&self, id: Uuid) -> Result<Option<PeerRecord>>;
    /// The active peer presenting this certificate: its pinned fingerprint and/or subject must
    /// match. `None` when no active peer (or more than one) matches.
    async fn peer_by_identity(
        &self,
        fingerprint: &str,
        subject: &str,
    ) -> Result<Option<PeerRecord>>;
    async fn set_peer_status(&self, id: Uuid, status: PeerStatus, actor: &Actor) -> Result<()>;

    async fn share_model(&self, model_id: Uuid, peer_id: Uuid, actor: &Actor) -> Result<()>;
    async fn unshare_model(&self, model_id: Uuid, peer_id: Uuid, actor: &Actor) -> Result<()>;
    async fn model_shares(&self, model_id: Uuid) -> Result<Vec<PeerRecord>>;

    /// Local models in a catalog as `peer_id` sees it (imported models are never re-exported).
    async fn federated_models(
        &self,
        peer_id: Uuid,
        catalog: FederatedCatalog,
    ) -> Result<Vec<ModelRecord>>;
    /// One model, if `peer_id` may see it in any catalog.
    async fn federated_model(&self, peer_id: Uuid, model_id: Uuid) -> Result<Option<ModelRecord>>;
    /// Remembers that `peer_id` was shown these models (so withdrawals reach it).
    async fn record_exports(&self, peer_id: Uuid, model_ids: &[Uuid]) -> Result<()>;
    /// What changed for `peer_id` in a catalog after `cursor`.
    async fn changes_since(
        &self,
        peer_id: Uuid,
        catalog: FederatedCatalog,
        cursor: i64,
    ) -> Result<ChangeSet>;
    /// The model and version of an artifact id.
    async fn version_by_artifact(&self, artifact_id: Uuid) -> Result<Option<(Uuid, i64)>>;

    async fn provenance(&self, model_id: Uuid) -> Result<Option<ProvenanceRecord>>;
    /// The local version imported from a remote revision, if any.
    async fn imported_revision(
        &self,
        peer_id: Uuid,
        remote_revision_id: Uuid,
    ) -> Result<Option<(Uuid, i64)>>;
    /// The local model imported from a remote solution, if any.
    async fn imported_model(&self, peer_id: Uuid, remote_solution_id: Uuid)
    -> Result<Option<Uuid>>;
    /// Marks an imported model withdrawn by its peer (it stays, and is no longer served
    /// except through an alias).
    async fn withdraw_model(&self, model_id: Uuid, actor: &Actor) -> Result<bool>;
}

/// Subscriptions to peers' catalogs, claimed by one replica at a time.
#[async_trait]
pub trait SubscriptionRepo: Send + Sync {
    async fn create_subscription(
        &self,
        new: NewSubscription,
        actor: &Actor,
    ) -> Result<SubscriptionRecord>;
    async fn subscriptions(&self) -> Result<Vec<SubscriptionRecord>>;
    async fn subscription(&self, id: Uuid) -> Result<Option<SubscriptionRecord>>;
    async fn delete_subscription(&self, id: Uuid, actor: &Actor) -> Result<()>;
    /// Makes a subscription due now.
    async fn schedule_subscription(&self, id: Uuid, at: Timestamp) -> Result<()>;
    /// Claims one due subscription until `lease_until`, so one replica syncs it at a time.
    async fn claim_due_subscription(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<SubscriptionRecord>>;
    /// Extends a claimed subscription's lease while its pass runs, so a replica that dies
    /// mid-pass holds it for one short lease, not for the whole pass it might have taken.
    /// `false` when the subscription is gone or no longer claimed.
    async fn renew_subscription(&self, id: Uuid, lease_until: Timestamp) -> Result<bool>;
    async fn finish_subscription(&self, id: Uuid, outcome: SyncOutcome) -> Result<()>;
}

/// Ratings, comments, favourites and view counts.
#[async_trait]
pub trait SocialRepo: Send + Sync {
    /// Sets `user_id`'s rating of a model, replacing an earlier one.
    async fn rate_model(
        &self,
        model_id: Uuid,
        user_id: Uuid,
        stars: i32,
        review: &str,
        actor: &Actor,
    ) -> Result<RatingRecord>;
    /// Removes `user_id`'s rating; `NotFound` if there is none.
    async fn delete_rating(&self, model_id: Uuid, user_id: Uuid, actor: &Actor) -> Result<()>;
    /// Newest first.
    async fn ratings(&self, model_id: Uuid, limit: i64) -> Result<Vec<RatingRecord>>;
    async fn rating_by(&self, model_id: Uuid, user_id: Uuid) -> Result<Option<RatingRecord>>;
    async fn add_comment(
        &self,
        model_id: Uuid,
        user_id: Uuid,
        body: &str,
        actor: &Actor,
    ) -> Result<CommentRecord>;
    /// Oldest first, so a thread reads top to bottom.
    async fn comments(&self, model_id: Uuid, limit: i64) -> Result<Vec<CommentRecord>>;
    async fn comment(&self, id: Uuid) -> Result<Option<CommentRecord>>;
    async fn delete_comment(&self, id: Uuid, actor: &Actor) -> Result<()>;
    /// Marks or unmarks a favourite (idempotent).
    async fn set_favourite(&self, model_id: Uuid, user_id: Uuid, favourite: bool) -> Result<()>;
    async fn record_view(&self, model_id: Uuid) -> Result<()>;
    async fn social_summary(&self, model_id: Uuid, viewer: Option<Uuid>) -> Result<SocialSummary>;
}

/// Telling other replicas sharing the database what changed. PostgreSQL carries it with
/// NOTIFY / LISTEN; SQLite is one process, so there is nobody to tell.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Announces a committed change to every listening replica (this one included).
    async fn announce(&self, _change: &Change) -> Result<()> {
        Ok(())
    }
    /// The changes announced from now on, `Change::Resync` after a lost connection is
    /// re-established; `None` where the backend has no feed.
    async fn listen(&self) -> Result<Option<tokio::sync::mpsc::Receiver<Change>>> {
        Ok(None)
    }
}

/// Everything the catalog offers; both backends implement it.
pub trait Catalog:
    ChangeFeed
    + UserRepo
    + LoginAttemptRepo
    + UploadRepo
    + TokenRepo
    + ModelRepo
    + VersionRepo
    + PropertyRepo
    + SearchRepo
    + BlobRepo
    + AuditRepo
    + InstanceRepo
    + FederationRepo
    + SubscriptionRepo
    + SocialRepo
    + PipelineCatalog
    + TrackingRepo
    + LoggedModelRepo
    + Send
    + Sync
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
}
