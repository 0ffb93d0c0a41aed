//! The `evaluate` step: the candidate and the incumbent score the same evaluation dataset,
//! read in chunks of `batch_rows` (memory bounded by the chunk), through the serving engine.

use caravan_core::{InferenceRequest, ModelDetails};
use caravan_domain::{Principal, Signature, TensorType};
use caravan_inference::serving::TensorData;

use crate::{
    Pipelines, StepError,
    formats::{Numbers, columns_tensor},
    metrics::{self, Metrics, Task},
    permanent,
    spec::{EvaluateSpec, PipelineSpec, check_evaluation_dataset, check_signature},
};

/// Predictions of one version over the whole dataset.
#[derive(Default)]
struct Predictions {
    labels: Vec<i64>,
    values: Vec<f64>,
    scores: Vec<f64>,
}

fn as_f64(data: &TensorData) -> Option<Vec<f64>> {
    Some(match data {
        TensorData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        TensorData::F64(v) => v.clone(),
        TensorData::I64(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        TensorData::Bool(v) => v.iter().map(|&x| if x { 1.0 } else { 0.0 }).collect(),
        _ => return None,
    })
}

impl Pipelines {
    /// Scores `version` on one chunk and appends its predictions.
    #[allow(clippy::too_many_arguments)]
    async fn predict_chunk(
        &self,
        owner: &Principal,
        spec: &PipelineSpec,
        e: &EvaluateSpec,
        signature: &Signature,
        version: i64,
        rows: usize,
        features: &[(String, usize, usize)],
        chunk: &[f64],
        out: &mut Predictions,
    ) -> Result<(), StepError> {
        let stride: usize = features.iter().map(|f| f.2).sum();
        let mut inputs = Vec::new();
        for (name, offset, width) in features {
            let datatype = signature
                .inputs
                .iter()
                .find(|i| &i.name == name)
                .map(|i| i.datatype)
                .unwrap_or(TensorType::Fp32);
            let values: Vec<f64> = chunk
                .chunks_exact(stride)
                .flat_map(|row| row[*offset..offset + width].to_vec())
                .collect();
            inputs.push(columns_tensor(name, datatype, rows, *width, values)?);
        }
        let mut outputs = vec![e.output.clone()];
        outputs.extend(e.scores.clone());
        let request = InferenceRequest { inputs, outputs };
        let answer = self
            .core
            .infer(
                Some(owner),
                &spec.model,
                Some(&version.to_string()),
                request,
            )
            .await
            .map_err(permanent)?;
        let mut answered = answer.outputs.into_iter();
        let predicted = answered
            .next()
            .and_then(|t| as_f64(&t.data))
            .ok_or_else(|| {
                StepError::Permanent(format!("output {} of v{version} is not numeric", e.output))
            })?;
        if predicted.len() != rows {
            return Err(StepError::Permanent(format!(
                "output {} of v{version} has {} values for {rows} rows; it must hold one prediction per row",
                e.output,
                predicted.len()
            )));
        }
        out.labels
            .extend(predicted.iter().map(|&v| v.round() as i64));
        out.values.extend(predicted);
        if let Some(scores) = answered.next() {
            let width = scores.shape.last().copied().unwrap_or(1).max(1);
            let all = as_f64(&scores.data).unwrap_or_default();
            out.scores
                .extend(all.chunks(width).map(|row| row[width - 1]));
        }
        Ok(())
    }

    /// Scores the candidate (and the incumbent, if any); returns their metrics.
    pub(crate) async fn evaluate(
        &self,
        owner: &Principal,
        spec: &PipelineSpec,
        details: &ModelDetails,
        candidate: i64,
        incumbent: Option<i64>,
    ) -> Result<(Metrics, Option<Metrics>), StepError> {
        let e = spec
            .evaluate
            .as_ref()
            .expect("evaluate step only with an evaluate spec");
        let signature_of = |v: i64| {
            details
                .versions
                .iter()
                .find(|r| r.version == v)
                .map(|r| r.info.signature.clone())
                .ok_or_else(|| StepError::Permanent(format!("{} has no version {v}", spec.model)))
        };
        let signature = signature_of(candidate)?;
        if let Some(incumbent) = incumbent
            && signature_of(incumbent)? != signature
        {
            return Err(StepError::Permanent(format!(
                "promotion refused: the signature of v{candidate} differs from {}'s v{incumbent} (inputs or outputs changed)",
                spec.alias
            )));
        }
        check_signature(e, &signature).map_err(StepError::Permanent)?;
        let dataset = self
            .core
            .dataset_version(owner, &e.dataset, e.version)
            .await
            .map_err(permanent)?;
        check_evaluation_dataset(e, &dataset.schema).map_err(StepError::Permanent)?;
        let data = self.local_copy(&dataset.sha256).await?;
        let mut columns = Vec::new();
        let mut features = Vec::new();
        for (name, cols) in &e.inputs {
            features.push((name.clone(), columns.len(), cols.len()));
            columns.extend(cols.iter().cloned());
        }
        let label_index = columns.len();
        columns.push(e.label.clone());
        let max_rows = self.settings.max_batch_rows.min(e.batch_rows).max(1);
        let mut chunks = Numbers::open(data.path(), &dataset.format, &columns, max_rows)
            .map_err(|e| StepError::Permanent(e.to_string()))?;
        let (mut truth, mut cand, mut inc) =
            (Vec::new(), Predictions::default(), Predictions::default());
        let stride = columns.len();
        while let Some((rows, values)) = chunks
            .next_chunk()
            .map_err(|e| StepError::Permanent(e.to_string()))?
        {
            truth.extend(values.chunks_exact(stride).map(|row| row[label_index]));
            // Features only: each row without its label.
            let chunk: Vec<f64> = values
                .chunks_exact(stride)
                .flat_map(|row| row[..label_index].to_vec())
                .collect();
            self.predict_chunk(
                owner, spec, e, &signature, candidate, rows, &features, &chunk, &mut cand,
            )
            .await?;
            if let Some(incumbent) = incumbent {
                self.predict_chunk(
                    owner, spec, e, &signature, incumbent, rows, &features, &chunk, &mut inc,
                )
                .await?;
            }
        }
        let score = |p: &Predictions| match e.task {
            Task::Regression => metrics::regression(&truth, &p.values),
            task => {
                let labels: Vec<i64> = truth.iter().map(|&v| v.round() as i64).collect();
                let scores = (!p.scores.is_empty()).then_some(p.scores.as_slice());
                metrics::classification(task, &labels, &p.labels, scores)
            }
        };
        Ok((score(&cand), incumbent.map(|_| score(&inc))))
    }
}
