//! A runner's one model, with no catalog and no users: what it serves, and swapping it for
//! another with no failed request. A new model is validated as onboarding validates it, loaded
//! and warmed while the old one keeps answering, then takes over in one pointer swap; requests
//! already running finish on the old one, which is unloaded when the last of them lets go.

mod service;

use std::sync::{
    Arc, RwLock,
    atomic::{AtomicI64, Ordering},
};

use caravan_domain::records::Timestamp;
use caravan_domain::{ConflictKind, ModelInfo};
use caravan_inference::Validator;
use caravan_inference::serving::{LoadedModel, ModelFile, Registry, VersionKey};
use serde::Serialize;

use crate::{CoreError, Result, Staged, Stager, UploadLimit};

/// The one model id a runner's registry knows; its versions are the runner's revisions.
const MODEL_ID: uuid::Uuid = uuid::Uuid::nil();

/// Where the served model came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// `--model FILE`.
    File { path: String },
    /// A `PUT /model`.
    Upload,
    /// A version an alias on a Caravan instance points to (`--follow URL`).
    Follow { url: String, version: i64 },
}

/// What the runner serves now.
#[derive(Serialize)]
pub struct Served {
    /// The runner's own counter: 1 for the first model, one more for every swap. The V2
    /// surface serves it as the version number.
    pub revision: i64,
    pub sha256: String,
    pub size: u64,
    pub source: Source,
    pub since: Timestamp,
    pub info: ModelInfo,
    #[serde(skip)]
    pub loaded: Arc<LoadedModel>,
}

pub struct Runner {
    name: String,
    registry: Registry,
    validator: Validator,
    stager: Stager,
    max_model_bytes: u64,
    current: RwLock<Option<Arc<Served>>>,
    /// One swap at a time: two at once could each replace the other's model.
    swapping: tokio::sync::Mutex<()>,
    revisions: AtomicI64,
}

impl Runner {
    pub fn new(
        name: String,
        registry: Registry,
        validator: Validator,
        stager: Stager,
        max_model_bytes: u64,
    ) -> Self {
        Self {
            name,
            registry,
            validator,
            stager,
            max_model_bytes,
            current: RwLock::new(None),
            swapping: tokio::sync::Mutex::new(()),
            revisions: AtomicI64::new(0),
        }
    }

    /// The name the model is served under (`/v2/models/{name}`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What is served now; `None` until the first model is in.
    pub fn current(&self) -> Option<Arc<Served>> {
        self.current.read().expect("served model lock").clone()
    }

    pub fn stager(&self) -> &Stager {
        &self.stager
    }

    /// The limit on model uploads (`onboarding.max_model_bytes`).
    pub fn model_limit(&self) -> UploadLimit {
        UploadLimit {
            max_bytes: self.max_model_bytes,
            what: "the model",
            setting: "onboarding.max_model_bytes",
        }
    }

    /// Validates, loads and warms a staged model, then serves it instead of the current one.
    /// A model whose inputs or outputs differ from the served one's is refused unless
    /// `allow_signature_change` (its callers would start failing). The same bytes again are
    /// a no-op that answers what is served.
    #[tracing::instrument(skip_all, fields(sha256 = staged.sha256()))]
    pub async fn swap(
        &self,
        staged: Staged,
        source: Source,
        allow_signature_change: bool,
    ) -> Result<Arc<Served>> {
        self.swap_with(staged, source, allow_signature_change, None)
            .await
    }

    /// [`Runner::swap`], serving the model under `acumos`, the model-runner interface its
    /// version was published with (a follower reads it from the instance), when there is one.
    pub async fn swap_with(
        &self,
        staged: Staged,
        source: Source,
        allow_signature_change: bool,
        acumos: Option<caravan_domain::AcumosInterface>,
    ) -> Result<Arc<Served>> {
        let _one_at_a_time = self.swapping.lock().await;
        let current = self.current();
        if let Some(current) = &current
            && current.sha256 == staged.sha256()
        {
            return Ok(current.clone());
        }
        let mut info = self
            .validator
            .validate(staged.path(), staged.size())
            .await
            .map_err(|e| crate::onboard::refused(e, "the model was refused"))?;
        info.acumos = acumos;
        if let Some(current) = &current
            && current.info.signature != info.signature
            && !allow_signature_change
        {
            return Err(CoreError::conflict(
                ConflictKind::InvalidState,
                "the model's inputs or outputs differ from the served model's, so its callers \
                 would fail; swap with ?allow_signature_change=true to replace it anyway",
            ));
        }
        let revision = self.revisions.fetch_add(1, Ordering::AcqRel) + 1;
        let key = VersionKey {
            model_id: MODEL_ID,
            version: revision,
        };
        let (sha256, size) = (staged.sha256().to_owned(), staged.size());
        let path = staged.path().to_path_buf();
        let label = format!("{}:{revision}", self.name);
        let loaded = self
            .registry
            .get_or_load(key, &label, || async move {
                Ok(ModelFile {
                    path,
                    keep: Some(Box::new(staged)),
                })
            })
            .await
            .map_err(|e| {
                CoreError::conflict(
                    ConflictKind::CannotServe,
                    format!("the model cannot be served: {e}"),
                )
            })?;
        // Pinned, so the memory budget never evicts the one model there is.
        self.registry.set_pinned([key].into());
        let served = Arc::new(Served {
            revision,
            sha256,
            size,
            source,
            since: Timestamp::now(),
            info,
            loaded,
        });
        let old = self
            .current
            .write()
            .expect("served model lock")
            .replace(served.clone());
        if let Some(old) = old {
            // Requests that hold the old model finish on it; new ones get the new one.
            if let Err(e) = self.registry.unload(old.loaded.key) {
                tracing::warn!(error = %e, revision = old.revision, "could not unload the model swapped out");
            }
        }
        tracing::info!(revision, "serving a new model");
        Ok(served)
    }
}
