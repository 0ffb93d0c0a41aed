//! Running inference and answering the protocol's metadata and readiness questions.

use caravan_domain::{ConflictKind, Subject};
use std::{collections::BTreeSet, sync::Arc};

use caravan_domain::Signature;
use caravan_domain::records::{ModelRecord, VersionRecord};
use caravan_domain::{ModelName, Principal, Scope, VersionRef};
use caravan_inference::serving::{
    InferError, LoadError, LoadedModel, ModelFile, NamedTensor, ServingSettings, VersionKey,
    check_inputs, check_outputs,
};

use super::{ServedModel, Serving};
use crate::{Core, CoreError, Result, auth::require};

/// An inference request, already decoded from its protocol.
pub struct InferenceRequest {
    pub inputs: Vec<NamedTensor>,
    /// Outputs to return, in order; empty means all.
    pub outputs: Vec<String>,
}

/// What answered and what it returned.
pub struct Inference {
    pub model: String,
    pub version: i64,
    pub outputs: Vec<NamedTensor>,
    pub batch_rows: usize,
    /// The loaded version that ran it, whose statistics take the protocol's decode and
    /// encode times too.
    pub served: Arc<LoadedModel>,
}

impl Core {
    pub(crate) fn serving(&self) -> Result<&Arc<Serving>> {
        self.serving
            .as_ref()
            .ok_or_else(|| CoreError::internal("serving is not enabled in this process"))
    }

    /// A model the caller may run, from the cache or the catalog.
    #[tracing::instrument(level = "debug", skip_all)]
    pub(crate) async fn served_model(
        &self,
        who: Option<&Principal>,
        name: &str,
    ) -> Result<Arc<ServedModel>> {
        let serving = self.serving()?;
        match who {
            None if !serving.anonymous => {
                return Err(CoreError::Unauthenticated(
                    "credentials required to run models".into(),
                ));
            }
            Some(who) => require(who, Scope::Read)?,
            None => {}
        }
        let model = match serving.cached(name) {
            Some(model) => model,
            None => {
                let generation = serving.generation();
                let parsed = ModelName::parse_any(name)?;
                let not_found =
                    || CoreError::not_found(Subject::Model, format!("model {name} not found"));
                let record = self
                    .catalog
                    .model_by_name(&parsed)
                    .await?
                    .ok_or_else(not_found)?;
                let aliases = self
                    .catalog
                    .aliases(record.id)
                    .await?
                    .into_iter()
                    .map(|a| (a.alias, a.version))
                    .collect();
                let versions: BTreeSet<i64> = self
                    .catalog
                    .versions(record.id)
                    .await?
                    .iter()
                    .map(|v| v.version)
                    .collect();
                // What another replica deleted is unloaded here too, once this lookup sees it.
                serving
                    .registry
                    .forget_deleted(record.id, |v| versions.contains(&v));
                let model = Arc::new(ServedModel {
                    record,
                    aliases,
                    versions,
                    records: Default::default(),
                });
                serving.remember(name, model.clone(), generation);
                model
            }
        };
        if !caravan_domain::can_see(who, model.record.owner_id, model.record.visibility) {
            return Err(CoreError::not_found(
                Subject::Model,
                format!("model {name} not found"),
            ));
        }
        Ok(model)
    }

    /// The version a request names: a number, an alias, `latest`, or by default the alias
    /// `champion` if there is one, else the newest version.
    pub(crate) async fn served_version(
        &self,
        model: &ServedModel,
        version: Option<&str>,
    ) -> Result<i64> {
        let name = &model.record.name;
        // A model its peer withdrew keeps serving through a local alias (no surprise outage),
        // and only that way.
        let withdrawn = || {
            CoreError::not_found(
                Subject::Peer,
                format!(
                    "model {name} was withdrawn by the peer it came from; it is served only through its aliases"
                ),
            )
        };
        let latest = || match (model.record.withdrawn_at, model.record.latest_version) {
            (Some(_), _) => Err(withdrawn()),
            (None, Some(v)) => Ok(v),
            (None, None) => Err(CoreError::not_found(
                Subject::Version,
                format!("model {name} has no versions"),
            )),
        };
        let no_version = |n: i64| {
            CoreError::not_found(Subject::Version, format!("model {name} has no version {n}"))
        };
        match version.map(VersionRef::parse).transpose()? {
            Some(VersionRef::Number(_)) if model.record.withdrawn_at.is_some() => Err(withdrawn()),
            // Not in the cached view: a version onboarded since (here or on another replica)
            // is served at once; one that is gone is not.
            Some(VersionRef::Number(n)) if !model.versions.contains(&n) => {
                match self.catalog.version(model.record.id, n).await? {
                    Some(_) => {
                        self.serving()?.invalidate(name.as_str());
                        Ok(n)
                    }
                    None => Err(no_version(n)),
                }
            }
            Some(VersionRef::Number(n)) => Ok(n),
            Some(VersionRef::Latest) => latest(),
            Some(VersionRef::Alias(alias)) => {
                model.aliases.get(alias.as_str()).copied().ok_or_else(|| {
                    CoreError::not_found(
                        Subject::Alias,
                        format!("model {name} has no alias {alias}"),
                    )
                })
            }
            None => match model.aliases.get(caravan_domain::AliasName::CHAMPION) {
                Some(&v) => Ok(v),
                None => latest(),
            },
        }
    }

    /// The loaded version, loading it from its blob if needed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub(crate) async fn loaded_version(
        &self,
        model: &ModelRecord,
        version: i64,
    ) -> Result<Arc<LoadedModel>> {
        let serving = self.serving()?;
        let key = VersionKey {
            model_id: model.id,
            version,
        };
        if let Some(loaded) = serving.registry.get(key) {
            return Ok(loaded);
        }
        let record = self
            .catalog
            .version(model.id, version)
            .await?
            .ok_or_else(|| {
                CoreError::not_found(
                    Subject::Version,
                    format!("model {} has no version {version}", model.name),
                )
            })?;
        if let Some(reason) = record.info.format.not_served_reason() {
            return Err(CoreError::conflict(
                ConflictKind::CannotServe,
                format!(
                    "version {version} of {} is not served: {reason}",
                    model.name
                ),
            ));
        }
        let label = format!("{}:{version}", model.name);
        serving
            .registry
            .get_or_load(key, &label, || self.model_file(record))
            .await
            .map_err(|e| match e {
                // Storage failed: the server's problem, and its text names server paths.
                LoadError::Fetch(cause) => CoreError::internal(cause),
                other => CoreError::conflict(
                    ConflictKind::CannotServe,
                    format!(
                        "version {version} of {} cannot be served: {other}",
                        model.name
                    ),
                ),
            })
    }

    /// A local file holding a version's ONNX bytes (the blob itself on local disk, a download
    /// into the staging directory otherwise).
    async fn model_file(&self, version: VersionRecord) -> Result<ModelFile, String> {
        // A blob the store has lost is a fetch failure (the server's), not a model that fails
        // to load: only a file that is there is handed over.
        if let Some(path) = self.blobs.local_path(&version.sha256)
            && path.is_file()
        {
            return Ok(ModelFile { path, keep: None });
        }
        let temp = self
            .blobs
            .download_to_staging(&version.sha256)
            .await
            .map_err(|e| e.to_string())?;
        Ok(ModelFile {
            path: temp.to_path_buf(),
            keep: Some(Box::new(temp)),
        })
    }

    /// Runs a request against a model version the caller may read.
    #[tracing::instrument(level = "debug", skip_all, fields(model = name, version))]
    pub async fn infer(
        &self,
        who: Option<&Principal>,
        name: &str,
        version: Option<&str>,
        request: InferenceRequest,
    ) -> Result<Inference> {
        let model = self.served_model(who, name).await?;
        let number = self.served_version(&model, version).await?;
        let loaded = self.loaded_version(&model.record, number).await?;
        let max_rows = self.serving()?.registry.settings().max_rows;
        run_loaded(
            &loaded,
            model.record.name.as_str(),
            number,
            max_rows,
            request,
        )
        .await
    }

    /// The version a V2 metadata, readiness or config request names, with its record.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn served_version_record(
        &self,
        who: Option<&Principal>,
        name: &str,
        version: Option<&str>,
    ) -> Result<(Arc<ServedModel>, Arc<VersionRecord>)> {
        let model = self.served_model(who, name).await?;
        let number = self.served_version(&model, version).await?;
        let cached = model.records.lock().expect("records").get(&number).cloned();
        if let Some(record) = cached {
            return Ok((model, record));
        }
        let record = self
            .catalog
            .version(model.record.id, number)
            .await?
            .map(Arc::new)
            .ok_or_else(|| {
                CoreError::not_found(
                    Subject::Version,
                    format!("model {name} has no version {number}"),
                )
            })?;
        model
            .records
            .lock()
            .expect("records")
            .insert(number, record.clone());
        Ok((model, record))
    }

    /// Is the serving side ready (aliased versions loaded after start-up)?
    pub fn serving_ready(&self) -> bool {
        self.serving.as_ref().is_some_and(|s| s.is_ready())
    }
}

/// Runs a request on a loaded version after checking it against the signature, and records
/// its metrics: the one place that turns what the engine says into what a client reads.
pub async fn run_loaded(
    loaded: &Arc<LoadedModel>,
    name: &str,
    number: i64,
    max_rows: usize,
    request: InferenceRequest,
) -> Result<Inference> {
    check_inputs(&loaded.signature, &request.inputs, max_rows).map_err(CoreError::Invalid)?;
    check_outputs(&loaded.signature, &request.outputs).map_err(CoreError::Invalid)?;
    let started = std::time::Instant::now();
    let result = loaded.infer(request.inputs, request.outputs).await;
    let labels = [("model", name.to_string()), ("version", number.to_string())];
    metrics::histogram!("caravan_inference_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    match result {
        Ok(output) => {
            metrics::counter!("caravan_inference_requests_total", &labels).increment(1);
            metrics::histogram!("caravan_inference_queue_seconds", &labels)
                .record(output.queued.as_secs_f64());
            metrics::histogram!("caravan_inference_batch_rows", &labels)
                .record(output.batch_rows as f64);
            Ok(Inference {
                model: name.to_string(),
                version: number,
                outputs: output.outputs,
                batch_rows: output.batch_rows,
                served: Arc::clone(loaded),
            })
        }
        Err(e) => {
            metrics::counter!("caravan_inference_failures_total", &labels).increment(1);
            Err(match e {
                InferError::Busy => CoreError::Busy(format!(
                    "{name} version {number} is at capacity; retry shortly"
                )),
                InferError::OutOfMemory => CoreError::LimitExceeded(format!(
                    "{name} version {number} needs more memory for this request than \
                     serving allows for running requests; send fewer rows or smaller inputs"
                )),
                InferError::TimedOut(limit) => CoreError::LimitExceeded(format!(
                    "{name} version {number} ran longer than the {} ms limit for one \
                     request and was stopped",
                    limit.as_millis()
                )),
                InferError::Abandoned => {
                    CoreError::Invalid("the request was abandoned by its caller".into())
                }
                InferError::Failed(message) => {
                    CoreError::Invalid(format!("inference failed: {message}"))
                }
            })
        }
    }
}

/// What the V2 metadata, readiness and configuration endpoints describe.
pub struct VersionMetadata {
    pub name: String,
    pub version: i64,
    /// Every version of the model, oldest first.
    pub versions: Vec<i64>,
    pub signature: Signature,
    /// The version's own model-runner interface, when it came with one.
    pub acumos: Option<caravan_domain::AcumosInterface>,
    /// What the version's artifact is (only ONNX is served in-process).
    pub format: caravan_domain::ArtifactFormat,
    /// The artifact's SHA-256 (with the name and the interface, what identifies what serves).
    pub sha256: String,
    /// Rows per batch when dynamic batching applies to this version.
    pub max_batch_rows: Option<usize>,
    pub max_queue_delay: std::time::Duration,
    /// Ready to answer: any version is (it loads on first use) except one unloaded on request
    /// and not loaded since.
    pub ready: bool,
}

impl VersionMetadata {
    pub fn with_sha256(mut self, sha256: &str) -> Self {
        sha256.clone_into(&mut self.sha256);
        self
    }

    /// A version's metadata under the serving settings (which say how it is batched).
    pub fn new(
        name: String,
        version: i64,
        versions: Vec<i64>,
        info: caravan_domain::ModelInfo,
        settings: &ServingSettings,
    ) -> Self {
        let signature = info.signature;
        let batching = settings.batching.filter(|_| signature.batchable());
        Self {
            name,
            version,
            versions,
            signature,
            acumos: info.acumos,
            format: info.format,
            sha256: String::new(),
            max_batch_rows: batching.map(|b| b.max_rows),
            max_queue_delay: batching.map(|b| b.max_delay).unwrap_or_default(),
            ready: true,
        }
    }
}

impl Core {
    #[tracing::instrument(skip_all)]
    pub async fn serving_metadata(
        &self,
        who: Option<&Principal>,
        name: &str,
        version: Option<&str>,
    ) -> Result<VersionMetadata> {
        let (model, record) = self.served_version_record(who, name, version).await?;
        let registry = &self.serving()?.registry;
        let mut meta = VersionMetadata::new(
            model.record.name.to_string(),
            record.version,
            model.versions.iter().copied().collect(),
            record.info.clone(),
            registry.settings(),
        )
        .with_sha256(&record.sha256);
        meta.ready = !registry.was_unloaded(VersionKey {
            model_id: model.record.id,
            version: record.version,
        });
        Ok(meta)
    }

    /// Loaded versions the caller may see, optionally of one model (and one version).
    #[tracing::instrument(skip_all)]
    pub async fn serving_stats(
        &self,
        who: Option<&Principal>,
        name: Option<&str>,
        version: Option<&str>,
    ) -> Result<Vec<(String, Arc<LoadedModel>)>> {
        let serving = self.serving()?;
        let mut out = Vec::new();
        match name {
            Some(name) => {
                let model = self.served_model(who, name).await?;
                let wanted = match version {
                    Some(_) => Some(self.served_version(&model, version).await?),
                    None => None,
                };
                for loaded in serving.registry.loaded() {
                    if loaded.key.model_id == model.record.id
                        && wanted.is_none_or(|v| v == loaded.key.version)
                    {
                        out.push((model.record.name.to_string(), loaded));
                    }
                }
            }
            None => {
                for loaded in serving.registry.loaded() {
                    let Some(model) = self.catalog.model_by_id(loaded.key.model_id).await? else {
                        continue;
                    };
                    if caravan_domain::can_see(who, model.owner_id, model.visibility) {
                        out.push((model.name.to_string(), loaded));
                    }
                }
            }
        }
        out.sort_by(|a, b| (&a.0, a.1.key.version).cmp(&(&b.0, b.1.key.version)));
        Ok(out)
    }
}
