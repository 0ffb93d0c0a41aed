//! A subscriber against a hostile peer: each bad item is refused and recorded, nothing of it
//! is stored, and the worker keeps going (other items import; a later sync recovers).

use serde_json::Value;

use crate::fake_peer::{Attack, FakeModel, FakePeer};
use crate::instance::{Instance, spawn};
use crate::pki::Pki;
use crate::support::Backend;

async fn subscribed_to(
    backend: Backend,
    pki: &Pki,
    models: Vec<FakeModel>,
) -> (Instance, FakePeer, Value) {
    let b = spawn(backend, pki, "org-b").await;
    let evil = FakePeer::start(pki, "evil", models);
    b.add_peer("evil", &evil.url, &evil.leaf.identity, &evil.signing_key)
        .await;
    let subscription = b.subscribe("evil", "public").await;
    (b, evil, subscription)
}

fn assert_nothing_half_stored(b: &Instance, blobs: usize) {
    assert!(
        b.app.staged_files().is_empty(),
        "staging: {:?}",
        b.app.staged_files()
    );
    assert_eq!(
        b.app.stored_blobs().len(),
        blobs,
        "{:?}",
        b.app.stored_blobs()
    );
}

pub async fn every_bad_item_is_refused_and_the_good_one_still_imports(backend: Backend) {
    let pki = Pki::new("Federation test CA");
    let models = vec![
        FakeModel::new("good", 4, Attack::Honest),
        FakeModel::new("tampered", 5, Attack::TamperedBytes),
        FakeModel::new("forged", 6, Attack::ForgedSignature),
        FakeModel::new("oversized", 7, Attack::OversizedJson),
        FakeModel::new("malformed", 8, Attack::MalformedJson),
        FakeModel::new("../../escape", 9, Attack::Honest),
        FakeModel::new("a/b", 10, Attack::Honest),
        FakeModel::new("x:y", 11, Attack::Honest),
        FakeModel::new("..", 12, Attack::Honest),
        FakeModel::new("", 13, Attack::Honest),
    ];
    let (b, evil, subscription) = subscribed_to(backend, &pki, models).await;
    let status = b.pass_after(&subscription).await;
    assert_eq!(
        (status["imported"].as_i64(), status["failures"].as_i64()),
        (Some(1), Some(0)),
        "{status}"
    );
    let error = status["last_error"]
        .as_str()
        .expect("the refusals are recorded");
    assert!(error.starts_with("refused 9:"), "{error}");
    for why in [
        "do not match the signed manifest",
        "signature does not verify with the key pinned",
        "more than 262144 bytes of JSON",
        "malformed JSON",
        "remote model name \"../../escape\"",
        "remote model name \"a/b\"",
        "remote model name \"x:y\"",
        "remote model name \"..\"",
        "remote model name \"\"",
    ] {
        assert!(error.contains(why), "{why:?} should be in {error}");
    }
    assert_eq!(b.model_names().await, ["evil:good"]);
    assert_nothing_half_stored(&b, 1);
    let escaped = b.app.data_dir.parent().unwrap().join("escape");
    assert!(!escaped.exists());

    // The peer mends its ways: the next sync takes what is now right, and only that.
    evil.set_attack("tampered", Attack::Honest);
    let status = b.sync(&subscription).await;
    assert_eq!(status["imported"].as_i64(), Some(2), "{status}");
    assert_eq!(b.model_names().await, ["evil:good", "evil:tampered"]);
    assert_nothing_half_stored(&b, 2);
}

pub async fn a_hanging_peer_times_out_and_a_later_sync_recovers(backend: Backend) {
    let pki = Pki::new("Federation test CA");
    let models = vec![FakeModel::new("slow", 4, Attack::Hang)];
    let (b, evil, subscription) = subscribed_to(backend, &pki, models).await;
    let status = b.pass_after(&subscription).await;
    assert_eq!(status["failures"].as_i64(), Some(1), "{status}");
    assert_eq!(status["last_success_at"], Value::Null);
    let error = status["last_error"].as_str().unwrap();
    assert!(error.contains("timed out"), "{error}");
    assert!(b.model_names().await.is_empty());
    assert_nothing_half_stored(&b, 0);

    evil.set_attack("slow", Attack::Honest);
    let status = b.sync(&subscription).await;
    assert_eq!(
        (status["imported"].as_i64(), status["failures"].as_i64()),
        (Some(1), Some(0)),
        "{status}"
    );
    assert_eq!(b.model_names().await, ["evil:slow"]);
}
