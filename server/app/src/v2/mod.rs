//! The Open Inference Protocol V2 (KServe / Triton REST) under `/v2`: health, metadata,
//! readiness, inference (JSON and the binary tensor data extension), Triton's model
//! configuration, statistics and repository extensions.

mod json_data;
mod metadata;
mod repository;
mod request;
mod response;

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use caravan_core::{Core, InferenceRequest};
use serde_json::json;

use crate::{error::ApiError, extract::MaybeAuth};

/// The header that carries the JSON part's length in binary requests and responses.
pub const HEADER_LENGTH: &str = "Inference-Header-Content-Length";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v2")
            .route("", web::get().to(metadata::server))
            .route("/health/live", web::get().to(live))
            .route("/health/ready", web::get().to(ready))
            .route("/models/stats", web::get().to(metadata::all_stats))
            .configure(model_routes("/models/{m}"))
            .configure(model_routes("/models/{m}/versions/{v}"))
            .configure(repository::routes),
    );
}

/// The routes of one model, with or without a version segment.
fn model_routes(prefix: &'static str) -> impl Fn(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.route(prefix, web::get().to(metadata::model))
            .route(
                &format!("{prefix}/ready"),
                web::get().to(metadata::model_ready),
            )
            .route(&format!("{prefix}/config"), web::get().to(metadata::config))
            .route(
                &format!("{prefix}/stats"),
                web::get().to(metadata::model_stats),
            )
            .route(&format!("{prefix}/infer"), web::post().to(infer));
    }
}

/// The model name and optional version segment of a request.
pub(crate) fn target(req: &HttpRequest) -> (String, Option<String>) {
    let info = req.match_info();
    (
        info.get("m").unwrap_or_default().to_owned(),
        info.get("v").map(str::to_owned),
    )
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "live": true }))
}

async fn ready(core: web::Data<Core>) -> HttpResponse {
    if core.serving_ready() {
        HttpResponse::Ok().json(json!({ "ready": true }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "ready": false, "error": "loading the versions aliases point to", "code": "not_ready"
        }))
    }
}

async fn infer(
    core: web::Data<Core>,
    MaybeAuth(who): MaybeAuth,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (name, version) = target(&req);
    let header_length = match req.headers().get(HEADER_LENGTH) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(format!("{HEADER_LENGTH} must be a byte count"))
                })?,
        ),
    };
    let request = request::decode(&body, header_length).map_err(ApiError::bad_request)?;
    let outputs = request.outputs.iter().map(|o| o.name.clone()).collect();
    let inference = core
        .infer(
            who.as_ref(),
            &name,
            version.as_deref(),
            InferenceRequest {
                inputs: request.inputs,
                outputs,
            },
        )
        .await?;
    let encoded = response::encode(
        &inference.model,
        inference.version,
        request.id.as_deref(),
        &inference.outputs,
        &request.outputs,
        request.binary_output_default,
    );
    let mut response = HttpResponse::Ok();
    match encoded.header_length {
        Some(n) => response
            .insert_header((HEADER_LENGTH, n.to_string()))
            .insert_header((header::CONTENT_TYPE, "application/octet-stream")),
        None => response.insert_header((header::CONTENT_TYPE, "application/json")),
    };
    Ok(response.body(encoded.body))
}
