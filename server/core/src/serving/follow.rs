//! Following an alias (what a runner in follow mode asks): where the alias points, with the
//! version's sha256 and size so the follower can check what it downloads, and a long poll
//! that answers as soon as the alias points elsewhere.
//!
//! A long poll rather than server-sent events or a call to the runner: it passes every proxy
//! and load balancer as a plain request, needs no address on the runner's side (runners at the
//! edge sit behind NAT), and costs one request per change or per wait. Changes made through
//! this process wake the waiters at once; another replica's are seen within a second, when
//! the waiter looks at the catalog again.

use std::time::Duration;

use caravan_domain::{AliasName, ModelName, Principal, Subject};

use crate::{Core, CoreError, Result};

/// Longest wait a follower may ask for.
pub const MAX_FOLLOW_WAIT: Duration = Duration::from_secs(60);
/// How often a waiter looks at the catalog for changes made elsewhere.
const RECHECK: Duration = Duration::from_secs(1);

/// Where an alias points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedAlias {
    pub alias: String,
    pub version: i64,
    pub sha256: String,
    pub size: i64,
}

impl Core {
    /// Where `alias` of `name` points. With `after`, waits up to `wait` (at most
    /// [`MAX_FOLLOW_WAIT`]) while it still points to that version, then answers where it
    /// points then.
    #[tracing::instrument(skip_all, fields(model = %name, alias = %alias))]
    pub async fn follow_alias(
        &self,
        who: Option<&Principal>,
        name: &ModelName,
        alias: &AliasName,
        after: Option<i64>,
        wait: Duration,
    ) -> Result<FollowedAlias> {
        let deadline = tokio::time::Instant::now() + wait.min(MAX_FOLLOW_WAIT);
        let mut changes = self.alias_changes.subscribe();
        loop {
            // Marked seen before the look, so a change during it wakes the next wait.
            changes.borrow_and_update();
            let current = self.alias_target(who, name, alias).await?;
            if after != Some(current.version) || tokio::time::Instant::now() >= deadline {
                return Ok(current);
            }
            let next = (tokio::time::Instant::now() + RECHECK).min(deadline);
            tokio::select! {
                _ = changes.changed() => {}
                () = tokio::time::sleep_until(next) => {}
            }
        }
    }

    async fn alias_target(
        &self,
        who: Option<&Principal>,
        name: &ModelName,
        alias: &AliasName,
    ) -> Result<FollowedAlias> {
        let model = self.visible_model(who, name).await?;
        let version = self
            .catalog
            .aliases(model.id)
            .await?
            .into_iter()
            .find(|a| a.alias == alias.as_str())
            .ok_or_else(|| {
                CoreError::not_found(Subject::Alias, format!("model {name} has no alias {alias}"))
            })?
            .version;
        let record = self
            .catalog
            .version(model.id, version)
            .await?
            .ok_or_else(|| {
                CoreError::not_found(
                    Subject::Version,
                    format!("model {name} has no version {version}"),
                )
            })?;
        Ok(FollowedAlias {
            alias: alias.to_string(),
            version,
            sha256: record.sha256,
            size: record.size,
        })
    }

    /// Wakes the followers of aliases (after an alias or a version changed here).
    pub(crate) fn aliases_changed(&self) {
        self.alias_changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}
