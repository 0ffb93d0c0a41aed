//! Admin endpoints: users and the audit log.

use actix_web::{HttpResponse, web};
use caravan_core::Core;
use serde::Deserialize;
use uuid::Uuid;

use crate::http::{dto, error::ApiError, extract::Authenticated};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list_users))
        .route("/users", web::post().to(create_user))
        .route("/users/{id}", web::patch().to(change_user))
        .route("/audit", web::get().to(audit));
}

/// All users (admins only).
#[utoipa::path(get, path = "/api/v1/users", tag = "admin",
    responses((status = 200, body = dto::Page<dto::User>)), security(("bearer" = [])))]
pub async fn list_users(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
) -> Result<web::Json<dto::Page<dto::User>>, ApiError> {
    Ok(dto::Page::all(core.list_users(&who).await?))
}

/// Create a user (admins only).
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = dto::NewUser,
    responses((status = 201, body = dto::User), (status = 409, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_user(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    body: web::Json<dto::NewUser>,
) -> Result<HttpResponse, ApiError> {
    let user = core
        .create_user(Some(&who), &body.username, &body.password, body.role)
        .await?;
    Ok(HttpResponse::Created().json(dto::User::from(user)))
}

/// Disable or re-enable a user (admins only). A disabled user's sessions and tokens stop
/// working at once.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "admin", request_body = dto::UserChange,
    responses((status = 204), (status = 404, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn change_user(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    id: web::Path<String>,
    body: web::Json<dto::UserChange>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("no such user"))?;
    core.set_user_disabled(&who, id, body.disabled).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Page size (1-500, default 50).
    limit: Option<u32>,
    /// Cursor from the previous page.
    cursor: Option<String>,
}

/// The audit log, newest first (admins only).
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = dto::Page<dto::AuditEntry>)), security(("bearer" = [])))]
pub async fn audit(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<dto::Page<dto::AuditEntry>>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    let before = match &query.cursor {
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| ApiError::bad_request("invalid cursor"))?,
        ),
        None => None,
    };
    let entries = core.audit_log(&who, limit, before).await?;
    let next_cursor = (entries.len() as u32 == limit.clamp(1, 500))
        .then(|| entries.last().map(|e| e.id.to_string()))
        .flatten();
    let items = entries.into_iter().map(Into::into).collect();
    Ok(web::Json(dto::Page { items, next_cursor }))
}
