//! Login, password change, the current user, and API tokens.

use actix_web::{HttpRequest, HttpResponse, web};
use caravan_core::Core;
use caravan_domain::records::Timestamp;
use uuid::Uuid;

use crate::http::{dto, error::ApiError, extract::Authenticated};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/login", web::post().to(login))
        .route("/auth/password", web::post().to(change_password))
        .route("/me", web::get().to(me))
        .route("/tokens", web::get().to(list_tokens))
        .route("/tokens", web::post().to(create_token))
        .route("/tokens/{id}", web::delete().to(revoke_token));
}

/// Log in with a username and password; returns a session JWT.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = dto::Login,
    responses((status = 200, body = dto::LoginResult), (status = 401, body = crate::http::error::ErrorBody),
              (status = 429, description = "too many failed attempts")))]
pub async fn login(
    core: web::Data<Core>,
    req: HttpRequest,
    body: web::Json<dto::Login>,
) -> Result<web::Json<dto::LoginResult>, ApiError> {
    let client = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let session = core.login(&body.username, &body.password, &client).await?;
    Ok(web::Json(dto::LoginResult {
        token: session.token,
        expires_at: session.expires_at.0,
        user: session.user.into(),
    }))
}

/// Change the caller's password; sessions issued before the change end.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = dto::ChangePassword,
    responses((status = 204), (status = 403, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn change_password(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    body: web::Json<dto::ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    core.change_password(&who, &body.current_password, &body.new_password)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The authenticated user.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = dto::User)),
    security(("bearer" = [])))]
pub async fn me(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
) -> Result<web::Json<dto::User>, ApiError> {
    Ok(web::Json(core.current_user(&who).await?.into()))
}

/// The caller's API tokens (secrets are never shown again).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth",
    responses((status = 200, body = dto::Page<dto::Token>)), security(("bearer" = [])))]
pub async fn list_tokens(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
) -> Result<web::Json<dto::Page<dto::Token>>, ApiError> {
    Ok(dto::Page::all(core.list_tokens(&who).await?))
}

/// Create an API token with some of the caller's scopes; the secret is in the response only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = dto::NewToken,
    responses((status = 201, body = dto::CreatedToken), (status = 403, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_token(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    body: web::Json<dto::NewToken>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let expires = body.expires_at.map(Timestamp::from_datetime);
    let created = core
        .create_token(&who, &body.name, &body.scopes, expires)
        .await?;
    Ok(HttpResponse::Created().json(dto::CreatedToken {
        info: created.record.into(),
        token: created.secret,
    }))
}

/// Revoke one of the caller's tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth",
    responses((status = 204), (status = 404, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_token(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("no such token"))?;
    core.revoke_token(&who, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
