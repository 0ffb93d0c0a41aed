//! `caravan runner`: the same binary serving one model, with no database and no catalog, over
//! the server's own Open Inference Protocol code (the V2 handlers hold a `dyn ModelService`,
//! here the runner's [`Runner`]), with the server's batching, limits and connection deadlines
//! (`[serving]`, `[http]` and `[onboarding]` of the configuration apply).

mod follow;
mod routes;

use std::{net::TcpListener, path::PathBuf, sync::Arc};

use actix_web::{App, HttpServer, dev::Server, middleware::from_fn, web};
use anyhow::Context;
use caravan_core::{
    ModelService,
    runner::{Runner, Source},
};
use caravan_inference::{environment, resolve_library, serving::Registry};
use tracing_actix_web::TracingLogger;

pub use follow::{FollowTarget, Follower, Marketplace};
pub use routes::SwapToken;

use crate::{
    Settings,
    http::{connections, metrics, spans, v2},
};

/// What `caravan runner` was asked to serve, and how.
#[derive(Debug, Clone, clap::Args)]
pub struct RunnerArgs {
    /// An ONNX file to serve (validated as onboarding validates it).
    #[arg(
        long,
        env = "CARAVAN_RUNNER_MODEL",
        required_unless_present = "follow",
        conflicts_with = "follow"
    )]
    pub model: Option<PathBuf>,
    /// An alias on a Caravan instance to serve and follow:
    /// https://HOST/api/v1/models/NAME/aliases/ALIAS (swaps when the alias moves).
    #[arg(long, env = "CARAVAN_RUNNER_FOLLOW")]
    pub follow: Option<String>,
    /// A file holding the instance's API token (scope `read`) for --follow.
    #[arg(long, env = "CARAVAN_RUNNER_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "CARAVAN_RUNNER_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// A file holding the bearer token `PUT /model` requires; without it, swapping is off.
    #[arg(long, env = "CARAVAN_RUNNER_SWAP_TOKEN_FILE")]
    pub swap_token_file: Option<PathBuf>,
    /// The name the model is served under (default: the file's name without `.onnx`, or the
    /// followed model's name).
    #[arg(long, env = "CARAVAN_RUNNER_NAME")]
    pub name: Option<String>,
}

/// A built runner, its first model loaded, not yet serving.
pub struct RunnerApp {
    pub server: Server,
    pub port: u16,
    pub runner: Arc<Runner>,
    /// In follow mode, what follows the alias (`spawn` it once the server runs).
    pub follower: Option<Arc<Follower>>,
}

/// Reads a token file: its first line, which must not be empty.
fn read_token(path: &std::path::Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the token file {}", path.display()))?;
    let token = text.lines().next().unwrap_or_default().trim().to_owned();
    anyhow::ensure!(
        !token.is_empty(),
        "the token file {} is empty",
        path.display()
    );
    Ok(token)
}

fn served_name(args: &RunnerArgs, follow: Option<&FollowTarget>) -> anyhow::Result<String> {
    let name = match (&args.name, follow, &args.model) {
        (Some(name), _, _) => name.clone(),
        (None, Some(target), _) => target.model.clone(),
        (None, None, model) => model
            .as_deref()
            .and_then(|m| m.file_stem())
            .and_then(|s| s.to_str())
            .unwrap_or("model")
            .to_owned(),
    };
    caravan_domain::ModelName::parse_any(&name)
        .map_err(|e| anyhow::anyhow!("the model name {name:?}: {}", e.0))?;
    Ok(name)
}

/// Loads the model and builds the server on `listener` (tests bind port 0).
pub async fn build(
    settings: &Settings,
    args: &RunnerArgs,
    listener: TcpListener,
) -> anyhow::Result<RunnerApp> {
    let configured = Some(settings.inference.ort_library.as_str())
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    let ort_library = resolve_library(configured.as_deref())?;
    let env = environment(&ort_library)?;
    let registry = Registry::new(env, crate::startup::serving_settings(&settings.serving));
    let validator = crate::startup::validator(settings, ort_library)?;
    // Uploads and the copy of --model are staged in this process's own temporary directory.
    let stager = caravan_core::Stager::scratch(&std::env::temp_dir().join("caravan-runner"))
        .context("claiming a staging directory")?;
    let swap_token = args
        .swap_token_file
        .as_deref()
        .map(read_token)
        .transpose()?;
    let target = args
        .follow
        .as_deref()
        .map(FollowTarget::parse)
        .transpose()?;
    let runner = Arc::new(Runner::new(
        served_name(args, target.as_ref())?,
        registry,
        validator,
        stager,
        settings.onboarding.max_model_bytes,
    ));
    let follower = match (target, &args.model) {
        (Some(target), _) => {
            let token = args.token_file.as_deref().map(read_token).transpose()?;
            let follower = Arc::new(Follower::new(target, token)?);
            follower.start(&runner).await?;
            Some(follower)
        }
        (None, Some(model)) => {
            serve_file(&runner, model).await?;
            None
        }
        (None, None) => anyhow::bail!("give --model FILE or --follow URL"),
    };
    let port = listener.local_addr()?.port();
    let server = server(
        settings,
        runner.clone(),
        follower.clone(),
        SwapToken(swap_token),
        listener,
    )?;
    Ok(RunnerApp {
        server,
        port,
        runner,
        follower,
    })
}

/// Serves `--model FILE`: a copy, so the bytes validated are the bytes loaded whatever
/// happens to the file.
async fn serve_file(runner: &Runner, model: &std::path::Path) -> anyhow::Result<()> {
    let staged = runner
        .stager()
        .stage_file(model, runner.model_limit())
        .await
        .with_context(|| format!("reading {}", model.display()))?;
    let path = model.display().to_string();
    runner
        .swap(staged, Source::File { path }, false)
        .await
        .with_context(|| format!("serving {}", model.display()))?;
    Ok(())
}

fn server(
    settings: &Settings,
    runner: Arc<Runner>,
    follower: Option<Arc<Follower>>,
    swap_token: SwapToken,
    listener: TcpListener,
) -> anyhow::Result<Server> {
    let follower = web::Data::new(follower);
    let models: web::Data<dyn ModelService> =
        web::Data::from(runner.clone() as Arc<dyn ModelService>);
    let runner = web::Data::from(runner);
    let swap_token = web::Data::new(swap_token);
    let metrics = web::Data::new(metrics::Metrics::install(metrics::MetricsAccess {
        anonymous: true,
        model_labels: true,
        ..Default::default()
    }));
    let workers = match settings.http.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let limits = connections::Limits::new(&settings.http, workers);
    let body_idle = web::Data::new(connections::BodyIdleTimeout(limits.body_idle_timeout));
    let max_request_bytes = settings.serving.max_request_bytes;
    let fixed_model = web::Data::new(crate::http::acumos::model_runner::FixedModel(
        runner.name().to_owned(),
    ));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(body_idle.clone())
            .app_data(models.clone())
            .app_data(runner.clone())
            .app_data(swap_token.clone())
            .app_data(follower.clone())
            .app_data(metrics.clone())
            .app_data(web::PayloadConfig::new(max_request_bytes))
            .wrap(from_fn(crate::http::encoding::request_encoding))
            .wrap(from_fn(connections::body_idle_timeout))
            .wrap(from_fn(metrics::record))
            .wrap(from_fn(spans::echo))
            .wrap(TracingLogger::<spans::RequestSpan>::new())
            .app_data(fixed_model.clone())
            .configure(v2::routes)
            .configure(crate::http::acumos::runner_routes)
            .configure(routes::routes)
    })
    .on_connect(v2::disconnect::on_connect)
    .shutdown_timeout(settings.http.shutdown_timeout_secs)
    .client_request_timeout(limits.client_request_timeout)
    .client_disconnect_timeout(limits.client_disconnect_timeout)
    .keep_alive(limits.keep_alive)
    .max_connections(limits.max_connections_per_worker)
    .workers(workers)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

/// `caravan runner`: serves until SIGTERM or SIGINT, letting in-flight requests finish.
pub async fn run(settings: Settings, args: RunnerArgs) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    crate::telemetry::init(&settings.log.level, &settings.log.format);
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let listener =
        TcpListener::bind(&args.bind).with_context(|| format!("binding {}", args.bind))?;
    let app = build(&settings, &args, listener).await?;
    if let Some(follower) = &app.follower {
        follower.clone().spawn(app.runner.clone());
    }
    let handle = app.server.handle();
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("stopping: letting in-flight requests finish");
        handle.stop(true).await;
    });
    tracing::info!(
        bind = %args.bind,
        port = app.port,
        model = app.runner.name(),
        sha256 = app.runner.current().map(|s| s.sha256.clone()),
        "the runner is listening"
    );
    app.server.await?;
    tracing::info!("stopped");
    Ok(())
}
