//! What the Open Inference Protocol surface asks of whoever serves models: the server's
//! catalog-backed [`Core`], or a runner's one model. The V2 handlers hold a
//! `dyn ModelService`, so both speak the protocol through one implementation.

use std::sync::Arc;

use async_trait::async_trait;
use caravan_domain::Principal;
use caravan_inference::serving::LoadedModel;

use super::{IndexEntry, Inference, InferenceRequest, VersionMetadata};
use crate::{Core, Result};

#[async_trait]
pub trait ModelService: Send + Sync {
    /// Runs a request against the version a request names (a number, an alias, `latest`, or
    /// the default).
    async fn infer(
        &self,
        who: Option<&Principal>,
        name: &str,
        version: Option<&str>,
        request: InferenceRequest,
    ) -> Result<Inference>;

    /// What the metadata, readiness and configuration endpoints describe.
    async fn metadata(
        &self,
        who: Option<&Principal>,
        name: &str,
        version: Option<&str>,
    ) -> Result<VersionMetadata>;

    /// Loaded versions the caller may see, optionally of one model (and one version), with
    /// their model's name.
    async fn stats(
        &self,
        who: Option<&Principal>,
        name: Option<&str>,
        version: Option<&str>,
    ) -> Result<Vec<(String, Arc<LoadedModel>)>>;

    /// Is the serving side ready to answer?
    fn ready(&self) -> bool;

    /// The versions the caller can see, and whether each is loaded.
    async fn index(&self, who: Option<&Principal>, only_loaded: bool) -> Result<Vec<IndexEntry>>;

    /// Loads a version (loading again is a no-op); its number.
    async fn load(&self, who: &Principal, name: &str, version: Option<&str>) -> Result<i64>;

    /// Unloads a version; its number.
    async fn unload(&self, who: &Principal, name: &str, version: Option<&str>) -> Result<i64>;
}

#[async_trait]
impl ModelService for Core {
    async fn infer(
        &self,
        who: Option<&Principal>,
        name: &str,
        version: Option<&str>,
        request: InferenceRequest,
    ) -> Result<Inference> {
        Core::infer(self, who, name, version, request).await
    }

    async fn metadata(
        &self,
        who: Option<&Principal>,
        name: &str,
        version: Option<&str>,
    ) -> Result<VersionMetadata> {
        self.serving_metadata(who, name, version).await
    }

    async fn stats(
        &self,
        who: Option<&Principal>,
        name: Option<&str>,
        version: Option<&str>,
    ) -> Result<Vec<(String, Arc<LoadedModel>)>> {
        self.serving_stats(who, name, version).await
    }

    fn ready(&self) -> bool {
        self.serving_ready()
    }

    async fn index(&self, who: Option<&Principal>, only_loaded: bool) -> Result<Vec<IndexEntry>> {
        self.repository_index(who, only_loaded).await
    }

    async fn load(&self, who: &Principal, name: &str, version: Option<&str>) -> Result<i64> {
        self.load_model(who, name, version).await
    }

    async fn unload(&self, who: &Principal, name: &str, version: Option<&str>) -> Result<i64> {
        self.unload_model(who, name, version).await
    }
}
