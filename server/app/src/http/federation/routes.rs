//! The E5 routes peers call on the federation listener. Every request is checked: the
//! client certificate must belong to an active registered peer, and every answer, content
//! included, holds only what that peer may see. Answers use the E5 envelope.

use std::future::Future;
use std::pin::Pin;

use actix_web::{
    FromRequest, HttpRequest, HttpResponse, ResponseError, dev::Payload, http::StatusCode, web,
};
use caravan_core::{Core, CoreError};
use caravan_domain::records::PeerRecord;
use caravan_federation::{
    PeerIdentity,
    serve::{Instance, parse_catalog},
    wire::{Changes, Envelope},
};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/ping", web::get().to(ping))
        .route("/catalogs", web::get().to(catalogs))
        .route("/solutions", web::get().to(solutions))
        .route("/solutions/{id}", web::get().to(solution))
        .route("/solutions/{id}/revisions", web::get().to(revisions))
        .route("/solutions/{id}/revisions/{rid}", web::get().to(revision))
        .route(
            "/solutions/{id}/revisions/{rid}/artifacts",
            web::get().to(artifacts),
        )
        .route("/artifacts/{id}/content", web::get().to(content))
        .default_service(web::to(|| async {
            E5Error::not_found("no such endpoint".into())
        }));
}

/// An error in the E5 envelope.
#[derive(Debug)]
pub struct E5Error {
    status: StatusCode,
    message: String,
}

impl E5Error {
    fn not_found(message: String) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message,
        }
    }
}

impl std::fmt::Display for E5Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl ResponseError for E5Error {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(Envelope::error(self.message.clone()))
    }
}

impl actix_web::Responder for E5Error {
    type Body = actix_web::body::BoxBody;
    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        self.error_response()
    }
}

impl From<CoreError> for E5Error {
    /// Renders from the one table of kinds, except that a peer is never asked to log in: its
    /// credential is its certificate, so a refused one is a 403.
    fn from(e: CoreError) -> Self {
        e.log();
        let status = match e.class().status {
            401 => StatusCode::FORBIDDEN,
            status => StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        };
        Self {
            status,
            message: e.public_message(),
        }
    }
}

/// The calling peer, checked against the registry on every request (so disabling a peer
/// cuts off even its open connections at their next request).
pub struct Peer(PeerRecord);

impl FromRequest for Peer {
    type Error = E5Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, E5Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let identity = req.conn_data::<PeerIdentity>().cloned();
        let core = req
            .app_data::<web::Data<Core>>()
            .expect("Core is app data")
            .clone();
        let path = req.path().to_owned();
        Box::pin(async move {
            let forbidden = |message: &str| E5Error {
                status: StatusCode::FORBIDDEN,
                message: message.into(),
            };
            let Some(identity) = identity else {
                return Err(forbidden("a client certificate is required"));
            };
            match core
                .peer_for_identity(&identity.fingerprint, &identity.subject)
                .await
            {
                Ok(peer) => Ok(Peer(peer)),
                Err(CoreError::Forbidden(m)) => {
                    tracing::warn!(subject = %identity.subject, fingerprint = %identity.fingerprint, %path, "refused an unregistered or disabled peer");
                    Err(forbidden(&m))
                }
                Err(other) => Err(other.into()),
            }
        })
    }
}

fn uuid(raw: &str, what: &str) -> Result<Uuid, E5Error> {
    Uuid::parse_str(raw).map_err(|_| E5Error::not_found(format!("No {what} with id {raw}")))
}

async fn ping(_: Peer, instance: web::Data<Instance>) -> HttpResponse {
    HttpResponse::Ok().json(Envelope::ok(instance.ping()))
}

async fn catalogs(
    Peer(peer): Peer,
    core: web::Data<Core>,
    instance: web::Data<Instance>,
) -> Result<HttpResponse, E5Error> {
    use caravan_domain::records::FederatedCatalog;
    let public = core
        .peer_catalog(&peer, FederatedCatalog::Public)
        .await?
        .len();
    let shared = core
        .peer_catalog(&peer, FederatedCatalog::Shared)
        .await?
        .len();
    Ok(HttpResponse::Ok().json(Envelope::ok(instance.catalogs(public, shared))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SolutionsQuery {
    catalog_id: String,
    /// Caravan extension: only what changed after this cursor.
    since: Option<i64>,
}

async fn solutions(
    Peer(peer): Peer,
    core: web::Data<Core>,
    instance: web::Data<Instance>,
    query: web::Query<SolutionsQuery>,
) -> Result<HttpResponse, E5Error> {
    let catalog = parse_catalog(&query.catalog_id)
        .ok_or_else(|| E5Error::not_found(format!("No catalog with id {}", query.catalog_id)))?;
    match query.since {
        None => {
            let models = core.peer_catalog(&peer, catalog).await?;
            let solutions: Vec<_> = models.iter().map(|m| instance.solution(m, None)).collect();
            Ok(HttpResponse::Ok().json(Envelope::ok(solutions)))
        }
        Some(since) => {
            let changes = core.peer_changes(&peer, catalog, since).await?;
            let solutions = changes
                .models
                .iter()
                .map(|m| instance.solution(m, None))
                .collect();
            let changes = Changes {
                solutions,
                withdrawn: changes.withdrawn,
                cursor: changes.cursor,
            };
            Ok(HttpResponse::Ok().json(Envelope::ok(changes)))
        }
    }
}

async fn solution(
    Peer(peer): Peer,
    core: web::Data<Core>,
    instance: web::Data<Instance>,
    id: web::Path<String>,
) -> Result<HttpResponse, E5Error> {
    let (model, versions) = core.peer_model(&peer, uuid(&id, "solution")?).await?;
    Ok(HttpResponse::Ok().json(Envelope::ok(instance.solution(&model, Some(&versions)))))
}

async fn revisions(
    Peer(peer): Peer,
    core: web::Data<Core>,
    instance: web::Data<Instance>,
    id: web::Path<String>,
) -> Result<HttpResponse, E5Error> {
    let (model, versions) = core.peer_model(&peer, uuid(&id, "solution")?).await?;
    let revisions: Vec<_> = versions
        .iter()
        .map(|v| instance.revision(&model, v, false))
        .collect();
    Ok(HttpResponse::Ok().json(Envelope::ok(revisions)))
}

async fn find_revision(
    peer: &PeerRecord,
    core: &Core,
    solution: &str,
    revision: &str,
) -> Result<
    (
        caravan_domain::records::ModelRecord,
        caravan_domain::records::VersionRecord,
    ),
    E5Error,
> {
    let revision_id = uuid(revision, "revision")?;
    let (model, versions) = core.peer_model(peer, uuid(solution, "solution")?).await?;
    let version = versions
        .into_iter()
        .find(|v| v.revision_id == revision_id)
        .ok_or_else(|| E5Error::not_found(format!("No revision with id {revision}")))?;
    Ok((model, version))
}

async fn revision(
    Peer(peer): Peer,
    core: web::Data<Core>,
    instance: web::Data<Instance>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, E5Error> {
    let (model, version) = find_revision(&peer, &core, &path.0, &path.1).await?;
    Ok(HttpResponse::Ok().json(Envelope::ok(instance.revision(&model, &version, true))))
}

async fn artifacts(
    Peer(peer): Peer,
    core: web::Data<Core>,
    instance: web::Data<Instance>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, E5Error> {
    let (model, version) = find_revision(&peer, &core, &path.0, &path.1).await?;
    Ok(HttpResponse::Ok().json(Envelope::ok(vec![instance.artifact(&model, &version)])))
}

async fn content(
    Peer(peer): Peer,
    core: web::Data<Core>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, E5Error> {
    let (model, version) = core.peer_artifact(&peer, uuid(&id, "artifact")?).await?;
    Ok(crate::http::artifact::respond(&core, &req, &model, &version).await?)
}
