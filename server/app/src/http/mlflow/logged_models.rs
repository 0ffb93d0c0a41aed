//! MLflow 3's logged models: `POST /logged-models` (before the artifacts go up), `PATCH
//! /logged-models/{id}` (finalize), get, search, and the tags the client sets once a version
//! is registered from one.

use actix_web::{HttpRequest, HttpResponse, web};
use caravan_core::{Core, tracking};
use caravan_domain::records::LoggedModelRecord;
use serde_json::{Value, json};

use super::{MlflowError, args::Args, auth::signed_in, entities::tags, filter::Filter};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/logged-models", web::post().to(create))
        .route("/logged-models/search", web::post().to(search))
        .route("/logged-models/{id}", web::get().to(get))
        .route("/logged-models/{id}", web::patch().to(finalize))
        .route("/logged-models/{id}/params", web::post().to(log_params))
        .route("/logged-models/{id}/tags", web::patch().to(set_tags))
        .route(
            "/logged-models/{id}/tags/{key}",
            web::delete().to(delete_tag),
        );
}

type Reply = Result<HttpResponse, MlflowError>;

pub fn logged_model_json(m: &LoggedModelRecord) -> Value {
    let mut info = json!({
        "model_id": m.id,
        "experiment_id": m.experiment_id.to_string(),
        "name": m.name,
        "creation_timestamp_ms": m.created_ms,
        "last_updated_timestamp_ms": m.updated_ms,
        "artifact_uri": tracking::logged_model_artifact_uri(m),
        "status": m.status,
        "model_type": m.model_type,
        "tags": tags(&m.tags),
    });
    if let Some(run) = &m.source_run_id {
        info["source_run_id"] = run.as_str().into();
    }
    json!({"info": info, "data": {"params": tags(&m.params), "metrics": []}})
}

fn answer(m: &LoggedModelRecord) -> HttpResponse {
    HttpResponse::Ok().json(json!({"model": logged_model_json(m)}))
}

async fn create(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let raw = args.str("experiment_id")?;
    let experiment_id = raw
        .parse()
        .map_err(|_| MlflowError::not_found(format!("no experiment with id {raw:?}")))?;
    let new = tracking::NewMlflowModel {
        experiment_id,
        name: args
            .opt_str("name")?
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        model_type: args.opt_str("model_type")?.unwrap_or("").to_owned(),
        source_run_id: args
            .opt_str("source_run_id")?
            .filter(|r| !r.is_empty())
            .map(str::to_owned),
        params: args.pairs("params")?,
        tags: args.tags()?,
    };
    Ok(answer(&core.create_logged_model(&who, new).await?))
}

async fn get(core: web::Data<Core>, req: HttpRequest, id: web::Path<String>) -> Reply {
    let who = signed_in(&core, &req).await?;
    Ok(answer(&core.logged_model(&who, &id).await?))
}

async fn finalize(
    core: web::Data<Core>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    Ok(answer(
        &core
            .finalize_logged_model(&who, &id, args.str("status")?)
            .await?,
    ))
}

async fn log_params(
    core: web::Data<Core>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    core.log_logged_model_params(&who, &id, args.pairs("params")?)
        .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn set_tags(
    core: web::Data<Core>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let tags = args
        .tags()?
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    core.set_logged_model_tags(&who, &id, tags).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn delete_tag(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Reply {
    let who = signed_in(&core, &req).await?;
    let (id, key) = path.into_inner();
    core.set_logged_model_tags(&who, &id, vec![(key, None)])
        .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// Searches `who`'s logged models in the named experiments with MLflow's filter grammar over
/// `name` and `source_run_id` (the client filters by `name = '<name>'`) and `tags.<key>`.
async fn search(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let experiments = args
        .strings("experiment_ids")?
        .iter()
        .map(|id| id.parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| MlflowError::invalid("experiment_ids must be experiment ids"))?;
    if experiments.is_empty() {
        return Err(MlflowError::invalid(
            "experiment_ids must name at least one experiment",
        ));
    }
    let filter = Filter::parse(
        args.opt_str("filter")?.unwrap_or(""),
        &["name", "source_run_id"],
    )?;
    let max = args.opt_int("max_results")?.unwrap_or(100);
    let found = core.search_logged_models(&who, &experiments).await?;
    let matching: Vec<Value> = found
        .iter()
        .filter(|m| {
            let attribute = |a: &str| match a {
                "name" => Some(m.name.clone()),
                "source_run_id" => Some(m.source_run_id.clone().unwrap_or_default()),
                _ => None,
            };
            filter.matches(attribute, |k| m.tags.get(k).cloned())
        })
        .map(logged_model_json)
        .collect();
    let (models, next) = super::entities::page(
        matching,
        max.clamp(1, 1000) as usize,
        args.opt_str("page_token")?,
    )?;
    let mut reply = json!({"models": models});
    if let Some(next) = next {
        reply["next_page_token"] = next.into();
    }
    Ok(HttpResponse::Ok().json(reply))
}
