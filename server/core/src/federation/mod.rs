//! Federation use cases: peers, shares, what a peer may see, subscriptions, and importing a
//! verified version from a peer. The wire protocol, TLS and the sync worker live in the
//! `caravan-federation` crate, which calls these.

mod import;
mod peers;
mod view;

pub use import::RemoteVersion;
pub use peers::PeerRequest;
