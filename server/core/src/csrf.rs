//! Anti-forgery tokens for browser forms: an HMAC (keyed with the instance's JWT secret) of a
//! random per-browser nonce and the session, so a token is useless in another browser, after
//! logging out, or to a site that cannot read the victim's HttpOnly cookies.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::Core;

impl Core {
    fn csrf_mac(&self, key: &SecretString, nonce: &str, session: &str) -> Hmac<Sha256> {
        let key = key.expose_secret().as_bytes();
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        for part in [
            b"caravan-csrf".as_slice(),
            nonce.as_bytes(),
            session.as_bytes(),
        ] {
            mac.update(part);
            mac.update(b"\0");
        }
        mac
    }

    /// The form token for this browser nonce and session credential (empty when signed out).
    pub fn csrf_token(&self, nonce: &str, session: &str) -> String {
        let key = &self.auth.jwt_secret;
        hex::encode(self.csrf_mac(key, nonce, session).finalize().into_bytes())
    }

    /// Checks a submitted form token in constant time (against the previous keys too, so
    /// pages opened before a key rotation still submit).
    pub fn csrf_valid(&self, nonce: &str, session: &str, submitted: &str) -> bool {
        let Ok(submitted) = hex::decode(submitted) else {
            return false;
        };
        !nonce.is_empty()
            && std::iter::once(&self.auth.jwt_secret)
                .chain(&self.auth.previous_jwt_secrets)
                .any(|key| {
                    self.csrf_mac(key, nonce, session)
                        .verify_slice(&submitted)
                        .is_ok()
                })
    }
}
