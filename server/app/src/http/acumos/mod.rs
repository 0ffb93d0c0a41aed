//! Acumos compatibility: the onboarding API Acumos clients push to (`/onboarding-app/v2`),
//! and the model-runner surface over served versions (`/acumos/models/{name}[/versions/{v}]`).

mod documents;
mod errors;
pub mod model_runner;
mod onboarding;

use actix_web::{HttpResponse, ResponseError, web};

use crate::http::error;

/// The server's Acumos routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/onboarding-app/v2")
            .configure(onboarding::routes)
            .default_service(web::to(no_onboarding_route)),
    )
    .service(
        web::scope("/acumos/models/{name}")
            .app_data(error::path_config())
            .configure(|c| model_runner::routes(c, ""))
            .configure(|c| model_runner::routes(c, "/versions/{version}"))
            .default_service(web::to(error::no_route)),
    );
}

async fn no_onboarding_route() -> HttpResponse {
    errors::AcumosError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "OBJECT_NOT_FOUND",
        "the onboarding API has POST /auth, /models and /advancedModel",
    )
    .error_response()
}

/// A runner's Acumos routes: the model-runner surface at its root, over its one model.
pub fn runner_routes(cfg: &mut web::ServiceConfig) {
    model_runner::routes(cfg, "");
}
