//! Request extractors for credentials: `Authenticated` requires them (401 without), `MaybeAuth`
//! accepts anonymous callers. Both read `Authorization: Bearer <jwt or API token>`, or the web
//! UI's session cookie when the request also carries the page's `X-CSRF-Token`.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use caravan_core::Core;
use caravan_domain::Principal;

use crate::http::error::ApiError;

/// An authenticated caller.
pub struct Authenticated(pub Principal);

/// A caller who may be anonymous. Credentials that are present must be valid.
pub struct MaybeAuth(pub Option<Principal>);

pub(crate) fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthenticated("malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(ApiError::unauthenticated(
            "use Authorization: Bearer <token>",
        )),
    }
}

pub(crate) async fn resolve(req: HttpRequest) -> Result<Option<Principal>, ApiError> {
    // Without a core (a runner, which has no users) every caller is anonymous.
    let Some(core) = req.app_data::<web::Data<Core>>().cloned() else {
        return Ok(None);
    };
    // A browser page's script may use the session cookie, with the page's anti-forgery token.
    let Some(token) = bearer(&req)?.or_else(|| crate::http::ui::session::api_session(&req, &core))
    else {
        return Ok(None);
    };
    Ok(Some(core.authenticate(&token).await?))
}

impl FromRequest for MaybeAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(MaybeAuth(resolve(req).await?)) })
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            resolve(req)
                .await?
                .map(Authenticated)
                .ok_or_else(|| ApiError::unauthenticated("credentials required"))
        })
    }
}
