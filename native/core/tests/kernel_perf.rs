//! Timing and error harness for KernelSHAP on a benchmark case (`benches/make_cases.py`).
//!
//! Ignored by default; run with
//! `KBENCH_DIR=benches/out/cases-quick/xgb_kernel cargo test -p arrowshap-core --release \
//!   --test kernel_perf -- --ignored --nocapture`
//! Optional: `KBENCH_SEEDS` (number of seeds for the error, default 10), `KBENCH_REPS`
//! (timing repetitions, default 5), `KBENCH_THREADS` (default 1), `KBENCH_NSAMPLES`
//! (default: the case's), `KBENCH_BG` / `KBENCH_ROWS` (cases without a background:
//! background rows and explained rows taken from X, default 50 / 100), `KBENCH_MAXROWS`
//! (explain only the first rows), `KBENCH_PAUSE_MS` (idle time before each timed
//! run, as between the bench's rounds), `KBENCH_EXACT_OUT` (write the exact values, row-major
//! rows × (M + 1), as f64 little-endian).

use arrowshap_core::kernel::{kernel_shap, BatchModel, KernelOptions};
use arrowshap_core::{Ensemble, Matrix, RunControl};
use std::path::PathBuf;
use std::time::Instant;

fn read_cols(path: &PathBuf, rows: usize, m: usize) -> Vec<Vec<f64>> {
    let b = std::fs::read(path).unwrap();
    let all: Vec<f64> = b
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (0..m)
        .map(|j| all[j * rows..(j + 1) * rows].to_vec())
        .collect()
}

fn meta_usize(meta: &str, key: &str) -> usize {
    let i = meta.find(&format!("\"{key}\"")).unwrap();
    let rest = &meta[i + key.len() + 2..];
    let rest = rest.trim_start_matches([':', ' ']);
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap();
    rest[..end].parse().unwrap()
}

fn env(key: &str) -> Option<usize> {
    std::env::var(key).ok().map(|v| v.parse().unwrap())
}

/// The same ensemble, seen by KernelSHAP as an opaque model (materialized masked rows).
struct Opaque<'a>(&'a Ensemble);
impl BatchModel for Opaque<'_> {
    fn num_features(&self) -> usize {
        self.0.num_features()
    }
    fn num_outputs(&self) -> usize {
        self.0.num_outputs()
    }
    fn predict(&self, rows: &[f64], out: &mut [f64]) -> arrowshap_core::Result<()> {
        self.0.predict(rows, out)
    }
    fn batch_rows(&self) -> usize {
        2048
    }
}

#[test]
#[ignore]
fn kernel_bench_case() {
    let Ok(dir) = std::env::var("KBENCH_DIR") else {
        eprintln!("KBENCH_DIR not set: nothing to do");
        return;
    };
    let dir = PathBuf::from(dir);
    let meta = std::fs::read_to_string(dir.join("meta.json")).unwrap();
    let (mut rows, m) = (meta_usize(&meta, "rows"), meta_usize(&meta, "features"));
    let nsamples = env("KBENCH_NSAMPLES").unwrap_or_else(|| meta_usize(&meta, "nsamples"));
    let file = if dir.join("model.json").exists() {
        "model.json"
    } else {
        "model.txt"
    };
    let model = arrowshap_core::model::load_file(&dir.join(file)).unwrap();
    let mut x = read_cols(&dir.join("X.f64"), rows, m);
    let bg = if meta.contains("\"bg_rows\"") {
        read_cols(&dir.join("bg.f64"), meta_usize(&meta, "bg_rows"), m)
    } else {
        // KBENCH_BG rows of X as the background, the next KBENCH_ROWS explained
        let nb = env("KBENCH_BG").unwrap_or(50);
        let n = env("KBENCH_ROWS").unwrap_or(100);
        let bg = x.iter().map(|c| c[..nb].to_vec()).collect();
        x = x.iter().map(|c| c[nb..nb + n].to_vec()).collect();
        rows = n;
        bg
    };
    if let Some(cap) = env("KBENCH_MAXROWS").filter(|&c| c < rows) {
        x = x.iter().map(|c| c[..cap].to_vec()).collect();
        rows = cap;
    }
    let (xm, bm) = (
        Matrix::from_columns_f64(&x).unwrap(),
        Matrix::from_columns_f64(&bg).unwrap(),
    );
    let threads = env("KBENCH_THREADS").unwrap_or(1);
    let ctl = RunControl {
        threads,
        ..Default::default()
    };
    let exact = arrowshap_core::shap::interventional(&model, &xm, &bm, &ctl).unwrap();
    if let Ok(p) = std::env::var("KBENCH_EXACT_OUT") {
        let mut b = Vec::new();
        for r in 0..rows {
            for j in 0..=m {
                b.extend_from_slice(&exact.get(r, 0, j).to_le_bytes());
            }
        }
        std::fs::write(p, b).unwrap();
    }
    let err = |opts: &KernelOptions, model: &dyn BatchModel| -> (f64, f64, f64) {
        let t = Instant::now();
        let s = kernel_shap(model, &xm, &bm, None, opts, &ctl).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let (mut max, mut sum) = (0.0f64, 0.0);
        for r in 0..rows {
            for j in 0..=m {
                let d = (s.get(r, 0, j) - exact.get(r, 0, j)).abs();
                max = max.max(d);
                sum += d;
            }
        }
        (max, sum / (rows * (m + 1)) as f64, secs)
    };
    let base = KernelOptions {
        nsamples: Some(nsamples),
        ..Default::default()
    };
    let reps = env("KBENCH_REPS").unwrap_or(5);
    let mut times = Vec::new();
    let pause = env("KBENCH_PAUSE_MS").unwrap_or(0);
    for _ in 0..reps {
        std::thread::sleep(std::time::Duration::from_millis(pause as u64));
        times.push(err(&base, &model).2);
    }
    times.sort_by(f64::total_cmp);
    let med = times[times.len() / 2];
    eprintln!(
        "tree model: {rows} rows, nsamples {nsamples}, {threads} threads: median {:.4} s = {:.1} rows/s (times {times:.4?})",
        med,
        rows as f64 / med
    );
    if std::env::var("KBENCH_OPAQUE").is_ok() {
        let mut times = Vec::new();
        for _ in 0..reps.min(3) {
            times.push(err(&base, &Opaque(&model)).2);
        }
        times.sort_by(f64::total_cmp);
        let med = times[times.len() / 2];
        eprintln!(
            "opaque model: median {:.4} s = {:.1} rows/s",
            med,
            rows as f64 / med
        );
    }
    let seeds = env("KBENCH_SEEDS").unwrap_or(10);
    let (mut smax, mut smean) = (Vec::new(), Vec::new());
    for seed in 0..seeds as u64 {
        let (mx, mean, _) = err(&KernelOptions { seed, ..base }, &model);
        smax.push(mx);
        smean.push(mean);
    }
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    eprintln!(
        "error over {seeds} seeds: mean of max abs err {:.3e} (min {:.3e}, max {:.3e}); mean abs err {:.3e}",
        avg(&smax),
        smax.iter().cloned().fold(f64::INFINITY, f64::min),
        smax.iter().cloned().fold(0.0, f64::max),
        avg(&smean)
    );
}
