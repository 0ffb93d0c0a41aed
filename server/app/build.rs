//! Compiles the Open Inference Protocol's gRPC service (Triton's protos in proto/triton) with
//! protox, a protobuf compiler in Rust, so that building needs no protoc.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/triton");
    let descriptors = protox::compile(["grpc_service.proto"], ["proto/triton"])?;
    tonic_prost_build::configure()
        .build_client(false)
        .compile_fds(descriptors)?;
    Ok(())
}
