//! MLflow compatibility, the Model Registry tier: `/api/2.0/mlflow` (and `/ajax-api/2.0/mlflow`,
//! which MLflow's UI uses) over Caravan's own models, versions and aliases, so that
//! `MlflowClient` scripts and `models:/name@alias` lookups work against Caravan. Every Caravan
//! version is a `READY` MLflow model version (Caravan validated it on arrival).

mod args;
mod auth;
mod entities;
mod errors;
mod filter;
mod registry;
mod tags;
mod versions;

use actix_web::{HttpResponse, ResponseError, http::StatusCode, web};

pub use errors::MlflowError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    for prefix in ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"] {
        cfg.service(
            web::scope(prefix)
                .configure(registry::routes)
                .configure(versions::routes)
                .default_service(web::to(no_endpoint)),
        );
    }
}

/// What MLflow's server answers for an endpoint it does not have (the client falls back on
/// some, such as `get-latest-versions` by GET).
async fn no_endpoint() -> HttpResponse {
    MlflowError::new(
        StatusCode::NOT_FOUND,
        "ENDPOINT_NOT_FOUND",
        "Caravan implements MLflow's Model Registry: registered-models and model-versions",
    )
    .error_response()
}
