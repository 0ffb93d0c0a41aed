use crate::support::{Backend, browser::Browser, spawn_app};

pub async fn the_home_page_opens_with_the_caravan_title_and_is_not_blank(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = Browser::launch(&app.base).await;
    browser.goto("/").await;
    browser.wait_for_text(".brand", "Caravan").await;
    let title = browser.title().await.unwrap();
    assert!(title.contains("Caravan"), "title {title:?}");
    // One file per backend: both run at once and each should leave its own to look at.
    let name = format!("smoke-home-{}", format!("{backend:?}").to_lowercase());
    let path = browser.screenshot(&name).await;
    assert!(path.is_file(), "{} was not written", path.display());
    browser.close().await;
}

/// The API docs page draws every operation of the OpenAPI document with files this server
/// serves, under the pages' script and style policy.
pub async fn the_api_docs_page_lists_every_operation(backend: Backend) {
    use fantoccini::Locator;
    let app = spawn_app(backend).await;
    let (_, doc) = app.get_json(None, "/api/v1/openapi.json").await;
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    let page = app.get(None, "/api/docs").await;
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let browser = Browser::launch(&app.base).await;
    browser.goto("/api/docs").await;
    browser
        .wait_for_text(".opblock-summary-path", "/api/v1/")
        .await;
    let drawn = browser
        .find_all(Locator::Css(".opblock"))
        .await
        .unwrap()
        .len();
    assert_eq!(drawn, operations, "one block per operation");
    let name = format!("api-docs-{}", format!("{backend:?}").to_lowercase());
    browser.screenshot(&name).await;
    browser.close().await;
}
