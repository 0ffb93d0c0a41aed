//! Pipelines as operators watch them: each one's last run and decision, a pipeline's runs with
//! their steps and outcomes, and "run now".

use actix_web::{HttpResponse, web};
use caravan_domain::records::PipelineRecord;
use caravan_pipelines::Pipelines;
use minijinja::context;

use super::{Fields, UiError, encode, render::page, render::redirect, session::Visitor};
use crate::http::dto;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/pipelines", web::get().to(list))
        .route("/pipelines/{name}", web::get().to(detail))
        .route("/pipelines/{name}/runs", web::post().to(run_now));
}

/// What starts a pipeline's runs, in words.
fn starts_on(p: &PipelineRecord) -> String {
    let trigger = &p.spec["trigger"];
    let mut parts = Vec::new();
    if let Some(d) = trigger["dataset"].as_str() {
        parts.push(format!("new versions of {d}"));
    }
    if let Some(c) = trigger["cron"].as_str() {
        parts.push(format!("schedule {c}"));
    }
    parts.push("by hand or webhook".into());
    parts.join(", ")
}

pub async fn list(
    pipelines: web::Data<Pipelines>,
    visitor: Visitor,
) -> Result<HttpResponse, UiError> {
    let who = visitor.require("/pipelines")?;
    let mut rows = Vec::new();
    for p in pipelines.pipelines(who).await? {
        let last = pipelines
            .runs(who, &p.name)
            .await?
            .into_iter()
            .next()
            .map(dto::Run::from);
        rows.push(context! {
            name => p.name.clone(),
            model => p.spec["model"].as_str().unwrap_or_default().to_owned(),
            alias => p.spec["alias"].as_str().unwrap_or("champion").to_owned(),
            starts_on => starts_on(&p),
            last => last,
        });
    }
    page(&visitor, "pipelines.html", context! { pipelines => rows })
}

pub async fn detail(
    pipelines: web::Data<Pipelines>,
    visitor: Visitor,
    name: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let who = visitor.require(&format!("/pipelines/{}", encode(&name)))?;
    let pipeline = pipelines.pipeline(who, &name).await?;
    let runs: Vec<dto::Run> = pipelines
        .runs(who, &name)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let ctx = context! {
        model => pipeline.spec["model"].as_str().unwrap_or_default().to_owned(),
        alias => pipeline.spec["alias"].as_str().unwrap_or("champion").to_owned(),
        starts_on => starts_on(&pipeline),
        spec_json => serde_json::to_string_pretty(&pipeline.spec).unwrap_or_default(),
        can_run => who.can_manage(pipeline.owner_id),
        runs => runs,
        pipeline => dto::Pipeline::from(pipeline),
    };
    page(&visitor, "pipeline.html", ctx)
}

pub async fn run_now(
    pipelines: web::Data<Pipelines>,
    visitor: Visitor,
    name: web::Path<String>,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let here = format!("/pipelines/{}", encode(&name));
    let who = visitor.require(&here)?;
    visitor.check_csrf(&pipelines.core, form.get("csrf"))?;
    pipelines.start_run(who, &name).await?;
    Ok(redirect(&visitor, &here))
}
