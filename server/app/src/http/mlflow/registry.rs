//! `registered-models/*`: create (a model with no version yet), get, update, delete, search,
//! get-latest-versions and aliases.

use actix_web::{HttpRequest, HttpResponse, web};
use caravan_core::{Core, ModelDetails};
use caravan_domain::records::ModelPatch;
use caravan_domain::{AliasName, ModelName};
use serde_json::json;

use super::{
    MlflowError,
    args::Args,
    auth::{caller, signed_in},
    entities::{model_version, page, registered_model, visible_models},
    filter::Filter,
    tags,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/registered-models/create", web::post().to(create))
        .route("/registered-models/get", web::get().to(get))
        .route("/registered-models/update", web::patch().to(update))
        .route("/registered-models/delete", web::delete().to(delete))
        .route("/registered-models/rename", web::post().to(rename))
        .route("/registered-models/search", web::get().to(search))
        .route(
            "/registered-models/get-latest-versions",
            web::post().to(latest),
        )
        .route(
            "/registered-models/get-latest-versions",
            web::get().to(latest),
        )
        .route("/registered-models/alias", web::post().to(set_alias))
        .route("/registered-models/alias", web::delete().to(delete_alias))
        .route("/registered-models/alias", web::get().to(get_alias))
        .route(
            "/registered-models/set-tag",
            web::post().to(tags::set_model_tag),
        )
        .route(
            "/registered-models/delete-tag",
            web::delete().to(tags::delete_model_tag),
        );
}

type Reply = Result<HttpResponse, MlflowError>;

/// A model named in a lookup; a name Caravan could not hold names no model.
pub(super) fn existing_name(raw: &str) -> Result<ModelName, MlflowError> {
    ModelName::parse_any(raw)
        .map_err(|_| MlflowError::not_found(format!("Registered Model with name={raw} not found")))
}

async fn create(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let name = ModelName::parse(args.str("name")?)?;
    let tags = args.tags()?;
    // All or nothing: a tag the model cannot take refuses the create before it happens.
    for (key, value) in &tags {
        caravan_core::check_property(key, value)?;
    }
    let patch = ModelPatch {
        description: args.opt_str("description")?.map(str::to_owned),
        ..Default::default()
    };
    core.create_model(&who, &name, patch).await?;
    for (key, value) in tags {
        core.set_property(&who, &name, None, &key, &value).await?;
    }
    let details = core.model_details(Some(&who), &name).await?;
    Ok(HttpResponse::Ok().json(json!({"registered_model": registered_model(&req, &details)})))
}

async fn get(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = caller(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let name = existing_name(args.str("name")?)?;
    let details = core.model_details(who.as_ref(), &name).await?;
    Ok(HttpResponse::Ok().json(json!({"registered_model": registered_model(&req, &details)})))
}

async fn update(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let name = existing_name(args.str("name")?)?;
    let patch = ModelPatch {
        description: Some(args.opt_str("description")?.unwrap_or_default().to_owned()),
        ..Default::default()
    };
    core.update_model(&who, &name, patch).await?;
    let details = core.model_details(Some(&who), &name).await?;
    Ok(HttpResponse::Ok().json(json!({"registered_model": registered_model(&req, &details)})))
}

async fn delete(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    core.delete_model(&who, &existing_name(args.str("name")?)?)
        .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn rename(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let name = existing_name(args.str("name")?)?;
    let new_name = ModelName::parse(args.str("new_name")?)?;
    core.rename_model(&who, &name, &new_name).await?;
    let details = core.model_details(Some(&who), &new_name).await?;
    Ok(HttpResponse::Ok().json(json!({"registered_model": registered_model(&req, &details)})))
}

async fn search(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = caller(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let filter = Filter::parse(args.opt_str("filter")?.unwrap_or(""), &["name"])?;
    let max_results = args.opt_int("max_results")?.unwrap_or(100);
    if !(1..=1000).contains(&max_results) {
        return Err(MlflowError::invalid(
            "max_results must be between 1 and 1000",
        ));
    }
    let mut models = Vec::new();
    for m in visible_models(&core, who.as_ref()).await? {
        let details = core.model_details(who.as_ref(), &m.name).await?;
        let name = m.name.to_string();
        let props = &details.properties.model;
        if filter.matches(
            |a| (a == "name").then(|| name.clone()),
            |k| props.get(k).cloned(),
        ) {
            models.push(details);
        }
    }
    for order in args.strings("order_by")?.iter().rev() {
        let mut words = order.split_whitespace();
        let field = words.next().unwrap_or_default();
        let descending = match words.next().map(str::to_ascii_uppercase).as_deref() {
            None | Some("ASC") => false,
            Some("DESC") => true,
            Some(other) => {
                return Err(MlflowError::invalid(format!(
                    "order_by: {other:?} is not ASC or DESC"
                )));
            }
        };
        // Stable sorts from the last key to the first: each key orders only the ties of the
        // keys before it.
        let key: fn(&ModelDetails, &ModelDetails) -> std::cmp::Ordering = match field {
            "name" => |a, b| a.model.name.cmp(&b.model.name),
            "last_updated_timestamp" | "timestamp" => {
                |a, b| a.model.updated_at.0.cmp(&b.model.updated_at.0)
            }
            "creation_timestamp" => |a, b| a.model.created_at.0.cmp(&b.model.created_at.0),
            other => {
                return Err(MlflowError::invalid(format!(
                    "order_by: cannot sort on {other:?}; use name, creation_timestamp or last_updated_timestamp"
                )));
            }
        };
        if descending {
            models.sort_by(|a, b| key(b, a));
        } else {
            models.sort_by(key);
        }
    }
    let (models, next) = page(models, max_results as usize, args.opt_str("page_token")?)?;
    let out: Vec<_> = models.iter().map(|d| registered_model(&req, d)).collect();
    let mut answer = json!({"registered_models": out});
    if let Some(next) = next {
        answer["next_page_token"] = next.into();
    }
    Ok(HttpResponse::Ok().json(answer))
}

/// Stages are MLflow's legacy lifecycle; every Caravan version is in stage `None`.
async fn latest(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = caller(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let details = core
        .model_details(who.as_ref(), &existing_name(args.str("name")?)?)
        .await?;
    let stages = args.strings("stages")?;
    let wanted = stages.is_empty() || stages.iter().any(|s| s.eq_ignore_ascii_case("none"));
    let versions: Vec<_> = details
        .versions
        .iter()
        .max_by_key(|v| v.version)
        .filter(|_| wanted)
        .map(|v| model_version(&req, &details, v))
        .into_iter()
        .collect();
    Ok(HttpResponse::Ok().json(json!({"model_versions": versions})))
}

fn alias_name(raw: &str) -> Result<AliasName, MlflowError> {
    AliasName::parse(raw).map_err(|e| MlflowError::invalid(e.to_string()))
}

async fn set_alias(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let name = existing_name(args.str("name")?)?;
    let alias = alias_name(args.str("alias")?)?;
    core.set_alias(&who, &name, &alias, args.version()?).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn delete_alias(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let name = existing_name(args.str("name")?)?;
    core.delete_alias(&who, &name, &alias_name(args.str("alias")?)?)
        .await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn get_alias(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = caller(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let name = existing_name(args.str("name")?)?;
    let alias = args.str("alias")?;
    let details = core.model_details(who.as_ref(), &name).await?;
    let version = details
        .alias_version(alias)
        .and_then(|n| details.versions.iter().find(|v| v.version == n))
        .ok_or_else(|| {
            MlflowError::not_found(format!("Registered model alias {alias} not found."))
        })?;
    Ok(HttpResponse::Ok().json(json!({"model_version": model_version(&req, &details, version)})))
}
