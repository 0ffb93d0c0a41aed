//! Pipeline specs: what to train, on what, how to judge the result, and when to run. Parsed
//! strictly (unknown fields are errors) and checked before anything is stored.

use std::collections::BTreeMap;

use caravan_domain::{AliasName, ColumnKind, DatasetSchema, ModelName, Signature};
use serde::{Deserialize, Serialize};

use crate::metrics::Task;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    pub name: String,
    /// The model whose versions the pipeline produces.
    pub model: String,
    /// The alias a better candidate takes over (a hot swap).
    #[serde(default = "default_alias")]
    pub alias: String,
    #[serde(default)]
    pub trigger: Trigger,
    /// A training pipeline: train, (evaluate,) gate and promote.
    pub train: Option<TrainSpec>,
    /// A scoring pipeline: score a dataset with the alias's version instead.
    pub score: Option<ScoreSpec>,
    /// Without it, every trained version is promoted.
    pub evaluate: Option<EvaluateSpec>,
    #[serde(default)]
    pub gate: GateSpec,
    /// Further attempts after a step fails for a reason that may pass (not for a refusal).
    #[serde(default = "default_retries")]
    pub retries: u32,
}

fn default_alias() -> String {
    "champion".into()
}

fn default_retries() -> u32 {
    1
}

/// When runs start besides `POST .../runs`: on each new version of a dataset, on a schedule.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    pub dataset: Option<String>,
    /// Five or six fields (with seconds), UTC.
    pub cron: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// The training dataset (its newest version, or the version that triggered the run).
    pub dataset: String,
    /// A process on this host...
    pub command: Option<CommandSpec>,
    /// ...or an external orchestrator Caravan hands the job to.
    pub webhook: Option<WebhookTrainer>,
    /// Passed to the trainer as JSON in `{params}`.
    #[serde(default)]
    pub params: serde_json::Value,
}

/// A process on the Caravan host. `argv` may use `{dataset}` (the CSV's path), `{output}`
/// (where to write the ONNX file) and `{params}` (JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    pub argv: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub workdir: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

/// An external trainer: Caravan POSTs a signed job request (HMAC-SHA256 with the pipeline's
/// webhook secret, as for incoming webhooks); the orchestrator onboards the model through the
/// normal API and reports the version with `POST .../runs/{id}/report`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTrainer {
    pub url: String,
    /// How long to wait for the report.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_timeout() -> u64 {
    3600
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateSpec {
    pub dataset: String,
    /// A fixed version; the newest when absent.
    pub version: Option<i64>,
    pub task: Task,
    /// The column holding the true label (or value, for regression).
    pub label: String,
    /// Model input name -> the dataset columns that fill it, in order.
    pub inputs: BTreeMap<String, Vec<String>>,
    /// The output holding predicted labels (or values).
    pub output: String,
    /// An output of class scores (binary: its last column is the positive class), for ROC AUC.
    pub scores: Option<String>,
    /// The metric the gate compares.
    pub metric: String,
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
}

fn default_batch_rows() -> usize {
    1024
}

/// Batch scoring: every row of a dataset version through the version `alias` points to when
/// the run starts; the rows and the outputs become a new version of `output_dataset`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreSpec {
    pub dataset: String,
    /// The newest when absent (or the version that triggered the run).
    pub version: Option<i64>,
    /// Model input name -> the dataset columns that fill it, in order.
    pub inputs: BTreeMap<String, Vec<String>>,
    /// The outputs to write (all when empty); an [N, k] output becomes columns name_0..name_k-1.
    #[serde(default)]
    pub outputs: Vec<String>,
    pub output_dataset: String,
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// The candidate must beat the incumbent by at least this much on the metric.
    #[serde(default)]
    pub min_improvement: f64,
}

/// Parses a spec, naming what is wrong.
pub fn parse(value: serde_json::Value) -> Result<PipelineSpec, String> {
    let spec: PipelineSpec =
        serde_json::from_value(value).map_err(|e| format!("invalid pipeline spec: {e}"))?;
    check(&spec)?;
    Ok(spec)
}

/// The checks that need nothing but the spec.
fn check(spec: &PipelineSpec) -> Result<(), String> {
    ModelName::parse(&spec.name)
        .map_err(|e| format!("name: {e}").replace("model name", "pipeline name"))?;
    ModelName::parse(&spec.model).map_err(|e| format!("model: {e}"))?;
    AliasName::parse(&spec.alias).map_err(|e| format!("alias: {e}"))?;
    if spec.alias == "latest" {
        return Err("alias: latest always means the newest version; choose another".into());
    }
    if let Some(cron) = &spec.trigger.cron {
        next_run(cron, chrono::Utc::now()).map_err(|e| format!("trigger.cron: {e}"))?;
    }
    match (&spec.train, &spec.score) {
        (Some(train), None) => check_train(train)?,
        (None, Some(score)) => {
            if spec.evaluate.is_some() {
                return Err("evaluate: a scoring pipeline has nothing to evaluate".into());
            }
            ModelName::parse(&score.output_dataset)
                .map_err(|e| format!("score.output_dataset: {e}"))?;
            // A pipeline writing the dataset that triggers it would run forever.
            if score.output_dataset == score.dataset
                || spec.trigger.dataset.as_ref() == Some(&score.output_dataset)
            {
                return Err("score.output_dataset: must differ from the dataset it scores and from the trigger dataset".into());
            }
            if score.inputs.is_empty() {
                return Err("score.inputs: map each model input to dataset columns".into());
            }
            if !(1..=65536).contains(&score.batch_rows) {
                return Err("score.batch_rows: 1 to 65536".into());
            }
        }
        _ => {
            return Err(
                "give either train (to retrain a model) or score (to batch-score a dataset)".into(),
            );
        }
    }
    if let Some(e) = &spec.evaluate {
        if !e.task.metrics().contains(&e.metric.as_str()) {
            return Err(format!(
                "evaluate.metric: {:?} is not a {:?} metric (one of {})",
                e.metric,
                e.task,
                e.task.metrics().join(", ")
            ));
        }
        if e.inputs.is_empty() {
            return Err("evaluate.inputs: map each model input to dataset columns".into());
        }
        if !(1..=65536).contains(&e.batch_rows) {
            return Err("evaluate.batch_rows: 1 to 65536".into());
        }
    }
    if !spec.gate.min_improvement.is_finite() || spec.gate.min_improvement < 0.0 {
        return Err("gate.min_improvement: a number of at least 0".into());
    }
    Ok(())
}

fn check_train(train: &TrainSpec) -> Result<(), String> {
    let timeout = match (&train.command, &train.webhook) {
        (Some(command), None) => {
            if command.argv.is_empty() {
                return Err("train.command.argv: give at least the program to run".into());
            }
            if !command.argv.iter().any(|a| a.contains("{output}")) {
                return Err(
                    "train.command.argv: pass {output}, where the trainer writes the ONNX file".into(),
                );
            }
            command.timeout_secs
        }
        (None, Some(webhook)) => {
            if !(webhook.url.starts_with("https://") || webhook.url.starts_with("http://")) {
                return Err("train.webhook.url: an http:// or https:// address".into());
            }
            webhook.timeout_secs
        }
        _ => return Err("train: give either command (a process on this host) or webhook (an external orchestrator)".into()),
    };
    if !(1..=7 * 24 * 3600).contains(&timeout) {
        return Err("train: timeout_secs is 1 second to 7 days".into());
    }
    Ok(())
}

/// The next time a cron expression fires after `after`.
pub fn next_run(
    cron: &str,
    after: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use croner::parser::{CronParser, Seconds};
    let parsed = CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(cron)
        .map_err(|e| format!("{cron:?} is not a cron expression: {e}"))?;
    parsed
        .find_next_occurrence(&after, false)
        .map_err(|e| format!("{cron:?} never fires: {e}"))
}

/// Checks the evaluation columns against the evaluation dataset's schema.
pub fn check_evaluation_dataset(e: &EvaluateSpec, schema: &DatasetSchema) -> Result<(), String> {
    let Some(label) = schema.column(&e.label) else {
        return Err(format!(
            "evaluate.label: the evaluation dataset {} has no column {:?}",
            e.dataset, e.label
        ));
    };
    if e.task != Task::Regression
        && label.kind != ColumnKind::Integer
        && label.kind != ColumnKind::Boolean
    {
        return Err(format!(
            "evaluate.label: column {:?} holds {:?} values; class labels must be integers",
            e.label, label.kind
        ));
    }
    check_columns("evaluate.inputs", &e.inputs, schema)
}

/// Every mapped column exists in the dataset and holds numbers.
pub fn check_columns(
    field: &str,
    inputs: &BTreeMap<String, Vec<String>>,
    schema: &DatasetSchema,
) -> Result<(), String> {
    for (input, columns) in inputs {
        for c in columns {
            match schema.column(c) {
                None => return Err(format!("{field}.{input}: the dataset has no column {c:?}")),
                Some(col) if !col.kind.is_numeric() => {
                    return Err(format!("{field}.{input}: column {c:?} is not numeric"));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// Checks the column mapping against a model's signature: every input mapped, a known
/// number of columns where the input's last dimension is fixed, and the outputs exist.
pub fn check_signature(e: &EvaluateSpec, signature: &Signature) -> Result<(), String> {
    for spec in &signature.inputs {
        let Some(columns) = e.inputs.get(&spec.name) else {
            return Err(format!(
                "evaluate.inputs: the model's input {:?} is not mapped to columns",
                spec.name
            ));
        };
        if spec.shape.len() != 2 {
            return Err(format!(
                "evaluate.inputs.{}: the input has shape {:?}; only [rows, features] inputs can be filled from columns",
                spec.name, spec.shape
            ));
        }
        let width = spec.shape[1];
        if width > 0 && width as usize != columns.len() {
            return Err(format!(
                "evaluate.inputs.{}: the model takes {width} features, the mapping gives {} columns",
                spec.name,
                columns.len()
            ));
        }
    }
    for name in e.inputs.keys() {
        if !signature.inputs.iter().any(|i| &i.name == name) {
            return Err(format!("evaluate.inputs: the model has no input {name:?}"));
        }
    }
    for output in std::iter::once(&e.output).chain(e.scores.as_ref()) {
        if !signature.outputs.iter().any(|o| &o.name == output) {
            return Err(format!("evaluate: the model has no output {output:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> serde_json::Value {
        json!({
            "name": "retrain", "model": "fraud",
            "trigger": { "dataset": "telemetry" },
            "train": { "dataset": "telemetry", "command": { "argv": ["python3", "train.py", "{dataset}", "{output}"] } },
            "evaluate": { "dataset": "holdout", "task": "binary", "label": "label",
                          "inputs": { "X": ["a", "b"] }, "output": "label", "metric": "f1" }
        })
    }

    #[test]
    fn a_complete_spec_parses_with_defaults() {
        let parsed = parse(spec()).unwrap();
        assert_eq!(parsed.alias, "champion");
        assert_eq!(parsed.train.unwrap().command.unwrap().timeout_secs, 3600);
        assert_eq!(parsed.evaluate.unwrap().batch_rows, 1024);
    }

    #[test]
    fn unknown_fields_bad_cron_and_bad_metrics_are_named() {
        let mut unknown = spec();
        unknown["train"]["comand"] = json!({});
        assert!(
            parse(unknown)
                .unwrap_err()
                .contains("unknown field `comand`")
        );
        let mut cron = spec();
        cron["trigger"]["cron"] = json!("every day at noon");
        assert!(parse(cron).unwrap_err().contains("trigger.cron"));
        let mut metric = spec();
        metric["evaluate"]["metric"] = json!("rmse");
        assert!(parse(metric).unwrap_err().contains("not a Binary metric"));
        let mut output = spec();
        output["train"]["command"]["argv"] = json!(["train.py"]);
        assert!(parse(output).unwrap_err().contains("{output}"));
        let looping = json!({
            "name": "loop", "model": "fraud", "trigger": { "dataset": "in" },
            "score": { "dataset": "in", "inputs": { "X": ["a"] }, "output_dataset": "in" }
        });
        assert!(
            parse(looping)
                .unwrap_err()
                .contains("score.output_dataset: must differ")
        );
    }

    #[test]
    fn a_cron_expression_gives_the_next_time() {
        let after = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .to_utc();
        let next = next_run("30 3 * * *", after).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-11-29T03:30:00+00:00");
    }
}
