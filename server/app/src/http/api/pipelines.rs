//! Pipelines and their runs: `POST /api/v1/pipelines` (a JSON spec), runs started by hand,
//! listed, inspected, cancelled, with each step's log; and the lineage of produced versions.

use actix_web::{HttpRequest, HttpResponse, web};

use caravan_domain::VersionRef;
use caravan_pipelines::Pipelines;
use uuid::Uuid;

use super::model_name;
use crate::http::{dto, error::ApiError, extract::Authenticated};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/pipelines", web::get().to(list))
        .route("/pipelines", web::post().to(create))
        .route("/pipelines/{name}", web::get().to(get))
        .route("/pipelines/{name}", web::delete().to(delete))
        .route("/pipelines/{name}/runs", web::get().to(runs))
        .route("/pipelines/{name}/runs", web::post().to(start))
        .route("/pipelines/{name}/runs/{id}", web::get().to(run))
        .route("/pipelines/{name}/runs/{id}/cancel", web::post().to(cancel))
        .route(
            "/pipelines/{name}/runs/{id}/logs/{step}",
            web::get().to(log),
        )
        .route("/pipelines/{name}/runs/{id}/report", web::post().to(report))
        .route("/pipelines/{name}/webhook", web::post().to(webhook))
        .route(
            "/pipelines/{name}/webhook-secret",
            web::post().to(rotate_secret),
        )
        .route(
            "/models/{name}/versions/{version}/lineage",
            web::get().to(lineage),
        );
}

fn run_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("no such run"))
}

/// The body of a spec: YAML when the request says so (`application/yaml`, `text/yaml`), JSON
/// otherwise.
fn spec_body(req: &HttpRequest, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.contains("yaml") {
        serde_norway::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the spec is not valid YAML: {e}")))
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the spec is not valid JSON: {e}")))
    }
}

/// Define a pipeline (a JSON or YAML spec; see the README). Command trainers need an admin.
#[utoipa::path(post, path = "/api/v1/pipelines", tag = "pipelines", request_body = Object,
    responses((status = 201, body = dto::Pipeline), (status = 400, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 409, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let spec = spec_body(&req, &body)?;
    let pipeline = pipelines.create_pipeline(&who, spec).await?;
    Ok(HttpResponse::Created().json(dto::Pipeline::from(pipeline)))
}

#[utoipa::path(get, path = "/api/v1/pipelines", tag = "pipelines",
    responses((status = 200, body = dto::Page<dto::Pipeline>)), security(("bearer" = [])))]
pub async fn list(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
) -> Result<web::Json<dto::Page<dto::Pipeline>>, ApiError> {
    Ok(dto::Page::all(pipelines.pipelines(&who).await?))
}

#[utoipa::path(get, path = "/api/v1/pipelines/{name}", tag = "pipelines",
    responses((status = 200, body = dto::Pipeline), (status = 404, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
) -> Result<web::Json<dto::Pipeline>, ApiError> {
    Ok(web::Json(pipelines.pipeline(&who, &name).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/pipelines/{name}", tag = "pipelines",
    responses((status = 204)), security(("bearer" = [])))]
pub async fn delete(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    pipelines.delete_pipeline(&who, &name).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Start a run now (scope `deploy`: a run may move an alias).
#[utoipa::path(post, path = "/api/v1/pipelines/{name}/runs", tag = "pipelines",
    responses((status = 202, body = dto::Run)), security(("bearer" = [])))]
pub async fn start(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let run = pipelines.start_run(&who, &name).await?;
    Ok(HttpResponse::Accepted().json(dto::Run::from(run)))
}

/// The pipeline's runs, newest first.
#[utoipa::path(get, path = "/api/v1/pipelines/{name}/runs", tag = "pipelines",
    responses((status = 200, body = dto::Page<dto::Run>)), security(("bearer" = [])))]
pub async fn runs(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
) -> Result<web::Json<dto::Page<dto::Run>>, ApiError> {
    Ok(dto::Page::all(pipelines.runs(&who, &name).await?))
}

#[utoipa::path(get, path = "/api/v1/pipelines/{name}/runs/{id}", tag = "pipelines",
    responses((status = 200, body = dto::Run), (status = 404, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn run(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<web::Json<dto::Run>, ApiError> {
    let (name, id) = path.into_inner();
    Ok(web::Json(
        pipelines.run(&who, &name, run_id(&id)?).await?.into(),
    ))
}

/// Cancel a queued run, or stop a running one (its trainer is killed).
#[utoipa::path(post, path = "/api/v1/pipelines/{name}/runs/{id}/cancel", tag = "pipelines",
    responses((status = 200, body = dto::Run)), security(("bearer" = [])))]
pub async fn cancel(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<web::Json<dto::Run>, ApiError> {
    let (name, id) = path.into_inner();
    Ok(web::Json(
        pipelines
            .cancel_run(&who, &name, run_id(&id)?)
            .await?
            .into(),
    ))
}

/// A step's log (the trainer's standard output and error).
#[utoipa::path(get, path = "/api/v1/pipelines/{name}/runs/{id}/logs/{step}", tag = "pipelines",
    responses((status = 200, content_type = "text/plain")), security(("bearer" = [])))]
pub async fn log(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, id, step) = path.into_inner();
    if !matches!(step.as_str(), "train") {
        return Err(ApiError::not_found("only the train step writes a log"));
    }
    let text = pipelines.step_log(&who, &name, run_id(&id)?, &step).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(text))
}

/// Where a version came from: its pipeline run, training dataset version, the version it was
/// compared with, and the metrics of both; or the MLflow run it was registered from, with the
/// run's params and metrics.
#[utoipa::path(get, path = "/api/v1/models/{name}/versions/{version}/lineage", tag = "versions",
    responses((status = 200, body = dto::Lineage), (status = 404, body = crate::http::error::ErrorBody)))]
pub async fn lineage(
    pipelines: web::Data<Pipelines>,
    core: web::Data<caravan_core::Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<web::Json<dto::Lineage>, ApiError> {
    let (name, version) = path.into_inner();
    let (name, version) = (model_name(&name)?, VersionRef::parse(&version)?);
    let (_, record) = core.version(Some(&who), &name, &version).await?;
    let mlflow = core
        .mlflow_lineage(Some(&who), &name, record.version)
        .await?;
    if let Some(lineage) = mlflow.and_then(dto::Lineage::of_mlflow) {
        return Ok(web::Json(lineage));
    }
    let (_, lineage) = pipelines.lineage(&who, &name, &version).await?;
    Ok(web::Json(lineage.into()))
}

/// Start a run from another system: no bearer token, but `X-Caravan-Timestamp` (Unix seconds,
/// within 5 minutes) and `X-Caravan-Signature: sha256=<hex HMAC-SHA256(secret,
/// "<timestamp>.<body>")>` with a secret from `webhook-secret`. A replayed call is refused.
#[utoipa::path(post, path = "/api/v1/pipelines/{name}/webhook", tag = "pipelines",
    responses((status = 202, body = dto::Run), (status = 401, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody, description = "a replayed call")))]
pub async fn webhook(
    pipelines: web::Data<Pipelines>,
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let run = pipelines
        .incoming_webhook(
            &name,
            header("x-caravan-timestamp"),
            header("x-caravan-signature"),
            &body,
        )
        .await?;
    Ok(HttpResponse::Accepted().json(dto::Run::from(run)))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct WebhookSecret {
    /// Shown once. The previous secret stays valid until the next rotation.
    pub secret: String,
}

/// Make a new secret for the pipeline's incoming webhook (owner or admin).
#[utoipa::path(post, path = "/api/v1/pipelines/{name}/webhook-secret", tag = "pipelines",
    responses((status = 201, body = WebhookSecret)), security(("bearer" = [])))]
pub async fn rotate_secret(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let secret = pipelines.rotate_webhook_secret(&who, &name).await?;
    Ok(HttpResponse::Created().json(WebhookSecret { secret }))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunReportBody {
    /// succeeded or failed.
    pub status: String,
    /// The version the orchestrator onboarded (when it succeeded).
    pub version: Option<i64>,
    pub error: Option<String>,
}

/// An external trainer reports its result for a run (the pipeline's owner or an admin).
#[utoipa::path(post, path = "/api/v1/pipelines/{name}/runs/{id}/report", tag = "pipelines",
    request_body = RunReportBody, responses((status = 202), (status = 409, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn report(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<RunReportBody>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let body = body.into_inner();
    let succeeded = match body.status.as_str() {
        "succeeded" => true,
        "failed" => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "status {other:?}: succeeded or failed"
            )));
        }
    };
    pipelines
        .report_run(
            &who,
            &name,
            run_id(&id)?,
            succeeded,
            body.version,
            body.error,
        )
        .await?;
    Ok(HttpResponse::Accepted().finish())
}
