//! Seeded synthetic ensembles and samples for tests and benches (no model files needed).
//!
//! * [`random_ensemble`] / [`random_rows`]: small adversarial models — every split kind,
//!   repeated features on a path, NaN and zero-like inputs, values equal to thresholds,
//!   multi-output, optionally zero covers.
//! * [`realistic`]: larger models grown on synthetic data (random features split at data
//!   quantiles, covers = row counts), so paths and covers look like trained ones.

use crate::ensemble::{Link, ModelSource};
pub use crate::rng::Rng;
use crate::{Ensemble, Node, SplitKind, Tree, LEAF};

/// Which library's split kinds a random model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// [`SplitKind::XgbNumeric`] and [`SplitKind::XgbCategorical`].
    Xgboost,
    /// The `Lgb*` kinds.
    Lightgbm,
}

/// Shape of a [`random_ensemble`].
#[derive(Clone, Debug)]
pub struct RandomSpec {
    /// Number of features (at least 1).
    pub features: usize,
    /// Number of outputs (at least 1); trees are spread over them.
    pub outputs: usize,
    /// Number of trees.
    pub trees: usize,
    /// Greatest depth of a tree (trees are random, often unbalanced, sometimes a lone leaf).
    pub max_depth: usize,
    /// Split kinds.
    pub family: Family,
    /// Whether categorical splits appear.
    pub categorical: bool,
    /// Whether some leaves get a zero cover.
    pub zero_covers: bool,
}

/// Values thresholds and samples are drawn from, so that ties happen.
const GRID: [f64; 9] = [-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 2.0, 3.0];

/// A random ensemble following `spec`, valid per [`Ensemble::validate`].
pub fn random_ensemble(rng: &mut Rng, spec: &RandomSpec) -> Ensemble {
    let m = spec.features.max(1);
    let k = spec.outputs.max(1);
    let mut trees = Vec::with_capacity(spec.trees);
    let mut tree_output = Vec::with_capacity(spec.trees);
    for i in 0..spec.trees {
        let mut t = Tree::default();
        grow_random(rng, spec, m, &mut t, 0);
        trees.push(t);
        tree_output.push(if rng.chance(0.5) {
            (i % k) as u32
        } else {
            rng.below(k) as u32
        });
    }
    Ensemble {
        trees,
        tree_output,
        num_outputs: k,
        num_features: m,
        feature_names: (0..m).map(|j| format!("f{j}")).collect(),
        base_margin: (0..k).map(|_| rng.range(-0.5, 0.5)).collect(),
        objective: "synthetic".into(),
        link: Link::Identity,
        source: ModelSource::Synthetic,
    }
}

/// Grows a random subtree at the end of `t.nodes`; returns its root index.
fn grow_random(rng: &mut Rng, spec: &RandomSpec, m: usize, t: &mut Tree, depth: usize) -> usize {
    let idx = t.nodes.len();
    let p_leaf = if depth == 0 { 0.05 } else { 0.3 };
    if depth >= spec.max_depth || rng.chance(p_leaf) {
        let cover = if spec.zero_covers && rng.chance(0.15) {
            0.0
        } else {
            rng.range(0.5, 100.0).round().max(1.0)
        };
        t.nodes.push(Node::leaf(rng.range(-1.0, 1.0), cover));
        return idx;
    }
    let categorical = spec.categorical && rng.chance(0.25);
    let kind = match (spec.family, categorical) {
        (Family::Xgboost, false) => SplitKind::XgbNumeric,
        (Family::Xgboost, true) => SplitKind::XgbCategorical,
        (Family::Lightgbm, false) => match rng.below(3) {
            0 => SplitKind::LgbNumericNone,
            1 => SplitKind::LgbNumericZero,
            _ => SplitKind::LgbNumericNan,
        },
        (Family::Lightgbm, true) => SplitKind::LgbCategorical {
            nan_goes_right: rng.chance(0.5),
        },
    };
    let threshold = if rng.chance(0.6) {
        GRID[rng.below(GRID.len())]
    } else {
        rng.range(-3.0, 3.0)
    };
    let threshold = if spec.family == Family::Xgboost {
        threshold as f32 as f64
    } else {
        threshold
    };
    let (mut cat_offset, mut cat_words) = (0, 0);
    if categorical {
        cat_words = 1 + rng.below(2) as u32;
        cat_offset = t.cat_bits.len() as u32;
        for _ in 0..cat_words {
            t.cat_bits.push(rng.next_u64() as u32);
        }
    }
    t.nodes.push(Node {
        left: LEAF,
        right: LEAF,
        feature: rng.below(m) as u32,
        kind,
        default_left: rng.chance(0.5),
        threshold,
        cat_offset,
        cat_words,
        value: 0.0,
        cover: 0.0,
        gain: rng.range(0.0, 10.0),
    });
    let l = grow_random(rng, spec, m, t, depth + 1);
    let r = grow_random(rng, spec, m, t, depth + 1);
    let cover = t.nodes[l].cover + t.nodes[r].cover;
    let n = &mut t.nodes[idx];
    n.left = l as u32;
    n.right = r as u32;
    n.cover = cover;
    idx
}

/// `n` random samples for `model` (row-major, one `Vec` per row): thresholds and grid
/// values exactly, NaN, 0, ±1e-40, small negative and non-negative integers (categories,
/// also beyond the category sets), and uniform values.
pub fn random_rows(rng: &mut Rng, model: &Ensemble, n: usize) -> Vec<Vec<f64>> {
    let thresholds: Vec<f64> = model
        .trees
        .iter()
        .flat_map(|t| t.nodes.iter())
        .filter(|n| !n.is_leaf())
        .map(|n| n.threshold)
        .collect();
    (0..n)
        .map(|_| {
            (0..model.num_features)
                .map(|_| {
                    let u = rng.next_f64();
                    if u < 0.10 {
                        f64::NAN
                    } else if u < 0.15 {
                        0.0
                    } else if u < 0.18 {
                        if rng.chance(0.5) {
                            1e-40
                        } else {
                            -1e-40
                        }
                    } else if u < 0.30 && !thresholds.is_empty() {
                        thresholds[rng.below(thresholds.len())]
                    } else if u < 0.40 {
                        GRID[rng.below(GRID.len())]
                    } else if u < 0.55 {
                        rng.below(70) as f64
                    } else if u < 0.58 {
                        -(1.0 + rng.below(3) as f64)
                    } else {
                        rng.range(-3.0, 3.0)
                    }
                })
                .collect()
        })
        .collect()
}

/// Synthetic data: `rows` samples of `features` columns (column-major: one `Vec` per
/// feature), a mix of normal, log-normal, uniform and small-integer features with about 2%
/// missing values (NaN). The same `seed` gives the same data.
pub fn realistic_data(seed: u64, features: usize, rows: usize) -> Vec<Vec<f64>> {
    let mut rng = Rng::new(seed);
    (0..features)
        .map(|j| {
            let (kind, scale, shift) = (j % 4, rng.range(0.5, 5.0), rng.range(-3.0, 3.0));
            (0..rows)
                .map(|_| {
                    if rng.chance(0.02) {
                        return f64::NAN;
                    }
                    match kind {
                        0 => shift + scale * rng.normal(),
                        1 => (rng.normal() * 0.7).exp() * scale,
                        2 => rng.range(shift, shift + scale),
                        _ => (rng.range(0.0, 8.0)).floor(),
                    }
                })
                .collect()
        })
        .collect()
}

/// A model grown on [`realistic_data`]`(seed, features, data_rows)`: `trees` XGBoost-style
/// trees of depth at most `depth`, each splitting a random feature at a random quantile
/// (10%–90%) of the node's rows, covers = row counts, leaves of at least 2 rows, random
/// default directions. Returns the model and the data it was grown on.
pub fn realistic(
    seed: u64,
    trees: usize,
    depth: usize,
    features: usize,
    data_rows: usize,
) -> (Ensemble, Vec<Vec<f64>>) {
    let data = realistic_data(seed, features, data_rows);
    let mut rng = Rng::new(seed.wrapping_add(1));
    let mut out = Vec::with_capacity(trees);
    for _ in 0..trees {
        let mut t = Tree::default();
        let idx: Vec<usize> = (0..data_rows).collect();
        grow_on_data(&mut rng, &data, &mut t, idx, depth, 0);
        out.push(t);
    }
    let m = features;
    let model = Ensemble {
        tree_output: vec![0; out.len()],
        trees: out,
        num_outputs: 1,
        num_features: m,
        feature_names: (0..m).map(|j| format!("f{j}")).collect(),
        base_margin: vec![0.5],
        objective: "reg:squarederror".into(),
        link: Link::Identity,
        source: ModelSource::Synthetic,
    };
    (model, data)
}

fn grow_on_data(
    rng: &mut Rng,
    data: &[Vec<f64>],
    t: &mut Tree,
    rows: Vec<usize>,
    max_depth: usize,
    depth: usize,
) -> usize {
    let idx = t.nodes.len();
    let cover = rows.len() as f64;
    t.nodes.push(Node::leaf(0.1 * rng.normal(), cover));
    if depth >= max_depth || rows.len() < 4 {
        return idx;
    }
    let probe = Tree::default();
    for _attempt in 0..8 {
        let f = rng.below(data.len());
        let mut vals: Vec<f64> = rows
            .iter()
            .map(|&r| data[f][r])
            .filter(|v| !v.is_nan())
            .collect();
        if vals.len() < 2 {
            continue;
        }
        vals.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let q = rng.range(0.1, 0.9);
        let thr = vals[((vals.len() - 1) as f64 * q).round() as usize] as f32 as f64;
        let node = Node {
            left: LEAF,
            right: LEAF,
            feature: f as u32,
            kind: SplitKind::XgbNumeric,
            default_left: rng.chance(0.5),
            threshold: thr,
            cat_offset: 0,
            cat_words: 0,
            value: 0.0,
            cover,
            gain: rng.range(0.1, 100.0) * cover,
        };
        let (l, r): (Vec<usize>, Vec<usize>) = rows
            .iter()
            .partition(|&&r| probe.goes_left(&node, data[f][r]));
        if l.len() < 2 || r.len() < 2 {
            continue;
        }
        t.nodes[idx] = node;
        let li = grow_on_data(rng, data, t, l, max_depth, depth + 1);
        let ri = grow_on_data(rng, data, t, r, max_depth, depth + 1);
        t.nodes[idx].left = li as u32;
        t.nodes[idx].right = ri as u32;
        return idx;
    }
    idx
}
