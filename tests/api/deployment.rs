//! Deployment bundles: every target renders a `.tar.gz` that runs the version with
//! `caravan runner` (the files' contents are validated by scripts/check-deploy.sh with
//! hadolint, compose, helm and kubernetes-validate); bad targets, aliases and access refused.

use std::{collections::BTreeMap, io::Read};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_error, spawn_app};

/// The files of a bundle, by path (without the bundle's directory).
async fn bundle(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
) -> (String, BTreeMap<String, String>) {
    let response = app.get(token, path).await;
    let status = response.status();
    assert_eq!(
        status,
        StatusCode::OK,
        "{path}: {:?}",
        response.text().await
    );
    assert_eq!(response.headers()["content-type"], "application/gzip");
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = response.bytes().await.unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut files = BTreeMap::new();
    let mut dirs = std::collections::BTreeSet::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let (dir, rest) = path
            .split_once('/')
            .expect("everything is under one directory");
        dirs.insert(dir.to_owned());
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        files.insert(rest.to_owned(), text);
    }
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let dir = dirs.into_iter().next().unwrap();
    assert!(
        disposition.contains(&format!("{dir}.tar.gz")),
        "{disposition}"
    );
    (dir, files)
}

fn paths(files: &BTreeMap<String, String>) -> Vec<&str> {
    files.keys().map(String::as_str).collect()
}

pub async fn every_target_bundles_the_version_baked_in_by_its_sha256(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token.clone();
    let pushed = app.push_ok(&token, "fraud", "affine.onnx", None).await;
    let sha = pushed["sha256"].as_str().unwrap();
    let footprint = pushed["footprint_bytes"]
        .as_u64()
        .expect("the footprint is measured");
    assert!(footprint > 0, "{pushed}");
    let base = "/api/v1/models/fraud/versions/1/deployment?target=";

    let (dir, docker) = bundle(&app, Some(&token), &format!("{base}docker")).await;
    assert_eq!(dir, "fraud-v1-docker");
    assert_eq!(paths(&docker), [".dockerignore", "Dockerfile", "README.md"]);
    let dockerfile = &docker["Dockerfile"];
    assert!(
        dockerfile.contains(&format!(
            "echo \"{sha}  /models/model.onnx\" | sha256sum -c -"
        )),
        "{dockerfile}"
    );
    for needle in [
        "USER 10001:10001",
        "HEALTHCHECK",
        "/readyz",
        "CMD [\"runner\"]",
        "CARAVAN_RUNNER_MODEL=/models/model.onnx",
    ] {
        assert!(dockerfile.contains(needle), "{needle} in {dockerfile}");
    }
    let readme = &docker["README.md"];
    assert!(
        readme.contains(&format!(
            "{}/api/v1/models/fraud/versions/1/artifact",
            app.base
        )),
        "{readme}"
    );
    assert!(readme.contains("/v2/models/fraud/infer"), "{readme}");

    let (_, compose) = bundle(&app, Some(&token), &format!("{base}compose")).await;
    assert_eq!(
        paths(&compose),
        [".dockerignore", "Dockerfile", "README.md", "compose.yaml"]
    );
    for needle in ["restart: unless-stopped", "healthcheck:", "read_only: true"] {
        assert!(compose["compose.yaml"].contains(needle), "{needle}");
    }

    let (_, kube) = bundle(&app, Some(&token), &format!("{base}kubernetes")).await;
    assert_eq!(
        paths(&kube),
        [
            ".dockerignore",
            "Dockerfile",
            "README.md",
            "deployment.yaml",
            "hpa.yaml",
            "service.yaml"
        ]
    );
    let deployment = &kube["deployment.yaml"];
    for needle in [
        "name: \"fraud-v1\"",
        "image: \"caravan-runner-fraud:v1\"",
        "runAsNonRoot: true",
        "readinessProbe",
        "livenessProbe",
        "readOnlyRootFilesystem: true",
    ] {
        assert!(deployment.contains(needle), "{needle} in {deployment}");
    }
    // Requests: the runner plus two sessions of the measured footprint, in MiB.
    let footprint_mib = footprint.div_ceil(1 << 20);
    let request = (48 + 2 * footprint_mib).div_ceil(16) * 16;
    assert!(
        deployment.contains(&format!("memory: \"{request}Mi\"")),
        "{request} in {deployment}"
    );
    assert!(deployment.contains(&format!(
        "memory: \"{}Mi\"",
        (request + 256).div_ceil(16) * 16
    )));

    let (_, helm) = bundle(&app, Some(&token), &format!("{base}helm")).await;
    for file in [
        "values.yaml",
        "caravan-runner/Chart.yaml",
        "caravan-runner/templates/deployment.yaml",
    ] {
        assert!(helm.contains_key(file), "{file} in {:?}", paths(&helm));
    }
    assert!(helm["values.yaml"].contains("repository: \"caravan-runner-fraud\""));
    assert_eq!(
        helm["caravan-runner/values.yaml"],
        include_str!("../../deploy/helm/caravan-runner/values.yaml"),
        "the bundle ships the repository's chart"
    );

    let (_, kserve) = bundle(&app, Some(&token), &format!("{base}kserve")).await;
    let service = &kserve["inferenceservice.yaml"];
    assert!(
        service.contains("kind: InferenceService") && service.contains("kserve-container"),
        "{service}"
    );

    // The same version always gives the same bytes.
    let once = app
        .get(Some(&token), &format!("{base}kubernetes"))
        .await
        .bytes()
        .await
        .unwrap();
    let twice = app
        .get(Some(&token), &format!("{base}kubernetes"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(once, twice);
}

pub async fn a_following_bundle_names_the_alias_and_bakes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.admin_token.clone();
    app.push_ok(&token, "fraud", "affine.onnx", None).await;
    let moved = app
        .set_alias(&token, "fraud", "champion", json!({ "version": 1 }))
        .await;
    assert!(moved.status().is_success());
    let follow = format!("{}/api/v1/models/fraud/aliases/champion", app.base);

    let (dir, kube) = bundle(
        &app,
        Some(&token),
        "/api/v1/models/fraud/versions/champion/deployment?target=kubernetes&follow=champion",
    )
    .await;
    assert_eq!(dir, "fraud-champion-kubernetes");
    assert_eq!(
        paths(&kube),
        ["README.md", "deployment.yaml", "hpa.yaml", "service.yaml"]
    );
    let deployment = &kube["deployment.yaml"];
    assert!(
        deployment.contains(&format!("value: \"{follow}\"")),
        "{deployment}"
    );
    assert!(
        deployment.contains("secretName: \"fraud-champion-token\""),
        "{deployment}"
    );
    assert!(
        deployment.contains(&format!("image: \"caravan:{}\"", env!("CARGO_PKG_VERSION"))),
        "{deployment}"
    );
    assert!(!deployment.contains("CARAVAN_RUNNER_MODEL"));

    let (_, docker) = bundle(
        &app,
        Some(&token),
        "/api/v1/models/fraud/versions/1/deployment?target=docker&follow=champion",
    )
    .await;
    assert_eq!(paths(&docker), ["Dockerfile", "README.md"]);
    assert!(docker["Dockerfile"].contains(&format!("CARAVAN_RUNNER_FOLLOW=\"{follow}\"")));
    assert!(!docker["Dockerfile"].contains("COPY model.onnx"));
}

pub async fn unknown_targets_missing_aliases_and_hidden_models_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin_token.clone();
    let metadata = json!({ "visibility": "private" }).to_string();
    app.push_ok(&admin, "secret-model", "affine.onnx", Some(&metadata))
        .await;
    app.push_ok(&admin, "open-model", "affine.onnx", None).await;
    let bob = app.user("bob").await;
    let path =
        |model: &str, query: &str| format!("/api/v1/models/{model}/versions/1/deployment?{query}");

    let unknown = app
        .get(Some(&admin), &path("open-model", "target=nomad"))
        .await;
    assert_error(
        unknown,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "docker, compose, kubernetes, helm, kserve",
    )
    .await;
    // Oversized values are refused without being echoed whole.
    let long = "k".repeat(10_000);
    let oversized = app
        .get(Some(&admin), &path("open-model", &format!("target={long}")))
        .await;
    let body = assert_error(
        oversized,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "kserve",
    )
    .await;
    assert!(body.to_string().len() < 400, "{body}");
    let oversized_alias = app
        .get(
            Some(&admin),
            &path("open-model", &format!("target=docker&follow=a{long}")),
        )
        .await;
    assert_error(
        oversized_alias,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "alias",
    )
    .await;
    let missing = app.get(Some(&admin), &path("open-model", "")).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let bad_alias = app
        .get(
            Some(&admin),
            &path("open-model", "target=docker&follow=Bad%20Alias"),
        )
        .await;
    assert_error(
        bad_alias,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "alias",
    )
    .await;
    let no_alias = app
        .get(
            Some(&admin),
            &path("open-model", "target=docker&follow=champion"),
        )
        .await;
    assert_eq!(no_alias.status(), StatusCode::NOT_FOUND);
    let no_version = app
        .get(
            Some(&admin),
            "/api/v1/models/open-model/versions/9/deployment?target=docker",
        )
        .await;
    assert_eq!(no_version.status(), StatusCode::NOT_FOUND);

    // A private model is not there for someone without access, whoever asks and however.
    for token in [None, Some(bob.as_str())] {
        for query in [
            "target=docker",
            "target=nomad",
            "target=helm&follow=champion",
        ] {
            let hidden = app.get(token, &path("secret-model", query)).await;
            let status = hidden.status();
            let body: Value = hidden.json().await.unwrap_or(Value::Null);
            // An unknown target is refused before the model is looked up: that says nothing
            // about the model.
            let expected = if query == "target=nomad" {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(status, expected, "{query}: {body}");
            assert!(!body.to_string().contains("private"), "{body}");
        }
    }
    bundle(&app, Some(&admin), &path("secret-model", "target=docker")).await;
}

/// Hostile input that reaches files: an input name with quotes and newlines stays inside the
/// README's shell quoting, and a forged Host header never reaches a URL.
pub async fn names_from_the_model_and_the_request_cannot_break_out_of_their_quoting(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let token = app.admin_token.clone();
    let model =
        crate::support::onnx::identity_with_input_name("x' ; rm -rf / ; echo '\n\"quoted\"");
    let pushed = app.push(&token, "quoting", model, None).await;
    assert!(pushed.status().is_success(), "{:?}", pushed.text().await);
    let response = app
        .client
        .get(app.url("/api/v1/models/quoting/versions/1/deployment?target=docker"))
        .bearer_auth(&token)
        .header("host", "evil.example; rm -rf /")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut readme = String::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().ends_with("README.md") {
            entry.read_to_string(&mut readme).unwrap();
        }
    }
    assert!(!readme.contains("evil.example"), "{readme}");
    assert!(
        readme.contains("http://localhost/api/v1/models/quoting"),
        "{readme}"
    );
    let line = readme
        .lines()
        .find(|l| l.trim_start().starts_with("-d "))
        .expect("an example request");
    // The shell sees one word: what is inside the quotes decodes back to the JSON request.
    let word = line.trim_start().strip_prefix("-d ").unwrap();
    let unquoted = word
        .strip_prefix('\'')
        .and_then(|w| w.strip_suffix('\''))
        .unwrap()
        .replace(r"'\''", "'");
    let request: Value = serde_json::from_str(&unquoted).unwrap();
    assert_eq!(
        request["inputs"][0]["name"],
        "x' ; rm -rf / ; echo '\n\"quoted\""
    );
}
