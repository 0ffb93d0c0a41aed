//! Server and model metadata, readiness, Triton's model configuration and statistics.

use std::sync::{Arc, atomic::Ordering};

use actix_web::{HttpResponse, web};
use caravan_core::ModelService;
use caravan_domain::{TensorSpec, TensorType};
use caravan_inference::serving::LoadedModel;
use serde_json::{Value, json};

use super::Target;
use crate::http::{error::ApiError, extract::MaybeAuth};

pub async fn server() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "name": "caravan",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": ["binary_tensor_data", "model_repository", "model_configuration", "statistics"],
    }))
}

fn tensors(specs: &[TensorSpec]) -> Vec<Value> {
    specs
        .iter()
        .map(|s| json!({ "name": s.name, "datatype": s.datatype, "shape": s.shape }))
        .collect()
}

pub async fn model(
    models: web::Data<dyn ModelService>,
    MaybeAuth(who): MaybeAuth,
    t: Target<'_>,
) -> Result<HttpResponse, ApiError> {
    let meta = models.metadata(who.as_ref(), t.model, t.version).await?;
    let signature = &meta.signature;
    Ok(HttpResponse::Ok().json(json!({
        "name": meta.name,
        "versions": meta.versions.iter().map(i64::to_string).collect::<Vec<_>>(),
        "platform": "onnxruntime_onnx",
        "inputs": tensors(&signature.inputs),
        "outputs": tensors(&signature.outputs),
    })))
}

/// Any version the caller may read is ready, since it loads on first use, except one
/// unloaded through the repository API: that one answers 503 until it is loaded again (by
/// `load` or by a request), as Triton does.
pub async fn model_ready(
    models: web::Data<dyn ModelService>,
    MaybeAuth(who): MaybeAuth,
    t: Target<'_>,
) -> Result<HttpResponse, ApiError> {
    let meta = models.metadata(who.as_ref(), t.model, t.version).await?;
    if meta.ready {
        return Ok(HttpResponse::Ok().json(json!({ "name": meta.name, "ready": true })));
    }
    Ok(HttpResponse::ServiceUnavailable().json(json!({
        "name": meta.name,
        "ready": false,
        "error": format!("version {} of {} was unloaded; load it again to serve it", meta.version, meta.name),
    })))
}

fn triton_type(t: TensorType) -> String {
    match t {
        TensorType::Bytes => "TYPE_STRING".into(),
        other => format!("TYPE_{}", other.v2_name()),
    }
}

/// Triton's model configuration, as perf_analyzer and tritonclient read it. With dynamic
/// batching, `dims` leave out the batch dimension, as in Triton.
pub async fn config(
    models: web::Data<dyn ModelService>,
    MaybeAuth(who): MaybeAuth,
    t: Target<'_>,
) -> Result<HttpResponse, ApiError> {
    let meta = models.metadata(who.as_ref(), t.model, t.version).await?;
    let skip = usize::from(meta.max_batch_rows.is_some());
    let tensors = |specs: &[TensorSpec]| -> Vec<Value> {
        specs
            .iter()
            .map(|s| json!({ "name": s.name, "data_type": triton_type(s.datatype), "dims": s.shape[skip.min(s.shape.len())..] }))
            .collect()
    };
    let signature = &meta.signature;
    let mut config = json!({
        "name": meta.name,
        "platform": "onnxruntime_onnx",
        "backend": "onnxruntime",
        "version_policy": { "specific": { "versions": [meta.version] } },
        "max_batch_size": meta.max_batch_rows.unwrap_or(0),
        "input": tensors(&signature.inputs),
        "output": tensors(&signature.outputs),
    });
    if meta.max_batch_rows.is_some() {
        config["dynamic_batching"] =
            json!({ "max_queue_delay_microseconds": meta.max_queue_delay.as_micros() as u64 });
    }
    Ok(HttpResponse::Ok().json(config))
}

fn stats(name: &str, loaded: &Arc<LoadedModel>) -> Value {
    let s = &loaded.stats;
    let executions = s.executions.load(Ordering::Relaxed);
    let failures = s.failures.load(Ordering::Relaxed);
    let ns = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    let (queue_ns, compute_ns) = (ns(&s.queue_ns), ns(&s.compute_ns));
    let (input_ns, output_ns) = (ns(&s.input_ns), ns(&s.output_ns));
    // Triton's shape: perf_analyzer wants the three compute phases with equal counts.
    let phase = |ns: u64| json!({ "count": executions, "ns": ns });
    json!({
        "name": name,
        "version": loaded.key.version.to_string(),
        "last_inference": ns(&s.last_inference_ms),
        "inference_count": s.requests.load(Ordering::Relaxed),
        "execution_count": executions,
        "inference_stats": {
            "success": phase(input_ns + queue_ns + compute_ns + output_ns),
            "fail": { "count": failures, "ns": 0 },
            "queue": phase(queue_ns),
            "compute_input": phase(input_ns),
            "compute_infer": phase(compute_ns),
            "compute_output": phase(output_ns),
            "cache_hit": { "count": 0, "ns": 0 },
            "cache_miss": { "count": 0, "ns": 0 },
        },
        "batch_stats": [],
        "memory_usage": [],
        "queued_requests": loaded.queued(),
        "estimated_memory_bytes": loaded.estimated_bytes,
    })
}

pub async fn model_stats(
    models: web::Data<dyn ModelService>,
    MaybeAuth(who): MaybeAuth,
    t: Target<'_>,
) -> Result<HttpResponse, ApiError> {
    let loaded = models.stats(who.as_ref(), Some(t.model), t.version).await?;
    let model_stats: Vec<Value> = loaded.iter().map(|(n, l)| stats(n, l)).collect();
    Ok(HttpResponse::Ok().json(json!({ "model_stats": model_stats })))
}

pub async fn all_stats(
    models: web::Data<dyn ModelService>,
    MaybeAuth(who): MaybeAuth,
) -> Result<HttpResponse, ApiError> {
    let loaded = models.stats(who.as_ref(), None, None).await?;
    let model_stats: Vec<Value> = loaded.iter().map(|(n, l)| stats(n, l)).collect();
    Ok(HttpResponse::Ok().json(json!({ "model_stats": model_stats })))
}
