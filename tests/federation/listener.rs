//! The federation listener against callers it must refuse: no certificate, a certificate
//! from another CA, an unregistered subject, a disabled peer, a revoked certificate; and a
//! registered peer asking for what it may not see. Every refusal happens on the real
//! listener, over real TLS.

use std::time::{Duration, Instant};

use caravan_federation::wire::{Changes, Envelope, Solution};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::instance::{Instance, spawn};
use crate::pki::{Pki, anonymous_client, client_with};
use crate::support::Backend;

async fn get(client: &reqwest::Client, url: &str) -> Result<(StatusCode, Value), reqwest::Error> {
    let response = client.get(url).send().await?;
    let status = response.status();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

/// The ids (solution, revision, artifact) of a model's first version on `a`.
async fn ids(a: &Instance, model: &str) -> (String, String, String) {
    let name = caravan_domain::ModelName::parse(model).unwrap();
    let record = a
        .app
        .app_core
        .catalog_for_tests()
        .model_by_name(&name)
        .await
        .unwrap()
        .unwrap();
    let versions = a
        .app
        .app_core
        .catalog_for_tests()
        .versions(record.id)
        .await
        .unwrap();
    let v = &versions[0];
    (
        record.id.to_string(),
        v.revision_id.to_string(),
        v.artifact_id.to_string(),
    )
}

pub async fn only_active_registered_peers_with_valid_certificates_get_answers(backend: Backend) {
    let pki = Pki::new("Federation test CA");
    let a = spawn(backend, &pki, "org-a").await;
    let ping = format!("{}/ping", a.url);

    let anonymous = anonymous_client(&pki);
    let error = get(&anonymous, &ping)
        .await
        .expect_err("no client certificate");
    assert!(error.is_connect() || error.is_request(), "{error:?}");

    let rogue_ca = Pki::new("Rogue CA");
    let impostor = rogue_ca.issue("org-b");
    let from_rogue = client_with(&rogue_ca, &impostor, &pki);
    get(&from_rogue, &ping)
        .await
        .expect_err("a certificate from another CA");

    let stranger = pki.issue("org-stranger");
    let (status, body) = get(&client_with(&pki, &stranger, &pki), &ping)
        .await
        .unwrap();
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "valid CA, unregistered subject"
    );
    assert!(
        body["error"].as_str().unwrap().contains("no active peer"),
        "{body}"
    );

    // A registered peer, on one kept-alive connection throughout.
    let b = pki.issue("org-b");
    a.add_peer(
        "org-b",
        "https://127.0.0.1:1",
        &b.identity,
        &caravan_federation::InstanceKey::generate().public_key(),
    )
    .await;
    let peer = client_with(&pki, &b, &pki);
    let (status, body) = get(&peer, &ping).await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["content"]["name"], "org-a");
    assert_eq!(
        body["content"]["signingKey"],
        a.identity().await["signing_key"]
    );

    a.set_peer_status("org-b", "disabled").await;
    let (status, _) = get(&peer, &ping).await.unwrap();
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "disabled: cut off at its next request"
    );
    a.set_peer_status("org-b", "active").await;
    assert_eq!(get(&peer, &ping).await.unwrap().0, StatusCode::OK);

    // The normal API port never serves federation routes.
    for path in ["/ping", "/catalogs", "/solutions?catalogId=public"] {
        let response = a.app.get(Some(&a.app.admin_token), path).await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{path} on the API port"
        );
    }
}

pub async fn a_revoked_certificate_is_refused_without_a_restart(backend: Backend) {
    let pki = Pki::new("Federation test CA");
    let a = spawn(backend, &pki, "org-a").await;
    let b = pki.issue("org-b");
    let c = pki.issue("org-c");
    let key = caravan_federation::InstanceKey::generate().public_key();
    a.add_peer("org-b", "https://127.0.0.1:1", &b.identity, &key)
        .await;
    a.add_peer("org-c", "https://127.0.0.1:1", &c.identity, &key)
        .await;
    let ping = format!("{}/ping", a.url);
    assert_eq!(
        get(&client_with(&pki, &b, &pki), &ping).await.unwrap().0,
        StatusCode::OK
    );

    pki.revoke(&[b.serial]);
    // The listener picks the new CRL up within its reload interval; each try is a new
    // connection, since revocation is checked at the handshake.
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&client_with(&pki, &b, &pki), &ping).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the revocation never took effect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let other = client_with(&pki, &c, &pki);
    assert_eq!(
        get(&other, &ping).await.unwrap().0,
        StatusCode::OK,
        "others are unaffected"
    );
}

pub async fn a_peer_gets_nothing_of_private_models_by_any_endpoint(backend: Backend) {
    let pki = Pki::new("Federation test CA");
    let a = spawn(backend, &pki, "org-a").await;
    let token = a.app.admin_token.clone();
    for (name, visibility) in [
        ("open", "public"),
        ("secret", "private"),
        ("inside", "organization"),
    ] {
        let metadata = json!({ "visibility": visibility }).to_string();
        a.app
            .push_ok(&token, name, "affine.onnx", Some(&metadata))
            .await;
    }
    let b = pki.issue("org-b");
    let key = caravan_federation::InstanceKey::generate().public_key();
    a.add_peer("org-b", "https://127.0.0.1:1", &b.identity, &key)
        .await;
    let peer = client_with(&pki, &b, &pki);
    let url = |path: &str| format!("{}{path}", a.url);

    for catalog in ["public", "shared"] {
        let (status, body) = get(&peer, &url(&format!("/solutions?catalogId={catalog}")))
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK);
        let listed: Envelope<Vec<Solution>> = serde_json::from_value(body).unwrap();
        let names: Vec<_> = listed
            .content
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        let expected: &[&str] = if catalog == "public" { &["open"] } else { &[] };
        assert_eq!(names, expected, "catalog {catalog}");
        let (_, body) = get(
            &peer,
            &url(&format!("/solutions?catalogId={catalog}&since=0")),
        )
        .await
        .unwrap();
        let changes: Envelope<Changes> = serde_json::from_value(body).unwrap();
        assert_eq!(changes.content.unwrap().solutions.len(), expected.len());
    }
    let (status, _) = get(&peer, &url("/solutions?catalogId=nope")).await.unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);

    for hidden in ["secret", "inside"] {
        let (solution, revision, artifact) = ids(&a, hidden).await;
        for path in [
            format!("/solutions/{solution}"),
            format!("/solutions/{solution}/revisions"),
            format!("/solutions/{solution}/revisions/{revision}"),
            format!("/solutions/{solution}/revisions/{revision}/artifacts"),
            format!("/artifacts/{artifact}/content"),
        ] {
            let (status, body) = get(&peer, &url(&path)).await.unwrap();
            assert_eq!(status, StatusCode::NOT_FOUND, "{hidden}: {path}");
            assert!(
                body["error"].is_string() && body["content"].is_null(),
                "{body}"
            );
        }
    }

    // What it may see, it gets: in full or by range.
    let (solution, revision, artifact) = ids(&a, "open").await;
    let (status, body) = get(
        &peer,
        &url(&format!("/solutions/{solution}/revisions/{revision}")),
    )
    .await
    .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["content"]["artifacts"][0]["artifactTypeCode"], "MI");
    assert!(body["content"]["manifest"]["signature"].is_string());
    let whole = peer
        .get(url(&format!("/artifacts/{artifact}/content")))
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(
        whole.bytes().await.unwrap().to_vec(),
        crate::support::fixture("affine.onnx")
    );
    let part = peer
        .get(url(&format!("/artifacts/{artifact}/content")))
        .header("Range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().len(), 10);
    let (status, _) = get(&peer, &url("/artifacts/not-a-uuid/content"))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
}

pub async fn a_missing_blob_answers_a_peer_in_the_envelope_without_internals(backend: Backend) {
    let pki = Pki::new("Federation test CA");
    let a = spawn(backend, &pki, "org-a").await;
    let token = a.app.admin_token.clone();
    let public = json!({ "visibility": "public" }).to_string();
    a.app
        .push_ok(&token, "lost", "affine.onnx", Some(&public))
        .await;
    let b = pki.issue("org-b");
    let key = caravan_federation::InstanceKey::generate().public_key();
    a.add_peer("org-b", "https://127.0.0.1:1", &b.identity, &key)
        .await;
    let peer = client_with(&pki, &b, &pki);
    for blob in a.app.stored_blobs() {
        std::fs::remove_file(blob).unwrap();
    }
    let (_, _, artifact) = ids(&a, "lost").await;
    let (status, body) = get(&peer, &format!("{}/artifacts/{artifact}/content", a.url))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        json!({ "error": caravan_core::INTERNAL_MESSAGE, "message": null, "content": null })
    );
}
