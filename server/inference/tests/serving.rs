//! The serving registry and executor against the real ONNX Runtime: results, dynamic
//! batching, single-flight loading, the memory budget and pinning.

use std::{path::PathBuf, sync::Arc, time::Duration};

use caravan_domain::TensorType;
use caravan_inference::{
    environment, resolve_library,
    serving::{
        Batching, InferError, LoadError, ModelFile, NamedTensor, Registry, ServingSettings,
        TensorData, VersionKey,
    },
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

fn settings(budget: u64, batching: Option<Batching>) -> ServingSettings {
    ServingSettings {
        sessions: 2,
        intra_threads: 1,
        memory_budget: budget,
        queue_capacity: 64,
        max_rows: 1024,
        batching,
        max_run: Duration::from_secs(30),
        inference_memory: 1 << 30,
    }
}

fn registry(settings: ServingSettings) -> Arc<Registry> {
    let env =
        environment(&resolve_library(None).expect("run scripts/fetch-onnxruntime.sh")).unwrap();
    Arc::new(Registry::new(env, settings))
}

fn key(version: i64) -> VersionKey {
    VersionKey {
        model_id: uuid::Uuid::nil(),
        version,
    }
}

async fn file(name: &'static str) -> Result<ModelFile, String> {
    Ok(ModelFile {
        path: fixture(name),
        keep: None,
    })
}

fn rows(values: &[f32]) -> NamedTensor {
    NamedTensor {
        name: "x".into(),
        shape: vec![values.len() / 4, 4],
        data: TensorData::F32(values.to_vec()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_are_batched_and_each_gets_its_own_rows() {
    let batching = Batching {
        max_rows: 64,
        max_delay: Duration::from_millis(20),
    };
    let registry = registry(settings(1 << 30, Some(batching)));
    let model = registry
        .get_or_load(key(1), "affine:1", || file("affine.onnx"))
        .await
        .unwrap();
    assert!(
        model.batching.is_some(),
        "a dynamic first dimension enables batching"
    );
    let requests = (0..40).map(|i| {
        let model = model.clone();
        tokio::spawn(async move {
            let n = 1 + i % 3;
            let values: Vec<f32> = (0..n * 4).map(|j| (i * 100 + j) as f32).collect();
            let out = model.infer(vec![rows(&values)], vec![]).await.unwrap();
            let expected: Vec<f32> = values.iter().map(|v| 2.0 * v + 1.0).collect();
            assert_eq!(out.outputs[0].shape, vec![n, 4]);
            assert_eq!(out.outputs[0].data, TensorData::F32(expected));
            out.batch_rows
        })
    });
    let mut batched = 0;
    for request in requests.collect::<Vec<_>>() {
        if request.await.unwrap() > 3 {
            batched += 1;
        }
    }
    assert!(batched > 0, "at least some requests shared a run");
}

#[tokio::test]
async fn a_version_loads_once_however_many_ask() {
    let registry = registry(settings(1 << 30, None));
    let loads = std::sync::atomic::AtomicUsize::new(0);
    let fetch = || async {
        loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        file("affine.onnx").await
    };
    let (a, b) = tokio::join!(
        registry.get_or_load(key(1), "m:1", fetch),
        registry.get_or_load(key(1), "m:1", fetch)
    );
    assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
    assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failed_load_is_reported_and_retried_later() {
    let registry = registry(settings(1 << 30, None));
    let broken = registry
        .get_or_load(key(1), "m:1", || file("unknown_op.onnx"))
        .await;
    assert!(matches!(broken, Err(LoadError::Load(m)) if m.contains("NoSuchOperator")));
    let missing = registry
        .get_or_load(key(1), "m:1", || async { Err("blob missing".to_string()) })
        .await;
    assert_eq!(missing.err(), Some(LoadError::Fetch("blob missing".into())));
    assert!(
        registry
            .get_or_load(key(1), "m:1", || file("affine.onnx"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_stored_model_with_external_data_is_never_loaded_for_serving() {
    let registry = registry(settings(1 << 30, None));
    let refused = registry
        .get_or_load(key(1), "m:1", || file("external_data.onnx"))
        .await;
    assert!(
        matches!(&refused, Err(LoadError::Load(m)) if m.contains("external file")),
        "{:?}",
        refused.err()
    );
    assert!(registry.index().is_empty());
}

#[tokio::test]
async fn the_budget_evicts_the_least_recently_used_unpinned_version() {
    // Each affine session is estimated at 2x its 237-byte file; two sessions: ~950 bytes.
    let registry = registry(settings(1500, None));
    registry
        .get_or_load(key(1), "m:1", || file("affine.onnx"))
        .await
        .unwrap();
    registry.pin(key(1));
    registry
        .get_or_load(key(2), "m:2", || file("affine_v2.onnx"))
        .await
        .unwrap();
    assert!(registry.get(key(1)).is_some(), "pinned versions stay");
    registry
        .get_or_load(key(3), "m:3", || file("affine.onnx"))
        .await
        .unwrap();
    assert!(
        registry.get(key(2)).is_none(),
        "the unpinned, least recently used one went"
    );
    assert!(registry.get(key(1)).is_some() && registry.get(key(3)).is_some());
    assert_eq!(registry.unload(key(1)), Err(LoadError::Pinned));
    assert_eq!(registry.unload(key(3)), Ok(true));
    assert_eq!(registry.index().len(), 1);
}

#[tokio::test]
async fn a_request_keeps_its_version_alive_after_eviction() {
    let registry = registry(settings(1 << 30, None));
    let model = registry
        .get_or_load(key(1), "m:1", || file("affine.onnx"))
        .await
        .unwrap();
    registry.unload(key(1)).unwrap();
    let out = model
        .infer(vec![rows(&[1.0, 2.0, 3.0, 4.0])], vec!["y".into()])
        .await
        .unwrap();
    assert_eq!(
        out.outputs[0].data,
        TensorData::F32(vec![3.0, 5.0, 7.0, 9.0])
    );
}

#[tokio::test]
async fn multiple_outputs_can_be_selected_by_name() {
    let registry = registry(settings(1 << 30, None));
    let model = registry
        .get_or_load(key(1), "m:1", || file("two_in_two_out.onnx"))
        .await
        .unwrap();
    let input = |name: &str, v: Vec<i64>| NamedTensor {
        name: name.into(),
        shape: vec![v.len()],
        data: TensorData::I64(v),
    };
    let out = model
        .infer(
            vec![input("b", vec![-1, 0]), input("a", vec![1, 5])],
            vec!["nonzero".into()],
        )
        .await
        .unwrap();
    assert_eq!(out.outputs.len(), 1);
    assert_eq!(out.outputs[0].name, "nonzero");
    assert_eq!(out.outputs[0].data, TensorData::Bool(vec![false, true]));
    assert_eq!(out.outputs[0].data.datatype(), TensorType::Bool);
    let all = model
        .infer(vec![input("a", vec![2]), input("b", vec![3])], vec![])
        .await
        .unwrap();
    let names: Vec<_> = all.outputs.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["sum", "nonzero"]);
    let failed = model.infer(vec![input("a", vec![2])], vec![]).await;
    assert!(
        matches!(failed, Err(InferError::Failed(_))),
        "unchecked bad input fails cleanly"
    );
}
