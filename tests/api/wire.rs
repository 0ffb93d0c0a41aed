//! The wire types the server writes are the ones clients read.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Backend, spawn_app};

/// The wire types are plain serde types both ways: what the server writes, the same types read
/// back without losing a field (clients, tests and the command line share them).
pub async fn the_wire_types_read_back_exactly_what_the_server_writes(backend: Backend) {
    use caravan::http::{dto, error::ErrorBody};
    let app = spawn_app(backend).await;
    let pushed = app
        .push_ok(
            &app.admin_token,
            "wired",
            "affine.onnx",
            Some(r#"{"tags": ["a"]}"#),
        )
        .await;
    fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(value: &Value) {
        let typed: T = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(&serde_json::to_value(typed).unwrap(), value);
    }
    round_trip::<dto::Version>(&pushed);
    let (_, details) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/wired")
        .await;
    round_trip::<dto::ModelDetails>(&details);
    let (_, page) = app.get_json(Some(&app.admin_token), "/api/v1/models").await;
    round_trip::<dto::Page<dto::Model>>(&page);
    let (status, error) = app
        .get_json(Some(&app.admin_token), "/api/v1/models/absent")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    round_trip::<ErrorBody>(&error);
}
