//! Import from a legacy Acumos gateway: recorded E5 answers (tests/fixtures/acumos-e5/legacy)
//! replayed by a fake gateway over mutual TLS. Marked legacy by the admin, its ONNX revision
//! (no digest, no manifest) is checked against its announced size, validated, imported as
//! unverified and served; the same answers from a peer not marked legacy are refused as
//! before, and bytes whose size differs from the E5 metadata are refused and leave nothing.

use std::net::TcpListener;

use actix_web::{App, HttpResponse, HttpServer, web};
use caravan_federation::tls::{self, ReloadingVerifier};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::instance::{Instance, spawn};
use crate::pki::{Leaf, Pki};
use crate::support::{Backend, acumos::zip_of, fixture};

const PUBLIC_CATALOG: &str = "0b2f4c1d-6e3a-4b5f-8c7d-9e1a2b3c4d5e";

fn recorded(file: &'static str) -> impl Fn() -> std::future::Ready<HttpResponse> + Clone {
    move || {
        let path = crate::support::fixture_path("acumos-e5/legacy").join(file);
        let body = std::fs::read(path).unwrap();
        std::future::ready(
            HttpResponse::Ok()
                .content_type("application/json")
                .body(body),
        )
    }
}

/// A mutual-TLS listener for `name` (a certificate from `pki`) with `routes`; its URL and leaf.
fn serve_tls<F>(pki: &Pki, name: &str, routes: F) -> (String, Leaf)
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let leaf = pki.issue(name);
    let files = pki.files(&leaf);
    let config =
        tls::server_config(&files, ReloadingVerifier::new(files.clone()).unwrap()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let server = HttpServer::new(move || App::new().configure(routes.clone()))
        .workers(1)
        .disable_signals()
        .listen_rustls_0_23(listener, config)
        .unwrap()
        .run();
    tokio::spawn(server);
    (url, leaf)
}

/// A gateway answering from the recorded files, serving `content` as the artifact.
fn gateway(pki: &Pki, name: &str, content: Vec<u8>) -> (String, Leaf) {
    let content = web::Data::new(content);
    serve_tls(pki, name, move |cfg| {
        cfg.app_data(content.clone())
            .route("/solutions", web::get().to(recorded("solutions.json")))
            .route("/solutions/{id}", web::get().to(recorded("solution.json")))
            .route(
                "/solutions/{id}/revisions/{rid}",
                web::get().to(recorded("revision.json")),
            )
            .route(
                "/artifacts/{id}/content",
                web::get().to(|bytes: web::Data<Vec<u8>>| async move {
                    HttpResponse::Ok()
                        .content_type("application/octet-stream")
                        .body(bytes.get_ref().clone())
                }),
            );
    })
}

async fn register(b: &Instance, name: &str, url: &str, leaf: &Leaf, legacy: bool) {
    let mut body = json!({
        "name": name, "api_url": url, "subject": leaf.identity.subject,
        "fingerprint": leaf.identity.fingerprint, "legacy_acumos": legacy,
    });
    if !legacy {
        // A strict peer needs a key; Acumos signs nothing with it.
        body["signing_key"] = json!(caravan_federation::InstanceKey::generate().public_key());
    }
    let response = b
        .app
        .post_json(&b.app.admin_token, "/api/v1/peers", body)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{}",
        response.text().await.unwrap()
    );
}

pub async fn a_legacy_acumos_peer_s_onnx_revision_is_imported_unverified_and_served(
    backend: Backend,
) {
    let pki = Pki::new("Federation test CA");
    let b = spawn(backend, &pki, "org-b").await;
    let model = fixture("affine.onnx");
    assert_eq!(
        model.len(),
        237,
        "the recorded revision announces 237 bytes"
    );

    // Not marked legacy: refused as before, nothing imported.
    let (url, leaf) = gateway(&pki, "strict-gw", model.clone());
    register(&b, "strict", &url, &leaf, false).await;
    let strict = b.subscribe("strict", "public").await;
    let pass = b.sync(&strict).await;
    assert!(
        pass["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("no signed manifest")
            || pass["last_error"]
                .as_str()
                .unwrap_or_default()
                .contains("malformed"),
        "{pass}"
    );
    assert_eq!(b.model_names().await, Vec::<String>::new());

    // Marked legacy, with bytes one longer than announced: refused, nothing stored.
    let mut longer = model.clone();
    longer.push(0);
    let (url, leaf) = gateway(&pki, "liar-gw", longer);
    register(&b, "liar", &url, &leaf, true).await;
    let liar = b.subscribe("liar", PUBLIC_CATALOG).await;
    let pass = b.sync(&liar).await;
    let error = pass["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("237"), "{pass}");
    assert_eq!(b.model_names().await, Vec::<String>::new());
    assert!(
        b.app.staged_files().is_empty(),
        "{:?}",
        b.app.staged_files()
    );
    assert!(
        b.app.stored_blobs().is_empty(),
        "{:?}",
        b.app.stored_blobs()
    );

    // Marked legacy, honest bytes: imported, unverified, served.
    let (url, leaf) = gateway(&pki, "orgx-gw", model.clone());
    register(&b, "orgx", &url, &leaf, true).await;
    let subscription = b.subscribe("orgx", PUBLIC_CATALOG).await;
    let pass = b.sync(&subscription).await;
    assert_eq!(pass["imported"], 1, "{pass}");
    assert_eq!(b.model_names().await, vec!["orgx:fraud-scorer".to_owned()]);
    let (status, imported) = b
        .app
        .get_json(Some(&b.app.admin_token), "/api/v1/models/orgx:fraud-scorer")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(imported["provenance"]["peer"], "orgx");
    assert_eq!(
        imported["provenance"]["unverified_versions"],
        json!([1]),
        "{imported}"
    );
    let (_, peers) = b
        .app
        .get_json(Some(&b.app.admin_token), "/api/v1/peers")
        .await;
    let orgx = peers["items"]
        .as_array()
        .or(peers.as_array())
        .unwrap()
        .iter()
        .find(|p| p["name"] == "orgx")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(orgx["legacy_acumos"], true, "{peers}");
    let answer = b
        .app
        .client
        .post(b.app.url("/v2/models/orgx:fraud-scorer/infer"))
        .bearer_auth(&b.app.admin_token)
        .json(&json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        StatusCode::OK,
        "{}",
        answer.text().await.unwrap()
    );
    // A second pass finds nothing new (revisions are matched by id).
    let again = b.sync(&subscription).await;
    assert_eq!(again["imported"], 1, "{again}");
}

/// An Acumos bundle published on one Caravan reaches a subscriber as an Acumos bundle, its
/// parts byte-identical and re-inspected there, still never run.
pub async fn an_acumos_bundle_travels_between_caravan_instances_unrun(backend: Backend) {
    let pki = Pki::new("Federation test CA");
    let a = spawn(backend, &pki, "org-a").await;
    let b = spawn(backend, &pki, "org-b").await;
    a.trust(&b).await;
    b.trust(&a).await;
    let proto = "syntax = \"proto3\";\nservice Model { rpc add (AddIn) returns (AddOut); }\n\
                 message AddIn { int64 x = 1; int64 y = 2; }\nmessage AddOut { int64 value = 1; }\n";
    let metadata = json!({"schema": "acumos.schema.model:0.6.0", "name": "adder",
        "runtime": {"name": "python", "version": "3.9.18"},
        "methods": {"add": {"input": {"name": "AddIn"}, "output": {"name": "AddOut"}}}});
    let form = reqwest::multipart::Form::new()
        .part(
            "model",
            reqwest::multipart::Part::bytes(zip_of(&[("model.pkl", b"opaque")]))
                .file_name("model.zip"),
        )
        .text("metadata", metadata.to_string())
        .text("schema", proto.to_owned());
    let pushed = a
        .app
        .client
        .post(a.app.url("/onboarding-app/v2/models"))
        .header("Authorization", a.app.admin_token.clone())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let public = a
        .app
        .send_json(
            reqwest::Method::PATCH,
            &a.app.admin_token,
            "/api/v1/models/adder",
            json!({"visibility": "public"}),
        )
        .await;
    assert_eq!(public.status(), StatusCode::OK);

    let subscription = b.subscribe("org-a", "public").await;
    let pass = b.sync(&subscription).await;
    assert_eq!(pass["imported"], 1, "{pass}");
    let token = Some(b.app.admin_token.as_str());
    let (_, version) = b
        .app
        .get_json(token, "/api/v1/models/org-a:adder/versions/1")
        .await;
    assert_eq!(version["format"], "acumos_bundle", "{version}");
    assert_eq!(version["acumos"]["proto"], proto);
    let (_, original) = a
        .app
        .get_json(Some(&a.app.admin_token), "/api/v1/models/adder/versions/1")
        .await;
    assert_eq!(version["sha256"], original["sha256"]);
    let (_, model) = b.app.get_json(token, "/api/v1/models/org-a:adder").await;
    assert_eq!(
        model["provenance"]["unverified_versions"],
        json!([]),
        "signed by its peer"
    );
    let infer = b
        .app
        .client
        .post(b.app.url("/v2/models/org-a:adder/infer"))
        .bearer_auth(&b.app.admin_token)
        .json(&json!({"inputs": [{"name": "x", "shape": [1], "datatype": "INT64", "data": [1]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(infer.status(), StatusCode::CONFLICT);
}

/// A Python model's revision as an Acumos gateway describes it: `model.zip` and `model.proto`
/// as `MI` artifacts, `metadata.json` as `MD`, sizes and no digests.
fn bundle_gateway(pki: &Pki, parts: Vec<(&'static str, &'static str, Vec<u8>)>) -> (String, Leaf) {
    let solution = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    let revision = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e";
    let artifacts: Vec<Value> = parts
        .iter()
        .enumerate()
        .map(|(i, (code, file, bytes))| {
            json!({
            "artifactId": format!("3c4d5e6f-7a8b-4c9d-8e1f-2a3b4c5d6e{i:02}"), "version": "1.0.0",
            "artifactTypeCode": code, "name": file, "description": null, "uri": "", "userId": null,
            "size": bytes.len(), "metadata": null, "created": "2020-06-01T08:30:00Z",
            "modified": "2020-06-01T08:30:00Z", "filename": file})
        })
        .collect();
    let listed = json!({"solutionId": solution, "name": "py-adder", "active": true,
        "toolkitTypeCode": "SK", "modelTypeCode": "PR", "tags": [],
        "created": "2020-06-01T08:30:00Z", "modified": "2020-06-01T08:30:00Z"});
    let mut detail = listed.clone();
    detail["revisions"] = json!([{"revisionId": revision, "solutionId": solution, "version": "1.0.0",
        "created": "2020-06-01T08:30:00Z", "modified": "2020-06-01T08:30:00Z"}]);
    let rev = json!({"revisionId": revision, "solutionId": solution, "version": "1.0.0",
        "created": "2020-06-01T08:30:00Z", "modified": "2020-06-01T08:30:00Z", "artifacts": artifacts});
    let envelope = |v: Value| json!({"error": null, "message": null, "content": v}).to_string();
    let answers = web::Data::new((
        envelope(json!([listed])),
        envelope(detail),
        envelope(rev),
        parts.into_iter().map(|(_, _, b)| b).collect::<Vec<_>>(),
    ));
    type Answers = web::Data<(String, String, String, Vec<Vec<u8>>)>;
    let json = |s: &String| {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(s.clone())
    };
    serve_tls(pki, "py-gw", move |cfg| {
        cfg.app_data(answers.clone())
            .route(
                "/solutions",
                web::get().to(move |a: Answers| async move { json(&a.0) }),
            )
            .route(
                "/solutions/{id}",
                web::get().to(move |a: Answers| async move { json(&a.1) }),
            )
            .route(
                "/solutions/{id}/revisions/{rid}",
                web::get().to(move |a: Answers| async move { json(&a.2) }),
            )
            .route(
                "/artifacts/{id}/content",
                web::get().to(|a: Answers, id: web::Path<String>| async move {
                    let i: usize = id[id.len() - 2..].parse().unwrap();
                    HttpResponse::Ok().body(a.3[i].clone())
                }),
            );
    })
}

pub async fn a_legacy_acumos_peer_s_python_bundle_is_catalogued_unverified(backend: Backend) {
    let pki = Pki::new("Federation test CA");
    let b = spawn(backend, &pki, "org-b").await;
    let proto = b"syntax = \"proto3\";\nservice Model { rpc add (AddIn) returns (AddOut); }\n\
                  message AddIn { int64 x = 1; int64 y = 2; }\nmessage AddOut { int64 value = 1; }\n"
        .to_vec();
    let metadata = json!({"schema": "acumos.schema.model:0.6.0", "name": "py-adder",
        "runtime": {"name": "python", "version": "3.9.18"},
        "methods": {"add": {"input": {"name": "AddIn"}, "output": {"name": "AddOut"}}}})
    .to_string()
    .into_bytes();
    let (url, leaf) = bundle_gateway(
        &pki,
        vec![
            (
                "MI",
                "py-adder-1.0.0.zip",
                zip_of(&[("model.pkl", b"opaque pickle")]),
            ),
            ("MI", "model.proto", proto.clone()),
            ("MD", "metadata.json", metadata),
        ],
    );
    register(&b, "pygw", &url, &leaf, true).await;
    let subscription = b
        .subscribe("pygw", "0b2f4c1d-6e3a-4b5f-8c7d-9e1a2b3c4d5e")
        .await;
    let pass = b.sync(&subscription).await;
    assert_eq!(pass["imported"], 1, "{pass}");
    let token = Some(b.app.admin_token.as_str());
    let (_, version) = b
        .app
        .get_json(token, "/api/v1/models/pygw:py-adder/versions/1")
        .await;
    assert_eq!(version["format"], "acumos_bundle", "{version}");
    assert_eq!(version["acumos"]["methods"][0]["name"], "add");
    assert_eq!(
        version["acumos"]["proto"].as_str().unwrap().as_bytes(),
        proto.as_slice()
    );
    let (_, model) = b.app.get_json(token, "/api/v1/models/pygw:py-adder").await;
    assert_eq!(model["provenance"]["unverified_versions"], json!([1]));
}
