//! The Acumos onboarding API (`/onboarding-app/v2`) the Acumos Python, Java and R clients and
//! CI scripts push to: `POST /auth` (a session for a username and password), `POST /models`
//! (an Acumos model bundle) and `POST /advancedModel` (an ONNX file, onboarded and served
//! like any Caravan push). Answers and errors have Acumos's shapes; a client error is never a
//! 500, which the Python client would answer by pushing again with an older schema.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, http::header, web};
use caravan_core::{Core, Upload, acumos::BundleUpload};
use caravan_domain::{ModelName, Principal, Scope, records::Published};
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::AcumosError;
use crate::bundle::{BundleConfig, BundleSpec};
use crate::http::{
    connections::BodyIdleTimeout,
    upload::{self, Part},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth", web::post().to(auth))
        .route("/models", web::post().to(models))
        .route("/advancedModel", web::post().to(advanced_model));
}

#[derive(Deserialize)]
struct AuthRequest {
    request_body: Credentials,
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// A session token for a username and password, in the body and the `jwtToken` header (the
/// Java client reads the header, the Python and R clients the body).
async fn auth(
    core: web::Data<Core>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AcumosError> {
    let request: AuthRequest = serde_json::from_slice(&body).map_err(|_| {
        AcumosError::invalid(r#"send {"request_body": {"username": "...", "password": "..."}}"#)
    })?;
    let client = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let session = core
        .login(
            &request.request_body.username,
            &request.request_body.password,
            &client,
        )
        .await
        .map_err(|e| match e {
            caravan_core::CoreError::Unauthenticated(_) => AcumosError::new(
                actix_web::http::StatusCode::UNAUTHORIZED,
                "OBJECT_NOT_FOUND",
                "Either Username/Password is invalid.",
            ),
            other => AcumosError::from(other),
        })?;
    Ok(HttpResponse::Ok()
        .insert_header(("jwtToken", session.token.clone()))
        .json(json!({"status": "SUCCESS", "jwtToken": session.token})))
}

/// The caller, from `Authorization` as Acumos clients send it: `<username>:<API token>`, a
/// bare session or API token, or `Bearer <token>`.
async fn caller(core: &Core, req: &HttpRequest) -> Result<Principal, AcumosError> {
    let token_error = |m: &str| {
        AcumosError::new(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "INVALID_TOKEN",
            m,
        )
    };
    let raw = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| token_error("Authorization is missing: send <username>:<API token>"))?
        .to_str()
        .map_err(|_| token_error("malformed Authorization header"))?
        .trim();
    let (user, token) = match raw.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => (None, token.trim()),
        _ => match raw.split_once(':') {
            Some((user, token)) => (Some(user), token),
            None => (None, raw),
        },
    };
    if token.is_empty() {
        return Err(token_error("Authorization carries no token"));
    }
    let principal = core
        .authenticate(token)
        .await
        .map_err(|_| token_error("Unauthorized User: the token is not valid"))?;
    if user.is_some_and(|u| u != principal.username) {
        return Err(token_error(
            "Unauthorized User: the token belongs to another user",
        ));
    }
    caravan_core::require(&principal, Scope::Publish)?;
    Ok(principal)
}

/// `tracking_id` or `Request-ID` when the client sent one, else a new one.
fn tracking_id(req: &HttpRequest) -> String {
    ["tracking_id", "Request-ID"]
        .iter()
        .filter_map(|h| req.headers().get(*h)?.to_str().ok())
        .map(str::trim)
        .find(|v| !v.is_empty() && v.len() <= 100 && v.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn flag(req: &HttpRequest, name: &str, default: bool) -> bool {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().eq_ignore_ascii_case("true"))
        .unwrap_or(default)
}

/// Acumos's ServiceResponse for a version.
fn created(
    req: &HttpRequest,
    config: &BundleConfig,
    published: &Published,
    toolkit: Option<&str>,
) -> HttpResponse {
    let model = &published.model;
    let version = &published.version;
    let origin = crate::http::public_origin(req, &config.public_url);
    let spec = BundleSpec {
        model: model.name.to_string(),
        version: version.clone(),
        follow: None,
        instance: origin.clone(),
        config: config.clone(),
    };
    let target = if version.info.format.is_onnx() {
        "docker"
    } else {
        "acumos"
    };
    let mut body = json!({
        "status": "SUCCESS",
        "result": {
            "solutionId": model.id,
            "name": model.name.as_str(),
            "userId": model.owner_id,
            "active": true,
            "toolkitTypeCode": toolkit,
            "created": model.created_at.0,
            "modified": version.created_at.0,
            "revisionId": version.revision_id,
            "version": version.version.to_string(),
        },
        "taskId": version.version,
        "trackingId": tracking_id(req),
        "dockerImageUri": spec.image_reference(),
    });
    if flag(req, "isCreateMicroservice", true) || flag(req, "deploy", false) {
        body["deploymentBundle"] = Value::String(format!(
            "{origin}/api/v1/models/{}/versions/{}/deployment?target={target}",
            model.name, version.version
        ));
    }
    let status = if published.created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    HttpResponse::build(status).json(body)
}

/// `POST /models`: an Acumos model bundle (parts `model`, `metadata`, `schema`, optionally
/// `license`; the R client's `source` and `swagger` are read and not kept).
async fn models(
    core: web::Data<Core>,
    config: web::Data<BundleConfig>,
    req: HttpRequest,
    parts: Multipart,
    stall: web::Data<BodyIdleTimeout>,
) -> Result<HttpResponse, AcumosError> {
    let who = caller(&core, &req).await?;
    let expected = [
        ("model", Part::File(core.model_limit())),
        (
            "metadata",
            Part::Small(caravan_core::acumos::metadata::MAX_METADATA),
        ),
        (
            "schema",
            Part::Small(caravan_core::acumos::proto::MAX_PROTO),
        ),
        (
            "license",
            Part::Small(caravan_core::acumos::bundle::MAX_LICENSE),
        ),
        ("source", Part::Small(4 << 20)),
        ("swagger", Part::Small(1 << 20)),
    ];
    let hint = "'model', 'metadata', 'schema' and optionally 'license'";
    let mut received = upload::receive(&core.stager(), parts, &expected, hint, stall.0).await?;
    let missing = |part: &str, what: &str| {
        AcumosError::invalid(&format!("multipart part '{part}' ({what}) is missing"))
    };
    let model_zip = received
        .file("model")
        .ok_or_else(|| missing("model", "model.zip"))?;
    let metadata = received
        .small("metadata")
        .ok_or_else(|| missing("metadata", "metadata.json"))?;
    let proto = received
        .small("schema")
        .ok_or_else(|| missing("schema", "model.proto"))?;
    let upload = BundleUpload {
        model_zip,
        metadata,
        proto,
        license: received.small("license"),
    };
    let (published, meta) = core.onboard_bundle(&who, upload).await?;
    Ok(created(&req, &config, &published, meta.toolkit))
}

/// `POST /advancedModel`: an ONNX file (`model`), named by the `modelname` header or form
/// field, with an optional `protobuf` interface and `license`.
async fn advanced_model(
    core: web::Data<Core>,
    config: web::Data<BundleConfig>,
    req: HttpRequest,
    parts: Multipart,
    stall: web::Data<BodyIdleTimeout>,
) -> Result<HttpResponse, AcumosError> {
    let who = caller(&core, &req).await?;
    if req.headers().contains_key("dockerfileURL") {
        return Err(AcumosError::invalid(
            "Caravan onboards model files, not Docker images: send the .onnx file as 'model'",
        ));
    }
    let expected = [
        ("model", Part::File(core.model_limit())),
        ("modelname", Part::Small(256)),
        (
            "protobuf",
            Part::Small(caravan_core::acumos::proto::MAX_PROTO),
        ),
        (
            "license",
            Part::Small(caravan_core::acumos::bundle::MAX_LICENSE),
        ),
    ];
    let hint = "'model' and optionally 'modelname', 'protobuf' and 'license'";
    let mut received = upload::receive(&core.stager(), parts, &expected, hint, stall.0).await?;
    let header_name = req
        .headers()
        .get("modelname")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let field_name = received
        .small("modelname")
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let name = header_name
        .or(field_name)
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| AcumosError::invalid("name the model with the 'modelname' header"))?;
    let name = ModelName::parse(&name).map_err(|e| AcumosError::invalid(&e.0))?;
    if name.is_imported() {
        return Err(AcumosError::invalid(
            "':' is reserved for models imported from peers",
        ));
    }
    let staged = received.file("model").ok_or_else(|| {
        AcumosError::invalid("multipart part 'model' (the .onnx file) is missing")
    })?;
    let proto = match received.small("protobuf") {
        Some(bytes) => Some(
            String::from_utf8(bytes)
                .map_err(|_| AcumosError::invalid("the protobuf part is not UTF-8 text"))?,
        ),
        None => None,
    };
    let license = match received.small("license") {
        Some(bytes) => Some(
            caravan_core::acumos::bundle::license_name(&bytes)
                .map_err(|e| AcumosError::invalid(&e))?,
        ),
        None => None,
    };
    let upload = Upload {
        name,
        metadata: caravan_domain::records::ModelPatch {
            license: license.map(Some),
            ..Default::default()
        },
        staged,
        proto,
    };
    let published = core.onboard(&who, upload).await?;
    if flag(&req, "deploy", false) {
        let version = published.version.version.to_string();
        core.load_model(&who, published.model.name.as_str(), Some(&version))
            .await?;
    }
    Ok(created(&req, &config, &published, Some("OX")))
}
