//! The Acumos onboarding API (`/onboarding-app/v2`): sessions for Acumos clients, bundles
//! pushed as `AcumosSession.push()` sends them (catalogued, never run), ONNX through
//! `advancedModel` (served natively), and every refusal in Acumos's error shape, with nothing
//! left behind.

use std::io::Write;

use reqwest::{StatusCode, multipart};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, acumos::zip_of, spawn_app};

pub(crate) const PROTO: &str = r#"syntax = "proto3";
package kQwErTyUiOpAsDfGhJkLzXcVbNmQwErT;
service Model {
  rpc add (AddIn) returns (AddOut);
}
message AddIn {
  int64 x = 1;
  int64 y = 2;
}
message AddOut {
  int64 value = 1;
}
"#;

fn metadata(name: &str) -> Value {
    json!({"schema": "acumos.schema.model:0.6.0", "name": name,
        "runtime": {"name": "python", "version": "3.9.18",
            "dependencies": {"pip": {"indexes": [], "requirements": [{"name": "dill", "version": "0.3.5.1"}]},
                             "conda": {"channels": [], "requirements": []}}},
        "methods": {"add": {"description": "Returns the sum of x and y",
            "input": {"name": "AddIn", "media_type": ["application/vnd.google.protobuf"], "metadata": {}, "description": ""},
            "output": {"name": "AddOut", "media_type": ["application/vnd.google.protobuf"], "metadata": {}, "description": ""}}}})
}

/// A model.zip like the Python client's (the pickle is opaque bytes: nothing reads it).
fn model_zip() -> Vec<u8> {
    zip_of(&[
        ("model.pkl", b"\x80\x04\x95opaque dill pickle"),
        (
            "context.json",
            br#"{"protobuf_package": "kQwErTyUiOpAsDfGhJkLzXcVbNmQwErT"}"#,
        ),
        ("scripts/user_provided/.keep", b""),
    ])
}

pub(crate) struct Bundle {
    model: Option<Vec<u8>>,
    metadata: Option<Vec<u8>>,
    schema: Option<Vec<u8>>,
    license: Option<Vec<u8>>,
}

impl Bundle {
    pub(crate) fn new(name: &str) -> Self {
        Bundle {
            model: Some(model_zip()),
            metadata: Some(metadata(name).to_string().into_bytes()),
            schema: Some(PROTO.as_bytes().to_vec()),
            license: None,
        }
    }

    /// The parts with the file names and content types the R client uses: neither matters.
    fn form(self) -> multipart::Form {
        let mut form = multipart::Form::new();
        for (part, file, bytes) in [
            ("model", "component.bin", self.model),
            ("metadata", "meta.json", self.metadata),
            ("schema", "component.proto", self.schema),
            ("license", "license.json", self.license),
        ] {
            if let Some(bytes) = bytes {
                let p = multipart::Part::bytes(bytes)
                    .file_name(file)
                    .mime_str("application/octet")
                    .unwrap();
                form = form.part(part, p);
            }
        }
        form
    }
}

pub(crate) async fn push(
    app: &TestApp,
    authorization: Option<&str>,
    bundle: Bundle,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/onboarding-app/v2/models"))
        .header("isCreateMicroservice", "true")
        .header("tracking_id", "3f1c6c0e-1d2b-4c3a-9e8f-7a6b5c4d3e2f")
        .multipart(bundle.form());
    if let Some(a) = authorization {
        request = request.header("Authorization", a);
    }
    request.send().await.unwrap()
}

pub(crate) async fn acumos_error(response: reqwest::Response, status: StatusCode, needle: &str) {
    let actual = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{body}");
    assert_eq!(body["status"], "ERROR", "{body}");
    assert!(body["errorCode"].is_string(), "{body}");
    let message = body["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} in {body}");
}

pub async fn auth_answers_a_jwt_in_the_body_and_the_header(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("alice").await;
    let response = app
        .client
        .post(app.url("/onboarding-app/v2/auth"))
        .json(&json!({"request_body": {"username": "alice", "password": "alice-password"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let header = response.headers()["jwtToken"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "SUCCESS");
    assert_eq!(body["jwtToken"], header);
    let (status, me) = app.get_json(Some(&header), "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "alice");

    let wrong = app
        .client
        .post(app.url("/onboarding-app/v2/auth"))
        .json(&json!({"request_body": {"username": "alice", "password": "nope-nope-nope"}}))
        .send()
        .await
        .unwrap();
    acumos_error(
        wrong,
        StatusCode::UNAUTHORIZED,
        "Username/Password is invalid",
    )
    .await;
    let malformed = app
        .client
        .post(app.url("/onboarding-app/v2/auth"))
        .body("username=alice")
        .send()
        .await
        .unwrap();
    acumos_error(malformed, StatusCode::BAD_REQUEST, "request_body").await;
}

pub async fn a_bundle_is_catalogued_with_its_signature_and_never_served(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.user("alice").await;
    let token = app.api_token(&session, &["read", "publish"]).await;
    let mut bundle = Bundle::new("adder");
    bundle.license = Some(br#"{"license": "Apache-2.0"}"#.to_vec());
    let response = push(&app, Some(&format!("alice:{token}")), bundle).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "SUCCESS", "{body}");
    assert_eq!(body["result"]["name"], "adder");
    assert_eq!(body["result"]["version"], "1");
    assert_eq!(body["trackingId"], "3f1c6c0e-1d2b-4c3a-9e8f-7a6b5c4d3e2f");
    let image = body["dockerImageUri"].as_str().unwrap();
    assert!(image.contains("adder") && image.ends_with(":v1"), "{image}");
    assert!(
        body["deploymentBundle"]
            .as_str()
            .unwrap()
            .ends_with("/api/v1/models/adder/versions/1/deployment?target=acumos"),
        "{body}"
    );

    let (status, version) = app
        .get_json(Some(&token), "/api/v1/models/adder/versions/1")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(version["format"], "acumos_bundle");
    assert_eq!(version["acumos"]["methods"][0]["name"], "add");
    assert_eq!(version["acumos"]["methods"][0]["input"], "AddIn");
    assert_eq!(version["acumos"]["proto"], PROTO);
    assert_eq!(version["acumos"]["runtime"], "python 3.9.18");
    assert_eq!(version["acumos"]["requirements"], json!(["dill==0.3.5.1"]));
    assert_eq!(version["acumos"]["license"], "Apache-2.0");
    let (_, model) = app.get_json(Some(&token), "/api/v1/models/adder").await;
    assert_eq!(model["license"], "Apache-2.0", "{model}");

    // The download is the bundle's parts as pushed.
    let download = app
        .get(Some(&token), "/api/v1/models/adder/versions/1/artifact")
        .await;
    assert_eq!(download.headers()["content-type"], "application/zip");
    let bytes = download.bytes().await.unwrap();
    let mut stored = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut read = |name: &str| {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut stored.by_name(name).unwrap(), &mut out).unwrap();
        out
    };
    assert_eq!(read("model.zip"), model_zip());
    assert_eq!(read("model.proto"), PROTO.as_bytes());
    assert_eq!(read("license.json"), br#"{"license": "Apache-2.0"}"#);

    // The same bundle again is the same version; a changed one is the next.
    let again = push(&app, Some(&format!("alice:{token}")), Bundle::new("adder")).await;
    assert_eq!(
        again.status(),
        StatusCode::CREATED,
        "no license: other bytes"
    );
    let again = push(&app, Some(&format!("alice:{token}")), Bundle::new("adder")).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["result"]["version"], "2");

    // Caravan does not run it, and says why.
    let infer = app
        .client
        .post(app.url("/v2/models/adder/infer"))
        .bearer_auth(&token)
        .json(&json!({"inputs": [{"name": "x", "shape": [1], "datatype": "INT64", "data": [1]}]}))
        .send()
        .await
        .unwrap();
    crate::support::assert_error(infer, StatusCode::CONFLICT, "conflict", "pickled Python").await;
    let method = app
        .client
        .post(app.url("/acumos/models/adder/model/methods/add"))
        .bearer_auth(&token)
        .json(&json!({"x": 1, "y": 2}))
        .send()
        .await
        .unwrap();
    crate::support::assert_error(method, StatusCode::CONFLICT, "conflict", "never unpickles").await;
    let proto = app
        .get(
            Some(&token),
            "/acumos/models/adder/model/artifacts/protobuf",
        )
        .await;
    assert_eq!(proto.text().await.unwrap(), PROTO);
    // Searchable like any model.
    let (_, found) = app.get_json(Some(&token), "/api/v1/models?q=adder").await;
    assert_eq!(found["items"][0]["name"], "adder", "{found}");
}

pub async fn every_form_of_acumos_authorization_is_read(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.user("alice").await;
    let token = app.api_token(&session, &["publish"]).await;
    for (n, authorization) in [
        format!("alice:{token}"),
        session.clone(),
        format!("Bearer {token}"),
        token.clone(),
    ]
    .into_iter()
    .enumerate()
    {
        let response = push(&app, Some(&authorization), Bundle::new(&format!("m{n}"))).await;
        assert_eq!(response.status(), StatusCode::CREATED, "form {n}");
    }
    let reader = app.api_token(&session, &["read"]).await;
    app.user("bob").await;
    for (authorization, status, needle) in [
        (None, StatusCode::UNAUTHORIZED, "Authorization is missing"),
        (
            Some(format!("mallory:{token}")),
            StatusCode::UNAUTHORIZED,
            "another user",
        ),
        (
            Some(format!("bob:{token}")),
            StatusCode::UNAUTHORIZED,
            "another user",
        ),
        (
            Some("alice:cvn_wrong".to_owned()),
            StatusCode::UNAUTHORIZED,
            "not valid",
        ),
        (
            Some(format!("alice:{reader}")),
            StatusCode::FORBIDDEN,
            "publish",
        ),
        (
            Some("alice:".to_owned()),
            StatusCode::UNAUTHORIZED,
            "no token",
        ),
    ] {
        let response = push(&app, authorization.as_deref(), Bundle::new("refused")).await;
        acumos_error(response, status, needle).await;
    }
    let (status, _) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/refused")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

pub async fn bad_bundles_are_400_and_leave_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let auth = format!("Bearer {}", app.admin_token);
    let bomb = {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().large_file(true);
        zip.start_file("model.pkl", options).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..300 {
            zip.write_all(&chunk).unwrap();
        }
        zip.finish().unwrap().into_inner()
    };
    let proto_without_add = PROTO.replace("rpc add", "rpc sum");
    type Change = Box<dyn Fn(&mut Bundle)>;
    let cases: Vec<(&str, Change, &str)> = vec![
        ("no metadata", Box::new(|b| b.metadata = None), "'metadata'"),
        ("no schema", Box::new(|b| b.schema = None), "'schema'"),
        ("no model", Box::new(|b| b.model = None), "'model'"),
        (
            "metadata not JSON",
            Box::new(|b| b.metadata = Some(b"{nope".to_vec())),
            "not JSON",
        ),
        (
            "unknown schema",
            Box::new(|b| {
                let mut m = metadata("adder");
                m["schema"] = json!("acumos.schema.model:0.9.0");
                b.metadata = Some(m.to_string().into_bytes());
            }),
            "0.4.0 to 0.6.0",
        ),
        (
            "proto does not parse",
            Box::new(|b| b.schema = Some(b"syntax = \"proto3\"; message {".to_vec())),
            "does not compile",
        ),
        (
            "proto lacks the method",
            Box::new(move |b| b.schema = Some(proto_without_add.clone().into_bytes())),
            "no rpc \"add\"",
        ),
        (
            "not a zip",
            Box::new(|b| b.model = Some(b"PK\x03\x04 but not really".to_vec())),
            "not a zip",
        ),
        (
            "escaping path",
            Box::new(|b| b.model = Some(zip_of(&[("../../etc/cron.d/x", b"x")]))),
            "leaves its directory",
        ),
        (
            "zip bomb",
            Box::new(move |b| b.model = Some(bomb.clone())),
            "zip bomb",
        ),
        (
            "oversize metadata",
            Box::new(|b| b.metadata = Some(vec![b' '; 600 << 10])),
            "metadata",
        ),
        (
            "bad license",
            Box::new(|b| b.license = Some(br#"{"keyword": "x"}"#.to_vec())),
            "license",
        ),
        (
            "bad name",
            Box::new(|b| b.metadata = Some(metadata("has space/slash").to_string().into_bytes())),
            "not a model name",
        ),
    ];
    for (case, change, needle) in cases {
        let mut bundle = Bundle::new("adder");
        change(&mut bundle);
        let response = push(&app, Some(&auth), bundle).await;
        let status = response.status();
        assert!(status == StatusCode::BAD_REQUEST, "{case}: {status}");
        acumos_error(response, StatusCode::BAD_REQUEST, needle).await;
    }
    app.assert_nothing_stored().await;
}
