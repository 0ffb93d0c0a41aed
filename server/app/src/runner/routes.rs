//! A runner's own routes beside the V2 surface: what is served (`GET /model`), the
//! authenticated hot swap (`PUT /model`, multipart part `model`, as the Acumos model runner
//! takes it, but behind a bearer token), health, readiness and metrics.

use std::sync::Arc;

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, middleware::from_fn, web};
use caravan_core::runner::{Runner, Served, Source};

use super::Follower;
use serde::Deserialize;
use serde_json::json;

use crate::http::{
    connections::BodyIdleTimeout,
    error::{self, ApiError},
    extract, metrics, ops,
    upload::{self, Part},
};

/// The bearer token `PUT /model` requires; `None`: swapping is off.
pub struct SwapToken(pub Option<String>);

pub fn routes(cfg: &mut web::ServiceConfig) {
    let json_errors = || from_fn(error::json_errors);
    cfg.service(
        web::resource("/model")
            .wrap(json_errors())
            .route(web::get().to(model))
            .route(web::put().to(swap)),
    )
    .service(
        web::resource("/healthz")
            .wrap(json_errors())
            .route(web::get().to(ops::healthz)),
    )
    .service(
        web::resource("/readyz")
            .wrap(json_errors())
            .route(web::get().to(readyz)),
    )
    .service(
        web::resource("/metrics")
            .wrap(json_errors())
            .route(web::get().to(render_metrics)),
    )
    .default_service(web::to(error::no_route));
}

type FollowerData = web::Data<Option<Arc<Follower>>>;

fn describe(runner: &Runner, served: &Served, follower: &FollowerData) -> serde_json::Value {
    json!({
        "marketplace": follower.as_ref().as_ref().map(|f| f.status()),
        "name": runner.name(),
        "revision": served.revision,
        "sha256": served.sha256,
        "size": served.size,
        "source": served.source,
        "since": served.since,
        "signature": served.info.signature,
    })
}

/// What is served.
async fn model(
    runner: web::Data<Runner>,
    follower: FollowerData,
) -> Result<HttpResponse, ApiError> {
    let served = runner
        .current()
        .ok_or_else(|| ApiError::not_found("no model is loaded yet"))?;
    Ok(HttpResponse::Ok().json(describe(&runner, &served, &follower)))
}

#[derive(Deserialize)]
struct SwapQuery {
    #[serde(default)]
    allow_signature_change: bool,
}

/// Replaces the served model: validated and warmed before it takes over, refused with the
/// reason if it cannot load; the old one answers until then.
async fn swap(
    runner: web::Data<Runner>,
    follower: FollowerData,
    token: web::Data<SwapToken>,
    stall: web::Data<BodyIdleTimeout>,
    query: web::Query<SwapQuery>,
    req: HttpRequest,
    parts: Multipart,
) -> Result<HttpResponse, ApiError> {
    check_swap_token(&token, &req)?;
    let expected = [("model", Part::File(runner.model_limit()))];
    let mut received =
        upload::receive(runner.stager(), parts, &expected, "'model'", stall.0).await?;
    let staged = received
        .file("model")
        .ok_or_else(|| ApiError::bad_request("send the model as the multipart part 'model'"))?;
    let served: Arc<Served> = runner
        .swap(staged, Source::Upload, query.allow_signature_change)
        .await?;
    Ok(HttpResponse::Ok().json(describe(&runner, &served, &follower)))
}

fn check_swap_token(token: &SwapToken, req: &HttpRequest) -> Result<(), ApiError> {
    let Some(expected) = &token.0 else {
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "forbidden",
            "swapping is off: start the runner with --swap-token-file to allow PUT /model",
        ));
    };
    let presented = extract::bearer(req)?.ok_or_else(|| {
        ApiError::unauthenticated("PUT /model needs Authorization: Bearer <swap token>")
    })?;
    // Compared as digests, so the time taken tells nothing about the token.
    use sha2::{Digest, Sha256};
    if Sha256::digest(presented) == Sha256::digest(expected) {
        Ok(())
    } else {
        Err(ApiError::unauthenticated("the swap token is not valid"))
    }
}

/// Ready once a model is loaded; in follow mode, with what the runner knows of the instance
/// (still ready while it is unreachable: the model keeps serving).
async fn readyz(runner: web::Data<Runner>, follower: FollowerData) -> HttpResponse {
    let marketplace = follower.as_ref().as_ref().map(|f| f.status());
    match runner.current() {
        Some(served) => HttpResponse::Ok().json(json!({
            "status": "ready", "model": runner.name(), "revision": served.revision,
            "marketplace": marketplace,
        })),
        None => HttpResponse::ServiceUnavailable().json(json!({
            "error": "no model is loaded yet", "code": "not_ready", "marketplace": marketplace,
        })),
    }
}

/// Prometheus text format. A runner serves one model its operator deployed, so its series
/// are for whoever can reach the port (as a Kubernetes sidecar's are).
async fn render_metrics(metrics: web::Data<metrics::Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render())
}
