//! Outgoing event webhooks (admins): register a receiver for event types, list, delete, and
//! see each one's deliveries from the outbox.

use actix_web::{HttpResponse, web};
use caravan_core::Core;
use caravan_domain::records::{HookRecord, OutboxRecord};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::{dto, error::ApiError, extract::Authenticated};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks", web::get().to(list))
        .route("/webhooks", web::post().to(create))
        .route("/webhooks/{id}", web::delete().to(delete))
        .route("/webhooks/{id}/deliveries", web::get().to(deliveries));
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHook {
    pub url: String,
    /// dev.caravan.model.version.created, dev.caravan.model.alias.changed,
    /// dev.caravan.pipeline.run.finished, or * for all.
    pub events: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Hook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Only when created: signs deliveries (X-Caravan-Signature: sha256=HMAC(secret, "<timestamp>.<body>")).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl Hook {
    fn new(h: HookRecord, with_secret: bool) -> Self {
        Hook {
            id: h.id,
            url: h.url,
            events: h.events,
            created_by: h.created_by,
            created_at: h.created_at.0,
            secret: with_secret.then_some(h.secret),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    pub attempts: i64,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Set when it was given up after the last attempt.
    pub failed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<OutboxRecord> for Delivery {
    fn from(o: OutboxRecord) -> Self {
        Delivery {
            id: o.id,
            event: o.event,
            attempts: o.attempts,
            delivered_at: o.delivered_at.map(|t| t.0),
            failed_at: o.failed_at.map(|t| t.0),
            last_error: o.last_error,
            created_at: o.created_at.0,
        }
    }
}

fn hook_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("no such webhook"))
}

/// Register a receiver of events (admins); its secret is shown once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewHook,
    responses((status = 201, body = Hook), (status = 400, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    body: web::Json<NewHook>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let hook = core.create_hook(&who, &body.url, body.events).await?;
    Ok(HttpResponse::Created().json(Hook::new(hook, true)))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = dto::Page<Hook>)), security(("bearer" = [])))]
pub async fn list(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
) -> Result<web::Json<dto::Page<Hook>>, ApiError> {
    let items = core
        .hooks(&who)
        .await?
        .into_iter()
        .map(|h| Hook::new(h, false))
        .collect();
    Ok(web::Json(dto::Page {
        items,
        next_cursor: None,
    }))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", responses((status = 204)), security(("bearer" = [])))]
pub async fn delete(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    core.delete_hook(&who, hook_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A webhook's deliveries, newest first (attempts, errors, delivered or given up).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    responses((status = 200, body = dto::Page<Delivery>)), security(("bearer" = [])))]
pub async fn deliveries(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    id: web::Path<String>,
) -> Result<web::Json<dto::Page<Delivery>>, ApiError> {
    Ok(dto::Page::all(
        core.hook_deliveries(&who, hook_id(&id)?).await?,
    ))
}
