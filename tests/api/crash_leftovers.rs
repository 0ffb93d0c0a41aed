//! A server killed mid-upload (SIGKILL: no destructor runs) leaves its half-received staging
//! file behind; the next server to start on the same data directory removes it.

use std::{
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use caravan_catalog::testing::TestPostgres;
use futures::StreamExt;
use reqwest::multipart;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{ADMIN_PASSWORD, Backend, JWT_SECRET, caravan_binary, spawn_app_with};

/// Upload files under a staging directory (each process's lock files are not uploads).
fn staged(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| match e.path() {
            p if p.is_dir() => staged(&p),
            p if p.extension().is_some_and(|x| x == "lock") => Vec::new(),
            p => vec![p],
        })
        .collect()
}

pub async fn a_killed_servers_staging_leftovers_are_removed_at_the_next_start(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(TestPostgres::create().await),
    };
    let mut command = tokio::process::Command::new(caravan_binary());
    command
        .arg("serve")
        .env("CARAVAN__DATA_DIR", &data_dir)
        .env("CARAVAN__HTTP__BIND", "127.0.0.1:0")
        .env("CARAVAN__LOG__FORMAT", "json")
        .env("CARAVAN__AUTH__JWT_SECRET", JWT_SECRET)
        .env("CARAVAN_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(pg) = &pg {
        command.env("CARAVAN__DATABASE__URL", &pg.url);
    }
    let mut server = command.spawn().unwrap();
    let port = listening_port(&mut server).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let token = admin_token(&client, &base).await;

    // An upload that sends 4 MiB (more than the staging write buffer), then nothing.
    let first = futures::stream::once(async { Ok::<_, std::io::Error>(vec![7u8; 4 << 20]) });
    let body = first.chain(futures::stream::pending());
    let part = multipart::Part::stream(reqwest::Body::wrap_stream(body)).file_name("model.onnx");
    let upload = tokio::spawn(
        client
            .post(format!("{base}/api/v1/models/killed/versions"))
            .bearer_auth(&token)
            .multipart(multipart::Form::new().part("model", part))
            .send(),
    );
    let staging = data_dir.join("staging");
    let deadline = Instant::now() + Duration::from_secs(30);
    while staged(&staging)
        .iter()
        .all(|f| f.metadata().map_or(0, |m| m.len()) == 0)
    {
        assert!(
            Instant::now() < deadline,
            "the upload never reached staging"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    upload.abort();
    let left = staged(&staging);
    assert!(!left.is_empty(), "the killed server left its upload");

    let database = pg.as_ref().map(|pg| pg.url.clone());
    let next = spawn_app_with(backend, move |s| {
        s.data_dir = data_dir;
        if let Some(url) = database {
            s.database.url = url.into();
        }
    })
    .await;
    assert!(
        next.staged_files().is_empty(),
        "the next start removed {left:?}, left {:?}",
        next.staged_files()
    );
}

/// A session token of the bootstrap admin of a server started as a process.
pub(crate) async fn admin_token(client: &reqwest::Client, base: &str) -> String {
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    login["token"].as_str().unwrap().to_owned()
}

/// The port from the server's "Caravan is listening" log line (JSON logs).
pub(crate) async fn listening_port(server: &mut tokio::process::Child) -> u16 {
    let stdout = server.stdout.take().unwrap();
    let stderr = server.stderr.take().unwrap();
    let mut lines = futures::stream::select(
        tokio_stream_lines(BufReader::new(stdout)),
        tokio_stream_lines(BufReader::new(stderr)),
    );
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next().await {
            if let Ok(entry) = serde_json::from_str::<Value>(&line)
                && entry["fields"]["message"] == "Caravan is listening"
            {
                return entry["fields"]["port"].as_u64().unwrap() as u16;
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server did not start listening within a minute");
    // Keep reading, so that the server never blocks on a full pipe.
    tokio::spawn(async move { while lines.next().await.is_some() {} });
    found
}

fn tokio_stream_lines(
    reader: impl tokio::io::AsyncBufRead + Unpin + Send + 'static,
) -> futures::stream::BoxStream<'static, String> {
    Box::pin(futures::stream::unfold(
        reader.lines(),
        |mut lines| async move { lines.next_line().await.ok().flatten().map(|l| (l, lines)) },
    ))
}
