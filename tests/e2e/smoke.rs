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
