//! In-process ONNX Runtime throughput, the ceiling for any server: `Session::run` back to back
//! on the same library Caravan loads, for a model and batch sizes, with one session per thread.

use std::time::{Duration, Instant};

use clap::Parser;
use ort::{session::Session, value::Tensor};

#[derive(Parser)]
struct Args {
    /// The model (float32 input [N, features]).
    model: std::path::PathBuf,
    #[arg(long, default_value = "1,32,256")]
    batches: String,
    /// Threads, each with its own session (2 = both cores, like the server).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[arg(long, default_value_t = 2)]
    seconds: u64,
    #[arg(long, default_value = ".ort/lib/libonnxruntime.so")]
    ort_library: std::path::PathBuf,
}

fn run(
    session: &mut Session,
    input: &str,
    features: usize,
    batch: usize,
    seconds: u64,
) -> (u64, Vec<Duration>) {
    let data = vec![0.5f32; batch * features];
    let mut rows = 0;
    let mut latencies = Vec::new();
    for _ in 0..50 {
        let x = Tensor::from_array(([batch, features], data.clone())).unwrap();
        session.run(ort::inputs![input => x]).unwrap();
    }
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        let x = Tensor::from_array(([batch, features], data.clone())).unwrap();
        let started = Instant::now();
        session.run(ort::inputs![input => x]).unwrap();
        latencies.push(started.elapsed());
        rows += batch as u64;
    }
    (rows, latencies)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let env = ort::init_from(&args.ort_library)?.build()?;
    println!("| batch | threads | rows/s | p50 µs | p99 µs |");
    println!("|---|---|---|---|---|");
    for batch in args.batches.split(',').map(|b| b.parse::<usize>()) {
        let batch = batch?;
        let results: Vec<(u64, Vec<Duration>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..args.threads)
                .map(|_| {
                    let env = &env;
                    let model = &args.model;
                    scope.spawn(move || {
                        let mut session = Session::builder(env)
                            .unwrap()
                            .with_optimization_level(
                                ort::session::builder::GraphOptimizationLevel::Level3,
                            )
                            .unwrap()
                            .with_inter_threads(1)
                            .unwrap()
                            .with_intra_threads(1)
                            .unwrap()
                            .commit_from_file(model)
                            .unwrap();
                        let input = session.inputs()[0].name().to_owned();
                        let features = session.inputs()[0]
                            .dtype()
                            .tensor_shape()
                            .map_or(1, |s| s[1].max(1) as usize);
                        run(&mut session, &input, features, batch, args.seconds)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let rows: u64 = results.iter().map(|r| r.0).sum();
        let mut latencies: Vec<Duration> = results.into_iter().flat_map(|r| r.1).collect();
        latencies.sort();
        let pct =
            |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
        println!(
            "| {batch} | {} | {:.0} | {:.1} | {:.1} |",
            args.threads,
            rows as f64 / args.seconds as f64,
            pct(0.5),
            pct(0.99)
        );
    }
    Ok(())
}
