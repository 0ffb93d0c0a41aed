//! Caravan's models and versions as MLflow's `RegisteredModel` and `ModelVersion`: versions
//! are strings, timestamps milliseconds, every version `READY` and in stage `None`.

use actix_web::HttpRequest;
use caravan_core::{Core, ModelDetails, SearchParams};
use caravan_domain::Principal;
use caravan_domain::records::{ModelRecord, ModelSort, Timestamp, VersionRecord};
use serde_json::{Value, json};

use super::MlflowError;

fn millis(t: &Timestamp) -> i64 {
    t.0.timestamp_millis()
}

/// Where a version's file is downloaded, as an absolute URL on this server: at
/// `http.public_url` when set, else at the request's host if it is a plain host name (the
/// MLflow client sends its token to this URL, so a forged `Host` must not choose it).
pub fn artifact_url(req: &HttpRequest, model: &str, version: i64) -> String {
    let origin = origin(req);
    format!("{origin}/api/v1/models/{model}/versions/{version}/artifact")
}

/// This server's origin for URLs handed to the MLflow client (see [`artifact_url`]).
pub fn origin(req: &HttpRequest) -> String {
    let public_url = req
        .app_data::<actix_web::web::Data<crate::http::ui::UiConfig>>()
        .map(|c| c.public_url.clone())
        .unwrap_or_default();
    crate::http::public_origin(req, &public_url)
}

/// Key/value pairs as MLflow writes tags and params: `[{"key", "value"}]`.
pub fn tags(properties: &std::collections::BTreeMap<String, String>) -> Vec<Value> {
    properties
        .iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect()
}

/// A version's MLflow `source` and `run_id`: what it was registered from through MLflow, else
/// its Caravan download URL and no run.
pub fn source_and_run(req: &HttpRequest, details: &ModelDetails, version: i64) -> (String, String) {
    let origin = details.sources.iter().find(|s| s.version == version);
    let source = origin.map_or_else(
        || artifact_url(req, details.model.name.as_str(), version),
        |o| o.source.clone(),
    );
    (
        source,
        origin.and_then(|o| o.run_id.clone()).unwrap_or_default(),
    )
}

pub fn model_version(req: &HttpRequest, details: &ModelDetails, v: &VersionRecord) -> Value {
    let name = details.model.name.as_str();
    let aliases: Vec<&str> = details
        .aliases
        .iter()
        .filter(|a| a.version == v.version)
        .map(|a| a.alias.as_str())
        .collect();
    let (source, run_id) = source_and_run(req, details, v.version);
    let origin = details.sources.iter().find(|s| s.version == v.version);
    let mut version = json!({
        "name": name,
        "version": v.version.to_string(),
        "creation_timestamp": millis(&v.created_at),
        "last_updated_timestamp": millis(&v.created_at),
        "user_id": v.created_by,
        "current_stage": "None",
        "description": v.description,
        "source": source,
        "run_id": run_id,
        "status": "READY",
        "status_message": "",
        "tags": tags(&details.properties.of_version(v.version)),
        "run_link": "",
        "aliases": aliases,
    });
    if let Some(id) = origin.and_then(|o| o.logged_model_id.as_deref()) {
        version["model_id"] = id.into();
    }
    version
}

pub fn registered_model(req: &HttpRequest, details: &ModelDetails) -> Value {
    let m = &details.model;
    let latest: Vec<Value> = details
        .versions
        .iter()
        .max_by_key(|v| v.version)
        .map(|v| model_version(req, details, v))
        .into_iter()
        .collect();
    let aliases: Vec<Value> = details
        .aliases
        .iter()
        .map(|a| json!({"alias": a.alias, "version": a.version.to_string()}))
        .collect();
    json!({
        "name": m.name.as_str(),
        "creation_timestamp": millis(&m.created_at),
        "last_updated_timestamp": millis(&m.updated_at),
        "user_id": m.owner,
        "description": m.description,
        "latest_versions": latest,
        "tags": tags(&details.properties.model),
        "aliases": aliases,
    })
}

/// Every model `who` may see, by name.
pub async fn visible_models(
    core: &Core,
    who: Option<&Principal>,
) -> Result<Vec<ModelRecord>, MlflowError> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let params = SearchParams {
            q: None,
            tag: None,
            visibility: None,
            sort: ModelSort::Name,
            descending: Some(false),
            limit: Some(caravan_core::MAX_SEARCH_LIMIT),
            cursor,
        };
        let page = core.search(who, params).await?;
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
}

/// One page of `rows` from `page_token` (an offset), and the token of the next.
pub fn page<T>(
    rows: Vec<T>,
    max_results: usize,
    page_token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), MlflowError> {
    let start: usize = match page_token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => t
            .parse()
            .map_err(|_| MlflowError::invalid("page_token is not one this server gave"))?,
    };
    let total = rows.len();
    let items: Vec<T> = rows.into_iter().skip(start).take(max_results).collect();
    let next = (start + items.len() < total).then(|| (start + items.len()).to_string());
    Ok((items, next))
}
