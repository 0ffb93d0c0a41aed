//! Webhook trainers: training on an external orchestrator (NiFi, Airflow, Argo, a Kubernetes
//! Job, CI). Caravan POSTs a signed job request; the orchestrator fetches the dataset, trains,
//! onboards the model through the normal API and reports the version (or the failure) to
//! `POST /api/v1/pipelines/{name}/runs/{id}/report`; the run waits for that report.

use caravan_domain::ConflictKind;
use std::time::Duration;

use caravan_core::{CoreError, Result, require};
use caravan_domain::records::{DatasetVersionRecord, RunRecord, RunReport, Timestamp};
use caravan_domain::{ModelName, Principal, Scope, VersionRef};

use crate::{
    Pipelines, StepError,
    heartbeat::Heartbeat,
    spec::{PipelineSpec, WebhookTrainer},
    webhook_signature,
};

impl Pipelines {
    /// Sends the job and waits for its report; returns the version the orchestrator onboarded.
    pub(crate) async fn train_remotely(
        &self,
        run: &RunRecord,
        owner: &Principal,
        spec: &PipelineSpec,
        dataset: &DatasetVersionRecord,
        webhook: &WebhookTrainer,
        heartbeat: &Heartbeat,
    ) -> Result<i64, StepError> {
        let secrets = self
            .store
            .catalog
            .webhook_secrets(run.pipeline_id)
            .await
            .map_err(|e| StepError::Retryable(e.to_string()))?;
        let secret = secrets.first().ok_or_else(|| StepError::Permanent(
            "a webhook trainer signs its job with the pipeline's webhook secret: create one with POST .../webhook-secret".into(),
        ))?;
        let base = self.settings.public_url.trim_end_matches('/');
        let job = serde_json::json!({
            "run_id": run.id,
            "pipeline": spec.name,
            "model": spec.model,
            "dataset": {
                "name": dataset.dataset, "version": dataset.version, "sha256": dataset.sha256,
                "content_url": format!("{base}/api/v1/datasets/{}/versions/{}/content", dataset.dataset, dataset.version),
            },
            "params": spec.train.as_ref().map(|t| &t.params),
            "onboard_url": format!("{base}/api/v1/models/{}/versions", spec.model),
            "report_url": format!("{base}/api/v1/pipelines/{}/runs/{}/report", spec.name, run.id),
        });
        let body = serde_json::to_vec(&job).expect("a job serializes");
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let request = self
            .http
            .post(&webhook.url)
            .header("content-type", "application/json")
            .header("x-caravan-timestamp", &timestamp)
            .header(
                "x-caravan-signature",
                webhook_signature(secret, &timestamp, &body),
            )
            .body(body);
        let sent = self
            .settings
            .outbound
            .send(caravan_outbound::Trust::User, request)
            .await
            .map_err(|e| {
                StepError::Retryable(format!("sending the job to {}: {e}", webhook.url))
            })?;
        if !sent.status().is_success() {
            return Err(StepError::Retryable(format!(
                "the orchestrator at {} answered {}",
                webhook.url,
                sent.status()
            )));
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(webhook.timeout_secs);
        let report = loop {
            if let Some(report) = self
                .store
                .catalog
                .run_report(run.id)
                .await
                .map_err(|e| StepError::Retryable(e.to_string()))?
            {
                break report;
            }
            if heartbeat.cancelled() {
                return Err(StepError::Cancelled);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StepError::Retryable(format!(
                    "the orchestrator did not report within {} s",
                    webhook.timeout_secs
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        match (report.succeeded, report.version) {
            (true, Some(version)) => {
                let name = ModelName::parse(&spec.model)
                    .map_err(|e| StepError::Permanent(e.to_string()))?;
                self.core
                    .version(Some(owner), &name, &VersionRef::Number(version))
                    .await
                    .map_err(|e| {
                        StepError::Permanent(format!(
                            "the orchestrator reported version {version}: {e}"
                        ))
                    })?;
                Ok(version)
            }
            _ => Err(StepError::Permanent(format!(
                "the external trainer reported a failure: {}",
                report.error.unwrap_or_else(|| "no reason given".into())
            ))),
        }
    }

    /// An orchestrator's report for a run (the pipeline's owner or an admin, scope publish).
    pub async fn report_run(
        &self,
        who: &Principal,
        name: &str,
        id: uuid::Uuid,
        succeeded: bool,
        version: Option<i64>,
        error: Option<String>,
    ) -> Result<()> {
        require(who, Scope::Publish)?;
        let pipeline = self.managed(who, name).await?;
        let run = self.run(who, name, id).await?;
        if run.status.is_finished() {
            return Err(CoreError::conflict(
                ConflictKind::InvalidState,
                format!(
                    "run {} has already ended ({})",
                    run.seq,
                    run.status.as_str()
                ),
            ));
        }
        if succeeded {
            let version = version.ok_or_else(|| {
                CoreError::Invalid("a successful report names the version it onboarded".into())
            })?;
            let model = pipeline.spec["model"].as_str().unwrap_or_default();
            let model = ModelName::parse(model)?;
            self.core
                .version(Some(who), &model, &VersionRef::Number(version))
                .await?;
        }
        let report = RunReport {
            succeeded,
            version,
            error,
            reported_by: who.username.clone(),
            reported_at: Timestamp::now(),
        };
        if !self.store.catalog.report_run(id, &report).await? {
            return Err(CoreError::conflict(
                ConflictKind::InvalidState,
                format!("run {} was already reported", run.seq),
            ));
        }
        Ok(())
    }
}
