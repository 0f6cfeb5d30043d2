//! The online path ([`Prepared`]'s row calls on the calling thread) gives the batch
//! results bit for bit: random ensembles (both split families, categorical splits, zero
//! covers, signed-zero and non-finite leaf values, multi-output, trees deep enough for
//! more than eight quadrature points), every small-batch size 1..=16 and beyond, NaNs.

use arrowshap_core::shap::synth::{self, Family, RandomSpec, Rng};
use arrowshap_core::shap::{self, PrepareWhat, Prepared};
use arrowshap_core::{Ensemble, Matrix, RunControl};
use proptest::prelude::*;
use std::sync::Arc;

fn ctl() -> RunControl<'static> {
    RunControl {
        threads: 2,
        ..Default::default()
    }
}

/// Row-major rows (with some NaNs) and the same as columns.
fn sample(rng: &mut Rng, model: &Ensemble, n: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let rows = synth::random_rows(rng, model, n);
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let cols = Matrix::transpose_rows(&flat, n, model.num_features);
    (flat, cols)
}

/// Equal bit for bit (any NaN equals any NaN).
fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

/// Asserts the row-major single-row results equal the batch table bit for bit.
fn assert_path_bits(p: &Prepared, flat: &[f64], cols: &[Vec<f64>], what: &str) {
    let x = Matrix::from_columns_f64(cols).unwrap();
    let batch = p.path_dependent(&x, &ctl()).unwrap();
    let free = shap::path_dependent(p.model(), &x, &ctl()).unwrap();
    assert!(
        same_bits(&batch.values, &free.values),
        "{what}: prepared batch vs free function"
    );
    let m = p.model().num_features;
    let k = p.model().num_outputs;
    // every small-batch size, starting anywhere
    for size in [1usize, 2, 5, 6, 7, 15, 16, 17, 40] {
        for start in (0..x.rows()).step_by(size.max(7)) {
            let nr = size.min(x.rows() - start);
            let got = p
                .path_dependent_rows(&flat[start * m..(start + nr) * m])
                .unwrap();
            assert_eq!(got.len(), nr * k * (m + 1));
            for r in 0..nr {
                for kk in 0..k {
                    for j in 0..=m {
                        let (a, b) = (got[(r * k + kk) * (m + 1) + j], batch.get(start + r, kk, j));
                        assert!(
                            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                            "{what}: size {size} row {} output {kk} column {j}: {a:e} vs {b:e}",
                            start + r
                        );
                    }
                }
            }
        }
    }
}

fn spec_strategy() -> impl Strategy<Value = (u64, RandomSpec, u8)> {
    (
        any::<u64>(),
        1usize..=20,
        1usize..=3,
        1usize..=5,
        1usize..=20,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0u8..4,
    )
        .prop_map(
            |(seed, features, outputs, trees, max_depth, lgb, categorical, zero_covers, leaves)| {
                let spec = RandomSpec {
                    features,
                    outputs,
                    trees,
                    max_depth,
                    family: if lgb {
                        Family::Lightgbm
                    } else {
                        Family::Xgboost
                    },
                    categorical,
                    zero_covers,
                };
                (seed, spec, leaves)
            },
        )
}

/// Rewrites some leaf values: 0 keeps them, 1 sets every third to −0.0 or +0.0, 2 and 3
/// make one leaf infinite or NaN (the single-row sweep then must step aside).
fn edit_leaves(model: &mut Ensemble, how: u8) {
    let mut i = 0usize;
    for t in &mut model.trees {
        for nd in t.nodes.iter_mut().filter(|n| n.is_leaf()) {
            i += 1;
            match how {
                1 if i % 3 == 0 => nd.value = if i % 2 == 0 { -0.0 } else { 0.0 },
                2 if i == 2 => nd.value = f64::INFINITY,
                3 if i == 2 => nd.value = f64::NAN,
                _ => {}
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn rows_equal_batch_bit_for_bit((seed, spec, leaves) in spec_strategy()) {
        let mut rng = Rng::new(seed);
        let mut model = synth::random_ensemble(&mut rng, &spec);
        edit_leaves(&mut model, leaves);
        let p = Prepared::new(Arc::new(model));
        let (flat, cols) = sample(&mut rng, p.model(), 45);
        assert_path_bits(&p, &flat, &cols, &format!("{spec:?} leaves {leaves}"));

        let x = Matrix::from_columns_f64(&cols).unwrap();
        let batch = p.interactions(&x, &ctl()).unwrap();
        prop_assert!(same_bits(&batch.values, &shap::interactions(p.model(), &x, &ctl()).unwrap().values));
        let m = p.model().num_features;
        let k = p.model().num_outputs;
        for r in [0usize, 1, 17, 44] {
            let got = p.interactions_rows(&flat[r * m..(r + 1) * m]).unwrap();
            for kk in 0..k {
                for i in 0..m {
                    for j in 0..m {
                        let (a, b) = (got[(kk * m + i) * m + j], batch.get(r, kk, i, j));
                        prop_assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
                    }
                }
            }
        }
    }
}

#[test]
fn realistic_deep_model_rows_equal_batch() {
    // depth 8 and 14 (up to 7 quadrature points), the shapes of the latency bench
    for (depth, trees) in [(8, 60), (14, 20)] {
        let (model, data) = synth::realistic(7, trees, depth, 32, 3000);
        let p = Prepared::new(Arc::new(model));
        p.prepare(PrepareWhat {
            path_dependent: true,
            interactions: false,
        });
        let cols: Vec<Vec<f64>> = data.iter().map(|c| c[..64].to_vec()).collect();
        let flat: Vec<f64> = (0..64)
            .flat_map(|r| cols.iter().map(move |c| c[r]))
            .collect();
        assert_path_bits(&p, &flat, &cols, &format!("realistic depth {depth}"));
    }
}

#[test]
fn rows_are_checked() {
    let (model, _) = synth::realistic(3, 4, 3, 5, 100);
    let p = Prepared::new(Arc::new(model));
    let err = p.path_dependent_rows(&[1.0; 7]).unwrap_err().to_string();
    assert!(
        err.contains("multiple of the model's 5 features, got 7 values"),
        "{err}"
    );
    assert!(p.interactions_rows(&[0.0; 4]).is_err());
    assert_eq!(p.path_dependent_rows(&[]).unwrap(), Vec::<f64>::new());
}

#[test]
fn threads_share_one_prepared_model() {
    let (model, data) = synth::realistic(11, 30, 6, 16, 2000);
    let p = Arc::new(Prepared::new(Arc::new(model)));
    let n = 40;
    let flat: Vec<f64> = (0..n)
        .flat_map(|r| data.iter().map(move |c| c[r]))
        .collect();
    let want = p.path_dependent_rows(&flat).unwrap();
    let m = p.model().num_features;
    let per = want.len() / n;
    std::thread::scope(|s| {
        for t in 0..4 {
            let (p, flat, want) = (&p, &flat, &want);
            s.spawn(move || {
                for i in 0..200 {
                    let r = (i * 7 + t) % n;
                    let got = p.path_dependent_rows(&flat[r * m..(r + 1) * m]).unwrap();
                    assert_eq!(got, want[r * per..(r + 1) * per]);
                }
            });
        }
    });
}
