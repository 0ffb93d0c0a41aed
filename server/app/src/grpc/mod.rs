//! The Open Inference Protocol over gRPC (`[grpc] bind`): Triton's
//! `inference.GRPCInferenceService`, which tritonclient and perf_analyzer speak, served by
//! tonic on its own port over the same core as `/v2`.

mod config;
mod service;
mod tensors;

use std::sync::Arc;

use caravan_core::{Core, ModelService};

#[allow(clippy::all, missing_docs, unreachable_pub)]
pub mod proto {
    tonic::include_proto!("inference");
}

use proto::grpc_inference_service_server::GrpcInferenceServiceServer;

/// Serves gRPC on `listener` until the process ends; messages are bounded by
/// `max_message_bytes` both ways (REST's `serving.max_request_bytes`).
pub fn spawn(
    core: Core,
    listener: std::net::TcpListener,
    max_message_bytes: usize,
) -> std::io::Result<u16> {
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let models: Arc<dyn ModelService> = Arc::new(core.clone());
    let service = GrpcInferenceServiceServer::new(service::Inference { core, models })
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes);
    // TCP_NODELAY as on the REST port: without it small answers wait for delayed ACKs (about
    // 40 ms at the tail, measured with perf_analyzer at c=8).
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming)
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the gRPC listener stopped");
        }
    });
    tracing::info!(port, "serving the Open Inference Protocol over gRPC");
    Ok(port)
}
