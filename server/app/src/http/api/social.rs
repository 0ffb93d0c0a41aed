//! Ratings, comments and favourites of models (the web UI calls the same use cases).

use actix_web::{HttpResponse, web};
use caravan_core::Core;
use uuid::Uuid;

use super::model_name;
use crate::http::{
    dto,
    error::ApiError,
    extract::{Authenticated, MaybeAuth},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/models/{name}/ratings", web::get().to(list_ratings))
        .route("/models/{name}/rating", web::put().to(rate))
        .route("/models/{name}/rating", web::delete().to(unrate))
        .route("/models/{name}/comments", web::get().to(list_comments))
        .route("/models/{name}/comments", web::post().to(comment))
        .route(
            "/models/{name}/comments/{id}",
            web::delete().to(delete_comment),
        )
        .route("/models/{name}/favourite", web::put().to(favourite))
        .route("/models/{name}/favourite", web::delete().to(unfavourite));
}

/// A model's ratings (newest first) with counts.
#[utoipa::path(get, path = "/api/v1/models/{name}/ratings", tag = "social",
    responses((status = 200, body = dto::Ratings), (status = 404, body = crate::http::error::ErrorBody)))]
pub async fn list_ratings(
    core: web::Data<Core>,
    MaybeAuth(who): MaybeAuth,
    name: web::Path<String>,
) -> Result<web::Json<dto::Ratings>, ApiError> {
    let ratings = core.ratings(who.as_ref(), &model_name(&name)?).await?;
    Ok(web::Json(dto::Ratings {
        summary: ratings.summary.into(),
        items: ratings.items.into_iter().map(Into::into).collect(),
    }))
}

/// Rate a model 1-5 with an optional review (replaces your earlier rating).
#[utoipa::path(put, path = "/api/v1/models/{name}/rating", tag = "social", request_body = dto::NewRating,
    responses((status = 200, body = dto::Rating), (status = 400, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn rate(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
    body: web::Json<dto::NewRating>,
) -> Result<web::Json<dto::Rating>, ApiError> {
    let rating = core
        .rate_model(&who, &model_name(&name)?, body.stars, &body.review)
        .await?;
    Ok(web::Json(rating.into()))
}

/// Remove your rating.
#[utoipa::path(delete, path = "/api/v1/models/{name}/rating", tag = "social",
    responses((status = 204), (status = 404, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn unrate(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    core.delete_rating(&who, &model_name(&name)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A model's comments, oldest first.
#[utoipa::path(get, path = "/api/v1/models/{name}/comments", tag = "social",
    responses((status = 200, body = dto::Page<dto::Comment>), (status = 404, body = crate::http::error::ErrorBody)))]
pub async fn list_comments(
    core: web::Data<Core>,
    MaybeAuth(who): MaybeAuth,
    name: web::Path<String>,
) -> Result<web::Json<dto::Page<dto::Comment>>, ApiError> {
    let comments = core.comments(who.as_ref(), &model_name(&name)?).await?;
    Ok(web::Json(dto::Page {
        items: comments.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

/// Comment on a model.
#[utoipa::path(post, path = "/api/v1/models/{name}/comments", tag = "social", request_body = dto::NewComment,
    responses((status = 201, body = dto::Comment), (status = 400, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn comment(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
    body: web::Json<dto::NewComment>,
) -> Result<HttpResponse, ApiError> {
    let comment = core
        .add_comment(&who, &model_name(&name)?, &body.body)
        .await?;
    Ok(HttpResponse::Created().json(dto::Comment::from(comment)))
}

/// Delete a comment (its author, the model's owner or an admin).
#[utoipa::path(delete, path = "/api/v1/models/{name}/comments/{id}", tag = "social",
    responses((status = 204), (status = 403, body = crate::http::error::ErrorBody), (status = 404, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_comment(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    core.delete_comment(&who, &model_name(&name)?, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mark a model a favourite.
#[utoipa::path(put, path = "/api/v1/models/{name}/favourite", tag = "social",
    responses((status = 200, body = dto::SocialCounts)), security(("bearer" = [])))]
pub async fn favourite(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
) -> Result<web::Json<dto::SocialCounts>, ApiError> {
    let counts = core.set_favourite(&who, &model_name(&name)?, true).await?;
    Ok(web::Json(counts.into()))
}

/// Unmark a favourite.
#[utoipa::path(delete, path = "/api/v1/models/{name}/favourite", tag = "social",
    responses((status = 200, body = dto::SocialCounts)), security(("bearer" = [])))]
pub async fn unfavourite(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
) -> Result<web::Json<dto::SocialCounts>, ApiError> {
    let counts = core.set_favourite(&who, &model_name(&name)?, false).await?;
    Ok(web::Json(counts.into()))
}
