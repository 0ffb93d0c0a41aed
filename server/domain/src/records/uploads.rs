//! Resumable uploads: a declared file received in numbered parts, possibly by different
//! replicas, then assembled and onboarded as one push.

use uuid::Uuid;

use super::Timestamp;
use crate::ModelName;

/// An upload being opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpload {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub model: ModelName,
    /// The whole file's size, in bytes.
    pub size: i64,
    /// The whole file's SHA-256, when the client declared it.
    pub sha256: Option<String>,
    /// Every part but the last has exactly this size.
    pub part_size: i64,
    /// The store's own multipart upload the parts go into (S3), if it assembles this one.
    pub store_upload: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadState {
    /// Taking parts.
    Open,
    /// One request is assembling and onboarding it (until `completing_until`).
    Completing,
    /// Onboarded as `UploadRecord::version`; kept until it expires so that a retried
    /// completion answers the same version.
    Done,
    /// Its parts are being deleted (aborted, refused or expired); nothing else may touch it.
    Deleting,
}

impl UploadState {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadState::Open => "open",
            UploadState::Completing => "completing",
            UploadState::Done => "done",
            UploadState::Deleting => "deleting",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => UploadState::Open,
            "completing" => UploadState::Completing,
            "done" => UploadState::Done,
            "deleting" => UploadState::Deleting,
            _ => return None,
        })
    }
}

/// An upload as the catalog keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub model: ModelName,
    pub size: i64,
    pub sha256: Option<String>,
    pub part_size: i64,
    /// See [`NewUpload::store_upload`].
    pub store_upload: Option<String>,
    pub state: UploadState,
    /// While completing: when the completing request's claim lapses (it died).
    pub completing_until: Option<Timestamp>,
    /// Once done: the version it became.
    pub version: Option<i64>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl UploadRecord {
    /// How many parts the declared size takes.
    pub fn part_count(&self) -> i64 {
        (self.size + self.part_size - 1) / self.part_size
    }

    /// The size part `n` (1-based) must have, or `None` past the declared size.
    pub fn part_len(&self, n: i64) -> Option<i64> {
        let count = self.part_count();
        if n < 1 || n > count {
            return None;
        }
        Some(if n < count {
            self.part_size
        } else {
            self.size - (count - 1) * self.part_size
        })
    }
}

/// A part received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPart {
    pub n: i64,
    pub size: i64,
    pub sha256: String,
    /// The part's ETag in the store's multipart upload, where the store assembles the upload.
    pub store_etag: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(size: i64, part_size: i64) -> UploadRecord {
        UploadRecord {
            id: Uuid::nil(),
            owner_id: Uuid::nil(),
            model: ModelName::parse("m").unwrap(),
            size,
            sha256: None,
            part_size,
            store_upload: None,
            state: UploadState::Open,
            completing_until: None,
            version: None,
            created_at: Timestamp::now(),
            expires_at: Timestamp::now(),
        }
    }

    #[test]
    fn parts_cover_the_declared_size_and_nothing_past_it() {
        let u = upload(10, 4);
        assert_eq!(u.part_count(), 3);
        assert_eq!(
            (1..=3).map(|n| u.part_len(n)).collect::<Vec<_>>(),
            [Some(4), Some(4), Some(2)]
        );
        assert_eq!(u.part_len(0), None);
        assert_eq!(u.part_len(4), None);
        let exact = upload(8, 4);
        assert_eq!(exact.part_count(), 2);
        assert_eq!(exact.part_len(2), Some(4));
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for s in [
            UploadState::Open,
            UploadState::Completing,
            UploadState::Done,
            UploadState::Deleting,
        ] {
            assert_eq!(UploadState::parse(s.as_str()), Some(s));
        }
        assert_eq!(UploadState::parse("lost"), None);
    }
}
