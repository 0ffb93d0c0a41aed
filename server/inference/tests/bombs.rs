//! Hostile models against the real ONNX Runtime: a request that makes a model allocate
//! gigabytes fails at once within the serving arena, a run that would take years stops at the
//! time limit or as soon as its caller leaves, and a model whose output is always too large is
//! never loaded. Each test runs in its own process (nextest), so each gets its own arena.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use caravan_inference::{
    environment, resolve_library,
    serving::{
        InferError, LoadError, LoadedModel, ModelFile, NamedTensor, Registry, ServingSettings,
        TensorData, VersionKey,
    },
};

const ARENA: u64 = 256 << 20;

fn registry(max_run: Duration) -> Arc<Registry> {
    let env =
        environment(&resolve_library(None).expect("run scripts/fetch-onnxruntime.sh")).unwrap();
    Arc::new(Registry::new(
        env,
        ServingSettings {
            sessions: 1,
            intra_threads: 1,
            memory_budget: 1 << 30,
            queue_capacity: 16,
            max_rows: 1024,
            batching: None,
            max_run,
            inference_memory: ARENA,
        },
    ))
}

async fn load(registry: &Registry, version: i64, name: &'static str) -> Arc<LoadedModel> {
    try_load(registry, version, name)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

async fn try_load(
    registry: &Registry,
    version: i64,
    name: &'static str,
) -> Result<Arc<LoadedModel>, LoadError> {
    let key = VersionKey {
        model_id: uuid::Uuid::nil(),
        version,
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name);
    registry
        .get_or_load(key, name, || async { Ok(ModelFile { path, keep: None }) })
        .await
}

fn tensor(name: &str, shape: Vec<usize>, data: TensorData) -> NamedTensor {
    NamedTensor {
        name: name.into(),
        shape,
        data,
    }
}

fn x() -> NamedTensor {
    tensor("x", vec![1], TensorData::F32(vec![1.0]))
}

async fn affine_answers(model: &LoadedModel) {
    let input = tensor("x", vec![1, 4], TensorData::F32(vec![1.0, 2.0, 3.0, 4.0]));
    let out = model.infer(vec![input], vec![]).await.unwrap();
    assert_eq!(
        out.outputs[0].data,
        TensorData::F32(vec![3.0, 5.0, 7.0, 9.0])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sized_allocation_fails_within_the_arena_and_others_keep_answering() {
    let registry = registry(Duration::from_secs(30));
    let bomb = load(&registry, 1, "bomb_expand.onnx").await;
    let affine = load(&registry, 2, "affine.onnx").await;
    // 5 * 10^8 floats: 2 GB asked for by a 16-byte request, well within the machine's memory
    // (so only the arena refuses it), eight times the arena.
    let shape = tensor("shape", vec![2], TensorData::I64(vec![25_000, 20_000]));
    let started = Instant::now();
    let refused = bomb.infer(vec![x(), shape], vec![]).await;
    assert_eq!(refused.err(), Some(InferError::OutOfMemory));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    affine_answers(&affine).await;
    // The same model still answers a request it can afford.
    let small = tensor("shape", vec![2], TensorData::I64(vec![10, 10]));
    let out = bomb.infer(vec![x(), small], vec![]).await.unwrap();
    assert_eq!(out.outputs[0].data, TensorData::F32(vec![100.0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constant_sized_allocation_fails_within_the_arena() {
    let registry = registry(Duration::from_secs(30));
    let bomb = load(&registry, 1, "bomb_constant.onnx").await;
    let refused = bomb.infer(vec![x()], vec![]).await;
    assert_eq!(refused.err(), Some(InferError::OutOfMemory));
    let affine = load(&registry, 2, "affine.onnx").await;
    affine_answers(&affine).await;
}

#[tokio::test]
async fn a_model_whose_output_is_always_too_large_is_not_loaded() {
    let registry = registry(Duration::from_secs(30));
    let refused = try_load(&registry, 1, "bomb_output.onnx").await;
    match refused {
        Err(LoadError::Load(message)) => {
            assert!(message.contains("inference_memory_mb"), "{message}");
            assert!(message.contains("10000000000 bytes"), "{message}");
        }
        other => panic!("loaded: {:?}", other.err()),
    }
    assert!(registry.index().is_empty());
}

fn trips(n: i64) -> Vec<NamedTensor> {
    vec![tensor("n", vec![], TensorData::I64(vec![n])), x()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_past_the_time_limit_is_stopped_and_the_model_serves_again() {
    let limit = Duration::from_millis(300);
    let registry = registry(limit);
    let bomb = load(&registry, 1, "bomb_loop.onnx").await;
    let started = Instant::now();
    let stopped = bomb.infer(trips(1 << 50), vec![]).await;
    let took = started.elapsed();
    assert_eq!(stopped.err(), Some(InferError::TimedOut(limit)));
    assert!(took >= limit && took < limit * 10, "{took:?}");
    let out = bomb.infer(trips(5), vec![]).await.unwrap();
    assert_eq!(out.outputs[0].data, TensorData::F32(vec![6.0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_caller_left_is_stopped_without_waiting_for_the_limit() {
    // One session: the next request can only run once the abandoned run has stopped.
    let registry = registry(Duration::from_secs(600));
    let bomb = load(&registry, 1, "bomb_loop.onnx").await;
    let abandoned = tokio::time::timeout(
        Duration::from_millis(200),
        bomb.infer(trips(1 << 50), vec![]),
    )
    .await;
    assert!(abandoned.is_err(), "the bomb cannot finish in 200 ms");
    let started = Instant::now();
    let out = bomb.infer(trips(5), vec![]).await.unwrap();
    assert_eq!(out.outputs[0].data, TensorData::F32(vec![6.0]));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the session was freed in {:?}",
        started.elapsed()
    );
}
