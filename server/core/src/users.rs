//! User accounts: the bootstrap admin, creation by admins or the CLI, enabling and disabling.

use caravan_domain::ConflictKind;
use caravan_domain::records::{NewUser, UserRecord};
use caravan_domain::{Principal, Role};
use rand::RngCore;
use uuid::Uuid;

use crate::{
    Core, CoreError, Result,
    auth::{actor, require_admin},
    passwords,
};

/// Longest username, in characters.
pub const MAX_USERNAME: usize = 64;

/// Usernames: 1-64 characters of `a-z 0-9 - _ .`, starting with a letter or digit.
pub fn is_valid_username(name: &str) -> bool {
    (1..=MAX_USERNAME).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-' | '_' | '.'))
}

impl Core {
    /// On an empty database, creates the user `admin` with `password` or a generated one.
    /// Returns the generated password, which the caller prints once.
    #[tracing::instrument(skip_all)]
    pub async fn bootstrap_admin(&self, password: Option<String>) -> Result<Option<String>> {
        if self.catalog.count_users().await? > 0 {
            return Ok(None);
        }
        let generated = password.is_none();
        let password = password.unwrap_or_else(generate_password);
        let hash = passwords::hash(password.clone()).await?;
        let new = NewUser {
            username: "admin".into(),
            role: Role::Admin,
            password_hash: hash,
        };
        match self.catalog.create_user(new, None).await {
            Ok(_) => Ok(generated.then_some(password)),
            // Another replica bootstrapped first.
            Err(caravan_catalog::CatalogError::Conflict { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates a user. `who` is `None` for the CLI, which acts with the server's own authority.
    #[tracing::instrument(skip_all)]
    pub async fn create_user(
        &self,
        who: Option<&Principal>,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<UserRecord> {
        if let Some(who) = who {
            require_admin(who)?;
        }
        if !is_valid_username(username) {
            return Err(CoreError::Invalid(
                "a username is 1-64 characters of a-z, 0-9, '-', '_' and '.', starting with a \
                 letter or digit"
                    .into(),
            ));
        }
        let hash = passwords::hash(password.to_owned()).await?;
        let new = NewUser {
            username: username.to_owned(),
            role,
            password_hash: hash,
        };
        let actor = who.map(actor);
        Ok(self.catalog.create_user(new, actor.as_ref()).await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_users(&self, who: &Principal) -> Result<Vec<UserRecord>> {
        require_admin(who)?;
        Ok(self.catalog.list_users().await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn set_user_disabled(&self, who: &Principal, id: Uuid, disabled: bool) -> Result<()> {
        require_admin(who)?;
        if id == who.user_id && disabled {
            return Err(CoreError::conflict(
                ConflictKind::InvalidState,
                "you cannot disable your own account",
            ));
        }
        self.catalog
            .set_user_disabled(id, disabled, &actor(who))
            .await?;
        self.auth_cache.clear();
        self.announce(caravan_domain::records::Change::Credentials);
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn current_user(&self, who: &Principal) -> Result<UserRecord> {
        self.active_user(who.user_id).await
    }
}

fn generate_password() -> String {
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Core {
    /// Acts as `user_id` with their role's scopes: for work done on a user's behalf, such as
    /// the runs of a pipeline they own. A disabled or missing user cannot be acted for.
    #[tracing::instrument(skip_all)]
    pub async fn principal_of(&self, user_id: uuid::Uuid) -> Result<caravan_domain::Principal> {
        match self.catalog.user_by_id(user_id).await? {
            Some(user) if !user.disabled => Ok(crate::auth::principal(&user, user.role.scopes())),
            _ => Err(CoreError::Forbidden(
                "the owner of this pipeline is disabled or gone".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn usernames_follow_the_documented_alphabet() {
        for ok in ["admin", "a", "ci-bot_2", "j.doe"] {
            assert!(super::is_valid_username(ok), "{ok}");
        }
        for bad in ["", "Admin", "-x", "a b", "é", "a/b", &"x".repeat(65)] {
            assert!(!super::is_valid_username(bad), "{bad:?}");
        }
    }
}
