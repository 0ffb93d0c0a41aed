//! Datasets: `POST /api/v1/datasets/{name}/versions` (multipart part `file`, a CSV streamed to
//! a staging file while it is hashed, then read once for its schema), listing, schema,
//! preview and download. A new version starts the pipelines it triggers.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, http::header, web};
use caravan_core::{Core, CoreError, DatasetUpload};
use caravan_domain::Scope;
use caravan_pipelines::{Pipelines, dataset, formats};
use caravan_storage::{StageError, StagedBlob};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;

use crate::{dto, error::ApiError, extract::Authenticated};

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
    request_body(content_type = "multipart/form-data", description = "part `file`: the CSV; optional part `description`"),
    responses((status = 201, body = dto::DatasetVersion), (status = 400, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn upload(
    pipelines: web::Data<Pipelines>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
    mut parts: Multipart,
) -> Result<HttpResponse, ApiError> {
    caravan_core::check_dataset_name(&name)?;
    caravan_core::require(&who, Scope::Publish)?;
    let core = &pipelines.core;
    let mut staged: Option<StagedBlob> = None;
    let mut description: Option<String> = None;
    while let Some(mut field) = parts.try_next().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") if staged.is_none() => {
                let limit = pipelines.settings.max_dataset_bytes;
                staged = Some(core.blobs.stage(field, limit).await.map_err(|e| match e {
                    StageError::TooLarge { limit } => ApiError::from(CoreError::TooLarge(format!(
                        "the dataset is larger than the limit of {limit} bytes (pipelines.max_dataset_bytes)"
                    ))),
                    StageError::Body(m) => ApiError::bad_request(format!("the upload was cut short: {m}")),
                    StageError::Io(e) => CoreError::internal(e).into(),
                })?);
            }
            Some("description") if description.is_none() => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.next().await {
                    bytes.extend_from_slice(&chunk.map_err(multipart_error)?);
                    if bytes.len() > 4096 {
                        return Err(ApiError::bad_request(
                            "part 'description' is longer than 4096 bytes",
                        ));
                    }
                }
                description = Some(String::from_utf8_lossy(&bytes).trim().to_owned());
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unexpected multipart part {:?}; send 'file' and optionally 'description'",
                    other.unwrap_or("")
                )));
            }
        }
    }
    let staged = staged.ok_or_else(|| {
        ApiError::bad_request("multipart part 'file' (a CSV or Parquet file) is missing")
    })?;
    let path = staged.path().to_owned();
    let sniffed = web::block(move || formats::sniff(&path))
        .await
        .map_err(CoreError::internal)?
        .map_err(|e| match e {
            dataset::DatasetError::Invalid(why) => {
                ApiError::bad_request(format!("the file is not a usable dataset: {why}"))
            }
            dataset::DatasetError::Io(e) => CoreError::internal(e).into(),
        })?;
    let (format, schema) = sniffed;
    let upload = DatasetUpload {
        name: name.into_inner(),
        description,
        format: format.into(),
        schema,
        staged,
    };
    let (version, created) = core.add_dataset_version(&who, upload).await?;
    if created
        && let Err(e) = pipelines
            .dataset_added(&version.dataset, version.version)
            .await
    {
        tracing::error!(error = %e, "could not queue the runs a dataset version triggers");
    }
    let body = dto::DatasetVersion::from(version);
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

fn multipart_error(e: actix_multipart::MultipartError) -> ApiError {
    ApiError::bad_request(format!("malformed multipart body: {e}"))
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
    responses((status = 200, body = dto::DatasetDetails), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
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
    responses((status = 200, body = dto::DatasetVersion), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
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
    let record = pipelines
        .core
        .dataset_version(&who, &name, parse_version(&version)?)
        .await?;
    let rows = query.rows.unwrap_or(20).clamp(1, 500);
    let file = pipelines
        .core
        .blobs
        .download_to_staging(&record.sha256)
        .await
        .map_err(CoreError::from)?;
    let format = record.format.clone();
    let (columns, rows) = web::block(move || formats::preview(&file, &format, rows))
        .await
        .map_err(CoreError::internal)?
        .map_err(CoreError::internal)?;
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
