//! One bundle for one caller, as the API and the web UI both answer it: access checked by the
//! core (a model the caller cannot see is not found), the alias to follow checked to exist.

use caravan_core::{Core, CoreError};
use caravan_domain::{AliasName, ModelName, Principal, VersionRef};

use super::{BundleConfig, BundleSpec, Target};

/// A rendered bundle: its file name and its `.tar.gz` bytes.
pub struct Download {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Renders `target`'s bundle of `version` of `name` for `who`; `origin` is where runners
/// reach this instance. An unknown target is refused before the model is looked up, so the
/// answer says nothing about a model the caller cannot see.
pub async fn download(
    core: &Core,
    config: &BundleConfig,
    who: Option<&Principal>,
    (name, version): (&ModelName, &VersionRef),
    target: &str,
    follow: Option<&str>,
    origin: String,
) -> Result<Download, CoreError> {
    let target: Target = target
        .parse()
        .map_err(|e: super::UnknownTarget| CoreError::Invalid(e.to_string()))?;
    let follow = follow
        .map(AliasName::parse)
        .transpose()
        .map_err(|e| CoreError::Invalid(e.0))?;
    let (model, record) = core.version(who, name, version).await?;
    if !Target::for_format(record.info.format).contains(&target) {
        return Err(CoreError::Invalid(match record.info.format {
            caravan_domain::ArtifactFormat::AcumosBundle => {
                "this version is an Acumos model bundle: its only target is acumos".to_owned()
            }
            caravan_domain::ArtifactFormat::Onnx => format!(
                "{target} bundles are for Acumos model bundles; caravan runner serves this ONNX \
                 version (with the Acumos model-runner API too) in the other targets"
            ),
        }));
    }
    let runtime = record
        .info
        .acumos
        .as_ref()
        .and_then(|a| a.runtime.as_deref());
    if target == Target::Acumos && !runtime.is_some_and(|r| r.starts_with("python")) {
        return Err(CoreError::Invalid(format!(
            "the Acumos Python model runner runs Python bundles; this one's runtime is {}",
            runtime.unwrap_or("not stated")
        )));
    }
    if target == Target::Acumos && follow.is_some() {
        return Err(CoreError::Invalid(
            "an Acumos bundle is baked into its image; it cannot follow an alias".into(),
        ));
    }
    let mut spec = BundleSpec {
        model: model.name.to_string(),
        version: record,
        follow: None,
        instance: origin,
        config: config.clone(),
    };
    if let Some(alias) = follow {
        // The alias must exist (and be visible): a runner started on a missing one would fail.
        core.version(who, name, &VersionRef::Alias(alias.clone()))
            .await?;
        spec = spec.follow_alias(alias.as_str());
    }
    let dir = super::bundle_name(&spec, target);
    let mtime = spec.version.created_at.0.timestamp().max(0) as u64;
    let bytes = super::files(target, &spec)
        .and_then(|files| Ok(super::tar_gz(&dir, &files, mtime)?))
        .map_err(|e| CoreError::Internal(e.into()))?;
    Ok(Download {
        file_name: format!("{dir}.tar.gz"),
        bytes,
    })
}

impl Download {
    /// The bundle as an HTTP download.
    pub fn into_response(self) -> actix_web::HttpResponse {
        actix_web::HttpResponse::Ok()
            .content_type("application/gzip")
            .insert_header((
                "content-disposition",
                format!("attachment; filename=\"{}\"", self.file_name),
            ))
            .insert_header(("cache-control", "private, no-cache"))
            .body(self.bytes)
    }
}
