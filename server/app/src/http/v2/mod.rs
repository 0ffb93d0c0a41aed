//! The Open Inference Protocol V2 (KServe / Triton REST) under `/v2`: health, metadata,
//! readiness, inference (JSON and the binary tensor data extension), Triton's model
//! configuration, statistics and repository extensions.

pub mod disconnect;
mod json_data;
mod metadata;
pub mod openapi;
mod repository;
pub mod request;
mod response;

use actix_web::{
    HttpRequest, HttpResponse,
    http::{Method, StatusCode, header},
    web,
};
use caravan_core::{InferenceRequest, ModelService};
use serde_json::json;

use crate::http::{
    error::{self, ApiError},
    extract::MaybeAuth,
};

/// The header that carries the JSON part's length in binary requests and responses.
pub const HEADER_LENGTH: &str = "Inference-Header-Content-Length";

/// `/v2`, with its own extractor configuration and JSON error renderer.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v2")
            .app_data(error::json_config())
            .app_data(error::query_config())
            .app_data(error::path_config())
            .wrap(actix_web::middleware::from_fn(error::json_errors))
            .route("", web::get().to(metadata::server))
            .route("/health/live", web::get().to(live))
            .route("/health/ready", web::get().to(ready))
            .configure(repository::routes)
            .service(web::scope("/models").default_service(web::to(model_route))),
    );
}

/// What a `/v2/models/...` path names. The model routes are dispatched here rather than by
/// route patterns: actix matches every dynamic pattern with a regular expression, which cost
/// 15 % of the CPU of an inference request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    pub model: &'a str,
    pub version: Option<&'a str>,
    /// `ready`, `config`, `stats`, `infer`, or empty for the metadata.
    pub action: &'a str,
}

pub(crate) fn parse_target(tail: &str) -> Option<Target<'_>> {
    let parts: Vec<&str> = tail.split('/').collect();
    let (model, version, action) = match parts.as_slice() {
        [m] => (*m, None, ""),
        [m, a] => (*m, None, *a),
        [m, "versions", v] => (*m, Some(*v), ""),
        [m, "versions", v, a] => (*m, Some(*v), *a),
        _ => return None,
    };
    let known = matches!(action, "" | "ready" | "config" | "stats" | "infer");
    (known && !model.is_empty() && version != Some("")).then_some(Target {
        model,
        version,
        action,
    })
}

/// The percent-decoded path below `/v2/models/`.
fn tail(req: &HttpRequest) -> String {
    let rest = req.path().strip_prefix("/v2/models/").unwrap_or_default();
    percent_encoding::percent_decode_str(rest)
        .decode_utf8_lossy()
        .into_owned()
}

async fn model_route(
    models: web::Data<dyn ModelService>,
    who: MaybeAuth,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let tail = tail(&req);
    let method = req.method();
    if tail == "stats" && method == Method::GET {
        return metadata::all_stats(models, who).await;
    }
    let Some(target) = parse_target(&tail) else {
        return Err(ApiError::not_found("no such route"));
    };
    match (method, target.action) {
        (&Method::GET, "") => metadata::model(models, who, target).await,
        (&Method::GET, "ready") => metadata::model_ready(models, who, target).await,
        (&Method::GET, "config") => metadata::config(models, who, target).await,
        (&Method::GET, "stats") => metadata::model_stats(models, who, target).await,
        (&Method::POST, "infer") => infer(models, who, &req, target, body).await,
        _ => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed here",
        )),
    }
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "live": true }))
}

async fn ready(models: web::Data<dyn ModelService>) -> HttpResponse {
    if models.ready() {
        HttpResponse::Ok().json(json!({ "ready": true }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "ready": false, "error": "loading the versions aliases point to", "code": "not_ready"
        }))
    }
}

async fn infer(
    models: web::Data<dyn ModelService>,
    MaybeAuth(who): MaybeAuth,
    req: &HttpRequest,
    target: Target<'_>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (name, version) = (target.model, target.version);
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
    let decoding = std::time::Instant::now();
    let request = request::decode(&body, header_length).map_err(ApiError::bad_request)?;
    let decoded = decoding.elapsed();
    let outputs = request.outputs.iter().map(|o| o.name.clone()).collect();
    let run = models.infer(
        who.as_ref(),
        name,
        version,
        InferenceRequest {
            inputs: request.inputs,
            outputs,
        },
    );
    let Some(inference) = disconnect::unless_disconnected(req, run).await else {
        // Nobody reads this answer; the run was stopped when its future was dropped.
        return Ok(HttpResponse::build(StatusCode::from_u16(499).expect("valid status")).finish());
    };
    let inference = inference?;
    let encoding = std::time::Instant::now();
    let encoded = response::encode(
        &inference.model,
        inference.version,
        request.id.as_deref(),
        &inference.outputs,
        &request.outputs,
        request.binary_output_default,
    );
    inference.served.record_io(decoded, encoding.elapsed());
    let mut response = HttpResponse::Ok();
    match encoded.header_length {
        Some(n) => response
            .insert_header((HEADER_LENGTH, n.to_string()))
            .insert_header((header::CONTENT_TYPE, "application/octet-stream")),
        None => response.insert_header((header::CONTENT_TYPE, "application/json")),
    };
    Ok(response.body(encoded.body))
}

#[cfg(test)]
mod tests {
    use super::{Target, parse_target};

    #[test]
    fn model_paths_name_model_version_and_action() {
        let t = |model, version, action| {
            Some(Target {
                model,
                version,
                action,
            })
        };
        assert_eq!(parse_target("fraud"), t("fraud", None, ""));
        assert_eq!(parse_target("fraud/infer"), t("fraud", None, "infer"));
        assert_eq!(
            parse_target("peer:fraud/versions/champion/ready"),
            t("peer:fraud", Some("champion"), "ready")
        );
        assert_eq!(parse_target("fraud/versions/2"), t("fraud", Some("2"), ""));
        for bad in [
            "",
            "fraud/explode",
            "fraud/versions",
            "fraud/versions//infer",
            "a/b/c/d/e",
        ] {
            assert_eq!(parse_target(bad), None, "{bad:?}");
        }
    }
}
