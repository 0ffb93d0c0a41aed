//! Federation administration: peers, shares and subscriptions.

use actix_web::{HttpResponse, web};
use caravan_core::{Core, PeerRequest};
use caravan_domain::Visibility;
use caravan_domain::records::PeerStatus;
use uuid::Uuid;

use super::model_name;
use crate::http::{dto, error::ApiError, extract::Authenticated};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/federation/identity", web::get().to(identity))
        .route("/peers", web::get().to(list_peers))
        .route("/peers", web::post().to(add_peer))
        .route("/peers/{name}", web::patch().to(change_peer))
        .route("/peers/{name}", web::delete().to(remove_peer))
        .route("/models/{name}/shares", web::get().to(list_shares))
        .route("/models/{name}/shares", web::post().to(share))
        .route("/models/{name}/shares/{peer}", web::delete().to(unshare))
        .route("/subscriptions", web::get().to(list_subscriptions))
        .route("/subscriptions", web::post().to(subscribe))
        .route("/subscriptions/{id}", web::delete().to(unsubscribe))
        .route("/subscriptions/{id}/sync", web::post().to(sync_now));
}

/// This instance's federation identity, for peers to register it (admins).
#[utoipa::path(get, path = "/api/v1/federation/identity", tag = "federation", responses((status = 200, body = dto::FederationIdentity)), security(("bearer" = [])))]
pub async fn identity(
    identity: web::Data<dto::FederationIdentity>,
    Authenticated(who): Authenticated,
) -> Result<web::Json<web::Data<dto::FederationIdentity>>, ApiError> {
    caravan_core::require_admin(&who)?;
    Ok(web::Json(identity))
}

/// Registered peers (admins).
#[utoipa::path(get, path = "/api/v1/peers", tag = "federation", responses((status = 200, body = dto::Page<dto::Peer>)), security(("bearer" = [])))]
pub async fn list_peers(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
) -> Result<web::Json<dto::Page<dto::Peer>>, ApiError> {
    Ok(dto::Page::all(core.peers(Some(&who)).await?))
}

/// Register a peer (admins): its URL, the certificate it presents, its signing key.
#[utoipa::path(post, path = "/api/v1/peers", tag = "federation", request_body = dto::NewPeer,
    responses((status = 201, body = dto::Peer), (status = 400, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn add_peer(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    body: web::Json<dto::NewPeer>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let request = PeerRequest {
        name: body.name,
        api_url: body.api_url,
        subject: body.subject,
        fingerprint: body.fingerprint,
        signing_key: body.signing_key,
        legacy_acumos: body.legacy_acumos,
    };
    let peer = core.add_peer(Some(&who), request).await?;
    Ok(HttpResponse::Created().json(dto::Peer::from(peer)))
}

/// Disable (cut off at its next request) or re-enable a peer (admins).
#[utoipa::path(patch, path = "/api/v1/peers/{name}", tag = "federation", request_body = dto::PeerChange,
    responses((status = 200, body = dto::Peer)), security(("bearer" = [])))]
pub async fn change_peer(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
    body: web::Json<dto::PeerChange>,
) -> Result<web::Json<dto::Peer>, ApiError> {
    let status = match body.status.as_str() {
        "active" => PeerStatus::Active,
        "disabled" => PeerStatus::Disabled,
        other => {
            return Err(ApiError::bad_request(format!(
                "status must be active or disabled, not {other:?}"
            )));
        }
    };
    Ok(web::Json(
        core.set_peer_status(Some(&who), &name, status)
            .await?
            .into(),
    ))
}

/// Remove a peer for good (admins); its imported models keep their provenance.
#[utoipa::path(delete, path = "/api/v1/peers/{name}", tag = "federation", responses((status = 204)), security(("bearer" = [])))]
pub async fn remove_peer(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    core.set_peer_status(Some(&who), &name, PeerStatus::Removed)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The peers a model is shared with (its owner or an admin).
#[utoipa::path(get, path = "/api/v1/models/{name}/shares", tag = "federation", responses((status = 200, body = dto::Page<dto::Peer>)), security(("bearer" = [])))]
pub async fn list_shares(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
) -> Result<web::Json<dto::Page<dto::Peer>>, ApiError> {
    Ok(dto::Page::all(
        core.model_shares(&who, &model_name(&name)?).await?,
    ))
}

/// Share a model with a peer: it appears in that peer's "shared" catalog.
#[utoipa::path(post, path = "/api/v1/models/{name}/shares", tag = "federation", request_body = dto::NewShare,
    responses((status = 204), (status = 404, body = crate::http::error::ErrorBody)), security(("bearer" = [])))]
pub async fn share(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    name: web::Path<String>,
    body: web::Json<dto::NewShare>,
) -> Result<HttpResponse, ApiError> {
    core.share_model(&who, &model_name(&name)?, &body.peer)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Stop sharing a model with a peer (the peer sees it withdrawn at its next sync).
#[utoipa::path(delete, path = "/api/v1/models/{name}/shares/{peer}", tag = "federation", responses((status = 204)), security(("bearer" = [])))]
pub async fn unshare(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, peer) = path.into_inner();
    core.unshare_model(&who, &model_name(&name)?, &peer).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Subscriptions with their sync status (admins).
#[utoipa::path(get, path = "/api/v1/subscriptions", tag = "federation", responses((status = 200, body = dto::Page<dto::Subscription>)), security(("bearer" = [])))]
pub async fn list_subscriptions(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
) -> Result<web::Json<dto::Page<dto::Subscription>>, ApiError> {
    Ok(dto::Page::all(core.subscriptions(Some(&who)).await?))
}

/// Subscribe to a peer's catalog, or to named models in it (admins).
#[utoipa::path(post, path = "/api/v1/subscriptions", tag = "federation", request_body = dto::NewSubscription,
    responses((status = 201, body = dto::Subscription)), security(("bearer" = [])))]
pub async fn subscribe(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    body: web::Json<dto::NewSubscription>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let catalog = body.catalog_id.unwrap_or_else(|| "public".into());
    let visibility = body.visibility.unwrap_or(Visibility::Private);
    let subscription = core
        .subscribe(
            Some(&who),
            None,
            &body.peer,
            &catalog,
            body.models,
            body.interval_secs.unwrap_or(300),
            visibility,
        )
        .await?;
    Ok(HttpResponse::Created().json(dto::Subscription::from(subscription)))
}

fn subscription_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("no such subscription"))
}

/// Delete a subscription (imported models stay).
#[utoipa::path(delete, path = "/api/v1/subscriptions/{id}", tag = "federation", responses((status = 204)), security(("bearer" = [])))]
pub async fn unsubscribe(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    core.unsubscribe(Some(&who), subscription_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sync a subscription now (the worker picks it up within its poll interval).
#[utoipa::path(post, path = "/api/v1/subscriptions/{id}/sync", tag = "federation", responses((status = 202, body = dto::Subscription)), security(("bearer" = [])))]
pub async fn sync_now(
    core: web::Data<Core>,
    Authenticated(who): Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let subscription = core.sync_now(&who, subscription_id(&id)?).await?;
    Ok(HttpResponse::Accepted().json(dto::Subscription::from(subscription)))
}
