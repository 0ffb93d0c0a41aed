//! Health, metadata, configuration, statistics and the repository extension.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    golden::publish,
    support::{Backend, spawn_app, v2::decode_response},
};

fn affine_request(x: f32) -> Value {
    json!({ "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [x, x, x, x]}] })
}

pub async fn health_and_server_metadata_answer_json(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, live) = app.get_json(None, "/v2/health/live").await;
    assert_eq!((status, live), (StatusCode::OK, json!({"live": true})));
    let (status, ready) = app.get_json(None, "/v2/health/ready").await;
    assert_eq!((status, ready), (StatusCode::OK, json!({"ready": true})));
    let (status, server) = app.get_json(None, "/v2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server["name"], "caravan");
    for extension in ["binary_tensor_data", "model_repository"] {
        assert!(
            server["extensions"]
                .as_array()
                .unwrap()
                .contains(&json!(extension))
        );
    }
}

pub async fn model_metadata_ready_and_config_describe_the_version(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = Some(app.admin_token.as_str());
    let model = publish(&app, "affine.onnx").await;
    app.push_ok(&app.admin_token, &model, "affine_v2.onnx", None)
        .await;
    let (status, meta) = app.get_json(token, &format!("/v2/models/{model}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meta["name"], model);
    assert_eq!(meta["versions"], json!(["1", "2"]));
    assert_eq!(meta["platform"], "onnxruntime_onnx");
    assert_eq!(
        meta["inputs"],
        json!([{"name": "x", "datatype": "FP32", "shape": [-1, 4]}])
    );
    assert_eq!(
        meta["outputs"],
        json!([{"name": "y", "datatype": "FP32", "shape": [-1, 4]}])
    );
    let (status, one) = app
        .get_json(token, &format!("/v2/models/{model}/versions/1"))
        .await;
    assert_eq!((status, &one["inputs"]), (StatusCode::OK, &meta["inputs"]));
    for path in [
        format!("/v2/models/{model}/ready"),
        format!("/v2/models/{model}/versions/2/ready"),
    ] {
        let (status, ready) = app.get_json(token, &path).await;
        assert_eq!(
            (status, ready),
            (StatusCode::OK, json!({"name": model, "ready": true})),
            "{path}"
        );
    }
    let (status, config) = app
        .get_json(token, &format!("/v2/models/{model}/config"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["platform"], "onnxruntime_onnx");
    assert_eq!(
        config["max_batch_size"], 256,
        "dynamic batching on a dynamic first dimension"
    );
    assert_eq!(
        config["input"],
        json!([{"name": "x", "data_type": "TYPE_FP32", "dims": [4]}])
    );
    assert!(config["dynamic_batching"].is_object());
    let fixed = publish(&app, "types.onnx").await;
    let (_, types) = app
        .get_json(token, &format!("/v2/models/{fixed}/config"))
        .await;
    assert_eq!(types["max_batch_size"], 256);
    let bf16 = publish(&app, "strings.onnx").await;
    let (_, strings) = app
        .get_json(token, &format!("/v2/models/{bf16}/config"))
        .await;
    assert_eq!(strings["input"][0]["data_type"], "TYPE_STRING");
}

pub async fn the_repository_loads_unloads_and_indexes(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token.clone();
    let model = publish(&app, "affine.onnx").await;
    let index = |ready: bool| {
        let app = &app;
        let token = token.clone();
        async move {
            let response = app
                .post_json(&token, "/v2/repository/index", json!({"ready": ready}))
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(
        index(false).await,
        json!([{"name": model, "version": "1", "state": "UNLOADED", "reason": ""}])
    );
    assert_eq!(index(true).await, json!([]));
    // Never loaded, it is ready: it loads on first use.
    let (status, _) = app
        .get_json(Some(&token), &format!("/v2/models/{model}/ready"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let load = app
        .post_json(
            &token,
            &format!("/v2/repository/models/{model}/load"),
            json!({}),
        )
        .await;
    assert_eq!(load.status(), StatusCode::OK);
    assert_eq!(index(true).await[0]["state"], "LOADED");
    // Loading again is harmless; a configuration or files are refused.
    let again = app
        .post_json(
            &token,
            &format!("/v2/repository/models/{model}/load"),
            json!({}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    for parameters in [
        json!({"config": "{}"}),
        json!({"file:1/model.onnx": "AAAA"}),
    ] {
        let refused = app
            .post_json(
                &token,
                &format!("/v2/repository/models/{model}/load"),
                json!({"parameters": parameters}),
            )
            .await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let body: Value = refused.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("onboarding"),
            "{body}"
        );
    }
    app.set_alias(&token, &model, "champion", json!({"version": 1}))
        .await;
    let pinned = app
        .post_json(
            &token,
            &format!("/v2/repository/models/{model}/unload"),
            json!({}),
        )
        .await;
    assert_eq!(pinned.status(), StatusCode::CONFLICT);
    let body: Value = pinned.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("champion"),
        "{body}"
    );
    app.delete(&token, &format!("/api/v1/models/{model}/aliases/champion"))
        .await;
    let unload = app
        .post_json(
            &token,
            &format!("/v2/repository/models/{model}/unload"),
            json!({}),
        )
        .await;
    assert_eq!(unload.status(), StatusCode::OK);
    assert_eq!(index(true).await, json!([]));
    // Unloaded on request, it is not ready (as in Triton) until it is loaded again; a request
    // loads it again on first use.
    let ready = format!("/v2/models/{model}/ready");
    let (status, body) = app.get_json(Some(&token), &ready).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["ready"], false);
    let result = decode_response(
        app.infer_json(Some(&token), &model, None, &affine_request(1.0))
            .await,
    )
    .await;
    assert_eq!(result.status, StatusCode::OK);
    assert_eq!(index(true).await[0]["state"], "LOADED");
    let (status, body) = app.get_json(Some(&token), &ready).await;
    assert_eq!(
        (status, body["ready"].clone()),
        (StatusCode::OK, json!(true))
    );
}

pub async fn statistics_and_metrics_count_inference_per_version(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = Some(app.admin_token.as_str());
    let model = publish(&app, "affine.onnx").await;
    for i in 0..3 {
        let result = decode_response(
            app.infer_json(token, &model, Some("1"), &affine_request(i as f32))
                .await,
        )
        .await;
        assert_eq!(result.status, StatusCode::OK);
    }
    let (status, stats) = app
        .get_json(token, &format!("/v2/models/{model}/stats"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let entry = &stats["model_stats"][0];
    assert_eq!(
        (entry["name"].as_str(), entry["version"].as_str()),
        (Some(model.as_str()), Some("1"))
    );
    assert_eq!(entry["inference_count"], 3);
    assert_eq!(entry["inference_stats"]["success"]["count"], 3);
    // Triton's three measured phases, with the equal counts perf_analyzer insists on.
    let phases = &entry["inference_stats"];
    let mut total = 0;
    for phase in ["compute_input", "compute_infer", "compute_output", "queue"] {
        assert_eq!(phases[phase]["count"], 3, "{phase}: {entry}");
        let ns = phases[phase]["ns"].as_u64().unwrap();
        assert!(phase == "queue" || ns > 0, "{phase}: {entry}");
        total += ns;
    }
    assert_eq!(phases["success"]["ns"].as_u64(), Some(total), "{entry}");
    let last = entry["last_inference"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(last <= now && now - last < 600_000, "{entry}");
    let (_, all) = app.get_json(token, "/v2/models/stats").await;
    assert_eq!(all["model_stats"].as_array().unwrap().len(), 1);
    let metrics = app.metrics_text().await;
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("caravan_inference_requests_total")
                && l.contains(&format!("model=\"{model}\""))
        })
        .expect("an inference counter for the model");
    assert!(
        line.contains("version=\"1\"") && line.ends_with(" 3"),
        "{line}"
    );
    assert!(metrics.contains("caravan_inference_queue_seconds_bucket"));
    assert!(
        metrics.contains(r#"route="/v2/models/{model}/...""#),
        "V2 requests have a route label"
    );
    assert!(metrics.contains("caravan_inference_batch_rows"));
    assert!(metrics.contains("caravan_loaded_versions"));
    let memory =
        format!("caravan_loaded_version_estimated_bytes{{model=\"{model}\",version=\"1\"}}");
    assert!(metrics.contains(&memory), "per-version memory estimate");
}

pub async fn the_default_version_is_the_champion_else_the_latest(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token.clone();
    let model = publish(&app, "affine.onnx").await;
    app.push_ok(&token, &model, "affine_v2.onnx", None).await;
    let answer = |version: Option<&'static str>| {
        let app = &app;
        let token = token.clone();
        let model = model.clone();
        async move {
            let result = decode_response(
                app.infer_json(Some(&token), &model, version, &affine_request(1.0))
                    .await,
            )
            .await;
            assert_eq!(result.status, StatusCode::OK, "{}", result.header);
            (
                result.version(),
                result.output("y").data[0].as_f64().unwrap(),
            )
        }
    };
    assert_eq!(
        answer(None).await,
        ("2".into(), 4.0),
        "no champion: the latest (3x + 1)"
    );
    assert_eq!(answer(Some("1")).await, ("1".into(), 3.0), "2x + 1");
    assert_eq!(answer(Some("latest")).await, ("2".into(), 4.0));
    app.set_alias(&token, &model, "champion", json!({"version": 1}))
        .await;
    assert_eq!(answer(None).await, ("1".into(), 3.0), "the champion");
    assert_eq!(answer(Some("champion")).await, ("1".into(), 3.0));
    let _ = Method::GET;
}

pub async fn content_encoding_on_an_empty_body_is_accepted_and_unknown_or_false_ones_refused(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let model = publish(&app, "affine.onnx").await;
    let send = |method: Method, path: String, encoding: &'static str, body: Vec<u8>| {
        let app = &app;
        async move {
            let response = app
                .client
                .request(method, app.url(&path))
                .bearer_auth(&app.admin_token)
                .header("Content-Encoding", encoding)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    // tritonclient sends its headers again on calls without a body.
    for (method, path) in [
        (Method::GET, format!("/v2/models/{model}/ready")),
        (Method::GET, format!("/v2/models/{model}")),
        (Method::POST, "/v2/repository/index".to_owned()),
    ] {
        let (status, body) = send(method, path.clone(), "gzip", Vec::new()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let infer = format!("/v2/models/{model}/infer");
    let plain = serde_json::to_vec(&affine_request(1.0)).unwrap();
    let (status, body) = send(Method::POST, infer.clone(), "identity", plain.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // An encoding Caravan does not decode is refused by name, not read as plain bytes.
    for encoding in ["br", "zstd", "x-gzip", "compress"] {
        let (status, body) = send(Method::POST, infer.clone(), encoding, plain.clone()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{encoding}");
        assert!(body["error"].as_str().unwrap().contains(encoding), "{body}");
    }
    // A body that is not what its encoding says gets a reason.
    for encoding in ["gzip", "deflate"] {
        let (status, body) = send(Method::POST, infer.clone(), encoding, plain.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{encoding}: {body}");
        let reason = body["error"].as_str().unwrap();
        assert!(reason.contains("body"), "{encoding}: {body}");
        assert_ne!(reason, "bad request");
    }
}
