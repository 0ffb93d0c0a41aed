//! Liveness, readiness and Prometheus metrics.

use actix_web::{HttpResponse, web};
use caravan_core::Core;
use serde_json::json;

use crate::metrics::Metrics;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database and the object store answer.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200), (status = 503)))]
pub async fn readyz(core: web::Data<Core>) -> HttpResponse {
    let serving_ready = !core.serves() || core.serving_ready();
    match core.ready().await {
        Ok(()) if serving_ready => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Ok(()) => HttpResponse::ServiceUnavailable()
            .json(json!({ "error": "loading the versions aliases point to", "code": "not_ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "error": "a dependency is unavailable", "code": "not_ready" }))
        }
    }
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render())
}
