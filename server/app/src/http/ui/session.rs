//! Browser sessions: the session credential lives in an HttpOnly, SameSite=Lax cookie, and a
//! random per-browser nonce in another; every state-changing form (and every script call to the
//! API that relies on the cookie) carries a token derived from both (see `Core::csrf_token`).

use std::future::Future;
use std::pin::Pin;

use actix_web::{
    FromRequest, HttpRequest,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    dev::Payload,
    web,
};
use caravan_core::Core;
use caravan_domain::Principal;
use rand::RngCore;

use super::UiError;

pub const SESSION_COOKIE: &str = "caravan_session";
pub const NONCE_COOKIE: &str = "caravan_csrf";
/// The header scripts send the form token in when they call the API with the session cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// What pages need to know about how this instance is reached.
#[derive(Clone, Debug, Default)]
pub struct UiConfig {
    /// Mark cookies `Secure` (the instance is reached over HTTPS).
    pub secure: bool,
    /// The URL users reach the instance at, for snippets; empty: the request's host.
    pub public_url: String,
}

/// Whoever is looking at a page: the signed-in user, if any, and their form token.
pub struct Visitor {
    pub who: Option<Principal>,
    session: String,
    nonce: String,
    new_nonce: bool,
    /// The token every form of the page carries.
    pub csrf: String,
    secure: bool,
}

impl Visitor {
    /// The signed-in user, or a redirect to the login page that comes back to `here`.
    pub fn require(&self, here: &str) -> Result<&Principal, UiError> {
        self.who
            .as_ref()
            .ok_or_else(|| UiError::Login(here.to_owned()))
    }

    /// Refuses a form whose token is missing or was made for another browser or session.
    pub fn check_csrf(&self, core: &Core, submitted: &str) -> Result<(), UiError> {
        if self.new_nonce || !core.csrf_valid(&self.nonce, &self.session, submitted) {
            return Err(UiError::Csrf);
        }
        Ok(())
    }

    /// Cookies a response to this visitor must set (the nonce, the first time).
    pub fn cookies(&self) -> Vec<Cookie<'static>> {
        if !self.new_nonce {
            return Vec::new();
        }
        vec![
            Cookie::build(NONCE_COOKIE, self.nonce.clone())
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(self.secure)
                .finish(),
        ]
    }

    /// The session cookie for a new login.
    pub fn session_cookie(&self, token: String, ttl_secs: i64) -> Cookie<'static> {
        Cookie::build(SESSION_COOKIE, token)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(CookieDuration::seconds(ttl_secs))
            .finish()
    }

    /// A cookie that removes the session.
    pub fn logout_cookie(&self) -> Cookie<'static> {
        let mut cookie = Cookie::build(SESSION_COOKIE, "")
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .finish();
        cookie.make_removal();
        cookie
    }
}

fn core(req: &HttpRequest) -> web::Data<Core> {
    req.app_data::<web::Data<Core>>()
        .expect("Core is registered as app data")
        .clone()
}

impl FromRequest for Visitor {
    type Error = UiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let core = core(&req);
            let secure = req
                .app_data::<web::Data<UiConfig>>()
                .is_some_and(|p| p.secure);
            let mut session = req
                .cookie(SESSION_COOKIE)
                .map(|c| c.value().to_owned())
                .unwrap_or_default();
            // An expired or revoked session is simply a signed-out visitor.
            let who = match session.as_str() {
                "" => None,
                token => core.authenticate(token).await.ok(),
            };
            if who.is_none() {
                session.clear();
            }
            let (nonce, new_nonce) = match req.cookie(NONCE_COOKIE) {
                Some(c) if c.value().len() == 64 => (c.value().to_owned(), false),
                _ => {
                    let mut bytes = [0u8; 32];
                    rand::rng().fill_bytes(&mut bytes);
                    (hex::encode(bytes), true)
                }
            };
            let csrf = core.csrf_token(&nonce, &session);
            Ok(Visitor {
                who,
                session,
                nonce,
                new_nonce,
                csrf,
                secure,
            })
        })
    }
}

/// The session credential of a script's API call: the cookie counts only with a valid
/// `X-CSRF-Token` header, which another site cannot send.
pub fn api_session(req: &HttpRequest, core: &Core) -> Option<String> {
    let session = req.cookie(SESSION_COOKIE)?;
    let nonce = req.cookie(NONCE_COOKIE)?;
    let header = req.headers().get(CSRF_HEADER)?.to_str().ok()?;
    core.csrf_valid(nonce.value(), session.value(), header)
        .then(|| session.value().to_owned())
}
