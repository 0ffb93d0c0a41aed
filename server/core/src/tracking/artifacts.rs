//! The artifact proxy's files: every path names its owner, a run
//! (`<experiment>/<run id>/artifacts/...`) or a logged model
//! (`<experiment>/models/<model id>/artifacts/...`), and only that owner (or an admin) writes
//! under it; it reads there too, and so does whoever may see a version registered from that
//! directory (`get-download-uri` hands them its `mlflow-artifacts:/` URI). Paths are checked segment by segment before they reach the store.

use caravan_domain::{Principal, Scope, Subject};
use caravan_storage::StorageError;

use crate::{Core, CoreError, Result, Staged, auth::require};

pub use caravan_storage::BlobRead as ArtifactRead;

const MAX_PATH: usize = 1024;
const MAX_DEPTH: usize = 32;

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactEntry {
    pub name: String,
    pub is_dir: bool,
    pub size: Option<u64>,
}

/// Whose files a path is under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Run(String),
    LoggedModel(String),
}

/// A checked artifact path: its owner, and the path itself (normalized, no trailing `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactPath {
    pub experiment: i64,
    pub owner: Owner,
    pub path: String,
}

impl ArtifactPath {
    pub fn parse(raw: &str) -> Result<Self> {
        let bad = |why: &str| CoreError::Invalid(format!("artifact path {:?}: {why}", short(raw)));
        let trimmed = raw.trim_matches('/');
        if trimmed.len() > MAX_PATH {
            return Err(bad("longer than 1024 bytes"));
        }
        let segments: Vec<&str> = trimmed.split('/').collect();
        if segments.len() > MAX_DEPTH {
            return Err(bad("more than 32 levels deep"));
        }
        for s in &segments {
            if s.is_empty()
                || *s == "."
                || *s == ".."
                || s.contains('\\')
                || s.chars().any(char::is_control)
            {
                return Err(bad(
                    "empty, '.', '..', backslash or control characters in a segment",
                ));
            }
        }
        let outside = || {
            bad(
                "Caravan keeps artifacts under <experiment>/<run id>/artifacts/ or <experiment>/models/<model id>/artifacts/",
            )
        };
        if !segments[0].bytes().all(|b| b.is_ascii_digit()) {
            return Err(outside());
        }
        let experiment: i64 = segments[0].parse().map_err(|_| outside())?;
        let owner = match segments.get(1..) {
            Some(["models", id, "artifacts", ..]) if is_logged_model_id(id) => {
                Owner::LoggedModel((*id).to_owned())
            }
            Some([id, "artifacts", ..]) if is_run_id(id) => Owner::Run((*id).to_owned()),
            _ => return Err(outside()),
        };
        Ok(Self {
            experiment,
            owner,
            path: segments.join("/"),
        })
    }

    /// True when the path goes below the owner's `artifacts` directory.
    pub fn names_a_file(&self) -> bool {
        let root = match &self.owner {
            Owner::Run(_) => 3,
            Owner::LoggedModel(_) => 4,
        };
        self.path.split('/').count() > root
    }

    /// A path below this one (a file of a directory), checked.
    pub fn join(&self, relative: &str) -> Result<Self> {
        Self::parse(&format!("{}/{}", self.path, relative))
    }
}

pub fn is_run_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

pub fn is_logged_model_id(id: &str) -> bool {
    id.strip_prefix("m-").is_some_and(is_run_id)
}

fn short(raw: &str) -> String {
    raw.chars().take(80).collect()
}

impl Core {
    /// Checks that `who` may use the files under `path` (write: with `publish`).
    pub(crate) async fn artifact_path(
        &self,
        who: &Principal,
        raw: &str,
        write: bool,
    ) -> Result<ArtifactPath> {
        require(who, if write { Scope::Publish } else { Scope::Read })?;
        let path = ArtifactPath::parse(raw)?;
        let owned = match &path.owner {
            Owner::Run(id) => self.own_run(who, id).await.map(|r| r.experiment_id),
            Owner::LoggedModel(id) => self.logged_model(who, id).await.map(|m| m.experiment_id),
        };
        // Only the owner reads or writes these files: a version registered from them holds its
        // own validated copy, and the owner may still change the directory after that.
        match owned {
            Ok(experiment) if experiment == path.experiment => Ok(path),
            Ok(_) | Err(CoreError::NotFound { .. }) => Err(CoreError::not_found(
                Subject::Other,
                format!("no artifacts under {:?}", short(raw)),
            )),
            Err(other) => Err(other),
        }
    }

    /// Whether `who` may read the files under `path` (false for a malformed path).
    pub async fn owns_artifacts(&self, who: &Principal, path: &str) -> Result<bool> {
        match self.artifact_path(who, path, false).await {
            Ok(_) => Ok(true),
            Err(CoreError::NotFound { .. } | CoreError::Invalid(_) | CoreError::Forbidden(_)) => {
                Ok(false)
            }
            Err(other) => Err(other),
        }
    }

    /// Checks that `who` may write a file at `path` (before its body is read).
    pub async fn may_put_artifact(&self, who: &Principal, path: &str) -> Result<()> {
        let path = self.artifact_path(who, path, true).await?;
        if !path.names_a_file() {
            return Err(CoreError::Invalid(
                "an artifact path names a file under .../artifacts/".into(),
            ));
        }
        Ok(())
    }

    pub async fn put_artifact(&self, who: &Principal, path: &str, staged: &Staged) -> Result<()> {
        self.may_put_artifact(who, path).await?;
        let path = ArtifactPath::parse(path)?;
        Ok(self.blobs.put_artifact(&path.path, staged).await?)
    }

    pub async fn artifact(&self, who: &Principal, path: &str) -> Result<ArtifactRead> {
        let path = self.artifact_path(who, path, false).await?;
        self.blobs
            .read_artifact(&path.path)
            .await
            .map_err(|e| missing(e, &path.path))
    }

    pub async fn list_artifacts(&self, who: &Principal, path: &str) -> Result<Vec<ArtifactEntry>> {
        let path = self.artifact_path(who, path, false).await?;
        let found = self.blobs.list_artifacts(&path.path).await?;
        Ok(found
            .into_iter()
            .map(|o| ArtifactEntry {
                name: o.name,
                is_dir: o.size.is_none(),
                size: o.size,
            })
            .collect())
    }
}

/// A missing artifact is the client's 404; anything else goes on as a storage error.
pub(crate) fn missing(e: StorageError, path: &str) -> CoreError {
    match e {
        StorageError::NotFound(_) => {
            CoreError::not_found(Subject::Other, format!("no artifact at {:?}", short(path)))
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn paths_name_a_run_or_a_logged_model_and_nothing_else() {
        let p = ArtifactPath::parse(&format!("3/{RUN}/artifacts/model/MLmodel")).unwrap();
        assert_eq!((p.experiment, p.owner), (3, Owner::Run(RUN.into())));
        let p = ArtifactPath::parse(&format!("/0/models/m-{RUN}/artifacts/")).unwrap();
        assert_eq!(p.owner, Owner::LoggedModel(format!("m-{RUN}")));
        assert_eq!(p.path, format!("0/models/m-{RUN}/artifacts"));
        for bad in [
            String::new(),
            "x/y".into(),
            format!("0/{RUN}"),
            format!("0/{RUN}/other/f"),
            format!("0/{RUN}/artifacts/../../1/x"),
            format!("0/{RUN}/artifacts/./f"),
            format!("0/{RUN}/artifacts//f"),
            format!("0/{RUN}/artifacts/a\\b"),
            format!("0/{RUN}/artifacts/a\u{0}b"),
            format!("0/{}/artifacts/f", RUN.to_uppercase()),
            format!("0/models/{RUN}/artifacts/f"),
            format!("-1/{RUN}/artifacts/f"),
            format!("0/{RUN}/artifacts/{}", "d/".repeat(40)),
            format!("0/{RUN}/artifacts/{}", "x".repeat(1100)),
        ] {
            assert!(ArtifactPath::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
