//! Key/value properties of models and versions: `PUT` sets one (`{"value": "..."}`), `DELETE`
//! removes it. They show in the model's and the version's JSON and pages, and are the tags
//! MLflow clients read and write.

use actix_web::{HttpResponse, web};
use caravan_core::Core;
use caravan_domain::parse_version_number;
use serde::Deserialize;
use utoipa::ToSchema;

use super::model_name;
use crate::http::{error::ApiError, extract::Authenticated};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/models/{name}/properties/{key}",
        web::put().to(set_model_property),
    )
    .route(
        "/models/{name}/properties/{key}",
        web::delete().to(delete_model_property),
    )
    .route(
        "/models/{name}/versions/{version}/properties/{key}",
        web::put().to(set_version_property),
    )
    .route(
        "/models/{name}/versions/{version}/properties/{key}",
        web::delete().to(delete_version_property),
    );
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyValue {
    /// Up to 5,000 characters.
    pub value: String,
}

/// Set a property of a model (owner or admin; scope `publish`).
#[utoipa::path(put, path = "/api/v1/models/{name}/properties/{key}", tag = "models", request_body = PropertyValue,
    params(("name" = String, Path), ("key" = String, Path, description = "1 to 250 characters")),
    responses((status = 204), (status = 400, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_model_property(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<PropertyValue>,
) -> Result<HttpResponse, ApiError> {
    let (name, key) = path.into_inner();
    core.set_property(&who, &model_name(&name)?, None, &key, &body.value)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Delete a property of a model.
#[utoipa::path(delete, path = "/api/v1/models/{name}/properties/{key}", tag = "models",
    params(("name" = String, Path), ("key" = String, Path)),
    responses((status = 204), (status = 404, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn delete_model_property(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, key) = path.into_inner();
    core.delete_property(&who, &model_name(&name)?, None, &key)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Set a property of a version.
#[utoipa::path(put, path = "/api/v1/models/{name}/versions/{version}/properties/{key}", tag = "versions",
    request_body = PropertyValue,
    params(("name" = String, Path), ("version" = i64, Path), ("key" = String, Path)),
    responses((status = 204), (status = 400, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_version_property(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String, String)>,
    body: web::Json<PropertyValue>,
) -> Result<HttpResponse, ApiError> {
    let (name, version, key) = path.into_inner();
    let version = parse_version_number(&version)?;
    core.set_property(&who, &model_name(&name)?, Some(version), &key, &body.value)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Delete a property of a version.
#[utoipa::path(delete, path = "/api/v1/models/{name}/versions/{version}/properties/{key}", tag = "versions",
    params(("name" = String, Path), ("version" = i64, Path), ("key" = String, Path)),
    responses((status = 204), (status = 404, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn delete_version_property(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, version, key) = path.into_inner();
    let version = parse_version_number(&version)?;
    core.delete_property(&who, &model_name(&name)?, Some(version), &key)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
