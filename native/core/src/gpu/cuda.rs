//! The CUDA side of [`super`]: the driver and NVRTC through cudarc (loaded at run time), the
//! kernels built once per process, models uploaded once, rows streamed in chunks.

use super::paths::{self, Plan};
use super::{DeviceInfo, GpuModel, KERNEL_SOURCE};
use crate::shap::{InteractionValues, ShapValues};
use crate::{Column, Ensemble, Error, Matrix, Result, RunControl};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, DevicePtr, DeviceRepr, LaunchConfig,
    PushKernelArg,
};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// Threads per block (8 warps).
const BLOCK: u32 = 256;
/// Shared memory a block may use without opting in.
const SHARED: usize = 48 * 1024;
/// Device bytes of one chunk's output buffer (two chunks are in flight).
const CHUNK_BYTES: usize = 64 << 20;
/// Virtual architectures tried, newest first: the first not above the device's that NVRTC
/// accepts is used (PTX of an older architecture runs on newer devices).
const ARCHS: [(i32, &str); 12] = [
    (120, "compute_120"),
    (100, "compute_100"),
    (90, "compute_90"),
    (89, "compute_89"),
    (87, "compute_87"),
    (86, "compute_86"),
    (80, "compute_80"),
    (75, "compute_75"),
    (72, "compute_72"),
    (70, "compute_70"),
    (61, "compute_61"),
    (60, "compute_60"),
];

/// The initialised backend: context, two streams, the built kernels.
pub(super) struct Backend {
    pub(super) info: DeviceInfo,
    ctx: Arc<CudaContext>,
    streams: [Arc<CudaStream>; 2],
    path_fn: CudaFunction,
    interactions_fn: CudaFunction,
    /// One GPU computation at a time (the two streams belong to it).
    run: Mutex<()>,
}

fn driver_err(what: &str) -> impl Fn(cudarc::driver::DriverError) -> Error + '_ {
    move |e| Error::Device(format!("{what}: {e}"))
}

/// Runs `f`, turning a panic inside cudarc (a missing library symbol) into an error.
fn unpanic<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Error::Device(format!("{what}: {msg}")))
    })
}

/// The backend, initialised on first call; the outcome (or why there is none) is kept.
pub(super) fn backend() -> Result<&'static Backend> {
    static B: OnceLock<std::result::Result<Backend, String>> = OnceLock::new();
    B.get_or_init(|| unpanic("CUDA start-up", init).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Device(e.trim_start_matches("GPU: ").to_string()))
}

fn init() -> Result<Backend> {
    // SAFETY: only tries to open the library by its usual names.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(Error::Device(
            "no CUDA driver: libcuda.so (the NVIDIA driver) is not installed".into(),
        ));
    }
    let count = CudaContext::device_count().map_err(driver_err("no CUDA device"))?;
    if count < 1 {
        return Err(Error::Device("no CUDA device".into()));
    }
    let ctx = CudaContext::new(0).map_err(driver_err("cannot open CUDA device 0"))?;
    let name = ctx.name().map_err(driver_err("device name"))?;
    let cc = ctx
        .compute_capability()
        .map_err(driver_err("compute capability"))?;
    let memory = ctx.total_mem().map_err(driver_err("device memory"))?;
    if cc.0 < 6 {
        return Err(Error::Device(format!(
            "{name} has compute capability {}.{}; the kernels need 6.0 or newer",
            cc.0, cc.1
        )));
    }
    // Machine code for this device first: it loads on any driver of the same CUDA major
    // version, where PTX from a newer NVRTC would need a newer driver to JIT; PTX otherwise.
    let cubin = compile_cubin(cc.0 * 10 + cc.1).and_then(|bin| {
        ctx.load_module(cudarc::nvrtc::Ptx::from_binary(bin))
            .map_err(driver_err("loading the kernels"))
    });
    let module = match cubin {
        Ok(m) => m,
        Err(_) => {
            let ptx = compile_for(cc.0 * 10 + cc.1)?;
            ctx.load_module(cudarc::nvrtc::Ptx::from_src(ptx))
                .map_err(driver_err("loading the kernels"))?
        }
    };
    let path_fn = module
        .load_function("treeshap_path")
        .map_err(driver_err("treeshap_path"))?;
    let interactions_fn = module
        .load_function("treeshap_interactions")
        .map_err(driver_err("treeshap_interactions"))?;
    let streams = [
        ctx.new_stream().map_err(driver_err("stream"))?,
        ctx.new_stream().map_err(driver_err("stream"))?,
    ];
    Ok(Backend {
        info: DeviceInfo {
            name,
            compute_capability: cc,
            memory,
        },
        ctx,
        streams,
        path_fn,
        interactions_fn,
        run: Mutex::new(()),
    })
}

/// PTX for the newest architecture in [`ARCHS`] not above `cc` that NVRTC accepts.
fn compile_for(cc: i32) -> Result<String> {
    let mut last = Error::Device(format!("no known architecture at or below sm_{cc}"));
    for &(v, arch) in ARCHS.iter().filter(|(v, _)| *v <= cc) {
        match compile(arch) {
            Ok(ptx) => return Ok(ptx),
            Err(e) if v > 60 => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Compiles [`KERNEL_SOURCE`] to machine code (CUBIN) for `sm_<cc>` with NVRTC.
pub(super) fn compile_cubin(cc: i32) -> Result<Vec<u8>> {
    use cudarc::nvrtc::{result, sys};
    use std::ffi::CString;
    nvrtc_present()?;
    unpanic("NVRTC", || {
        let nv = |e: result::NvrtcError| Error::Device(format!("NVRTC sm_{cc}: {e}"));
        let src = CString::new(KERNEL_SOURCE).expect("no NUL in the kernel source");
        let name = CString::new("arrowshap_kernel.cu").expect("no NUL");
        let prog = result::create_program(&src, Some(&name)).map_err(nv)?;
        let opts = [
            "--fmad=false".to_string(),
            format!("--gpu-architecture=sm_{cc}"),
        ];
        // SAFETY: `prog` was just created and is destroyed once, below.
        let out = unsafe {
            result::compile_program(prog, &opts)
                .and_then(|()| {
                    let mut size = 0usize;
                    sys::nvrtcGetCUBINSize(prog, &mut size).result()?;
                    let mut bin = vec![0u8; size];
                    sys::nvrtcGetCUBIN(prog, bin.as_mut_ptr().cast()).result()?;
                    Ok(bin)
                })
                .map_err(nv)
        };
        // SAFETY: as above.
        let _ = unsafe { result::destroy_program(prog) };
        out
    })
}

fn nvrtc_present() -> Result<()> {
    // SAFETY: only tries to open the library by its usual names.
    if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        Ok(())
    } else {
        Err(Error::Device(
            "NVRTC (libnvrtc.so) is not installed: install the CUDA toolkit, or \
             `pip install nvidia-cuda-nvrtc` and add its nvidia/cu13/lib folder to LD_LIBRARY_PATH"
                .into(),
        ))
    }
}

/// Compiles [`KERNEL_SOURCE`] for `arch` with NVRTC (see [`super::compile_kernels`]).
pub(super) fn compile(arch: &'static str) -> Result<String> {
    nvrtc_present()?;
    unpanic("NVRTC", || {
        let opts = CompileOptions {
            fmad: Some(false),
            arch: Some(arch),
            name: Some("arrowshap_kernel.cu".into()),
            ..Default::default()
        };
        compile_ptx_with_opts(KERNEL_SOURCE, opts)
            .map(|p| p.to_src())
            .map_err(|e| {
                Error::Device(format!("NVRTC could not build the kernels for {arch}: {e}"))
            })
    })
}

/// The plan arrays' device addresses, passed by value as `kernel.cu`'s `struct Plan`.
#[repr(C)]
#[derive(Clone, Copy)]
struct PlanArgs {
    ptrs: [u64; 16],
    bins: u32,
}

// SAFETY: plain old data laid out as the C struct (16 pointers, then an unsigned int).
unsafe impl DeviceRepr for PlanArgs {}

/// A [`Plan`] in device memory. The slices stay alive (and unchanged) as long as the
/// addresses in `args` are used.
pub(super) struct DeviceModel {
    plan: Plan,
    _u32: Vec<CudaSlice<u32>>,
    _f64: Vec<CudaSlice<f64>>,
    args: PlanArgs,
}

fn upload(b: &Backend, plan: Plan) -> Result<DeviceModel> {
    let s = &b.streams[0];
    let up32 = |v: &Vec<u32>| -> Result<CudaSlice<u32>> {
        // never upload an empty array: a zero-size allocation has no address
        let v: &[u32] = if v.is_empty() { &[0] } else { v };
        s.clone_htod(v).map_err(driver_err("uploading the model"))
    };
    let up64 = |v: &Vec<f64>| -> Result<CudaSlice<f64>> {
        let v: &[f64] = if v.is_empty() { &[0.0] } else { v };
        s.clone_htod(v).map_err(driver_err("uploading the model"))
    };
    let p = &plan;
    // in the order of kernel.cu's struct Plan
    let u32s = [
        &p.lane_feature,
        &p.lane_edge_begin,
        &p.lane_edge_end,
        &p.lane_seg,
        &p.lane_output,
        &p.bin_points,
        &p.bin_max_path,
        &p.edge_info,
        &p.edge_cat_offset,
        &p.edge_cat_words,
        &p.cat_bits,
    ];
    let f64s = [
        &p.lane_z,
        &p.lane_value,
        &p.edge_threshold,
        &p.quad_t,
        &p.quad_w,
    ];
    let d32 = u32s.iter().map(|v| up32(v)).collect::<Result<Vec<_>>>()?;
    let d64 = f64s.iter().map(|v| up64(v)).collect::<Result<Vec<_>>>()?;
    let a32: Vec<u64> = d32.iter().map(|d| d.device_ptr(s).0).collect();
    let a64: Vec<u64> = d64.iter().map(|d| d.device_ptr(s).0).collect();
    let ptrs = [
        a32[0], a64[0], a32[1], a32[2], a32[3], a64[1], a32[4], a32[5], a32[6], a32[7], a64[2],
        a32[8], a32[9], a32[10], a64[3], a64[4],
    ];
    s.synchronize().map_err(driver_err("uploading the model"))?;
    Ok(DeviceModel {
        args: PlanArgs {
            ptrs,
            bins: plan.bins as u32,
        },
        plan,
        _u32: d32,
        _f64: d64,
    })
}

/// The model's [`GpuModel`], uploaded on first use and kept while the `Arc` lives.
pub(super) fn cached_model(model: &Arc<Ensemble>) -> Result<Arc<GpuModel>> {
    type Cache = Mutex<Vec<(Weak<Ensemble>, Arc<GpuModel>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let b = backend()?;
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let mut kept = cache.lock().unwrap_or_else(|p| p.into_inner());
    kept.retain(|(w, _)| w.strong_count() > 0);
    if let Some((_, g)) = kept
        .iter()
        .find(|(w, _)| std::ptr::eq(w.as_ptr(), Arc::as_ptr(model)))
    {
        return Ok(g.clone());
    }
    let plan = paths::plan(model)?;
    let g = Arc::new(GpuModel {
        inner: unpanic("uploading the model", || upload(b, plan))?,
    });
    kept.push((Arc::downgrade(model), g.clone()));
    Ok(g)
}

/// Rows per block tile when a row's inputs and `acc` more values per row share the block's
/// shared memory, at most 64; `None` when not even 8 rows fit.
fn tile_with(m: usize, acc: usize) -> Option<usize> {
    let t = SHARED / ((m + acc) * 8).max(8);
    (t >= 8).then_some(t.min(64))
}

/// Rows per block tile holding only inputs (at most `max`). Errors when one row does not fit.
fn x_tile(m: usize, max: usize) -> Result<usize> {
    match SHARED / (m * 8).max(8) {
        0 => Err(Error::Device(format!(
            "{m} features do not fit the kernels' shared memory (at most {})",
            SHARED / 8
        ))),
        t => Ok(t.min(max)),
    }
}

/// Copies rows `r0..r0+n` of `x` into `dst` (column-major, leading dimension `n`).
fn upload_rows(
    s: &Arc<CudaStream>,
    dst: &mut CudaSlice<f64>,
    x: &Matrix,
    r0: usize,
    n: usize,
) -> Result<()> {
    let mut tmp = Vec::new();
    for j in 0..x.cols() {
        let mut view = dst.slice_mut(j * n..(j + 1) * n);
        let res = match x.column(j) {
            Column::F64(v) => s.memcpy_htod(&v[r0..r0 + n], &mut view),
            Column::F32(v) => {
                tmp.clear();
                tmp.extend(v[r0..r0 + n].iter().map(|&a| a as f64));
                s.memcpy_htod(&tmp[..], &mut view)
            }
        };
        res.map_err(driver_err("uploading rows"))?;
    }
    Ok(())
}

/// One chunk's buffers.
struct Set {
    x: CudaSlice<f64>,
    out: CudaSlice<f64>,
}

/// Streams `x` through `launch` in chunks of `cap` rows on the two streams (see the module
/// docs of [`super`]), calling `download(stream, out, r0, n)` for each chunk after the next
/// one's kernel is queued. `zero` clears the output buffer before each launch.
#[allow(clippy::too_many_arguments)]
fn run_chunks(
    b: &Backend,
    x: &Matrix,
    ctl: &RunControl,
    cap: usize,
    out_per_row: usize,
    zero: bool,
    launch: impl Fn(&Arc<CudaStream>, &CudaSlice<f64>, usize, &mut CudaSlice<f64>) -> Result<()>,
    mut download: impl FnMut(&Arc<CudaStream>, &CudaSlice<f64>, usize, usize) -> Result<()>,
) -> Result<()> {
    let _one = b.run.lock().unwrap_or_else(|p| p.into_inner());
    b.ctx.bind_to_thread().map_err(driver_err("CUDA context"))?;
    let rows = x.rows();
    let m = x.cols();
    let cap = cap.min(rows).max(1);
    let mut sets = Vec::with_capacity(2);
    for s in &b.streams {
        sets.push(Set {
            x: s.alloc_zeros::<f64>(cap * m.max(1))
                .map_err(driver_err("device memory for rows"))?,
            out: s
                .alloc_zeros::<f64>(cap * out_per_row.max(1))
                .map_err(driver_err("device memory for results"))?,
        });
    }
    let mut pending: Option<(usize, usize, usize)> = None;
    for (c, r0) in (0..rows).step_by(cap).enumerate() {
        if ctl.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let n = cap.min(rows - r0);
        let i = c % 2;
        let s = &b.streams[i];
        let set = &mut sets[i];
        upload_rows(s, &mut set.x, x, r0, n)?;
        if zero {
            s.memset_zeros(&mut set.out.slice_mut(..n * out_per_row))
                .map_err(driver_err("clearing results"))?;
        }
        launch(s, &set.x, n, &mut set.out)?;
        if let Some((pi, pr0, pn)) = pending.take() {
            download(&b.streams[pi], &sets[pi].out, pr0, pn)?;
            ctl.report(pn);
        }
        pending = Some((i, r0, n));
    }
    if let Some((pi, pr0, pn)) = pending {
        download(&b.streams[pi], &sets[pi].out, pr0, pn)?;
        ctl.report(pn);
    }
    for s in &b.streams {
        s.synchronize().map_err(driver_err("finishing"))?;
    }
    Ok(())
}

fn launch_cfg(n: usize, tile: usize, shared: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (n.div_ceil(tile) as u32, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: shared as u32,
    }
}

/// Path-dependent SHAP values on the GPU.
pub(super) fn path_dependent(
    g: &DeviceModel,
    model: &Ensemble,
    x: &Matrix,
    ctl: &RunControl,
) -> Result<ShapValues> {
    let b = backend()?;
    let (rows, m, k) = (x.rows(), g.plan.features, g.plan.outputs);
    let mut values = vec![0.0; (m + 1) * rows * k];
    if rows > 0 && m > 0 {
        let (tile, shared_acc) = match tile_with(m, m * k) {
            Some(t) => (t, true),
            None => (x_tile(m, 64)?, false),
        };
        let shared = tile * m * 8 + if shared_acc { tile * m * k * 8 } else { 0 };
        let per_row = m * k;
        let cap = (CHUNK_BYTES / (per_row * 8)).max(tile) / tile * tile;
        let launch =
            |s: &Arc<CudaStream>, xs: &CudaSlice<f64>, n: usize, out: &mut CudaSlice<f64>| {
                let (n32, m32, k32, t32, sa) =
                    (n as u32, m as u32, k as u32, tile as u32, shared_acc as i32);
                let mut l = s.launch_builder(&b.path_fn);
                l.arg(&g.args)
                    .arg(xs)
                    .arg(&n32)
                    .arg(&m32)
                    .arg(&k32)
                    .arg(&t32)
                    .arg(&sa)
                    .arg(out);
                // SAFETY: the arguments match treeshap_path's parameters in kernel.cu; every index
                // the kernel forms is below the sizes of the buffers allocated for this chunk.
                unsafe { l.launch(launch_cfg(n, tile, shared)) }
                    .map(|_| ())
                    .map_err(driver_err("treeshap_path"))
            };
        let vals = &mut values;
        let download = |s: &Arc<CudaStream>, out: &CudaSlice<f64>, r0: usize, n: usize| {
            for j in 0..m {
                let dst = &mut vals[j * rows * k + r0 * k..][..n * k];
                s.memcpy_dtoh(&out.slice(j * n * k..(j + 1) * n * k), dst)
                    .map_err(driver_err("downloading results"))?;
            }
            Ok(())
        };
        unpanic("the GPU computation", || {
            run_chunks(b, x, ctl, cap, per_row, !shared_acc, launch, download)
        })?;
    }
    crate::shap::fill_base(&mut values, rows, m, &model.expected_value());
    Ok(ShapValues {
        rows,
        outputs: k,
        features: m,
        values,
    })
}

/// SHAP interaction values on the GPU.
pub(super) fn interactions(
    g: &DeviceModel,
    _model: &Ensemble,
    x: &Matrix,
    ctl: &RunControl,
) -> Result<InteractionValues> {
    let b = backend()?;
    let (rows, m, k) = (x.rows(), g.plan.features, g.plan.outputs);
    let t_len = rows * k * m;
    let mut values = vec![0.0; m * t_len];
    if rows > 0 && m > 0 {
        let tile = x_tile(m, 16)?;
        let per_row = k * m * m;
        let cap = (CHUNK_BYTES / (per_row * 8)).max(1);
        let launch =
            |s: &Arc<CudaStream>, xs: &CudaSlice<f64>, n: usize, out: &mut CudaSlice<f64>| {
                let (n32, m32, k32, t32) = (n as u32, m as u32, k as u32, tile as u32);
                let mut l = s.launch_builder(&b.interactions_fn);
                l.arg(&g.args)
                    .arg(xs)
                    .arg(&n32)
                    .arg(&m32)
                    .arg(&k32)
                    .arg(&t32)
                    .arg(out);
                // SAFETY: as in `path_dependent`, for treeshap_interactions.
                unsafe { l.launch(launch_cfg(n, tile, tile * m * 8)) }
                    .map(|_| ())
                    .map_err(driver_err("treeshap_interactions"))
            };
        let vals = &mut values;
        let download = |s: &Arc<CudaStream>, out: &CudaSlice<f64>, r0: usize, n: usize| {
            let tc = n * k * m;
            for j in 0..m {
                let dst = &mut vals[j * t_len + r0 * k * m..][..tc];
                s.memcpy_dtoh(&out.slice(j * tc..(j + 1) * tc), dst)
                    .map_err(driver_err("downloading results"))?;
            }
            Ok(())
        };
        unpanic("the GPU computation", || {
            run_chunks(b, x, ctl, cap, per_row, true, launch, download)
        })?;
    }
    Ok(InteractionValues {
        rows,
        outputs: k,
        features: m,
        values,
    })
}
