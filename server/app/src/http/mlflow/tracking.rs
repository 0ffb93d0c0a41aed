//! The tracking API's experiments and runs, as much as `mlflow.<flavor>.log_model` and
//! `mlflow.start_run` use: experiments get, get-by-name and create; runs create, get, update,
//! log-batch, the single-value log calls, log-model (the run's model history) and outputs;
//! metric history.

use actix_web::{HttpRequest, HttpResponse, web};
use caravan_core::{Core, tracking};
use caravan_domain::records::{
    ExperimentRecord, MetricValue, TrackedRun, TrackedRunBatch, TrackedRunData,
};
use serde_json::{Value, json};

use super::{MlflowError, args::Args, auth::signed_in, entities::tags};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/experiments/get-by-name",
        web::get().to(experiment_by_name),
    )
    .route("/experiments/get", web::get().to(experiment))
    .route("/experiments/create", web::post().to(create_experiment))
    .route("/runs/create", web::post().to(create_run))
    .route("/runs/get", web::get().to(get_run))
    .route("/runs/update", web::post().to(update_run))
    .route("/runs/log-batch", web::post().to(log_batch))
    .route("/runs/log-parameter", web::post().to(log_param))
    .route("/runs/log-metric", web::post().to(log_metric))
    .route("/runs/set-tag", web::post().to(set_tag))
    .route("/runs/log-model", web::post().to(log_model))
    .route("/runs/outputs", web::post().to(log_outputs))
    .route("/metrics/get-history", web::get().to(metric_history));
}

type Reply = Result<HttpResponse, MlflowError>;

pub fn experiment_json(e: &ExperimentRecord) -> Value {
    json!({
        "experiment_id": e.id.to_string(),
        "name": e.name,
        "artifact_location": format!("mlflow-artifacts:/{}", e.id),
        "lifecycle_stage": e.lifecycle_stage,
        "creation_time": e.created_ms,
        "last_update_time": e.updated_ms,
        "tags": [],
    })
}

/// A metric value as MLflow's JSON writes it (NaN and infinities as strings).
pub fn metric_value(value: Option<f64>) -> Value {
    match value {
        None => "NaN".into(),
        Some(v) if v == f64::INFINITY => "Infinity".into(),
        Some(v) if v == f64::NEG_INFINITY => "-Infinity".into(),
        Some(v) => v.into(),
    }
}

fn metric_json(m: &MetricValue) -> Value {
    json!({"key": m.key, "value": metric_value(m.value), "timestamp": m.timestamp_ms, "step": m.step})
}

/// A run's tags, with its model history as the tag MLflow keeps it in.
fn run_tags(data: &TrackedRunData) -> Vec<Value> {
    let mut all = tags(&data.tags);
    if !data.model_history.is_empty() {
        let history: Vec<Value> = data
            .model_history
            .iter()
            .filter_map(|m| serde_json::from_str(m).ok())
            .collect();
        all.push(
            json!({"key": "mlflow.log-model.history", "value": Value::from(history).to_string()}),
        );
    }
    all
}

pub fn run_json(run: &TrackedRun, data: &TrackedRunData) -> Value {
    let metrics: Vec<Value> = data.metrics.iter().map(metric_json).collect();
    let outputs: Vec<Value> = data
        .outputs
        .iter()
        .map(|(model_id, step)| json!({"model_id": model_id, "step": step}))
        .collect();
    let mut info = json!({
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.name,
        "experiment_id": run.experiment_id.to_string(),
        "user_id": run.owner,
        "status": run.status,
        "start_time": run.start_ms,
        "artifact_uri": tracking::run_artifact_uri(run),
        "lifecycle_stage": run.lifecycle_stage,
    });
    if let Some(end) = run.end_ms {
        info["end_time"] = end.into();
    }
    json!({
        "info": info,
        "data": {"metrics": metrics, "params": tags(&data.params), "tags": run_tags(data)},
        "inputs": {},
        "outputs": {"model_outputs": outputs},
    })
}

fn experiment_id(args: &Args) -> Result<i64, MlflowError> {
    let raw = args.str("experiment_id")?;
    raw.parse()
        .map_err(|_| MlflowError::not_found(format!("no experiment with id {raw:?}")))
}

fn run_id(args: &Args) -> Result<String, MlflowError> {
    match args.opt_str("run_id")?.filter(|s| !s.is_empty()) {
        Some(id) => Ok(id.to_owned()),
        None => Ok(args.str("run_uuid")?.to_owned()),
    }
}

async fn experiment_by_name(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let found = core
        .experiment_by_name(&who, args.str("experiment_name")?)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"experiment": experiment_json(&found)})))
}

async fn experiment(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let found = core.experiment(&who, experiment_id(&args)?).await?;
    Ok(HttpResponse::Ok().json(json!({"experiment": experiment_json(&found)})))
}

async fn create_experiment(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    if args
        .opt_str("artifact_location")?
        .is_some_and(|l| !l.is_empty())
    {
        return Err(MlflowError::invalid(
            "artifact_location cannot be set: Caravan keeps every experiment's artifacts in its own store",
        ));
    }
    let created = core.create_experiment(&who, args.str("name")?).await?;
    Ok(HttpResponse::Ok().json(json!({"experiment_id": created.id.to_string()})))
}

async fn create_run(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let run = core
        .create_run(
            &who,
            experiment_id(&args)?,
            args.opt_str("run_name")?.filter(|n| !n.is_empty()),
            args.opt_int("start_time")?,
            args.tags()?,
        )
        .await?;
    let (run, data) = core.run(&who, &run.id).await?;
    Ok(HttpResponse::Ok().json(json!({"run": run_json(&run, &data)})))
}

async fn get_run(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let (run, data) = core.run(&who, &run_id(&args)?).await?;
    Ok(HttpResponse::Ok().json(json!({"run": run_json(&run, &data)})))
}

async fn update_run(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let run = core
        .update_run(
            &who,
            &run_id(&args)?,
            args.opt_str("status")?,
            args.opt_int("end_time")?,
            args.opt_str("run_name")?.filter(|n| !n.is_empty()),
        )
        .await?;
    let mut info = run_json(&run, &TrackedRunData::default())["info"].take();
    info.as_object_mut().map(|i| i.remove("user_id"));
    Ok(HttpResponse::Ok().json(json!({"run_info": info})))
}

/// A metric value as the client sends it: a number, or "NaN"/"Infinity"/"-Infinity".
fn metric(m: &Value, now: i64) -> Result<MetricValue, MlflowError> {
    let bad = || {
        MlflowError::invalid("a metric is {\"key\", \"value\" (a number), \"timestamp\", \"step\"}")
    };
    let key = m["key"].as_str().ok_or_else(bad)?.to_owned();
    let value = match &m["value"] {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => None,
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => Some(other.parse::<f64>().map_err(|_| bad())?),
        },
        _ => return Err(bad()),
    };
    let int = |v: &Value, default: i64| match v {
        Value::Null => Some(default),
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    Ok(MetricValue {
        key,
        value: value.filter(|v| !v.is_nan()),
        timestamp_ms: int(&m["timestamp"], now).ok_or_else(bad)?,
        step: int(&m["step"], 0).ok_or_else(bad)?,
    })
}

async fn log(core: &Core, req: &HttpRequest, args: &Args, batch: TrackedRunBatch) -> Reply {
    let who = signed_in(core, req).await?;
    core.log_batch(&who, &run_id(args)?, batch).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn log_batch(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let args = Args::of(&req, &body)?;
    let now = tracking::now_ms();
    let metrics = args
        .list("metrics")?
        .iter()
        .map(|m| metric(m, now))
        .collect::<Result<Vec<_>, _>>()?;
    let batch = TrackedRunBatch {
        params: args.pairs("params")?,
        tags: args.pairs("tags")?,
        metrics,
    };
    log(&core, &req, &args, batch).await
}

/// The `{"key", "value"}` of a single-value call.
fn key_value(args: &Args) -> Result<(String, String), MlflowError> {
    let value = args.opt_str("value")?.unwrap_or("");
    Ok((args.str("key")?.to_owned(), value.to_owned()))
}

async fn log_param(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let args = Args::of(&req, &body)?;
    let params = vec![key_value(&args)?];
    log(
        &core,
        &req,
        &args,
        TrackedRunBatch {
            params,
            ..Default::default()
        },
    )
    .await
}

async fn set_tag(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let args = Args::of(&req, &body)?;
    let tags = vec![key_value(&args)?];
    log(
        &core,
        &req,
        &args,
        TrackedRunBatch {
            tags,
            ..Default::default()
        },
    )
    .await
}

async fn log_metric(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let args = Args::of(&req, &body)?;
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let m = metric(&body, tracking::now_ms())?;
    log(
        &core,
        &req,
        &args,
        TrackedRunBatch {
            metrics: vec![m],
            ..Default::default()
        },
    )
    .await
}

/// MLflow 2's record of a model logged by the run, shown as its `mlflow.log-model.history`
/// tag (as MLflow does).
async fn log_model(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let model = args.str("model_json")?;
    if !serde_json::from_str::<Value>(model).is_ok_and(|m| m.is_object()) {
        return Err(MlflowError::invalid("model_json must be a JSON object"));
    }
    core.record_run_model(&who, &run_id(&args)?, model).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// MLflow 3 links a run to the logged models it produced, with the step of each (the
/// client picks the latest when one run logged several under a name).
async fn log_outputs(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let bad = || MlflowError::invalid("models must be a list of {\"model_id\", \"step\"}");
    let outputs = args
        .list("models")?
        .iter()
        .map(|o| {
            let id = o["model_id"].as_str().ok_or_else(bad)?.to_owned();
            let step = match &o["step"] {
                Value::Null => Some(0),
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            };
            Ok((id, step.ok_or_else(bad)?))
        })
        .collect::<Result<Vec<_>, MlflowError>>()?;
    core.log_outputs(&who, &run_id(&args)?, outputs).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// Every logged value of one metric of a run, by step and time.
async fn metric_history(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let history = core
        .metric_history(&who, &run_id(&args)?, args.str("metric_key")?)
        .await?;
    let history: Vec<Value> = history.iter().map(metric_json).collect();
    Ok(HttpResponse::Ok().json(json!({"metrics": history})))
}
