//! Single-row latency of the prepared path-dependent explainer on synthetic models
//! (`synth::realistic`): `cargo run --profile test-release -p arrowshap-core --example
//! row_latency -- [trees depth features calls]`. Prints p50/p99/min per row (µs), and the
//! batch lane kernel's time per row on the same rows for comparison.

use arrowshap_core::shap::{synth, Prepared};
use arrowshap_core::{Matrix, RunControl};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|s| s.parse().ok())
        .collect();
    let (trees, depth, features, calls) = (
        *a.first().unwrap_or(&500),
        *a.get(1).unwrap_or(&8),
        *a.get(2).unwrap_or(&32),
        *a.get(3).unwrap_or(&300),
    );
    let (model, data) = synth::realistic(7, trees, depth, features, 20_000);
    let nodes: usize = model.trees.iter().map(|t| t.nodes.len()).sum();
    let p = Prepared::new(Arc::new(model));
    let t0 = Instant::now();
    p.prepare(arrowshap_core::shap::PrepareWhat {
        path_dependent: true,
        interactions: false,
    });
    println!(
        "{trees} trees, depth {depth}, {features} features, {nodes} nodes; prepare {:.1} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );
    let m = features;
    let rows: Vec<Vec<f64>> = (0..calls)
        .map(|r| (0..m).map(|j| data[j][(r * 37) % data[j].len()]).collect())
        .collect();
    let mut times = Vec::with_capacity(calls);
    let mut cpu = Vec::with_capacity(calls);
    let mut check = 0.0;
    for row in &rows {
        let c = cpu_ns();
        let t = Instant::now();
        let v = p.path_dependent_rows(row).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e6);
        cpu.push((cpu_ns() - c) as f64 / 1e3);
        check += v[0];
    }
    cpu.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "single row, thread CPU time: p50 {:.1} µs  min {:.1} µs",
        cpu[cpu.len() / 2],
        cpu[0]
    );
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |f: f64| times[((times.len() - 1) as f64 * f).round() as usize];
    println!(
        "single row: p50 {:.1} µs  p99 {:.1} µs  min {:.1} µs  (checksum {check:.6})",
        q(0.5),
        q(0.99),
        times[0]
    );
    let cols: Vec<Vec<f64>> = (0..m)
        .map(|j| rows.iter().map(|r| r[j]).collect())
        .collect();
    let x = Matrix::from_columns_f64(&cols).unwrap();
    let ctl = RunControl {
        threads: 1,
        ..Default::default()
    };
    let t = Instant::now();
    let batch = p.path_dependent(&x, &ctl).unwrap();
    let per = t.elapsed().as_secs_f64() * 1e6 / calls as f64;
    let mut same = true;
    for (r, row) in rows.iter().enumerate().take(20) {
        let v = p.path_dependent_rows(row).unwrap();
        for j in 0..=m {
            same &= v[j].to_bits() == batch.get(r, 0, j).to_bits();
        }
    }
    println!("batch (1 thread, lane kernel): {per:.1} µs/row; rows = batch bit for bit: {same}");
}

/// CPU time this thread has run, in ns (Linux `schedstat`; 0 elsewhere): what a call costs
/// on a machine shared with other work, without the time it waited for a core.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
