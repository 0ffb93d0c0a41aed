//! Measures catalog search latency over HTTP: a fixed mix of queries (full-text, tag filter,
//! sorts, a second page), each sent REQUESTS times at concurrency C, reporting p50/p95/p99.

use std::time::{Duration, Instant};

use clap::Parser;
use futures::{StreamExt, stream};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:18080")]
    url: String,
    /// Bearer token; without it, queries run as an anonymous visitor (public models only).
    #[arg(long)]
    token: Option<String>,
    #[arg(long, default_value_t = 500)]
    requests: usize,
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
}

const QUERIES: &[(&str, &str)] = &[
    ("q=one word", "/api/v1/models?q=forensics"),
    ("q=two words", "/api/v1/models?q=fraud%20detection"),
    ("q=prefix", "/api/v1/models?q=crypto"),
    ("tag filter", "/api/v1/models?tag=security"),
    ("q + tag", "/api/v1/models?q=network&tag=security"),
    ("sort=downloads", "/api/v1/models?sort=downloads"),
    ("sort=name", "/api/v1/models?sort=name"),
    ("list (updated)", "/api/v1/models"),
];

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::new();
    println!("| query | p50 ms | p95 ms | p99 ms | items/page |");
    println!("|---|---|---|---|---|");
    for (label, path) in QUERIES {
        let url = format!("{}{path}", args.url);
        let send = || {
            let mut request = client.get(&url);
            if let Some(token) = &args.token {
                request = request.bearer_auth(token);
            }
            request.send()
        };
        // Warm up, and check the query works.
        let page: serde_json::Value = send().await?.error_for_status()?.json().await?;
        let items = page["items"].as_array().map_or(0, Vec::len);
        let mut latencies: Vec<Duration> = stream::iter(0..args.requests)
            .map(|_| async {
                let started = Instant::now();
                let response = send().await.expect("request");
                assert!(response.status().is_success());
                response.bytes().await.expect("body");
                started.elapsed()
            })
            .buffer_unordered(args.concurrency)
            .collect()
            .await;
        latencies.sort();
        println!(
            "| {label} | {:.2} | {:.2} | {:.2} | {items} |",
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.95),
            percentile(&latencies, 0.99)
        );
    }
    Ok(())
}
