//! Admin pages: users, peers, subscriptions (with sync status) and the audit log.

use actix_web::{HttpResponse, http::StatusCode, web};
use caravan_core::{Core, CoreError, PeerRequest};
use caravan_domain::records::PeerStatus;
use caravan_domain::{Principal, Role, Visibility};
use minijinja::{Value, context};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Fields, UiError,
    render::{page, page_with_status, redirect},
    session::Visitor,
    split_list,
};
use crate::http::dto;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/users", web::get().to(users_page))
        .route("/admin/users", web::post().to(create_user))
        .route("/admin/users/{id}", web::post().to(change_user))
        .route("/admin/peers", web::get().to(peers_page))
        .route("/admin/peers", web::post().to(add_peer))
        .route("/admin/peers/{name}", web::post().to(change_peer))
        .route("/admin/subscriptions", web::get().to(subscriptions_page))
        .route("/admin/subscriptions", web::post().to(subscribe))
        .route("/admin/subscriptions/{id}/sync", web::post().to(sync_now))
        .route(
            "/admin/subscriptions/{id}/delete",
            web::post().to(unsubscribe),
        )
        .route("/admin/audit", web::get().to(audit_page));
}

fn admin<'a>(visitor: &'a Visitor, here: &str) -> Result<&'a Principal, UiError> {
    let who = visitor.require(here)?;
    if !who.is_admin() {
        return Err(UiError::Forbidden("This page is for admins.".into()));
    }
    Ok(who)
}

/// An admin's posted form with a valid anti-forgery token.
fn admin_form<'a>(
    visitor: &'a Visitor,
    core: &Core,
    here: &str,
    form: &Fields,
) -> Result<&'a Principal, UiError> {
    let who = admin(visitor, here)?;
    visitor.check_csrf(core, form.get("csrf"))?;
    Ok(who)
}

/// After a form: back to `here` when it worked; when the form can fix the refusal, `template`
/// again with the reason; anything else is an error page.
async fn after_form<T>(
    result: Result<T, CoreError>,
    visitor: &Visitor,
    here: &str,
    template: &str,
    ctx: impl std::future::Future<Output = Result<Value, UiError>>,
) -> Result<HttpResponse, UiError> {
    let error = match result {
        Ok(_) => return Ok(redirect(visitor, here)),
        Err(
            e @ (CoreError::Invalid(_) | CoreError::Conflict { .. } | CoreError::NotFound { .. }),
        ) => e.public_message(),
        Err(other) => return Err(other.into()),
    };
    let ctx = context! { error => error, ..ctx.await? };
    page_with_status(StatusCode::BAD_REQUEST, visitor, template, ctx)
}

async fn users_ctx(core: &Core, who: &Principal) -> Result<Value, UiError> {
    let users: Vec<dto::User> = core
        .list_users(who)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(context! { users => users })
}

pub async fn users_page(core: web::Data<Core>, visitor: Visitor) -> Result<HttpResponse, UiError> {
    let who = admin(&visitor, "/admin/users")?;
    let ctx = users_ctx(&core, who).await?;
    page(&visitor, "admin_users.html", ctx)
}

pub async fn create_user(
    core: web::Data<Core>,
    visitor: Visitor,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let who = admin_form(&visitor, &core, "/admin/users", &form)?;
    let role = form.get("role").parse::<Role>().unwrap_or(Role::User);
    let result = core
        .create_user(
            Some(who),
            form.get("username").trim(),
            form.get("password"),
            role,
        )
        .await;
    let ctx = users_ctx(&core, who);
    after_form(result, &visitor, "/admin/users", "admin_users.html", ctx).await
}

pub async fn change_user(
    core: web::Data<Core>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let who = admin_form(&visitor, &core, "/admin/users", &form)?;
    let id = Uuid::parse_str(&id).map_err(|_| UiError::NotFound("no such user".into()))?;
    core.set_user_disabled(who, id, form.get("disabled") == "1")
        .await?;
    Ok(redirect(&visitor, "/admin/users"))
}

async fn peers_ctx(core: &Core, who: &Principal) -> Result<Value, UiError> {
    let peers: Vec<dto::Peer> = core
        .peers(Some(who))
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(context! { peers => peers })
}

pub async fn peers_page(core: web::Data<Core>, visitor: Visitor) -> Result<HttpResponse, UiError> {
    let who = admin(&visitor, "/admin/peers")?;
    let ctx = peers_ctx(&core, who).await?;
    page(&visitor, "admin_peers.html", ctx)
}

pub async fn add_peer(
    core: web::Data<Core>,
    visitor: Visitor,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let who = admin_form(&visitor, &core, "/admin/peers", &form)?;
    let optional = |name: &str| Some(form.get(name).trim().to_owned()).filter(|v| !v.is_empty());
    let request = PeerRequest {
        name: form.get("name").trim().to_owned(),
        api_url: form.get("api_url").trim().to_owned(),
        subject: optional("subject"),
        fingerprint: optional("fingerprint"),
        signing_key: form.get("signing_key").trim().to_owned(),
        legacy_acumos: form.get("legacy_acumos") == "on",
    };
    let result = core.add_peer(Some(who), request).await;
    let ctx = peers_ctx(&core, who);
    after_form(result, &visitor, "/admin/peers", "admin_peers.html", ctx).await
}

pub async fn change_peer(
    core: web::Data<Core>,
    visitor: Visitor,
    name: web::Path<String>,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let who = admin_form(&visitor, &core, "/admin/peers", &form)?;
    let status = form
        .get("status")
        .parse::<PeerStatus>()
        .map_err(|_| UiError::BadRequest("unknown peer status".into()))?;
    core.set_peer_status(Some(who), &name, status).await?;
    Ok(redirect(&visitor, "/admin/peers"))
}

async fn subscriptions_ctx(core: &Core, who: &Principal) -> Result<Value, UiError> {
    let subscriptions: Vec<dto::Subscription> = core
        .subscriptions(Some(who))
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(context! { subscriptions => subscriptions, ..peers_ctx(core, who).await? })
}

pub async fn subscriptions_page(
    core: web::Data<Core>,
    visitor: Visitor,
) -> Result<HttpResponse, UiError> {
    let who = admin(&visitor, "/admin/subscriptions")?;
    let ctx = subscriptions_ctx(&core, who).await?;
    page(&visitor, "admin_subscriptions.html", ctx)
}

pub async fn subscribe(
    core: web::Data<Core>,
    visitor: Visitor,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let who = admin_form(&visitor, &core, "/admin/subscriptions", &form)?;
    let attempt = async {
        let interval = form
            .get("interval_secs")
            .trim()
            .parse::<i64>()
            .map_err(|_| CoreError::Invalid("The interval is a number of seconds.".into()))?;
        let visibility = form
            .get("visibility")
            .parse::<Visibility>()
            .map_err(|_| CoreError::Invalid("Choose a visibility.".into()))?;
        let catalog = Some(form.get("catalog_id").trim()).filter(|c| !c.is_empty());
        core.subscribe(
            Some(who),
            None,
            form.get("peer"),
            catalog.unwrap_or("public"),
            split_list(form.get("models")),
            interval,
            visibility,
        )
        .await
    };
    let result = attempt.await;
    let ctx = subscriptions_ctx(&core, who);
    after_form(
        result,
        &visitor,
        "/admin/subscriptions",
        "admin_subscriptions.html",
        ctx,
    )
    .await
}

fn subscription_id(raw: &str) -> Result<Uuid, UiError> {
    Uuid::parse_str(raw).map_err(|_| UiError::NotFound("no such subscription".into()))
}

pub async fn sync_now(
    core: web::Data<Core>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let who = admin_form(&visitor, &core, "/admin/subscriptions", &form)?;
    core.sync_now(who, subscription_id(&id)?).await?;
    Ok(redirect(&visitor, "/admin/subscriptions"))
}

pub async fn unsubscribe(
    core: web::Data<Core>,
    visitor: Visitor,
    id: web::Path<String>,
    form: web::Form<Fields>,
) -> Result<HttpResponse, UiError> {
    let who = admin_form(&visitor, &core, "/admin/subscriptions", &form)?;
    core.unsubscribe(Some(who), subscription_id(&id)?).await?;
    Ok(redirect(&visitor, "/admin/subscriptions"))
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// Entries per audit page.
const AUDIT_PAGE: u32 = 100;

pub async fn audit_page(
    core: web::Data<Core>,
    visitor: Visitor,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, UiError> {
    let who = admin(&visitor, "/admin/audit")?;
    let entries: Vec<dto::AuditEntry> = core
        .audit_log(who, AUDIT_PAGE, query.before)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let older = (entries.len() == AUDIT_PAGE as usize).then(|| entries.last().map(|e| e.id));
    let ctx = context! { entries => entries, older => older.flatten() };
    page(&visitor, "audit.html", ctx)
}
