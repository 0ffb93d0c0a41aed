//! Bad uploads: each gets a clear 4xx and leaves no row, no blob and no staging file.

use reqwest::{StatusCode, multipart};

use crate::support::{
    Backend, assert_error, fixture, hostile::external_data_models, spawn_app, spawn_app_with,
};

async fn refused(backend: Backend, bytes: Vec<u8>, needle: &str) {
    let app = spawn_app(backend).await;
    let response = app.push(&app.admin_token, "bad", bytes, None).await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "model_refused",
        needle,
    )
    .await;
    app.assert_nothing_stored().await;
}

pub async fn an_empty_file_is_refused_and_nothing_is_stored(backend: Backend) {
    refused(backend, Vec::new(), "empty").await;
}

pub async fn a_text_file_named_onnx_is_refused_and_nothing_is_stored(backend: Backend) {
    refused(
        backend,
        b"name,score\nalice,3\n".to_vec(),
        "not an ONNX model",
    )
    .await;
}

pub async fn a_truncated_onnx_file_is_refused_and_nothing_is_stored(backend: Backend) {
    let whole = fixture("affine.onnx");
    refused(
        backend,
        whole[..whole.len() * 2 / 3].to_vec(),
        "not an ONNX model",
    )
    .await;
}

pub async fn a_protobuf_the_runtime_refuses_is_refused_and_nothing_is_stored(backend: Backend) {
    refused(
        backend,
        fixture("unknown_op.onnx"),
        "ONNX Runtime could not load the model",
    )
    .await;
}

pub async fn a_zipmap_output_is_refused_with_what_to_change(backend: Backend) {
    refused(backend, fixture("zipmap.onnx"), "zipmap").await;
}

pub async fn external_data_is_refused_with_what_to_change(backend: Backend) {
    refused(
        backend,
        fixture("external_data.onnx"),
        "save_as_external_data=False",
    )
    .await;
}

/// The server's own database, named by every form ONNX Runtime would resolve (absolute, and
/// relative to the server's working directory, which is where a model loaded from memory
/// resolves it), from every place a tensor can sit: each push is refused, nothing of the file
/// comes back, and nothing is stored.
pub async fn external_data_naming_a_server_file_is_refused_from_every_place(backend: Backend) {
    let app = spawn_app(backend).await;
    // SQLite's database file; on PostgreSQL, a file of the same kind in the data directory.
    let target = app.data_dir.join("caravan.db");
    if !target.exists() {
        std::fs::write(&target, b"SQLite format 3\0 secret bytes of the server").unwrap();
    }
    let header = &std::fs::read(&target).unwrap()[..15];
    assert_eq!(header, b"SQLite format 3");
    let cwd = std::env::current_dir().unwrap();
    let up = "../".repeat(cwd.components().count().saturating_sub(1));
    let absolute = target.display().to_string();
    let relative = format!("{up}{}", absolute.trim_start_matches('/'));
    let dotted = format!("./{relative}");
    for location in [&absolute, &relative, &dotted] {
        for (form, bytes) in external_data_models(location) {
            let response = app.push(&app.admin_token, "leak", bytes, None).await;
            let status = response.status();
            let body = response.text().await.unwrap();
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{form}, {location}: {body}"
            );
            assert!(body.contains("external file"), "{form}: {body}");
            assert!(!body.contains("SQLite"), "{form} echoed the file: {body}");
            // The file's first bytes as little-endian floats, as a signature would carry them.
            let as_float = f32::from_le_bytes(header[..4].try_into().unwrap());
            assert!(!body.contains(&format!("{as_float}")), "{form}: {body}");
        }
    }
    app.assert_nothing_stored().await;
}

pub async fn a_file_over_the_size_limit_is_refused_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.onboarding.max_model_bytes = 64 << 10).await;
    let response = app
        .push(&app.admin_token, "big", vec![7u8; 1 << 20], None)
        .await;
    assert_error(
        response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "65536 bytes",
    )
    .await;
    app.assert_nothing_stored().await;
}

pub async fn multipart_without_the_model_part_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let form = multipart::Form::new().text("metadata", "{}");
    let response = app.push_form(&app.admin_token, "m", form).await;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "'model'",
    )
    .await;
    let wrong_part =
        multipart::Form::new().part("file", multipart::Part::bytes(fixture("affine.onnx")));
    let response = app.push_form(&app.admin_token, "m", wrong_part).await;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "unexpected multipart part",
    )
    .await;
    let not_multipart = app
        .client
        .post(app.url("/api/v1/models/m/versions"))
        .bearer_auth(&app.admin_token)
        .body(fixture("affine.onnx"))
        .send()
        .await
        .unwrap();
    assert_eq!(not_multipart.status(), StatusCode::BAD_REQUEST);
    app.assert_nothing_stored().await;
}

pub async fn invalid_model_names_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let too_long = "x".repeat(101);
    for (name, needle) in [
        ("a..b", "'..'"),
        ("peer:model", "reserved"),
        ("Upper", "a-z"),
        ("-dash", "start with"),
        ("sp%20ace", "a-z"),
        ("a%2Fb", "a-z"),
        (too_long.as_str(), "at most 100"),
    ] {
        let response = app
            .push(&app.admin_token, name, fixture("affine.onnx"), None)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request", needle).await;
    }
    // HTTP clients resolve `..` segments before sending; a raw request still sends one.
    for path in [
        "/api/v1/models/../versions",
        "/api/v1/models/%2E%2E/versions",
    ] {
        let (status, body) = app.raw_post(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains("'..'"), "{body}");
    }
    // A path separator never reaches the handler as part of a name.
    let response = app
        .push(&app.admin_token, "a/b", fixture("affine.onnx"), None)
        .await;
    assert!(response.status().is_client_error());
    let empty = app
        .push(&app.admin_token, "", fixture("affine.onnx"), None)
        .await;
    assert!(empty.status().is_client_error());
    app.assert_nothing_stored().await;
}

pub async fn metadata_that_is_not_json_or_has_unknown_fields_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    for (metadata, needle) in [
        ("not json", "not valid metadata JSON"),
        (
            r#"{"description": "x", "owner": "mallory"}"#,
            "unknown field `owner`",
        ),
        (r#"{"visibility": "everyone"}"#, "unknown variant"),
        (r#"{"tags": ["has space"]}"#, "tag"),
        (r#"{"license": "no such license!"}"#, "SPDX"),
    ] {
        let response = app
            .push(
                &app.admin_token,
                "meta",
                fixture("affine.onnx"),
                Some(metadata),
            )
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request", needle).await;
    }
    app.assert_nothing_stored().await;
}

pub async fn a_model_exceeding_the_validation_memory_limit_is_refused(backend: Backend) {
    // ONNX Runtime itself fits in 128 MiB of address space; a model with 64 MiB of weights,
    // mapped and then parsed, does not. The child runs out of memory, not the server.
    let app = spawn_app_with(backend, |s| s.onboarding.validation_memory_mb = 128).await;
    let small = app
        .push(&app.admin_token, "small", fixture("affine.onnx"), None)
        .await;
    assert_eq!(
        small.status(),
        StatusCode::CREATED,
        "the limit leaves room for small models"
    );
    let big = crate::support::onnx::add_model(16 << 20);
    let response = app.push(&app.admin_token, "hungry", big, None).await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "model_refused",
        "memory",
    )
    .await;
    let (status, _) = app.get_json(None, "/api/v1/models/hungry").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.stored_blobs().len(),
        1,
        "only the small model is stored"
    );
    assert!(app.staged_files().is_empty());
    let (status, _) = app.get_json(None, "/healthz").await;
    assert_eq!(status, StatusCode::OK, "the server keeps serving");
}

pub async fn a_model_exceeding_the_validation_time_limit_is_refused(backend: Backend) {
    // A validator that never answers stands in for a model that loads forever: the server
    // must give up after the limit and kill it.
    let scripts = tempfile::tempdir().unwrap();
    let pid_file = scripts.path().join("pid");
    let slow = scripts.path().join("slow-validator.sh");
    std::fs::write(
        &slow,
        format!(
            "#!/bin/sh\necho $$ > {}\nexec sleep 600\n",
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&slow, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let app = spawn_app_with(backend, |s| {
        s.onboarding.validation_timeout_secs = 1;
        s.onboarding.validator = slow.display().to_string();
    })
    .await;
    let response = app
        .push(&app.admin_token, "slow", fixture("affine.onnx"), None)
        .await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "model_refused",
        "longer than the 1 s",
    )
    .await;
    app.assert_nothing_stored().await;
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .next()
        .unwrap_or("");
    assert!(
        stat.is_empty() || state == "Z",
        "the validator was killed, not left running: {state}"
    );
}
