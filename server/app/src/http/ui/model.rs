//! A model's page: card, versions, signature, aliases, try-it, snippets, ratings and comments;
//! and the forms that rate, comment and mark favourites.

use actix_web::{HttpRequest, HttpResponse, web};
use caravan_core::{Core, ModelDetails};
use caravan_domain::{ModelName, Scope, TensorType};
use minijinja::context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    Fields, UiError,
    render::{markdown, page, redirect},
    session::Visitor,
};
use crate::http::dto;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/models/{name}", web::get().to(model_page))
        .route("/models/{name}/rate", web::post().to(rate))
        .route("/models/{name}/comments", web::post().to(comment))
        .route(
            "/models/{name}/comments/{id}/delete",
            web::post().to(delete_comment),
        )
        .route("/models/{name}/favourite", web::post().to(favourite))
        .route("/models/{name}/deploy", web::get().to(deployment));
}

/// Tensors with at most this many values get a table of fields in try-it.
const TABLE_MAX_VALUES: i64 = 64;

pub(super) fn parse_name(raw: &str) -> Result<ModelName, UiError> {
    ModelName::parse_any(raw).map_err(|_| UiError::NotFound(format!("model {raw} not found")))
}

/// A posted form about a model: its name, the signed-in user, and a valid anti-forgery token.
pub(super) fn model_form<'a>(
    visitor: &'a Visitor,
    core: &Core,
    raw_name: &str,
    form: &Fields,
) -> Result<(ModelName, &'a caravan_domain::Principal), UiError> {
    let name = parse_name(raw_name)?;
    let who = visitor.require(&model_url(&name))?;
    visitor.check_csrf(core, form.get("csrf"))?;
    Ok((name, who))
}

pub(super) fn model_url(name: &ModelName) -> String {
    format!("/models/{}", super::encode(name.as_str()))
}

/// One input of the try-it form, with an example shape (dynamic dimensions as 1).
#[derive(Serialize)]
pub(super) struct TryInput {
    pub name: String,
    pub datatype: TensorType,
    pub shape: Vec<i64>,
    count: i64,
    table: bool,
    pub example: String,
}

pub(super) fn try_inputs(version: &dto::Version) -> Vec<TryInput> {
    version
        .signature
        .inputs
        .iter()
        .map(|input| {
            let shape: Vec<i64> = input.shape.iter().map(|&d| d.max(1)).collect();
            let count = shape.iter().product::<i64>();
            let numeric = !matches!(input.datatype, TensorType::Bytes | TensorType::Bool);
            let zero = if numeric {
                "0"
            } else if input.datatype == TensorType::Bool {
                "false"
            } else {
                "\"\""
            };
            let example = format!("[{}]", vec![zero; count.clamp(0, 4096) as usize].join(", "));
            TryInput {
                name: input.name.clone(),
                datatype: input.datatype,
                table: numeric && count <= TABLE_MAX_VALUES,
                shape,
                count,
                example,
            }
        })
        .collect()
}

#[derive(Deserialize)]
pub struct ModelQuery {
    version: Option<i64>,
}

pub async fn model_page(
    core: web::Data<Core>,
    config: web::Data<super::UiConfig>,
    req: HttpRequest,
    visitor: Visitor,
    name: web::Path<String>,
    query: web::Query<ModelQuery>,
) -> Result<HttpResponse, UiError> {
    let name = parse_name(&name)?;
    let who = visitor.who.as_ref();
    let ModelDetails {
        model,
        versions,
        aliases,
        properties,
        ..
    } = core.model_details(who, &name).await?;
    core.record_view(model.id).await?;
    let provenance = core.provenance(&model).await?.map(dto::Provenance::from);
    let ratings = core.ratings(who, &name).await?;
    let comments = core.comments(who, &name).await?;
    let my_rating = who.and_then(|p| {
        ratings
            .items
            .iter()
            .find(|r| r.user_id == p.user_id)
            .cloned()
    });
    let can_manage = who.is_some_and(|p| p.can_manage(model.owner_id));
    let can_deploy = can_manage && who.is_some_and(|p| p.has_scope(Scope::Deploy));
    let champion = aliases
        .iter()
        .find(|a| a.alias == "champion")
        .map(|a| a.version);
    let serving_version = champion.or(model.latest_version);
    let versions: Vec<dto::Version> = versions
        .into_iter()
        .map(|v| dto::Version::new(name.as_str(), v))
        .collect();
    let wanted = query.version.or(serving_version);
    let selected = versions.iter().find(|v| Some(v.version) == wanted);
    let version_properties = selected
        .map(|v| properties.of_version(v.version))
        .unwrap_or_default();
    let origin = crate::http::public_origin(&req, &config.public_url);
    let (curl, python) = selected
        .map(|v| super::snippets::snippets(&origin, name.as_str(), &try_inputs(v)))
        .unwrap_or_default();
    let ctx = context! {
        model => dto::Model::from(model.clone()),
        properties => properties.model,
        version_properties => version_properties,
        card => (!model.card.trim().is_empty()).then(|| markdown(&model.card)),
        try_inputs => selected.map(try_inputs).unwrap_or_default(),
        selected => selected,
        versions => versions,
        aliases => aliases.into_iter().map(dto::Alias::from).collect::<Vec<_>>(),
        has_champion => champion.is_some(),
        serving_version => serving_version,
        download_url => serving_version.map(|v| format!("/api/v1/models/{}/versions/{v}/artifact", name.as_str())),
        provenance => provenance,
        social => dto::SocialCounts::from(ratings.summary),
        ratings => ratings.items.into_iter().map(dto::Rating::from).collect::<Vec<_>>(),
        my_rating => my_rating.map(dto::Rating::from),
        comments => comments.into_iter().map(dto::Comment::from).collect::<Vec<_>>(),
        can_manage => can_manage,
        can_deploy => can_deploy,
        curl_snippet => curl,
        python_snippet => python,
        origin => origin,
        deploy_targets => crate::bundle::Target::for_format(caravan_domain::ArtifactFormat::Onnx)
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>(),
        acumos_methods => selected
            .and_then(|v| v.acumos.as_ref())
            .map(|a| a.methods.iter().map(|m| m.name.clone()).collect::<Vec<_>>())
            .unwrap_or_else(|| vec![caravan_core::acumos::schema::DEFAULT_METHOD.to_owned()]),
    };
    page(&visitor, "model.html", ctx)
}

pub async fn rate(
    core: web::Data<Core>,
    visitor: Visitor,
    name: web::Path<String>,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let (name, who) = model_form(&visitor, &core, &name, &form)?;
    let stars = form
        .get("stars")
        .parse::<i64>()
        .map_err(|_| UiError::BadRequest("Choose 1 to 5 stars.".into()))?;
    core.rate_model(who, &name, stars, form.get("review"))
        .await?;
    Ok(redirect(&visitor, &format!("{}#ratings", model_url(&name))))
}

pub async fn comment(
    core: web::Data<Core>,
    visitor: Visitor,
    name: web::Path<String>,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let (name, who) = model_form(&visitor, &core, &name, &form)?;
    core.add_comment(who, &name, form.get("body")).await?;
    Ok(redirect(
        &visitor,
        &format!("{}#comments", model_url(&name)),
    ))
}

pub async fn delete_comment(
    core: web::Data<Core>,
    visitor: Visitor,
    path: web::Path<(String, String)>,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let (name, id) = path.into_inner();
    let (name, who) = model_form(&visitor, &core, &name, &form)?;
    let id = Uuid::parse_str(&id).map_err(|_| UiError::NotFound("no such comment".into()))?;
    core.delete_comment(who, &name, id).await?;
    Ok(redirect(
        &visitor,
        &format!("{}#comments", model_url(&name)),
    ))
}

pub async fn favourite(
    core: web::Data<Core>,
    visitor: Visitor,
    name: web::Path<String>,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let (name, who) = model_form(&visitor, &core, &name, &form)?;
    core.set_favourite(who, &name, form.get("favourite") == "1")
        .await?;
    Ok(redirect(&visitor, &model_url(&name)))
}

#[derive(Deserialize)]
pub struct DeployQuery {
    version: String,
    target: String,
    follow: Option<String>,
}

/// The Deploy section's downloads: the API's bundle, for the signed-in visitor.
pub async fn deployment(
    core: web::Data<Core>,
    bundles: web::Data<crate::bundle::BundleConfig>,
    config: web::Data<super::UiConfig>,
    req: HttpRequest,
    visitor: Visitor,
    name: web::Path<String>,
    query: web::Query<DeployQuery>,
) -> Result<HttpResponse, UiError> {
    let name = parse_name(&name)?;
    let version =
        caravan_domain::VersionRef::parse(&query.version).map_err(|e| UiError::BadRequest(e.0))?;
    let bundle = crate::bundle::download(
        &core,
        &bundles,
        visitor.who.as_ref(),
        (&name, &version),
        &query.target,
        query.follow.as_deref(),
        crate::http::public_origin(&req, &config.public_url),
    )
    .await?;
    Ok(bundle.into_response())
}
