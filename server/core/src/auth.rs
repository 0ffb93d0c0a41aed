//! Authentication: password login issuing JWTs, and resolving a bearer credential (a JWT or an
//! API token) to a [`Principal`]. Every request re-reads the user, so disabling a user or
//! changing a password takes effect at once.

use std::time::Duration;

use caravan_domain::records::{Actor, Timestamp, UserRecord};
use caravan_domain::{Principal, Role, Scope};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Core, CoreError, Result, passwords};

/// Every API token starts with this (a bearer credential that does not is a session JWT).
pub const TOKEN_PREFIX: &str = "cvn_";

/// How sessions are signed and how long they last.
#[derive(Clone)]
pub struct AuthSettings {
    /// Signs new sessions and form tokens.
    pub jwt_secret: SecretString,
    /// Keys rotated out: still accepted until what they signed expires, never used to sign.
    pub previous_jwt_secrets: Vec<SecretString>,
    pub issuer: String,
    pub audience: String,
    pub session_ttl: Duration,
}

/// A login session: the JWT and when it expires.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at: Timestamp,
    pub user: UserRecord,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    name: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    /// When the user's password was last set (µs); a session ends when it changes.
    pwd: i64,
}

impl Core {
    /// Logs a user in; rate-limited per username and client address.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, username: &str, password: &str, client: &str) -> Result<Session> {
        // Nothing longer than any account can have costs a lookup, a hash or limiter memory.
        if username.chars().count() > crate::users::MAX_USERNAME {
            return Err(CoreError::Invalid(format!(
                "a username is at most {} characters",
                crate::users::MAX_USERNAME
            )));
        }
        passwords::check_length(password)?;
        self.login_limiter
            .begin(self.catalog.as_ref(), username, client)
            .await?;
        let user = self.catalog.user_by_name(username).await?;
        let ok = passwords::verify(
            password.to_owned(),
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
        let user = match user {
            Some(user) if ok && !user.disabled => user,
            _ => {
                return Err(CoreError::Unauthenticated(
                    "wrong username or password".into(),
                ));
            }
        };
        if let Err(e) = self
            .login_limiter
            .succeeded(self.catalog.as_ref(), username, client)
            .await
        {
            // The login stands; the attempt stays counted until its window ends.
            tracing::warn!(error = %e, "could not give a login attempt back");
        }
        self.issue_session(user)
    }

    /// Forgets login-attempt windows that ended; returns how many keys went.
    pub async fn prune_login_attempts(&self) -> Result<u64> {
        self.login_limiter.prune(self.catalog.as_ref()).await
    }

    fn issue_session(&self, user: UserRecord) -> Result<Session> {
        let now = Utc::now();
        let expires =
            now + chrono::Duration::from_std(self.auth.session_ttl).map_err(CoreError::internal)?;
        let claims = Claims {
            sub: user.id,
            name: user.username.clone(),
            iss: self.auth.issuer.clone(),
            aud: self.auth.audience.clone(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
            pwd: user.password_changed_at.0.timestamp_micros(),
        };
        let key = EncodingKey::from_secret(self.auth.jwt_secret.expose_secret().as_bytes())
            .map_err(CoreError::internal)?;
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
            .map_err(CoreError::internal)?;
        Ok(Session {
            token,
            expires_at: Timestamp::from_datetime(expires),
            user,
        })
    }

    /// Resolves an `Authorization: Bearer` credential.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal> {
        let key = crate::auth_cache::key(bearer);
        if let Some(principal) = self.auth_cache.get(&key) {
            return Ok(principal);
        }
        let generation = self.auth_cache.generation();
        let (principal, expires_at) = if bearer.starts_with(TOKEN_PREFIX) {
            self.authenticate_token(bearer).await?
        } else {
            self.authenticate_session(bearer).await?
        };
        let expires_in = expires_at.map(|at| (at.0 - Utc::now()).to_std().unwrap_or_default());
        self.auth_cache
            .put(key, principal.clone(), expires_in, generation);
        Ok(principal)
    }

    async fn authenticate_session(&self, jwt: &str) -> Result<(Principal, Option<Timestamp>)> {
        let claims = self.verify_jwt(jwt)?;
        let user = self.active_user(claims.sub).await?;
        // A password change ends every session issued before it.
        if claims.pwd != user.password_changed_at.0.timestamp_micros() {
            return Err(CoreError::Unauthenticated(
                "the session ended; log in again".into(),
            ));
        }
        let expires = chrono::DateTime::from_timestamp(claims.exp, 0).map(Timestamp::from_datetime);
        Ok((principal(&user, user.role.scopes()), expires))
    }

    fn verify_jwt(&self, token: &str) -> Result<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.auth.issuer]);
        validation.set_audience(&[&self.auth.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        self.decode_signed::<Claims>(token, &validation)?
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                let reason = match e.kind() {
                    ErrorKind::ExpiredSignature => "the session has expired; log in again",
                    ErrorKind::InvalidAudience | ErrorKind::InvalidIssuer => {
                        "the session was issued for another service"
                    }
                    _ => "invalid credentials",
                };
                CoreError::Unauthenticated(reason.into())
            })
    }

    /// Decodes a token this server signed, with its key or one it signed with before (so a
    /// key rotation keeps sessions and upload ids alive until they expire).
    pub(crate) fn decode_signed<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<std::result::Result<T, jsonwebtoken::errors::Error>> {
        let keys = std::iter::once(&self.auth.jwt_secret).chain(&self.auth.previous_jwt_secrets);
        let mut outcome = Err(jsonwebtoken::errors::ErrorKind::InvalidSignature.into());
        for secret in keys {
            let key = DecodingKey::from_secret(secret.expose_secret().as_bytes())
                .map_err(CoreError::internal)?;
            outcome = jsonwebtoken::decode::<T>(token, &key, validation);
            // Only a signature made with another key sends us on to the next key.
            if !matches!(&outcome, Err(e) if *e.kind() == jsonwebtoken::errors::ErrorKind::InvalidSignature)
            {
                break;
            }
        }
        Ok(outcome.map(|data| data.claims))
    }

    /// The user behind a credential, if it still exists and is not disabled.
    #[tracing::instrument(skip_all)]
    pub(crate) async fn active_user(&self, id: Uuid) -> Result<UserRecord> {
        match self.catalog.user_by_id(id).await? {
            Some(user) if !user.disabled => Ok(user),
            Some(_) => Err(CoreError::Unauthenticated(
                "this account is disabled".into(),
            )),
            None => Err(CoreError::Unauthenticated("unknown user".into())),
        }
    }

    /// Changes the caller's own password (the current one is required).
    #[tracing::instrument(skip_all)]
    pub async fn change_password(&self, who: &Principal, current: &str, new: &str) -> Result<()> {
        let user = self.active_user(who.user_id).await?;
        if !passwords::verify(current.to_owned(), Some(user.password_hash.clone())).await? {
            return Err(CoreError::Forbidden("the current password is wrong".into()));
        }
        let hash = passwords::hash(new.to_owned()).await?;
        self.catalog
            .set_password(user.id, &hash, &actor(who))
            .await?;
        self.auth_cache.clear();
        self.announce(caravan_domain::records::Change::Credentials);
        Ok(())
    }
}

/// The principal for a user holding these scopes (never more than the role allows).
pub(crate) fn principal(user: &UserRecord, scopes: impl IntoIterator<Item = Scope>) -> Principal {
    let allowed = user.role.scopes();
    Principal {
        user_id: user.id,
        username: user.username.clone(),
        role: user.role,
        scopes: scopes.into_iter().filter(|s| allowed.contains(s)).collect(),
    }
}

/// The audit actor for a principal.
pub fn actor(who: &Principal) -> Actor {
    Actor {
        user_id: who.user_id,
        username: who.username.clone(),
    }
}

/// Fails with 403 unless the principal holds `scope`.
pub fn require(who: &Principal, scope: Scope) -> Result<()> {
    if who.has_scope(scope) {
        Ok(())
    } else {
        Err(CoreError::Forbidden(format!(
            "this credential lacks the '{scope}' scope"
        )))
    }
}

/// Fails with 403 unless the principal is an admin with the admin scope.
pub fn require_admin(who: &Principal) -> Result<()> {
    require(who, Scope::Admin)?;
    if who.role != Role::Admin {
        return Err(CoreError::Forbidden("admins only".into()));
    }
    Ok(())
}
