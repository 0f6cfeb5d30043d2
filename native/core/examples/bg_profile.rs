//! Where background (interventional) SHAP spends its time: preparing the background
//! (counting fail masks, building the tables) against explaining the rows, on a synthetic
//! model (`synth::realistic`): `cargo run --profile test-release -p arrowshap-core
//! --example bg_profile -- [trees depth features rows threads bg_rows...]`.
//! Prints wall and process CPU time per phase; CPU time is what the load of other
//! processes does not inflate.

use arrowshap_core::shap::background::{Background, Options};
use arrowshap_core::shap::synth;
use arrowshap_core::{Matrix, RunControl};
use std::time::Instant;

/// CPU time of this process (all threads), in seconds.
fn cpu_s() -> f64 {
    let mut t = libc_timespec { sec: 0, nsec: 0 };
    // SAFETY: CLOCK_PROCESS_CPUTIME_ID (2) with a valid out-pointer.
    unsafe { clock_gettime(2, &mut t) };
    t.sec as f64 + t.nsec as f64 * 1e-9
}

#[repr(C)]
struct libc_timespec {
    sec: i64,
    nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, tp: *mut libc_timespec) -> i32;
}

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|s| s.parse().ok())
        .collect();
    let (trees, depth, features, rows, threads) = (
        *a.first().unwrap_or(&100),
        *a.get(1).unwrap_or(&6),
        *a.get(2).unwrap_or(&32),
        *a.get(3).unwrap_or(&500),
        *a.get(4).unwrap_or(&2),
    );
    let sizes: Vec<usize> = if a.len() > 5 {
        a[5..].to_vec()
    } else {
        vec![100, 10_000, 100_000]
    };
    let (model, _) = synth::realistic(7, trees, depth, features, 20_000);
    let x_cols = synth::realistic_data(11, features, rows);
    let x = Matrix::from_columns_f64(&x_cols).unwrap();
    let ctl = RunControl {
        threads,
        ..Default::default()
    };
    println!("{trees} trees, depth {depth}, {features} features, {rows} rows, {threads} threads");
    for &nb in &sizes {
        let bg_cols = synth::realistic_data(13, features, nb);
        let bg = Matrix::from_columns_f64(&bg_cols).unwrap();
        let (t, c) = (Instant::now(), cpu_s());
        let prepared = Background::prepare(&model, &bg, &Options::default(), &ctl).unwrap();
        let (tp, cp) = (t.elapsed().as_secs_f64(), cpu_s() - c);
        let (t, c) = (Instant::now(), cpu_s());
        let v = prepared.values(&model, &x, &ctl).unwrap();
        let (tv, cv) = (t.elapsed().as_secs_f64(), cpu_s() - c);
        println!(
            "bg {nb:>8}: prepare {:8.1} ms wall {:8.1} ms cpu ({:.2} µs cpu/bg row) | values {:7.1} ms wall {:7.1} ms cpu ({:.1} µs cpu/row) | total {:.1} ms, {:.0} rows/s | tables {:.1} MB | check {:.6}",
            tp * 1e3,
            cp * 1e3,
            cp * 1e6 / nb as f64,
            tv * 1e3,
            cv * 1e3,
            cv * 1e6 / rows as f64,
            (tp + tv) * 1e3,
            rows as f64 / (tp + tv),
            prepared.table_bytes() as f64 / 1e6,
            v.values.iter().sum::<f64>()
        );
    }
}
