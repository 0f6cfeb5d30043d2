//! Exact Shapley values by enumerating every coalition: `O(2^M)` per row, for tests with
//! few features (at most 16).
//!
//! Layouts: SHAP vectors are `[k * (M + 1) + j]` with `j == M` the base value; interaction
//! matrices are `[(k * M + i) * M + j]`.

use super::zero_fraction;
use crate::{Ensemble, Tree};

const MAX_FEATURES: usize = 16;

/// Cover-weighted conditional expectation of one tree given the features in `s` (a bit mask):
/// EXPVALUE of Algorithm 1 of Lundberg et al. — follow the row at splits on features in
/// `s`, else average both children by their cover ratios ([`zero_fraction`]).
pub fn cond_expectation(tree: &Tree, row: &[f64], s: u32, node: usize) -> f64 {
    let n = &tree.nodes[node];
    if n.is_leaf() {
        return n.value;
    }
    let f = n.feature as usize;
    if s >> f & 1 == 1 {
        return cond_expectation(tree, row, s, tree.next(node, row[f]));
    }
    let (l, r) = (n.left as usize, n.right as usize);
    zero_fraction(tree, node, l) * cond_expectation(tree, row, s, l)
        + zero_fraction(tree, node, r) * cond_expectation(tree, row, s, r)
}

/// `|S|! (M - |S| - 1)! / M!` for `|S| = 0..M`.
fn shapley_weights(m: usize) -> Vec<f64> {
    let fact = |n: usize| (1..=n).map(|i| i as f64).product::<f64>();
    (0..m)
        .map(|s| fact(s) * fact(m - s - 1) / fact(m))
        .collect()
}

/// Shapley values of a game given by its value on every coalition (`v[S]` per output,
/// `v[S * outputs + k]`), in the SHAP layout with `base[k]` as the last column.
fn shapley(v: &[f64], m: usize, outputs: usize, base: &[f64]) -> Vec<f64> {
    let w = shapley_weights(m);
    let mut phi = vec![0.0; outputs * (m + 1)];
    for k in 0..outputs {
        for i in 0..m {
            let mut acc = 0.0;
            for s in 0..1u32 << m {
                if s >> i & 1 == 0 {
                    let with = s | 1 << i;
                    acc += w[s.count_ones() as usize]
                        * (v[with as usize * outputs + k] - v[s as usize * outputs + k]);
                }
            }
            phi[k * (m + 1) + i] = acc;
        }
        phi[k * (m + 1) + m] = base[k];
    }
    phi
}

/// Path-dependent value function on every coalition: `v[S * outputs + k]`.
fn path_dependent_game(model: &Ensemble, row: &[f64]) -> Vec<f64> {
    let m = model.num_features;
    assert!(
        m <= MAX_FEATURES,
        "brute force is for at most {MAX_FEATURES} features"
    );
    let k = model.num_outputs;
    let mut v = vec![0.0; (1usize << m) * k];
    for s in 0..1u32 << m {
        let vs = &mut v[s as usize * k..(s as usize + 1) * k];
        vs.copy_from_slice(&model.base_margin);
        for (tree, &o) in model.trees.iter().zip(&model.tree_output) {
            vs[o as usize] += cond_expectation(tree, row, s, 0);
        }
    }
    v
}

/// Path-dependent SHAP values of one row by enumeration of the cover-weighted conditional
/// expectation game (the game TreeSHAP computes). Layout `[k * (M + 1) + j]`, base last.
pub fn path_dependent_row(model: &Ensemble, row: &[f64]) -> Vec<f64> {
    let v = path_dependent_game(model, row);
    shapley(
        &v,
        model.num_features,
        model.num_outputs,
        &v[..model.num_outputs],
    )
}

/// Interventional SHAP values of one row against `background` rows: the game
/// `v(S) = mean_z f(x_S, z_notS)` with `f` the raw prediction. Layout `[k * (M + 1) + j]`,
/// base (the mean raw prediction over the background) last.
pub fn interventional_row(model: &Ensemble, row: &[f64], background: &[Vec<f64>]) -> Vec<f64> {
    let m = model.num_features;
    assert!(
        m <= MAX_FEATURES,
        "brute force is for at most {MAX_FEATURES} features"
    );
    assert!(!background.is_empty());
    let k = model.num_outputs;
    let mut v = vec![0.0; (1usize << m) * k];
    let mut hybrid = vec![0.0; m];
    let mut pred = vec![0.0; k];
    for s in 0..1u32 << m {
        let vs = &mut v[s as usize * k..(s as usize + 1) * k];
        for z in background {
            for j in 0..m {
                hybrid[j] = if s >> j & 1 == 1 { row[j] } else { z[j] };
            }
            model.predict_row_into(&hybrid, &mut pred);
            for (a, p) in vs.iter_mut().zip(&pred) {
                *a += p;
            }
        }
        for a in vs.iter_mut() {
            *a /= background.len() as f64;
        }
    }
    shapley(&v, m, k, &v[..k])
}

/// SHAP interaction values of one row by enumeration, as shap and XGBoost define them:
/// for `i ≠ j`, `φ_ij = Σ_{S ⊆ N∖{i,j}} |S|!(M-|S|-2)! / (2 (M-1)!) · ∇_ij(S)` with
/// `∇_ij(S) = v(S∪{i,j}) - v(S∪{i}) - v(S∪{j}) + v(S)` on the path-dependent game; the
/// diagonal is `φ_i - Σ_{j≠i} φ_ij`. Layout `[(k * M + i) * M + j]`.
pub fn interactions_row(model: &Ensemble, row: &[f64]) -> Vec<f64> {
    let m = model.num_features;
    let k = model.num_outputs;
    let v = path_dependent_game(model, row);
    let phi = shapley(&v, m, k, &v[..k]);
    let fact = |n: usize| (1..=n).map(|i| i as f64).product::<f64>();
    let mut out = vec![0.0; k * m * m];
    for kk in 0..k {
        let val = |s: u32| v[s as usize * k + kk];
        for i in 0..m {
            for j in 0..m {
                if i == j {
                    continue;
                }
                let mut acc = 0.0;
                for s in 0..1u32 << m {
                    if s >> i & 1 == 1 || s >> j & 1 == 1 {
                        continue;
                    }
                    let size = s.count_ones() as usize;
                    let w = fact(size) * fact(m - size - 2) / (2.0 * fact(m - 1));
                    acc +=
                        w * (val(s | 1 << i | 1 << j) - val(s | 1 << i) - val(s | 1 << j) + val(s));
                }
                out[(kk * m + i) * m + j] = acc;
            }
            let off: f64 = (0..m)
                .filter(|&j| j != i)
                .map(|j| out[(kk * m + i) * m + j])
                .sum();
            out[(kk * m + i) * m + i] = phi[kk * (m + 1) + i] - off;
        }
    }
    out
}
