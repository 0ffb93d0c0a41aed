//! perf_analyzer, Triton's load generator, sweeps Caravan as its users run it: concurrency 1 to
//! 8 over HTTP, to the end, with the server-side statistics it checks after every level.

use crate::{
    golden::publish,
    support::{Backend, spawn_app},
};

pub async fn perf_analyzer_sweeps_concurrency_one_to_eight_over_http() {
    let perf_analyzer = std::env::var("CARAVAN_TEST_PERF_ANALYZER").expect(
        "CARAVAN_TEST_PERF_ANALYZER names perf_analyzer (scripts/install-perf-analyzer.sh prints it)",
    );
    let app = spawn_app(Backend::Sqlite).await;
    let model = publish(&app, "affine.onnx").await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("sweep.csv");
    let output = tokio::process::Command::new(&perf_analyzer)
        .args(["-m", &model, "-i", "http", "--concurrency-range", "1:8:1"])
        .args(["-u", app.base.trim_start_matches("http://")])
        .args(["-H", &format!("Authorization: Bearer {}", app.admin_token)])
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
    assert!(output.status.success(), "{said}");
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
    assert_eq!(levels, (1..=8).collect::<Vec<_>>(), "{table}");
}
