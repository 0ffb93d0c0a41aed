//! Versions: list, details, deletion and the artifact download.

use actix_web::{HttpRequest, HttpResponse, web};
use caravan_core::Core;
use caravan_domain::{VersionRef, parse_version_number};

use super::model_name;
use crate::http::artifact;
use crate::http::{
    dto,
    error::ApiError,
    extract::{Authenticated, MaybeAuth},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/models/{name}/versions", web::get().to(list_versions))
        .route(
            "/models/{name}/versions/{version}",
            web::get().to(get_version),
        )
        .route(
            "/models/{name}/versions/{version}",
            web::delete().to(delete_version),
        )
        .route(
            "/models/{name}/versions/{version}",
            web::patch().to(update_version),
        )
        .route(
            "/models/{name}/versions/{version}/artifact",
            web::get().to(artifact),
        )
        .route(
            "/models/{name}/versions/{version}/artifact",
            web::head().to(artifact),
        );
}

/// A model's versions, newest first.
#[utoipa::path(get, path = "/api/v1/models/{name}/versions", tag = "versions",
    responses((status = 200, body = dto::Page<dto::Version>), (status = 404, body = crate::http::error::ErrorBody)))]
pub async fn list_versions(
    core: web::Data<Core>,
    MaybeAuth(who): MaybeAuth,
    name: web::Path<String>,
) -> Result<web::Json<dto::Page<dto::Version>>, ApiError> {
    let details = core
        .model_details(who.as_ref(), &model_name(&name)?)
        .await?;
    let model = details.model.name.to_string();
    let items = details
        .versions
        .into_iter()
        .map(|v| dto::Version::new(&model, v))
        .collect();
    Ok(web::Json(dto::Page {
        items,
        next_cursor: None,
    }))
}

/// One version: number, alias (`champion`) or `latest`.
#[utoipa::path(get, path = "/api/v1/models/{name}/versions/{version}", tag = "versions",
    responses((status = 200, body = dto::Version), (status = 404, body = crate::http::error::ErrorBody)))]
pub async fn get_version(
    core: web::Data<Core>,
    MaybeAuth(who): MaybeAuth,
    path: web::Path<(String, String)>,
) -> Result<web::Json<dto::Version>, ApiError> {
    let (name, version) = path.into_inner();
    let (model, version) = core
        .version(
            who.as_ref(),
            &model_name(&name)?,
            &VersionRef::parse(&version)?,
        )
        .await?;
    let properties = core.properties(who.as_ref(), &model.name).await?;
    let own = properties.of_version(version.version);
    Ok(web::Json(
        dto::Version::new(model.name.as_str(), version).with_properties(own),
    ))
}

/// Delete a version (owner or admin); refused with 409 while an alias points to it.
#[utoipa::path(delete, path = "/api/v1/models/{name}/versions/{version}", tag = "versions",
    responses((status = 204), (status = 409, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn delete_version(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    core.delete_version(&who, &model_name(&name)?, parse_version_number(&version)?)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Set a version's description (whoever may change the model).
#[utoipa::path(patch, path = "/api/v1/models/{name}/versions/{version}", tag = "versions",
    request_body = dto::VersionPatch,
    responses((status = 200, body = dto::Version), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_version(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
    patch: web::Json<dto::VersionPatch>,
) -> Result<web::Json<dto::Version>, ApiError> {
    let (name, version) = path.into_inner();
    let (name, number) = (model_name(&name)?, parse_version_number(&version)?);
    core.describe_version(&who, &name, number, &patch.description)
        .await?;
    let (model, version) = core
        .version(Some(&who), &name, &VersionRef::Number(number))
        .await?;
    let properties = core.properties(Some(&who), &model.name).await?;
    let own = properties.of_version(version.version);
    Ok(web::Json(
        dto::Version::new(model.name.as_str(), version).with_properties(own),
    ))
}

/// Download the ONNX file: streamed, with `Range` support and `ETag` = the SHA-256.
#[utoipa::path(get, path = "/api/v1/models/{name}/versions/{version}/artifact", tag = "versions",
    responses((status = 200, content_type = "application/octet-stream", description = "the ONNX file"),
        (status = 206, description = "the requested byte range"), (status = 304, description = "If-None-Match matched"),
        (status = 404, body = crate::http::error::ErrorBody), (status = 416, body = crate::http::error::ErrorBody)))]
pub async fn artifact(
    core: web::Data<Core>,
    MaybeAuth(who): MaybeAuth,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    let (model, version) = core
        .version(
            who.as_ref(),
            &model_name(&name)?,
            &VersionRef::parse(&version)?,
        )
        .await?;
    Ok(artifact::respond(&core, &req, &model, &version).await?)
}
