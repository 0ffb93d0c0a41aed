//! Fills a catalog with N models (one version each, no blobs) for search benchmarks.
//! Descriptions and tags are drawn from a fixed vocabulary with a seeded RNG, so every run
//! produces the same catalog.

use caravan_catalog::{Actor, ModelPatch, NewUser, NewVersion};
use caravan_domain::{ModelInfo, ModelName, Role, Visibility};
use clap::Parser;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};

#[derive(Parser)]
struct Args {
    /// sqlite://... or postgres://...
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 10_000)]
    models: usize,
}

const WORDS: &[&str] = &[
    "fraud",
    "detection",
    "churn",
    "forecast",
    "telemetry",
    "intrusion",
    "cryptomining",
    "anomaly",
    "vision",
    "segmentation",
    "classifier",
    "regression",
    "ranking",
    "recommendation",
    "speech",
    "translation",
    "sentiment",
    "forensics",
    "network",
    "traffic",
    "invoice",
    "credit",
    "risk",
    "pricing",
    "demand",
    "supply",
    "energy",
    "sensor",
    "maintenance",
    "quality",
    "defect",
    "medical",
    "imaging",
    "genomics",
    "weather",
    "satellite",
    "retail",
    "logistics",
    "routing",
];
const TAGS: &[&str] = &[
    "security",
    "tabular",
    "vision",
    "nlp",
    "audio",
    "timeseries",
    "mlp",
    "tree",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let catalog = caravan_catalog::open(&args.database_url, 8).await?;
    let user = match catalog.user_by_name("bench").await? {
        Some(user) => user,
        None => {
            let new = NewUser {
                username: "bench".into(),
                role: Role::User,
                password_hash: "-".into(),
            };
            catalog.create_user(new, None).await?
        }
    };
    let actor = Actor {
        user_id: user.id,
        username: user.username,
    };
    let mut rng = StdRng::seed_from_u64(7);
    let started = std::time::Instant::now();
    for i in 0..args.models {
        let words: Vec<&str> = (0..12)
            .map(|_| *WORDS.choose(&mut rng).expect("words"))
            .collect();
        let tags: Vec<String> = TAGS
            .choose_multiple(&mut rng, 2)
            .map(|t| t.to_string())
            .collect();
        let visibility = match rng.random_range(0..3) {
            0 => Visibility::Private,
            1 => Visibility::Organization,
            _ => Visibility::Public,
        };
        let metadata = ModelPatch {
            description: Some(words[..6].join(" ")),
            card: Some(format!("# Model {i}\n\n{}", words.join(" "))),
            tags: Some(tags),
            license: Some(Some("Apache-2.0".into())),
            visibility: Some(visibility),
        };
        let sha = format!("{:064x}", i + 1);
        catalog.reserve_blob(&sha, 1000).await?;
        let new = NewVersion {
            model: ModelName::parse(&format!("{}-{}-{i}", words[0], words[1]))?,
            metadata,
            sha256: sha,
            size: 1000,
            info: ModelInfo::default(),
            require_owner: None,
            import: None,
        };
        catalog.publish_version(new, &actor).await?;
    }
    println!(
        "seeded {} models in {:.1} s",
        args.models,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
