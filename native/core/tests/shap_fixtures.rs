//! SHAP values against the libraries' own numbers, over every case in `tests/fixtures`:
//! XGBoost `pred_contribs` / `pred_interactions` and LightGBM `pred_contrib`, within
//! `1e-5 * max(1, |expected|)` (the libraries compute in f32 or with other summation
//! orders). Also: the fast path against the Lundberg oracle (1e-9), additivity against the
//! library's raw margin, and interventional values against brute force on a few rows.

mod common;

use arrowshap_core::shap::{self, brute, oracle};
use arrowshap_core::{Matrix, RunControl};

const LIB_TOL: f64 = 1e-5;

#[test]
fn shap_values_match_the_libraries() {
    let names = common::case_names();
    assert!(!names.is_empty(), "no fixture cases found");
    let ctl = RunControl {
        threads: 2,
        ..Default::default()
    };
    let mut with_interactions = 0;
    for name in &names {
        let (model, cols, expected) = common::load_case(name);
        let m = model.num_features;
        let k = model.num_outputs;
        assert_eq!(cols.len(), m, "{name}: input columns");
        let x = Matrix::from_columns_f64(&cols).unwrap();
        let rows = x.rows();

        // pred_contribs / pred_contrib: [row][output][features..., bias]
        let sv = shap::path_dependent(&model, &x, &ctl).unwrap();
        let mut got = Vec::with_capacity(rows * k * (m + 1));
        for r in 0..rows {
            for kk in 0..k {
                for j in 0..=m {
                    got.push(sv.get(r, kk, j));
                }
            }
        }
        common::assert_close(
            &format!("{name}: contribs"),
            &got,
            &common::floats(&expected, "contribs"),
            LIB_TOL,
        );

        // additivity against the library's raw margin
        let raw = common::floats(&expected, "raw");
        let sums: Vec<f64> = (0..rows * k)
            .map(|i| got[i * (m + 1)..(i + 1) * (m + 1)].iter().sum())
            .collect();
        common::assert_close(
            &format!("{name}: sum of contribs vs raw"),
            &sums,
            &raw,
            LIB_TOL,
        );

        // the fast path is the oracle
        for r in 0..rows {
            let row: Vec<f64> = cols.iter().map(|c| c[r]).collect();
            let o = oracle::path_dependent_row(&model, &row);
            common::assert_close(
                &format!("{name}: row {r} fast vs oracle"),
                &got[r * k * (m + 1)..(r + 1) * k * (m + 1)],
                &o,
                1e-9,
            );
        }

        // pred_interactions: [row][output][M+1][M+1]; compare the M×M part
        if expected.get("interactions").is_some() {
            with_interactions += 1;
            let want = common::floats(&expected, "interactions");
            let iv = shap::interactions(&model, &x, &ctl).unwrap();
            let mut g = Vec::new();
            let mut w = Vec::new();
            for r in 0..rows {
                for kk in 0..k {
                    for i in 0..m {
                        for j in 0..m {
                            g.push(iv.get(r, kk, i, j));
                            w.push(want[((r * k + kk) * (m + 1) + i) * (m + 1) + j]);
                        }
                    }
                }
            }
            common::assert_close(&format!("{name}: interactions"), &g, &w, LIB_TOL);
        }

        // interventional: additive and equal to brute force on a few rows (M is small here)
        let nbg = rows.min(16);
        let bcols: Vec<Vec<f64>> = cols.iter().map(|c| c[..nbg].to_vec()).collect();
        let bg = Matrix::from_columns_f64(&bcols).unwrap();
        let iv = shap::interventional(&model, &x, &bg, &ctl).unwrap();
        for r in 0..rows {
            for kk in 0..k {
                let s: f64 = (0..=m).map(|j| iv.get(r, kk, j)).sum();
                assert!(
                    common::close(s, raw[r * k + kk], LIB_TOL),
                    "{name}: interventional additivity row {r}: {s} vs {}",
                    raw[r * k + kk]
                );
            }
        }
        if m <= 10 {
            let bg_rows: Vec<Vec<f64>> = (0..nbg)
                .map(|r| bcols.iter().map(|c| c[r]).collect())
                .collect();
            for r in [0, rows / 2, rows - 1] {
                let row: Vec<f64> = cols.iter().map(|c| c[r]).collect();
                let b = brute::interventional_row(&model, &row, &bg_rows);
                let g: Vec<f64> = (0..k)
                    .flat_map(|kk| (0..=m).map(move |j| (kk, j)))
                    .map(|(kk, j)| iv.get(r, kk, j))
                    .collect();
                common::assert_close(
                    &format!("{name}: row {r} interventional vs brute"),
                    &g,
                    &b,
                    1e-9,
                );
            }
        }
    }
    eprintln!(
        "checked {} fixture cases ({} with interactions): {}",
        names.len(),
        with_interactions,
        names.join(", ")
    );
}
