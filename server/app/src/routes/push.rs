//! Onboarding: `POST /api/v1/models/{name}/versions` with multipart parts `model` (the .onnx
//! file, streamed to a staging file while it is hashed) and optionally `metadata` (JSON).

use actix_multipart::{Field, Multipart};
use actix_web::{HttpResponse, web};
use caravan_core::{Core, CoreError, Upload};
use caravan_domain::Scope;
use caravan_storage::{StageError, StagedBlob};
use futures::{StreamExt, TryStreamExt};

use super::model_name;
use crate::{dto, error::ApiError, extract::Authenticated};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/models/{name}/versions", web::post().to(push));
}

/// Largest `metadata` part (the card lives there).
const MAX_METADATA: usize = 512 << 10;

/// Push a version. The model is created on its first version; identical bytes pushed again
/// answer 200 with the existing version.
#[utoipa::path(post, path = "/api/v1/models/{name}/versions", tag = "versions",
    request_body(content_type = "multipart/form-data",
        description = "part `model`: the .onnx file; optional part `metadata`: JSON (description, card, tags, license, visibility)"),
    responses((status = 201, body = dto::Version, description = "a new version"),
        (status = 200, body = dto::Version, description = "these bytes were already this model's version"),
        (status = 400, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody, description = "not a model Caravan accepts")),
    security(("bearer" = [])))]
pub async fn push(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
    mut parts: Multipart,
) -> Result<HttpResponse, ApiError> {
    let name = model_name(&name)?;
    if name.is_imported() {
        return Err(ApiError::bad_request(
            "':' is reserved for models imported from peers",
        ));
    }
    // Check the scope before reading a possibly huge body.
    caravan_core::require(&who, Scope::Publish)?;
    let mut staged: Option<StagedBlob> = None;
    let mut metadata: Option<dto::ModelMetadata> = None;
    while let Some(field) = parts.try_next().await.map_err(multipart_error)? {
        match field.name() {
            Some("model") if staged.is_none() => staged = Some(stage(&core, field).await?),
            Some("metadata") if metadata.is_none() => metadata = Some(read_metadata(field).await?),
            Some(part @ ("model" | "metadata")) => {
                return Err(ApiError::bad_request(format!(
                    "part {part:?} was sent twice"
                )));
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unexpected multipart part {:?}; send 'model' and optionally 'metadata'",
                    other.unwrap_or("")
                )));
            }
        }
    }
    let staged = staged.ok_or_else(|| {
        ApiError::bad_request("multipart part 'model' (the .onnx file) is missing")
    })?;
    let upload = Upload {
        name,
        metadata: metadata.unwrap_or_default().into(),
        staged,
    };
    let published = core.onboard(&who, upload).await?;
    let model = published.model.name.to_string();
    let version = dto::Version::new(&model, published.version);
    let location = format!("/api/v1/models/{model}/versions/{}", version.version);
    let mut response = if published.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.insert_header(("Location", location)).json(version))
}

async fn stage(core: &Core, field: Field) -> Result<StagedBlob, ApiError> {
    let limit = core.limits.max_model_bytes;
    let started = std::time::Instant::now();
    let staged = core.blobs.stage(field, limit).await;
    if let Ok(staged) = &staged {
        let stage_ms = started.elapsed().as_millis() as u64;
        tracing::info!(bytes = staged.size(), stage_ms, "upload staged");
    }
    staged.map_err(|e| match e {
        StageError::TooLarge { limit } => CoreError::TooLarge(format!(
            "the model is larger than the limit of {limit} bytes (onboarding.max_model_bytes)"
        ))
        .into(),
        StageError::Body(m) => ApiError::bad_request(format!("the upload was cut short: {m}")),
        StageError::Io(e) => CoreError::internal(e).into(),
    })
}

async fn read_metadata(mut field: Field) -> Result<dto::ModelMetadata, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        bytes.extend_from_slice(&chunk.map_err(multipart_error)?);
        if bytes.len() > MAX_METADATA {
            return Err(ApiError::bad_request(format!(
                "part 'metadata' is larger than {MAX_METADATA} bytes"
            )));
        }
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!("part 'metadata' is not valid metadata JSON: {e}"))
    })
}

fn multipart_error(e: actix_multipart::MultipartError) -> ApiError {
    ApiError::bad_request(format!("malformed multipart body: {e}"))
}
