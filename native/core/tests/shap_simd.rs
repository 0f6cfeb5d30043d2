//! The SIMD variants of the kernels (AVX-512, AVX2, baseline; picked at run time) give
//! bit-identical results. `ARROWSHAP_NO_SIMD` forces the baseline; this is the only test
//! in its binary, so changing the environment races with nothing.

use arrowshap_core::shap::{self, synth};
use arrowshap_core::{Matrix, RunControl};

#[test]
fn simd_variants_are_bit_identical() {
    let (model, data) = synth::realistic(21, 40, 8, 12, 3000);
    let cols: Vec<Vec<f64>> = data.iter().map(|c| c[..203].to_vec()).collect();
    let bcols: Vec<Vec<f64>> = data.iter().map(|c| c[500..540].to_vec()).collect();
    let x = Matrix::from_columns_f64(&cols).unwrap();
    let b = Matrix::from_columns_f64(&bcols).unwrap();
    let ctl = RunControl {
        threads: 2,
        ..Default::default()
    };
    let run = || {
        (
            shap::path_dependent(&model, &x, &ctl).unwrap(),
            shap::interactions(&model, &x, &ctl).unwrap(),
            shap::interventional(&model, &x, &b, &ctl).unwrap(),
        )
    };
    let best = run();
    std::env::set_var("ARROWSHAP_NO_SIMD", "1");
    let base = run();
    std::env::remove_var("ARROWSHAP_NO_SIMD");
    assert_eq!(best.0, base.0);
    assert_eq!(best.1, base.1);
    assert_eq!(best.2, base.2);
}
