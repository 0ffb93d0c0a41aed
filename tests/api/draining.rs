//! SIGTERM drains: the server reports not ready while it still serves (so a load balancer takes
//! it out before anything is refused), then stops accepting, lets what is in flight finish, and
//! exits.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use reqwest::{StatusCode, multipart};
use serde_json::{Value, json};

use crate::crash_leftovers::{admin_token, listening_port};
use crate::support::{ADMIN_PASSWORD, JWT_SECRET, caravan_binary, fixture_path};

pub async fn sigterm_reports_not_ready_then_finishes_in_flight_requests_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = tokio::process::Command::new(caravan_binary())
        .arg("serve")
        .env("CARAVAN__DATA_DIR", dir.path().join("data"))
        .env("CARAVAN__HTTP__BIND", "127.0.0.1:0")
        .env("CARAVAN__HTTP__DRAIN_SECS", "2")
        .env("CARAVAN__LOG__FORMAT", "json")
        .env("CARAVAN__AUTH__JWT_SECRET", JWT_SECRET)
        .env("CARAVAN_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let port = listening_port(&mut server).await;
    let base = format!("http://127.0.0.1:{port}");
    // New connections for the probes, so each one shows whether the listener still accepts.
    let fresh = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    };
    let token = admin_token(&fresh(), &base).await;
    let model = std::fs::read(fixture_path("affine.onnx")).unwrap();
    let pushed = fresh()
        .post(format!("{base}/api/v1/models/drained/versions"))
        .bearer_auth(&token)
        .multipart(multipart::Form::new().part(
            "model",
            multipart::Part::bytes(model.clone()).file_name("m.onnx"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let infer = |client: reqwest::Client| {
        let (url, token) = (format!("{base}/v2/models/drained/infer"), token.clone());
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}))
                .send()
                .await
        }
    };

    // An upload in flight: half its bytes sent, the rest held back until the listener closed.
    let (send, receive) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let half = model.len() / 2;
    send.send(Ok(model[..half].to_vec())).await.unwrap();
    let body = reqwest::Body::wrap_stream(tokio_stream_of(receive));
    let upload = tokio::spawn(
        fresh()
            .post(format!("{base}/api/v1/models/in-flight/versions"))
            .bearer_auth(&token)
            .multipart(
                multipart::Form::new()
                    .part("model", multipart::Part::stream(body).file_name("m.onnx")),
            )
            .send(),
    );

    let pid = server.id().unwrap().to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(signalled.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ready = fresh().get(format!("{base}/readyz")).send().await.unwrap();
        if ready.status() == StatusCode::SERVICE_UNAVAILABLE {
            let answer: Value = ready.json().await.unwrap();
            assert_eq!(answer["code"], "draining", "{answer}");
            break;
        }
        assert!(Instant::now() < deadline, "never reported draining");
    }
    let served = infer(fresh()).await.unwrap();
    assert_eq!(
        served.status(),
        StatusCode::OK,
        "still serving while draining"
    );

    // The listener closes after the drain; new connections are refused from then on.
    let deadline = Instant::now() + Duration::from_secs(10);
    while infer(fresh()).await.is_ok() {
        assert!(Instant::now() < deadline, "the listener never closed");
    }
    send.send(Ok(model[half..].to_vec())).await.unwrap();
    drop(send);
    let finished = upload.await.unwrap().unwrap();
    assert_eq!(
        finished.status(),
        StatusCode::CREATED,
        "the upload in flight finished"
    );
    let status = tokio::time::timeout(Duration::from_secs(30), server.wait())
        .await
        .expect("exited after the in-flight request")
        .unwrap();
    assert!(status.success(), "{status}");
}

fn tokio_stream_of<T: Send + 'static>(
    mut receive: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| receive.poll_recv(cx))
}
