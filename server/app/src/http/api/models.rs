//! Models: search, details, metadata, deletion and aliases.

use actix_web::{HttpResponse, web};
use caravan_core::{Core, SearchParams};
use caravan_domain::records::ModelSort;
use caravan_domain::{AliasName, Visibility, parse_version_number};
use serde::Deserialize;

use super::model_name;
use crate::http::{
    dto,
    error::ApiError,
    extract::{Authenticated, MaybeAuth},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/models", web::get().to(search))
        .route("/models/{name}", web::get().to(get_model))
        .route("/models/{name}", web::patch().to(update_model))
        .route("/models/{name}", web::delete().to(delete_model))
        .route("/models/{name}/aliases", web::get().to(list_aliases))
        .route("/models/{name}/aliases/{alias}", web::get().to(get_alias))
        .route("/models/{name}/aliases/{alias}", web::put().to(set_alias))
        .route(
            "/models/{name}/aliases/{alias}",
            web::delete().to(delete_alias),
        );
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words to find in names, descriptions, cards and tags (prefixes match).
    q: Option<String>,
    /// Only models with this tag.
    tag: Option<String>,
    /// private, organization or public.
    visibility: Option<String>,
    /// name, updated or downloads (default: relevance with `q`, else updated).
    sort: Option<String>,
    /// asc or desc (default: A-Z for names, newest or most downloaded first otherwise).
    order: Option<String>,
    /// Page size, 1-500 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Search and list the models the caller can see.
#[utoipa::path(get, path = "/api/v1/models", tag = "models", params(SearchQuery),
    responses((status = 200, body = dto::Page<dto::Model>), (status = 400, body = crate::http::error::ErrorBody)))]
pub async fn search(
    core: web::Data<Core>,
    MaybeAuth(who): MaybeAuth,
    query: web::Query<SearchQuery>,
) -> Result<web::Json<dto::Page<dto::Model>>, ApiError> {
    let query = query.into_inner();
    let sort = match query.sort.as_deref() {
        None | Some("relevance") => ModelSort::Relevance,
        Some("name") => ModelSort::Name,
        Some("updated") => ModelSort::Updated,
        Some("downloads") => ModelSort::Downloads,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown sort {other:?} (name, updated, downloads)"
            )));
        }
    };
    let descending = match query.order.as_deref() {
        None => None,
        Some("asc") => Some(false),
        Some("desc") => Some(true),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown order {other:?} (asc, desc)"
            )));
        }
    };
    let visibility = query
        .visibility
        .as_deref()
        .map(str::parse::<Visibility>)
        .transpose()?;
    let params = SearchParams {
        q: query.q,
        tag: query.tag,
        visibility,
        sort,
        descending,
        limit: query.limit,
        cursor: query.cursor,
    };
    let page = core.search(who.as_ref(), params).await?;
    Ok(web::Json(dto::Page {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// A model with its versions and aliases.
#[utoipa::path(get, path = "/api/v1/models/{name}", tag = "models",
    responses((status = 200, body = dto::ModelDetails), (status = 404, body = crate::http::error::ErrorBody)))]
pub async fn get_model(
    core: web::Data<Core>,
    MaybeAuth(who): MaybeAuth,
    name: web::Path<String>,
) -> Result<web::Json<dto::ModelDetails>, ApiError> {
    let name = model_name(&name)?;
    let details = core.model_details(who.as_ref(), &name).await?;
    let provenance = core.provenance(&details.model).await?.map(Into::into);
    let model_name = details.model.name.to_string();
    let properties = details.properties;
    Ok(web::Json(dto::ModelDetails {
        model: details.model.into(),
        versions: details
            .versions
            .into_iter()
            .map(|v| {
                let own = properties.of_version(v.version);
                dto::Version::new(&model_name, v).with_properties(own)
            })
            .collect(),
        aliases: details.aliases.into_iter().map(Into::into).collect(),
        provenance,
        properties: properties.model.clone(),
    }))
}

/// Change a model's description, card, tags, license or visibility (owner or admin).
#[utoipa::path(patch, path = "/api/v1/models/{name}", tag = "models", request_body = dto::ModelMetadata,
    responses((status = 200, body = dto::Model), (status = 403, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_model(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
    body: web::Json<dto::ModelMetadata>,
) -> Result<web::Json<dto::Model>, ApiError> {
    let name = model_name(&name)?;
    let model = core
        .update_model(&who, &name, body.into_inner().into())
        .await?;
    Ok(web::Json(model.into()))
}

/// Delete a model with all its versions (owner or admin).
#[utoipa::path(delete, path = "/api/v1/models/{name}", tag = "models",
    responses((status = 204), (status = 404, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn delete_model(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    core.delete_model(&who, &model_name(&name)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A model's aliases.
#[utoipa::path(get, path = "/api/v1/models/{name}/aliases", tag = "aliases",
    responses((status = 200, body = dto::Page<dto::Alias>)))]
pub async fn list_aliases(
    core: web::Data<Core>,
    MaybeAuth(who): MaybeAuth,
    name: web::Path<String>,
) -> Result<web::Json<dto::Page<dto::Alias>>, ApiError> {
    let details = core
        .model_details(who.as_ref(), &model_name(&name)?)
        .await?;
    Ok(dto::Page::all(details.aliases))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FollowQuery {
    /// Answer once the alias points to another version than this one (a long poll).
    after: Option<i64>,
    /// How long to wait for that, in seconds (default 30, at most 60); then answer anyway.
    wait: Option<u64>,
}

/// Where an alias points, with the version's sha256 and size. With `after`, a long poll: the
/// answer comes as soon as the alias points elsewhere, or after `wait` seconds (what
/// `caravan runner --follow` uses to swap within moments of a move).
#[utoipa::path(get, path = "/api/v1/models/{name}/aliases/{alias}", tag = "aliases",
    params(FollowQuery), responses((status = 200, body = dto::FollowedAlias),
    (status = 404, body = crate::http::error::ErrorBody)))]
pub async fn get_alias(
    core: web::Data<Core>,
    MaybeAuth(who): MaybeAuth,
    path: web::Path<(String, String)>,
    query: web::Query<FollowQuery>,
) -> Result<web::Json<dto::FollowedAlias>, ApiError> {
    let (name, alias) = path.into_inner();
    let wait = match query.after {
        Some(_) => std::time::Duration::from_secs(query.wait.unwrap_or(30)),
        None => std::time::Duration::ZERO,
    };
    let followed = core
        .follow_alias(
            who.as_ref(),
            &model_name(&name)?,
            &AliasName::parse(&alias)?,
            query.after,
            wait,
        )
        .await?;
    Ok(web::Json(followed.into()))
}

/// Point an alias (such as `champion`) at a version (scope `deploy`, owner or admin).
#[utoipa::path(put, path = "/api/v1/models/{name}/aliases/{alias}", tag = "aliases",
    request_body = dto::SetAlias, responses((status = 200, body = dto::Alias),
    (status = 404, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn set_alias(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
    body: web::Json<dto::SetAlias>,
) -> Result<web::Json<dto::Alias>, ApiError> {
    let (name, alias) = path.into_inner();
    let version = match &body.version {
        serde_json::Value::Number(n) => parse_version_number(&n.to_string())?,
        serde_json::Value::String(s) => parse_version_number(s)?,
        _ => {
            return Err(ApiError::bad_request(
                "version must be a number or a numeric string",
            ));
        }
    };
    let alias = core
        .set_alias(
            &who,
            &model_name(&name)?,
            &AliasName::parse(&alias)?,
            version,
        )
        .await?;
    Ok(web::Json(alias.into()))
}

/// Remove an alias (scope `deploy`, owner or admin).
#[utoipa::path(delete, path = "/api/v1/models/{name}/aliases/{alias}", tag = "aliases",
    responses((status = 204), (status = 404, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn delete_alias(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, alias) = path.into_inner();
    core.delete_alias(&who, &model_name(&name)?, &AliasName::parse(&alias)?)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
