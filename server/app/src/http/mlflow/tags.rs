//! `set-tag` and `delete-tag` of registered models and model versions: Caravan's key/value
//! properties of the model or of one version.

use actix_web::{HttpRequest, HttpResponse, web};
use caravan_core::Core;
use serde_json::json;

use super::{MlflowError, args::Args, auth::signed_in, registry::existing_name};

type Reply = Result<HttpResponse, MlflowError>;

pub async fn set_model_tag(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    set(&core, &req, &body, false).await
}

pub async fn set_version_tag(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    set(&core, &req, &body, true).await
}

pub async fn delete_model_tag(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    delete(&core, &req, &body, false).await
}

pub async fn delete_version_tag(
    core: web::Data<Core>,
    req: HttpRequest,
    body: web::Bytes,
) -> Reply {
    delete(&core, &req, &body, true).await
}

/// The version the arguments name, for a version's tag.
fn version(args: &Args, of_version: bool) -> Result<Option<i64>, MlflowError> {
    of_version.then(|| args.version()).transpose()
}

async fn set(core: &Core, req: &HttpRequest, body: &web::Bytes, of_version: bool) -> Reply {
    let who = signed_in(core, req).await?;
    let args = Args::of(req, body)?;
    let name = existing_name(args.str("name")?)?;
    let value = args.opt_str("value")?.unwrap_or_default();
    core.set_property(
        &who,
        &name,
        version(&args, of_version)?,
        args.str("key")?,
        value,
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn delete(core: &Core, req: &HttpRequest, body: &web::Bytes, of_version: bool) -> Reply {
    let who = signed_in(core, req).await?;
    let args = Args::of(req, body)?;
    let name = existing_name(args.str("name")?)?;
    core.delete_property(&who, &name, version(&args, of_version)?, args.str("key")?)
        .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}
