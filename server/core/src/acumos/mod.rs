//! Acumos compatibility in the use cases: the model-runner interface of ONNX versions (a
//! .proto generated from the signature or sent by the publisher, messages to tensors and
//! back), and Acumos model bundles (inspected, catalogued, never run).

pub mod bundle;
pub mod codec;
pub mod metadata;
pub mod proto;
pub(crate) mod publish;
pub mod schema;

pub use codec::Encoding;
pub use publish::BundleUpload;
pub use schema::{Method, RunnerSchema};

#[cfg(test)]
mod tests;
