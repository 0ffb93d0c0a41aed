//! Deployment bundles: `GET /models/{name}/versions/{version}/deployment?target=` answers a
//! `.tar.gz` that runs the version with `caravan runner` on the target (see `crate::bundle`).

use actix_web::{HttpRequest, HttpResponse, web};
use caravan_core::Core;
use caravan_domain::VersionRef;
use serde::Deserialize;

use super::model_name;
use crate::{
    bundle::{self, BundleConfig},
    http::{error::ApiError, extract::MaybeAuth},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/models/{name}/versions/{version}/deployment",
        web::get().to(deployment),
    );
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
    let bundle = bundle::download(
        &core,
        &config,
        who.as_ref(),
        (&model_name(&name)?, &VersionRef::parse(&version)?),
        &query.target,
        query.follow.as_deref(),
        crate::http::public_origin(&req, &config.public_url),
    )
    .await?;
    Ok(bundle.into_response())
}
