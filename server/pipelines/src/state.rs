//! What a run records as it goes (stored as the run's `steps` JSON): each step's status,
//! timings, log and details, and what the steps learned for the next ones.

use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Train,
    Evaluate,
    Promote,
    Score,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    /// The worker running it died; the step runs again.
    Interrupted,
    Cancelled,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub kind: StepKind,
    pub status: StepStatus,
    pub attempts: u32,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Where its log is in object storage (`logs/<key>`).
    pub log: Option<String>,
    pub error: Option<String>,
    #[serde(default)]
    pub details: serde_json::Value,
}

impl Step {
    pub fn new(kind: StepKind) -> Self {
        Step {
            kind,
            status: StepStatus::Pending,
            attempts: 0,
            started_at: None,
            finished_at: None,
            log: None,
            error: None,
            details: serde_json::Value::Null,
        }
    }
}

/// The gate's verdict.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Decision {
    pub promoted: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunState {
    pub steps: Vec<Step>,
    pub dataset_version: Option<i64>,
    pub candidate: Option<i64>,
    pub incumbent: Option<i64>,
    pub candidate_metrics: Option<Metrics>,
    pub incumbent_metrics: Option<Metrics>,
    pub decision: Option<Decision>,
}

impl RunState {
    /// The state stored with a run, or a fresh plan; a step left running by a worker that died
    /// is marked interrupted and will run again.
    pub fn resume(stored: &serde_json::Value, kinds: &[StepKind]) -> RunState {
        let mut state: RunState = serde_json::from_value(stored.clone()).unwrap_or_default();
        if state.steps.is_empty() {
            state.steps = kinds.iter().map(|&k| Step::new(k)).collect();
        }
        for step in &mut state.steps {
            if step.status == StepStatus::Running {
                step.status = StepStatus::Interrupted;
                step.error = Some("the worker running this step stopped; it runs again".into());
            }
        }
        state
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("run state serializes")
    }
}
