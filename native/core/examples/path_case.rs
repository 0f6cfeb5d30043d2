//! CPU time per row of the batch path-dependent lane kernel on a bench case
//! (`benches/make_cases.py`): `cargo run --profile test-release -p arrowshap-core --example
//! path_case -- benches/out/cases/xgb_d8 [rows reps]`. One thread; prints the best of `reps`
//! calls and an FNV hash of every output bit (equal hashes: bit-identical results).

use arrowshap_core::shap::{PrepareWhat, Prepared};
use arrowshap_core::{Matrix, RunControl};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::Path::new(a.first().expect("a case directory"));
    let want: usize = a.get(1).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let reps: usize = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let model = arrowshap_core::model::load_file(&dir.join("model.json")).unwrap();
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    let rows = meta["rows"].as_u64().unwrap() as usize;
    let m = meta["features"].as_u64().unwrap() as usize;
    let bytes = std::fs::read(dir.join("X.f64")).unwrap();
    let all: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let n = want.min(rows);
    let cols: Vec<Vec<f64>> = (0..m)
        .map(|j| all[j * rows..j * rows + n].to_vec())
        .collect();
    let x = Matrix::from_columns_f64(&cols).unwrap();
    let p = Prepared::new(Arc::new(model));
    p.prepare(PrepareWhat {
        path_dependent: true,
        interactions: false,
    });
    let ctl = RunControl {
        threads: 1,
        ..Default::default()
    };
    let mut best = f64::INFINITY;
    let mut hash = 0xcbf29ce484222325u64;
    for _ in 0..reps {
        let t = Instant::now();
        let v = p.path_dependent(&x, &ctl).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        hash = 0xcbf29ce484222325;
        for x in &v.values {
            hash = (hash ^ x.to_bits()).wrapping_mul(0x100000001b3);
        }
    }
    println!(
        "{n} rows, 1 thread: best {:.1} µs per row ({:.0} rows/s), output hash {hash:016x}",
        best * 1e6 / n as f64,
        n as f64 / best
    );
}
