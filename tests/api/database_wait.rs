//! `caravan serve` started before its PostgreSQL: it waits (retrying with backoff for
//! `database.connect_wait_secs`) instead of exiting, and gives up with a clear error when the
//! database never comes.

use std::net::TcpListener;
use std::time::Duration;

use caravan::{Application, Settings};
use caravan_catalog::testing::TestPostgres;

use crate::support::caravan_binary;

fn settings_for(url: &str, wait_secs: u64) -> (Settings, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::defaults();
    settings.data_dir = dir.path().join("data");
    settings.http.workers = 1;
    settings.auth.jwt_secret = crate::support::JWT_SECRET.to_owned().into();
    settings.onboarding.validator = caravan_binary().display().to_string();
    settings.database.url = url.to_owned().into();
    settings.database.connect_wait_secs = wait_secs;
    (settings, dir)
}

/// A loopback port nothing listens on (yet).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Forwards every connection to `port` on to PostgreSQL's, from when it is called.
async fn forward(listener: tokio::net::TcpListener, to: String) {
    loop {
        let (mut inbound, _) = listener.accept().await.unwrap();
        let to = to.clone();
        tokio::spawn(async move {
            let mut outbound = tokio::net::TcpStream::connect(to).await.unwrap();
            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_that_comes_up_late_is_waited_for() {
    let pg = TestPostgres::create().await;
    let real = pg
        .url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let port = free_port();
    let late = pg.url.replacen(&real, &format!("127.0.0.1:{port}"), 1);
    let (settings, _dir) = settings_for(&late, 60);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let building = tokio::spawn(Application::build_with_listener(settings, listener));
    // Refused connections for a while: the build keeps trying.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !building.is_finished(),
        "the server gave up on a database that is only late"
    );
    let up = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(forward(up, real));
    let app = tokio::time::timeout(Duration::from_secs(60), building)
        .await
        .expect("the server starts once the database answers")
        .unwrap()
        .expect("the app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    // Ready once the database answers and the versions aliases point to are loaded, which
    // happens after the start: polled, with a deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
        if ready.status() == reqwest::StatusCode::OK {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not ready within 30 s: {}",
            ready.text().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_that_never_comes_fails_the_start_with_the_reason() {
    let url = format!(
        "postgres://caravan:caravan@127.0.0.1:{}/caravan",
        free_port()
    );
    let (settings, _dir) = settings_for(&url, 2);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let started = std::time::Instant::now();
    let error = match Application::build_with_listener(settings, listener).await {
        Ok(_) => panic!("no database, yet the server started"),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains("catalog database"), "{error}");
    assert!(
        !error.contains("caravan:caravan"),
        "no password in the error: {error}"
    );
    // It tried for the configured wait, not once and not forever.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
