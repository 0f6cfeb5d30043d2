//! TreeSHAP on a CUDA GPU, loaded at run time, and the choice between GPU and CPU.
//!
//! ## Loading
//! The CUDA driver (`libcuda.so`) and NVRTC (`libnvrtc.so`) are opened with `dlopen` the
//! first time a GPU is asked for (cudarc's dynamic loading); nothing CUDA is needed to build,
//! and a machine without them only loses the GPU. The kernels (`kernel.cu`, embedded) are
//! compiled by NVRTC for the device's architecture once per process, with `--fmad=false`.
//! NVRTC comes with the CUDA toolkit, or from PyPI (`pip install nvidia-cuda-nvrtc`, then its
//! `nvidia/cu13/lib` on `LD_LIBRARY_PATH`).
//!
//! ## Choosing the device ([`Device`])
//! * `cpu`: the CPU explainers of [`crate::shap`].
//! * `gpu`: the GPU, or one [`Error::Device`] saying why it cannot run (no driver, no device,
//!   no NVRTC, a kernel that failed to build, a path with more than 32 distinct features).
//! * `auto`: the GPU when it is usable *and* the call is large (rows × model nodes ≥
//!   [`AUTO_MIN_WORK`], about 21,000 rows of a 100-tree depth-8 model), else the CPU; a GPU
//!   failure falls back to the CPU.
//!
//! ## The kernels
//! Every root-to-leaf path becomes a set of elements, one per distinct feature on it, with
//! `z` (the product of its splits' cover ratios) and its encoded splits ([`paths`]); paths are
//! packed whole into 32-lane bins, best fit decreasing (GPUTreeShap's path grouping). One warp
//! runs one bin for one row at a time, each lane one element: it decides its splits (`o` = 1
//! when the row takes all of them) and the path's SHAP value for its feature is
//!
//! `φ_i = v (o_i - z_i) ∫₀¹ ∏_{g≠i} (z_g + t (o_g - z_g)) dt`
//!
//! (the polynomial view of [`crate::shap`]), integrated exactly by `⌈d/2⌉` Gauss–Legendre
//! points; "all factors but mine" is a segmented exclusive prefix product times a suffix
//! product across the warp (5 shuffle steps each), so there is no division and no
//! extend/unwind recursion. Interactions pair lane `i` with lane `i + s` at step `s`,
//! carrying the product of the factors between them. Blocks own tiles of rows: they stage the
//! tile's inputs in shared memory and sum path-dependent values in shared memory, writing
//! each output once.
//!
//! ## Exactness and accumulation order
//! All arithmetic is f64. Each lane's contribution is bit-identical to [`host`]'s (the same
//! operations in the same order, no fused multiply-add). Contributions to one output entry
//! (one per path through that feature) are added with atomics in no fixed order, so results
//! can differ from run to run and from the CPU explainers by rounding only: the tests require
//! 1e-9 relative against the oracle for [`host`] and the device check 1e-6 against the CPU.
//!
//! ## Data movement
//! Models are uploaded once and kept on the device ([`GpuModel`] values cached per
//! `Arc<Ensemble>` while it lives). Rows are sent in chunks on two CUDA streams: the upload of
//! chunk `c + 1` and the download of chunk `c - 1` overlap the kernel of chunk `c`.

pub mod host;
pub mod paths;

#[cfg(feature = "cuda")]
mod cuda;

use crate::shap::{self, InteractionValues, ShapValues};
use crate::{Ensemble, Error, Matrix, Result, RunControl};
use std::sync::Arc;

/// The CUDA C++ source of the kernels (compiled by NVRTC at run time).
pub const KERNEL_SOURCE: &str = include_str!("kernel.cu");

/// `auto` uses the GPU from this many row × node visits per call (rows × nodes of all trees).
pub const AUTO_MIN_WORK: u64 = 1 << 30;

/// Where a computation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Device {
    /// The GPU when usable and the call large enough, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// The GPU, or an error.
    Gpu,
}

impl std::str::FromStr for Device {
    type Err = Error;
    fn from_str(s: &str) -> Result<Device> {
        match s {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "gpu" => Ok(Device::Gpu),
            _ => Err(Error::Input(format!(
                "device must be auto, cpu or gpu, got `{s}`"
            ))),
        }
    }
}

/// Where a computation ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Used {
    /// On the CPU.
    Cpu,
    /// On the GPU.
    Gpu,
}

impl Used {
    /// `cpu` or `gpu`.
    pub fn as_str(self) -> &'static str {
        match self {
            Used::Cpu => "cpu",
            Used::Gpu => "gpu",
        }
    }
}

/// The GPU the backend runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Device name, e.g. `NVIDIA H200`.
    pub name: String,
    /// Compute capability (major, minor).
    pub compute_capability: (i32, i32),
    /// Device memory in bytes.
    pub memory: usize,
}

/// The usable GPU, initialising the backend on first use (driver, device 0, kernels built by
/// NVRTC); the outcome is kept for the process. Errors: [`Error::Device`] saying why there is
/// none.
pub fn probe() -> Result<DeviceInfo> {
    #[cfg(feature = "cuda")]
    {
        cuda::backend().map(|b| b.info.clone())
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err(Error::Device(
            "this build has no CUDA backend (arrowshap-core built without its `cuda` feature)"
                .into(),
        ))
    }
}

/// A model uploaded to the GPU: its [`paths::Plan`] in device memory.
pub struct GpuModel {
    #[cfg(feature = "cuda")]
    inner: cuda::DeviceModel,
    #[cfg(not(feature = "cuda"))]
    _none: (),
}

/// The model's [`GpuModel`], uploading it on first use and keeping it while `model` lives.
pub fn gpu_model(model: &Arc<Ensemble>) -> Result<Arc<GpuModel>> {
    #[cfg(feature = "cuda")]
    {
        cuda::cached_model(model)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = model;
        probe().map(|_| unreachable!())
    }
}

/// Whether `auto` sends a call of `rows` rows on `model` to the GPU (before asking whether
/// one is usable): rows × nodes ≥ [`AUTO_MIN_WORK`].
pub fn large_enough(model: &Ensemble, rows: usize) -> bool {
    let nodes: u64 = model.trees.iter().map(|t| t.nodes.len() as u64).sum();
    nodes.saturating_mul(rows as u64) >= AUTO_MIN_WORK
}

/// Runs `gpu` or `cpu` as `device` says (see the module docs for `auto`).
fn dispatch<T>(
    device: Device,
    model: &Arc<Ensemble>,
    rows: usize,
    ctl: &RunControl,
    gpu: impl Fn(&GpuModel) -> Result<T>,
    cpu: impl Fn() -> Result<T>,
) -> Result<(T, Used)> {
    let try_gpu = || -> Result<T> {
        let g = gpu_model(model)?;
        gpu(&g)
    };
    match device {
        Device::Cpu => cpu().map(|v| (v, Used::Cpu)),
        Device::Gpu => try_gpu().map(|v| (v, Used::Gpu)),
        Device::Auto if !large_enough(model, rows) => cpu().map(|v| (v, Used::Cpu)),
        Device::Auto => match try_gpu() {
            Ok(v) => Ok((v, Used::Gpu)),
            Err(Error::Device(_)) if !ctl.is_cancelled() => cpu().map(|v| (v, Used::Cpu)),
            Err(e) => Err(e),
        },
    }
}

/// Path-dependent TreeSHAP ([`shap::path_dependent`]) on `device`; returns where it ran.
pub fn path_dependent(
    device: Device,
    model: &Arc<Ensemble>,
    x: &Matrix,
    ctl: &RunControl,
) -> Result<(ShapValues, Used)> {
    path_dependent_or(device, model, x, ctl, || {
        shap::path_dependent(model, x, ctl)
    })
}

/// [`path_dependent`] with `cpu` computing the CPU values (e.g. from a
/// [`shap::Prepared`] whose plans are already built).
pub fn path_dependent_or(
    device: Device,
    model: &Arc<Ensemble>,
    x: &Matrix,
    ctl: &RunControl,
    cpu: impl Fn() -> Result<ShapValues>,
) -> Result<(ShapValues, Used)> {
    model.check_input(x)?;
    dispatch(
        device,
        model,
        x.rows(),
        ctl,
        |g| run_path(g, model, x, ctl),
        cpu,
    )
}

/// SHAP interaction values ([`shap::interactions`]) on `device`; returns where it ran.
pub fn interactions(
    device: Device,
    model: &Arc<Ensemble>,
    x: &Matrix,
    ctl: &RunControl,
) -> Result<(InteractionValues, Used)> {
    interactions_or(device, model, x, ctl, || shap::interactions(model, x, ctl))
}

/// [`interactions`] with `cpu` computing the CPU values.
pub fn interactions_or(
    device: Device,
    model: &Arc<Ensemble>,
    x: &Matrix,
    ctl: &RunControl,
    cpu: impl Fn() -> Result<InteractionValues>,
) -> Result<(InteractionValues, Used)> {
    model.check_input(x)?;
    dispatch(
        device,
        model,
        x.rows(),
        ctl,
        |g| run_interactions(g, model, x, ctl),
        cpu,
    )
}

#[cfg(feature = "cuda")]
fn run_path(g: &GpuModel, model: &Ensemble, x: &Matrix, ctl: &RunControl) -> Result<ShapValues> {
    cuda::path_dependent(&g.inner, model, x, ctl)
}

#[cfg(feature = "cuda")]
fn run_interactions(
    g: &GpuModel,
    model: &Ensemble,
    x: &Matrix,
    ctl: &RunControl,
) -> Result<InteractionValues> {
    cuda::interactions(&g.inner, model, x, ctl)
}

#[cfg(not(feature = "cuda"))]
fn run_path(_: &GpuModel, _: &Ensemble, _: &Matrix, _: &RunControl) -> Result<ShapValues> {
    probe().map(|_| unreachable!())
}

#[cfg(not(feature = "cuda"))]
fn run_interactions(
    _: &GpuModel,
    _: &Ensemble,
    _: &Matrix,
    _: &RunControl,
) -> Result<InteractionValues> {
    probe().map(|_| unreachable!())
}

/// Builds [`KERNEL_SOURCE`] with NVRTC without needing a GPU, as the backend does at start-up:
/// `arch` `sm_XY` gives machine code (an ELF CUBIN, what the backend loads first), `compute_XY`
/// gives PTX text (its fallback). Exposed so tests and CI check that the kernels build wherever
/// NVRTC is installed. Errors: [`Error::Device`] when NVRTC cannot be loaded, or with NVRTC's
/// message when the source does not compile.
pub fn compile_kernels(arch: &'static str) -> Result<Vec<u8>> {
    #[cfg(feature = "cuda")]
    {
        match arch.strip_prefix("sm_").map(str::parse::<i32>) {
            Some(Ok(cc)) => cuda::compile_cubin(cc),
            Some(Err(_)) => Err(Error::Input(format!("unknown architecture {arch}"))),
            None => cuda::compile(arch).map(String::into_bytes),
        }
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = arch;
        probe().map(|_| unreachable!())
    }
}
