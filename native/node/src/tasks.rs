//! The heavy calls, run as `AsyncTask`s off the main thread.

use crate::columns::OwnedColumns;
use crate::error::guarded;
use crate::run::RunState;
use arrowshap_core::shap::Prepared;
use arrowshap_core::{shap, Ensemble, Matrix, RunControl};
use napi::bindgen_prelude::Float64Array;
use napi::{Env, Task};
use napi_derive::napi;
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

impl ShapTask {
    /// The computation this task's kind names, under `ctl`.
    fn run(
        &self,
        model: &Ensemble,
        x: &Matrix<'_>,
        ctl: &RunControl,
    ) -> arrowshap_core::Result<RawResult> {
        let (m, k, rows) = (model.num_features, model.num_outputs, x.rows());
        match &self.kind {
            ShapKind::Predict => {
                let v = model.predict_raw(x, ctl)?;
                Ok(RawResult {
                    rows,
                    outputs: k,
                    features: m,
                    values: v,
                })
            }
            ShapKind::PathDependent => {
                let s = self.prepared.path_dependent(x, ctl)?;
                Ok(s.into())
            }
            ShapKind::Interactions => {
                let s = self.prepared.interactions(x, ctl)?;
                Ok(s.into())
            }
            ShapKind::Background(bg, false) => {
                let s = bg.values(model, x, ctl)?;
                Ok(s.into())
            }
            ShapKind::Background(bg, true) => {
                let s = bg.interactions(model, x, ctl)?;
                Ok(s.into())
            }
            ShapKind::InterventionalProbability(bg) => {
                let b = bg.matrix()?;
                let s = shap::probability::interventional_probability(model, x, &b, ctl)?;
                Ok(s.into())
            }
            ShapKind::Interventional(bg) => {
                let b = bg.matrix()?;
                let s = shap::interventional(model, x, &b, ctl)?;
                Ok(s.into())
            }
        }
    }
}

/// `From` for the core's value containers (same four fields): the values move, no copy.
macro_rules! raw_result_from {
    ($($t:ty),*) => {$(
        impl From<$t> for RawResult {
            fn from(s: $t) -> Self {
                RawResult { rows: s.rows, outputs: s.outputs, features: s.features, values: s.values }
            }
        }
    )*};
}
raw_result_from!(shap::ShapValues, shap::InteractionValues);

impl Task for ShapTask {
    type Output = RawResult;
    type JsValue = ShapResult;

    fn compute(&mut self) -> napi::Result<RawResult> {
        let model = &*self.model;
        let x = self.columns.matrix().map_err(crate::error::to_napi)?;
        let state = self.state.clone();
        state.with_control(self.threads, |ctl| {
            guarded("the SHAP computation", || self.run(model, &x, ctl))
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
