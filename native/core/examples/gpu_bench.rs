//! One GPU measurement of `benches/gpu` (run by `benches/gpu/run.sh`): arrowshap's GPU
//! path-dependent TreeSHAP against its CPU path on one model and one data file, printing one
//! JSON line. The Node addon calls the same core functions; this binary needs no Node, so it
//! also runs on GPU machines that have none.
//!
//! `gpu_bench --model FILE --data FILE [--repeats N] [--cpu-rows N] [--check-rows N]
//!            [--values-out FILE] [--interaction-rows N]`
//!
//! `--data` holds little-endian f64 values, column-major (one column per model feature, all
//! rows of column 0 first). `--values-out` receives the GPU values of the first
//! `--check-rows` rows, row-major `[row][feature…, bias]` (XGBoost's `pred_contribs` layout,
//! single-output models), for the comparison with XGBoost.

use arrowshap_core::gpu::{self, Device, Used};
use arrowshap_core::{model, shap, Matrix, RunControl};
use std::sync::Arc;
use std::time::Instant;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(args: &[String], name: &str, default: usize) -> usize {
    arg(args, name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v}"))
    })
}

/// Largest |a-b| and largest |a-b| / max(1, |b|).
fn errors(a: &[f64], b: &[f64]) -> (f64, f64) {
    a.iter().zip(b).fold((0.0, 0.0), |(ma, mr), (x, y)| {
        let d = (x - y).abs();
        (f64::max(ma, d), f64::max(mr, d / y.abs().max(1.0)))
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model_path = arg(&args, "--model").expect("--model FILE");
    let data_path = arg(&args, "--data").expect("--data FILE");
    let repeats = num(&args, "--repeats", 3).max(1);
    let cpu_rows = num(&args, "--cpu-rows", 50_000);
    let check_rows = num(&args, "--check-rows", 10_000);
    let interaction_rows = num(&args, "--interaction-rows", 0);

    let model = Arc::new(model::load_file(std::path::Path::new(&model_path)).expect("model"));
    let m = model.num_features;
    let bytes = std::fs::read(&data_path).expect("data file");
    let all: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let rows = all.len() / m;
    let cols: Vec<Vec<f64>> = (0..m)
        .map(|j| all[j * rows..(j + 1) * rows].to_vec())
        .collect();
    drop(all);
    let x = Matrix::from_columns_f64(&cols).expect("matrix");
    let ctl = RunControl::default();

    let t0 = Instant::now();
    let info = match gpu::probe() {
        Ok(i) => i,
        Err(e) => {
            println!("{{\"error\": {:?}}}", e.to_string());
            std::process::exit(2);
        }
    };
    let startup_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    gpu::gpu_model(&model).expect("upload");
    let upload_s = t1.elapsed().as_secs_f64();

    // warm-up (first launch), then the timed full runs
    let warm_rows = rows.min(10_000);
    let warm: Vec<Vec<f64>> = cols.iter().map(|c| c[..warm_rows].to_vec()).collect();
    let xw = Matrix::from_columns_f64(&warm).unwrap();
    gpu::path_dependent(Device::Gpu, &model, &xw, &ctl).expect("GPU warm-up");
    let mut times = Vec::new();
    let mut gpu_values = None;
    for _ in 0..repeats {
        let t = Instant::now();
        let (sv, used) = gpu::path_dependent(Device::Gpu, &model, &x, &ctl).expect("GPU run");
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(used, Used::Gpu);
        gpu_values = Some(sv);
    }
    let gpu_values = gpu_values.unwrap();
    times.sort_by(f64::total_cmp);
    let gpu_s = times[times.len() / 2];

    // CPU on the first cpu_rows rows, all cores
    let cn = rows.min(cpu_rows.max(1));
    let sub: Vec<Vec<f64>> = cols.iter().map(|c| c[..cn].to_vec()).collect();
    let xs = Matrix::from_columns_f64(&sub).unwrap();
    let t = Instant::now();
    let cpu = shap::path_dependent(&model, &xs, &ctl).expect("CPU run");
    let cpu_s = t.elapsed().as_secs_f64();
    let k = model.num_outputs;
    let mut gpu_sub = Vec::with_capacity(cpu.values.len());
    for j in 0..=m {
        gpu_sub.extend_from_slice(&gpu_values.column(j)[..cn * k]);
    }
    let (abs_err, rel_err) = errors(&gpu_sub, &cpu.values);

    // GPU values of the first check_rows rows, row-major [row][feature..., bias]
    if let Some(out) = arg(&args, "--values-out") {
        let n = rows.min(check_rows);
        let mut buf = Vec::with_capacity(n * (m + 1) * 8);
        for r in 0..n {
            for j in 0..=m {
                buf.extend_from_slice(&gpu_values.get(r, 0, j).to_le_bytes());
            }
        }
        std::fs::write(&out, buf).expect("values-out");
    }

    // interactions: GPU against CPU on a few rows
    let mut inter = String::from("null");
    if interaction_rows > 0 {
        let n = rows.min(interaction_rows);
        let few: Vec<Vec<f64>> = cols.iter().map(|c| c[..n].to_vec()).collect();
        let xf = Matrix::from_columns_f64(&few).unwrap();
        let t = Instant::now();
        let (g, _) = gpu::interactions(Device::Gpu, &model, &xf, &ctl).expect("GPU interactions");
        let g_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let c = shap::interactions(&model, &xf, &ctl).expect("CPU interactions");
        let c_s = t.elapsed().as_secs_f64();
        let (a, r) = errors(&g.values, &c.values);
        inter = format!(
            "{{\"rows\": {n}, \"gpu_rows_per_s\": {:.1}, \"cpu_rows_per_s\": {:.1}, \"max_abs_err\": {a:.3e}, \"max_rel_err\": {r:.3e}}}",
            n as f64 / g_s,
            n as f64 / c_s
        );
    }

    println!(
        "{{\"model\": {model_path:?}, \"trees\": {}, \"max_depth\": {}, \"features\": {m}, \"rows\": {rows}, \
         \"device\": {:?}, \"compute_capability\": \"{}.{}\", \"startup_s\": {startup_s:.3}, \"upload_s\": {upload_s:.3}, \
         \"gpu_s\": {gpu_s:.4}, \"gpu_rows_per_s\": {:.1}, \"gpu_times_s\": {times:?}, \
         \"cpu_rows\": {cn}, \"cpu_threads\": {}, \"cpu_rows_per_s\": {:.1}, \
         \"gpu_vs_cpu_max_abs_err\": {abs_err:.3e}, \"gpu_vs_cpu_max_rel_err\": {rel_err:.3e}, \"interactions\": {inter}}}",
        model.trees.len(),
        model.max_depth(),
        info.name,
        info.compute_capability.0,
        info.compute_capability.1,
        rows as f64 / gpu_s,
        rayon::current_num_threads(),
        cn as f64 / cpu_s,
    );
}
