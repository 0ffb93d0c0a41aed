//! Resumable uploads: a model declared up front (size, optionally its SHA-256), sent in
//! numbered parts that may arrive in any order, at any replica, and again after a failure,
//! then completed into a version exactly as a push would be. The upload's state is in the
//! catalog and its parts are objects in the blob store, so no replica's disk holds any of it;
//! each part is staged and hashed on arrival like any upload, and refused unless it is the
//! size its number calls for and has the SHA-256 the client sent with it.

use std::time::Duration;

use bytes::Bytes;
use caravan_domain::records::{
    ModelPatch, NewUpload, Published, Timestamp, UploadPart, UploadRecord, UploadState,
};
use caravan_domain::{ConflictKind, ModelName, Principal, Scope, Subject};
use caravan_storage::BlobStore;
use futures::{Stream, StreamExt, TryStreamExt};
use uuid::Uuid;

use crate::{Core, CoreError, Result, Upload, UploadLimit, auth::require};

/// Part size when the client names none.
pub const DEFAULT_PART_SIZE: u64 = 16 << 20;
/// Smallest and largest part size a client may ask for.
pub const MIN_PART_SIZE: u64 = 4 << 10;
pub const MAX_PART_SIZE: u64 = 256 << 20;
/// Most parts an upload may have (as S3); a larger file gets larger parts.
pub const MAX_PARTS: u64 = 10_000;
/// How long a completion may run before another request may take it over (its process died).
const COMPLETION_LEASE: Duration = Duration::from_secs(30 * 60);
/// How long a completed upload answers a retried completion with its version.
const DONE_KEPT: Duration = Duration::from_secs(3600);

/// What a client declares when it opens an upload.
#[derive(Debug, Clone)]
pub struct NewResumableUpload {
    pub model: ModelName,
    pub size: u64,
    pub sha256: Option<String>,
    pub part_size: Option<u64>,
}

/// An upload and the parts it has received.
#[derive(Debug, Clone)]
pub struct UploadProgress {
    pub upload: UploadRecord,
    pub parts: Vec<UploadPart>,
}

impl Core {
    /// Opens an upload of a version of `new.model` (checking now that `who` may publish it).
    #[tracing::instrument(skip_all, fields(model = %new.model, size = new.size))]
    pub async fn begin_upload(
        &self,
        who: &Principal,
        new: NewResumableUpload,
    ) -> Result<UploadProgress> {
        require(who, Scope::Publish)?;
        if new.model.is_imported() {
            return Err(CoreError::Invalid(
                "':' is reserved for models imported from peers".into(),
            ));
        }
        if new.size == 0 {
            return Err(CoreError::Invalid(
                "an upload's size must be at least 1 byte".into(),
            ));
        }
        let limit = self.model_limit();
        if new.size > limit.max_bytes {
            return Err(CoreError::TooLarge(format!(
                "{} is larger than the limit of {} bytes ({})",
                limit.what, limit.max_bytes, limit.setting
            )));
        }
        let sha256 = new.sha256.as_deref().map(sha256_hex).transpose()?;
        let part_size = part_size(new.size, new.part_size)?;
        self.publishable(who, &new.model).await?;
        let now = Timestamp::now();
        let id = Uuid::new_v4();
        let store_upload = self.blobs.begin_assembly(id, part_size).await?;
        let created = self
            .catalog
            .create_upload(NewUpload {
                id,
                owner_id: who.user_id,
                model: new.model,
                size: new.size as i64,
                sha256,
                part_size: part_size as i64,
                store_upload: store_upload.clone(),
                created_at: now,
                expires_at: self.upload_expiry_from(now),
            })
            .await;
        let upload = match (created, store_upload) {
            (Ok(upload), _) => upload,
            (Err(e), Some(store_upload)) => {
                self.abort_assembly(id, &store_upload).await;
                return Err(e.into());
            }
            (Err(e), None) => return Err(e.into()),
        };
        tracing::info!(upload = %upload.id, parts = upload.part_count(), "upload opened");
        Ok(UploadProgress {
            upload,
            parts: Vec::new(),
        })
    }

    /// An upload of `who`'s and the parts it has (what a client resumes from).
    pub async fn upload_progress(&self, who: &Principal, id: Uuid) -> Result<UploadProgress> {
        require(who, Scope::Publish)?;
        let upload = self.own_upload(who, id).await?;
        let parts = self.catalog.upload_parts(id).await?;
        Ok(UploadProgress { upload, parts })
    }

    /// Receives part `n`: staged and hashed, refused unless it has its number's size and the
    /// SHA-256 the client sent, then stored and recorded (replacing an earlier copy).
    #[tracing::instrument(skip_all, fields(upload = %id, part = n))]
    pub async fn put_upload_part<S, E>(
        &self,
        who: &Principal,
        id: Uuid,
        n: i64,
        sha256: &str,
        body: S,
    ) -> Result<UploadPart>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        require(who, Scope::Publish)?;
        let sha256 = sha256_hex(sha256)?;
        let upload = self.own_upload(who, id).await?;
        if upload.state != UploadState::Open {
            return Err(not_open(&upload));
        }
        let Some(expected) = upload.part_len(n) else {
            return Err(CoreError::Invalid(format!(
                "part {n} is outside the declared size: this upload has parts 1 to {}",
                upload.part_count()
            )));
        };
        let limit = UploadLimit {
            max_bytes: expected as u64,
            what: "the part",
            setting: "the part size of its upload",
        };
        let staged = self.stage(body, limit).await?;
        if staged.size() != expected as u64 {
            return Err(CoreError::Invalid(format!(
                "part {n} must be {expected} bytes, not {}",
                staged.size()
            )));
        }
        if staged.sha256() != sha256 {
            return Err(CoreError::Invalid(format!(
                "part {n} arrived with SHA-256 {}, not the {sha256} sent with it; send it again",
                staged.sha256()
            )));
        }
        let store_etag = match &upload.store_upload {
            Some(store_upload) => Some(
                self.blobs
                    .put_assembly_part(id, store_upload, n, &staged)
                    .await?,
            ),
            None => {
                self.blobs.put_part(id, n, &staged).await?;
                None
            }
        };
        let part = UploadPart {
            n,
            size: expected,
            sha256,
            store_etag,
        };
        let expires = self.upload_expiry_from(Timestamp::now());
        if !self.catalog.record_part(id, &part, expires).await? {
            // Completing or deleting meanwhile: this copy would belong to nobody (a part sent
            // into the store's multipart upload goes when that is aborted).
            if upload.store_upload.is_none()
                && let Err(e) = self.blobs.delete_part(id, n, &part.sha256).await
            {
                tracing::warn!(error = %e, "an unrecorded part was left in the store");
            }
            let now = self.own_upload(who, id).await?;
            return Err(not_open(&now));
        }
        Ok(part)
    }

    /// Assembles the parts, checks the declared size and SHA-256, and onboards the result as
    /// a push would. The work runs to its end even if the client goes away; a completion
    /// retried afterwards answers the same version. A file that is not a model Caravan accepts
    /// (or does not match its declaration) discards the upload; a failure a retry may fix
    /// (the database or the store unreachable) leaves it open.
    #[tracing::instrument(skip_all, fields(upload = %id))]
    pub async fn complete_upload(
        &self,
        who: &Principal,
        id: Uuid,
        metadata: ModelPatch,
    ) -> Result<Published> {
        require(who, Scope::Publish)?;
        let upload = self.own_upload(who, id).await?;
        if upload.state == UploadState::Done {
            return self.completed(who, &upload).await;
        }
        // Mistakes a retry can fix are refused before anything is claimed.
        let metadata = crate::models::check_patch(metadata)?;
        self.missing_parts(&upload).await?;
        let now = Timestamp::now();
        let claim = Timestamp::from_datetime(now.0 + chrono_duration(COMPLETION_LEASE));
        if !self.catalog.begin_completing(id, now, claim).await? {
            let now = self.own_upload(who, id).await?;
            if now.state == UploadState::Done {
                return self.completed(who, &now).await;
            }
            return Err(not_open(&now));
        }
        let core = self.clone();
        let who = who.clone();
        tokio::spawn(async move { core.finish_upload(&who, upload, metadata, claim).await })
            .await
            .map_err(CoreError::internal)?
    }

    /// Deletes an open upload and its parts.
    #[tracing::instrument(skip_all, fields(upload = %id))]
    pub async fn abort_upload(&self, who: &Principal, id: Uuid) -> Result<()> {
        require(who, Scope::Publish)?;
        let upload = self.own_upload(who, id).await?;
        if !self.discard_upload(id, None).await? {
            return Err(not_open(&upload));
        }
        Ok(())
    }

    /// Deletes uploads past their expiry, parts first (a failure leaves the row for the next
    /// sweep, so no part is ever left without one); returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn sweep_uploads(&self) -> Result<usize> {
        let expired = self.catalog.expired_uploads(Timestamp::now(), 100).await?;
        let mut deleted = 0;
        for id in &expired {
            deleted += usize::from(self.discard_upload(*id, None).await?);
        }
        Ok(deleted)
    }

    /// Runs a claimed completion to its end. Only a file that can never become a version
    /// (refused, too large, not the declared bytes) discards the upload; anything else (the
    /// store or the database unreachable, a contended blob) leaves it open for a retry. Every
    /// ending is fenced by the claim, so a completer whose claim was taken over changes nothing.
    async fn finish_upload(
        &self,
        who: &Principal,
        upload: UploadRecord,
        metadata: ModelPatch,
        claim: Timestamp,
    ) -> Result<Published> {
        let id = upload.id;
        let outcome = async {
            // Parts can no longer change: re-read them under the claim.
            let parts = self.missing_parts(&upload).await.map_err(Failure::Reopen)?;
            let staged = self.assemble(&upload, parts).await.map_err(Failure::Reopen)?;
            if let Some(declared) = &upload.sha256
                && declared != staged.sha256()
            {
                return Err(Failure::Discard(CoreError::Invalid(format!(
                    "the assembled file's SHA-256 is {}, not the declared {declared}; the upload was discarded",
                    staged.sha256()
                ))));
            }
            let name = upload.model.clone();
            self.onboard(who, Upload {
                name,
                metadata,
                staged,
                proto: None,
            })
            .await
            .map_err(|e| match e {
                CoreError::Refused(_) | CoreError::TooLarge(_) => Failure::Discard(e),
                e => Failure::Reopen(e),
            })
        }
        .await;
        let now = Timestamp::now();
        match outcome {
            Ok(published) => {
                let kept = Timestamp::from_datetime(now.0 + chrono_duration(DONE_KEPT));
                let version = Some(published.version.version);
                if self
                    .catalog
                    .end_completing(id, claim, version, kept)
                    .await?
                {
                    if let Err(e) = self.blobs.delete_parts(id).await {
                        tracing::warn!(error = %e, "parts left for the sweep");
                    }
                } else {
                    tracing::warn!(
                        "the completion's claim was taken over; the other completer finds this version"
                    );
                }
                Ok(published)
            }
            Err(Failure::Discard(e)) => {
                self.discard_upload(id, Some(claim)).await?;
                tracing::info!(reason = %e, "upload refused and discarded");
                Err(e)
            }
            Err(Failure::Reopen(e)) => {
                let expires = self.upload_expiry_from(now);
                self.catalog
                    .end_completing(id, claim, None, expires)
                    .await?;
                Err(e)
            }
        }
    }

    /// Streams the parts in order into one staged file, checking the declaration.
    async fn assemble(
        &self,
        upload: &UploadRecord,
        parts: Vec<UploadPart>,
    ) -> Result<crate::Staged> {
        let body = match &upload.store_upload {
            Some(store_upload) => self.store_assembled(upload, store_upload, parts).await?,
            None => parts_in_order(self.blobs.clone(), upload.id, parts),
        };
        let staged = self.stage_stored(body, self.model_limit()).await?;
        if staged.size() != upload.size as u64 {
            return Err(CoreError::internal(format!(
                "assembled {} bytes of a declared {}",
                staged.size(),
                upload.size
            )));
        }
        Ok(match upload.store_upload {
            // The store holds these very bytes: the blob is a copy inside it.
            Some(_) => staged.held_at(BlobStore::assembly_location(upload.id)),
            None => staged,
        })
    }

    /// Has the store join the parts (unless an earlier completion did) and reads the file.
    async fn store_assembled(
        &self,
        upload: &UploadRecord,
        store_upload: &str,
        parts: Vec<UploadPart>,
    ) -> Result<futures::stream::BoxStream<'static, std::io::Result<Bytes>>> {
        if !self.blobs.is_assembled(upload.id).await? {
            let etags = parts
                .into_iter()
                .map(|p| {
                    p.store_etag.ok_or_else(|| {
                        CoreError::internal(format!("part {} has no ETag in the store", p.n))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            self.blobs
                .complete_assembly(upload.id, store_upload, etags)
                .await?;
        }
        Ok(self.blobs.read_assembly(upload.id).await?)
    }

    /// Drops the store's multipart upload; a failure is logged (the bucket's lifecycle rule
    /// for incomplete uploads removes what is left).
    async fn abort_assembly(&self, id: Uuid, store_upload: &str) {
        if let Err(e) = self.blobs.abort_assembly(id, store_upload).await {
            tracing::warn!(error = %e, upload = %id, "could not abort the store's multipart upload");
        }
    }

    /// The parts, when every one has arrived; else which have not.
    async fn missing_parts(&self, upload: &UploadRecord) -> Result<Vec<UploadPart>> {
        let parts = self.catalog.upload_parts(upload.id).await?;
        let have: std::collections::BTreeSet<i64> = parts.iter().map(|p| p.n).collect();
        let missing: Vec<String> = (1..=upload.part_count())
            .filter(|n| !have.contains(n))
            .map(|n| n.to_string())
            .collect();
        if missing.is_empty() {
            return Ok(parts);
        }
        let shown = missing
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let more = if missing.len() > 20 { ", ..." } else { "" };
        Err(CoreError::Invalid(format!(
            "{} of {} parts have not arrived: {shown}{more}",
            missing.len(),
            upload.part_count()
        )))
    }

    /// The version a completed upload became (if `who` may still publish to its model).
    async fn completed(&self, who: &Principal, upload: &UploadRecord) -> Result<Published> {
        let gone = || {
            CoreError::not_found(
                Subject::Version,
                "the version this upload became was deleted",
            )
        };
        let model = self
            .publishable(who, &upload.model)
            .await?
            .ok_or_else(gone)?;
        let version = upload.version.ok_or_else(gone)?;
        let version = self
            .catalog
            .version(model.id, version)
            .await?
            .ok_or_else(gone)?;
        Ok(Published {
            model,
            version,
            created: false,
        })
    }

    /// Deletes an upload: marked first (as the holder of `claim`, or as nobody while no
    /// live completion holds it), so that nothing else touches it, then its parts, then its
    /// row. `false` if it may not be deleted now. A deletion cut short is finished by the sweep.
    async fn discard_upload(&self, id: Uuid, claim: Option<Timestamp>) -> Result<bool> {
        let store_upload = self.catalog.upload(id).await?.and_then(|u| u.store_upload);
        if !self
            .catalog
            .mark_deleting(id, claim, Timestamp::now())
            .await?
        {
            return Ok(false);
        }
        // A store that does not answer leaves the row marked, for the sweep to finish.
        if let Some(store_upload) = store_upload {
            self.blobs.abort_assembly(id, &store_upload).await?;
        }
        self.blobs.delete_parts(id).await?;
        self.catalog.delete_upload(id).await?;
        Ok(true)
    }

    /// `who`'s upload `id` (anyone else's is not found).
    async fn own_upload(&self, who: &Principal, id: Uuid) -> Result<UploadRecord> {
        match self.catalog.upload(id).await? {
            Some(upload)
                if upload.owner_id == who.user_id && upload.state != UploadState::Deleting =>
            {
                Ok(upload)
            }
            _ => Err(CoreError::not_found(
                Subject::Upload,
                format!("upload {id} not found"),
            )),
        }
    }

    fn upload_expiry_from(&self, now: Timestamp) -> Timestamp {
        Timestamp::from_datetime(now.0 + chrono_duration(self.limits.upload_expiry))
    }
}

/// The parts' bytes one after the other (boxed: a named type keeps the spawned completion
/// `Send`).
fn parts_in_order(
    blobs: caravan_storage::BlobStore,
    id: Uuid,
    parts: Vec<UploadPart>,
) -> futures::stream::BoxStream<'static, std::io::Result<Bytes>> {
    futures::stream::iter(parts)
        .then(move |part| {
            let blobs = blobs.clone();
            async move { blobs.read_part(id, part.n, &part.sha256).await }
        })
        .map_err(std::io::Error::other)
        .try_flatten()
        .boxed()
}

/// How a claimed completion failed.
enum Failure {
    /// The file can never become a version: the upload goes.
    Discard(CoreError),
    /// A retry may succeed: the upload stays open.
    Reopen(CoreError),
}

fn not_open(upload: &UploadRecord) -> CoreError {
    match upload.state {
        UploadState::Completing => CoreError::conflict(
            ConflictKind::Contended,
            "the upload is being completed; GET it to follow, then complete again for the version",
        ),
        UploadState::Deleting => {
            CoreError::not_found(Subject::Upload, format!("upload {} not found", upload.id))
        }
        _ => CoreError::conflict(ConflictKind::InUse, "the upload is already complete"),
    }
}

/// The part size for a file: the client's choice within bounds, else the default, raised so
/// that no file needs more than `MAX_PARTS`.
fn part_size(size: u64, asked: Option<u64>) -> Result<u64> {
    let least = size.div_ceil(MAX_PARTS);
    match asked {
        Some(p) if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&p) => Err(CoreError::Invalid(
            format!("part_size must be between {MIN_PART_SIZE} and {MAX_PART_SIZE} bytes"),
        )),
        Some(p) if p < least => Err(CoreError::Invalid(format!(
            "part_size {p} would need more than {MAX_PARTS} parts; use at least {least}"
        ))),
        Some(p) => Ok(p),
        None => Ok(DEFAULT_PART_SIZE.max(least.next_multiple_of(1 << 20))),
    }
}

/// A SHA-256 as lower-case hex, or a 400 saying what it must be.
fn sha256_hex(raw: &str) -> Result<String> {
    let lower = raw.trim().to_ascii_lowercase();
    if lower.len() == 64 && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(lower)
    } else {
        Err(CoreError::Invalid(
            "a sha256 must be 64 hexadecimal characters".into(),
        ))
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_stay_in_bounds_and_under_the_part_count() {
        assert_eq!(part_size(100, None).unwrap(), DEFAULT_PART_SIZE);
        assert_eq!(part_size(100, Some(MIN_PART_SIZE)).unwrap(), MIN_PART_SIZE);
        assert!(part_size(100, Some(MIN_PART_SIZE - 1)).is_err());
        assert!(part_size(100, Some(MAX_PART_SIZE + 1)).is_err());
        let huge = 400 << 30;
        let chosen = part_size(huge, None).unwrap();
        assert!(huge.div_ceil(chosen) <= MAX_PARTS, "{chosen}");
        assert!(part_size(huge, Some(MIN_PART_SIZE)).is_err());
    }

    #[test]
    fn sha256s_are_hex_of_the_right_length() {
        assert_eq!(sha256_hex(&"AB".repeat(32)).unwrap(), "ab".repeat(32));
        assert!(sha256_hex("abc").is_err());
        assert!(sha256_hex(&"zz".repeat(32)).is_err());
    }
}
