//! The Open Inference Protocol V2 in the OpenAPI document, in the protocol's own shapes. The
//! model routes are dispatched in code (see `parse_target`), not by route patterns, so they
//! are described here from one table instead of from handler annotations (their path
//! parameters are declared by `openapi_fixups`, as everywhere).

use serde_json::Value;
use utoipa::{
    Modify, PartialSchema, ToSchema,
    openapi::{
        OpenApi, RefOr,
        content::ContentBuilder,
        path::{HttpMethod, OperationBuilder},
        request_body::RequestBodyBuilder,
        response::ResponseBuilder,
        schema::{ObjectBuilder, Schema, Type},
        security::SecurityRequirement,
    },
};

/// `GET /v2`.
#[derive(ToSchema)]
pub struct MetadataServerResponse {
    pub name: String,
    pub version: String,
    pub extensions: Vec<String>,
}

/// `GET /v2/health/live`.
#[derive(ToSchema)]
pub struct LiveResponse {
    pub live: bool,
}

/// `GET /v2/health/ready`.
#[derive(ToSchema)]
pub struct ReadyResponse {
    pub ready: bool,
}

/// A tensor a model takes or gives.
#[derive(ToSchema)]
pub struct MetadataTensor {
    pub name: String,
    /// `BOOL`, `UINT8` ... `FP64`, `BF16`, `BYTES`.
    pub datatype: String,
    /// `-1` for a dimension of any size.
    pub shape: Vec<i64>,
}

/// `GET /v2/models/{model_name}[/versions/{model_version}]`.
#[derive(ToSchema)]
pub struct MetadataModelResponse {
    pub name: String,
    pub versions: Vec<String>,
    pub platform: String,
    pub inputs: Vec<MetadataTensor>,
    pub outputs: Vec<MetadataTensor>,
}

/// `GET .../ready`.
#[derive(ToSchema)]
pub struct ModelReadyResponse {
    pub name: String,
    pub ready: bool,
}

/// A tensor of a request or a response: `data` flat or nested in row-major order, or, with
/// the binary tensor data extension, `parameters.binary_data_size` bytes after the JSON.
#[derive(ToSchema)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<i64>,
    pub datatype: String,
    pub parameters: Option<Value>,
    pub data: Option<Value>,
}

/// An output to return (all when none are named); `parameters.binary_data` asks for it binary.
#[derive(ToSchema)]
pub struct RequestOutput {
    pub name: String,
    pub parameters: Option<Value>,
}

/// `POST .../infer` (`application/json`, or with `Inference-Header-Content-Length` the binary
/// tensor data extension).
#[derive(ToSchema)]
pub struct InferenceRequest {
    pub id: Option<String>,
    pub parameters: Option<Value>,
    pub inputs: Vec<Tensor>,
    pub outputs: Option<Vec<RequestOutput>>,
}

#[derive(ToSchema)]
pub struct InferenceResponse {
    pub model_name: String,
    pub model_version: String,
    pub id: Option<String>,
    pub parameters: Option<Value>,
    pub outputs: Vec<Tensor>,
}

/// The protocol's error.
#[derive(ToSchema)]
pub struct InferenceError {
    pub error: String,
}

/// `POST /v2/repository/index`.
#[derive(ToSchema)]
pub struct RepositoryIndexRequest {
    /// Only loaded versions.
    pub ready: Option<bool>,
}

#[derive(ToSchema)]
pub struct RepositoryIndexEntry {
    pub name: String,
    pub version: String,
    /// `LOADED`, `LOADING` or `UNLOADED`.
    pub state: String,
    pub reason: String,
}

/// `POST /v2/repository/models/{model_name}/load|unload`.
#[derive(ToSchema)]
pub struct RepositoryRequest {
    pub parameters: Option<Value>,
}

/// A body: the schema's name in the components, or a free-form object.
#[derive(Clone, Copy)]
enum Body {
    Named(&'static str),
    List(&'static str),
    Object,
    None,
}

struct Route {
    method: HttpMethod,
    path: String,
    id: String,
    summary: &'static str,
    request: Body,
    response: Body,
}

fn route(
    method: HttpMethod,
    path: impl Into<String>,
    id: impl Into<String>,
    summary: &'static str,
    (request, response): (Body, Body),
) -> Route {
    let (path, id) = (path.into(), id.into());
    Route {
        method,
        path,
        id,
        summary,
        request,
        response,
    }
}

/// Every V2 route; the model routes under `/v2/models/{model_name}`, with and without
/// `/versions/{model_version}`.
#[rustfmt::skip]
fn routes() -> Vec<Route> {
    use Body::*;
    use HttpMethod::{Get, Post};
    let mut routes = vec![
        route(Get, "/v2", "v2_server_metadata", "Server metadata", (None, Named("MetadataServerResponse"))),
        route(Get, "/v2/health/live", "v2_server_live", "Server liveness", (None, Named("LiveResponse"))),
        route(Get, "/v2/health/ready", "v2_server_ready", "Server readiness", (None, Named("ReadyResponse"))),
        route(Get, "/v2/models/stats", "v2_all_statistics", "Statistics of every loaded version (Triton)",
            (None, Object)),
        route(Post, "/v2/repository/index", "v2_repository_index", "The versions and whether each is loaded",
            (Named("RepositoryIndexRequest"), List("RepositoryIndexEntry"))),
        route(Post, "/v2/repository/models/{model_name}/load", "v2_repository_load", "Load (or reload) a version",
            (Named("RepositoryRequest"), Object)),
        route(Post, "/v2/repository/models/{model_name}/unload", "v2_repository_unload",
            "Unload a version (not ready until loaded again)", (Named("RepositoryRequest"), Object)),
    ];
    for (base, of) in [("/v2/models/{model_name}", "model"), ("/v2/models/{model_name}/versions/{model_version}", "version")] {
        for (tail, what, summary, bodies) in [
            ("", "metadata", "Model metadata", (None, Named("MetadataModelResponse"))),
            ("/ready", "ready", "Model readiness", (None, Named("ModelReadyResponse"))),
            ("/config", "config", "Model configuration (Triton)", (None, Object)),
            ("/stats", "statistics", "Model statistics (Triton)", (None, Object)),
            ("/infer", "infer", "Inference", (Named("InferenceRequest"), Named("InferenceResponse"))),
        ] {
            let method = if what == "infer" { Post } else { Get };
            routes.push(route(method, format!("{base}{tail}"), format!("v2_{of}_{what}"), summary, bodies));
        }
    }
    routes
}

fn content(body: Body) -> Option<RefOr<Schema>> {
    match body {
        Body::Named(name) => Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))),
        Body::List(name) => Some(
            utoipa::openapi::schema::ArrayBuilder::new()
                .items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name)))
                .into(),
        ),
        Body::Object => Some(ObjectBuilder::new().schema_type(Type::Object).into()),
        Body::None => None,
    }
}

pub struct V2Paths;

impl Modify for V2Paths {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, schema) in [
            ("MetadataServerResponse", MetadataServerResponse::schema()),
            ("LiveResponse", LiveResponse::schema()),
            ("ReadyResponse", ReadyResponse::schema()),
            ("MetadataTensor", MetadataTensor::schema()),
            ("MetadataModelResponse", MetadataModelResponse::schema()),
            ("ModelReadyResponse", ModelReadyResponse::schema()),
            ("Tensor", Tensor::schema()),
            ("RequestOutput", RequestOutput::schema()),
            ("InferenceRequest", InferenceRequest::schema()),
            ("InferenceResponse", InferenceResponse::schema()),
            ("InferenceError", InferenceError::schema()),
            ("RepositoryIndexRequest", RepositoryIndexRequest::schema()),
            ("RepositoryIndexEntry", RepositoryIndexEntry::schema()),
            ("RepositoryRequest", RepositoryRequest::schema()),
        ] {
            components.schemas.insert(name.to_owned(), schema);
        }
        let error = ResponseBuilder::new()
            .description("the protocol's error")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(content(Body::Named("InferenceError")))
                    .build(),
            )
            .build();
        for r in routes() {
            let mut op = OperationBuilder::new()
                .operation_id(Some(r.id))
                .summary(Some(r.summary))
                .tag("v2")
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .security(SecurityRequirement::default())
                .response(
                    "200",
                    ResponseBuilder::new().description("answered").content(
                        "application/json",
                        ContentBuilder::new().schema(content(r.response)).build(),
                    ),
                )
                .response("400", error.clone())
                .response("404", error.clone());
            if let Some(schema) = content(r.request) {
                op = op.request_body(Some(
                    RequestBodyBuilder::new()
                        .content(
                            "application/json",
                            ContentBuilder::new().schema(Some(schema)).build(),
                        )
                        .build(),
                ));
            }
            let item = openapi.paths.paths.entry(r.path.to_owned()).or_default();
            let op = op.build();
            match r.method {
                HttpMethod::Get => item.get = Some(op),
                _ => item.post = Some(op),
            }
        }
    }
}
