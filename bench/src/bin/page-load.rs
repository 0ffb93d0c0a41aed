//! Measures web UI page latency over HTTP (loopback, so it is server time plus a local round
//! trip): the catalog page with searches, filters and sorts, a model page, and admin pages,
//! each requested REQUESTS times, signed in with a session cookie or anonymously.

use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:18080")]
    url: String,
    /// A session token (the login JWT), sent as the UI's session cookie; without it, anonymous.
    #[arg(long)]
    session: Option<String>,
    #[arg(long, default_value_t = 200)]
    requests: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::new();
    let get = |path: String| {
        let mut request = client.get(format!("{}{path}", args.url));
        if let Some(session) = &args.session {
            request = request.header("cookie", format!("caravan_session={session}"));
        }
        request.send()
    };
    // A model every caller can open: the first public one in name order.
    let first: serde_json::Value = client
        .get(format!(
            "{}/api/v1/models?visibility=public&sort=name&limit=1",
            args.url
        ))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let model = first["items"][0]["name"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no public model to open"))?
        .to_owned();
    let mut pages = vec![
        ("catalog (newest)", "/".to_owned()),
        ("search one word", "/?q=forensics".to_owned()),
        ("search two words", "/?q=fraud+detection".to_owned()),
        ("tag filter", "/?tag=security".to_owned()),
        ("sort by downloads", "/?sort=downloads".to_owned()),
        ("model page", format!("/models/{model}")),
    ];
    if args.session.is_some() {
        pages.push(("upload form", "/upload".to_owned()));
        pages.push(("audit log", "/admin/audit".to_owned()));
    }
    println!("| page | p50 ms | p95 ms | p99 ms | bytes |");
    println!("|---|---|---|---|---|");
    for (label, path) in pages {
        let body = get(path.clone()).await?.error_for_status()?.bytes().await?;
        let mut latencies = Vec::with_capacity(args.requests);
        for _ in 0..args.requests {
            let started = Instant::now();
            let response = get(path.clone()).await?;
            assert!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            response.bytes().await?;
            latencies.push(started.elapsed());
        }
        latencies.sort();
        println!(
            "| {label} | {:.2} | {:.2} | {:.2} | {} |",
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.95),
            percentile(&latencies, 0.99),
            body.len()
        );
    }
    Ok(())
}
