//! Thin napi-rs binding of `arrowshap-core`.
//!
//! It only converts: JS typed arrays (Arrow column values) become core
//! [`arrowshap_core::Matrix`] slices without copying, core results become a
//! `Float64Array` handed to JS without copying, and core errors (or panics)
//! become one JS `Error` with a readable message. Heavy calls run as
//! `AsyncTask`s on the libuv pool and resolve a Promise.

#![deny(clippy::all)]

mod background;
mod columns;
mod error;
mod gpu;
mod kernel;
mod memory;
mod model;
mod online;
mod run;
mod sklearn;
mod sums;
mod tasks;

pub use model::Model;
pub use run::NativeRun;
pub use sklearn::SklearnPipeline;
