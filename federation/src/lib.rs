//! Caravan federation: instances of different organisations share models over mutual TLS.
//!
//! - `wire`: the Acumos E5 protocol (paths, `{"error","message","content"}` envelope, field
//!   names) that Caravan speaks, extended with `sha256`, `?since=` change feeds and signed
//!   manifests;
//! - `manifest`: what an instance signs for each revision (ed25519) and how importers verify it;
//! - `tls`: server and client TLS (client certificates required, reloadable CAs and CRLs) and
//!   the peer identity a certificate carries;
//! - `serve`: the E5 answers, built from what core lets a peer see;
//! - `client` and `sync`: pulling a peer's changes, verifying every byte before import;
//!   `legacy`: what a peer marked as a legacy Acumos gateway sends, imported as unverified;
//! - `certs`: development certificates for `caravan federation init`.
//!
//! The HTTP routes themselves live in the `caravan` app.

pub mod certs;
pub mod client;
mod legacy;
pub mod manifest;
pub mod serve;
pub mod sync;
pub mod tls;
pub mod wire;

pub use manifest::{InstanceKey, ManifestError};
pub use tls::PeerIdentity;
