//! KernelSHAP for a tree [`Model`] (evaluated inside the core) or for a JS function model.
//!
//! A JS model is a function `(columns: Float64Array[]) => Float64Array | Promise<Float64Array>`
//! (one column per feature in, row-major rows × outputs out). Its run has a thread of its
//! own (not a libuv pool thread, which a wait on JS would hold: with the pool busy, that
//! can deadlock): the core calls the model back in large blocks through a
//! `ThreadsafeFunction` queued without blocking, and that thread waits for the value (or
//! the promise's resolution) while the JS thread runs the model, so the event loop stays
//! free. The run's promise is settled on the JS thread through a deferred. A tree model's
//! run needs no JS and is an `AsyncTask` on the libuv pool. A throw, a rejection or a
//! malformed result becomes the run's rejection; nothing panics into Node.

use crate::columns::{JsColumn, OwnedColumns};
use crate::error::guarded;
use crate::model::Model;
use crate::run::{NativeRun, RunState};
use arrowshap_core::kernel::{
    kernel_shap_report, BackgroundSummary, BatchModel, KernelLink, KernelOptions, KernelReport,
    L1Reg, ShapValues,
};
use arrowshap_core::Ensemble;
use napi::bindgen_prelude::{AsyncTask, Either, Float64Array, Function, Object, Promise};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status, Task};
use napi_derive::napi;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake};

/// Options of a KernelSHAP run (all optional).
#[napi(object)]
#[derive(Default)]
pub struct KernelOptionsJs {
    /// Coalitions per row (default `2m + 2048`; full enumeration, exact, when ≥ `2^m − 2`).
    pub nsamples: Option<f64>,
    /// Seed of the coalition sampling and the background summary (default 0).
    pub seed: Option<f64>,
    /// `identity` (default) or `logit` (explain the log-odds of a probability output).
    pub link: Option<String>,
    /// L1 selection: keep this many features per row (default: no selection).
    pub num_features: Option<f64>,
    /// Background summary: `kmeans` or `sample` (default: none).
    pub summary: Option<String>,
    /// Clusters (`kmeans`) or rows (`sample`) of the summary.
    pub summary_size: Option<u32>,
    /// Rows per model call (default: 65536 for a JS model, 2048 for a tree model).
    pub batch_rows: Option<f64>,
    /// Position of the first row in the whole input (batches then match one call).
    pub row_offset: Option<f64>,
}

/// KernelSHAP values (layout of `ShapResult`: column-major, base value last) and the run's facts.
#[napi(object)]
pub struct KernelResult {
    /// Input rows.
    pub rows: u32,
    /// Model outputs.
    pub outputs: u32,
    /// Model features.
    pub features: u32,
    /// `(features + 1) × rows × outputs` values; column j is `values[j*rows*outputs ..]`, ordered (row, output).
    pub values: Float64Array,
    /// Warnings (e.g. a large background) for the caller to show.
    pub warnings: Vec<String>,
    /// Background rows used, after any summary.
    pub background_rows: u32,
    /// Rows explained by full enumeration (exact Shapley values).
    pub exact_rows: u32,
    /// Largest number of coalitions of one row.
    pub max_coalitions: u32,
    /// Model evaluations in total: rows passed to the model (for a tree model, the
    /// masked rows its structural evaluation stands for).
    pub model_rows: f64,
}

fn core_options(o: &KernelOptionsJs) -> napi::Result<KernelOptions> {
    let bad = |m: String| napi::Error::new(Status::InvalidArg, m);
    let count = |v: Option<f64>, what: &str| -> napi::Result<Option<usize>> {
        match v {
            None => Ok(None),
            Some(x) if x.is_finite() && x >= 1.0 && x.fract() == 0.0 => Ok(Some(x as usize)),
            Some(x) => Err(bad(format!("{what} must be a positive integer, got {x}"))),
        }
    };
    let seed = match o.seed {
        None => 0,
        Some(s) if s.is_finite() && s >= 0.0 && s.fract() == 0.0 && s <= 2f64.powi(53) => s as u64,
        Some(s) => return Err(bad(format!("seed must be a non-negative integer, got {s}"))),
    };
    let link = match o.link.as_deref() {
        None | Some("identity") => KernelLink::Identity,
        Some("logit") => KernelLink::Logit,
        Some(l) => {
            return Err(bad(format!(
                "link must be \"identity\" or \"logit\", got {l:?}"
            )))
        }
    };
    let size = o.summary_size.map(|s| s as usize);
    let background_summary = match (o.summary.as_deref(), size) {
        (None, _) => BackgroundSummary::None,
        (Some("kmeans"), Some(k)) if k >= 1 => BackgroundSummary::KMeans(k),
        (Some("sample"), Some(n)) if n >= 1 => BackgroundSummary::Sample(n),
        (Some(s), _) => {
            return Err(bad(format!(
                "background summary must be kmeans(k) or sample(n) with a positive size, got {s}"
            )))
        }
    };
    Ok(KernelOptions {
        nsamples: count(o.nsamples, "nsamples")?,
        seed,
        link,
        l1_reg: match count(o.num_features, "numFeatures")? {
            None => L1Reg::None,
            Some(k) => L1Reg::NumFeatures(k),
        },
        background_summary,
        batch_rows: count(o.batch_rows, "batchRows")?,
        row_offset: match o.row_offset {
            None => 0,
            Some(r) if r.is_finite() && r >= 0.0 && r.fract() == 0.0 => r as usize,
            Some(r) => {
                return Err(bad(format!(
                    "rowOffset must be a non-negative integer, got {r}"
                )))
            }
        },
    })
}

type JsPredict = ThreadsafeFunction<
    Vec<Float64Array>,
    Either<Float64Array, Promise<Float64Array>>,
    Vec<Float64Array>,
    Status,
    false,
>;

/// Polls a future to completion on this thread (parking between wake-ups): the worker
/// waits for a JS promise without an async runtime.
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Arc::new(Unpark(std::thread::current())).into();
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// A JS function model, called from one worker thread at a time with large blocks.
struct JsModel {
    predict: JsPredict,
    features: usize,
    outputs: usize,
    /// The JS-side failure (its message), kept to reject the run with it.
    failure: Mutex<Option<String>>,
}

impl JsModel {
    fn fail(&self, msg: String) -> arrowshap_core::Error {
        let mut f = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        f.get_or_insert(msg.clone());
        arrowshap_core::Error::Input(msg)
    }

    fn call(&self, cols: Vec<Float64Array>) -> Result<Float64Array, String> {
        let (tx, rx) = mpsc::channel();
        let status = self.predict.call_with_return_value(
            cols,
            ThreadsafeFunctionCallMode::NonBlocking,
            move |ret, _env: Env| {
                let _ = tx.send(ret);
                Ok(())
            },
        );
        if status != Status::Ok {
            return Err(format!("cannot call the model function ({status})"));
        }
        let ret = rx.recv().map_err(|_| {
            "the model function was not called (is Node shutting down?)".to_string()
        })?;
        match ret {
            Ok(Either::A(v)) => Ok(v),
            Ok(Either::B(p)) => block_on(p)
                .map_err(|e| format!("the model function's promise rejected: {}", e.reason)),
            Err(e) if e.status == Status::PendingException => {
                Err(format!("the model function threw: {}", e.reason))
            }
            Err(e) => Err(format!(
                "the model function returned an unexpected value: {}",
                e.reason
            )),
        }
    }
}

impl BatchModel for JsModel {
    fn num_features(&self) -> usize {
        self.features
    }
    fn num_outputs(&self) -> usize {
        self.outputs
    }
    fn predict(&self, rows: &[f64], out: &mut [f64]) -> arrowshap_core::Result<()> {
        let m = self.features;
        let n = rows.len() / m.max(1);
        let cols: Vec<Float64Array> = (0..m)
            .map(|j| {
                Float64Array::new(
                    rows.iter()
                        .skip(j)
                        .step_by(m)
                        .copied()
                        .collect::<Vec<f64>>(),
                )
            })
            .collect();
        let v = self.call(cols).map_err(|e| self.fail(e))?;
        if v.len() != out.len() {
            return Err(self.fail(format!(
                "the model function returned {} values for {n} rows × {} outputs (expected a row-major Float64Array of {})",
                v.len(),
                self.outputs,
                out.len()
            )));
        }
        out.copy_from_slice(&v);
        Ok(())
    }
    fn concurrent(&self) -> bool {
        false
    }
    fn batch_rows(&self) -> usize {
        65536
    }
}

/// The model a kernel task explains.
pub enum KernelModel {
    /// A tree ensemble, evaluated in the core.
    Tree(Arc<Ensemble>),
    /// A JS function.
    Js(Box<JsModelBox>),
}

/// Opaque holder of a JS model (keeps the threadsafe function private).
pub struct JsModelBox(JsModel);

/// A KernelSHAP run: an `AsyncTask` on the libuv pool for a tree model, on a thread of
/// its own for a JS model.
pub struct KernelTask {
    model: KernelModel,
    columns: OwnedColumns,
    background: OwnedColumns,
    weights: Option<Vec<f64>>,
    options: KernelOptions,
    threads: usize,
    state: Arc<RunState>,
}

/// Output of a kernel task before it reaches JS.
pub struct KernelRaw {
    shap: ShapValues,
    report: KernelReport,
}

impl KernelTask {
    /// The computation (off the JS thread).
    fn run(&mut self) -> napi::Result<KernelRaw> {
        let x = self.columns.matrix().map_err(crate::error::to_napi)?;
        let bg = self.background.matrix().map_err(crate::error::to_napi)?;
        let weights = self.weights.as_deref();
        let model: &dyn BatchModel = match &self.model {
            KernelModel::Tree(e) => &**e,
            KernelModel::Js(j) => &j.0,
        };
        let state = self.state.clone();
        let res = state.with_control(self.threads, |ctl| {
            guarded("KernelSHAP", || {
                kernel_shap_report(model, &x, &bg, weights, &self.options, ctl)
            })
        });
        if let KernelModel::Js(j) = &self.model {
            let failure = j.0.failure.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let (Err(_), Some(msg)) = (&res, failure) {
                if !self.state.cancel.load(Ordering::Relaxed) {
                    return Err(napi::Error::new(Status::GenericFailure, msg));
                }
            }
        }
        let (shap, report) = res?;
        Ok(KernelRaw { shap, report })
    }
}

impl KernelRaw {
    /// The JS result (the values buffer moved, not copied).
    fn into_js(self) -> KernelResult {
        let KernelRaw { shap, report } = self;
        KernelResult {
            rows: shap.rows as u32,
            outputs: shap.outputs as u32,
            features: shap.features as u32,
            values: Float64Array::new(shap.values),
            warnings: report.warnings,
            background_rows: report.background_rows as u32,
            exact_rows: report.exact_rows as u32,
            max_coalitions: report.max_coalitions as u32,
            model_rows: report.model_rows as f64,
        }
    }
}

impl Task for KernelTask {
    type Output = KernelRaw;
    type JsValue = KernelResult;

    fn compute(&mut self) -> napi::Result<KernelRaw> {
        self.run()
    }

    fn resolve(&mut self, _env: Env, out: KernelRaw) -> napi::Result<KernelResult> {
        Ok(out.into_js())
    }
}

/// KernelSHAP of a tree model (raw margin output) against background columns.
#[allow(clippy::too_many_arguments)]
#[napi(ts_return_type = "Promise<KernelResult>")]
pub fn kernel_shap_tree(
    model: &Model,
    columns: Vec<JsColumn>,
    background: Vec<JsColumn>,
    background_weights: Option<Float64Array>,
    options: Option<KernelOptionsJs>,
    threads: u32,
    run: &NativeRun,
) -> napi::Result<AsyncTask<KernelTask>> {
    let options = core_options(&options.unwrap_or_default())?;
    Ok(AsyncTask::new(KernelTask {
        model: KernelModel::Tree(model.inner.clone()),
        columns: OwnedColumns::copy(&columns),
        background: OwnedColumns::copy(&background),
        weights: background_weights.map(|w| w.to_vec()),
        options,
        threads: threads as usize,
        state: run.state.clone(),
    }))
}

/// KernelSHAP of a JS function model `(columns: Float64Array[]) => Float64Array | Promise<Float64Array>`
/// returning row-major rows × `numOutputs` values.
#[allow(clippy::too_many_arguments)]
#[napi(
    ts_args_type = "predict: (columns: Float64Array[]) => Float64Array | Promise<Float64Array>, numFeatures: number, numOutputs: number, columns: Array<Float64Array | Float32Array>, background: Array<Float64Array | Float32Array>, backgroundWeights: Float64Array | undefined | null, options: KernelOptionsJs | undefined | null, threads: number, run: NativeRun",
    ts_return_type = "Promise<KernelResult>"
)]
pub fn kernel_shap_js<'env>(
    env: &'env Env,
    predict: Function<'_, Vec<Float64Array>, Either<Float64Array, Promise<Float64Array>>>,
    num_features: u32,
    num_outputs: u32,
    columns: Vec<JsColumn>,
    background: Vec<JsColumn>,
    background_weights: Option<Float64Array>,
    options: Option<KernelOptionsJs>,
    threads: u32,
    run: &NativeRun,
) -> napi::Result<Object<'env>> {
    let options = core_options(&options.unwrap_or_default())?;
    if num_outputs == 0 {
        return Err(napi::Error::new(
            Status::InvalidArg,
            "numOutputs must be at least 1",
        ));
    }
    let tsfn: JsPredict = predict
        .build_threadsafe_function()
        .callee_handled::<false>()
        .build()?;
    let model = JsModel {
        predict: tsfn,
        features: num_features as usize,
        outputs: num_outputs as usize,
        failure: Mutex::new(None),
    };
    let mut task = KernelTask {
        model: KernelModel::Js(Box::new(JsModelBox(model))),
        columns: OwnedColumns::copy(&columns),
        background: OwnedColumns::copy(&background),
        weights: background_weights.map(|w| w.to_vec()),
        options,
        threads: threads as usize,
        state: run.state.clone(),
    };
    let (deferred, promise) = env.create_deferred()?;
    std::thread::Builder::new()
        .name("arrowshap-kernel-js".into())
        .spawn(move || {
            let result = task.run();
            // Settled on the JS thread, where the task (its typed arrays, the model
            // function) is released too.
            deferred.resolve(move |_env| {
                drop(task);
                result.map(KernelRaw::into_js)
            });
        })
        .map_err(|e| {
            napi::Error::new(
                Status::GenericFailure,
                format!("cannot start the KernelSHAP thread: {e}"),
            )
        })?;
    Ok(promise)
}
