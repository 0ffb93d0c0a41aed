//! MLflow's artifact proxy, `/api/2.0/mlflow-artifacts`: the client uploads a logged model's
//! files here (`mlflow-artifacts:/` URIs resolve to it), whole or in parts (`mpu/*`), downloads
//! and lists them. Files live
//! in Caravan's object store; each path belongs to the run or logged model it names.

use actix_web::{HttpRequest, HttpResponse, web};
use caravan_core::Core;
use serde_json::{Value, json};

use super::{MlflowError, args::Args, auth::signed_in, entities::origin};

pub fn routes(cfg: &mut web::ServiceConfig) {
    for prefix in [
        "/api/2.0/mlflow-artifacts",
        "/ajax-api/2.0/mlflow-artifacts",
    ] {
        cfg.service(
            web::scope(prefix)
                .route("/artifacts", web::get().to(list))
                .route("/artifacts/{path:.*}", web::get().to(download))
                .route("/artifacts/{path:.*}", web::put().to(upload))
                .route("/mpu/create/{path:.*}", web::post().to(create_multipart))
                .route("/mpu/parts/{id}/{n}", web::put().to(upload_part))
                .route(
                    "/mpu/complete/{path:.*}",
                    web::post().to(complete_multipart),
                )
                .route("/mpu/abort/{path:.*}", web::post().to(abort_multipart))
                .default_service(web::to(super::no_endpoint)),
        );
    }
}

type Reply = Result<HttpResponse, MlflowError>;

async fn upload(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
) -> Reply {
    let who = signed_in(&core, &req).await?;
    // Who may write there is known before a byte of the body is read.
    core.may_put_artifact(&who, &path).await?;
    let staged = core.stage(body, core.model_limit()).await?;
    core.put_artifact(&who, &path, &staged).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn download(core: web::Data<Core>, req: HttpRequest, path: web::Path<String>) -> Reply {
    let who = signed_in(&core, &req).await?;
    let read = core.artifact(&who, &path).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .no_chunking(read.size)
        .streaming(read.stream))
}

async fn list(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let path = args.opt_str("path")?.unwrap_or("");
    let files: Vec<Value> = core
        .list_artifacts(&who, path)
        .await?
        .into_iter()
        .map(|e| {
            let mut file = json!({"path": e.name, "is_dir": e.is_dir});
            if let Some(size) = e.size {
                file["file_size"] = size.into();
            }
            file
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"files": files})))
}

/// `mpu/create/<dir>` with `{"path": <the client's local file>, "num_parts"}`: the file keeps
/// its base name. Each part goes to a URL of this server that carries the upload's id.
async fn create_multipart(
    core: web::Data<Core>,
    req: HttpRequest,
    dir: web::Path<String>,
    body: web::Bytes,
) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let parts = args.opt_int("num_parts")?.unwrap_or(1);
    let id = core
        .create_artifact_upload(&who, &dir, args.str("path")?, parts)
        .await?;
    let base = format!("{}/api/2.0/mlflow-artifacts/mpu/parts/{id}", origin(&req));
    let credentials: Vec<Value> = (1..=parts)
        .map(|n| json!({"part_number": n, "url": format!("{base}/{n}"), "headers": {}}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"upload_id": id, "credentials": credentials})))
}

/// A part, PUT as to a presigned URL: no credentials but the upload id in the URL. Answers
/// the part's SHA-256 as its ETag, which `complete` must name.
async fn upload_part(
    core: web::Data<Core>,
    path: web::Path<(String, String)>,
    body: web::Payload,
) -> Reply {
    let (id, n) = path.into_inner();
    let n: i64 = n
        .parse()
        .map_err(|_| MlflowError::invalid("a part number is an integer from 1"))?;
    let sha = core.put_artifact_part(&id, n, body).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::ETAG, format!("\"{sha}\"")))
        .json(json!({})))
}

async fn complete_multipart(
    core: web::Data<Core>,
    req: HttpRequest,
    dir: web::Path<String>,
    body: web::Bytes,
) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let bad = || MlflowError::invalid("parts must be a list of {\"part_number\", \"etag\"}");
    let parts = args
        .list("parts")?
        .iter()
        .map(|p| {
            let n = p["part_number"].as_i64().ok_or_else(bad)?;
            Ok((n, p["etag"].as_str().ok_or_else(bad)?.to_owned()))
        })
        .collect::<Result<Vec<_>, MlflowError>>()?;
    core.complete_artifact_upload(&who, &dir, args.str("upload_id")?, parts)
        .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn abort_multipart(
    core: web::Data<Core>,
    req: HttpRequest,
    dir: web::Path<String>,
    body: web::Bytes,
) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    core.abort_artifact_upload(&who, &dir, args.str("upload_id")?)
        .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}
