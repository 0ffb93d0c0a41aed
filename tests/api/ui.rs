//! The web UI's pages over plain HTTP: escaping, anti-forgery tokens, ownership, cookies and
//! headers. (The browser journey is in tests/e2e.)

use reqwest::{Method, StatusCode, header};
use serde_json::json;

use super::ui_client::UiClient;
use crate::support::{ADMIN_PASSWORD, Backend, spawn_app};

const PUBLIC: Option<&str> = Some(r#"{"visibility":"public"}"#);

pub async fn script_in_descriptions_cards_comments_and_reviews_is_rendered_inert(backend: Backend) {
    let app = spawn_app(backend).await;
    let metadata = json!({
        "visibility": "public",
        "description": "<script>alert('description')</script>",
        "card": "# Card\n\n<script>alert('card')</script>\n\n<img src=x onerror=alert('img')>\n\n[link](javascript:alert('link'))",
    });
    app.push_ok(
        &app.admin_token,
        "tricky",
        "affine.onnx",
        Some(&metadata.to_string()),
    )
    .await;
    let comment = app
        .post_json(
            &app.admin_token,
            "/api/v1/models/tricky/comments",
            json!({ "body": "<script>alert('comment')</script>" }),
        )
        .await;
    assert_eq!(comment.status(), StatusCode::CREATED);
    let rating = app
        .send_json(
            Method::PUT,
            &app.admin_token,
            "/api/v1/models/tricky/rating",
            json!({ "stars": 3, "review": "<iframe src=\"javascript:alert('review')\"></iframe>" }),
        )
        .await;
    assert_eq!(rating.status(), StatusCode::OK);

    let mut ui = UiClient::new(&app.base);
    for path in ["/models/tricky", "/?q=tricky"] {
        let page = ui.get(path).await;
        assert_eq!(page.status, StatusCode::OK);
        for live in [
            "<script>alert",
            "<img src=\"x\" onerror",
            "<img src=x onerror",
            "<iframe",
            "href=\"javascript:",
        ] {
            assert!(!page.html.contains(live), "{path} renders {live:?} live");
        }
        assert!(
            page.html.contains("&lt;script&gt;alert("),
            "{path} shows the text escaped"
        );
    }
    let page = ui.get("/models/tricky").await;
    assert!(
        page.html.contains("<h1>Card</h1>"),
        "the card's Markdown is still rendered"
    );
    assert!(
        page.html.contains("&lt;iframe"),
        "the review is shown as text"
    );
}

pub async fn forms_without_or_with_a_wrong_csrf_token_are_refused_and_change_nothing(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    app.push_ok(&app.admin_token, "target", "affine.onnx", PUBLIC)
        .await;
    let mut victim = UiClient::new(&app.base);
    victim.sign_in("admin", ADMIN_PASSWORD).await;
    // A token from another browser (the attacker's own session) is not the victim's.
    let mut attacker = UiClient::new(&app.base);
    attacker.get("/").await;
    let foreign = attacker.csrf.clone();
    for token in [None, Some(foreign.as_str()), Some("00"), Some("")] {
        let mut fields = vec![("body", "forged"), ("stars", "1")];
        if let Some(t) = token {
            fields.push(("csrf", t));
        }
        for path in [
            "/models/target/comments",
            "/models/target/rate",
            "/models/target/delete",
        ] {
            let page = victim.post(path, &fields).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} with {token:?}");
            assert!(
                page.html.contains("expired or came from another site"),
                "{}",
                page.html
            );
        }
    }
    let (_, comments) = app.get_json(None, "/api/v1/models/target/comments").await;
    assert_eq!(comments["items"].as_array().unwrap().len(), 0);
    let (_, ratings) = app.get_json(None, "/api/v1/models/target/ratings").await;
    assert_eq!(ratings["summary"]["ratings"], 0);
    let (status, _) = app.get_json(None, "/api/v1/models/target").await;
    assert_eq!(status, StatusCode::OK, "not deleted");
    // Logging in needs the token too (login forgery).
    let mut fresh = UiClient::new(&app.base);
    let page = fresh
        .post(
            "/login",
            &[("username", "admin"), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!fresh.cookies.contains_key("caravan_session"));
}

pub async fn a_non_owner_cannot_edit_or_delete_through_the_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.user("owner").await;
    app.push_ok(&owner, "theirs", "affine.onnx", PUBLIC).await;
    app.user("mallory").await;
    let mut ui = UiClient::new(&app.base);
    ui.sign_in("mallory", "mallory-password").await;
    assert_eq!(
        ui.get("/models/theirs/edit").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ui.get("/models/theirs/delete").await.status,
        StatusCode::FORBIDDEN
    );
    let page = ui.get("/models/theirs").await;
    assert!(
        !page.html.contains("id=\"edit\""),
        "no edit button for a non-owner"
    );
    let csrf = ui.csrf.clone();
    let edit = ui
        .post(
            "/models/theirs/edit",
            &[
                ("csrf", &csrf),
                ("description", "defaced"),
                ("visibility", "public"),
            ],
        )
        .await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN);
    assert!(edit.html.contains("Only the owner"), "{}", edit.html);
    let delete = ui.post("/models/theirs/delete", &[("csrf", &csrf)]).await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    let promote = ui
        .post(
            "/models/theirs/promote",
            &[("csrf", &csrf), ("alias", "champion"), ("version", "1")],
        )
        .await;
    assert_eq!(promote.status, StatusCode::FORBIDDEN);
    let (status, model) = app.get_json(None, "/api/v1/models/theirs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(model["description"], "");
    assert_eq!(model["aliases"].as_array().unwrap().len(), 0);
}

pub async fn a_rating_outside_one_to_five_is_refused_by_the_page_and_not_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_ok(&app.admin_token, "rated", "affine.onnx", PUBLIC)
        .await;
    let mut ui = UiClient::new(&app.base);
    ui.sign_in("admin", ADMIN_PASSWORD).await;
    let csrf = ui.csrf.clone();
    for stars in ["0", "6", "-1", "five", ""] {
        let page = ui
            .post("/models/rated/rate", &[("csrf", &csrf), ("stars", stars)])
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "stars {stars:?}");
        assert!(page.html.contains("1 to 5"), "{}", page.html);
    }
    let (_, ratings) = app.get_json(None, "/api/v1/models/rated/ratings").await;
    assert_eq!(ratings["summary"]["ratings"], 0);
    let ok = ui
        .post("/models/rated/rate", &[("csrf", &csrf), ("stars", "4")])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let (_, ratings) = app.get_json(None, "/api/v1/models/rated/ratings").await;
    assert_eq!(ratings["summary"]["ratings"], 1);
}

pub async fn session_cookies_are_http_only_and_same_site_and_pages_forbid_inline_scripts(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let mut ui = UiClient::new(&app.base);
    let page = ui.get("/login").await;
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        !page.html.contains("<script>"),
        "no inline script on any page"
    );
    let csrf = ui.csrf.clone();
    let response = ui
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(
        response.headers[header::LOCATION],
        "/",
        "no open redirect after login"
    );
    let cookies: Vec<&str> = response
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("caravan_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    // Signed out: the cookie is removed and the session's pages need a new sign-in.
    ui.get("/").await;
    let csrf = ui.csrf.clone();
    ui.post("/logout", &[("csrf", &csrf)]).await;
    assert!(!ui.cookies.contains_key("caravan_session"));
    let tokens = ui.get("/account/tokens").await;
    assert_eq!(tokens.status, StatusCode::SEE_OTHER);
}

pub async fn the_session_cookie_calls_the_api_only_with_the_page_token(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_ok(&app.admin_token, "liked", "affine.onnx", PUBLIC)
        .await;
    let mut ui = UiClient::new(&app.base);
    ui.sign_in("admin", ADMIN_PASSWORD).await;
    let cookie = ui
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let favourite = |token: Option<String>| {
        let mut request = app
            .client
            .put(app.url("/api/v1/models/liked/favourite"))
            .header(header::COOKIE, cookie.clone());
        if let Some(t) = token {
            request = request.header("x-csrf-token", t);
        }
        request.send()
    };
    assert_eq!(
        favourite(None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        favourite(Some("00".into())).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, ratings) = app.get_json(None, "/api/v1/models/liked/ratings").await;
    assert_eq!(ratings["summary"]["favourites"], 0);
    assert_eq!(
        favourite(Some(ui.csrf.clone())).await.unwrap().status(),
        StatusCode::OK
    );
    let (_, ratings) = app.get_json(None, "/api/v1/models/liked/ratings").await;
    assert_eq!(ratings["summary"]["favourites"], 1);
}

pub async fn anonymous_visitors_see_public_models_only(backend: Backend) {
    let app = spawn_app(backend).await;
    app.push_ok(&app.admin_token, "open-model", "affine.onnx", PUBLIC)
        .await;
    app.push_ok(&app.admin_token, "closed-model", "affine_v2.onnx", None)
        .await;
    let mut ui = UiClient::new(&app.base);
    let page = ui.get("/").await;
    assert!(page.html.contains("open-model"));
    assert!(!page.html.contains("closed-model"));
    assert_eq!(
        ui.get("/models/closed-model").await.status,
        StatusCode::NOT_FOUND
    );
    ui.sign_in("admin", ADMIN_PASSWORD).await;
    assert!(ui.get("/").await.html.contains("closed-model"));
}

/// The model page's Deploy section links a bundle per target; the link downloads it for the
/// signed-in owner of a private model and is not found for anyone else.
pub async fn the_deploy_section_downloads_bundles_for_those_who_can_see_the_model(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    app.push_ok(&app.admin_token, "closed-model", "affine.onnx", None)
        .await;
    let mut ui = UiClient::new(&app.base);
    ui.sign_in("admin", ADMIN_PASSWORD).await;
    let page = ui.get("/models/closed-model").await;
    assert!(page.html.contains("id=\"deploy\""), "{}", page.html);
    let link = "/models/closed-model/deploy?version=1&target=kubernetes";
    assert!(
        page.html.contains(&link.replace('&', "&amp;")),
        "{}",
        page.html
    );
    assert!(page.html.contains("no champion alias"));
    let bundle = ui.get(link).await;
    assert_eq!(bundle.status, StatusCode::OK);
    assert_eq!(bundle.headers["content-type"], "application/gzip");
    let unknown = ui
        .get("/models/closed-model/deploy?version=1&target=nomad")
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown
            .html
            .contains("docker, compose, kubernetes, helm, kserve")
    );

    let mut stranger = UiClient::new(&app.base);
    assert_eq!(stranger.get(link).await.status, StatusCode::NOT_FOUND);
}
