//! The whole path a data scientist takes in the browser: sign in, upload, find, try, promote a
//! new version, rate, comment, sign out.

use fantoccini::Locator;

use crate::support::{ADMIN_PASSWORD, Backend, browser::Browser, fixture, spawn_app};

const MODEL: &str = "cloud-forensics/cloud_forensics_mlp.onnx";

/// The first golden row of the cloud-forensics model and the label Python onnxruntime gave it.
fn golden_row() -> (Vec<f32>, i64) {
    let inputs = fixture("cloud-forensics/golden_inputs.f32");
    let labels = fixture("cloud-forensics/golden_labels_small.i64");
    let row = inputs[..80]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (row, i64::from_le_bytes(labels[..8].try_into().unwrap()))
}

/// The same model with another doc_string appended (a later field wins in protobuf), so it
/// is a distinct file with the same signature.
fn second_version() -> Vec<u8> {
    let mut bytes = fixture(MODEL);
    bytes.extend_from_slice(b"\x32\x09version 2");
    bytes
}

async fn sign_in(browser: &Browser) {
    browser.click("#login-link").await;
    browser.fill("#username", "admin").await;
    browser.fill("#password", ADMIN_PASSWORD).await;
    browser.click("#sign-in").await;
    browser.wait_for_text(".who", "admin").await;
}

/// Fills the try-it table with `row`, runs it and returns what the page says answered.
async fn try_it(browser: &Browser, row: &[f32]) -> String {
    let cells = browser
        .find_all(Locator::Css("#try-form input.cell"))
        .await
        .unwrap();
    assert_eq!(cells.len(), row.len(), "one field per input value");
    for (cell, value) in cells.iter().zip(row) {
        cell.clear().await.unwrap();
        cell.send_keys(&value.to_string()).await.unwrap();
    }
    browser.click("#try-run").await;
    browser
        .wait_for_text("#try-version-answered", "Answered by")
        .await
}

pub async fn a_user_uploads_finds_tries_promotes_rates_and_signs_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let shot = |page: &str| format!("{page}-{}", format!("{backend:?}").to_lowercase());
    let browser = Browser::launch(&app.base).await;
    browser.goto("/").await;
    browser.wait_for("#no-results").await;
    browser.screenshot(&shot("browse-empty")).await;
    sign_in(&browser).await;

    // Upload through the form (the file input takes a path), as a private model.
    browser.click("nav a[href='/upload']").await;
    browser.fill("#name", "cloud-forensics").await;
    browser
        .fill(
            "#description",
            "Flags compromised hosts from cloud telemetry",
        )
        .await;
    browser.fill("#tags", "security, telemetry").await;
    browser
        .find(Locator::Css("#visibility"))
        .await
        .unwrap()
        .select_by_value("private")
        .await
        .unwrap();
    browser
        .fill(
            "#card",
            "# Cloud forensics\n\nA small MLP over 20 host metrics.",
        )
        .await;
    let path = crate::support::fixture_path(MODEL);
    browser
        .wait_for("#file")
        .await
        .send_keys(path.to_str().unwrap())
        .await
        .unwrap();
    browser.screenshot(&shot("upload")).await;
    browser.click("#upload").await;
    browser
        .wait_for_text("#model-name", "cloud-forensics")
        .await;

    // Find it by a word of its description.
    browser.goto("/").await;
    browser.fill("#q", "telemetry").await;
    browser.click("#search").await;
    browser.wait_for_text("#results", "cloud-forensics").await;
    browser.screenshot(&shot("browse-search")).await;
    browser.click("#results h2 a").await;
    browser
        .wait_for_text("#model-name", "cloud-forensics")
        .await;
    browser.wait_for_text("#card h1", "Cloud forensics").await;

    // Try it with a golden row: the prediction and the version that answered.
    let (row, label) = golden_row();
    let answered = try_it(&browser, &row).await;
    assert!(answered.contains("version 1"), "{answered}");
    let outputs = browser.wait_for_text("#try-outputs", "label").await;
    assert!(
        outputs.contains(&format!("label INT64 [1] {label}")),
        "expected label {label}: {outputs}"
    );
    browser.screenshot(&shot("model-try")).await;

    // A second version arrives through the API; promote it in the UI, after a confirmation.
    let pushed = app
        .push(&app.admin_token, "cloud-forensics", second_version(), None)
        .await;
    assert_eq!(pushed.status(), reqwest::StatusCode::CREATED);
    browser.goto("/models/cloud-forensics").await;
    browser
        .find(Locator::Css("#promote-version"))
        .await
        .unwrap()
        .select_by_value("2")
        .await
        .unwrap();
    browser.click("#promote").await;
    let question = browser.wait_for_text("#confirm-question", "v2").await;
    assert!(question.contains("champion"), "{question}");
    browser.screenshot(&shot("promote-confirm")).await;
    browser.click("#confirm").await;
    browser.wait_for_text("#aliases", "champion").await;
    let answered = try_it(&browser, &row).await;
    assert!(answered.contains("version 2"), "{answered}");

    // The Deploy section offers every target, baked and following the alias just promoted;
    // its links download bundles with the page's session.
    let targets = browser.wait_for_text("#deploy-targets", "kserve").await;
    assert!(!targets.contains("no champion alias"), "{targets}");
    let fetched = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.querySelector('a.deploy-follow').href)
               .then(r => done([r.status, r.headers.get('content-type')]));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fetched, serde_json::json!([200, "application/gzip"]));

    // Rate and comment.
    browser.click("input[name=stars][value='5']").await;
    browser
        .fill("#review", "Caught every intrusion in our replay")
        .await;
    browser.click("#rate").await;
    browser
        .wait_for_text("#reviews", "Caught every intrusion")
        .await;
    browser
        .fill("#comment-body", "Works on our telemetry too")
        .await;
    browser.click("#comment").await;
    browser
        .wait_for_text("#comment-list", "Works on our telemetry too")
        .await;
    browser.wait_for_text("#stats", "5.0").await;
    browser.screenshot(&shot("model-social")).await;
    browser
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    browser.screenshot(&shot("model-page")).await;

    browser.goto("/account/tokens").await;
    browser.wait_for("#token-form").await;
    browser.screenshot(&shot("tokens")).await;
    browser.goto("/admin/users").await;
    browser.wait_for_text("#users", "admin").await;
    browser.screenshot(&shot("admin-users")).await;

    // Signed out, the private model is gone from search and from its own address.
    browser.click("#logout").await;
    browser.wait_for("#login-link").await;
    browser.goto("/?q=telemetry").await;
    browser.wait_for("#no-results").await;
    browser.goto("/models/cloud-forensics").await;
    browser.wait_for_text("h1", "Not found").await;
    browser.screenshot(&shot("signed-out-404")).await;
    browser.close().await;
}
