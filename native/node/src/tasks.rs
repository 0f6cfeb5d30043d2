//! The heavy calls, run as `AsyncTask`s off the main thread.

use crate::columns::OwnedColumns;
use crate::error::guarded;
use crate::run::RunState;
use arrowshap_core::shap::Prepared;
use arrowshap_core::{shap, Ensemble, RunControl};
use napi::bindgen_prelude::Float64Array;
use napi::{Env, Task};
use napi_derive::napi;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Which computation a task runs.
pub enum ShapKind {
    /// Raw predictions.
    Predict,
    /// Path-dependent TreeSHAP.
    PathDependent,
    /// Interaction values.
    Interactions,
    /// Interventional TreeSHAP with these background columns.
    Interventional(OwnedColumns),
    /// Interventional TreeSHAP in probability space with these background columns.
    InterventionalProbability(OwnedColumns),
    /// Values (`false`) or interaction values (`true`) against a prepared background.
    Background(Arc<shap::background::Background>, bool),
}

/// A result handed to JS: dimensions plus the values buffer (moved, not copied).
#[napi(object)]
pub struct ShapResult {
    /// Input rows.
    pub rows: u32,
    /// Model outputs.
    pub outputs: u32,
    /// Model features.
    pub features: u32,
    /// Values; layout documented per method in `ts/native/tree_model.ts`.
    pub values: Float64Array,
}

/// Owns everything a computation needs while it runs on the pool.
pub struct ShapTask {
    pub(crate) model: Arc<Ensemble>,
    /// The model's plans, built once per loaded model.
    pub(crate) prepared: Arc<Prepared>,
    pub(crate) columns: OwnedColumns,
    pub(crate) kind: ShapKind,
    pub(crate) threads: usize,
    pub(crate) state: Arc<RunState>,
}

/// Output of a task before it reaches JS.
pub struct RawResult {
    rows: usize,
    outputs: usize,
    features: usize,
    values: Vec<f64>,
}

impl Task for ShapTask {
    type Output = RawResult;
    type JsValue = ShapResult;

    fn compute(&mut self) -> napi::Result<RawResult> {
        let state = self.state.clone();
        let progress = move |n: usize| {
            state.rows_done.fetch_add(n as u64, Ordering::Relaxed);
        };
        let ctl = RunControl {
            threads: self.threads,
            cancel: Some(&self.state.cancel),
            progress: Some(&progress),
        };
        let model = &*self.model;
        let x = self.columns.matrix().map_err(crate::error::to_napi)?;
        let (m, k, rows) = (model.num_features, model.num_outputs, x.rows());
        guarded("the SHAP computation", || match &self.kind {
            ShapKind::Predict => {
                let v = model.predict_raw(&x, &ctl)?;
                Ok(RawResult {
                    rows,
                    outputs: k,
                    features: m,
                    values: v,
                })
            }
            ShapKind::PathDependent => {
                let s = self.prepared.path_dependent(&x, &ctl)?;
                Ok(RawResult {
                    rows: s.rows,
                    outputs: s.outputs,
                    features: s.features,
                    values: s.values,
                })
            }
            ShapKind::Interactions => {
                let s = self.prepared.interactions(&x, &ctl)?;
                Ok(RawResult {
                    rows: s.rows,
                    outputs: s.outputs,
                    features: s.features,
                    values: s.values,
                })
            }
            ShapKind::Background(bg, false) => {
                let s = bg.values(model, &x, &ctl)?;
                Ok(RawResult {
                    rows: s.rows,
                    outputs: s.outputs,
                    features: s.features,
                    values: s.values,
                })
            }
            ShapKind::Background(bg, true) => {
                let s = bg.interactions(model, &x, &ctl)?;
                Ok(RawResult {
                    rows: s.rows,
                    outputs: s.outputs,
                    features: s.features,
                    values: s.values,
                })
            }
            ShapKind::InterventionalProbability(bg) => {
                let b = bg.matrix()?;
                let s = shap::probability::interventional_probability(model, &x, &b, &ctl)?;
                Ok(RawResult {
                    rows: s.rows,
                    outputs: s.outputs,
                    features: s.features,
                    values: s.values,
                })
            }
            ShapKind::Interventional(bg) => {
                let b = bg.matrix()?;
                let s = shap::interventional(model, &x, &b, &ctl)?;
                Ok(RawResult {
                    rows: s.rows,
                    outputs: s.outputs,
                    features: s.features,
                    values: s.values,
                })
            }
        })
    }

    fn resolve(&mut self, _env: Env, out: RawResult) -> napi::Result<ShapResult> {
        Ok(ShapResult {
            rows: out.rows as u32,
            outputs: out.outputs as u32,
            features: out.features as u32,
            values: Float64Array::new(out.values),
        })
    }
}
