//! The records of Caravan's catalog: what the use cases read and write through the
//! repositories, and what surfaces map to their own wire types (records never serialize to
//! clients directly). Plain data; the catalog implements the repositories over them.

mod changes;
mod federation;
mod models;
mod pipelines;
mod social;
mod timestamp;
mod tracking;
mod uploads;

pub use changes::{Change, WorkQueue};
pub use federation::*;
pub use models::*;
pub use pipelines::*;
pub use social::*;
pub use timestamp::Timestamp;
pub use tracking::*;
pub use uploads::{NewUpload, UploadPart, UploadRecord, UploadState};
