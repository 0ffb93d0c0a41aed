//! Datasets over REST.

use reqwest::StatusCode;

use crate::pipeline_support::{app, csv, dataset, upload_dataset};
use crate::support::{Backend, assert_error};

pub async fn a_csv_becomes_a_version_with_its_schema_preview_and_identical_bytes(backend: Backend) {
    let app = app(backend).await;
    let text = csv(50, 1, false);
    let first = dataset(&app, "telemetry", text.clone()).await;
    assert_eq!(first["version"], 1);
    assert_eq!(first["schema"]["rows"], 50);
    let kinds: Vec<&str> = first["schema"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["float", "float", "float", "float", "integer"]);
    let again = upload_dataset(&app, "telemetry", text.clone()).await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "identical bytes are the same version"
    );
    let second = dataset(&app, "telemetry", csv(10, 2, false)).await;
    assert_eq!(second["version"], 2);

    let (_, preview) = app
        .get_json(
            Some(&app.admin_token),
            "/api/v1/datasets/telemetry/versions/1/preview?rows=3",
        )
        .await;
    assert_eq!(preview["columns"][4], "label");
    assert_eq!(preview["rows"].as_array().unwrap().len(), 3);
    let content = app
        .get(
            Some(&app.admin_token),
            "/api/v1/datasets/telemetry/versions/1/content",
        )
        .await;
    assert_eq!(
        content.text().await.unwrap(),
        text,
        "byte-identical download"
    );
    let (_, details) = app
        .get_json(Some(&app.admin_token), "/api/v1/datasets/telemetry")
        .await;
    assert_eq!(details["latest_version"], 2);
    let (status, latest) = app
        .get_json(
            Some(&app.admin_token),
            "/api/v1/datasets/telemetry/versions/latest",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(latest["schema"]["rows"], 10);
    let anonymous = app.get(None, "/api/v1/datasets").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

pub async fn ragged_rows_empty_files_and_non_owners_are_refused_and_nothing_is_stored(
    backend: Backend,
) {
    let app = app(backend).await;
    for (text, needle) in [
        ("a,b,label\n1,2,0\n3,4\n", "line 3 has 2 fields"),
        ("", "no header"),
        ("a,b\n", "no rows"),
        ("a,a\n1,2\n", "appears twice"),
    ] {
        let response = upload_dataset(&app, "broken", text.to_owned()).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request", needle).await;
    }
    let (status, _) = app
        .get_json(Some(&app.admin_token), "/api/v1/datasets/broken")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing half-written");
    app.assert_nothing_stored().await;

    dataset(&app, "owned", csv(5, 3, false)).await;
    let other = app.user("other").await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"a\n1\n".to_vec()).file_name("x.csv"),
    );
    let response = app
        .client
        .post(app.url("/api/v1/datasets/owned/versions"))
        .bearer_auth(&other)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::FORBIDDEN, "forbidden", "owner").await;
    let (_, details) = app
        .get_json(Some(&app.admin_token), "/api/v1/datasets/owned")
        .await;
    assert_eq!(
        details["versions"].as_array().map(Vec::len),
        Some(1),
        "{details}"
    );
    let bad_name = upload_dataset(&app, "Bad..Name", "a\n1\n".into()).await;
    assert_eq!(bad_name.status(), StatusCode::BAD_REQUEST);
}
