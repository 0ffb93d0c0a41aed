//! Triggers besides new dataset versions: cron schedules, and an incoming webhook that an
//! external system calls, signed with HMAC-SHA256 over a timestamp and the body (old
//! timestamps and replayed signatures are refused; secrets rotate with one grace secret).

use caravan_core::{CoreError, Result, actor};
use caravan_domain::Principal;
use caravan_domain::records::{PipelineRecord, RunRecord, Timestamp};
use caravan_domain::{ConflictKind, Subject};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::{Pipelines, spec};

/// How far a webhook's timestamp may be from this server's clock, in seconds.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;

/// `sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>").
pub fn webhook_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn verify(secret: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Some(given) = signature
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

impl Pipelines {
    /// Sets (or clears) a pipeline's next scheduled run from its spec.
    pub(crate) async fn schedule(
        &self,
        pipeline: &PipelineRecord,
        spec: &spec::PipelineSpec,
    ) -> Result<()> {
        let next = match &spec.trigger.cron {
            Some(cron) => Some(Timestamp(
                spec::next_run(cron, chrono::Utc::now()).map_err(CoreError::Invalid)?,
            )),
            None => None,
        };
        Ok(self.store.catalog.set_schedule(pipeline.id, next).await?)
    }

    /// Queues a run of every pipeline whose schedule fired; returns how many.
    pub async fn fire_due_schedules(&self) -> Result<usize> {
        let now = Timestamp::now();
        let mut fired = 0;
        for (id, at) in self.store.catalog.due_schedules(now).await? {
            let Some(pipeline) = self.store.catalog.pipeline_by_id(id).await? else {
                continue;
            };
            let next = spec::parse(pipeline.spec.clone())
                .ok()
                .and_then(|s| s.trigger.cron)
                .and_then(|cron| spec::next_run(&cron, now.0.max(at.0)).ok())
                .map(Timestamp);
            // Only the replica that moves the schedule queues the run.
            let trigger = format!("schedule {}", at.0.format("%Y-%m-%dT%H:%M:%SZ"));
            if self
                .store
                .catalog
                .fire_schedule(id, at, next, &trigger)
                .await?
            {
                fired += 1;
            }
        }
        if fired > 0 {
            self.wake();
        }
        Ok(fired)
    }

    /// Makes a new webhook secret (shown once); the previous one stays valid until the next
    /// rotation, so senders can switch without a gap.
    pub async fn rotate_webhook_secret(&self, who: &Principal, name: &str) -> Result<String> {
        let pipeline = self.managed(who, name).await?;
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!("whsec_{}", hex::encode(bytes));
        let mut secrets = self.store.catalog.webhook_secrets(pipeline.id).await?;
        secrets.insert(0, secret.clone());
        secrets.truncate(2);
        self.store
            .catalog
            .set_webhook_secrets(pipeline.id, &secrets, &actor(who))
            .await?;
        Ok(secret)
    }

    /// Verifies an incoming webhook call and queues a run.
    pub async fn incoming_webhook(
        &self,
        name: &str,
        timestamp: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<RunRecord> {
        let pipeline = self
            .store
            .catalog
            .pipeline_by_name(name)
            .await?
            .ok_or_else(|| {
                CoreError::not_found(Subject::Pipeline, format!("pipeline {name} not found"))
            })?;
        let secrets = self.store.catalog.webhook_secrets(pipeline.id).await?;
        if secrets.is_empty() {
            return Err(CoreError::not_found(
                Subject::Pipeline,
                format!("pipeline {name} has no webhook secret"),
            ));
        }
        let sent = timestamp.parse::<i64>().map_err(|_| {
            CoreError::Unauthenticated(
                "X-Caravan-Timestamp must be the Unix time in seconds".into(),
            )
        })?;
        if (chrono::Utc::now().timestamp() - sent).abs() > WEBHOOK_TOLERANCE_SECS {
            return Err(CoreError::Unauthenticated(format!(
                "the webhook's timestamp is more than {WEBHOOK_TOLERANCE_SECS} s from this server's clock"
            )));
        }
        if !secrets
            .iter()
            .any(|s| verify(s, timestamp, body, signature))
        {
            return Err(CoreError::Unauthenticated(
                "the webhook's signature does not match".into(),
            ));
        }
        if !self
            .store
            .catalog
            .record_delivery(pipeline.id, signature, Timestamp::now())
            .await?
        {
            return Err(CoreError::conflict(
                ConflictKind::InvalidState,
                "this webhook call was already received (a replay)",
            ));
        }
        let run = self
            .store
            .catalog
            .enqueue_run(pipeline.id, "webhook", None)
            .await?;
        self.wake();
        Ok(run)
    }
}

/// Fires schedules and forgets old webhook signatures, every `poll`.
pub fn spawn_scheduler(p: Pipelines) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(p.settings.poll).await;
            if let Err(e) = p.fire_due_schedules().await {
                tracing::error!(error = %e, "could not fire pipeline schedules");
            }
            // Signatures older than the tolerance can no longer be replayed: their timestamp
            // is refused first.
            let before = Timestamp(
                Timestamp::now().0 - chrono::Duration::seconds(2 * WEBHOOK_TOLERANCE_SECS),
            );
            if let Err(e) = p.store.catalog.prune_deliveries(before).await {
                tracing::warn!(error = %e, "could not prune webhook deliveries");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_timestamp_and_body() {
        let signature = webhook_signature("s3cret", "1700000000", b"{}");
        assert!(verify("s3cret", "1700000000", b"{}", &signature));
        assert!(!verify("other", "1700000000", b"{}", &signature));
        assert!(!verify("s3cret", "1700000001", b"{}", &signature));
        assert!(!verify("s3cret", "1700000000", b"{ }", &signature));
        assert!(!verify("s3cret", "1700000000", b"{}", "sha256=zz"));
    }
}
