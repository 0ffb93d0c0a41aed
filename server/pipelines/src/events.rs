//! Delivers the outbox: each event is POSTed to its hook as a CloudEvent (structured JSON),
//! signed like incoming webhooks (`X-Caravan-Timestamp`, `X-Caravan-Signature: sha256=...`),
//! retried with backoff until it is accepted (2xx) or `MAX_ATTEMPTS` have failed.

use std::time::Duration;

use caravan_domain::records::{OutboxRecord, Timestamp};
use caravan_outbound::{OutboundPolicy, Trust};

use crate::{Pipelines, webhook_signature};

/// Attempts before a delivery is given up (it stays in the outbox, marked failed).
pub const MAX_ATTEMPTS: i64 = 8;
/// Deliveries claimed at once by a worker.
const BATCH: i64 = 16;
/// How long one delivery may take before it counts as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a claimed batch stays with its worker: longer than delivering all of it one after
/// another can take, so no other replica claims (and sends again) what this one is sending.
const LEASE: Duration = Duration::from_secs(BATCH as u64 * DELIVERY_TIMEOUT.as_secs() + 30);

async fn deliver(
    http: &reqwest::Client,
    policy: &OutboundPolicy,
    record: &OutboxRecord,
) -> Result<(), String> {
    let body = serde_json::to_vec(&record.event).map_err(|e| e.to_string())?;
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let signature = webhook_signature(&record.secret, &timestamp, &body);
    let request = http
        .post(&record.url)
        .header(
            "content-type",
            "application/cloudevents+json; charset=utf-8",
        )
        .header("x-caravan-timestamp", timestamp)
        .header("x-caravan-signature", signature)
        .body(body);
    let response = policy
        .send(Trust::Admin, request)
        .await
        .map_err(|e| format!("sending: {e}"))?;
    match response.status() {
        s if s.is_success() => Ok(()),
        s => Err(format!("the receiver answered {s}")),
    }
}

impl Pipelines {
    /// Delivers what is due; returns how many deliveries were attempted.
    pub async fn deliver_events(&self, http: &reqwest::Client) -> usize {
        let lease = Timestamp::after(LEASE);
        let claimed = match self
            .store
            .catalog
            .claim_outbox(Timestamp::now(), lease, BATCH)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::error!(error = %e, "could not claim events to deliver");
                return 0;
            }
        };
        for record in &claimed {
            let result = match deliver(http, &self.settings.outbound, record).await {
                Ok(()) => self.store.catalog.outbox_delivered(record.id).await,
                Err(why) => {
                    let retry = (record.attempts < MAX_ATTEMPTS).then(|| {
                        let doubling = 2u32.saturating_pow(record.attempts.clamp(1, 12) as u32 - 1);
                        Timestamp::after(
                            (self.settings.retry_base * doubling).min(Duration::from_secs(3600)),
                        )
                    });
                    tracing::warn!(url = %record.url, attempt = record.attempts, %why, "an event delivery failed");
                    self.store
                        .catalog
                        .outbox_failed(record.id, &why, retry)
                        .await
                }
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "could not record an event delivery");
            }
        }
        claimed.len()
    }
}

/// Delivers events in the background; checks the outbox every second when it is idle.
pub fn spawn_event_delivery(p: Pipelines) {
    tokio::spawn(async move {
        // Event hooks: only admins define them.
        let http = p.settings.outbound.client(
            Trust::Admin,
            reqwest::Client::builder().timeout(DELIVERY_TIMEOUT),
        );
        loop {
            if p.deliver_events(&http).await == 0 {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
}
