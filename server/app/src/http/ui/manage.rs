//! Owners' pages: edit metadata, delete (after a confirmation), and promote or roll back an
//! alias (after a confirmation that names the versions involved).

use actix_web::{HttpResponse, http::StatusCode, web};
use caravan_core::{Core, CoreError};
use caravan_domain::records::ModelPatch;
use caravan_domain::{AliasName, Scope, Visibility};
use minijinja::context;
use serde::Deserialize;

use super::{
    Fields, UiError,
    model::{model_form, model_url, parse_name},
    render::{page, page_with_status, redirect},
    session::Visitor,
    split_list,
};
use crate::http::dto;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/models/{name}/edit", web::get().to(edit_page))
        .route("/models/{name}/edit", web::post().to(edit))
        .route("/models/{name}/delete", web::get().to(delete_page))
        .route("/models/{name}/delete", web::post().to(delete))
        .route("/models/{name}/promote", web::get().to(promote_page))
        .route("/models/{name}/promote", web::post().to(promote));
}

pub async fn edit_page(
    core: web::Data<Core>,
    visitor: Visitor,
    name: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let name = parse_name(&name)?;
    let who = visitor.require(&format!("{}/edit", model_url(&name)))?;
    let model = core.managed_model(who, &name, Scope::Publish).await?;
    page(
        &visitor,
        "edit.html",
        context! { model => dto::Model::from(model) },
    )
}

pub async fn edit(
    core: web::Data<Core>,
    visitor: Visitor,
    name: web::Path<String>,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let (name, who) = model_form(&visitor, &core, &name, &form)?;
    let model = core.managed_model(who, &name, Scope::Publish).await?;
    let visibility = form
        .get("visibility")
        .parse::<Visibility>()
        .map_err(|_| UiError::BadRequest("Choose private, organization or public.".into()))?;
    let license = form.get("license").trim();
    let patch = ModelPatch {
        description: Some(form.get("description").trim().to_owned()),
        card: Some(form.get("card").to_owned()),
        tags: Some(split_list(form.get("tags"))),
        license: Some(Some(license.to_owned()).filter(|l| !l.is_empty())),
        visibility: Some(visibility),
    };
    match core.update_model(who, &name, patch).await {
        Ok(_) => Ok(redirect(&visitor, &model_url(&name))),
        // Show the form again with what was typed and why it was refused.
        Err(CoreError::Invalid(why)) => {
            let mut shown = dto::Model::from(model);
            shown.description = form.get("description").to_owned();
            shown.card = form.get("card").to_owned();
            shown.tags = split_list(form.get("tags"));
            page_with_status(
                StatusCode::BAD_REQUEST,
                &visitor,
                "edit.html",
                context! { model => shown, error => why },
            )
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete_page(
    core: web::Data<Core>,
    visitor: Visitor,
    name: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let name = parse_name(&name)?;
    let url = model_url(&name);
    let who = visitor.require(&format!("{url}/delete"))?;
    let model = core.managed_model(who, &name, Scope::Publish).await?;
    let versions = model.latest_version.unwrap_or(0);
    let ctx = context! {
        title => format!("Delete {name}?"),
        question => format!("This deletes {name} and all its versions (newest v{versions}), aliases, ratings and comments. It cannot be undone."),
        action => format!("{url}/delete"),
        fields => Vec::<(String, String)>::new(),
        button => "Delete for good",
        cancel => url,
        danger => true,
    };
    page(&visitor, "confirm.html", ctx)
}

pub async fn delete(
    core: web::Data<Core>,
    visitor: Visitor,
    name: web::Path<String>,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let (name, who) = model_form(&visitor, &core, &name, &form)?;
    core.managed_model(who, &name, Scope::Publish).await?;
    core.delete_model(who, &name).await?;
    Ok(redirect(&visitor, "/"))
}

#[derive(Deserialize)]
pub struct PromoteQuery {
    alias: String,
    version: i64,
}

pub async fn promote_page(
    core: web::Data<Core>,
    visitor: Visitor,
    name: web::Path<String>,
    query: web::Query<PromoteQuery>,
) -> Result<HttpResponse, UiError> {
    let name = parse_name(&name)?;
    let url = model_url(&name);
    let who = visitor.require(&url)?;
    let alias = AliasName::parse(&query.alias).map_err(|e| UiError::BadRequest(e.to_string()))?;
    core.managed_model(who, &name, Scope::Deploy).await?;
    let details = core.model_details(Some(who), &name).await?;
    if !details.versions.iter().any(|v| v.version == query.version) {
        return Err(UiError::NotFound(format!(
            "{name} has no version {}",
            query.version
        )));
    }
    let current = details.aliases.iter().find(|a| a.alias == alias.as_str());
    let question = match current {
        Some(a) if a.version == query.version => {
            format!(
                "{alias} already points to v{}. Point it there again?",
                a.version
            )
        }
        Some(a) if a.version > query.version => format!(
            "Roll {alias} back from v{} to v{}? Requests switch to v{} once it is loaded; none fail.",
            a.version, query.version, query.version
        ),
        Some(a) => format!(
            "Promote v{} to {alias} (now v{})? Requests switch to v{} once it is loaded; none fail.",
            query.version, a.version, query.version
        ),
        None => format!("Create alias {alias} pointing to v{}?", query.version),
    };
    let ctx = context! {
        title => format!("Move {alias} of {name}"),
        question => question,
        action => format!("{url}/promote"),
        fields => vec![("alias", alias.to_string()), ("version", query.version.to_string())],
        button => format!("Point {alias} to v{}", query.version),
        cancel => url,
        danger => false,
    };
    page(&visitor, "confirm.html", ctx)
}

pub async fn promote(
    core: web::Data<Core>,
    visitor: Visitor,
    name: web::Path<String>,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let (name, who) = model_form(&visitor, &core, &name, &form)?;
    let alias =
        AliasName::parse(form.get("alias")).map_err(|e| UiError::BadRequest(e.to_string()))?;
    let version = form
        .get("version")
        .parse::<i64>()
        .map_err(|_| UiError::BadRequest("Choose a version.".into()))?;
    core.set_alias(who, &name, &alias, version).await?;
    Ok(redirect(
        &visitor,
        &format!("{}#aliases-h", model_url(&name)),
    ))
}
