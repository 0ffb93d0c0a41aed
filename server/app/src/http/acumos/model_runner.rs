//! The Acumos model-runner REST surface over any ONNX version: `POST /model/methods/{method}`
//! with protobuf or JSON messages, `GET /model/artifacts/metadata|protobuf`, and an OpenAPI
//! document. The server mounts it per model under `/acumos/models/{name}[/versions/{v}]`, a
//! runner at its root. It calls the same `ModelService` as V2, so auth, batching, limits and
//! metrics are V2's.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use caravan_core::{
    InferenceRequest, ModelService, VersionMetadata,
    acumos::{Encoding, RunnerSchema, codec},
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::documents;
use crate::http::{
    error::{self, ApiError},
    extract::MaybeAuth,
    v2::disconnect,
};

/// The media type of protobuf messages (Acumos's; `application/x-protobuf` and
/// `application/protobuf` are read as the same).
pub const PROTOBUF: &str = "application/vnd.google.protobuf";

/// The model a runner serves, for routes whose path names none.
pub struct FixedModel(pub String);

/// What a path names; a runner's paths name only the method or artifact.
#[derive(Deserialize)]
pub struct Target {
    name: Option<String>,
    version: Option<String>,
    method: Option<String>,
    artifact: Option<String>,
}

/// The routes below `prefix` (`""` at a runner's root), each answering errors in JSON.
pub fn routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    let json_errors = || actix_web::middleware::from_fn(error::json_errors);
    cfg.service(
        web::resource(format!("{prefix}/model/methods/{{method}}"))
            .wrap(json_errors())
            .route(web::post().to(invoke)),
    )
    .service(
        web::resource(format!("{prefix}/model/artifacts/{{artifact}}"))
            .wrap(json_errors())
            .route(web::get().to(artifact)),
    )
    .service(
        web::resource(format!("{prefix}/openapi.json"))
            .wrap(json_errors())
            .route(web::get().to(openapi)),
    );
}

fn model_of(req: &HttpRequest, target: &Target) -> Result<String, ApiError> {
    target
        .name
        .clone()
        .or_else(|| req.app_data::<web::Data<FixedModel>>().map(|f| f.0.clone()))
        .ok_or_else(|| ApiError::not_found("no such route"))
}

type Cache = Mutex<HashMap<[u8; 32], Arc<RunnerSchema>>>;

/// Interfaces by what they are built from: compiling a .proto per request would cost more
/// than the inference.
fn schema(meta: &VersionMetadata) -> Result<Arc<RunnerSchema>, ApiError> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    const MAX_ENTRIES: usize = 256;
    // The artifact's digest fixes the signature; the name and the .proto fix the rest.
    let proto = meta.acumos.as_ref().map(|a| a.proto.as_str()).unwrap_or("");
    let key: [u8; 32] = Sha256::new()
        .chain_update(meta.name.as_bytes())
        .chain_update([0])
        .chain_update(meta.sha256.as_bytes())
        .chain_update([0])
        .chain_update(proto.as_bytes())
        .finalize()
        .into();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().expect("schema cache").get(&key) {
        return Ok(found.clone());
    }
    let built = RunnerSchema::of(&meta.name, &meta.signature, meta.acumos.as_ref())
        .map(Arc::new)
        .map_err(|e| {
            ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("this version has no usable model-runner interface: {e}"),
            )
        })?;
    let mut entries = cache.lock().expect("schema cache");
    if entries.len() >= MAX_ENTRIES {
        entries.clear();
    }
    entries.insert(key, built.clone());
    Ok(built)
}

fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn is_protobuf(media: &str) -> bool {
    matches!(
        media,
        PROTOBUF | "application/x-protobuf" | "application/protobuf" | "application/octet-stream"
    )
}

/// The request's encoding: protobuf media types, else JSON (also when there is no
/// `Content-Type`: Acumos refused that, callers do not care).
fn request_encoding(req: &HttpRequest) -> Result<Encoding, ApiError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(Encoding::Json);
    };
    let media = media_type(value.to_str().unwrap_or_default());
    match media.as_str() {
        m if is_protobuf(m) => Ok(Encoding::Protobuf),
        "application/json" | "text/json" | "" => Ok(Encoding::Json),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send application/json or {PROTOBUF}"),
        )),
    }
}

/// The answer's encoding from `Accept`: the first media type named that Caravan writes; none,
/// `*/*` or `application/*` get JSON.
fn answer_encoding(req: &HttpRequest) -> Result<Encoding, ApiError> {
    let Some(value) = req.headers().get(header::ACCEPT) else {
        return Ok(Encoding::Json);
    };
    let accept = value.to_str().unwrap_or_default();
    for media in accept.split(',').map(media_type) {
        match media.as_str() {
            m if is_protobuf(m) => return Ok(Encoding::Protobuf),
            "application/json" | "*/*" | "application/*" | "" => return Ok(Encoding::Json),
            _ => {}
        }
    }
    Err(ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "not_acceptable",
        format!("this method answers application/json or {PROTOBUF}"),
    ))
}

async fn invoke(
    models: web::Data<dyn ModelService>,
    MaybeAuth(who): MaybeAuth,
    req: HttpRequest,
    target: web::Path<Target>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let name = model_of(&req, &target)?;
    let (request_as, answer_as) = (request_encoding(&req)?, answer_encoding(&req)?);
    let meta = models
        .metadata(who.as_ref(), &name, target.version.as_deref())
        .await?;
    if let Some(reason) = meta.format.not_served_reason() {
        return Err(ApiError::new(StatusCode::CONFLICT, "conflict", reason));
    }
    let schema = schema(&meta)?;
    let wanted = target.method.as_deref().unwrap_or_default();
    let method = schema.method(wanted).ok_or_else(|| {
        let known: Vec<&str> = schema.methods.iter().map(|m| m.name.as_str()).collect();
        ApiError::not_found(format!(
            "this model has no method {wanted:?}; it has {}",
            known.join(", ")
        ))
    })?;
    let inputs = codec::decode(method, request_as, &body).map_err(ApiError::bad_request)?;
    // The number metadata resolved: the interface and the model answering are the same
    // version even if an alias moves meanwhile.
    let number = meta.version.to_string();
    let run = models.infer(
        who.as_ref(),
        &name,
        Some(&number),
        InferenceRequest {
            inputs,
            outputs: codec::output_names(method),
        },
    );
    let Some(inference) = disconnect::unless_disconnected(&req, run).await else {
        return Ok(HttpResponse::build(StatusCode::from_u16(499).expect("valid status")).finish());
    };
    let inference = inference?;
    let body = codec::encode(method, answer_as, &inference.outputs)
        .map_err(|e| ApiError::from(caravan_core::CoreError::internal(e)))?;
    let media = match answer_as {
        Encoding::Json => "application/json",
        Encoding::Protobuf => PROTOBUF,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media))
        .insert_header(("Model-Version", number))
        .body(body))
}

/// The version a path names, as the caller may see it.
async fn described(
    models: &web::Data<dyn ModelService>,
    who: Option<&caravan_domain::Principal>,
    req: &HttpRequest,
    target: &Target,
) -> Result<VersionMetadata, ApiError> {
    let name = model_of(req, target)?;
    Ok(models
        .metadata(who, &name, target.version.as_deref())
        .await?)
}

async fn artifact(
    models: web::Data<dyn ModelService>,
    MaybeAuth(who): MaybeAuth,
    req: HttpRequest,
    target: web::Path<Target>,
) -> Result<HttpResponse, ApiError> {
    let meta = described(&models, who.as_ref(), &req, &target).await?;
    // A bundle's interface is its own, as pushed; an ONNX version's is bound to its tensors.
    let interface = match (&meta.acumos, meta.format.is_onnx()) {
        (Some(bundle), false) => bundle.clone(),
        _ => schema(&meta)?.interface(),
    };
    match target.artifact.as_deref() {
        Some("protobuf") => Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(interface.proto)),
        Some("metadata") => {
            Ok(HttpResponse::Ok().json(documents::metadata(&meta, &interface.methods)))
        }
        _ => Err(ApiError::not_found(
            "the artifacts are 'metadata' and 'protobuf'",
        )),
    }
}

async fn openapi(
    models: web::Data<dyn ModelService>,
    MaybeAuth(who): MaybeAuth,
    req: HttpRequest,
    target: web::Path<Target>,
) -> Result<HttpResponse, ApiError> {
    let meta = described(&models, who.as_ref(), &req, &target).await?;
    let prefix = req
        .path()
        .strip_suffix("/openapi.json")
        .unwrap_or_default()
        .to_owned();
    let interface = schema(&meta)?;
    Ok(HttpResponse::Ok().json(documents::openapi(&meta, &interface, &prefix)))
}
