//! The `Model` class: a loaded tree ensemble shared with running tasks.

use crate::columns::{JsColumn, OwnedColumns};
use crate::error::guarded;
use crate::run::NativeRun;
use crate::tasks::{ShapKind, ShapTask};
use arrowshap_core::ensemble::{Link, ModelSource};
use arrowshap_core::shap::Prepared;
use arrowshap_core::Ensemble;
use napi::bindgen_prelude::{AsyncTask, Float64Array, Uint8Array};
use napi_derive::napi;
use std::sync::Arc;

/// Per-feature totals over all splits (`gain`, `cover`, `weight` = split count).
#[napi(object)]
pub struct FeatureStats {
    /// Sum of split gains per feature.
    pub gain: Float64Array,
    /// Sum of split covers per feature.
    pub cover: Float64Array,
    /// Number of splits per feature.
    pub weight: Float64Array,
}

/// A tree ensemble (XGBoost JSON/UBJ, LightGBM text, CatBoost JSON or ONNX) loaded in the native core.
#[napi]
pub struct Model {
    pub(crate) inner: Arc<Ensemble>,
    /// The model's explanation plans, built once and shared (see `online.rs`).
    pub(crate) prepared: Arc<Prepared>,
}

#[napi]
impl Model {
    /// Loads a model file; the format is sniffed from its content.
    #[napi(factory)]
    pub fn from_file(path: String) -> napi::Result<Model> {
        let e = guarded("model loading", || {
            arrowshap_core::model::load_file(std::path::Path::new(&path))
        })?;
        Ok(Model::wrap(Arc::new(e)))
    }
    /// Loads a model from bytes; `name` is used in error messages.
    #[napi(factory)]
    pub fn from_bytes(bytes: Uint8Array, name: String) -> napi::Result<Model> {
        let e = guarded("model loading", || {
            arrowshap_core::model::load_bytes(&bytes, &name)
        })?;
        Ok(Model::wrap(Arc::new(e)))
    }
    /// A copy of this model whose node covers are the number of `background` rows reaching
    /// each node: ONNX models store no covers, which path-dependent SHAP weighs paths by.
    #[napi]
    pub fn with_covers_from(&self, background: Vec<JsColumn>) -> napi::Result<Model> {
        let e = guarded("counting node covers", || {
            let x = crate::columns::as_matrix(&background)?;
            let mut e = (*self.inner).clone();
            arrowshap_core::model::onnx::covers_from_background(&mut e, &x)?;
            Ok(e)
        })?;
        Ok(Model::wrap(Arc::new(e)))
    }
    /// Number of input features.
    #[napi(getter)]
    pub fn num_features(&self) -> u32 {
        self.inner.num_features as u32
    }
    /// Number of outputs (classes for multiclass, else 1).
    #[napi(getter)]
    pub fn num_outputs(&self) -> u32 {
        self.inner.num_outputs as u32
    }
    /// Number of trees.
    #[napi(getter)]
    pub fn num_trees(&self) -> u32 {
        self.inner.trees.len() as u32
    }
    /// Greatest tree depth.
    #[napi(getter)]
    pub fn max_depth(&self) -> u32 {
        self.inner.max_depth() as u32
    }
    /// Feature names in model order.
    #[napi(getter)]
    pub fn feature_names(&self) -> Vec<String> {
        self.inner.feature_names.clone()
    }
    /// Training objective as the library names it.
    #[napi(getter)]
    pub fn objective(&self) -> String {
        self.inner.objective.clone()
    }
    /// `xgboost-json`, `xgboost-ubj`, `lightgbm-text`, `sklearn-skops`, `catboost-json`, `onnx` or `synthetic`.
    #[napi(getter)]
    pub fn source(&self) -> String {
        match self.inner.source {
            ModelSource::XgboostJson => "xgboost-json",
            ModelSource::XgboostUbj => "xgboost-ubj",
            ModelSource::LightgbmText => "lightgbm-text",
            ModelSource::SklearnSkops => "sklearn-skops",
            ModelSource::CatboostJson => "catboost-json",
            ModelSource::OnnxTreeEnsemble => "onnx",
            ModelSource::Synthetic => "synthetic",
        }
        .to_string()
    }
    /// Link from raw output to prediction: `identity`, `logit`, `log` or `softmax`.
    #[napi(getter)]
    pub fn link(&self) -> String {
        match self.inner.link {
            Link::Identity => "identity",
            Link::Logit => "logit",
            Link::Log => "log",
            Link::Softmax => "softmax",
        }
        .to_string()
    }
    /// Expected raw output per output (the path-dependent base value).
    #[napi]
    pub fn expected_value(&self) -> Float64Array {
        Float64Array::new(self.inner.expected_value())
    }
    /// Per-feature totals of gain, cover and split count.
    #[napi]
    pub fn feature_stats(&self) -> FeatureStats {
        let s = self.inner.feature_stats();
        FeatureStats {
            gain: s.gain.into(),
            cover: s.cover.into(),
            weight: s.weight.into(),
        }
    }
    /// Raw (margin) predictions, row-major rows × outputs.
    #[napi(ts_return_type = "Promise<ShapResult>")]
    pub fn predict_raw(
        &self,
        columns: Vec<JsColumn>,
        threads: u32,
        run: &NativeRun,
    ) -> AsyncTask<ShapTask> {
        self.task(ShapKind::Predict, columns, threads, run)
    }
    /// Path-dependent TreeSHAP (XGBoost `pred_contribs`), column-major with the base value last.
    #[napi(ts_return_type = "Promise<ShapResult>")]
    pub fn shap_path_dependent(
        &self,
        columns: Vec<JsColumn>,
        threads: u32,
        run: &NativeRun,
    ) -> AsyncTask<ShapTask> {
        self.task(ShapKind::PathDependent, columns, threads, run)
    }
    /// SHAP interaction values (XGBoost `pred_interactions`, without the bias row/column).
    #[napi(ts_return_type = "Promise<ShapResult>")]
    pub fn shap_interactions(
        &self,
        columns: Vec<JsColumn>,
        threads: u32,
        run: &NativeRun,
    ) -> AsyncTask<ShapTask> {
        self.task(ShapKind::Interactions, columns, threads, run)
    }
    /// Interventional TreeSHAP against background columns.
    #[napi(ts_return_type = "Promise<ShapResult>")]
    pub fn shap_interventional(
        &self,
        columns: Vec<JsColumn>,
        background: Vec<JsColumn>,
        threads: u32,
        run: &NativeRun,
    ) -> AsyncTask<ShapTask> {
        self.task(
            ShapKind::Interventional(OwnedColumns::copy(&background)),
            columns,
            threads,
            run,
        )
    }
    /// Interventional TreeSHAP of the probability output (`model_output: probability`, shap's
    /// per-reference rescaling), same layout; the base value is the mean background probability.
    #[napi(ts_return_type = "Promise<ShapResult>")]
    pub fn shap_interventional_probability(
        &self,
        columns: Vec<JsColumn>,
        background: Vec<JsColumn>,
        threads: u32,
        run: &NativeRun,
    ) -> AsyncTask<ShapTask> {
        self.task(
            ShapKind::InterventionalProbability(OwnedColumns::copy(&background)),
            columns,
            threads,
            run,
        )
    }
    /// Which space `model_output: probability` explains for this model (one line), or an error
    /// naming the objective when it has none.
    #[napi]
    pub fn probability_space(&self) -> napi::Result<String> {
        let m = &*self.inner;
        guarded("model_output probability", || {
            Ok(arrowshap_core::shap::probability::probability_link(m)?.describe(m))
        })
    }

    fn task(
        &self,
        kind: ShapKind,
        columns: Vec<JsColumn>,
        threads: u32,
        run: &NativeRun,
    ) -> AsyncTask<ShapTask> {
        AsyncTask::new(ShapTask {
            model: self.inner.clone(),
            prepared: self.prepared.clone(),
            columns: OwnedColumns::copy(&columns),
            kind,
            threads: threads as usize,
            state: run.state.clone(),
        })
    }
}
