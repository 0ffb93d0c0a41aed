//! Webhook trainers: Caravan hands the job to an external orchestrator (here, a small server in
//! the test that trains with the test trainer), which onboards the model through the normal API
//! and reports back.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::pipeline_support::{
    alias_version, app, app_with, csv, dataset, finished_run, spec, trainer,
};
use crate::support::{Backend, TestApp};

/// A fake orchestrator: accepts job requests and hands them (with their headers) to the test.
async fn orchestrator() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(String, String, Vec<u8>)>,
    actix_web::dev::ServerHandle,
) {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let server = HttpServer::new(move || {
        let tx = tx.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let tx = tx.clone();
            async move {
                let header = |n: &str| {
                    req.headers()
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned()
                };
                let _ = tx.send((
                    header("x-caravan-timestamp"),
                    header("x-caravan-signature"),
                    body.to_vec(),
                ));
                HttpResponse::Accepted().finish()
            }
        }))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/jobs"), rx, handle)
}

async fn remote_pipeline(app: &TestApp, name: &str, url: &str, retries: u32) -> String {
    let trainer = trainer();
    let mut s = spec(
        name,
        "forensics",
        &trainer,
        json!({ "features": ["a", "b", "c", "d"] }),
    );
    s["trigger"] = json!({});
    s["train"]["command"] = Value::Null;
    s["train"]["webhook"] = json!({ "url": url, "timeout_secs": 60 });
    s["retries"] = json!(retries);
    let created = app
        .post_json(&app.admin_token, "/api/v1/pipelines", s)
        .await;
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "{}",
        created.text().await.unwrap()
    );
    let secret: Value = app
        .post_json(
            &app.admin_token,
            &format!("/api/v1/pipelines/{name}/webhook-secret"),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    secret["secret"].as_str().unwrap().to_owned()
}

pub async fn an_external_orchestrator_trains_onboards_and_reports(backend: Backend) {
    // The orchestrator listens on loopback, which an admin allowed webhook trainers to reach.
    let app = app_with(backend, |s| s.outbound.allow = vec!["127.0.0.0/8".into()]).await;
    let trainer = trainer();
    dataset(&app, "holdout", csv(100, 7, false)).await;
    dataset(&app, "telemetry", csv(200, 1, false)).await;
    let (url, mut jobs, handle) = orchestrator().await;
    let secret = remote_pipeline(&app, "remote", &url, 1).await;
    app.post_json(&app.admin_token, "/api/v1/pipelines/remote/runs", json!({}))
        .await;

    let (timestamp, signature, body) = jobs.recv().await.unwrap();
    assert_eq!(
        signature,
        caravan_pipelines::webhook_signature(&secret, &timestamp, &body),
        "the job is signed"
    );
    let job: Value = serde_json::from_slice(&body).unwrap();
    // The orchestrator fetches the dataset, trains, onboards and reports, with its own token.
    let data = app
        .client
        .get(job["dataset"]["content_url"].as_str().unwrap())
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (csv_path, onnx_path) = (dir.path().join("data.csv"), dir.path().join("model.onnx"));
    std::fs::write(&csv_path, data.bytes().await.unwrap()).unwrap();
    let status = std::process::Command::new("python3")
        .arg(&trainer.script)
        .arg(&csv_path)
        .arg(&onnx_path)
        .arg(job["params"].to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let form = reqwest::multipart::Form::new().part(
        "model",
        reqwest::multipart::Part::bytes(std::fs::read(&onnx_path).unwrap()).file_name("model.onnx"),
    );
    let pushed: Value = app
        .client
        .post(job["onboard_url"].as_str().unwrap())
        .bearer_auth(&app.admin_token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let report = app
        .client
        .post(job["report_url"].as_str().unwrap())
        .bearer_auth(&app.admin_token)
        .json(&json!({ "status": "succeeded", "version": pushed["version"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), StatusCode::ACCEPTED);
    let again = app
        .client
        .post(job["report_url"].as_str().unwrap())
        .bearer_auth(&app.admin_token)
        .json(&json!({ "status": "failed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT, "one report per run");

    let run = finished_run(&app, "remote", 1).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(alias_version(&app, "forensics", "champion").await, Some(1));
    let (_, lineage) = app
        .get_json(
            Some(&app.admin_token),
            "/api/v1/models/forensics/versions/1/lineage",
        )
        .await;
    assert_eq!(lineage["pipeline"], "remote");
    assert_eq!(lineage["dataset_version"], 1);

    // A reported failure fails the run; the champion stays.
    app.post_json(&app.admin_token, "/api/v1/pipelines/remote/runs", json!({}))
        .await;
    let (_, _, body) = jobs.recv().await.unwrap();
    let job: Value = serde_json::from_slice(&body).unwrap();
    app.client
        .post(job["report_url"].as_str().unwrap())
        .bearer_auth(&app.admin_token)
        .json(&json!({ "status": "failed", "error": "out of GPUs" }))
        .send()
        .await
        .unwrap();
    let failed = finished_run(&app, "remote", 2).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("out of GPUs"),
        "{failed}"
    );
    assert_eq!(alias_version(&app, "forensics", "champion").await, Some(1));
    handle.stop(true).await;
}

/// A webhook trainer's URL is set by the pipeline's owner: by default it reaches no address
/// inside (loopback, private, link-local, metadata), and the run's error reads the same
/// whether something listens there or not.
pub async fn a_webhook_trainer_aimed_inside_is_refused_and_never_told_which_ports_answer(
    backend: Backend,
) {
    let app = app(backend).await;
    dataset(&app, "holdout", csv(100, 7, false)).await;
    dataset(&app, "telemetry", csv(200, 1, false)).await;
    let (listening, mut jobs, handle) = orchestrator().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut errors = Vec::new();
    for (name, url) in [
        ("to-listening", listening),
        ("to-closed", format!("http://localhost:{closed}/jobs")),
        ("to-private", "http://10.11.12.13/jobs".to_owned()),
        (
            "to-metadata",
            "http://169.254.169.254/latest/meta-data/".to_owned(),
        ),
        ("to-mapped", "http://[::ffff:127.0.0.1]:9/jobs".to_owned()),
    ] {
        remote_pipeline(&app, name, &url, 0).await;
        app.post_json(
            &app.admin_token,
            &format!("/api/v1/pipelines/{name}/runs"),
            json!({}),
        )
        .await;
        let run = finished_run(&app, name, 1).await;
        assert_eq!(run["status"], "failed", "{name}: {run}");
        let error = run["error"].as_str().unwrap_or_default().to_owned();
        assert!(
            error.contains("refused by the outgoing-request policy"),
            "{name}: {run}"
        );
        errors.push(error.replace(&url, "URL"));
    }
    assert!(
        errors.windows(2).all(|w| w[0] == w[1]),
        "every refusal reads the same: {errors:?}"
    );
    assert!(
        jobs.try_recv().is_err(),
        "the orchestrator never heard a thing"
    );
    handle.stop(false).await;
}
