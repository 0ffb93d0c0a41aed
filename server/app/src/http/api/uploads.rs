//! Resumable uploads: `POST /uploads` declares a file, `PUT /uploads/{id}/parts/{n}` sends
//! its parts (any order, any replica, again after a failure), `GET /uploads/{id}` says which
//! have arrived, `POST /uploads/{id}/complete` makes it a version as a push would, and
//! `DELETE /uploads/{id}` gives up.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use caravan_core::{Core, NewResumableUpload};
use serde::Deserialize;
use uuid::Uuid;

use super::model_name;
use crate::http::{dto, error::ApiError, extract::Authenticated};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/uploads", web::post().to(begin))
        .route("/uploads/{id}", web::get().to(progress))
        .route("/uploads/{id}", web::delete().to(abort))
        .route("/uploads/{id}/parts/{n}", web::put().to(put_part))
        .route("/uploads/{id}/complete", web::post().to(complete));
}

/// Open an upload.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads", request_body = dto::NewUpload,
    responses((status = 201, body = dto::Upload), (status = 400, body = crate::http::error::ErrorBody),
        (status = 413, body = crate::http::error::ErrorBody, description = "larger than onboarding.max_model_bytes")),
    security(("bearer" = [])))]
pub async fn begin(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    body: web::Json<dto::NewUpload>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = NewResumableUpload {
        model: model_name(&body.model)?,
        size: body.size,
        sha256: body.sha256,
        part_size: body.part_size,
    };
    let upload: dto::Upload = core.begin_upload(&who, new).await?.into();
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/uploads/{}", upload.id)))
        .json(upload))
}

/// An upload and the parts it has received.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "the upload's id")),
    responses((status = 200, body = dto::Upload), (status = 404, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn progress(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    id: web::Path<String>,
) -> Result<web::Json<dto::Upload>, ApiError> {
    let id = upload_id(&id)?;
    Ok(web::Json(core.upload_progress(&who, id).await?.into()))
}

#[derive(Deserialize)]
pub struct PartQuery {
    sha256: Option<String>,
}

/// Send part `n` (from 1) as the raw body, with its SHA-256 as `?sha256=<hex>` or a
/// `Content-Digest: sha-256=:<base64>:` header. Every part but the last is `part_size` bytes.
#[utoipa::path(put, path = "/api/v1/uploads/{id}/parts/{n}", tag = "uploads",
    params(("id" = String, Path, description = "the upload's id"), ("n" = i64, Path, description = "the part's number, from 1"),
        ("sha256" = Option<String>, Query, description = "the part's SHA-256, hex (or send Content-Digest)")),
    request_body(content = crate::http::dto::Bytes, content_type = "application/octet-stream", description = "the part's bytes"),
    responses((status = 200, body = dto::Part), (status = 400, body = crate::http::error::ErrorBody,
        description = "wrong size, wrong SHA-256, or a number outside the declared size"),
        (status = 404, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody, description = "the upload is being completed or is done")),
    security(("bearer" = [])))]
pub async fn put_part(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
    query: web::Query<PartQuery>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<web::Json<dto::Part>, ApiError> {
    let id = upload_id(&path.0)?;
    let n: i64 = path
        .1
        .parse()
        .map_err(|_| ApiError::bad_request("a part number is an integer from 1"))?;
    let sha256 = match (&query.sha256, content_digest(&req)?) {
        (Some(hex), _) => hex.clone(),
        (None, Some(hex)) => hex,
        (None, None) => {
            return Err(ApiError::bad_request(
                "send the part's SHA-256 as ?sha256=<hex> or Content-Digest: sha-256=:<base64>:",
            ));
        }
    };
    let part = core.put_upload_part(&who, id, n, &sha256, body).await?;
    Ok(web::Json(part.into()))
}

/// Assemble, check and onboard the upload: the same result as a push (201 a new version, 200
/// these bytes were already a version). Completing again answers the same version.
#[utoipa::path(post, path = "/api/v1/uploads/{id}/complete", tag = "uploads",
    params(("id" = String, Path, description = "the upload's id")),
    request_body(content = Option<dto::CompleteUpload>, description = "optional metadata, as a push's `metadata` part"),
    responses((status = 201, body = dto::Version), (status = 200, body = dto::Version),
        (status = 400, body = crate::http::error::ErrorBody, description = "parts missing, or not the declared SHA-256"),
        (status = 409, body = crate::http::error::ErrorBody, description = "another request is completing it"),
        (status = 422, body = crate::http::error::ErrorBody, description = "not a model Caravan accepts (the upload is discarded)")),
    security(("bearer" = [])))]
pub async fn complete(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = upload_id(&id)?;
    // An empty body is no metadata; anything else must be the documented JSON.
    let body: dto::CompleteUpload = if body.iter().all(u8::is_ascii_whitespace) {
        Default::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?
    };
    let metadata = body.metadata.unwrap_or_default();
    let published = core.complete_upload(&who, id, metadata.into()).await?;
    Ok(super::push::published(published))
}

/// Give up an upload: its parts are deleted.
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "the upload's id")),
    responses((status = 204), (status = 404, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn abort(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    core.abort_upload(&who, upload_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An upload id; anything that is not one names no upload.
fn upload_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("upload not found"))
}

/// The SHA-256 of an RFC 9530 `Content-Digest` header, as hex.
fn content_digest(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(header) = req.headers().get("content-digest") else {
        return Ok(None);
    };
    let bad = || ApiError::bad_request("Content-Digest must hold sha-256=:<base64>:");
    let text = header.to_str().map_err(|_| bad())?;
    for item in text.split(',') {
        let Some((algorithm, value)) = item.trim().split_once('=') else {
            return Err(bad());
        };
        if algorithm.trim().eq_ignore_ascii_case("sha-256") {
            let b64 = value
                .trim()
                .strip_prefix(':')
                .and_then(|v| v.strip_suffix(':'));
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.ok_or_else(bad)?)
                .map_err(|_| bad())?;
            return Ok(Some(hex::encode(bytes)));
        }
    }
    Err(bad())
}
