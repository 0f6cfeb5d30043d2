//! `SklearnPipeline`: a scikit-learn model read from a skops file — the trees as a
//! [`Model`] and the preprocessing program (JSON) the TypeScript side evaluates.

use crate::error::guarded;
use crate::model::Model;
use arrowshap_core::Ensemble;
use napi::bindgen_prelude::Uint8Array;
use napi_derive::napi;
use std::sync::Arc;

/// A scikit-learn estimator or pipeline loaded from skops bytes.
#[napi]
pub struct SklearnPipeline {
    model: Arc<Ensemble>,
    description: String,
}

#[napi]
impl SklearnPipeline {
    /// Reads a skops file's bytes (never executing anything); `name` labels errors.
    #[napi(factory)]
    pub fn from_bytes(bytes: Uint8Array, name: String) -> napi::Result<SklearnPipeline> {
        let m = guarded("model loading", || {
            arrowshap_core::model::sklearn::load_skops(&bytes, &name)
        })?;
        Ok(SklearnPipeline {
            description: m.describe_json().to_string(),
            model: Arc::new(m.ensemble),
        })
    }
    /// `{estimator, output_space, classes, steps, importances_are_sklearn, program}` as JSON.
    #[napi(getter)]
    pub fn description(&self) -> String {
        self.description.clone()
    }
    /// The final estimator's trees over the transformed features.
    #[napi]
    pub fn model(&self) -> Model {
        Model::wrap(self.model.clone())
    }
}
