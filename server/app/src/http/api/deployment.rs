//! Deployment bundles: `GET /models/{name}/versions/{version}/deployment?target=` answers a
//! `.tar.gz` that runs the version with `caravan runner` on the target (see `crate::bundle`).

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use caravan_core::Core;
use caravan_domain::{AliasName, VersionRef};
use serde::Deserialize;

use super::model_name;
use crate::{
    bundle::{self, BundleConfig, BundleSpec, Target},
    http::{error::ApiError, extract::MaybeAuth},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/models/{name}/versions/{version}/deployment",
        web::get().to(deployment),
    );
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeploymentQuery {
    /// docker, compose, kubernetes, helm or kserve.
    target: String,
    /// Follow this alias instead of baking the version into an image: the runner serves what
    /// the alias points to and swaps when it moves.
    follow: Option<String>,
}

/// A deployment bundle for a version: a `.tar.gz` with a README and the target's files
/// (Dockerfile, compose file, Kubernetes manifests, Helm values and chart, or a KServe
/// InferenceService), all running `caravan runner`.
#[utoipa::path(get, path = "/api/v1/models/{name}/versions/{version}/deployment", tag = "versions",
    params(("name" = String, Path), ("version" = String, Path, description = "number, alias or latest"), DeploymentQuery),
    responses((status = 200, content_type = "application/gzip", description = "the bundle"),
        (status = 400, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)))]
pub async fn deployment(
    core: web::Data<Core>,
    config: web::Data<BundleConfig>,
    MaybeAuth(who): MaybeAuth,
    path: web::Path<(String, String)>,
    query: web::Query<DeploymentQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    let target: Target = query
        .target
        .parse()
        .map_err(|e: bundle::UnknownTarget| ApiError::bad_request(e.to_string()))?;
    let name = model_name(&name)?;
    let (model, record) = core
        .version(who.as_ref(), &name, &VersionRef::parse(&version)?)
        .await?;
    let mut spec = BundleSpec {
        model: model.name.to_string(),
        version: record,
        follow: None,
        instance: crate::http::public_origin(&req, &config.public_url),
        config: config.get_ref().clone(),
    };
    if let Some(alias) = &query.follow {
        let alias = AliasName::parse(alias)?;
        // The alias must exist (and be visible): a runner started on a missing one would fail.
        core.version(who.as_ref(), &name, &VersionRef::Alias(alias.clone()))
            .await?;
        spec = spec.follow_alias(alias.as_str());
    }
    let dir = bundle::bundle_name(&spec, target);
    let mtime = spec.version.created_at.0.timestamp().max(0) as u64;
    let archive = bundle::files(target, &spec)
        .and_then(|files| Ok(bundle::tar_gz(&dir, &files, mtime)?))
        .map_err(|e| {
            tracing::error!(error = %e, %target, "rendering a deployment bundle failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        })?;
    Ok(HttpResponse::Ok()
        .content_type("application/gzip")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{dir}.tar.gz\""),
        ))
        .insert_header(("cache-control", "private, no-cache"))
        .body(archive))
}
