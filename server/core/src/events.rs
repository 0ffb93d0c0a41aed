//! Outgoing events: CloudEvents (JSON, structured mode) put in the outbox of every hook that
//! wants them; a worker delivers them with retries.

use crate::Core;
use caravan_domain::Subject;

/// The types Caravan emits.
pub const VERSION_CREATED: &str = "dev.caravan.model.version.created";
pub const ALIAS_CHANGED: &str = "dev.caravan.model.alias.changed";
pub const RUN_FINISHED: &str = "dev.caravan.pipeline.run.finished";
pub const EVENT_TYPES: [&str; 3] = [VERSION_CREATED, ALIAS_CHANGED, RUN_FINISHED];

impl Core {
    /// Queues an event about `subject`. The change it reports is already committed, so a
    /// failure here is logged rather than undoing it.
    #[tracing::instrument(skip_all)]
    pub async fn emit(&self, kind: &str, subject: &str, data: serde_json::Value) {
        let event = serde_json::json!({
            "specversion": "1.0",
            "id": uuid::Uuid::new_v4(),
            "source": "/caravan",
            "type": kind,
            "subject": subject,
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "datacontenttype": "application/json",
            "data": data,
        });
        if let Err(e) = self.catalog.enqueue_event(kind, &event).await {
            tracing::error!(error = %e, kind, subject, "could not queue an event");
        }
    }
}

use caravan_domain::Principal;
use caravan_domain::records::{HookRecord, OutboxRecord};
use rand::RngCore;

use crate::{CoreError, Result, actor, require_admin};

impl Core {
    /// Registers a receiver of events (admins). Its signing secret is returned once, here.
    #[tracing::instrument(skip_all)]
    pub async fn create_hook(
        &self,
        who: &Principal,
        url: &str,
        events: Vec<String>,
    ) -> Result<HookRecord> {
        require_admin(who)?;
        let url = url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
            return Err(CoreError::Invalid(
                "url: an http:// or https:// address".into(),
            ));
        }
        if events.is_empty() {
            return Err(CoreError::Invalid(format!(
                "events: one or more of {}, or *",
                EVENT_TYPES.join(", ")
            )));
        }
        if let Some(unknown) = events
            .iter()
            .find(|e| *e != "*" && !EVENT_TYPES.contains(&e.as_str()))
        {
            return Err(CoreError::Invalid(format!(
                "events: unknown type {unknown:?} (one of {}, or *)",
                EVENT_TYPES.join(", ")
            )));
        }
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!("whsec_{}", hex::encode(bytes));
        Ok(self
            .catalog
            .create_hook(url, &events, &secret, &actor(who))
            .await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn hooks(&self, who: &Principal) -> Result<Vec<HookRecord>> {
        require_admin(who)?;
        Ok(self.catalog.hooks().await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_hook(&self, who: &Principal, id: uuid::Uuid) -> Result<()> {
        require_admin(who)?;
        self.catalog
            .delete_hook(id, &actor(who))
            .await
            .map_err(|e| match e {
                caravan_catalog::CatalogError::NotFound(_) => {
                    CoreError::not_found(Subject::Webhook, format!("no webhook {id}"))
                }
                other => other.into(),
            })
    }

    /// A hook's recent deliveries, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn hook_deliveries(
        &self,
        who: &Principal,
        id: uuid::Uuid,
    ) -> Result<Vec<OutboxRecord>> {
        require_admin(who)?;
        Ok(self.catalog.hook_deliveries(id, 200).await?)
    }
}
