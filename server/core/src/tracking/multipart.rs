//! MLflow's proxied multipart artifact uploads (`mpu/create|complete|abort`), for files the
//! client sends in parts (`MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true`). The client PUTs each
//! part to the URL `create` answered, without its MLflow credentials (as it would to a
//! presigned S3 URL), so the upload id is the credential: a token signed with the server's
//! key, naming the owner, the file's path, the number of parts and an expiry. There is no row:
//! parts sit in the object store under `mlflow-mpu/<id>/` (any replica takes any part, one
//! object per part number, all within the model limit), are joined on `complete` and swept by
//! age; a `closed` marker there refuses parts after `complete` or `abort` until it is swept.

use std::time::Duration;

use bytes::Bytes;
use caravan_domain::{Principal, Subject};
use caravan_storage::PartSpace;
use futures::{Stream, StreamExt, TryStreamExt};
use jsonwebtoken::{Algorithm, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::artifacts::ArtifactPath;
use crate::{Core, CoreError, Result, UploadLimit};

const AUDIENCE: &str = "caravan:mlflow-multipart-upload";
/// Most parts of one upload (S3's limit) and how long an upload may take.
pub const MAX_PARTS: i64 = 10_000;
pub const UPLOAD_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    aud: String,
    /// The upload's own id: its parts' prefix.
    jti: Uuid,
    sub: Uuid,
    path: String,
    parts: i64,
    exp: i64,
}

fn unknown() -> CoreError {
    CoreError::not_found(Subject::Upload, "no such multipart upload (or it expired)")
}

/// A part's ETag as the client echoes it: the SHA-256 of its bytes, maybe quoted.
fn etag_sha(etag: &str) -> Option<String> {
    let sha = etag.trim().trim_matches('"');
    (sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| sha.to_ascii_lowercase())
}

impl Core {
    /// Starts an upload of `file_name` (a base name) into the directory `dir`, in `parts`
    /// parts; answers its id.
    pub async fn create_artifact_upload(
        &self,
        who: &Principal,
        dir: &str,
        file_name: &str,
        parts: i64,
    ) -> Result<String> {
        let name = file_name.rsplit(['/', '\\']).next().unwrap_or_default();
        let path = ArtifactPath::parse(&format!("{dir}/{name}"))?;
        self.may_put_artifact(who, &path.path).await?;
        if !(1..=MAX_PARTS).contains(&parts) {
            return Err(CoreError::Invalid(format!(
                "num_parts must be from 1 to {MAX_PARTS}"
            )));
        }
        let expires = chrono::Utc::now()
            + chrono::Duration::from_std(UPLOAD_TTL).map_err(CoreError::internal)?;
        let claims = Claims {
            aud: AUDIENCE.into(),
            jti: Uuid::new_v4(),
            sub: who.user_id,
            path: path.path,
            parts,
            exp: expires.timestamp(),
        };
        let key = EncodingKey::from_secret(self.auth.jwt_secret.expose_secret().as_bytes())
            .map_err(CoreError::internal)?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
            .map_err(CoreError::internal)
    }

    fn upload_claims(&self, upload_id: &str) -> Result<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        // No leeway: the sweep of a closed upload's marker counts from the exact expiry.
        validation.leeway = 0;
        self.decode_signed::<Claims>(upload_id, &validation)?
            .map_err(|_| unknown())
    }

    /// The claims of an upload `who` started, for a file under `dir`.
    fn own_artifact_upload(&self, who: &Principal, dir: &str, upload_id: &str) -> Result<Claims> {
        let claims = self.upload_claims(upload_id)?;
        let dir = dir.trim_matches('/');
        let in_dir = claims.path.rsplit_once('/').is_some_and(|(d, _)| d == dir);
        if claims.sub != who.user_id || !in_dir {
            return Err(unknown());
        }
        Ok(claims)
    }

    /// Stores part `n` of an upload; answers its SHA-256 (the part's ETag). The upload id is
    /// the only credential this takes.
    pub async fn put_artifact_part<S, E>(&self, upload_id: &str, n: i64, body: S) -> Result<String>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let claims = self.upload_claims(upload_id)?;
        if !(1..=claims.parts).contains(&n) {
            return Err(CoreError::Invalid(format!(
                "part {n} is outside this upload's parts (1 to {})",
                claims.parts
            )));
        }
        let space = PartSpace::MlflowMultipart;
        if self.blobs.parts_closed_in(space, claims.jti).await? {
            return Err(unknown());
        }
        // One part per number, and all of them together within the model limit, so an upload
        // id cannot be used to fill the store.
        let stored = self.blobs.list_parts_in(space, claims.jti).await?;
        let others: u64 = stored.iter().filter(|p| p.n != n).map(|p| p.size).sum();
        let limit = UploadLimit {
            max_bytes: self.model_limit().max_bytes.saturating_sub(others),
            what: "the part, with the parts already received,",
            ..self.model_limit()
        };
        let staged = self.stage(body, limit).await?;
        let sha = staged.sha256().to_owned();
        self.blobs
            .put_part_in(space, claims.jti, n, &staged)
            .await?;
        // Checked again now the part is stored: requests running at once each saw the store
        // before the others wrote, and a completion or abort may have come meanwhile.
        let closed = self.blobs.parts_closed_in(space, claims.jti).await?;
        let now = self.blobs.list_parts_in(space, claims.jti).await?;
        let total: u64 = now.iter().map(|p| p.size).sum();
        if closed || total > self.model_limit().max_bytes {
            self.blobs
                .delete_part_in(space, claims.jti, n, &sha)
                .await?;
            return Err(if closed {
                unknown()
            } else {
                CoreError::TooLarge(format!(
                    "this upload's parts together are larger than the limit of {} bytes ({})",
                    self.model_limit().max_bytes,
                    self.model_limit().setting
                ))
            });
        }
        for other in now.iter().filter(|p| p.n == n && p.sha256 != sha) {
            self.blobs
                .delete_part_in(space, claims.jti, n, &other.sha256)
                .await?;
        }
        Ok(sha)
    }

    /// Joins the parts, in order, into the file and removes them.
    pub async fn complete_artifact_upload(
        &self,
        who: &Principal,
        dir: &str,
        upload_id: &str,
        parts: Vec<(i64, String)>,
    ) -> Result<()> {
        let claims = self.own_artifact_upload(who, dir, upload_id)?;
        self.may_put_artifact(who, &claims.path).await?;
        let mut shas = Vec::with_capacity(parts.len());
        for (i, (n, etag)) in parts.iter().enumerate() {
            let sha = etag_sha(etag)
                .filter(|_| *n == i as i64 + 1)
                .ok_or_else(|| {
                    CoreError::Invalid(
                    "parts must be numbered from 1 in order, each with the ETag its upload answered"
                        .into(),
                )
                })?;
            shas.push(sha);
        }
        if shas.is_empty() || shas.len() as i64 > claims.parts {
            return Err(CoreError::Invalid(format!(
                "complete names 1 to {} parts",
                claims.parts
            )));
        }
        let space = PartSpace::MlflowMultipart;
        if self.blobs.parts_closed_in(space, claims.jti).await? {
            return Err(unknown());
        }
        for (i, sha) in shas.iter().enumerate() {
            let n = i as i64 + 1;
            if !self
                .blobs
                .has_part_in(PartSpace::MlflowMultipart, claims.jti, n, sha)
                .await?
            {
                return Err(CoreError::Invalid(format!(
                    "part {n} was not uploaded with that ETag"
                )));
            }
        }
        let store = self.blobs.clone();
        let jti = claims.jti;
        let body = futures::stream::iter(shas.into_iter().enumerate())
            .then(move |(i, sha)| {
                let store = store.clone();
                async move {
                    store
                        .read_part_in(PartSpace::MlflowMultipart, jti, i as i64 + 1, &sha)
                        .await
                        .map_err(std::io::Error::other)
                }
            })
            .try_flatten()
            .boxed();
        let staged = self.stage_stored(body, self.model_limit()).await?;
        self.blobs.put_artifact(&claims.path, &staged).await?;
        // Closed only once the file is in place, so that a failure above can be retried; a
        // part that arrives during the join is refused by its own check or swept by age.
        self.blobs.close_parts_in(space, claims.jti).await?;
        self.blobs.delete_parts_in(space, claims.jti).await?;
        Ok(())
    }

    /// Drops an upload's parts.
    pub async fn abort_artifact_upload(
        &self,
        who: &Principal,
        dir: &str,
        upload_id: &str,
    ) -> Result<()> {
        let claims = self.own_artifact_upload(who, dir, upload_id)?;
        let space = PartSpace::MlflowMultipart;
        self.blobs.close_parts_in(space, claims.jti).await?;
        self.blobs.delete_parts_in(space, claims.jti).await?;
        Ok(())
    }

    /// Deletes multipart parts older than any upload may live; returns how many.
    pub async fn sweep_artifact_parts(&self) -> Result<usize> {
        let cutoff = chrono::Utc::now()
            - chrono::Duration::from_std(UPLOAD_TTL).map_err(CoreError::internal)?;
        Ok(self
            .blobs
            .sweep_parts_older_than(PartSpace::MlflowMultipart, cutoff)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_sha256_hex_quoted_or_not() {
        let sha = "a".repeat(64);
        assert_eq!(etag_sha(&format!("\"{sha}\"")), Some(sha.clone()));
        assert_eq!(etag_sha(&sha.to_uppercase()), Some(sha));
        for bad in ["", "\"\"", "abc", &"g".repeat(64), &"a".repeat(65)] {
            assert_eq!(etag_sha(bad), None, "{bad}");
        }
    }
}
