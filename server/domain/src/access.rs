//! Who may do what: roles, token scopes, model visibility and the rules that combine them.

use std::{collections::BTreeSet, fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::NameError;

/// A user's role. Admins may read and manage everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

/// What a credential may do. A login session carries every scope its user's role allows;
/// an API token carries the scopes it was created with.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read models the user can see and download them.
    Read,
    /// Push new models and versions, edit and delete one's own models.
    Publish,
    /// Move aliases, load and unload served models.
    Deploy,
    /// Manage users, peers and everything else.
    Admin,
}

impl Role {
    /// The scopes a login session of this role carries.
    pub fn scopes(self) -> BTreeSet<Scope> {
        let mut scopes = BTreeSet::from([Scope::Read, Scope::Publish, Scope::Deploy]);
        if self == Role::Admin {
            scopes.insert(Scope::Admin);
        }
        scopes
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
}

impl FromStr for Role {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            other => Err(NameError(format!("unknown role {other:?} (admin, user)"))),
        }
    }
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Publish => "publish",
            Scope::Deploy => "deploy",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Scope::Read),
            "publish" => Ok(Scope::Publish),
            "deploy" => Ok(Scope::Deploy),
            "admin" => Ok(Scope::Admin),
            other => Err(NameError(format!(
                "unknown scope {other:?} (read, publish, deploy, admin)"
            ))),
        }
    }
}

/// Parses a list of scope names, refusing unknown ones and an empty list.
pub fn parse_scopes<S: AsRef<str>>(raw: &[S]) -> Result<BTreeSet<Scope>, NameError> {
    let scopes = raw
        .iter()
        .map(|s| s.as_ref().parse())
        .collect::<Result<BTreeSet<Scope>, _>>()?;
    if scopes.is_empty() {
        return Err(NameError("at least one scope is required".into()));
    }
    Ok(scopes)
}

/// Who can see a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Its owner and admins only; everyone else gets a 404.
    Private,
    /// Every signed-in user of this instance.
    Organization,
    /// Everyone, including anonymous visitors.
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Organization => "organization",
            Visibility::Public => "public",
        }
    }
}

impl FromStr for Visibility {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "private" => Ok(Visibility::Private),
            "organization" => Ok(Visibility::Organization),
            "public" => Ok(Visibility::Public),
            other => Err(NameError(format!(
                "unknown visibility {other:?} (private, organization, public)"
            ))),
        }
    }
}

/// An authenticated caller: a user, and the scopes of the credential they used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    pub scopes: BTreeSet<Scope>,
}

impl Principal {
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin && self.has_scope(Scope::Admin)
    }

    /// May this caller see a model with this owner and visibility?
    pub fn can_see(&self, owner_id: Uuid, visibility: Visibility) -> bool {
        visibility != Visibility::Private || owner_id == self.user_id || self.role == Role::Admin
    }

    /// May this caller change or delete a model with this owner (scope checked separately)?
    /// Others' models need an admin credential: an admin's narrower token does not do.
    pub fn can_manage(&self, owner_id: Uuid) -> bool {
        owner_id == self.user_id || self.is_admin()
    }
}

/// May an anonymous or authenticated caller see a model?
pub fn can_see(viewer: Option<&Principal>, owner_id: Uuid, visibility: Visibility) -> bool {
    match viewer {
        Some(p) => p.can_see(owner_id, visibility),
        None => visibility == Visibility::Public,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal {
            user_id: Uuid::new_v4(),
            username: "u".into(),
            role,
            scopes: role.scopes(),
        }
    }

    #[test]
    fn private_models_are_visible_to_owner_and_admins_only() {
        let owner = principal(Role::User);
        let other = principal(Role::User);
        let admin = principal(Role::Admin);
        assert!(owner.can_see(owner.user_id, Visibility::Private));
        assert!(!other.can_see(owner.user_id, Visibility::Private));
        assert!(admin.can_see(owner.user_id, Visibility::Private));
        assert!(!can_see(None, owner.user_id, Visibility::Private));
        assert!(!can_see(None, owner.user_id, Visibility::Organization));
        assert!(can_see(None, owner.user_id, Visibility::Public));
        assert!(can_see(
            Some(&other),
            owner.user_id,
            Visibility::Organization
        ));
    }

    #[test]
    fn managing_others_models_needs_an_admin_credential() {
        let owner = principal(Role::User);
        let mut admin = principal(Role::Admin);
        assert!(owner.can_manage(owner.user_id));
        assert!(admin.can_manage(owner.user_id));
        admin.scopes = BTreeSet::from([Scope::Read, Scope::Publish]);
        assert!(
            !admin.can_manage(owner.user_id),
            "a narrower token of an admin"
        );
        assert!(!principal(Role::User).can_manage(owner.user_id));
    }

    #[test]
    fn only_admins_carry_the_admin_scope() {
        assert!(Role::Admin.scopes().contains(&Scope::Admin));
        assert!(!Role::User.scopes().contains(&Scope::Admin));
        assert!(parse_scopes::<&str>(&[]).is_err());
        assert!(parse_scopes(&["read", "root"]).is_err());
        assert_eq!(parse_scopes(&["read", "read"]).unwrap().len(), 1);
    }
}
