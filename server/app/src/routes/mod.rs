//! HTTP routes. Handlers extract, call one `caravan_core` use case and map the result to a DTO.

mod admin;
mod auth;
mod datasets;
mod download;
pub mod federation;
mod hooks;
mod models;
pub mod openapi;
mod ops;
mod peers;
mod pipelines;
mod push;
mod social;
mod versions;

use actix_web::web;

/// The `/api/v1` REST API.
pub fn api(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .configure(auth::routes)
            .configure(admin::routes)
            .configure(models::routes)
            .configure(peers::routes)
            .configure(datasets::routes)
            .configure(pipelines::routes)
            .configure(hooks::routes)
            .configure(push::routes)
            .configure(social::routes)
            .configure(versions::routes)
            .route("/openapi.json", web::get().to(openapi::serve)),
    );
}

/// Health, readiness and metrics.
pub fn ops(cfg: &mut web::ServiceConfig) {
    ops::routes(cfg);
}

/// Parses a model name from a path segment (400 with the rule it broke).
fn model_name(raw: &str) -> Result<caravan_domain::ModelName, crate::error::ApiError> {
    Ok(caravan_domain::ModelName::parse_any(raw)?)
}
