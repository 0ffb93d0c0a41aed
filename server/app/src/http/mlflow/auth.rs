//! Who is calling: `Authorization: Bearer <token>` (`MLFLOW_TRACKING_TOKEN`) or Basic with
//! the username and an API token as the password (`MLFLOW_TRACKING_USERNAME`/`PASSWORD`). A
//! real password is refused rather than checked: the client sends credentials with every
//! request, and a password hash per request would trip login rate limits within a minute.

use actix_web::{HttpRequest, http::header};
use base64::Engine;
use caravan_core::{Core, TOKEN_PREFIX};
use caravan_domain::Principal;

use super::MlflowError;

/// The caller, if the request carries credentials (which must then be valid).
pub async fn caller(core: &Core, req: &HttpRequest) -> Result<Option<Principal>, MlflowError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| MlflowError::unauthenticated("malformed Authorization header"))?;
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Ok(Some(core.authenticate(rest).await?));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(MlflowError::unauthenticated(
            "use Authorization: Bearer <API token>, or Basic with an API token as the password",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| MlflowError::unauthenticated("malformed Basic credentials"))?;
    let (username, token) = decoded.split_once(':').unwrap_or((&decoded, ""));
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(MlflowError::unauthenticated(format!(
            "set MLFLOW_TRACKING_PASSWORD to a Caravan API token ({TOKEN_PREFIX}...), not a password"
        )));
    }
    let principal = core.authenticate(token).await?;
    if principal.username != username {
        return Err(MlflowError::unauthenticated(
            "the API token belongs to another user",
        ));
    }
    Ok(Some(principal))
}

/// The caller, who must be signed in.
pub async fn signed_in(core: &Core, req: &HttpRequest) -> Result<Principal, MlflowError> {
    caller(core, req).await?.ok_or_else(|| {
        MlflowError::unauthenticated("credentials required: set MLFLOW_TRACKING_TOKEN")
    })
}
