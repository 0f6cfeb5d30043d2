//! The device choice (`auto` / `cpu` / `gpu`) for path-dependent and interaction values, and
//! what JS may ask about the GPU. The work itself is `arrowshap_core::gpu`.

use crate::columns::{JsColumn, OwnedColumns};
use crate::error::guarded;
use crate::model::Model;
use crate::run::{NativeRun, RunState};
use arrowshap_core::gpu::{self, Device};
use arrowshap_core::shap::Prepared;
use arrowshap_core::Ensemble;
use napi::bindgen_prelude::{AsyncTask, Float64Array};
use napi::{Env, Task};
use napi_derive::napi;
use std::sync::Arc;

/// Whether a GPU is usable here, and which (the first call starts the CUDA backend).
#[napi(object)]
pub struct GpuInfo {
    /// True when `device: gpu` can run.
    pub available: bool,
    /// Device name, when available.
    pub name: Option<String>,
    /// Compute capability such as `9.0`, when available.
    pub compute_capability: Option<String>,
    /// Device memory in bytes, when available.
    pub memory: Option<f64>,
    /// Why there is none, when not available.
    pub reason: Option<String>,
}

/// Probes the GPU backend (driver, device, kernels built by NVRTC); the outcome is kept.
#[napi]
pub fn gpu_info() -> GpuInfo {
    match guarded("the GPU probe", gpu::probe) {
        Ok(i) => GpuInfo {
            available: true,
            name: Some(i.name),
            compute_capability: Some(format!(
                "{}.{}",
                i.compute_capability.0, i.compute_capability.1
            )),
            memory: Some(i.memory as f64),
            reason: None,
        },
        Err(e) => GpuInfo {
            available: false,
            name: None,
            compute_capability: None,
            memory: None,
            reason: Some(e.reason.trim_start_matches("GPU: ").to_string()),
        },
    }
}

/// A result and the device that computed it.
#[napi(object)]
pub struct DeviceShapResult {
    /// Input rows.
    pub rows: u32,
    /// Model outputs.
    pub outputs: u32,
    /// Model features.
    pub features: u32,
    /// Values, laid out as `shapPathDependent` / `shapInteractions` lay them out.
    pub values: Float64Array,
    /// `cpu` or `gpu`: where it ran.
    pub device: String,
}

/// Which values a [`DeviceShapTask`] computes.
pub enum DeviceKind {
    /// Path-dependent SHAP values.
    PathDependent,
    /// Interaction values.
    Interactions,
}

/// Path-dependent or interaction values on a device, off the main thread.
pub struct DeviceShapTask {
    model: Arc<Ensemble>,
    /// The model's CPU plans (the CPU side runs from them, as the other tasks do).
    prepared: Arc<Prepared>,
    columns: OwnedColumns,
    kind: DeviceKind,
    device: Device,
    threads: usize,
    state: Arc<RunState>,
}

/// A finished [`DeviceShapTask`] before it reaches JS.
pub struct DeviceRaw {
    rows: usize,
    outputs: usize,
    features: usize,
    values: Vec<f64>,
    used: gpu::Used,
}

impl Task for DeviceShapTask {
    type Output = DeviceRaw;
    type JsValue = DeviceShapResult;

    fn compute(&mut self) -> napi::Result<DeviceRaw> {
        let x = self.columns.matrix().map_err(crate::error::to_napi)?;
        let state = self.state.clone();
        state.with_control(self.threads, |ctl| {
            guarded("the SHAP computation", || {
                let (rows, outputs, features, values, used) = match self.kind {
                    DeviceKind::PathDependent => {
                        let cpu = || self.prepared.path_dependent(&x, ctl);
                        let (s, used) =
                            gpu::path_dependent_or(self.device, &self.model, &x, ctl, cpu)?;
                        (s.rows, s.outputs, s.features, s.values, used)
                    }
                    DeviceKind::Interactions => {
                        let cpu = || self.prepared.interactions(&x, ctl);
                        let (s, used) =
                            gpu::interactions_or(self.device, &self.model, &x, ctl, cpu)?;
                        (s.rows, s.outputs, s.features, s.values, used)
                    }
                };
                Ok(DeviceRaw {
                    rows,
                    outputs,
                    features,
                    values,
                    used,
                })
            })
        })
    }

    fn resolve(&mut self, _env: Env, out: DeviceRaw) -> napi::Result<DeviceShapResult> {
        Ok(DeviceShapResult {
            rows: out.rows as u32,
            outputs: out.outputs as u32,
            features: out.features as u32,
            values: Float64Array::new(out.values),
            device: out.used.as_str().to_string(),
        })
    }
}

#[napi]
impl Model {
    /// Path-dependent TreeSHAP on `device` (`auto`, `cpu` or `gpu`); the result names where it ran.
    #[napi(ts_return_type = "Promise<DeviceShapResult>")]
    pub fn shap_path_dependent_on(
        &self,
        columns: Vec<JsColumn>,
        threads: u32,
        device: String,
        run: &NativeRun,
    ) -> napi::Result<AsyncTask<DeviceShapTask>> {
        self.device_task(DeviceKind::PathDependent, columns, threads, &device, run)
    }

    /// SHAP interaction values on `device` (`auto`, `cpu` or `gpu`); the result names where it ran.
    #[napi(ts_return_type = "Promise<DeviceShapResult>")]
    pub fn shap_interactions_on(
        &self,
        columns: Vec<JsColumn>,
        threads: u32,
        device: String,
        run: &NativeRun,
    ) -> napi::Result<AsyncTask<DeviceShapTask>> {
        self.device_task(DeviceKind::Interactions, columns, threads, &device, run)
    }

    fn device_task(
        &self,
        kind: DeviceKind,
        columns: Vec<JsColumn>,
        threads: u32,
        device: &str,
        run: &NativeRun,
    ) -> napi::Result<AsyncTask<DeviceShapTask>> {
        let device = device.parse().map_err(crate::error::to_napi)?;
        Ok(AsyncTask::new(DeviceShapTask {
            model: self.inner.clone(),
            prepared: self.prepared.clone(),
            columns: OwnedColumns::copy(&columns),
            kind,
            device,
            threads: threads as usize,
            state: run.state.clone(),
        }))
    }
}
