//! Signed manifests from peers: parsed, then verified against a pinned key. Nothing a peer
//! sends may panic the verifier, and nothing unsigned may verify.
#![no_main]

use std::sync::LazyLock;

use caravan_federation::{InstanceKey, manifest::SignedManifest};
use libfuzzer_sys::fuzz_target;

static PINNED: LazyLock<String> = LazyLock::new(|| InstanceKey::generate().public_key());

fuzz_target!(|bytes: &[u8]| {
    let Ok(signed) = serde_json::from_slice::<SignedManifest>(bytes) else {
        return;
    };
    // The fuzzer cannot know the pinned key's private half: a verified manifest is a bug.
    assert!(caravan_federation::manifest::verify(&PINNED, &signed).is_err());
    let _ = caravan_federation::manifest::parse_public_key(&String::from_utf8_lossy(bytes));
});
