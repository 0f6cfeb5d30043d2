//! # arrowshap-core
//!
//! Exact SHAP values for tree ensembles trained by XGBoost and LightGBM.
//!
//! This crate knows nothing of Node: it takes column-major feature slices
//! ([`Matrix`]) and a flat tree ensemble ([`Ensemble`]) and returns plain
//! `Vec<f64>` results laid out column-major, so that each output column is a
//! contiguous slice that a binding can hand over without copying.
//!
//! * [`model`] loads XGBoost JSON / UBJSON and LightGBM text models.
//! * [`shap`] holds the explainers: path-dependent TreeSHAP, interaction
//!   values, interventional TreeSHAP, the Lundberg oracle and brute force.
//! * [`gpu`] runs TreeSHAP on a CUDA GPU, loaded at run time, or picks the CPU.

pub mod control;
pub mod ensemble;
pub mod error;
pub mod gpu;
pub mod kernel;
pub mod limits;
pub mod matrix;
pub mod model;
pub mod rng;
pub mod shap;
pub mod sums;

pub use control::RunControl;
pub use ensemble::{Ensemble, Node, SplitKind, Tree, LEAF};
pub use error::{Error, Result};
pub use matrix::{Column, Matrix};
