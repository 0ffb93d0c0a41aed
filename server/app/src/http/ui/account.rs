//! Signing in and out, the upload page, and the API tokens page.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use caravan_core::{Core, CoreError};
use caravan_domain::records::Timestamp;
use minijinja::context;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Fields, UiError,
    render::{page, page_with_status, redirect},
    session::Visitor,
};
use crate::http::dto;

const SCOPES: [(&str, &str); 4] = [
    ("read", "find and download models, run inference"),
    ("publish", "push models and versions, edit your models"),
    ("deploy", "move aliases, load and unload served models"),
    (
        "admin",
        "manage users, peers and everything else (admins only)",
    ),
];

/// Only paths on this site, so a crafted link cannot send a user elsewhere after signing in.
/// Browsers drop tabs and newlines from URLs and read `\` as `/`, so `/\t/evil` or `/\evil`
/// would leave the site: anything but a plain absolute path whose second character starts no
/// authority is refused.
pub(super) fn safe_next(next: &str) -> &str {
    let plain = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if plain { next } else { "/" }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

pub async fn login_page(
    visitor: Visitor,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, UiError> {
    let next = safe_next(&query.next).to_owned();
    if visitor.who.is_some() {
        return Ok(redirect(&visitor, &next));
    }
    page(
        &visitor,
        "login.html",
        context! { next => next, username => "" },
    )
}

pub async fn login(
    core: web::Data<Core>,
    req: HttpRequest,
    visitor: Visitor,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    visitor.check_csrf(&core, form.get("csrf"))?;
    let next = safe_next(form.get("next")).to_owned();
    let username = form.get("username").trim();
    let client = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    match core.login(username, form.get("password"), &client).await {
        Ok(session) => {
            let ttl = (session.expires_at.0 - Timestamp::now().0)
                .num_seconds()
                .max(0);
            let mut response = redirect(&visitor, &next);
            response
                .add_cookie(&visitor.session_cookie(session.token, ttl))
                .map_err(|e| UiError::Internal(e.to_string()))?;
            Ok(response)
        }
        Err(e @ (CoreError::Unauthenticated(_) | CoreError::RateLimited { .. })) => {
            let status = match e {
                CoreError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            let error = match e {
                CoreError::RateLimited { .. } => e.to_string(),
                _ => "Wrong username or password.".to_owned(),
            };
            let ctx = context! { next => next, username => username, error => error };
            page_with_status(status, &visitor, "login.html", ctx)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(
    core: web::Data<Core>,
    visitor: Visitor,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    visitor.check_csrf(&core, form.get("csrf"))?;
    let mut response = redirect(&visitor, "/");
    response
        .add_cookie(&visitor.logout_cookie())
        .map_err(|e| UiError::Internal(e.to_string()))?;
    Ok(response)
}

#[derive(Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    name: String,
}

pub async fn upload_page(
    visitor: Visitor,
    query: web::Query<UploadQuery>,
) -> Result<HttpResponse, UiError> {
    visitor.require("/upload")?;
    page(
        &visitor,
        "upload.html",
        context! { name => query.name.clone() },
    )
}

async fn render_tokens(
    core: &Core,
    visitor: &Visitor,
    status: StatusCode,
    created: Option<dto::CreatedToken>,
    error: Option<String>,
) -> Result<HttpResponse, UiError> {
    let who = visitor.require("/account/tokens")?;
    let tokens: Vec<dto::Token> = core
        .list_tokens(who)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let scopes: Vec<_> = SCOPES
        .iter()
        .filter(|(s, _)| *s != "admin" || who.is_admin())
        .collect();
    let ctx = context! { tokens => tokens, created => created, error => error, scopes => scopes };
    page_with_status(status, visitor, "tokens.html", ctx)
}

pub async fn tokens_page(core: web::Data<Core>, visitor: Visitor) -> Result<HttpResponse, UiError> {
    render_tokens(&core, &visitor, StatusCode::OK, None, None).await
}

pub async fn create_token(
    core: web::Data<Core>,
    visitor: Visitor,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let who = visitor.require("/account/tokens")?;
    visitor.check_csrf(&core, form.get("csrf"))?;
    let expires_at = match form.get("expires_days").trim() {
        "" => None,
        days => match days.parse::<i64>() {
            Ok(d @ 1..=3650) => Some(Timestamp(Timestamp::now().0 + chrono::Duration::days(d))),
            _ => {
                let why = "Expiry must be a number of days from 1 to 3650, or empty.".to_owned();
                return render_tokens(&core, &visitor, StatusCode::BAD_REQUEST, None, Some(why))
                    .await;
            }
        },
    };
    match core
        .create_token(who, form.get("name").trim(), &form.all("scope"), expires_at)
        .await
    {
        Ok(created) => {
            let shown = dto::CreatedToken {
                info: created.record.into(),
                token: created.secret,
            };
            render_tokens(&core, &visitor, StatusCode::CREATED, Some(shown), None).await
        }
        Err(CoreError::Invalid(why) | CoreError::Forbidden(why)) => {
            render_tokens(&core, &visitor, StatusCode::BAD_REQUEST, None, Some(why)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_token(
    core: web::Data<Core>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let who = visitor.require("/account/tokens")?;
    visitor.check_csrf(&core, form.get("csrf"))?;
    let id = Uuid::parse_str(&id).map_err(|_| UiError::NotFound("no such token".into()))?;
    core.revoke_token(who, id).await?;
    Ok(redirect(&visitor, "/account/tokens"))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_plain_local_paths_are_followed() {
        for ok in ["/", "/models/fraud", "/models/a?b=%2F%2Fc#d"] {
            assert_eq!(safe_next(ok), ok);
        }
        for bad in [
            "",
            "//evil",
            "/\\evil",
            "\\/evil",
            "/\t/evil",
            "/\n/evil",
            "/\r/evil",
            "/\u{7f}x",
            "https://evil",
            " /evil",
            "evil",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }
}
