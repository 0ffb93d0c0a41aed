//! MLflow compatibility: `/api/2.0/mlflow` (and `/ajax-api/2.0/mlflow`, which MLflow's UI uses)
//! over Caravan's own models, versions and aliases, so that `MlflowClient` scripts and
//! `models:/name@alias` lookups work against Caravan; the tracking calls and the artifact
//! proxy (`/api/2.0/mlflow-artifacts`) that `mlflow.<flavor>.log_model` makes, so a model logged
//! and registered from a training script becomes a Caravan version. Every Caravan version is a
//! `READY` MLflow model version (Caravan validated it on arrival).

mod args;
mod artifacts;
mod auth;
mod entities;
mod errors;
mod filter;
mod logged_models;
mod registry;
mod tags;
mod tracking;
mod versions;

use actix_web::{HttpResponse, ResponseError, http::StatusCode, web};

pub use errors::MlflowError;
pub use tracking::metric_value;

pub fn routes(cfg: &mut web::ServiceConfig) {
    for prefix in ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"] {
        cfg.service(
            web::scope(prefix)
                .configure(registry::routes)
                .configure(versions::routes)
                .configure(tracking::routes)
                .configure(logged_models::routes)
                .default_service(web::to(no_endpoint)),
        );
    }
    artifacts::routes(cfg);
}

/// What MLflow's server answers for an endpoint it does not have (the client falls back on
/// some, such as `get-latest-versions` by GET).
async fn no_endpoint() -> HttpResponse {
    MlflowError::new(
        StatusCode::NOT_FOUND,
        "ENDPOINT_NOT_FOUND",
        "Caravan implements MLflow's Model Registry, the tracking calls that log models, and the artifact proxy; not this endpoint",
    )
    .error_response()
}
