//! The background explainer (per-leaf pattern tables) against the former per-pair bit-set
//! walk (`shap::interventional_bitset`, the oracle) and against enumeration of the game
//! `v(S) = mean_z f(x_S, z_notS)`: Shapley and Banzhaf values and interaction values, on
//! random ensembles with NaNs, categorical splits, several outputs, dense and sparse
//! tables, background sizes 1 to 10^5 and trees of depth up to 40.

mod common;
use common::{columns, ctl};

use arrowshap_core::shap::background::{Background, Options, Values};
use arrowshap_core::shap::synth::{self, Family, RandomSpec, Rng};
use arrowshap_core::shap::{self, brute, InteractionValues, ShapValues};
use arrowshap_core::{Ensemble, Error, Matrix, Node, RunControl, SplitKind, Tree};

const TOL: f64 = 1e-9;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOL * b.abs().max(1.0)
}

fn spec(
    features: usize,
    outputs: usize,
    trees: usize,
    depth: usize,
    lgb: bool,
    cat: bool,
) -> RandomSpec {
    RandomSpec {
        features,
        outputs,
        trees,
        max_depth: depth,
        family: if lgb {
            Family::Lightgbm
        } else {
            Family::Xgboost
        },
        categorical: cat,
        zero_covers: false,
    }
}

fn opts(values: Values, interactions: bool, dense: bool) -> Options {
    Options {
        values,
        interactions,
        dense_max_features: if dense { 12 } else { 0 },
        ..Default::default()
    }
}

fn assert_same(a: &ShapValues, b: &ShapValues, what: &str) {
    assert_eq!(
        (a.rows, a.outputs, a.features),
        (b.rows, b.outputs, b.features)
    );
    for (i, (x, y)) in a.values.iter().zip(&b.values).enumerate() {
        assert!(close(*x, *y), "{what}: entry {i}: {x} vs {y}");
    }
}

/// The game `v(S)` per output, `v[S * k + kk]`, by evaluating every hybrid.
fn game(model: &Ensemble, row: &[f64], bg: &[Vec<f64>]) -> Vec<f64> {
    let (m, k) = (model.num_features, model.num_outputs);
    let mut v = vec![0.0; (1 << m) * k];
    let mut h = vec![0.0; m];
    let mut p = vec![0.0; k];
    for s in 0..1usize << m {
        for z in bg {
            for j in 0..m {
                h[j] = if s >> j & 1 == 1 { row[j] } else { z[j] };
            }
            model.predict_row_into(&h, &mut p);
            for kk in 0..k {
                v[s * k + kk] += p[kk] / bg.len() as f64;
            }
        }
    }
    v
}

fn fact(n: usize) -> f64 {
    (1..=n).map(|i| i as f64).product()
}

/// Values by enumeration: `[kk * m + i]`.
fn brute_values(v: &[f64], m: usize, k: usize, values: Values) -> Vec<f64> {
    let mut out = vec![0.0; k * m];
    for kk in 0..k {
        for i in 0..m {
            for s in 0..1usize << m {
                if s >> i & 1 == 1 {
                    continue;
                }
                let w = match values {
                    Values::Shapley => {
                        let c = s.count_ones() as usize;
                        fact(c) * fact(m - c - 1) / fact(m)
                    }
                    Values::Banzhaf => 0.5f64.powi(m as i32 - 1),
                };
                out[kk * m + i] += w * (v[(s | 1 << i) * k + kk] - v[s * k + kk]);
            }
        }
    }
    out
}

/// Interaction matrices by enumeration: `[(kk * m + i) * m + j]`, half the index off the
/// diagonal, diagonal = value − Σ off-diagonal.
fn brute_interactions(v: &[f64], m: usize, k: usize, values: Values) -> Vec<f64> {
    let phi = brute_values(v, m, k, values);
    let mut out = vec![0.0; k * m * m];
    for kk in 0..k {
        let val = |s: usize| v[s * k + kk];
        for i in 0..m {
            for j in 0..m {
                if i == j {
                    continue;
                }
                let mut acc = 0.0;
                for s in 0..1usize << m {
                    if s >> i & 1 == 1 || s >> j & 1 == 1 {
                        continue;
                    }
                    let c = s.count_ones() as usize;
                    let w = match values {
                        Values::Shapley => fact(c) * fact(m - c - 2) / fact(m - 1),
                        Values::Banzhaf => 0.5f64.powi(m as i32 - 2),
                    };
                    acc +=
                        w * (val(s | 1 << i | 1 << j) - val(s | 1 << i) - val(s | 1 << j) + val(s));
                }
                out[(kk * m + i) * m + j] = acc / 2.0;
            }
            let off: f64 = (0..m)
                .filter(|&j| j != i)
                .map(|j| out[(kk * m + i) * m + j])
                .sum();
            out[(kk * m + i) * m + i] = phi[kk * m + i] - off;
        }
    }
    out
}

struct Case {
    model: Ensemble,
    rows: Vec<Vec<f64>>,
    bg: Vec<Vec<f64>>,
}

fn case(seed: u64, s: &RandomSpec, nrows: usize, nbg: usize) -> Case {
    let mut rng = Rng::new(seed);
    let model = synth::random_ensemble(&mut rng, s);
    let rows = synth::random_rows(&mut rng, &model, nrows);
    let bg = synth::random_rows(&mut rng, &model, nbg);
    Case { model, rows, bg }
}

fn prepare(c: &Case, o: &Options) -> Background {
    let m = c.model.num_features;
    let bc = columns(&c.bg, m);
    let bm = Matrix::from_columns_f64(&bc).unwrap();
    Background::prepare(&c.model, &bm, o, &ctl(2)).unwrap()
}

fn values(c: &Case, o: &Options) -> ShapValues {
    let xc = columns(&c.rows, c.model.num_features);
    let xm = Matrix::from_columns_f64(&xc).unwrap();
    prepare(c, o).values(&c.model, &xm, &ctl(2)).unwrap()
}

fn interactions(c: &Case, o: &Options) -> InteractionValues {
    let xc = columns(&c.rows, c.model.num_features);
    let xm = Matrix::from_columns_f64(&xc).unwrap();
    prepare(c, o).interactions(&c.model, &xm, &ctl(2)).unwrap()
}

fn oracle(c: &Case) -> ShapValues {
    let m = c.model.num_features;
    let (xc, bc) = (columns(&c.rows, m), columns(&c.bg, m));
    let (xm, bm) = (
        Matrix::from_columns_f64(&xc).unwrap(),
        Matrix::from_columns_f64(&bc).unwrap(),
    );
    shap::interventional_bitset(&c.model, &xm, &bm, &ctl(2)).unwrap()
}

/// Shapley values equal the bit-set walk, dense and sparse tables alike, on many random
/// ensembles (NaN, categorical, LightGBM missing types, several outputs).
#[test]
fn shapley_equals_bitset_walk() {
    for seed in 0..60u64 {
        let s = spec(
            2 + seed as usize % 9,
            1 + seed as usize % 3,
            1 + seed as usize % 5,
            1 + seed as usize % 8,
            seed % 2 == 1,
            seed % 3 != 0,
        );
        let nbg = [1, 2, 7, 64, 65, 300][seed as usize % 6];
        let c = case(seed, &s, 23, nbg);
        let want = oracle(&c);
        for dense in [true, false] {
            let got = values(&c, &opts(Values::Shapley, dense && seed % 2 == 0, dense));
            assert_same(&got, &want, &format!("seed {seed} dense {dense}"));
        }
    }
}

/// `shap::interventional` (which now runs the tables) equals the oracle and is additive.
#[test]
fn interventional_entry_point_is_additive() {
    for seed in 100..120u64 {
        let s = spec(6, 2, 4, 6, seed % 2 == 0, true);
        let c = case(seed, &s, 17, 50);
        let m = c.model.num_features;
        let (xc, bc) = (columns(&c.rows, m), columns(&c.bg, m));
        let (xm, bm) = (
            Matrix::from_columns_f64(&xc).unwrap(),
            Matrix::from_columns_f64(&bc).unwrap(),
        );
        let got = shap::interventional(&c.model, &xm, &bm, &ctl(1)).unwrap();
        assert_same(&got, &oracle(&c), "entry point");
        let mut pred = vec![0.0; c.model.num_outputs];
        for (r, row) in c.rows.iter().enumerate() {
            c.model.predict_row_into(row, &mut pred);
            for (kk, &p) in pred.iter().enumerate() {
                let sum: f64 = (0..=m).map(|j| got.get(r, kk, j)).sum();
                assert!(close(sum, p), "additivity row {r}: {sum} vs {p}");
            }
        }
    }
}

/// Values and interactions equal enumeration of the game, Shapley and Banzhaf.
#[test]
fn values_and_interactions_equal_enumeration() {
    for seed in 200..240u64 {
        let s = spec(
            2 + seed as usize % 5,
            1 + seed as usize % 2,
            3,
            5,
            seed % 2 == 0,
            seed % 3 == 0,
        );
        let c = case(seed, &s, 4, [1, 3, 9, 40][seed as usize % 4]);
        let (m, k) = (c.model.num_features, c.model.num_outputs);
        for vk in [Values::Shapley, Values::Banzhaf] {
            for dense in [true, false] {
                let o = opts(vk, true, dense);
                let sv = values(&c, &o);
                let iv = interactions(&c, &o);
                for (r, row) in c.rows.iter().enumerate() {
                    let v = game(&c.model, row, &c.bg);
                    let bv = brute_values(&v, m, k, vk);
                    let bi = brute_interactions(&v, m, k, vk);
                    for kk in 0..k {
                        assert!(close(sv.get(r, kk, m), v[kk]), "base");
                        for i in 0..m {
                            let what =
                                format!("seed {seed} {vk:?} dense {dense} r {r} k {kk} i {i}");
                            assert!(
                                close(sv.get(r, kk, i), bv[kk * m + i]),
                                "value {what}: {} vs {}",
                                sv.get(r, kk, i),
                                bv[kk * m + i]
                            );
                            for j in 0..m {
                                let (g, e) = (iv.get(r, kk, i, j), bi[(kk * m + i) * m + j]);
                                assert!(close(g, e), "interaction {what} j {j}: {g} vs {e}");
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Shapley values also equal the brute-force module's interventional enumeration.
#[test]
fn shapley_equals_brute_module() {
    for seed in 300..315u64 {
        let s = spec(7, 1, 3, 6, seed % 2 == 0, true);
        let c = case(seed, &s, 5, 20);
        let m = c.model.num_features;
        let got = values(&c, &Options::default());
        for (r, row) in c.rows.iter().enumerate() {
            let b = brute::interventional_row(&c.model, row, &c.bg);
            for j in 0..=m {
                assert!(close(got.get(r, 0, j), b[j]), "seed {seed} r {r} j {j}");
            }
        }
    }
}

/// A leaf-wise tree (as LightGBM grows them): `leaves` leaves, the deepest leaf split most
/// often, up to depth `depth`; numeric splits with NaN rules on random features.
fn leaf_wise_tree(rng: &mut Rng, m: usize, leaves: usize, depth: usize, lgb: bool) -> Tree {
    let leaf = |rng: &mut Rng| Node::leaf(rng.range(-1.0, 1.0), rng.range(1.0, 50.0).round());
    let mut t = Tree::default();
    t.nodes.push(leaf(rng));
    let mut open: Vec<(usize, usize)> = vec![(0, 0)]; // (leaf index, its depth)
    for _ in 1..leaves {
        let pick = if rng.chance(0.7) {
            (0..open.len()).max_by_key(|&i| open[i].1).unwrap()
        } else {
            rng.below(open.len())
        };
        let (i, d) = open[pick];
        if d >= depth {
            continue;
        }
        open.swap_remove(pick);
        let (l, r) = (t.nodes.len(), t.nodes.len() + 1);
        t.nodes.push(leaf(rng));
        t.nodes.push(leaf(rng));
        let n = &mut t.nodes[i];
        n.left = l as u32;
        n.right = r as u32;
        n.feature = rng.below(m) as u32;
        n.kind = if lgb {
            SplitKind::LgbNumericNan
        } else {
            SplitKind::XgbNumeric
        };
        n.default_left = rng.chance(0.5);
        n.threshold = rng.range(-2.0, 2.0);
        open.push((l, d + 1));
        open.push((r, d + 1));
    }
    t
}

/// Deep leaf-wise trees (depth 20 to 40, dozens of features): the tables stay exact,
/// dense and sparse.
#[test]
fn deep_trees_equal_bitset_walk() {
    for (seed, depth) in [(400u64, 20usize), (401, 30), (402, 40)] {
        let mut rng = Rng::new(seed);
        let mut model = synth::random_ensemble(&mut rng, &spec(48, 2, 4, 2, false, false));
        for t in model.trees.iter_mut() {
            *t = leaf_wise_tree(&mut rng, 48, 63, depth, seed % 2 == 0);
        }
        assert!(
            model.max_depth() >= depth.min(25),
            "depth {}",
            model.max_depth()
        );
        let rows = synth::random_rows(&mut rng, &model, 9);
        let bg = synth::random_rows(&mut rng, &model, 300);
        let c = Case { model, rows, bg };
        let want = oracle(&c);
        for dense in [true, false] {
            let got = values(&c, &opts(Values::Shapley, false, dense));
            assert_same(&got, &want, &format!("depth {depth} dense {dense}"));
        }
    }
}

/// Background sizes up to 10^5: the same values as the bit-set walk.
#[test]
fn large_backgrounds_equal_bitset_walk() {
    for (seed, nbg) in [(500u64, 1000usize), (501, 10_000), (502, 100_000)] {
        let s = spec(10, 2, 6, 6, seed % 2 == 0, true);
        let c = case(seed, &s, 6, nbg);
        assert_same(
            &values(&c, &Options::default()),
            &oracle(&c),
            &format!("bg {nbg}"),
        );
    }
}

/// Results do not depend on the thread count; a background serves many batches.
#[test]
fn threads_and_batches_agree() {
    let s = spec(9, 3, 20, 6, false, true);
    let c = case(600, &s, 300, 500);
    let m = c.model.num_features;
    let b = prepare(&c, &opts(Values::Shapley, true, true));
    let xc = columns(&c.rows, m);
    let xm = Matrix::from_columns_f64(&xc).unwrap();
    let one = b.values(&c.model, &xm, &ctl(1)).unwrap();
    assert_eq!(one, b.values(&c.model, &xm, &ctl(3)).unwrap());
    let i1 = b.interactions(&c.model, &xm, &ctl(1)).unwrap();
    assert_eq!(i1, b.interactions(&c.model, &xm, &ctl(2)).unwrap());
    // a batch of the last 100 rows gives the same rows
    let tail = columns(&c.rows[200..], m);
    let tm = Matrix::from_columns_f64(&tail).unwrap();
    let part = b.values(&c.model, &tm, &ctl(2)).unwrap();
    for r in 0..100 {
        for kk in 0..3 {
            for j in 0..=m {
                assert_eq!(part.get(r, kk, j), one.get(200 + r, kk, j));
            }
        }
    }
    // interaction rows sum to the values
    for r in 0..c.rows.len() {
        for kk in 0..3 {
            for i in 0..m {
                let sum: f64 = (0..m).map(|j| i1.get(r, kk, i, j)).sum();
                assert!(close(sum, one.get(r, kk, i)), "row sum r {r} i {i}");
            }
        }
    }
}

/// Errors: another model, interactions not prepared, empty background, cancellation.
#[test]
fn errors_are_reported() {
    let c = case(700, &spec(5, 1, 3, 4, false, false), 3, 10);
    let other = case(701, &spec(5, 1, 4, 4, false, false), 3, 10);
    let b = prepare(&c, &Options::default());
    let xc = columns(&c.rows, 5);
    let xm = Matrix::from_columns_f64(&xc).unwrap();
    match b.values(&other.model, &xm, &ctl(1)) {
        Err(Error::Input(msg)) => assert!(msg.contains("another model"), "{msg}"),
        _ => panic!("expected an input error"),
    }
    match b.interactions(&c.model, &xm, &ctl(1)) {
        Err(Error::Input(msg)) => assert!(msg.contains("without interaction"), "{msg}"),
        _ => panic!("expected an input error"),
    }
    let empty: Vec<Vec<f64>> = vec![Vec::new(); 5];
    let em = Matrix::from_columns_f64(&empty).unwrap();
    assert!(matches!(
        Background::prepare(&c.model, &em, &Options::default(), &ctl(1)),
        Err(Error::Input(_))
    ));
    let cancel = std::sync::atomic::AtomicBool::new(true);
    let cc = RunControl {
        threads: 1,
        cancel: Some(&cancel),
        progress: None,
    };
    assert!(matches!(
        b.values(&c.model, &xm, &cc),
        Err(Error::Cancelled)
    ));
}
