//! TreeSHAP benches on a synthetic model grown like a trained one: 500 trees of depth 8
//! over 32 features (random features split at data quantiles, covers = row counts).
//!
//! `cargo bench -p arrowshap-core --bench treeshap -- --quick`; throughput is in rows/s
//! ("elem/s"). Everything runs on 2 threads.

use arrowshap_core::shap::{self, oracle, synth};
use arrowshap_core::{Matrix, RunControl};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rayon::prelude::*;
use std::time::Duration;

const TREES: usize = 500;
const DEPTH: usize = 8;
const FEATURES: usize = 32;
const THREADS: usize = 2;

fn rows_of(cols: &[Vec<f64>], n: usize) -> Vec<Vec<f64>> {
    cols.iter().map(|c| c[..n].to_vec()).collect()
}

fn benches(c: &mut Criterion) {
    let (model, _train) = synth::realistic(42, TREES, DEPTH, FEATURES, 5000);
    let data = synth::realistic_data(4242, FEATURES, 2000);
    let ctl = RunControl {
        threads: THREADS,
        ..Default::default()
    };
    let leaves: usize = model
        .trees
        .iter()
        .map(|t| t.nodes.iter().filter(|n| n.is_leaf()).count())
        .sum();
    eprintln!(
        "model: {} trees, depth {}, {} features, {:.1} leaves per tree",
        model.trees.len(),
        model.max_depth(),
        FEATURES,
        leaves as f64 / model.trees.len() as f64
    );

    let mut g = c.benchmark_group("path_dependent");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let x = Matrix::from_columns_f64(&data).unwrap();
    g.throughput(Throughput::Elements(2000));
    g.bench_function(BenchmarkId::new("fast", 2000), |b| {
        b.iter(|| shap::path_dependent(&model, &x, &ctl).unwrap())
    });
    let small = rows_of(&data, 100);
    let rows: Vec<Vec<f64>> = (0..100)
        .map(|r| small.iter().map(|c| c[r]).collect())
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .unwrap();
    g.throughput(Throughput::Elements(100));
    g.bench_function(BenchmarkId::new("oracle", 100), |b| {
        b.iter(|| {
            pool.install(|| {
                rows.par_iter()
                    .map(|r| oracle::path_dependent_row(&model, r))
                    .collect::<Vec<_>>()
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("interactions");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let xi = Matrix::from_columns_f64(&small).unwrap();
    g.throughput(Throughput::Elements(100));
    g.bench_function(BenchmarkId::new("fast", 100), |b| {
        b.iter(|| shap::interactions(&model, &xi, &ctl).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("interventional");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let bgc: Vec<Vec<f64>> = data.iter().map(|c| c[1000..1100].to_vec()).collect();
    let bg = Matrix::from_columns_f64(&bgc).unwrap();
    let cols200 = rows_of(&data, 200);
    let xv = Matrix::from_columns_f64(&cols200).unwrap();
    g.throughput(Throughput::Elements(200));
    g.bench_function(BenchmarkId::new("bg100", 200), |b| {
        b.iter(|| shap::interventional(&model, &xv, &bg, &ctl).unwrap())
    });
    g.finish();
}

criterion_group!(treeshap, benches);
criterion_main!(treeshap);
