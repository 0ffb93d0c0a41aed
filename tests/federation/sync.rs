//! Two real instances on loopback, paired over mutual TLS with a CA made for the test: B
//! subscribes to A and ends with exactly what A lets it see, byte for byte, servable; A's
//! updates and withdrawals reach B at its next sync.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::instance::{Instance, spawn};
use crate::pki::Pki;
use crate::support::{Backend, fixture, v2};

async fn version(instance: &Instance, model: &str, number: u32) -> (Value, Vec<u8>) {
    let token = Some(instance.app.admin_token.as_str());
    let path = format!("/api/v1/models/{model}/versions/{number}");
    let (status, body) = instance.app.get_json(token, &path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    let bytes = instance.app.get(token, &format!("{path}/artifact")).await;
    assert_eq!(bytes.status(), StatusCode::OK);
    (body, bytes.bytes().await.unwrap().to_vec())
}

async fn details(instance: &Instance, model: &str) -> Value {
    let token = Some(instance.app.admin_token.as_str());
    let (status, body) = instance
        .app
        .get_json(token, &format!("/api/v1/models/{model}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Pushes a fixture to A as `name` with this visibility; returns its version JSON.
/// Shares `model` of `a` with the peer `peer`.
async fn share(a: &Instance, model: &str, peer: &str) {
    let shared = a
        .app
        .post_json(
            &a.app.admin_token,
            &format!("/api/v1/models/{model}/shares"),
            json!({"peer": peer}),
        )
        .await;
    assert_eq!(shared.status(), StatusCode::NO_CONTENT);
}

async fn publish(a: &Instance, name: &str, fixture_name: &str, visibility: &str) -> Value {
    let metadata = json!({ "visibility": visibility }).to_string();
    a.app
        .push_ok(&a.app.admin_token, name, fixture_name, Some(&metadata))
        .await
}

pub async fn a_subscriber_gets_exactly_the_public_models_byte_identical_and_servable(
    backend: Backend,
) {
    let pki = Pki::new("Federation test CA");
    let a = spawn(backend, &pki, "org-a").await;
    let b = spawn(backend, &pki, "org-b").await;
    a.trust(&b).await;
    b.trust(&a).await;
    let affine = publish(&a, "affine", "affine.onnx", "public").await;
    publish(&a, "pair", "two_in_two_out.onnx", "public").await;
    publish(&a, "secret", "types.onnx", "private").await;
    publish(&a, "internal", "strings.onnx", "organization").await;

    let subscription = b.subscribe("org-a", "public").await;
    let status = b.pass_after(&subscription).await;
    assert_eq!(status["last_error"], Value::Null, "{status}");
    assert_eq!(
        (status["imported"].as_i64(), status["failures"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(b.model_names().await, ["org-a:affine", "org-a:pair"]);

    for (name, fixture_name) in [("affine", "affine.onnx"), ("pair", "two_in_two_out.onnx")] {
        let local = format!("org-a:{name}");
        let (copy, bytes) = version(&b, &local, 1).await;
        assert_eq!(bytes, fixture(fixture_name), "{local} is byte-identical");
        assert_eq!(copy["sha256"], hex::encode(Sha256::digest(&bytes)));
        let model = details(&b, &local).await;
        assert_eq!(model["provenance"]["peer"], "org-a");
        assert_eq!(model["provenance"]["remote_name"], name);
        assert_eq!(
            model["visibility"], "organization",
            "the subscription's visibility"
        );
        assert_eq!(model["withdrawn_at"], Value::Null);
    }
    assert_eq!(
        version(&b, "org-a:affine", 1).await.0["sha256"],
        affine["sha256"]
    );

    let golden = v2::golden("affine.json");
    let token = b.app.admin_token.clone();
    let result = b
        .app
        .infer_binary(Some(&token), "org-a:affine", None, &golden.inputs)
        .await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.header);
    v2::assert_same(result.output("y"), &golden.outputs[0]);

    // B keeps serving A's "pair" through its own champion alias, whatever A does.
    let alias = b
        .app
        .set_alias(&token, "org-a:pair", "champion", json!({"version": 1}))
        .await;
    assert!(alias.status().is_success(), "{}", alias.status());
    publish(&a, "affine", "affine_v2.onnx", "public").await;
    let deleted = a
        .app
        .delete(&a.app.admin_token, "/api/v1/models/pair")
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let status = b.sync(&subscription).await;
    assert_eq!(status["last_error"], Value::Null, "{status}");
    assert_eq!(
        (status["imported"].as_i64(), status["withdrawn"].as_i64()),
        (Some(3), Some(1))
    );
    let (_, bytes) = version(&b, "org-a:affine", 2).await;
    assert_eq!(bytes, fixture("affine_v2.onnx"), "the update arrived");
    let pair = details(&b, "org-a:pair").await;
    assert!(
        pair["withdrawn_at"].is_string(),
        "marked withdrawn, not deleted: {pair}"
    );
    let through_alias = b
        .app
        .infer_json(Some(&token), "org-a:pair", None, &pair_request())
        .await;
    assert_eq!(
        through_alias.status(),
        StatusCode::OK,
        "the champion alias keeps serving"
    );
    let by_number = b
        .app
        .infer_json(Some(&token), "org-a:pair", Some("1"), &pair_request())
        .await;
    assert_eq!(by_number.status(), StatusCode::NOT_FOUND);
    let body: Value = by_number.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("withdrawn"),
        "{body}"
    );
    let audit = b
        .app
        .app_core
        .catalog_for_tests()
        .list_audit(100, None)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "model.withdraw" && e.target == "model:org-a:pair"),
        "the withdrawal is recorded as an event"
    );

    let unchanged = b.sync(&subscription).await;
    assert_eq!(
        (
            unchanged["imported"].as_i64(),
            unchanged["withdrawn"].as_i64()
        ),
        (Some(3), Some(1)),
        "a pass with nothing new imports nothing"
    );
    assert_eq!(b.model_names().await, ["org-a:affine", "org-a:pair"]);
}

/// Inputs for two_in_two_out.onnx, from its golden file.
fn pair_request() -> Value {
    let golden = v2::golden("two_in_two_out.json");
    json!({ "inputs": golden.inputs })
}

pub async fn a_model_shared_with_one_peer_reaches_only_that_peer(backend: Backend) {
    let pki = Pki::new("Federation test CA");
    let a = spawn(backend, &pki, "org-a").await;
    let b = spawn(backend, &pki, "org-b").await;
    let c = spawn(backend, &pki, "org-c").await;
    for other in [&b, &c] {
        a.trust(other).await;
        other.trust(&a).await;
    }
    publish(&a, "partner", "affine.onnx", "private").await;
    publish(&a, "secret", "types.onnx", "private").await;
    share(&a, "partner", "org-b").await;
    let unknown = a
        .app
        .post_json(
            &a.app.admin_token,
            "/api/v1/models/partner/shares",
            json!({"peer": "org-z"}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let on_b = b.subscribe("org-a", "shared").await;
    let on_c = c.subscribe("org-a", "shared").await;
    let b_status = b.pass_after(&on_b).await;
    let c_status = c.pass_after(&on_c).await;
    assert_eq!(
        (b_status["imported"].as_i64(), c_status["imported"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(b.model_names().await, ["org-a:partner"]);
    assert!(c.model_names().await.is_empty());

    // Unsharing withdraws it from B at the next sync.
    let unshared = a
        .app
        .delete(&a.app.admin_token, "/api/v1/models/partner/shares/org-b")
        .await;
    assert_eq!(unshared.status(), StatusCode::NO_CONTENT);
    let status = b.sync(&on_b).await;
    assert_eq!(status["withdrawn"].as_i64(), Some(1), "{status}");
    assert!(details(&b, "org-a:partner").await["withdrawn_at"].is_string());
}

/// Peers know a model by its name: one they can see (shared with one, or public while there
/// are peers) is not renamed; a private, unshared one is.
pub async fn a_model_peers_can_see_keeps_its_name(backend: Backend) {
    let pki = Pki::new("Federation test CA");
    let a = spawn(backend, &pki, "org-a").await;
    let b = spawn(backend, &pki, "org-b").await;
    a.trust(&b).await;
    publish(&a, "partner", "affine.onnx", "private").await;
    publish(&a, "open", "types.onnx", "public").await;
    publish(&a, "mine", "two_in_two_out.onnx", "private").await;
    share(&a, "partner", "org-b").await;
    let rename = |name: &'static str| {
        let a = &a;
        async move {
            let response = a
                .app
                .post_json(
                    &a.app.admin_token,
                    "/api/2.0/mlflow/registered-models/rename",
                    json!({"name": name, "new_name": format!("{name}-renamed")}),
                )
                .await;
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    for name in ["partner", "open"] {
        let (status, body) = rename(name).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert_eq!(body["error_code"], "INVALID_STATE", "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("peers"),
            "{body}"
        );
    }
    let (status, body) = rename("mine").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
