//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description, generated from the handlers.

use actix_web::HttpResponse;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::openapi_fixups::Fixups;
use super::{
    admin, auth, datasets, deployment, hooks, models, peers, pipelines, properties, push, social,
    uploads, versions,
};
use crate::http::ops;
use crate::http::v2::openapi::V2Paths;
use crate::http::{dto, error::ErrorBody};

#[derive(OpenApi)]
#[openapi(
    info(title = "Caravan", description = "Publish, find, download and serve ONNX models."),
    paths(
        auth::login, auth::change_password, auth::me, auth::list_tokens, auth::create_token,
        auth::revoke_token, admin::list_users, admin::create_user, admin::change_user, admin::audit,
        models::search, models::get_model, models::update_model, models::delete_model,
        models::list_aliases, models::get_alias, models::set_alias, models::delete_alias, push::push,
        properties::set_model_property, properties::delete_model_property,
        properties::set_version_property, properties::delete_version_property, uploads::begin, uploads::progress, uploads::put_part, uploads::complete, uploads::abort,
        versions::list_versions, versions::get_version, versions::delete_version, versions::update_version, versions::artifact,
        deployment::deployment,
                ops::healthz, ops::readyz, ops::metrics,
        peers::identity, peers::list_peers, peers::add_peer, peers::change_peer, peers::remove_peer,
        peers::list_shares, peers::share, peers::unshare, peers::list_subscriptions,
        peers::subscribe, peers::unsubscribe, peers::sync_now,
        social::list_ratings, social::rate, social::unrate, social::list_comments, social::comment,
        social::delete_comment, social::favourite, social::unfavourite,
        datasets::list, datasets::get, datasets::upload, datasets::version, datasets::preview,
        datasets::content, pipelines::create, pipelines::list, pipelines::get, pipelines::delete,
        pipelines::start, pipelines::runs, pipelines::run, pipelines::cancel, pipelines::log,
        pipelines::lineage, pipelines::webhook, pipelines::rotate_secret, pipelines::report, hooks::create, hooks::list,
        hooks::delete, hooks::deliveries,
    ),
    components(schemas(ErrorBody, dto::Model, dto::ModelDetails, dto::Version, dto::VersionPatch, dto::Alias, dto::FollowedAlias,
        dto::ModelMetadata, dto::User, dto::Token, dto::CreatedToken, dto::AuditEntry, dto::Rating, dto::Ratings, dto::SocialCounts,
        dto::Comment, dto::NewRating, dto::NewComment, dto::Dataset, dto::DatasetVersion,
        dto::DatasetDetails, dto::Preview, dto::Pipeline, dto::Run, dto::Lineage, dto::NewUpload,
        dto::CompleteUpload, dto::Part, dto::Upload, properties::PropertyValue)),
    modifiers(&BearerAuth, &V2Paths, &Fixups),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "a session JWT from /api/v1/auth/login, or an API token (cvn_...)",
                    ))
                    .build(),
            ),
        );
    }
}

pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
