//! `POST /onboarding-app/v2/advancedModel`: an ONNX file onboarded like any push and served
//! natively by ONNX Runtime, under the publisher's own .proto when one is sent; every refusal
//! in Acumos's error shape.

use reqwest::{StatusCode, multipart};
use serde_json::{Value, json};

use super::acumos::acumos_error;
use crate::support::{Backend, fixture, spawn_app};

pub async fn advanced_model_onboards_onnx_served_natively_with_its_protobuf(backend: Backend) {
    let app = spawn_app(backend).await;
    let auth = format!("Bearer {}", app.admin_token);
    let send = |name: Option<&str>, model: Vec<u8>, protobuf: Option<&str>| {
        let mut form = multipart::Form::new().part(
            "model",
            multipart::Part::bytes(model).file_name("model.onnx"),
        );
        if let Some(p) = protobuf {
            form = form.text("protobuf", p.to_owned());
        }
        let mut request = app
            .client
            .post(app.url("/onboarding-app/v2/advancedModel"))
            .header("Authorization", auth.clone())
            .multipart(form);
        if let Some(n) = name {
            request = request.header("modelname", n);
        }
        request.send()
    };
    let forensics = fixture("cloud-forensics/cloud_forensics_mlp.onnx");
    let proto = r#"syntax = "proto3";
        service Model { rpc classify (Telemetry) returns (Verdict); }
        message Telemetry { repeated float X = 1; }
        message Verdict { repeated float probabilities = 1; }"#;
    let response = send(Some("forensics"), forensics.clone(), Some(proto))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"]["toolkitTypeCode"], "OX");
    assert!(
        body["dockerImageUri"]
            .as_str()
            .unwrap()
            .ends_with("caravan-runner-forensics:v1"),
        "{body}"
    );
    // Served by ONNX Runtime under the publisher's own interface, and over V2.
    let answer = app
        .client
        .post(app.url("/acumos/models/forensics/model/methods/classify"))
        .bearer_auth(&app.admin_token)
        .json(&json!({"X": vec![0.5; 20]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(
        answer["probabilities"].as_array().unwrap().len(),
        2,
        "{answer}"
    );
    assert!(answer.get("label").is_none(), "only what Verdict declares");
    let v2 = app
        .client
        .post(app.url("/v2/models/forensics/infer"))
        .bearer_auth(&app.admin_token)
        .json(&json!({"inputs": [{"name": "X", "shape": [1, 20], "datatype": "FP32", "data": vec![0.5; 20]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(v2.status(), StatusCode::OK);

    for (name, model, protobuf, needle) in [
        (None, forensics.clone(), None, "modelname"),
        (
            Some("notonnx"),
            b"not an onnx file".to_vec(),
            None,
            "refused",
        ),
        (
            Some("misfit"),
            forensics.clone(),
            Some(
                "syntax = \"proto3\"; service M { rpc p (A) returns (B); } message A { repeated double X = 1; } message B { repeated float probabilities = 1; }",
            ),
            "repeated float",
        ),
        (Some("a/b"), forensics.clone(), None, "name"),
    ] {
        let response = send(name, model, protobuf).await.unwrap();
        acumos_error(response, StatusCode::BAD_REQUEST, needle).await;
    }
    let (_, models) = app.get_json(Some(&app.admin_token), "/api/v1/models").await;
    assert_eq!(models["items"].as_array().unwrap().len(), 1, "{models}");
}

/// `tracking_id` / `Request-ID` are echoed only when they are a plain token of at most 100
/// characters; anything else (too long, spaces, quotes, control characters) gets a new id.
pub async fn tracking_ids_are_echoed_only_when_plain(backend: Backend) {
    let app = spawn_app(backend).await;
    let push = |header: &'static str, value: String| {
        let form = multipart::Form::new().part(
            "model",
            multipart::Part::bytes(fixture("affine.onnx")).file_name("m.onnx"),
        );
        app.client
            .post(app.url("/onboarding-app/v2/advancedModel"))
            .header("Authorization", app.admin_token.clone())
            .header("modelname", "tracked")
            .header(header, value)
            .multipart(form)
            .send()
    };
    let plain = "5c1d3a2e-0b4f-4e6a-9d8c-7b6a5f4e3d2c".to_owned();
    let answer: Value = push("Request-ID", plain.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["trackingId"], plain);
    for odd in [
        "x".repeat(300),
        "a b".to_owned(),
        "\"}, \"status\": \"ERROR".to_owned(),
        "id\tx".to_owned(),
    ] {
        let response = push("tracking_id", odd.clone()).await.unwrap();
        assert!(
            response.status().is_success(),
            "{odd:?}: {}",
            response.status()
        );
        let answer: Value = response.json().await.unwrap();
        let id = answer["trackingId"].as_str().unwrap();
        assert_ne!(id, odd);
        assert!(uuid::Uuid::parse_str(id).is_ok(), "a new id, not {id:?}");
    }
    // The over-long modelname header is refused, not truncated.
    let form = multipart::Form::new().part(
        "model",
        multipart::Part::bytes(fixture("affine.onnx")).file_name("m.onnx"),
    );
    let long = app
        .client
        .post(app.url("/onboarding-app/v2/advancedModel"))
        .header("Authorization", app.admin_token.clone())
        .header("modelname", "m".repeat(5000))
        .multipart(form)
        .send()
        .await
        .unwrap();
    acumos_error(long, StatusCode::BAD_REQUEST, "").await;
}
