//! `model-versions/*`: create (from an MLflow source Caravan holds), get, update (the
//! description), delete, search and get-download-uri over Caravan's versions.

use actix_web::{HttpRequest, HttpResponse, web};
use caravan_core::{Core, tracking::MlflowSource};
use serde_json::json;

use super::{
    MlflowError,
    args::Args,
    auth::{caller, signed_in},
    entities::{artifact_url, model_version, page, source_and_run, visible_models},
    filter::Filter,
    registry::existing_name,
    tags,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/model-versions/create", web::post().to(create))
        .route("/model-versions/get", web::get().to(get))
        .route("/model-versions/update", web::patch().to(update))
        .route("/model-versions/delete", web::delete().to(delete))
        .route("/model-versions/search", web::get().to(search))
        .route(
            "/model-versions/get-download-uri",
            web::get().to(download_uri),
        )
        .route(
            "/model-versions/set-tag",
            web::post().to(tags::set_version_tag),
        )
        .route(
            "/model-versions/delete-tag",
            web::delete().to(tags::delete_version_tag),
        );
}

type Reply = Result<HttpResponse, MlflowError>;

/// A version from an MLflow `source` Caravan holds: the model directory's ONNX file is
/// validated and onboarded as a push is; the run it came from becomes its lineage.
async fn create(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let name = existing_name(args.str("name")?)?;
    let optional = |key| -> Result<Option<String>, MlflowError> {
        Ok(args
            .opt_str(key)?
            .filter(|s| !s.is_empty())
            .map(str::to_owned))
    };
    let source = MlflowSource {
        source: args.str("source")?.to_owned(),
        run_id: optional("run_id")?,
        model_id: optional("model_id")?,
    };
    let published = core
        .register_mlflow_version(&who, &name, source, args.tags()?)
        .await?;
    let details = core.model_details(Some(&who), &name).await?;
    let version = details
        .versions
        .iter()
        .find(|v| v.version == published.version.version)
        .ok_or_else(|| {
            MlflowError::not_found(format!(
                "version {} of {name} is gone",
                published.version.version
            ))
        })?;
    Ok(HttpResponse::Ok().json(json!({"model_version": model_version(&req, &details, version)})))
}

async fn get(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = caller(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let name = existing_name(args.str("name")?)?;
    let number = args.version()?;
    let details = core.model_details(who.as_ref(), &name).await?;
    let version = details
        .versions
        .iter()
        .find(|v| v.version == number)
        .ok_or_else(|| {
            MlflowError::not_found(format!(
                "Model Version (name={name}, version={number}) not found"
            ))
        })?;
    Ok(HttpResponse::Ok().json(json!({"model_version": model_version(&req, &details, version)})))
}

/// A version's description (Caravan's own; the version's other fields do not change).
async fn update(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let name = existing_name(args.str("name")?)?;
    let number = args.version()?;
    if let Some(description) = args.opt_str("description")? {
        core.describe_version(&who, &name, number, description)
            .await?;
    }
    let details = core.model_details(Some(&who), &name).await?;
    let version = details
        .versions
        .iter()
        .find(|v| v.version == number)
        .ok_or_else(|| {
            MlflowError::not_found(format!(
                "Model Version (name={name}, version={number}) not found"
            ))
        })?;
    Ok(HttpResponse::Ok().json(json!({"model_version": model_version(&req, &details, version)})))
}

async fn delete(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = signed_in(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let name = existing_name(args.str("name")?)?;
    core.delete_version(&who, &name, args.version()?).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn search(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = caller(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let filter = Filter::parse(
        args.opt_str("filter")?.unwrap_or(""),
        &["name", "run_id", "source_path"],
    )?;
    let max_results = args.opt_int("max_results")?.unwrap_or(10_000);
    if !(1..=200_000).contains(&max_results) {
        return Err(MlflowError::invalid(
            "max_results must be between 1 and 200000",
        ));
    }
    let mut found = Vec::new();
    for model in visible_models(&core, who.as_ref()).await? {
        let name = model.name.to_string();
        let details = core.model_details(who.as_ref(), &model.name).await?;
        for v in &details.versions {
            let (source, run_id) = source_and_run(&req, &details, v.version);
            let attribute = |a: &str| match a {
                "name" => Some(name.clone()),
                "run_id" => Some(run_id.clone()),
                "source_path" => Some(source.clone()),
                _ => None,
            };
            let props = details.properties.of_version(v.version);
            if filter.matches(attribute, |k| props.get(k).cloned()) {
                found.push(model_version(&req, &details, v));
            }
        }
    }
    let (versions, next) = page(found, max_results as usize, args.opt_str("page_token")?)?;
    let mut answer = json!({"model_versions": versions});
    if let Some(next) = next {
        answer["next_page_token"] = next.into();
    }
    Ok(HttpResponse::Ok().json(answer))
}

async fn download_uri(core: web::Data<Core>, req: HttpRequest, body: web::Bytes) -> Reply {
    let who = caller(&core, &req).await?;
    let args = Args::of(&req, &body)?;
    let name = existing_name(args.str("name")?)?;
    let number = args.version()?;
    let details = core.model_details(who.as_ref(), &name).await?;
    if !details.versions.iter().any(|v| v.version == number) {
        return Err(MlflowError::not_found(format!(
            "Model Version (name={name}, version={number}) not found"
        )));
    }
    // A version registered from an MLflow model directory downloads as that directory (so
    // mlflow.<flavor>.load_model("models:/...") works) for the directory's owner, who may read
    // it; everyone else gets the version's validated Caravan file.
    let directory = details
        .sources
        .iter()
        .find(|s| s.version == number)
        .and_then(|s| s.directory.clone());
    let owned = match (&directory, &who) {
        (Some(dir), Some(who)) => core.owns_artifacts(who, dir).await?,
        _ => false,
    };
    let uri = match directory {
        Some(dir) if owned => format!("mlflow-artifacts:/{dir}"),
        _ => artifact_url(&req, name.as_str(), number),
    };
    Ok(HttpResponse::Ok().json(json!({"artifact_uri": uri})))
}
