//! Hostile strings in the web UI: a sign-in link cannot send anyone off the site, and a model
//! page's snippets, pasted into a shell or Python, run only the request they describe however
//! the publisher named the model's tensors.

use std::path::Path;

use prost::Message;
use reqwest::{StatusCode, header};

use super::ui_client::UiClient;
use crate::support::{ADMIN_PASSWORD, Backend, TestApp, onnx, spawn_app};

pub async fn sign_in_redirects_only_to_paths_on_this_site(backend: Backend) {
    let app = spawn_app(backend).await;
    for (next, expected) in [
        ("/models/fraud?tab=versions", "/models/fraud?tab=versions"),
        ("/\t/evil.example/", "/"),
        ("/\n/evil.example/", "/"),
        ("/\r\nSet-Cookie: a=b", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("\\/evil.example/", "/"),
        ("https://evil.example/", "/"),
        (" /evil", "/"),
        ("/\u{7f}/evil.example/", "/"),
        ("", "/"),
    ] {
        let mut ui = UiClient::new(&app.base);
        ui.get("/login").await;
        let csrf = ui.csrf.clone();
        let page = ui
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("username", "admin"),
                    ("password", ADMIN_PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "{next:?}: {}",
            page.html
        );
        assert_eq!(page.headers[header::LOCATION], expected, "{next:?}");
        // Signed in, the login page redirects at once, by the same rule.
        let encoded = super::ui_client::form_body(&[("next", next)]);
        let again = ui.get(&format!("/login?{encoded}")).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(again.headers[header::LOCATION], expected, "{next:?}");
    }
}

/// An input name that runs commands if a snippet pastes it unquoted into a shell or Python.
const HOSTILE_INPUT: &str =
    "x'$(touch pwned-shell)`touch pwned-tick`'\"); open(\"pwned-python\", \"w\"); (\"\\";

fn identity_model(input: &str) -> Vec<u8> {
    use onnx::{data_type, graph, model, node, tensor_info};
    let g = graph(
        "hostile-names",
        vec![node("Identity", &[input], &["y"])],
        vec![tensor_info(input, data_type::FLOAT, &[Some(1), Some(4)])],
        vec![tensor_info("y", data_type::FLOAT, &[Some(1), Some(4)])],
        vec![],
    );
    model(g).encode_to_vec()
}

/// The text of `<code id="{id}">` on the page, unescaped.
fn code_block(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no {id}"));
    let rest = &html[start + id.len() + 6..];
    let text = &rest[..rest.find("</code>").unwrap()];
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

async fn run_in(dir: &Path, program: &str, args: &[&str], app: &TestApp) -> String {
    let output = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("CARAVAN_TOKEN", &app.admin_token)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{program} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

pub async fn pasted_snippets_run_only_the_request_whatever_the_tensor_names(backend: Backend) {
    let app = spawn_app(backend).await;
    let pushed = app
        .push(
            &app.admin_token,
            "hostile-names",
            identity_model(HOSTILE_INPUT),
            Some(r#"{"visibility":"public"}"#),
        )
        .await;
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let mut ui = UiClient::new(&app.base);
    let page = ui.get("/models/hostile-names").await;
    assert_eq!(page.status, StatusCode::OK);
    let curl = code_block(&page.html, "snippet-curl");
    let python = code_block(&page.html, "snippet-python");
    assert!(curl.contains("pwned-shell") && python.contains("pwned-python"));

    let dir = tempfile::tempdir().unwrap();
    let answer = run_in(dir.path(), "bash", &["-c", &curl], &app).await;
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("curl printed JSON");
    assert_eq!(answer["outputs"][0]["name"], "y", "{answer}");

    let interpreter = std::env::var("CARAVAN_TEST_PYTHON")
        .unwrap_or_else(|_| format!("{}/../.venv/tests/bin/python", env!("CARGO_MANIFEST_DIR")));
    let printed = run_in(dir.path(), &interpreter, &["-c", &python], &app).await;
    assert!(printed.contains("'name': 'y'"), "{printed}");

    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "the snippets ran something else: {left:?}");
}
