//! Background (interventional) explanations with the background prepared once: a
//! `BackgroundTables` handle holds the per-leaf tables of one model and background, and
//! explains any number of input batches against them.

use crate::columns::{JsColumn, OwnedColumns};
use crate::error::guarded;
use crate::model::Model;
use crate::run::{NativeRun, RunState};
use crate::tasks::{ShapKind, ShapTask};
use arrowshap_core::shap::background::{Background, Options, Values};
use arrowshap_core::shap::Prepared;
use arrowshap_core::{Ensemble, RunControl};
use napi::bindgen_prelude::{AsyncTask, Float64Array};
use napi::{Env, Task};
use napi_derive::napi;
use std::sync::Arc;

/// How to prepare a background.
#[napi(object)]
pub struct BackgroundOptionsJs {
    /// `shapley` (default) or `banzhaf`.
    pub values: Option<String>,
    /// Also prepare the interaction tables (default false).
    pub interactions: Option<bool>,
}

/// A background prepared for one model (see `prepareBackgroundTables`).
#[napi]
pub struct BackgroundTables {
    model: Arc<Ensemble>,
    prepared: Arc<Prepared>,
    inner: Arc<Background>,
}

#[napi]
impl BackgroundTables {
    /// Number of background rows.
    #[napi(getter)]
    pub fn rows(&self) -> u32 {
        self.inner.rows() as u32
    }
    /// `shapley` or `banzhaf`.
    #[napi(getter)]
    pub fn values(&self) -> String {
        match self.inner.values_kind() {
            Values::Shapley => "shapley",
            Values::Banzhaf => "banzhaf",
        }
        .to_string()
    }
    /// Base value per output: the mean raw prediction over the background.
    #[napi(getter)]
    pub fn base_value(&self) -> Float64Array {
        Float64Array::new(self.inner.base_value().to_vec())
    }
    /// Bytes held by the prepared tables.
    #[napi(getter)]
    pub fn table_bytes(&self) -> f64 {
        self.inner.table_bytes() as f64
    }
    /// Values of `columns` (layout of `shapPathDependent`: column-major, base value last).
    #[napi(ts_return_type = "Promise<ShapResult>")]
    pub fn explain(
        &self,
        columns: Vec<JsColumn>,
        threads: u32,
        run: &NativeRun,
    ) -> AsyncTask<ShapTask> {
        self.task(columns, false, threads, run)
    }
    /// Interaction values of `columns` (layout of `shapInteractions`); needs a background
    /// prepared with `interactions: true`.
    #[napi(ts_return_type = "Promise<ShapResult>")]
    pub fn interactions(
        &self,
        columns: Vec<JsColumn>,
        threads: u32,
        run: &NativeRun,
    ) -> AsyncTask<ShapTask> {
        self.task(columns, true, threads, run)
    }

    fn task(
        &self,
        columns: Vec<JsColumn>,
        pairs: bool,
        threads: u32,
        run: &NativeRun,
    ) -> AsyncTask<ShapTask> {
        AsyncTask::new(ShapTask {
            model: self.model.clone(),
            prepared: self.prepared.clone(),
            columns: OwnedColumns::copy(&columns),
            kind: ShapKind::Background(self.inner.clone(), pairs),
            threads: threads as usize,
            state: run.state.clone(),
        })
    }
}

/// Parses the `values` option.
fn parse_values(v: Option<&str>) -> napi::Result<Values> {
    match v.unwrap_or("shapley") {
        "shapley" => Ok(Values::Shapley),
        "banzhaf" => Ok(Values::Banzhaf),
        other => Err(napi::Error::from_reason(format!(
            "values must be 'shapley' or 'banzhaf', got '{other}'"
        ))),
    }
}

/// Prepares `background` (one typed array per model feature) for `model`, off the main thread.
#[napi(ts_return_type = "Promise<BackgroundTables>")]
pub fn prepare_background_tables(
    model: &Model,
    background: Vec<JsColumn>,
    options: Option<BackgroundOptionsJs>,
    threads: u32,
    run: &NativeRun,
) -> napi::Result<AsyncTask<PrepareTask>> {
    let (values, interactions) = match &options {
        Some(o) => (
            parse_values(o.values.as_deref())?,
            o.interactions.unwrap_or(false),
        ),
        None => (Values::Shapley, false),
    };
    Ok(AsyncTask::new(PrepareTask {
        model: model.inner.clone(),
        prepared: model.prepared.clone(),
        background: OwnedColumns::copy(&background),
        opts: Options {
            values,
            interactions,
            ..Default::default()
        },
        threads: threads as usize,
        state: run.state.clone(),
    }))
}

/// The preparation, run on the libuv pool.
pub struct PrepareTask {
    model: Arc<Ensemble>,
    prepared: Arc<Prepared>,
    /// A copy of the background columns (JS may detach its buffers while the task runs).
    background: OwnedColumns,
    opts: Options,
    threads: usize,
    state: Arc<RunState>,
}

impl Task for PrepareTask {
    type Output = Background;
    type JsValue = BackgroundTables;

    fn compute(&mut self) -> napi::Result<Background> {
        let ctl = RunControl {
            threads: self.threads,
            cancel: Some(&self.state.cancel),
            progress: None,
        };
        let b = self.background.matrix().map_err(crate::error::to_napi)?;
        guarded("the background preparation", || {
            Background::prepare(&self.model, &b, &self.opts, &ctl)
        })
    }

    fn resolve(&mut self, _env: Env, out: Background) -> napi::Result<BackgroundTables> {
        Ok(BackgroundTables {
            model: self.model.clone(),
            prepared: self.prepared.clone(),
            inner: Arc::new(out),
        })
    }
}
