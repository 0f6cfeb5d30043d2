//! Property tests of the SHAP explainers on random ensembles: the fast paths against the
//! Lundberg oracle and exact enumeration, additivity, interaction identities, thread
//! determinism, cancellation and input errors.

mod common;
use common::{columns, ctl};

use arrowshap_core::shap::synth::{self, Family, RandomSpec, Rng};
use arrowshap_core::shap::{self, brute, oracle, ShapValues};
use arrowshap_core::{Ensemble, Error, Matrix, RunControl};
use proptest::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const TOL: f64 = 1e-9;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOL * b.abs().max(1.0) || (a.is_nan() && b.is_nan())
}

fn spec_strategy() -> impl Strategy<Value = (u64, RandomSpec)> {
    (
        any::<u64>(),
        1usize..=8,
        1usize..=3,
        1usize..=4,
        1usize..=6,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(seed, features, outputs, trees, max_depth, lgb, categorical)| {
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
                    zero_covers: false,
                };
                (seed, spec)
            },
        )
}

/// Checks a ShapValues table against per-row vectors in the `[k * (M + 1) + j]` layout.
fn assert_rows_match(got: &ShapValues, want: &[Vec<f64>], what: &str) {
    let (m, k) = (got.features, got.outputs);
    for (r, w) in want.iter().enumerate() {
        for kk in 0..k {
            for j in 0..=m {
                let (a, b) = (got.get(r, kk, j), w[kk * (m + 1) + j]);
                assert!(
                    close(a, b),
                    "{what}: row {r} output {kk} column {j}: {a} vs {b}"
                );
            }
        }
    }
}

fn assert_additive(model: &Ensemble, sv: &ShapValues, rows: &[Vec<f64>], what: &str) {
    let (m, k) = (sv.features, sv.outputs);
    let mut pred = vec![0.0; k];
    for (r, row) in rows.iter().enumerate() {
        model.predict_row_into(row, &mut pred);
        for (kk, &p) in pred.iter().enumerate() {
            let total: f64 = (0..=m).map(|j| sv.get(r, kk, j)).sum();
            assert!(
                close(total, p),
                "{what}: additivity, row {r} output {kk}: {total} vs {p}"
            );
        }
    }
}

fn check_path_dependent(model: &Ensemble, rows: &[Vec<f64>], with_brute: bool) {
    let m = model.num_features;
    let cols = columns(rows, m);
    let x = Matrix::from_columns_f64(&cols).unwrap();
    let fast = shap::path_dependent(model, &x, &ctl(2)).unwrap();
    assert_eq!(
        fast,
        shap::path_dependent(model, &x, &ctl(1)).unwrap(),
        "threads 1 vs 2"
    );
    assert_eq!(
        (fast.rows, fast.outputs, fast.features),
        (rows.len(), model.num_outputs, m)
    );
    let orc: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| oracle::path_dependent_row(model, r))
        .collect();
    assert_rows_match(&fast, &orc, "fast vs oracle");
    if with_brute {
        let bf: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| brute::path_dependent_row(model, r))
            .collect();
        assert_rows_match(&fast, &bf, "fast vs brute");
    }
    assert_additive(model, &fast, rows, "path_dependent");
}

fn check_interactions(model: &Ensemble, rows: &[Vec<f64>], with_brute: bool) {
    let m = model.num_features;
    let cols = columns(rows, m);
    let x = Matrix::from_columns_f64(&cols).unwrap();
    let iv = shap::interactions(model, &x, &ctl(2)).unwrap();
    assert_eq!(
        iv,
        shap::interactions(model, &x, &ctl(1)).unwrap(),
        "threads 1 vs 2"
    );
    let sv = shap::path_dependent(model, &x, &ctl(2)).unwrap();
    assert_eq!(iv.values.len(), rows.len() * model.num_outputs * m * m);
    for (r, row) in rows.iter().enumerate() {
        let bf = if with_brute {
            Some(brute::interactions_row(model, row))
        } else {
            None
        };
        for k in 0..model.num_outputs {
            for i in 0..m {
                let mut sum = 0.0;
                for j in 0..m {
                    let v = iv.get(r, k, i, j);
                    sum += v;
                    assert!(
                        close(v, iv.get(r, k, j, i)),
                        "not symmetric: row {r} ({i},{j}) {v} vs {}",
                        iv.get(r, k, j, i)
                    );
                    if let Some(bf) = &bf {
                        let b = bf[(k * m + i) * m + j];
                        assert!(
                            close(v, b),
                            "interactions vs brute: row {r} output {k} ({i},{j}): {v} vs {b}"
                        );
                    }
                }
                assert!(
                    close(sum, sv.get(r, k, i)),
                    "row sum {sum} vs shap {}",
                    sv.get(r, k, i)
                );
            }
        }
    }
}

fn check_interventional(model: &Ensemble, rows: &[Vec<f64>], bg: &[Vec<f64>]) {
    let m = model.num_features;
    let cols = columns(rows, m);
    let bcols = columns(bg, m);
    let x = Matrix::from_columns_f64(&cols).unwrap();
    let b = Matrix::from_columns_f64(&bcols).unwrap();
    let sv = shap::interventional(model, &x, &b, &ctl(2)).unwrap();
    assert_eq!(
        sv,
        shap::interventional(model, &x, &b, &ctl(1)).unwrap(),
        "threads 1 vs 2"
    );
    let bf: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| brute::interventional_row(model, r, bg))
        .collect();
    assert_rows_match(&sv, &bf, "interventional vs brute");
    assert_additive(model, &sv, rows, "interventional");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    /// Fast path = Lundberg oracle = brute force, and additive, on adversarial models.
    #[test]
    fn path_dependent_matches_oracle_and_brute((seed, spec) in spec_strategy()) {
        let mut rng = Rng::new(seed);
        let model = synth::random_ensemble(&mut rng, &spec);
        model.validate("synthetic").unwrap();
        let rows = synth::random_rows(&mut rng, &model, 9);
        check_path_dependent(&model, &rows, true);
    }

    /// Interactions are symmetric, sum to the SHAP values and equal the enumerated index.
    #[test]
    fn interactions_match_brute((seed, spec) in spec_strategy()) {
        let mut rng = Rng::new(seed);
        let model = synth::random_ensemble(&mut rng, &spec);
        let rows = synth::random_rows(&mut rng, &model, 5);
        check_interactions(&model, &rows, true);
    }

    /// Interventional values equal the enumerated interventional game, and are additive.
    #[test]
    fn interventional_matches_brute((seed, spec) in spec_strategy(), nbg in 1usize..=12) {
        let mut rng = Rng::new(seed);
        let model = synth::random_ensemble(&mut rng, &spec);
        let rows = synth::random_rows(&mut rng, &model, 4);
        let bg = synth::random_rows(&mut rng, &model, nbg);
        check_interventional(&model, &rows, &bg);
    }

    /// Zero covers (a child no training row reached) are handled exactly.
    #[test]
    fn zero_covers((seed, mut spec) in spec_strategy()) {
        spec.zero_covers = true;
        let mut rng = Rng::new(seed);
        let model = synth::random_ensemble(&mut rng, &spec);
        let rows = synth::random_rows(&mut rng, &model, 6);
        check_path_dependent(&model, &rows, true);
        check_interactions(&model, &rows, true);
    }
}

/// Deeper, realistic trees (more distinct features per path than brute force can take):
/// fast path against the oracle; interactions against the SHAP values.
#[test]
fn realistic_deep_trees_match_oracle() {
    for (depth, features) in [(8, 24), (12, 40)] {
        let (model, data) = synth::realistic(7 + depth as u64, 12, depth, features, 3000);
        let rows: Vec<Vec<f64>> = (0..37)
            .map(|r| data.iter().map(|c| c[r * 11]).collect())
            .collect();
        check_path_dependent(&model, &rows, false);
        check_interactions(&model, &rows[..9], false);
    }
}

/// LightGBM-like unbalanced trees 40 splits deep with repeated features and every LightGBM
/// split kind: many quadrature points, many merged duplicates.
#[test]
fn very_deep_chains_match_oracle() {
    use arrowshap_core::{Node, SplitKind, Tree, LEAF};
    let mut rng = Rng::new(99);
    let mut model = synth::random_ensemble(
        &mut rng,
        &RandomSpec {
            features: 30,
            outputs: 2,
            trees: 6,
            max_depth: 1,
            family: Family::Lightgbm,
            categorical: false,
            zero_covers: false,
        },
    );
    for t in model.trees.iter_mut() {
        // a chain: at each level one child is a leaf, the other goes on; covers add up
        let depth = 40;
        let mut nodes = Vec::new();
        for d in 0..depth {
            let kind = match rng.below(4) {
                0 => SplitKind::LgbNumericNone,
                1 => SplitKind::LgbNumericZero,
                2 => SplitKind::LgbNumericNan,
                _ => SplitKind::LgbCategorical {
                    nan_goes_right: rng.chance(0.5),
                },
            };
            let leaf_left = rng.chance(0.5);
            let (leaf_idx, next_idx) = (2 * d + 1, 2 * d + 2);
            let (left, right) = if leaf_left {
                (leaf_idx, next_idx)
            } else {
                (next_idx, leaf_idx)
            };
            nodes.push(Node {
                left: left as u32,
                right: right as u32,
                feature: rng.below(if d % 3 == 0 { 4 } else { 30 }) as u32,
                kind,
                default_left: rng.chance(0.5),
                threshold: rng.range(-2.0, 2.0),
                cat_offset: 0,
                cat_words: 1,
                value: 0.0,
                cover: 0.0,
                gain: 1.0,
            });
            nodes.push(Node {
                left: LEAF,
                right: LEAF,
                value: rng.range(-1.0, 1.0),
                cover: rng.range(1.0, 50.0),
                ..nodes[0].clone()
            });
        }
        nodes.push(Node {
            left: LEAF,
            right: LEAF,
            value: rng.range(-1.0, 1.0),
            cover: rng.range(1.0, 50.0),
            ..nodes[0].clone()
        });
        // indices: internal node of level d at 2d, its leaf at 2d+1, the last leaf at 2*depth
        for d in (0..depth).rev() {
            let (l, r) = (nodes[2 * d].left as usize, nodes[2 * d].right as usize);
            nodes[2 * d].cover = nodes[l].cover + nodes[r].cover;
        }
        *t = Tree {
            nodes,
            cat_bits: vec![rng.next_u64() as u32],
        };
    }
    model.validate("chain").unwrap();
    let rows = synth::random_rows(&mut rng, &model, 20);
    check_path_dependent(&model, &rows, false);
}

fn all_three(
    model: &Ensemble,
    x: &Matrix,
    bg: &Matrix,
    c: &RunControl,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    (
        shap::path_dependent(model, x, c).unwrap().values,
        shap::interactions(model, x, c).unwrap().values,
        shap::interventional(model, x, bg, c).unwrap().values,
    )
}

/// Bit-for-bit the same result for 1, 2 and 3 threads (several blocks each).
#[test]
fn deterministic_across_threads() {
    let (model, data) = synth::realistic(3, 20, 6, 10, 2000);
    let rows: Vec<Vec<f64>> = (0..301)
        .map(|r| data.iter().map(|c| c[r]).collect())
        .collect();
    let bg: Vec<Vec<f64>> = (1000..1070)
        .map(|r| data.iter().map(|c| c[r]).collect())
        .collect();
    let (cols, bcols) = (columns(&rows, 10), columns(&bg, 10));
    let x = Matrix::from_columns_f64(&cols).unwrap();
    let b = Matrix::from_columns_f64(&bcols).unwrap();
    let one = all_three(&model, &x, &b, &ctl(1));
    assert_eq!(one, all_three(&model, &x, &b, &ctl(2)));
    assert_eq!(one, all_three(&model, &x, &b, &ctl(3)));
    assert_eq!(one, all_three(&model, &x, &b, &ctl(0)));
}

/// f32 columns give the values of their f64 widening.
#[test]
fn f32_columns() {
    let (model, data) = synth::realistic(5, 10, 5, 6, 500);
    let c32: Vec<Vec<f32>> = data
        .iter()
        .map(|c| c[..50].iter().map(|&v| v as f32).collect())
        .collect();
    let c64: Vec<Vec<f64>> = c32
        .iter()
        .map(|c| c.iter().map(|&v| v as f64).collect())
        .collect();
    let x32 = Matrix::new(c32.iter().map(|c| arrowshap_core::Column::F32(c)).collect()).unwrap();
    let x64 = Matrix::from_columns_f64(&c64).unwrap();
    assert_eq!(
        shap::path_dependent(&model, &x32, &ctl(2)).unwrap(),
        shap::path_dependent(&model, &x64, &ctl(2)).unwrap()
    );
}

/// Cancellation stops every explainer with Error::Cancelled.
#[test]
fn cancellation() {
    let (model, data) = synth::realistic(4, 5, 4, 5, 300);
    let x = Matrix::from_columns_f64(&data).unwrap();
    let flag = AtomicBool::new(true);
    let c = RunControl {
        threads: 2,
        cancel: Some(&flag),
        progress: None,
    };
    assert!(matches!(
        shap::path_dependent(&model, &x, &c),
        Err(Error::Cancelled)
    ));
    assert!(matches!(
        shap::interactions(&model, &x, &c),
        Err(Error::Cancelled)
    ));
    assert!(matches!(
        shap::interventional(&model, &x, &x, &c),
        Err(Error::Cancelled)
    ));
}

/// A cancellation raised while a run is under way (here by the progress callback after the
/// first block) stops it at the next block.
#[test]
fn cancellation_during_a_run() {
    let (model, data) = synth::realistic(4, 5, 4, 5, 2000);
    let x = Matrix::from_columns_f64(&data).unwrap();
    let flag = AtomicBool::new(false);
    let done = AtomicUsize::new(0);
    let report = |n: usize| {
        done.fetch_add(n, Ordering::Relaxed);
        flag.store(true, Ordering::Relaxed);
    };
    let c = RunControl {
        threads: 1,
        cancel: Some(&flag),
        progress: Some(&report),
    };
    let bcols: Vec<Vec<f64>> = data.iter().map(|c| c[..10].to_vec()).collect();
    let b = Matrix::from_columns_f64(&bcols).unwrap();
    type Run<'a> = Box<dyn Fn() -> bool + 'a>;
    let runs: Vec<Run> = vec![
        Box::new(|| matches!(shap::path_dependent(&model, &x, &c), Err(Error::Cancelled))),
        Box::new(|| matches!(shap::interactions(&model, &x, &c), Err(Error::Cancelled))),
        Box::new(|| {
            matches!(
                shap::interventional(&model, &x, &b, &c),
                Err(Error::Cancelled)
            )
        }),
    ];
    for run in runs {
        flag.store(false, Ordering::Relaxed);
        done.store(0, Ordering::Relaxed);
        assert!(run());
        let d = done.load(Ordering::Relaxed);
        assert!(d > 0 && d < 2000, "stopped after {d} rows");
    }
}

/// Progress adds up to the number of rows.
#[test]
fn progress_counts_rows() {
    let (model, data) = synth::realistic(4, 5, 4, 5, 1000);
    let x = Matrix::from_columns_f64(&data).unwrap();
    let bcols: Vec<Vec<f64>> = data.iter().map(|c| c[..20].to_vec()).collect();
    let b = Matrix::from_columns_f64(&bcols).unwrap();
    let done = AtomicUsize::new(0);
    let report = |n: usize| {
        done.fetch_add(n, Ordering::Relaxed);
    };
    let c = RunControl {
        threads: 2,
        cancel: None,
        progress: Some(&report),
    };
    shap::path_dependent(&model, &x, &c).unwrap();
    assert_eq!(done.swap(0, Ordering::Relaxed), 1000);
    shap::interactions(&model, &x, &c).unwrap();
    assert_eq!(done.swap(0, Ordering::Relaxed), 1000);
    shap::interventional(&model, &x, &b, &c).unwrap();
    assert_eq!(done.swap(0, Ordering::Relaxed), 1000);
}

/// Wrong column counts and an empty background are input errors.
#[test]
fn input_errors() {
    let (model, data) = synth::realistic(4, 3, 3, 5, 100);
    let x = Matrix::from_columns_f64(&data).unwrap();
    let short = Matrix::from_columns_f64(&data[..4]).unwrap();
    let c = ctl(1);
    assert!(matches!(
        shap::path_dependent(&model, &short, &c),
        Err(Error::Input(_))
    ));
    assert!(matches!(
        shap::interactions(&model, &short, &c),
        Err(Error::Input(_))
    ));
    assert!(matches!(
        shap::interventional(&model, &short, &x, &c),
        Err(Error::Input(_))
    ));
    assert!(matches!(
        shap::interventional(&model, &x, &short, &c),
        Err(Error::Input(_))
    ));
    let empty: Vec<Vec<f64>> = vec![Vec::new(); 5];
    let e = Matrix::from_columns_f64(&empty).unwrap();
    match shap::interventional(&model, &x, &e, &c) {
        Err(Error::Input(msg)) => assert_eq!(msg, "background has no rows"),
        other => panic!("expected an input error, got {other:?}"),
    }
    // no rows to explain is fine
    let sv = shap::path_dependent(&model, &e, &c).unwrap();
    assert_eq!((sv.rows, sv.values.len()), (0, 0));
    let iv = shap::interactions(&model, &e, &c).unwrap();
    assert_eq!(iv.values.len(), 0);
    let sv = shap::interventional(&model, &e, &x, &c).unwrap();
    assert_eq!(sv.values.len(), 0);
}

/// Large backgrounds take several passes over bit-set chunks; the result equals brute force.
#[test]
fn interventional_many_background_rows() {
    let mut rng = Rng::new(11);
    let spec = RandomSpec {
        features: 5,
        outputs: 2,
        trees: 3,
        max_depth: 5,
        family: Family::Xgboost,
        categorical: true,
        zero_covers: false,
    };
    let model = synth::random_ensemble(&mut rng, &spec);
    let rows = synth::random_rows(&mut rng, &model, 3);
    let bg = synth::random_rows(&mut rng, &model, 5000);
    check_interventional(&model, &rows, &bg);
}
