//! Triton's model repository extension: index, load and unload. Models arrive only through
//! onboarding, so a load that carries a configuration or files is refused.

use actix_web::{HttpRequest, HttpResponse, web};
use caravan_core::ModelService;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::http::{
    error::ApiError,
    extract::{Authenticated, MaybeAuth},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/repository/index", web::post().to(index))
        .route("/repository/models/{m}/load", web::post().to(load))
        .route("/repository/models/{m}/unload", web::post().to(unload));
}

#[derive(Deserialize, Default)]
struct IndexRequest {
    #[serde(default)]
    ready: bool,
}

#[derive(Deserialize, Default)]
struct ControlRequest {
    #[serde(default)]
    parameters: Map<String, Value>,
}

/// Parses an optional JSON body (clients send none, `{}` or parameters).
fn body<T: for<'de> Deserialize<'de> + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

async fn index(
    models: web::Data<dyn ModelService>,
    MaybeAuth(who): MaybeAuth,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: IndexRequest = body(&bytes)?;
    let entries = models.index(who.as_ref(), request.ready).await?;
    let rows: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let state = if e.loaded { "LOADED" } else { "UNLOADED" };
            json!({ "name": e.name, "version": e.version.to_string(), "state": state, "reason": "" })
        })
        .collect();
    Ok(HttpResponse::Ok().json(rows))
}

/// The version a control request names (`parameters.version`, a Caravan extension), after
/// refusing overrides: Caravan serves only what was onboarded and validated.
fn version_parameter(parameters: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    if let Some(key) = parameters
        .keys()
        .find(|k| *k == "config" || k.starts_with("file:"))
    {
        return Err(ApiError::bad_request(format!(
            "parameter {key:?} is not accepted: models arrive only through onboarding \
             (POST /api/v1/models/{{name}}/versions), which validates them"
        )));
    }
    Ok(match parameters.get("version") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "parameter \"version\" must be a number or an alias",
            ));
        }
    })
}

async fn load(
    models: web::Data<dyn ModelService>,
    Authenticated(who): Authenticated,
    req: HttpRequest,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let name = req.match_info().get("m").unwrap_or_default().to_owned();
    let request: ControlRequest = body(&bytes)?;
    let version = version_parameter(&request.parameters)?;
    let loaded = models.load(&who, &name, version.as_deref()).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "name": name, "version": loaded.to_string(), "state": "LOADED" })))
}

async fn unload(
    models: web::Data<dyn ModelService>,
    Authenticated(who): Authenticated,
    req: HttpRequest,
    bytes: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let name = req.match_info().get("m").unwrap_or_default().to_owned();
    let request: ControlRequest = body(&bytes)?;
    let version = version_parameter(&request.parameters)?;
    let unloaded = models.unload(&who, &name, version.as_deref()).await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "name": name, "version": unloaded.to_string(), "state": "UNLOADED" })))
}
