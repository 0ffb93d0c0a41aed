//! Liveness, readiness and Prometheus metrics.

use actix_web::{HttpRequest, HttpResponse, middleware::from_fn, web};
use caravan_core::Core;
use serde_json::json;

use crate::http::{
    error::{self, ApiError},
    extract,
    metrics::{Metrics, models_named, without_models},
};

/// At the root, each path a resource of its own with the JSON error renderer (a wrong method
/// answers JSON like the API).
pub fn routes(cfg: &mut web::ServiceConfig) {
    let json_errors = || from_fn(error::json_errors);
    cfg.service(
        web::resource("/healthz")
            .wrap(json_errors())
            .route(web::get().to(healthz)),
    )
    .service(
        web::resource("/readyz")
            .wrap(json_errors())
            .route(web::get().to(readyz)),
    )
    .service(
        web::resource("/metrics")
            .wrap(json_errors())
            .route(web::get().to(metrics)),
    );
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database and the object store answer, and the process is not stopping.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200), (status = 503)))]
pub async fn readyz(core: web::Data<Core>) -> HttpResponse {
    if core.draining() {
        return HttpResponse::ServiceUnavailable().json(
            json!({ "error": "stopping: finishing in-flight requests", "code": "draining" }),
        );
    }
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

/// Prometheus text format: everything for an admin or the scraper token (`metrics.token`);
/// for other callers only the series of models they can see, and for anonymous ones nothing
/// unless `metrics.anonymous` is set.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "text/plain"), (status = 401)))]
pub async fn metrics(
    core: web::Data<Core>,
    metrics: web::Data<Metrics>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let access = &metrics.access;
    let scraper = extract::bearer(&req)
        .ok()
        .flatten()
        .is_some_and(|t| access.is_scraper_token(&t));
    let who = if scraper {
        None
    } else {
        extract::resolve(req).await?
    };
    if !scraper && who.is_none() && !access.anonymous {
        return Err(ApiError::unauthenticated(
            "metrics need an admin's credentials or the scraper token",
        ));
    }
    let mut text = metrics.render();
    if !access.model_labels {
        text = without_models(&text, |_| false);
    } else if !scraper && !who.as_ref().is_some_and(|p| p.is_admin()) {
        let visible = core
            .visible_model_names(who.as_ref(), models_named(&text))
            .await?;
        text = without_models(&text, |m| visible.contains(m));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text))
}
