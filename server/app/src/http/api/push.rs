//! Onboarding: `POST /api/v1/models/{name}/versions` with multipart parts `model` (the .onnx
//! file, streamed to a staging file while it is hashed) and optionally `metadata` (JSON).

use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};
use caravan_core::{Core, Upload};
use caravan_domain::Scope;

use super::model_name;
use crate::http::{
    dto,
    error::ApiError,
    extract::Authenticated,
    upload::{self, Part},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/models/{name}/versions", web::post().to(push));
}

/// Largest `metadata` part (the card lives there).
const MAX_METADATA: usize = 512 << 10;

/// Push a version. The model is created on its first version; identical bytes pushed again
/// answer 200 with the existing version.
#[utoipa::path(post, path = "/api/v1/models/{name}/versions", tag = "versions",
    request_body(content = dto::PushForm, content_type = "multipart/form-data",
        description = "part `model`: the .onnx file; optional part `metadata`: JSON (description, card, tags, license, visibility)"),
    responses((status = 201, body = dto::Version, description = "a new version"),
        (status = 200, body = dto::Version, description = "these bytes were already this model's version"),
        (status = 400, body = crate::http::error::ErrorBody), (status = 413, body = crate::http::error::ErrorBody),
        (status = 422, body = crate::http::error::ErrorBody, description = "not a model Caravan accepts")),
    security(("bearer" = [])))]
pub async fn push(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
    parts: Multipart,
    stall: web::Data<crate::http::connections::BodyIdleTimeout>,
) -> Result<HttpResponse, ApiError> {
    let name = model_name(&name)?;
    if name.is_imported() {
        return Err(ApiError::bad_request(
            "':' is reserved for models imported from peers",
        ));
    }
    // Check the scope before reading a possibly huge body.
    caravan_core::require(&who, Scope::Publish)?;
    let expected = [
        ("model", Part::File(core.model_limit())),
        ("metadata", Part::Small(MAX_METADATA)),
    ];
    let hint = "'model' and optionally 'metadata'";
    let mut received = upload::receive(&core.stager(), parts, &expected, hint, stall.0).await?;
    let staged = received.file("model").ok_or_else(|| {
        ApiError::bad_request("multipart part 'model' (the .onnx file) is missing")
    })?;
    let metadata: dto::ModelMetadata = match received.small("metadata") {
        None => Default::default(),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::bad_request(format!("part 'metadata' is not valid metadata JSON: {e}"))
        })?,
    };
    let upload = Upload {
        name,
        metadata: metadata.into(),
        staged,
        proto: None,
    };
    Ok(published(core.onboard(&who, upload).await?))
}

/// What a push answers (a completed resumable upload too): 201 and the new version, or 200
/// and the version these bytes already were, with its `Location`.
pub(super) fn published(published: caravan_domain::records::Published) -> HttpResponse {
    let model = published.model.name.to_string();
    let version = dto::Version::new(&model, published.version);
    let location = format!("/api/v1/models/{model}/versions/{}", version.version);
    let mut response = if published.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    response.insert_header(("Location", location)).json(version)
}
