//! Slow or stalled clients cannot hold connections: a head that never ends, a body that stops,
//! an idle keep-alive connection are each closed after their deadline, and a flood of stalled
//! connections past the connection cap delays health checks only until those deadlines.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::support::{Backend, TestApp, spawn_app_with};

/// How long a test waits for the server to act on a one-second deadline.
const PATIENCE: Duration = Duration::from_secs(15);

async fn impatient_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.http.client_request_timeout_secs = 1;
        s.http.body_idle_timeout_secs = 1;
        s.http.keep_alive_secs = 1;
        s.http.max_connections = 8;
    })
    .await
}

async fn connect(app: &TestApp, sent: &[u8]) -> TcpStream {
    let mut socket = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    socket.write_all(sent).await.unwrap();
    socket
}

/// Everything the server sends until it closes the connection, and how long that took.
async fn until_closed(mut socket: TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, socket.read_to_end(&mut received)).await;
    match read {
        Ok(Ok(_)) => {}
        // A reset after the server gave up is a close too.
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Ok(Err(e)) => panic!("reading: {e}"),
        Err(_) => panic!("the server kept the connection open for {PATIENCE:?}"),
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

pub async fn a_request_head_that_never_ends_is_closed(backend: Backend) {
    let app = impatient_app(backend).await;
    let socket = connect(&app, b"GET /healthz HTTP/1.1\r\nHost: caravan\r\n").await;
    let (answer, _) = until_closed(socket).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

pub async fn a_body_that_stops_is_dropped(backend: Backend) {
    let app = impatient_app(backend).await;
    let head = "POST /api/v1/auth/login HTTP/1.1\r\nHost: caravan\r\n\
                Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"user";
    let socket = connect(&app, head.as_bytes()).await;
    let (answer, _) = until_closed(socket).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "a client error or a plain close: {answer}"
    );
    assert!(!answer.contains("200 OK"));
}

pub async fn an_idle_keep_alive_connection_is_closed(backend: Backend) {
    let app = impatient_app(backend).await;
    let socket = connect(&app, b"GET /healthz HTTP/1.1\r\nHost: caravan\r\n\r\n").await;
    let (answer, _) = until_closed(socket).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

pub async fn stalled_connections_past_the_cap_hold_health_checks_only_until_their_deadline(
    backend: Backend,
) {
    let app = impatient_app(backend).await;
    // Five times the cap, each sending half a head and then nothing.
    let mut stalled = Vec::new();
    for _ in 0..40 {
        stalled.push(connect(&app, b"GET /healthz HTTP/1.1\r\n").await);
    }
    let client = reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap();
    let health = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    for socket in stalled {
        until_closed(socket).await;
    }
}

/// A 270-byte multipart body the fuzzer found (fuzz/fuzz_targets/multipart.rs): once it has
/// ended, the multipart parser waits for more forever; the stall deadline answers instead.
pub async fn a_multipart_body_the_parser_would_wait_on_forever_is_refused(backend: Backend) {
    let app = impatient_app(backend).await;
    const BODY: &[u8] = b"--caravanfuzzboundary\x0d\x0aContent-Disposition: form-data; name=\x22metadata\x22\x0d\x0a\x0d\x0a{\x22visibility\x22:b\x22pulic-}\x22\x0a\x0d-c\xa3ravanfuzzblic-}\x22\x0a\x0d-c\xa3rava\xeefuzzboundary\x0d\x0aContent-Disposition: fordm-ata; nent-Disposit f\x9blename=\x22model.onnx\x22\x0d\x0aContent-Type: applicatio\x04test\x0d\x0a--caravanfuzzbounAary--\x0d\x0a";
    let response = app
        .client
        .post(app.url("/api/v1/models/stuck/versions"))
        .bearer_auth(&app.admin_token)
        .header(
            "content-type",
            "multipart/form-data; boundary=caravanfuzzboundary",
        )
        .body(BODY)
        .timeout(PATIENCE)
        .send()
        .await
        .expect("an answer within the deadline");
    crate::support::assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "multipart",
    )
    .await;
    app.assert_nothing_stored().await;
}
