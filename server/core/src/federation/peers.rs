//! Peers, shares and subscriptions.

use caravan_domain::records::{
    NewPeer, NewSubscription, PeerRecord, PeerStatus, SubscriptionRecord, Timestamp, WorkQueue,
};
use caravan_domain::{ConflictKind, Subject};
use caravan_domain::{ModelName, Principal, Scope, Visibility};
use uuid::Uuid;

use crate::{
    Core, CoreError, Result,
    auth::{actor, require_admin},
};

/// A peer to register, as an admin gives it.
#[derive(Debug, Clone)]
pub struct PeerRequest {
    pub name: String,
    pub api_url: String,
    pub subject: Option<String>,
    pub fingerprint: Option<String>,
    /// `ed25519:<base64 of the 32-byte public key>`; may be empty for a legacy Acumos peer.
    pub signing_key: String,
    /// A legacy Acumos gateway, whose unsigned revisions are imported as unverified.
    pub legacy_acumos: bool,
}

/// The actor for changes made from the command line (no signed-in user).
fn system() -> caravan_domain::records::Actor {
    caravan_domain::records::Actor {
        user_id: Uuid::nil(),
        username: "system".into(),
    }
}

fn check_peer(request: PeerRequest) -> Result<NewPeer> {
    // The name prefixes imported model names (<peer>:<model>), so it follows their rules.
    ModelName::parse(&request.name)
        .map_err(|e| CoreError::Invalid(format!("peer name: {}", e.0)))?;
    if !request.api_url.starts_with("https://") {
        return Err(CoreError::Invalid(
            "a peer's URL must start with https://".into(),
        ));
    }
    let fingerprint = request
        .fingerprint
        .map(|f| f.replace(':', "").to_lowercase())
        .filter(|f| !f.is_empty());
    if fingerprint
        .as_ref()
        .is_some_and(|f| f.len() != 64 || !f.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(CoreError::Invalid(
            "the fingerprint must be the certificate's SHA-256 in hex".into(),
        ));
    }
    let subject = request
        .subject
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if fingerprint.is_none() && subject.is_none() {
        return Err(CoreError::Invalid(
            "pin the peer's certificate subject, its fingerprint, or both".into(),
        ));
    }
    let key_ok = request
        .signing_key
        .strip_prefix("ed25519:")
        .and_then(|k| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, k).ok())
        .is_some_and(|k| k.len() == 32);
    // An Acumos gateway signs nothing: a legacy peer may have no key (one it has is checked).
    let keyless = request.legacy_acumos && request.signing_key.trim().is_empty();
    if !key_ok && !keyless {
        return Err(CoreError::Invalid(
            "the signing key must be ed25519:<base64 of 32 bytes>".into(),
        ));
    }
    Ok(NewPeer {
        name: request.name,
        api_url: request.api_url.trim_end_matches('/').to_owned(),
        subject,
        fingerprint,
        signing_key: request.signing_key.trim().to_owned(),
        legacy_acumos: request.legacy_acumos,
    })
}

impl Core {
    /// Registers a peer (admins; `None` is the command line).
    #[tracing::instrument(skip_all)]
    pub async fn add_peer(
        &self,
        who: Option<&Principal>,
        request: PeerRequest,
    ) -> Result<PeerRecord> {
        if let Some(who) = who {
            require_admin(who)?;
        }
        let peer = check_peer(request)?;
        let actor = who.map(actor).unwrap_or_else(system);
        Ok(self.catalog.create_peer(peer, &actor).await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn peers(&self, who: Option<&Principal>) -> Result<Vec<PeerRecord>> {
        if let Some(who) = who {
            require_admin(who)?;
        }
        Ok(self.catalog.peers().await?)
    }

    async fn peer_named(&self, name: &str) -> Result<PeerRecord> {
        self.catalog
            .peer_by_name(name)
            .await?
            .ok_or_else(|| CoreError::not_found(Subject::Peer, format!("no peer {name:?}")))
    }

    /// Enables, disables or removes a peer. Disabling cuts it off at its next request.
    #[tracing::instrument(skip_all)]
    pub async fn set_peer_status(
        &self,
        who: Option<&Principal>,
        name: &str,
        status: PeerStatus,
    ) -> Result<PeerRecord> {
        if let Some(who) = who {
            require_admin(who)?;
        }
        let peer = self.peer_named(name).await?;
        if peer.status == PeerStatus::Removed {
            return Err(CoreError::conflict(
                ConflictKind::InvalidState,
                format!("peer {name} was removed"),
            ));
        }
        let actor = who.map(actor).unwrap_or_else(system);
        self.catalog
            .set_peer_status(peer.id, status, &actor)
            .await?;
        self.peer_named(name).await
    }

    /// The active, registered peer presenting this certificate (the federation listener's
    /// check on every request).
    #[tracing::instrument(skip_all)]
    pub async fn peer_for_identity(&self, fingerprint: &str, subject: &str) -> Result<PeerRecord> {
        self.catalog
            .peer_by_identity(fingerprint, subject)
            .await?
            .ok_or_else(|| {
                CoreError::Forbidden("this certificate belongs to no active peer".into())
            })
    }

    /// Shares a model with a peer (the model's owner or an admin).
    #[tracing::instrument(skip_all)]
    pub async fn share_model(&self, who: &Principal, model: &ModelName, peer: &str) -> Result<()> {
        let model = self.managed_model(who, model, Scope::Publish).await?;
        let peer = self.peer_named(peer).await?;
        if model.name.is_imported() {
            return Err(CoreError::Invalid(
                "models imported from a peer are not shared onwards".into(),
            ));
        }
        Ok(self
            .catalog
            .share_model(model.id, peer.id, &actor(who))
            .await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn unshare_model(
        &self,
        who: &Principal,
        model: &ModelName,
        peer: &str,
    ) -> Result<()> {
        let model = self.managed_model(who, model, Scope::Publish).await?;
        let peer = self.peer_named(peer).await?;
        self.catalog
            .unshare_model(model.id, peer.id, &actor(who))
            .await
            .map_err(|e| match e {
                caravan_catalog::CatalogError::NotFound(_) => CoreError::not_found(
                    Subject::Share,
                    format!("{} is not shared with {}", model.name, peer.name),
                ),
                other => other.into(),
            })
    }

    #[tracing::instrument(skip_all)]
    pub async fn model_shares(
        &self,
        who: &Principal,
        model: &ModelName,
    ) -> Result<Vec<PeerRecord>> {
        let model = self.managed_model(who, model, Scope::Read).await?;
        Ok(self.catalog.model_shares(model.id).await?)
    }

    /// Subscribes to a peer's catalog (admins): its models are imported as `<peer>:<name>`,
    /// owned by `who` (or by the admin the command line names), with `visibility`.
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(skip_all)]
    pub async fn subscribe(
        &self,
        who: Option<&Principal>,
        owner: Option<&str>,
        peer: &str,
        catalog_id: &str,
        models: Vec<String>,
        interval_secs: i64,
        visibility: Visibility,
    ) -> Result<SubscriptionRecord> {
        if let Some(who) = who {
            require_admin(who)?;
        }
        let owner =
            match (who, owner) {
                (_, Some(name)) => self.catalog.user_by_name(name).await?.ok_or_else(|| {
                    CoreError::not_found(Subject::User, format!("no user {name:?}"))
                })?,
                (Some(who), None) => self.active_user(who.user_id).await?,
                (None, None) => {
                    return Err(CoreError::Invalid(
                        "name the local owner of imported models".into(),
                    ));
                }
            };
        let peer = self.peer_named(peer).await?;
        // An Acumos gateway names its catalogs by UUID (GET /catalogs lists them).
        let known = match peer.legacy_acumos {
            true => Uuid::parse_str(catalog_id).is_ok(),
            false => matches!(catalog_id, "public" | "shared"),
        };
        if !known {
            return Err(CoreError::Invalid(match peer.legacy_acumos {
                true => "an Acumos gateway's catalog is its catalogId (a UUID)".into(),
                false => "the catalog is \"public\" or \"shared\"".into(),
            }));
        }
        if !(10..=30 * 86_400).contains(&interval_secs) {
            return Err(CoreError::Invalid("the interval is 10 s to 30 days".into()));
        }
        for model in &models {
            ModelName::parse(model)
                .map_err(|e| CoreError::Invalid(format!("model {model:?}: {}", e.0)))?;
        }
        let new = NewSubscription {
            peer_id: peer.id,
            catalog_id: catalog_id.into(),
            models,
            interval_secs,
            visibility,
            owner_id: owner.id,
        };
        let actor = who.map(actor).unwrap_or_else(system);
        let created = self.catalog.create_subscription(new, &actor).await?;
        self.wake(WorkQueue::Sync);
        Ok(created)
    }

    #[tracing::instrument(skip_all)]
    pub async fn subscriptions(&self, who: Option<&Principal>) -> Result<Vec<SubscriptionRecord>> {
        if let Some(who) = who {
            require_admin(who)?;
        }
        Ok(self.catalog.subscriptions().await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn unsubscribe(&self, who: Option<&Principal>, id: Uuid) -> Result<()> {
        if let Some(who) = who {
            require_admin(who)?;
        }
        let actor = who.map(actor).unwrap_or_else(system);
        self.catalog
            .delete_subscription(id, &actor)
            .await
            .map_err(|e| match e {
                caravan_catalog::CatalogError::NotFound(_) => {
                    CoreError::not_found(Subject::Subscription, "no such subscription")
                }
                other => other.into(),
            })
    }

    /// Makes a subscription due at once and wakes the sync workers of every replica.
    #[tracing::instrument(skip_all)]
    pub async fn sync_now(&self, who: &Principal, id: Uuid) -> Result<SubscriptionRecord> {
        require_admin(who)?;
        let subscription =
            self.catalog.subscription(id).await?.ok_or_else(|| {
                CoreError::not_found(Subject::Subscription, "no such subscription")
            })?;
        self.catalog
            .schedule_subscription(id, Timestamp::now())
            .await?;
        self.wake(WorkQueue::Sync);
        Ok(subscription)
    }
}

impl Core {
    /// Claims the next due subscription for `lease` (the sync worker).
    #[tracing::instrument(skip_all)]
    pub async fn next_due_subscription(
        &self,
        lease: std::time::Duration,
    ) -> Result<Option<SubscriptionRecord>> {
        let now = chrono::Utc::now();
        let until = now + chrono::Duration::from_std(lease).map_err(CoreError::internal)?;
        Ok(self
            .catalog
            .claim_due_subscription(
                Timestamp::from_datetime(now),
                Timestamp::from_datetime(until),
            )
            .await?)
    }

    /// Extends a claimed subscription's lease by `lease` from now; `false` if it is no longer
    /// claimed (deleted meanwhile).
    #[tracing::instrument(skip_all)]
    pub async fn renew_sync(&self, id: Uuid, lease: std::time::Duration) -> Result<bool> {
        Ok(self
            .catalog
            .renew_subscription(id, Timestamp::after(lease))
            .await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn finish_sync(
        &self,
        id: Uuid,
        outcome: caravan_domain::records::SyncOutcome,
    ) -> Result<()> {
        Ok(self.catalog.finish_subscription(id, outcome).await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn peer_by_id(&self, id: Uuid) -> Result<PeerRecord> {
        self.catalog
            .peer_by_id(id)
            .await?
            .ok_or_else(|| CoreError::not_found(Subject::Peer, "no such peer"))
    }

    #[tracing::instrument(skip_all)]
    pub async fn provenance(
        &self,
        model: &caravan_domain::records::ModelRecord,
    ) -> Result<Option<caravan_domain::records::ProvenanceRecord>> {
        Ok(self.catalog.provenance(model.id).await?)
    }
}
