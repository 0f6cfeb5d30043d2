//! Online explanations: a few rows at a time, synchronously on the calling thread, with
//! the model's plans built once ([`Prepared`]) and shared by every call, every in-flight
//! batch and every worker thread of the process.
//!
//! Rows come as one row-major `Float64Array` (`n × features`); results are row-major too
//! (see each method). Worker threads reach a model loaded elsewhere through
//! [`Model::share_id`] and [`Model::from_shared`]: the same native model, no copy.

use crate::columns::{as_matrix, JsColumn};
use crate::error::guarded;
use crate::model::Model;
use arrowshap_core::shap::{self, PrepareWhat, Prepared};
use arrowshap_core::{Ensemble, Matrix, RunControl};
use napi::bindgen_prelude::Float64Array;
use napi::Status;
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// Models made reachable from other threads, by share id. Weak: a share id keeps
/// nothing alive; the model lives as long as some thread holds it.
fn shared() -> &'static Mutex<HashMap<u32, Weak<Prepared>>> {
    static SHARED: OnceLock<Mutex<HashMap<u32, Weak<Prepared>>>> = OnceLock::new();
    SHARED.get_or_init(|| Mutex::new(HashMap::new()))
}

impl Model {
    /// A JS model over a loaded ensemble, with fresh (lazily built) plans.
    pub(crate) fn wrap(e: Arc<Ensemble>) -> Model {
        Model {
            prepared: Arc::new(Prepared::new(e.clone())),
            inner: e,
        }
    }
}

/// Row-major rows → the number of rows, checked against the model.
fn check_rows(p: &Prepared, rows: &[f64]) -> napi::Result<usize> {
    let m = p.model().num_features;
    if rows.len() % m.max(1) != 0 || m == 0 {
        return Err(napi::Error::new(
            Status::InvalidArg,
            format!(
                "rows must hold a multiple of the model's {m} features (row-major), got {} values",
                rows.len()
            ),
        ));
    }
    Ok(rows.len() / m)
}

#[napi]
impl Model {
    /// Builds the explanation plans now (path-dependent; interactions too when asked), so
    /// that no later call pays for them. Calls build what they need on first use anyway.
    #[napi]
    pub fn prepare(&self, interactions: Option<bool>) -> napi::Result<()> {
        guarded("preparing the model", || {
            self.prepared.prepare(PrepareWhat {
                path_dependent: true,
                interactions: interactions.unwrap_or(false),
            });
            Ok(())
        })
    }

    /// Path-dependent SHAP values of a few rows, synchronously on the calling thread.
    /// `rows`: row-major `n × features`. Result: row-major `n × outputs × (features + 1)`,
    /// the base value last in each group (XGBoost's `pred_contribs` layout); the same
    /// values as `shapPathDependent`, bit for bit.
    #[napi]
    pub fn shap_rows_sync(&self, rows: Float64Array) -> napi::Result<Float64Array> {
        check_rows(&self.prepared, &rows)?;
        let v = guarded("the SHAP computation", || {
            self.prepared.path_dependent_rows(&rows)
        })?;
        Ok(Float64Array::new(v))
    }

    /// SHAP interaction values of a few rows, synchronously on the calling thread.
    /// `rows`: row-major `n × features`. Result: row-major `n × outputs × features ×
    /// features` (entry `((r*outputs + k)*features + i)*features + j`), main effects on the
    /// diagonal; the same values as `shapInteractions`, bit for bit.
    #[napi]
    pub fn interactions_rows_sync(&self, rows: Float64Array) -> napi::Result<Float64Array> {
        check_rows(&self.prepared, &rows)?;
        let v = guarded("the interaction values", || {
            self.prepared.interactions_rows(&rows)
        })?;
        Ok(Float64Array::new(v))
    }

    /// An id under which other threads of this process (worker threads) reach this same
    /// loaded model with `Model.fromShared(id)`, without a copy. The id keeps nothing
    /// alive: it resolves while some thread still holds the model.
    #[napi]
    pub fn share_id(&self) -> u32 {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut map = shared().lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, w| w.strong_count() > 0);
        map.insert(id, Arc::downgrade(&self.prepared));
        id
    }

    /// The model another thread shared as `id` (see `shareId`): the same native model and
    /// plans, not a copy.
    #[napi(factory)]
    pub fn from_shared(id: u32) -> napi::Result<Model> {
        let map = shared().lock().unwrap_or_else(|p| p.into_inner());
        let p = map.get(&id).and_then(Weak::upgrade).ok_or_else(|| {
            napi::Error::new(
                Status::InvalidArg,
                format!("no shared model with id {id} (never shared, or released by every thread)"),
            )
        })?;
        Ok(Model {
            inner: p.model().clone(),
            prepared: p,
        })
    }

    /// A background for interventional SHAP of single rows, prepared once (its per-leaf
    /// tables; for models beyond their 64 path features, a copy of its columns).
    #[napi]
    pub fn prepare_background(&self, columns: Vec<JsColumn>) -> napi::Result<Background> {
        let x = as_matrix(&columns).map_err(crate::error::to_napi)?;
        guarded("preparing the background", || {
            self.inner.check_input(&x)?;
            if x.rows() == 0 {
                return Err(arrowshap_core::Error::Input(
                    "background has no rows".into(),
                ));
            }
            Ok(())
        })?;
        // prepared once: the per-leaf tables of `shap::background` (what `shap::interventional`
        // builds on every call), or the columns for models beyond its 64 path features
        let prepared = if shap::background::supported(&self.inner) {
            let ctl = RunControl::default();
            let bg = guarded("preparing the background", || {
                shap::background::Background::prepare(&self.inner, &x, &Default::default(), &ctl)
            })?;
            BackgroundData::Tables(bg)
        } else {
            BackgroundData::Columns(
                (0..x.cols())
                    .map(|j| (0..x.rows()).map(|r| x.get(r, j)).collect())
                    .collect(),
            )
        };
        Ok(Background {
            prepared: self.prepared.clone(),
            rows: x.rows(),
            background: prepared,
        })
    }
}

/// A background as [`Background`] keeps it.
enum BackgroundData {
    /// The per-leaf tables, prepared once.
    Tables(shap::background::Background),
    /// The columns (copied once), for models the tables do not support.
    Columns(Vec<Vec<f64>>),
}

/// A background prepared once with its model (the per-leaf tables of
/// `shap::background`), for interventional SHAP of a few rows at a time
/// (`Model.prepareBackground`): a call costs the same whatever the background size.
#[napi]
pub struct Background {
    prepared: Arc<Prepared>,
    rows: usize,
    background: BackgroundData,
}

#[napi]
impl Background {
    /// Background rows.
    #[napi(getter)]
    pub fn rows(&self) -> u32 {
        self.rows as u32
    }

    /// Interventional SHAP values of a few rows against this background, on the calling
    /// thread. `rows`: row-major `n × features`. Result: row-major `n × outputs ×
    /// (features + 1)`, the base value (mean raw prediction over the background) last;
    /// the same values as `shapInterventional` with this background.
    #[napi]
    pub fn shap_rows_sync(&self, rows: Float64Array) -> napi::Result<Float64Array> {
        let n = check_rows(&self.prepared, &rows)?;
        let model = &**self.prepared.model();
        let (m, k) = (model.num_features, model.num_outputs);
        let cols = Matrix::transpose_rows(&rows, n, m);
        let v = guarded("the interventional SHAP computation", || {
            let x = Matrix::from_columns_f64(&cols)?;
            let ctl = RunControl {
                threads: 1,
                ..Default::default()
            };
            let s = match &self.background {
                BackgroundData::Tables(bg) => bg.values(model, &x, &ctl)?,
                BackgroundData::Columns(c) => {
                    shap::interventional(model, &x, &Matrix::from_columns_f64(c)?, &ctl)?
                }
            };
            let mut out = vec![0.0; n * k * (m + 1)];
            for r in 0..n {
                for kk in 0..k {
                    for j in 0..=m {
                        out[(r * k + kk) * (m + 1) + j] = s.get(r, kk, j);
                    }
                }
            }
            Ok(out)
        })?;
        Ok(Float64Array::new(v))
    }
}
