//! Caravan's pure domain: names, versions, aliases, signatures and access rules.
//!
//! Everything here is plain data and validation ("parse, don't validate"): a value of these
//! types is known to be well-formed, so the layers above never re-check it. No I/O.

mod access;
mod acumos;
mod dataset;
mod errors;
mod names;
pub mod records;
mod signature;

pub use access::{Principal, Role, Scope, Visibility, can_see, parse_scopes};
pub use acumos::{AcumosInterface, AcumosMethod, ArtifactFormat};
pub use dataset::{Column, ColumnKind, DatasetSchema};
pub use errors::{ConflictKind, Subject};
pub use names::{AliasName, ModelName, NameError, VersionRef, parse_version_number};
pub use signature::{ModelInfo, OpsetImport, Signature, TensorSpec, TensorType};
