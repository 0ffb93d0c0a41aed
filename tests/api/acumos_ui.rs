//! The model page of an Acumos bundle says that Caravan does not serve it and why, lists its
//! methods and links its `acumos` deployment bundle; an ONNX model's page names its
//! model-runner methods.

use reqwest::StatusCode;

use super::acumos::{Bundle, PROTO, push};
use super::ui_client::UiClient;
use crate::support::{ADMIN_PASSWORD, Backend, spawn_app};

pub async fn a_bundle_s_page_says_it_is_not_served_and_links_its_acumos_bundle(backend: Backend) {
    let app = spawn_app(backend).await;
    let auth = format!("Bearer {}", app.admin_token);
    assert_eq!(
        push(&app, Some(&auth), Bundle::new("adder")).await.status(),
        StatusCode::CREATED
    );
    app.push_ok(&app.admin_token, "affine", "affine.onnx", None)
        .await;
    let mut ui = UiClient::new(&app.base);
    ui.sign_in("admin", ADMIN_PASSWORD).await;

    let page = ui.get("/models/adder").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html
            .contains("Caravan does not serve this version in-process"),
        "{}",
        page.html
    );
    assert!(
        page.html
            .contains("<td><code>add</code></td><td><code>AddIn</code></td>"),
        "{}",
        page.html
    );
    assert!(page.html.contains("rpc add (AddIn) returns (AddOut);"));
    assert!(PROTO.contains("rpc add (AddIn) returns (AddOut);"));
    assert!(
        !page.html.contains("id=\"try\""),
        "no try-it form for a bundle"
    );
    let link = "/models/adder/deploy?version=1&target=acumos";
    assert!(
        page.html.contains(&link.replace('&', "&amp;")),
        "{}",
        page.html
    );
    let bundle = ui.get(link).await;
    assert_eq!(bundle.status, StatusCode::OK);
    assert_eq!(bundle.headers["content-type"], "application/gzip");
    let wrong = ui.get("/models/adder/deploy?version=1&target=docker").await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);

    let onnx = ui.get("/models/affine").await;
    assert!(
        onnx.html
            .contains("/acumos/models/affine/model/methods/predict"),
        "{}",
        onnx.html
    );
    assert!(!onnx.html.contains("target=acumos"));
    let refused = ui
        .get("/models/affine/deploy?version=1&target=acumos")
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
}
