//! The session-signing key: never in the database, kept in its own 0600 file when not
//! configured, moved out of the database from earlier releases, and rotated with a grace key.

use std::os::unix::fs::PermissionsExt;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, spawn_app_with};

/// An app whose key is not configured, on `data_dir` and `database` when given.
async fn unconfigured(backend: Backend, reuse: Option<&TestApp>) -> TestApp {
    let shared = reuse.map(|app| (app.data_dir.clone(), app.database_url.clone()));
    spawn_app_with(backend, move |s| {
        s.auth.jwt_secret = String::new().into();
        if let Some((data_dir, database)) = shared {
            s.data_dir = data_dir;
            s.database.url = database.into();
        }
    })
    .await
}

fn keys_in(app: &TestApp) -> Vec<String> {
    let text = std::fs::read_to_string(app.data_dir.join("jwt-secret")).unwrap();
    text.lines().map(str::to_owned).collect()
}

/// Whether `token` carries a valid HS256 signature made with `key`.
fn signed_with(token: &str, key: &str) -> bool {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&["caravan"]);
    jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(key.as_bytes()).unwrap(),
        &validation,
    )
    .is_ok()
}

pub async fn an_unconfigured_key_lives_in_its_own_private_file_not_the_database(backend: Backend) {
    let app = unconfigured(backend, None).await;
    let file = app.data_dir.join("jwt-secret");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    let keys = keys_in(&app);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].len(), 64, "256 random bits in hex");
    assert!(signed_with(&app.admin_token, &keys[0]));
    let catalog = &app.app_core.catalog_for_tests();
    assert_eq!(
        catalog.remove_setting("auth.jwt_secret").await.unwrap(),
        None
    );
}

pub async fn a_key_left_in_the_database_moves_to_the_file_and_its_sessions_stay_valid(
    backend: Backend,
) {
    let first = unconfigured(backend, None).await;
    // As an earlier release left it: the key in the database, no key file.
    let legacy = "legacy-key-from-the-database-0123456789";
    std::fs::remove_file(first.data_dir.join("jwt-secret")).unwrap();
    let catalog = &first.app_core.catalog_for_tests();
    assert_eq!(
        catalog
            .setting_or_init("auth.jwt_secret", legacy)
            .await
            .unwrap(),
        legacy
    );
    let second = unconfigured(backend, Some(&first)).await;
    assert_eq!(keys_in(&first), [legacy]);
    assert!(signed_with(&second.admin_token, legacy));
    let catalog = &second.app_core.catalog_for_tests();
    assert_eq!(
        catalog.remove_setting("auth.jwt_secret").await.unwrap(),
        None
    );
}

pub async fn a_rotated_key_signs_new_sessions_while_the_previous_one_is_still_accepted(
    backend: Backend,
) {
    let first = unconfigured(backend, None).await;
    let old_session = first.admin_token.clone();
    let old_key = keys_in(&first)[0].clone();
    let mut settings = caravan::Settings::defaults();
    settings.data_dir = first.data_dir.clone();
    caravan::jwt_keys::rotate(&settings).unwrap();
    let keys = keys_in(&first);
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[1], old_key);
    assert_ne!(keys[0], old_key);

    let second = unconfigured(backend, Some(&first)).await;
    assert!(signed_with(&second.admin_token, &keys[0]));
    assert!(!signed_with(&second.admin_token, &old_key));
    let (status, me) = second.get_json(Some(&old_session), "/api/v1/me").await;
    assert_eq!(
        (status, me["username"].clone()),
        (StatusCode::OK, json!("admin"))
    );
    // The same claims signed with neither key are refused: the grace key is not a wildcard.
    let claims: Value = {
        use base64::Engine;
        let payload = old_session.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"neither-key").unwrap(),
    )
    .unwrap();
    let refused = second.get(Some(&forged), "/api/v1/me").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

pub async fn rotating_a_configured_key_is_refused_with_what_to_do(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let mut settings = caravan::Settings::defaults();
    settings.data_dir = app.data_dir.clone();
    settings.auth.jwt_secret = "configured".to_owned().into();
    let error = caravan::jwt_keys::rotate(&settings)
        .unwrap_err()
        .to_string();
    assert!(error.contains("auth.jwt_previous_secret"), "{error}");
    assert!(!app.data_dir.join("jwt-secret").exists());
}
