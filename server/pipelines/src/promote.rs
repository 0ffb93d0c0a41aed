//! The gate and the promotion: the candidate takes the alias (a hot swap) only if it beats the
//! incumbent by the configured margin, and never when its signature differs.

use caravan_domain::records::RunRecord;
use caravan_domain::{AliasName, ModelName, Principal};

use crate::{
    Pipelines, StepError,
    metrics::higher_is_better,
    permanent,
    spec::PipelineSpec,
    state::{Decision, RunState},
};

impl Pipelines {
    pub(crate) async fn gate_and_promote(
        &self,
        run: &RunRecord,
        spec: &PipelineSpec,
        owner: &Principal,
        state: &mut RunState,
    ) -> Result<serde_json::Value, StepError> {
        let candidate = state
            .candidate
            .ok_or_else(|| StepError::Permanent("no candidate version".into()))?;
        if spec.evaluate.is_none() {
            self.check_replaceable(spec, owner, state, candidate)
                .await?;
        }
        let decision = match (
            &spec.evaluate,
            state.incumbent,
            &state.candidate_metrics,
            &state.incumbent_metrics,
        ) {
            (Some(e), Some(incumbent), Some(cand), Some(inc)) => {
                let (c, i) = (
                    cand.get(&e.metric).copied().unwrap_or(f64::NAN),
                    inc.get(&e.metric).copied().unwrap_or(f64::NAN),
                );
                let improvement = if higher_is_better(&e.metric) {
                    c - i
                } else {
                    i - c
                };
                let margin = spec.gate.min_improvement;
                if improvement > 0.0 && improvement >= margin {
                    Decision {
                        promoted: true,
                        reason: format!(
                            "v{candidate} {} {c:.4} beats v{incumbent}'s {i:.4}",
                            e.metric
                        ),
                    }
                } else {
                    Decision {
                        promoted: false,
                        reason: format!(
                            "v{candidate} {} {c:.4} does not beat {}'s v{incumbent} {i:.4} by more than {margin}; {} stays on v{incumbent}",
                            e.metric, spec.alias, spec.alias
                        ),
                    }
                }
            }
            (Some(_), None, _, _) => Decision {
                promoted: true,
                reason: format!("no version holds {} yet", spec.alias),
            },
            _ => Decision {
                promoted: true,
                reason: "the pipeline has no evaluation; every trained version is promoted".into(),
            },
        };
        let name =
            ModelName::parse(&spec.model).map_err(|e| StepError::Permanent(e.to_string()))?;
        if decision.promoted {
            let alias =
                AliasName::parse(&spec.alias).map_err(|e| StepError::Permanent(e.to_string()))?;
            self.core
                .set_alias(owner, &name, &alias, candidate)
                .await
                .map_err(permanent)?;
        }
        let model = self
            .core
            .model_details(Some(owner), &name)
            .await
            .map_err(permanent)?
            .model;
        if let Ok(Some(mut lineage)) = self.store.catalog.lineage(model.id, candidate).await
            && lineage.run_id == run.id
        {
            lineage.compared_with = state.incumbent;
            lineage.metrics = serde_json::json!({ "candidate": state.candidate_metrics, "incumbent": state.incumbent_metrics });
            self.store
                .catalog
                .record_lineage(lineage)
                .await
                .map_err(|e| StepError::Retryable(e.to_string()))?;
        }
        let details =
            serde_json::json!({ "promoted": decision.promoted, "reason": decision.reason });
        state.decision = Some(decision);
        Ok(details)
    }

    /// Without an evaluation, promotion still needs the candidate to take the same inputs and
    /// give the same outputs as the version the alias holds.
    async fn check_replaceable(
        &self,
        spec: &PipelineSpec,
        owner: &Principal,
        state: &mut RunState,
        candidate: i64,
    ) -> Result<(), StepError> {
        let name =
            ModelName::parse(&spec.model).map_err(|e| StepError::Permanent(e.to_string()))?;
        let details = self
            .core
            .model_details(Some(owner), &name)
            .await
            .map_err(permanent)?;
        let incumbent = details
            .alias_version(&spec.alias)
            .filter(|&v| v != candidate);
        let Some(incumbent) = incumbent else {
            return Ok(());
        };
        state.incumbent = Some(incumbent);
        let signature = |v: i64| {
            details
                .versions
                .iter()
                .find(|r| r.version == v)
                .map(|r| r.info.signature.clone())
        };
        if signature(candidate) != signature(incumbent) {
            return Err(StepError::Permanent(format!(
                "promotion refused: the signature of v{candidate} differs from {}'s v{incumbent} (inputs or outputs changed)",
                spec.alias
            )));
        }
        Ok(())
    }
}
