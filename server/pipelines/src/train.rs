//! The `train` step with a `command` trainer: a process on this host, with CPU, memory and
//! time limits, never as root, its output and errors captured to a log in object storage;
//! what it writes is onboarded (validated by ONNX Runtime) as a new version with lineage.

use std::{path::Path, process::Stdio, time::Duration};

use caravan_core::{CoreError, Upload};
use caravan_domain::records::LineageRecord;
use caravan_domain::{ModelName, Principal};

use crate::{
    Pipelines, StepError,
    heartbeat::Heartbeat,
    permanent, sandbox,
    spec::{CommandSpec, PipelineSpec},
};

/// Largest log kept per step (its end, where the errors are).
const MAX_LOG_BYTES: usize = 1 << 20;

/// Replaces `{dataset}`, `{output}` and `{params}` in each argument.
fn render_argv(argv: &[String], dataset: &Path, output: &Path, params: &str) -> Vec<String> {
    argv.iter()
        .map(|a| {
            a.replace("{dataset}", &dataset.to_string_lossy())
                .replace("{output}", &output.to_string_lossy())
                .replace("{params}", params)
        })
        .collect()
}

/// The last `MAX_LOG_BYTES` of a log, and its last few lines for an error message.
fn log_tail(bytes: &[u8]) -> (Vec<u8>, String) {
    let kept = bytes[bytes.len().saturating_sub(MAX_LOG_BYTES)..].to_vec();
    let text = String::from_utf8_lossy(&kept);
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    let last = lines.into_iter().rev().collect::<Vec<_>>().join(" | ");
    (kept, last)
}

impl Pipelines {
    /// Runs the trainer; returns the path of the ONNX file it wrote.
    async fn run_trainer(
        &self,
        command: &CommandSpec,
        argv: Vec<String>,
        work: &Path,
        log_key: &str,
        heartbeat: &Heartbeat,
    ) -> Result<(), StepError> {
        let log_path = work.join("train.log");
        let log =
            std::fs::File::create(&log_path).map_err(|e| StepError::Retryable(e.to_string()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| StepError::Retryable(e.to_string()))?;
        let settings = &self.settings;
        let mut process = tokio::process::Command::new(&settings.launcher);
        process
            .arg("__run-limited")
            .arg("--memory-mb")
            .arg(settings.trainer_memory_mb.to_string())
            .arg("--cpu-secs")
            .arg(command.timeout_secs.to_string())
            .arg("--")
            .args(&argv)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", work)
            .env("LANG", "C.UTF-8")
            .envs(&command.env)
            .current_dir(command.workdir.as_deref().map(Path::new).unwrap_or(work))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true)
            // Its own process group, so whatever it starts is stopped with it.
            .process_group(0);
        let mut child = process
            .spawn()
            .map_err(|e| StepError::Permanent(format!("could not start the trainer: {e}")))?;
        let process_group = child
            .id()
            .and_then(|pid| rustix::process::Pid::from_raw(pid as i32));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(command.timeout_secs);
        let outcome = loop {
            tokio::select! {
                status = child.wait() => break Ok(status),
                () = tokio::time::sleep_until(deadline) => break Err(StepError::Retryable(format!(
                    "the trainer ran past its timeout of {} s and was stopped", command.timeout_secs
                ))),
                () = tokio::time::sleep(Duration::from_millis(200)) => {
                    if heartbeat.cancelled() {
                        break Err(StepError::Cancelled);
                    }
                }
            }
        };
        if outcome.is_err() {
            let _ = child.kill().await;
        }
        // Whatever the trainer left running (helpers, workers it started) ends with it.
        if let Some(group) = process_group
            && let Err(e) =
                rustix::process::kill_process_group(group, rustix::process::Signal::KILL)
            && e != rustix::io::Errno::SRCH
        {
            tracing::warn!(error = %e, "could not stop the trainer's processes");
        }
        let (kept, last) = log_tail(&std::fs::read(&log_path).unwrap_or_default());
        if let Err(e) = self.store.blobs.put_log(log_key, kept).await {
            tracing::warn!(error = %e, "could not store a trainer log");
        }
        let status = outcome?.map_err(|e| StepError::Retryable(e.to_string()))?;
        if !status.success() {
            return Err(StepError::Retryable(format!(
                "the trainer exited with {status}; its log ends: {last}"
            )));
        }
        Ok(())
    }

    /// Trains, onboards the result and records its lineage; returns the new version.
    pub(crate) async fn train(
        &self,
        run: &caravan_domain::records::RunRecord,
        owner: &Principal,
        spec: &PipelineSpec,
        dataset_version: Option<i64>,
        log_key: &str,
        heartbeat: &Heartbeat,
    ) -> Result<(i64, i64), StepError> {
        let run_id = run.id;
        let train = spec
            .train
            .as_ref()
            .ok_or_else(|| StepError::Permanent("the pipeline has no train step".into()))?;
        let dataset = self
            .core
            .dataset_version(owner, &train.dataset, dataset_version)
            .await
            .map_err(permanent)?;
        let command = match (&train.command, &train.webhook) {
            (Some(command), _) => command,
            (None, Some(webhook)) => {
                let version = self
                    .train_remotely(run, owner, spec, &dataset, webhook, heartbeat)
                    .await?;
                self.record_training(run_id, owner, spec, &dataset, version)
                    .await?;
                return Ok((version, dataset.version));
            }
            (None, None) => {
                return Err(StepError::Permanent("the train step has no trainer".into()));
            }
        };
        let io =
            |e: std::io::Error| StepError::Retryable(format!("preparing the run's files: {e}"));
        std::fs::create_dir_all(&self.settings.work_dir).map_err(io)?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("run-{run_id}-"))
            .tempdir_in(&self.settings.work_dir)
            .map_err(io)?;
        let work = dir.path();
        sandbox::hand_over(work).map_err(io)?;
        let result = async {
            // The trainer gets its own copy (never a link: it may run as another user, and
            // must not be able to change the stored dataset).
            let stored = self.local_copy(&dataset.sha256).await?;
            let data = work.join("dataset.csv");
            tokio::fs::copy(stored.path(), &data).await.map_err(io)?;
            sandbox::hand_over(&data).map_err(io)?;
            let output = work.join("model.onnx");
            let params = train.params.to_string();
            let argv = render_argv(&command.argv, &data, &output, &params);
            self.run_trainer(command, argv, work, log_key, heartbeat)
                .await?;
            if !output.is_file() {
                return Err(StepError::Permanent(format!(
                    "the trainer exited successfully but wrote no ONNX file at {}",
                    output.display()
                )));
            }
            let staged = self
                .core
                .stage_file(&output, self.core.model_limit())
                .await
                .map_err(|e| StepError::Permanent(format!("the trainer's output: {e}")))?;
            let name =
                ModelName::parse(&spec.model).map_err(|e| StepError::Permanent(e.to_string()))?;
            let upload = Upload {
                name,
                metadata: Default::default(),
                staged,
                proto: None,
            };
            let published = self
                .core
                .onboard(owner, upload)
                .await
                .map_err(|e| match e {
                    CoreError::Refused(why) => StepError::Permanent(format!(
                        "the trainer wrote a model Caravan refuses: {why}"
                    )),
                    other => permanent(other),
                })?;
            self.record_training(run_id, owner, spec, &dataset, published.version.version)
                .await?;
            Ok((published.version.version, dataset.version))
        }
        .await;
        drop(dir);
        result
    }
}

impl Pipelines {
    /// Records where a trained version came from.
    pub(crate) async fn record_training(
        &self,
        run_id: uuid::Uuid,
        owner: &Principal,
        spec: &PipelineSpec,
        dataset: &caravan_domain::records::DatasetVersionRecord,
        version: i64,
    ) -> Result<(), StepError> {
        let name =
            ModelName::parse(&spec.model).map_err(|e| StepError::Permanent(e.to_string()))?;
        let model = self
            .core
            .visible_model(Some(owner), &name)
            .await
            .map_err(permanent)?;
        let lineage = LineageRecord {
            model_id: model.id,
            version,
            run_id,
            pipeline: spec.name.clone(),
            dataset: Some(dataset.dataset.clone()),
            dataset_version: Some(dataset.version),
            compared_with: None,
            metrics: serde_json::json!({}),
            created_at: caravan_domain::records::Timestamp::now(),
        };
        self.store
            .catalog
            .record_lineage(lineage)
            .await
            .map_err(|e| StepError::Retryable(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_in_every_argument() {
        let argv = [
            "train.py".into(),
            "--data={dataset}".into(),
            "{output}".into(),
            "{params}".into(),
        ];
        let rendered = render_argv(
            &argv,
            Path::new("/d.csv"),
            Path::new("/o.onnx"),
            "{\"a\":1}",
        );
        assert_eq!(
            rendered,
            ["train.py", "--data=/d.csv", "/o.onnx", "{\"a\":1}"]
        );
    }

    #[test]
    fn a_long_log_keeps_its_end() {
        let log = format!("{}\nlast line\n", "x".repeat(MAX_LOG_BYTES));
        let (kept, last) = log_tail(log.as_bytes());
        assert_eq!(kept.len(), MAX_LOG_BYTES);
        assert!(last.ends_with("last line"), "{last}");
    }
}
