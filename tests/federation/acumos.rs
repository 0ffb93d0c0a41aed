//! Acumos-shaped E5 answers (tests/fixtures/acumos-e5) replayed over HTTP through Caravan's
//! peer client: the envelope, Acumos field names, extra fields and both date forms decode;
//! what Acumos cannot give (digests, signed manifests) comes out absent, never invented.

use std::net::TcpListener;

use actix_web::{App, HttpResponse, HttpServer, web};
use caravan_federation::client::PeerClient;
use chrono::{TimeZone, Utc};
use uuid::Uuid;

const SOLUTION: &str = "7d1e2f3a-4b5c-4d6e-8f9a-0b1c2d3e4f5a";
const REVISION: &str = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";
const PUBLIC_CATALOG: &str = "0b2f4c1d-6e3a-4b5f-8c7d-9e1a2b3c4d5e";

fn answer(file: &'static str) -> impl Fn() -> std::future::Ready<HttpResponse> + Clone {
    move || {
        let body = std::fs::read(crate::support::fixture_path("acumos-e5").join(file)).unwrap();
        std::future::ready(
            HttpResponse::Ok()
                .content_type("application/json")
                .body(body),
        )
    }
}

/// A plain-HTTP stand-in for an Acumos gateway answering from the fixture files.
fn acumos_gateway() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(|| {
        App::new()
            .route("/ping", web::get().to(answer("ping.json")))
            .route("/catalogs", web::get().to(answer("catalogs.json")))
            .route("/solutions", web::get().to(answer("solutions.json")))
            .route("/solutions/{id}", web::get().to(answer("solution.json")))
            .route(
                "/solutions/{id}/revisions/{rid}",
                web::get().to(answer("revision.json")),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    base
}

#[tokio::test]
async fn acumos_e5_answers_decode_through_the_peer_client() {
    let client = PeerClient::new(reqwest::Client::new(), &acumos_gateway(), 1 << 20);

    let ping = client.ping().await.unwrap();
    assert_eq!(
        (
            ping.name.as_str(),
            ping.api_url.as_str(),
            ping.status_code.as_str()
        ),
        ("Acumos Org X", "https://gateway.orgx.example:9084", "AC")
    );
    assert_eq!(ping.signing_key, None, "Acumos gateways sign nothing");

    let catalogs = client.catalogs().await.unwrap();
    let summary: Vec<_> = catalogs
        .iter()
        .map(|c| (c.catalog_id.as_str(), c.access_type_code.as_str(), c.size))
        .collect();
    assert_eq!(
        summary,
        [
            (PUBLIC_CATALOG, "PB", 1),
            ("5c6d7e8f-0a1b-4c2d-9e3f-4a5b6c7d8e9f", "RS", 0)
        ]
    );

    let solutions = client.solutions(PUBLIC_CATALOG).await.unwrap();
    assert_eq!(solutions.len(), 1);
    let listed = &solutions[0];
    assert_eq!(listed.solution_id, Uuid::parse_str(SOLUTION).unwrap());
    assert_eq!(
        (listed.name.as_str(), listed.toolkit_type_code.as_str()),
        ("churn-predictor", "SK")
    );
    let tags: Vec<_> = listed.tags.iter().map(|t| t.tag.as_str()).collect();
    assert_eq!(tags, ["churn", "telecom"]);
    assert_eq!(
        listed.created,
        Utc.with_ymd_and_hms(2019, 3, 5, 14, 20, 0).unwrap()
    );
    assert!(listed.active);

    // Epoch-millisecond dates decode to the same instants as ISO ones.
    let solution = client.solution(listed.solution_id).await.unwrap();
    assert_eq!(solution.created, listed.created);
    assert_eq!(
        solution.modified,
        Utc.with_ymd_and_hms(2019, 5, 10, 9, 15, 0).unwrap()
    );
    let revisions = solution
        .revisions
        .expect("GET /solutions/{id} carries revisions");
    assert_eq!(revisions.len(), 1);
    assert_eq!(
        (
            revisions[0].revision_id.to_string().as_str(),
            revisions[0].version.as_str()
        ),
        (REVISION, "1.0.2")
    );

    let revision = client
        .revision(listed.solution_id, revisions[0].revision_id)
        .await
        .unwrap();
    let artifacts = revision.artifacts.expect("the revision's artifacts");
    let model = artifacts
        .iter()
        .find(|a| a.artifact_type_code == "MI")
        .unwrap();
    assert_eq!(
        (model.size, model.filename.as_str()),
        (48213, "churn-predictor-1.0.2.zip")
    );
    assert_eq!(model.sha256, None, "Acumos publishes no digests");
    assert!(
        revision.manifest.is_none(),
        "no signed manifest: Caravan's importer refuses such a revision"
    );
}
