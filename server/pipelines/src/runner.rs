//! The workers: each claims one due run at a time (atomically, so replicas never run one
//! twice), keeps its lease alive while it works, runs the steps that have not succeeded yet,
//! and ends the run, retrying with backoff what may pass on another attempt.

use caravan_domain::records::{RunEnd, RunRecord, RunStatus, Timestamp, WorkQueue};
use caravan_domain::{ModelName, Principal};

use crate::{
    Pipelines, StepError,
    heartbeat::Heartbeat,
    permanent,
    spec::{self, PipelineSpec},
    state::{RunState, StepKind, StepStatus},
};

/// Starts `max_concurrent_runs` workers. The limit is also global: a claim succeeds only while
/// fewer runs than that hold a live lease across every replica on the database.
pub fn spawn_workers(p: Pipelines) {
    for _ in 0..p.settings.max_concurrent_runs.max(1) {
        let p = p.clone();
        tokio::spawn(async move {
            loop {
                let claimed = p
                    .store
                    .catalog
                    .claim_run(
                        Timestamp::now(),
                        Timestamp::after(p.settings.lease),
                        p.settings.max_concurrent_runs.max(1) as i64,
                    )
                    .await;
                match claimed {
                    Ok(Some(run)) => p.execute(run).await,
                    Ok(None) => {
                        tokio::select! {
                            () = tokio::time::sleep(p.settings.poll) => {}
                            () = p.core.woken(WorkQueue::Runs) => {}
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not claim a pipeline run");
                        tokio::time::sleep(p.settings.poll).await;
                    }
                }
            }
        });
    }
}

impl Pipelines {
    /// Wakes an idle worker on any replica (a run was queued, or one ended and freed a slot).
    pub(crate) fn wake(&self) {
        self.core.wake(WorkQueue::Runs);
    }

    async fn execute(&self, run: RunRecord) {
        let span = tracing::info_span!("pipeline_run", run = %run.id, pipeline = %run.pipeline, attempt = run.attempt);
        let _entered = span.enter();
        let prepared = async {
            let pipeline = self
                .store
                .catalog
                .pipeline_by_id(run.pipeline_id)
                .await
                .map_err(|e| StepError::Retryable(e.to_string()))?
                .ok_or_else(|| StepError::Permanent("the pipeline was deleted".into()))?;
            let spec = spec::parse(pipeline.spec).map_err(StepError::Permanent)?;
            let owner = self
                .core
                .principal_of(pipeline.owner_id)
                .await
                .map_err(permanent)?;
            Ok::<_, StepError>((spec, owner))
        }
        .await;
        let kinds = match &prepared {
            Ok((spec, _)) if spec.score.is_some() => vec![StepKind::Score],
            Ok((spec, _)) if spec.evaluate.is_some() => {
                vec![StepKind::Train, StepKind::Evaluate, StepKind::Promote]
            }
            _ => vec![StepKind::Train, StepKind::Promote],
        };
        let mut state = RunState::resume(&run.steps, &kinds);
        if state.dataset_version.is_none() {
            state.dataset_version = run.dataset_version;
        }
        // The spec's retries, read once with the spec (a pipeline that cannot be read gets none).
        let (result, retries) = match prepared {
            Ok((spec, owner)) => (
                self.run_steps(&run, &spec, &owner, &mut state).await,
                i64::from(spec.retries),
            ),
            Err(e) => (Err(e), 0),
        };
        let outcome = serde_json::json!({
            "candidate": state.candidate, "incumbent": state.incumbent,
            "candidate_metrics": state.candidate_metrics, "incumbent_metrics": state.incumbent_metrics,
            "decision": state.decision,
        });
        let end = match result {
            Ok(()) => RunEnd {
                status: RunStatus::Succeeded,
                steps: state.to_json(),
                outcome,
                error: None,
                retry_at: None,
            },
            Err(StepError::Cancelled) => RunEnd {
                status: RunStatus::Cancelled,
                steps: state.to_json(),
                outcome,
                error: Some("cancelled".into()),
                retry_at: None,
            },
            Err(StepError::Retryable(why)) if run.attempt <= retries => {
                let delay = self.settings.retry_base
                    * 2u32.saturating_pow(run.attempt.clamp(1, 10) as u32 - 1);
                tracing::warn!(%why, attempt = run.attempt, "pipeline run failed; retrying");
                RunEnd {
                    status: RunStatus::Queued,
                    steps: state.to_json(),
                    outcome,
                    error: Some(why),
                    retry_at: Some(Timestamp::after(delay)),
                }
            }
            Err(StepError::Retryable(why) | StepError::Permanent(why)) => {
                tracing::warn!(%why, "pipeline run failed");
                RunEnd {
                    status: RunStatus::Failed,
                    steps: state.to_json(),
                    outcome,
                    error: Some(why),
                    retry_at: None,
                }
            }
        };
        let (status, error) = (end.status, end.error.clone());
        let outcome = end.outcome.clone();
        let ended = self.store.catalog.end_run(run.id, run.attempt, end).await;
        // A slot of the global limit is free (and a retry may be queued): idle workers anywhere
        // look now.
        self.wake();
        match ended {
            Err(e) => tracing::error!(error = %e, "could not record the end of a run"),
            Ok(false) => tracing::warn!("another worker took this run over; its end is theirs"),
            Ok(true) if status.is_finished() => {
                let data = serde_json::json!({
                    "pipeline": run.pipeline, "run": run.id, "number": run.seq,
                    "status": status.as_str(), "error": error, "outcome": outcome,
                });
                self.core
                    .emit(caravan_core::events::RUN_FINISHED, &run.pipeline, data)
                    .await;
            }
            Ok(true) => {}
        }
    }

    async fn run_steps(
        &self,
        run: &RunRecord,
        spec: &PipelineSpec,
        owner: &Principal,
        state: &mut RunState,
    ) -> Result<(), StepError> {
        for index in 0..state.steps.len() {
            if state.steps[index].status == StepStatus::Succeeded {
                continue;
            }
            let kind = state.steps[index].kind;
            let log_key = format!("pipelines/{}/{:?}.log", run.id, kind).to_lowercase();
            {
                let step = &mut state.steps[index];
                step.status = StepStatus::Running;
                step.attempts += 1;
                step.started_at = Some(chrono::Utc::now());
                step.error = None;
            }
            let saved = self
                .store
                .catalog
                .save_run(
                    run.id,
                    run.attempt,
                    &state.to_json(),
                    Timestamp::after(self.settings.lease),
                )
                .await
                .map_err(|e| StepError::Retryable(e.to_string()))?;
            let heartbeat = Heartbeat::start(self, run.id, run.attempt, state.to_json());
            let result = if !saved || heartbeat.cancelled() {
                Err(StepError::Cancelled)
            } else {
                self.step(run, spec, owner, state, kind, &log_key, &heartbeat)
                    .await
            };
            drop(heartbeat);
            let step = &mut state.steps[index];
            step.finished_at = Some(chrono::Utc::now());
            match result {
                Ok(details) => {
                    step.status = StepStatus::Succeeded;
                    step.details = details;
                    if kind == StepKind::Train {
                        step.log = Some(log_key);
                    }
                }
                Err(e) => {
                    step.status = if matches!(e, StepError::Cancelled) {
                        StepStatus::Cancelled
                    } else {
                        StepStatus::Failed
                    };
                    step.error = Some(e.to_string());
                    if kind == StepKind::Train {
                        step.log = Some(log_key);
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn step(
        &self,
        run: &RunRecord,
        spec: &PipelineSpec,
        owner: &Principal,
        state: &mut RunState,
        kind: StepKind,
        log_key: &str,
        heartbeat: &Heartbeat,
    ) -> Result<serde_json::Value, StepError> {
        match kind {
            StepKind::Train => {
                let (version, dataset_version) = self
                    .train(run, owner, spec, state.dataset_version, log_key, heartbeat)
                    .await?;
                state.candidate = Some(version);
                state.dataset_version = Some(dataset_version);
                Ok(
                    serde_json::json!({ "version": version, "dataset": spec.train.as_ref().map(|t| &t.dataset), "dataset_version": dataset_version }),
                )
            }
            StepKind::Evaluate => {
                let candidate = state
                    .candidate
                    .ok_or_else(|| StepError::Permanent("no candidate version".into()))?;
                let name = ModelName::parse(&spec.model)
                    .map_err(|e| StepError::Permanent(e.to_string()))?;
                let details = self
                    .core
                    .model_details(Some(owner), &name)
                    .await
                    .map_err(permanent)?;
                let incumbent = details
                    .alias_version(&spec.alias)
                    .filter(|&v| v != candidate);
                state.incumbent = incumbent;
                let (cand, inc) = self
                    .evaluate(owner, spec, &details, candidate, incumbent)
                    .await?;
                state.candidate_metrics = Some(cand.clone());
                state.incumbent_metrics = inc.clone();
                Ok(serde_json::json!({ "candidate": cand, "incumbent": inc }))
            }
            StepKind::Promote => self.gate_and_promote(run, spec, owner, state).await,
            StepKind::Score => {
                let scored = self
                    .score(owner, spec, state.dataset_version, heartbeat)
                    .await?;
                state.dataset_version = Some(scored.input_version);
                state.candidate = Some(scored.model_version);
                Ok(serde_json::to_value(&scored).expect("a score report serializes"))
            }
        }
    }
}
