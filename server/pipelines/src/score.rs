//! The `score` step: every row of a dataset version through one model version, streamed in
//! chunks of `batch_rows` (memory stays bounded whatever the file's size); the input rows with
//! the outputs appended become a new version of the output dataset.

use std::io::Write;

use caravan_core::{DatasetUpload, InferenceRequest};
use caravan_domain::{
    Column, ColumnKind, DatasetSchema, ModelName, Principal, Signature, VersionRef,
};
use caravan_inference::serving::TensorData;
use serde::Serialize;

use crate::{
    Pipelines, StepError, formats::columns_tensor, heartbeat::Heartbeat, permanent,
    spec::PipelineSpec,
};

/// What a scoring step did.
#[derive(Debug, Serialize)]
pub struct ScoreReport {
    pub input_dataset: String,
    pub input_version: i64,
    pub model_version: i64,
    pub output_dataset: String,
    pub output_version: i64,
    pub rows: u64,
    pub seconds: f64,
}

fn cells(data: &TensorData) -> Vec<String> {
    match data {
        TensorData::F32(v) => v.iter().map(|x| x.to_string()).collect(),
        TensorData::F64(v) => v.iter().map(|x| x.to_string()).collect(),
        TensorData::I64(v) => v.iter().map(|x| x.to_string()).collect(),
        TensorData::I32(v) => v.iter().map(|x| x.to_string()).collect(),
        TensorData::Bool(v) => v.iter().map(|x| x.to_string()).collect(),
        TensorData::Bytes(v) => v.clone(),
        other => {
            caravan_inference::with_tensor_data!(other, v => v.iter().map(|x| format!("{x:?}")).collect())
        }
    }
}

/// The column type of an output's values, as the dataset schema records it.
fn column_kind(data: &TensorData) -> ColumnKind {
    match data {
        TensorData::Bool(_) => ColumnKind::Boolean,
        TensorData::Bytes(_) => ColumnKind::String,
        TensorData::F16(_) | TensorData::Bf16(_) | TensorData::F32(_) | TensorData::F64(_) => {
            ColumnKind::Float
        }
        _ => ColumnKind::Integer,
    }
}

impl Pipelines {
    pub(crate) async fn score(
        &self,
        owner: &Principal,
        spec: &PipelineSpec,
        triggered: Option<i64>,
        heartbeat: &Heartbeat,
    ) -> Result<ScoreReport, StepError> {
        let s = spec
            .score
            .as_ref()
            .ok_or_else(|| StepError::Permanent("the pipeline has no score step".into()))?;
        let started = std::time::Instant::now();
        let name =
            ModelName::parse(&spec.model).map_err(|e| StepError::Permanent(e.to_string()))?;
        // One version for the whole file, even if the alias moves meanwhile.
        let alias = caravan_domain::AliasName::parse(&spec.alias)
            .map_err(|e| StepError::Permanent(e.to_string()))?;
        let (_, version) = self
            .core
            .version(Some(owner), &name, &VersionRef::Alias(alias))
            .await
            .map_err(permanent)?;
        let signature: Signature = version.info.signature.clone();
        let input = self
            .core
            .dataset_version(owner, &s.dataset, s.version.or(triggered))
            .await
            .map_err(permanent)?;
        let source = self.local_copy(&input.sha256).await?;
        let batch = s.batch_rows.min(self.settings.max_batch_rows).max(1);
        let mut reader = crate::formats::TextRows::open(source.path(), &input.format, batch)
            .map_err(|e| StepError::Permanent(e.to_string()))?;
        let header: Vec<String> = reader.header().to_vec();
        let mut features = Vec::new();
        for input_spec in &signature.inputs {
            let columns = s.inputs.get(&input_spec.name).ok_or_else(|| {
                StepError::Permanent(format!(
                    "score.inputs: the model's input {:?} is not mapped to columns",
                    input_spec.name
                ))
            })?;
            let indices = columns
                .iter()
                .map(|c| {
                    header.iter().position(|h| h == c).ok_or_else(|| {
                        StepError::Permanent(format!(
                            "score.inputs.{}: the dataset has no column {c:?}",
                            input_spec.name
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            features.push((input_spec.name.clone(), input_spec.datatype, indices));
        }
        std::fs::create_dir_all(&self.settings.work_dir)
            .map_err(|e| StepError::Retryable(e.to_string()))?;
        let out = tempfile::Builder::new()
            .prefix("scored-")
            .suffix(".csv")
            .tempfile_in(&self.settings.work_dir)
            .map_err(|e| StepError::Retryable(e.to_string()))?;
        let mut writer = std::io::BufWriter::with_capacity(1 << 20, out.as_file());
        let mut header_written = false;
        let mut added: Vec<Column> = Vec::new();
        let mut rows: u64 = 0;
        let mut line = 1u64;
        while let Some(records) = reader
            .next_rows()
            .map_err(|e| StepError::Permanent(format!("reading {}: {e}", s.dataset)))?
        {
            if heartbeat.cancelled() {
                return Err(StepError::Cancelled);
            }
            let n = records.len();
            let mut inputs = Vec::new();
            for (input_name, datatype, indices) in &features {
                let mut values = Vec::with_capacity(n * indices.len());
                for (offset, record) in records.iter().enumerate() {
                    for &i in indices {
                        let cell = record.get(i).map_or("", |c| c.trim());
                        values.push(cell.parse::<f64>().map_err(|_| {
                            StepError::Permanent(format!(
                                "line {}: column {:?} holds {cell:?}, not a number",
                                line + 1 + offset as u64,
                                &header[i]
                            ))
                        })?);
                    }
                }
                inputs.push(columns_tensor(
                    input_name,
                    *datatype,
                    n,
                    indices.len(),
                    values,
                )?);
            }
            let request = InferenceRequest {
                inputs,
                outputs: s.outputs.clone(),
            };
            let answer = self
                .core
                .infer(
                    Some(owner),
                    &spec.model,
                    Some(&version.version.to_string()),
                    request,
                )
                .await
                .map_err(permanent)?;
            if !header_written {
                for o in &answer.outputs {
                    let kind = column_kind(&o.data);
                    let names: Vec<String> = match o.shape.as_slice() {
                        [_, k] if *k > 1 => (0..*k)
                            .map(|j| format!("predicted_{}_{j}", o.name))
                            .collect(),
                        _ => vec![format!("predicted_{}", o.name)],
                    };
                    added.extend(names.into_iter().map(|name| Column {
                        name,
                        kind,
                        empty: 0,
                    }));
                }
                let names = header
                    .iter()
                    .map(String::as_str)
                    .chain(added.iter().map(|c| c.name.as_str()));
                write_row(&mut writer, names)?;
                header_written = true;
            }
            let columns: Vec<(Vec<String>, usize)> = answer
                .outputs
                .iter()
                .map(|o| {
                    let width = if o.shape.len() == 2 {
                        o.shape[1].max(1)
                    } else {
                        1
                    };
                    (cells(&o.data), width)
                })
                .collect();
            for (r, record) in records.iter().enumerate() {
                let extra = columns.iter().flat_map(|(values, width)| {
                    values[r * width..(r + 1) * width]
                        .iter()
                        .map(String::as_str)
                });
                write_row(&mut writer, record.iter().chain(extra))?;
            }
            rows += n as u64;
            line += n as u64;
        }
        writer
            .flush()
            .map_err(|e| StepError::Retryable(e.to_string()))?;
        drop(writer);
        if rows == 0 {
            return Err(StepError::Permanent(format!(
                "{} has no rows to score",
                s.dataset
            )));
        }
        // The file is the input's columns and the outputs: its schema is known without reading
        // it again.
        let mut columns = input.schema.columns.clone();
        columns.extend(added);
        let schema = DatasetSchema { columns, rows };
        let staged = self
            .core
            .stage_file(out.path(), self.dataset_limit())
            .await
            .map_err(|e| StepError::Retryable(format!("storing the scored file: {e}")))?;
        let upload = DatasetUpload {
            name: s.output_dataset.clone(),
            description: Some(format!(
                "{} v{} scored by {} v{}",
                input.dataset, input.version, spec.model, version.version
            )),
            format: "csv".into(),
            schema,
            staged,
        };
        let (stored, created) = self
            .core
            .add_dataset_version(owner, upload)
            .await
            .map_err(permanent)?;
        if created {
            self.dataset_added(&stored.dataset, stored.version)
                .await
                .map_err(permanent)?;
        }
        Ok(ScoreReport {
            input_dataset: input.dataset,
            input_version: input.version,
            model_version: version.version,
            output_dataset: stored.dataset,
            output_version: stored.version,
            rows,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// Writes one CSV row, quoting where needed.
fn write_row<'a>(
    w: &mut impl Write,
    cells: impl Iterator<Item = &'a str>,
) -> Result<(), StepError> {
    let mut first = true;
    for cell in cells {
        if !first {
            w.write_all(b",").map_err(io)?;
        }
        first = false;
        if cell.contains([',', '"', '\n', '\r']) {
            write!(w, "\"{}\"", cell.replace('"', "\"\"")).map_err(io)?;
        } else {
            w.write_all(cell.as_bytes()).map_err(io)?;
        }
    }
    w.write_all(b"\n").map_err(io)
}

fn io(e: std::io::Error) -> StepError {
    StepError::Retryable(format!("writing the scored file: {e}"))
}
