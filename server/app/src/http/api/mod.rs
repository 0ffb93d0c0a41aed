//! HTTP routes. Handlers extract, call one `caravan_core` use case and map the result to a DTO.

mod admin;
mod auth;
mod datasets;
mod deployment;
mod docs;
mod hooks;
mod models;
pub mod openapi;
mod openapi_fixups;
mod peers;
mod pipelines;
mod properties;
mod push;
mod social;
mod uploads;
mod versions;

use actix_web::{middleware::from_fn, web};

use crate::http::error;

/// The `/api/v1` REST API, with its own extractor configuration and JSON error renderer.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(docs::routes);
    cfg.service(
        web::scope("/api/v1")
            .app_data(error::json_config())
            .app_data(error::query_config())
            .app_data(error::path_config())
            .wrap(from_fn(error::json_errors))
            .configure(auth::routes)
            .configure(admin::routes)
            .configure(models::routes)
            .configure(peers::routes)
            .configure(datasets::routes)
            .configure(pipelines::routes)
            .configure(hooks::routes)
            .configure(push::routes)
            .configure(properties::routes)
            .configure(uploads::routes)
            .configure(social::routes)
            .configure(versions::routes)
            .configure(deployment::routes)
            .route("/openapi.json", web::get().to(openapi::serve))
            .default_service(web::to(error::no_route)),
    );
}

/// Parses a model name from a path segment (400 with the rule it broke).
fn model_name(raw: &str) -> Result<caravan_domain::ModelName, crate::http::error::ApiError> {
    Ok(caravan_domain::ModelName::parse_any(raw)?)
}
