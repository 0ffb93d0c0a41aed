//! Datasets: `POST /api/v1/datasets/{name}/versions` (multipart part `file`, a CSV streamed to
//! a staging file while it is hashed, then read once for its schema), listing, schema,
//! preview and download. A new version starts the pipelines it triggers.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, http::header, web};
use caravan_core::Core;
use caravan_domain::Scope;
use caravan_pipelines::Pipelines;
use serde::Deserialize;

use crate::http::{
    dto,
    error::ApiError,
    extract::Authenticated,
    upload::{self, Part},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/datasets", web::get().to(list))
        .route("/datasets/{name}", web::get().to(get))
        .route("/datasets/{name}/versions", web::post().to(upload))
        .route(
            "/datasets/{name}/versions/{version}",
            web::get().to(version),
        )
        .route(
            "/datasets/{name}/versions/{version}/preview",
            web::get().to(preview),
        )
        .route(
            "/datasets/{name}/versions/{version}/content",
            web::get().to(content),
        );
}

fn parse_version(raw: &str) -> Result<Option<i64>, ApiError> {
    match raw {
        "latest" => Ok(None),
        v => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{v:?} is not a version number or latest"))),
    }
}

/// Upload a dataset version (CSV). Identical bytes answer 200 with the existing version.
#[utoipa::path(post, path = "/api/v1/datasets/{name}/versions", tag = "datasets",
    request_body(content = crate::http::dto::DatasetForm, content_type = "multipart/form-data", description = "part `file`: the CSV; optional part `description`"),
    responses((status = 201, body = dto::DatasetVersion), (status = 400, body = crate::http::error::ErrorBody),
        (status = 413, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn upload(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
    parts: Multipart,
    stall: web::Data<crate::http::connections::BodyIdleTimeout>,
) -> Result<HttpResponse, ApiError> {
    caravan_core::check_dataset_name(&name)?;
    caravan_core::require(&who, Scope::Publish)?;
    let expected = [
        ("file", Part::File(pipelines.dataset_limit())),
        ("description", Part::Small(4096)),
    ];
    let hint = "'file' and optionally 'description'";
    let mut received =
        upload::receive(&pipelines.core.stager(), parts, &expected, hint, stall.0).await?;
    let staged = received.file("file").ok_or_else(|| {
        ApiError::bad_request("multipart part 'file' (a CSV or Parquet file) is missing")
    })?;
    let description = received
        .small("description")
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned());
    let (version, created) = pipelines
        .upload_dataset(&who, &name, description, staged)
        .await?;
    let body = dto::DatasetVersion::from(version);
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// All datasets.
#[utoipa::path(get, path = "/api/v1/datasets", tag = "datasets",
    responses((status = 200, body = dto::Page<dto::Dataset>)), security(("bearer" = [])))]
pub async fn list(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
) -> Result<web::Json<dto::Page<dto::Dataset>>, ApiError> {
    Ok(dto::Page::all(core.datasets(&who).await?))
}

/// A dataset with its versions.
#[utoipa::path(get, path = "/api/v1/datasets/{name}", tag = "datasets",
    responses((status = 200, body = dto::DatasetDetails), (status = 404, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn get(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
) -> Result<web::Json<dto::DatasetDetails>, ApiError> {
    let (dataset, versions) = core.dataset(&who, &name).await?;
    Ok(web::Json(dto::DatasetDetails {
        dataset: dataset.into(),
        versions: versions.into_iter().map(Into::into).collect(),
    }))
}

/// A dataset version (a number or `latest`) with its schema.
#[utoipa::path(get, path = "/api/v1/datasets/{name}/versions/{version}", tag = "datasets",
    responses((status = 200, body = dto::DatasetVersion), (status = 404, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn version(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<web::Json<dto::DatasetVersion>, ApiError> {
    let (name, version) = path.into_inner();
    Ok(web::Json(
        core.dataset_version(&who, &name, parse_version(&version)?)
            .await?
            .into(),
    ))
}

#[derive(Deserialize)]
pub struct PreviewQuery {
    rows: Option<usize>,
}

/// The first rows of a dataset version (default 20, at most 500).
#[utoipa::path(get, path = "/api/v1/datasets/{name}/versions/{version}/preview", tag = "datasets",
    responses((status = 200, body = dto::Preview)), security(("bearer" = [])))]
pub async fn preview(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
    query: web::Query<PreviewQuery>,
) -> Result<web::Json<dto::Preview>, ApiError> {
    let (name, version) = path.into_inner();
    let rows = query.rows.unwrap_or(20).clamp(1, 500);
    let (columns, rows) = pipelines
        .preview_dataset(&who, &name, parse_version(&version)?, rows)
        .await?;
    Ok(web::Json(dto::Preview { columns, rows }))
}

/// Download a dataset version's file.
#[utoipa::path(get, path = "/api/v1/datasets/{name}/versions/{version}/content", tag = "datasets",
    responses((status = 200, content_type = "text/csv")), security(("bearer" = [])))]
pub async fn content(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    let record = core
        .dataset_version(&who, &name, parse_version(&version)?)
        .await?;
    let read = core.open_dataset(&record).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            match record.format.as_str() {
                "parquet" => "application/vnd.apache.parquet",
                _ => "text/csv; charset=utf-8",
            },
        ))
        .insert_header((header::CONTENT_LENGTH, record.size.to_string()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"{}-v{}.{}\"",
                record.dataset, record.version, record.format
            ),
        ))
        .streaming(read.stream))
}
