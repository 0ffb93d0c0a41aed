//! The browser harness itself: it cleans up after itself and its blank-page check works.

use crate::support::browser::{Browser, blank_reason, encode_png, running};

/// The base URL of tests that need no app: they only open `about:blank`, so nothing listens.
const NO_APP: &str = "http://127.0.0.1:9";

/// Asserts that neither chromedriver nor the Chromium it started is still running.
fn assert_gone(driver: u32, chromium: u32) {
    assert!(
        !std::path::Path::new(&format!("/proc/{driver}")).exists(),
        "chromedriver (pid {driver}) is still there"
    );
    assert!(
        !running(chromium),
        "Chromium (pid {chromium}) is still running"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_browser_ends_chromedriver_and_chromium() {
    let browser = Browser::launch(NO_APP).await;
    browser.goto("about:blank").await;
    let (driver, chromium) = (browser.driver_pid(), browser.browser_pid());
    assert!(running(driver) && running(chromium));
    browser.close().await;
    assert_gone(driver, chromium);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_browser_without_closing_ends_chromedriver_and_chromium() {
    let browser = Browser::launch(NO_APP).await;
    let (driver, chromium) = (browser.driver_pid(), browser.browser_pid());
    assert!(running(driver) && running(chromium));
    drop(browser);
    assert_gone(driver, chromium);
}

#[test]
fn a_uniform_image_is_blank_and_a_varied_one_is_not() {
    let (width, height) = (64, 48);
    let white = vec![255; width * height * 3];
    let reason = blank_reason(&encode_png(width as u32, height as u32, &white));
    assert!(reason.is_some_and(|r| r.contains("distinct colours")));

    let varied: Vec<u8> = (0..width * height)
        .flat_map(|i| [(i % 251) as u8, (i / 7 % 256) as u8, 128])
        .collect();
    let reason = blank_reason(&encode_png(width as u32, height as u32, &varied));
    assert_eq!(reason, None);

    // Many colours, but a few specks on an otherwise white page still count as blank.
    let mut specks = white;
    for (i, value) in (0..10).zip(1..) {
        specks[i * 3] = value;
    }
    let reason = blank_reason(&encode_png(width as u32, height as u32, &specks));
    assert!(reason.is_some_and(|r| r.contains("one colour covers")));

    assert!(blank_reason(b"not a png").is_some_and(|r| r.contains("not a PNG")));
}
