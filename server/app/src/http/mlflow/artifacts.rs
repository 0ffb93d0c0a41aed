//! MLflow's artifact proxy, `/api/2.0/mlflow-artifacts`: the client uploads a logged model's
//! files here (`mlflow-artifacts:/` URIs resolve to it), downloads and lists them. Files live
//! in Caravan's object store; each path belongs to the run or logged model it names.

use actix_web::{HttpRequest, HttpResponse, web};
use caravan_core::Core;
use serde_json::{Value, json};

use super::{MlflowError, args::Args, auth::signed_in};

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
