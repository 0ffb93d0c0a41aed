//! API tokens: random secrets with a recognisable prefix (so secret scanners find leaked ones),
//! shown once, stored as SHA-256, scoped, optionally expiring, revocable.

use caravan_domain::Subject;
use std::collections::BTreeSet;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use caravan_domain::records::{Actor, NewToken, Timestamp, TokenRecord, UserRecord};
use caravan_domain::{Principal, Scope, parse_scopes};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    Core, CoreError, Result,
    auth::{TOKEN_PREFIX, actor, principal},
};

/// A token just created: the record and the secret, which is never shown again.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub record: TokenRecord,
    pub secret: String,
}

/// Last-used times are written at most this often per token, not on every request.
const TOUCH_INTERVAL_SECS: i64 = 60;

fn secret_sha256(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Core {
    /// Creates a token for the caller, with at most the caller's own scopes.
    #[tracing::instrument(skip_all)]
    pub async fn create_token(
        &self,
        who: &Principal,
        name: &str,
        scopes: &[String],
        expires_at: Option<Timestamp>,
    ) -> Result<CreatedToken> {
        let scopes = parse_scopes(scopes)?;
        if let Some(extra) = scopes.iter().find(|s| !who.scopes.contains(s)) {
            return Err(CoreError::Forbidden(format!(
                "cannot grant the '{extra}' scope, which this credential does not have"
            )));
        }
        let user = self.active_user(who.user_id).await?;
        self.issue_token(&user, name, scopes, expires_at, &actor(who))
            .await
    }

    /// Creates a token for a named user (the `caravan token create` command).
    #[tracing::instrument(skip_all)]
    pub async fn create_token_for_user(
        &self,
        username: &str,
        name: &str,
        scopes: &[String],
        expires_at: Option<Timestamp>,
    ) -> Result<CreatedToken> {
        let scopes = parse_scopes(scopes)?;
        let user =
            self.catalog.user_by_name(username).await?.ok_or_else(|| {
                CoreError::not_found(Subject::User, format!("no user {username:?}"))
            })?;
        let allowed = user.role.scopes();
        if let Some(extra) = scopes.iter().find(|s| !allowed.contains(s)) {
            return Err(CoreError::Forbidden(format!(
                "a {} cannot hold the '{extra}' scope",
                user.role.as_str()
            )));
        }
        let actor = Actor {
            user_id: user.id,
            username: user.username.clone(),
        };
        self.issue_token(&user, name, scopes, expires_at, &actor)
            .await
    }

    async fn issue_token(
        &self,
        user: &UserRecord,
        name: &str,
        scopes: BTreeSet<Scope>,
        expires_at: Option<Timestamp>,
        actor: &Actor,
    ) -> Result<CreatedToken> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(CoreError::Invalid(
                "a token name must be 1-100 characters".into(),
            ));
        }
        if expires_at.is_some_and(|at| at <= Timestamp::now()) {
            return Err(CoreError::Invalid(
                "expires_at must be in the future".into(),
            ));
        }
        let mut random = [0u8; 32];
        rand::rng().fill_bytes(&mut random);
        let secret = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(random));
        let new = NewToken {
            user_id: user.id,
            name: name.to_owned(),
            prefix: secret[..TOKEN_PREFIX.len() + 6].to_owned(),
            secret_sha256: secret_sha256(&secret),
            scopes,
            expires_at,
        };
        let record = self.catalog.create_token(new, actor).await?;
        Ok(CreatedToken { record, secret })
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_tokens(&self, who: &Principal) -> Result<Vec<TokenRecord>> {
        Ok(self.catalog.list_tokens(who.user_id).await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn revoke_token(&self, who: &Principal, token_id: Uuid) -> Result<()> {
        self.catalog
            .revoke_token(who.user_id, token_id, &actor(who))
            .await
            .map_err(|e| match e {
                caravan_catalog::CatalogError::NotFound(_) => {
                    CoreError::not_found(Subject::Token, "no such token")
                }
                other => other.into(),
            })?;
        self.auth_cache.clear();
        self.announce(caravan_domain::records::Change::Credentials);
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn authenticate_token(
        &self,
        secret: &str,
    ) -> Result<(Principal, Option<Timestamp>)> {
        let invalid = || CoreError::Unauthenticated("invalid API token".into());
        let token = self
            .catalog
            .token_by_secret(&secret_sha256(secret))
            .await?
            .ok_or_else(invalid)?;
        if token.revoked_at.is_some() {
            return Err(CoreError::Unauthenticated(
                "this API token was revoked".into(),
            ));
        }
        let now = Timestamp::now();
        if token.expires_at.is_some_and(|at| at <= now) {
            return Err(CoreError::Unauthenticated(
                "this API token has expired".into(),
            ));
        }
        let user = self.active_user(token.user_id).await?;
        let stale = token
            .last_used_at
            .is_none_or(|at| (now.0 - at.0).num_seconds() >= TOUCH_INTERVAL_SECS);
        // Written at most once a minute per token, so a busy CI token costs no extra writes.
        if stale {
            self.catalog.touch_token(token.id, now).await?;
        }
        Ok((principal(&user, token.scopes), token.expires_at))
    }
}
