//! The federation (Acumos E5) wire types a peer sends: envelopes of catalogs, solutions,
//! revisions and change feeds.
#![no_main]

use caravan_federation::wire::{Catalog, Changes, Envelope, PeerInfo, Revision, Solution};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = serde_json::from_slice::<Envelope<PeerInfo>>(bytes);
    let _ = serde_json::from_slice::<Envelope<Vec<Catalog>>>(bytes);
    let _ = serde_json::from_slice::<Envelope<Vec<Solution>>>(bytes);
    let _ = serde_json::from_slice::<Envelope<Solution>>(bytes);
    let _ = serde_json::from_slice::<Envelope<Revision>>(bytes);
    let _ = serde_json::from_slice::<Envelope<Changes>>(bytes);
});
