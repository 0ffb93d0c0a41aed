//! Datasets, pipelines and their runs.
pub mod dataset;
pub mod metrics;
pub mod spec;
