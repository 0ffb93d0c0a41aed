//! perf_analyzer, Triton's load generator, sweeps Caravan as its users run it: concurrency 1 to
//! 8 over HTTP and over gRPC, to the end, with the server-side statistics it checks after every
//! level.

use crate::{
    golden::publish,
    support::{Backend, spawn_app_with},
};

/// Runs one sweep; panics with perf_analyzer's words unless every level was measured.
async fn sweep(protocol: &str, url: &str, model: &str, token: &str) {
    let perf_analyzer = std::env::var("CARAVAN_TEST_PERF_ANALYZER").expect(
        "CARAVAN_TEST_PERF_ANALYZER names perf_analyzer (scripts/install-perf-analyzer.sh prints it)",
    );
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("sweep.csv");
    let output = tokio::process::Command::new(&perf_analyzer)
        .args(["-m", model, "-i", protocol, "--concurrency-range", "1:8:1"])
        .args(["-u", url])
        // Lower case: gRPC metadata keys must be (HTTP headers are read either way).
        .args(["-H", &format!("authorization: Bearer {token}")])
        // Short windows of a fixed number of requests: the sweep, not the numbers, is tested.
        .args(["--measurement-mode", "count_windows"])
        .args(["--measurement-request-count", "50"])
        .args(["--max-trials", "20", "--stability-percentage", "100"])
        .arg("-f")
        .arg(&csv)
        .output()
        .await
        .unwrap();
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{protocol}: {said}");
    assert!(!said.contains("must be the same"), "{said}");
    assert!(
        said.contains("Server:"),
        "server-side statistics were read: {said}"
    );
    let table = std::fs::read_to_string(&csv).unwrap();
    // One row per level (in order of throughput, not of concurrency).
    let mut levels: Vec<u32> = Vec::new();
    for row in table.lines().skip(1) {
        let mut cells = row.split(',');
        levels.push(cells.next().unwrap().parse().unwrap());
        let rate: f64 = cells.next().unwrap().parse().unwrap();
        assert!(rate > 0.0, "{table}");
    }
    levels.sort_unstable();
    assert_eq!(levels, (1..=8).collect::<Vec<_>>(), "{protocol}: {table}");
}

pub async fn perf_analyzer_sweeps_concurrency_one_to_eight_over_http_and_grpc() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.grpc.bind = "127.0.0.1:0".into()).await;
    let model = publish(&app, "affine.onnx").await;
    let http = app.base.trim_start_matches("http://").to_owned();
    sweep("http", &http, &model, &app.admin_token).await;
    let grpc = format!("127.0.0.1:{}", app.grpc_port.unwrap());
    sweep("grpc", &grpc, &model, &app.admin_token).await;
}
