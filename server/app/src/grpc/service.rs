//! `inference.GRPCInferenceService` over the same [`ModelService`] as `/v2`: the same auth
//! (a bearer token in the `authorization` metadata), access rules, batching and limits.

use std::sync::{Arc, atomic::Ordering};

use caravan_core::{Core, CoreError, InferenceRequest, ModelService};
use caravan_domain::Principal;
use caravan_inference::serving::LoadedModel;
use tonic::{Request, Response, Status};

use super::proto::{self, grpc_inference_service_server::GrpcInferenceService as Service};
use super::tensors;

pub struct Inference {
    pub core: Core,
    pub models: Arc<dyn ModelService>,
}

/// A core error as a gRPC status, with the same public words as REST.
fn status(e: CoreError) -> Status {
    e.log();
    let message = e.public_message();
    match e {
        CoreError::Unauthenticated(_) => Status::unauthenticated(message),
        CoreError::Forbidden(_) => Status::permission_denied(message),
        CoreError::NotFound { .. } => Status::not_found(message),
        CoreError::Conflict { .. } => Status::failed_precondition(message),
        CoreError::Invalid(_) | CoreError::Refused(_) => Status::invalid_argument(message),
        CoreError::TooLarge(_) | CoreError::LimitExceeded(_) | CoreError::RateLimited { .. } => {
            Status::resource_exhausted(message)
        }
        CoreError::Busy(_) | CoreError::Unavailable(_) => Status::unavailable(message),
        _ => Status::internal(message),
    }
}

fn version(raw: &str) -> Option<&str> {
    (!raw.is_empty()).then_some(raw)
}

impl Inference {
    /// The caller named by the request's bearer token, if any.
    async fn caller<T>(&self, request: &Request<T>) -> Result<Option<Principal>, Status> {
        let Some(value) = request.metadata().get("authorization") else {
            return Ok(None);
        };
        let value = value
            .to_str()
            .map_err(|_| Status::unauthenticated("malformed authorization metadata"))?
            .trim();
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| Status::unauthenticated("authorization must be Bearer <token>"))?;
        Ok(Some(
            self.core.authenticate(token.trim()).await.map_err(status)?,
        ))
    }

    async fn signed_in<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        self.caller(request)
            .await?
            .ok_or_else(|| Status::unauthenticated("credentials required"))
    }
}

fn duration(count: u64, ns: u64) -> Option<proto::StatisticDuration> {
    Some(proto::StatisticDuration { count, ns })
}

fn statistics(name: &str, loaded: &LoadedModel) -> proto::ModelStatistics {
    let s = &loaded.stats;
    let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let executions = n(&s.executions);
    let (input, queue, infer, output) = (
        n(&s.input_ns),
        n(&s.queue_ns),
        n(&s.compute_ns),
        n(&s.output_ns),
    );
    proto::ModelStatistics {
        name: name.to_owned(),
        version: loaded.key.version.to_string(),
        last_inference: n(&s.last_inference_ms),
        inference_count: n(&s.requests),
        execution_count: executions,
        inference_stats: Some(proto::InferStatistics {
            success: duration(executions, input + queue + infer + output),
            fail: duration(n(&s.failures), 0),
            queue: duration(executions, queue),
            compute_input: duration(executions, input),
            compute_infer: duration(executions, infer),
            compute_output: duration(executions, output),
            cache_hit: duration(0, 0),
            cache_miss: duration(0, 0),
        }),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl Service for Inference {
    async fn server_live(
        &self,
        _: Request<proto::ServerLiveRequest>,
    ) -> Result<Response<proto::ServerLiveResponse>, Status> {
        Ok(Response::new(proto::ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<proto::ServerReadyRequest>,
    ) -> Result<Response<proto::ServerReadyResponse>, Status> {
        Ok(Response::new(proto::ServerReadyResponse {
            ready: self.models.ready(),
        }))
    }

    async fn model_ready(
        &self,
        request: Request<proto::ModelReadyRequest>,
    ) -> Result<Response<proto::ModelReadyResponse>, Status> {
        let who = self.caller(&request).await?;
        let r = request.get_ref();
        let meta = self
            .models
            .metadata(who.as_ref(), &r.name, version(&r.version))
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ModelReadyResponse {
            ready: meta.ready,
        }))
    }

    async fn server_metadata(
        &self,
        _: Request<proto::ServerMetadataRequest>,
    ) -> Result<Response<proto::ServerMetadataResponse>, Status> {
        Ok(Response::new(proto::ServerMetadataResponse {
            name: "caravan".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            extensions: ["model_repository", "model_configuration", "statistics"]
                .map(String::from)
                .to_vec(),
        }))
    }

    async fn model_metadata(
        &self,
        request: Request<proto::ModelMetadataRequest>,
    ) -> Result<Response<proto::ModelMetadataResponse>, Status> {
        let who = self.caller(&request).await?;
        let r = request.get_ref();
        let meta = self
            .models
            .metadata(who.as_ref(), &r.name, version(&r.version))
            .await
            .map_err(status)?;
        let tensors = |specs: &[caravan_domain::TensorSpec]| {
            specs
                .iter()
                .map(|s| proto::model_metadata_response::TensorMetadata {
                    name: s.name.clone(),
                    datatype: s.datatype.v2_name().into(),
                    shape: s.shape.clone(),
                })
                .collect()
        };
        Ok(Response::new(proto::ModelMetadataResponse {
            name: meta.name.clone(),
            versions: meta.versions.iter().map(i64::to_string).collect(),
            platform: "onnxruntime_onnx".into(),
            inputs: tensors(&meta.signature.inputs),
            outputs: tensors(&meta.signature.outputs),
        }))
    }

    async fn model_infer(
        &self,
        mut request: Request<proto::ModelInferRequest>,
    ) -> Result<Response<proto::ModelInferResponse>, Status> {
        let who = self.caller(&request).await?;
        let decoding = std::time::Instant::now();
        let r = request.get_mut();
        let inputs = tensors::inputs(r).map_err(Status::invalid_argument)?;
        let decoded = decoding.elapsed();
        let outputs = r.outputs.iter().map(|o| o.name.clone()).collect();
        let inference = self
            .models
            .infer(
                who.as_ref(),
                &r.model_name,
                version(&r.model_version),
                InferenceRequest { inputs, outputs },
            )
            .await
            .map_err(status)?;
        let encoding = std::time::Instant::now();
        let (outputs, raw_output_contents) = tensors::outputs(&inference.outputs);
        inference.served.record_io(decoded, encoding.elapsed());
        Ok(Response::new(proto::ModelInferResponse {
            model_name: inference.model,
            model_version: inference.version.to_string(),
            id: std::mem::take(&mut r.id),
            outputs,
            raw_output_contents,
            ..Default::default()
        }))
    }

    type ModelStreamInferStream =
        futures::stream::Empty<Result<proto::ModelStreamInferResponse, Status>>;

    async fn model_stream_infer(
        &self,
        _: Request<tonic::Streaming<proto::ModelInferRequest>>,
    ) -> Result<Response<Self::ModelStreamInferStream>, Status> {
        Err(Status::unimplemented(
            "ModelStreamInfer is not offered; use ModelInfer",
        ))
    }

    async fn model_config(
        &self,
        request: Request<proto::ModelConfigRequest>,
    ) -> Result<Response<proto::ModelConfigResponse>, Status> {
        let who = self.caller(&request).await?;
        let r = request.get_ref();
        let meta = self
            .models
            .metadata(who.as_ref(), &r.name, version(&r.version))
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ModelConfigResponse {
            config: Some(super::config::model_config(&meta)),
        }))
    }

    async fn model_statistics(
        &self,
        request: Request<proto::ModelStatisticsRequest>,
    ) -> Result<Response<proto::ModelStatisticsResponse>, Status> {
        let who = self.caller(&request).await?;
        let r = request.get_ref();
        let name = (!r.name.is_empty()).then_some(r.name.as_str());
        let loaded = self
            .models
            .stats(who.as_ref(), name, version(&r.version))
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ModelStatisticsResponse {
            model_stats: loaded.iter().map(|(n, l)| statistics(n, l)).collect(),
        }))
    }

    async fn repository_index(
        &self,
        request: Request<proto::RepositoryIndexRequest>,
    ) -> Result<Response<proto::RepositoryIndexResponse>, Status> {
        let who = self.caller(&request).await?;
        let entries = self
            .models
            .index(who.as_ref(), request.get_ref().ready)
            .await
            .map_err(status)?;
        let models = entries
            .into_iter()
            .map(|e| proto::repository_index_response::ModelIndex {
                name: e.name,
                version: e.version.to_string(),
                state: if e.loaded { "READY" } else { "UNAVAILABLE" }.into(),
                reason: String::new(),
            })
            .collect();
        Ok(Response::new(proto::RepositoryIndexResponse { models }))
    }

    async fn repository_model_load(
        &self,
        request: Request<proto::RepositoryModelLoadRequest>,
    ) -> Result<Response<proto::RepositoryModelLoadResponse>, Status> {
        let who = self.signed_in(&request).await?;
        let r = request.get_ref();
        if !r.parameters.is_empty() {
            return Err(Status::invalid_argument(
                "a load takes no parameters: models arrive only through onboarding, which validates them",
            ));
        }
        self.models
            .load(&who, &r.model_name, None)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::RepositoryModelLoadResponse {}))
    }

    async fn repository_model_unload(
        &self,
        request: Request<proto::RepositoryModelUnloadRequest>,
    ) -> Result<Response<proto::RepositoryModelUnloadResponse>, Status> {
        let who = self.signed_in(&request).await?;
        self.models
            .unload(&who, &request.get_ref().model_name, None)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::RepositoryModelUnloadResponse {}))
    }

    async fn system_shared_memory_status(
        &self,
        _: Request<proto::SystemSharedMemoryStatusRequest>,
    ) -> Result<Response<proto::SystemSharedMemoryStatusResponse>, Status> {
        Err(unsupported())
    }

    async fn system_shared_memory_register(
        &self,
        _: Request<proto::SystemSharedMemoryRegisterRequest>,
    ) -> Result<Response<proto::SystemSharedMemoryRegisterResponse>, Status> {
        Err(unsupported())
    }

    async fn system_shared_memory_unregister(
        &self,
        _: Request<proto::SystemSharedMemoryUnregisterRequest>,
    ) -> Result<Response<proto::SystemSharedMemoryUnregisterResponse>, Status> {
        Err(unsupported())
    }

    async fn cuda_shared_memory_status(
        &self,
        _: Request<proto::CudaSharedMemoryStatusRequest>,
    ) -> Result<Response<proto::CudaSharedMemoryStatusResponse>, Status> {
        Err(unsupported())
    }

    async fn cuda_shared_memory_register(
        &self,
        _: Request<proto::CudaSharedMemoryRegisterRequest>,
    ) -> Result<Response<proto::CudaSharedMemoryRegisterResponse>, Status> {
        Err(unsupported())
    }

    async fn cuda_shared_memory_unregister(
        &self,
        _: Request<proto::CudaSharedMemoryUnregisterRequest>,
    ) -> Result<Response<proto::CudaSharedMemoryUnregisterResponse>, Status> {
        Err(unsupported())
    }

    async fn trace_setting(
        &self,
        _: Request<proto::TraceSettingRequest>,
    ) -> Result<Response<proto::TraceSettingResponse>, Status> {
        Err(unsupported())
    }

    async fn log_settings(
        &self,
        _: Request<proto::LogSettingsRequest>,
    ) -> Result<Response<proto::LogSettingsResponse>, Status> {
        Err(unsupported())
    }
}

/// Shared memory, tracing and log settings belong to a server on the same host as its clients
/// and to its operators; Caravan offers none of them over the protocol.
fn unsupported() -> Status {
    Status::unimplemented("not offered by Caravan")
}
