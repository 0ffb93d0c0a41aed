//! Anti-forgery tokens for browser forms: an HMAC (keyed with the instance's JWT secret) of a
//! random per-browser nonce and the session, so a token is useless in another browser, after
//! logging out, or to a site that cannot read the victim's HttpOnly cookies.

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use crate::Core;

impl Core {
    fn csrf_mac(&self, nonce: &str, session: &str) -> Hmac<Sha256> {
        let key = self.auth.jwt_secret.expose_secret().as_bytes();
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
        hex::encode(self.csrf_mac(nonce, session).finalize().into_bytes())
    }

    /// Checks a submitted form token in constant time.
    pub fn csrf_valid(&self, nonce: &str, session: &str, submitted: &str) -> bool {
        let Ok(submitted) = hex::decode(submitted) else {
            return false;
        };
        !nonce.is_empty()
            && self
                .csrf_mac(nonce, session)
                .verify_slice(&submitted)
                .is_ok()
    }
}
