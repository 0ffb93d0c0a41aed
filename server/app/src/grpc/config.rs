//! Triton's model configuration, as perf_analyzer and tritonclient read it over gRPC: the same
//! facts as REST's `/config` (with dynamic batching, `dims` leave out the batch dimension).

use caravan_core::VersionMetadata;
use caravan_domain::{TensorSpec, TensorType};

use super::proto::{self, DataType, ModelConfig};

fn data_type(t: TensorType) -> i32 {
    let name = match t {
        TensorType::Bytes => "TYPE_STRING".to_owned(),
        other => format!("TYPE_{}", other.v2_name()),
    };
    DataType::from_str_name(&name).map_or(DataType::TypeInvalid as i32, |d| d as i32)
}

pub fn model_config(meta: &VersionMetadata) -> ModelConfig {
    let skip = usize::from(meta.max_batch_rows.is_some());
    let dims = |s: &TensorSpec| s.shape[skip.min(s.shape.len())..].to_vec();
    let signature = &meta.signature;
    ModelConfig {
        name: meta.name.clone(),
        platform: "onnxruntime_onnx".into(),
        backend: "onnxruntime".into(),
        max_batch_size: meta.max_batch_rows.map_or(0, |n| n as i32),
        input: signature
            .inputs
            .iter()
            .map(|s| proto::ModelInput {
                name: s.name.clone(),
                data_type: data_type(s.datatype),
                dims: dims(s),
                ..Default::default()
            })
            .collect(),
        output: signature
            .outputs
            .iter()
            .map(|s| proto::ModelOutput {
                name: s.name.clone(),
                data_type: data_type(s.datatype),
                dims: dims(s),
                ..Default::default()
            })
            .collect(),
        scheduling_choice: meta.max_batch_rows.map(|_| {
            proto::model_config::SchedulingChoice::DynamicBatching(proto::ModelDynamicBatching {
                max_queue_delay_microseconds: meta.max_queue_delay.as_micros() as u64,
                ..Default::default()
            })
        }),
        ..Default::default()
    }
}
