//! `caravan runner --follow`: a runner serving the version an alias on a real Caravan server
//! points to, swapping within moments of every move with no failed request; and what it does
//! with an unreachable instance, a missing alias, a bad token and a tampered download (from a
//! hostile instance the test plays).

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Backend, TestApp, fixture,
    runner::{Answer, Load, TestRunner, try_spawn_following},
    spawn_app,
    v2::decode_response,
};

/// How long a move may take to reach the runner before the test calls it lost (the long poll
/// answers within milliseconds; this is slack for a loaded machine, not the target).
const NOTICE: Duration = Duration::from_secs(10);

fn request(x: f32) -> Value {
    json!({ "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [x, x, x, x]}] })
}

async fn two_versions(app: &TestApp) {
    for file in ["affine.onnx", "affine_v2.onnx"] {
        app.push_ok(&app.admin_token, "fraud", file, None).await;
    }
    let set = app
        .set_alias(&app.admin_token, "fraud", "champion", json!({"version": 1}))
        .await;
    assert_eq!(set.status(), StatusCode::OK);
}

/// Waits until the runner serves marketplace version `version`.
async fn serves(runner: &TestRunner, version: i64) -> Duration {
    let started = Instant::now();
    loop {
        let (_, model) = runner.get_json("/model").await;
        if model["source"]["version"] == json!(version) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < NOTICE,
            "version {version} never arrived: {model}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub async fn a_following_runner_swaps_on_every_alias_move_and_no_request_fails(backend: Backend) {
    let app = spawn_app(backend).await;
    two_versions(&app).await;
    let token = app.api_token(&app.admin_token, &["read"]).await;
    let url = app.url("/api/v1/models/fraud/aliases/champion");
    let runner = Arc::new(try_spawn_following(&url, Some(&token), None).await.unwrap());
    serves(&runner, 1).await;
    let (_, ready) = runner.get_json("/readyz").await;
    assert_eq!(ready["marketplace"]["reachable"], json!(true), "{ready}");

    let load = Load::start(&runner, "fraud", 6);
    let mut notices = Vec::new();
    for moved in 0..20 {
        let target = if moved % 2 == 0 { 2 } else { 1 };
        let set = app
            .set_alias(
                &app.admin_token,
                "fraud",
                "champion",
                json!({"version": target}),
            )
            .await;
        assert_eq!(set.status(), StatusCode::OK);
        notices.push(serves(&runner, target).await);
    }
    let (failed, answers) = load.stop().await;
    assert_eq!(failed, 0, "no request failed");
    // Every revision answers as one model does: 2x + 1 (version 1) or 3x + 1 (version 2).
    assert!(
        answers.len() >= 20,
        "the clients kept asking: {}",
        answers.len()
    );
    let mut slope_of = std::collections::HashMap::new();
    for Answer {
        version: revision,
        x,
        y,
    } in answers
    {
        if x == 0.0 {
            assert_eq!(y, 1.0);
            continue;
        }
        let slope = (y - 1.0) / f64::from(x);
        assert!(
            slope == 2.0 || slope == 3.0,
            "revision {revision}: {x} -> {y}"
        );
        let first = *slope_of.entry(revision.clone()).or_insert(slope);
        assert_eq!(first, slope, "revision {revision} answers as one model");
    }
    let (_, model) = runner.get_json("/model").await;
    assert_eq!(model["revision"], json!(21), "one swap per move: {model}");
    notices.sort();
    eprintln!(
        "alias move to runner: median {:?}, max {:?}",
        notices[10], notices[19]
    );
}

pub async fn a_missing_alias_or_a_bad_token_stops_the_runner_with_the_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    two_versions(&app).await;
    let private = app.url("/api/v1/models/fraud/aliases/champion");
    let cases = [
        (
            app.url("/api/v1/models/fraud/aliases/nightly"),
            Some(app.admin_token.clone()),
            "no alias nightly",
        ),
        (
            app.url("/api/v1/models/ghost/aliases/champion"),
            Some(app.admin_token.clone()),
            "not found",
        ),
        (private.clone(), Some("cv_not-a-token".to_string()), "401"),
        // The model is private: without a token it does not exist.
        (private, None, "404"),
        (app.url("/api/v1/models/fraud"), None, "must name an alias"),
    ];
    for (url, token, why) in cases {
        let error = try_spawn_following(&url, token.as_deref(), None)
            .await
            .err()
            .unwrap_or_else(|| panic!("{url} must not start a runner"));
        let text = format!("{error:#}");
        assert!(text.contains(why), "{url}: {text}");
        assert!(
            !text.contains(&app.admin_token),
            "no token in errors: {text}"
        );
    }
}

/// A hostile or failing instance the test plays: it names a sha256 for the alias and serves
/// whatever bytes it is told to, and can stop answering.
struct Instance {
    alias: Mutex<(i64, String)>,
    bytes: Mutex<Vec<u8>>,
    down: AtomicBool,
}

async fn spawn_instance(instance: Arc<Instance>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let data = web::Data::from(instance);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/api/v1/models/m/aliases/champion", web::get().to(alias))
            .route(
                "/api/v1/models/m/versions/{v}/artifact",
                web::get().to(artifact),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}/api/v1/models/m/aliases/champion")
}

async fn alias(instance: web::Data<Instance>) -> HttpResponse {
    if instance.down.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().json(json!({"error": "down for maintenance"}));
    }
    let (version, sha256) = instance.alias.lock().unwrap().clone();
    HttpResponse::Ok()
        .json(json!({"alias": "champion", "version": version, "sha256": sha256, "size": 0}))
}

async fn artifact(instance: web::Data<Instance>) -> HttpResponse {
    HttpResponse::Ok().body(instance.bytes.lock().unwrap().clone())
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
}

pub async fn a_tampered_download_or_an_unreachable_instance_leaves_the_model_serving() {
    let good = fixture("affine.onnx");
    let instance = Arc::new(Instance {
        alias: Mutex::new((1, sha256(&good))),
        bytes: Mutex::new(good),
        down: AtomicBool::new(false),
    });
    let url = spawn_instance(instance.clone()).await;
    let runner = try_spawn_following(&url, None, None).await.unwrap();
    serves(&runner, 1).await;

    // Version 2: the instance vouches for affine_v2.onnx's sha256 but sends other bytes.
    let v2 = fixture("affine_v2.onnx");
    *instance.alias.lock().unwrap() = (2, sha256(&v2));
    *instance.bytes.lock().unwrap() = fixture("two_in_two_out.onnx");
    let started = Instant::now();
    let error = loop {
        let (_, model) = runner.get_json("/model").await;
        if let Some(error) = model["marketplace"]["error"].as_str() {
            break error.to_owned();
        }
        assert!(
            started.elapsed() < NOTICE,
            "the tampering was never noticed: {model}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(error.contains("sha256"), "{error}");
    let result = decode_response(runner.infer("m", None, &request(1.0)).await).await;
    assert_eq!(
        (result.status, result.output("y").data[0].as_f64()),
        (StatusCode::OK, Some(3.0))
    );

    // The instance goes down: the runner stays ready on what it has, and says so.
    instance.down.store(true, Ordering::SeqCst);
    *instance.alias.lock().unwrap() = (3, sha256(&v2));
    let started = Instant::now();
    loop {
        let (status, ready) = runner.get_json("/readyz").await;
        assert_eq!(status, StatusCode::OK, "{ready}");
        if ready["marketplace"]["reachable"] == json!(false) {
            assert!(
                ready["marketplace"]["error"]
                    .as_str()
                    .unwrap()
                    .contains("503"),
                "{ready}"
            );
            break;
        }
        assert!(
            started.elapsed() < NOTICE * 4,
            "never noticed the outage: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let result = decode_response(runner.infer("m", None, &request(1.0)).await).await;
    assert_eq!(result.status, StatusCode::OK);

    // Back, with honest bytes for version 3: the runner catches up.
    *instance.bytes.lock().unwrap() = v2;
    instance.down.store(false, Ordering::SeqCst);
    serves(&runner, 3).await;
    let result = decode_response(runner.infer("m", None, &request(1.0)).await).await;
    assert_eq!(result.output("y").data[0].as_f64(), Some(4.0));
    let (_, ready) = runner.get_json("/readyz").await;
    assert_eq!(ready["marketplace"]["reachable"], json!(true), "{ready}");
}

pub async fn an_unreachable_instance_at_start_leaves_the_runner_not_ready() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("http://127.0.0.1:{port}/api/v1/models/m/aliases/champion");
    let runner = try_spawn_following(&url, None, None).await.unwrap();
    let (status, ready) = runner.get_json("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready["marketplace"]["reachable"], json!(false), "{ready}");
    assert!(
        ready["marketplace"]["error"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{ready}"
    );
    let infer = runner.infer("m", None, &request(1.0)).await;
    assert_eq!(infer.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// A version published through Acumos's `advancedModel` with its own .proto is served by a
/// following runner under that interface, as the server serves it.
pub async fn a_following_runner_serves_the_interface_the_version_was_published_with(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let proto = "syntax = \"proto3\";\nservice Model { rpc score (Row) returns (Score); }\n\
                 message Row { repeated float x = 1; }\nmessage Score { repeated float y = 1; }\n";
    let form = reqwest::multipart::Form::new()
        .part(
            "model",
            reqwest::multipart::Part::bytes(fixture("affine.onnx")).file_name("m.onnx"),
        )
        .text("protobuf", proto.to_owned());
    let pushed = app
        .client
        .post(app.url("/onboarding-app/v2/advancedModel"))
        .header("Authorization", app.admin_token.clone())
        .header("modelname", "scored")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), StatusCode::CREATED);
    app.set_alias(
        &app.admin_token,
        "scored",
        "champion",
        json!({"version": 1}),
    )
    .await;
    let token = app.api_token(&app.admin_token, &["read"]).await;
    let url = app.url("/api/v1/models/scored/aliases/champion");
    let runner = try_spawn_following(&url, Some(&token), None).await.unwrap();
    let answer = runner
        .client
        .post(runner.url("/model/methods/score"))
        .json(&json!({"x": [1, 2, 3, 4]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["y"].as_array().unwrap().len(), 4, "{answer}");
    let proto_served = runner
        .client
        .get(runner.url("/model/artifacts/protobuf"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(proto_served, proto);
    let generated = runner
        .client
        .post(runner.url("/model/methods/predict"))
        .json(&json!({"x": [1, 2, 3, 4]}))
        .send()
        .await
        .unwrap();
    assert_eq!(generated.status(), StatusCode::NOT_FOUND);
}
