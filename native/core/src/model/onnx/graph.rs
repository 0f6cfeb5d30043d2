//! The trees of an ONNX tree-ensemble operator in one form, whichever operator wrote them:
//! `TreeEnsembleRegressor` / `TreeEnsembleClassifier` (ai.onnx.ml 1–3: parallel `nodes_*`
//! arrays keyed by tree id and node id, leaves are nodes with mode `LEAF`, their weights in
//! `target_*` / `class_*`) and `TreeEnsemble` (ai.onnx.ml 5: `tree_roots`, children that are
//! node or leaf indices, one weight per leaf). Every id and index is checked.

use super::attrs::Attrs;
use crate::Result;
use std::collections::HashMap;

/// How a branch node compares its feature `x` with its value `v` (true → `true` child).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `x <= v`
    Leq,
    /// `x < v`
    Lt,
    /// `x >= v`
    Gte,
    /// `x > v`
    Gt,
    /// `x == v`
    Eq,
    /// `x != v`
    Neq,
}

/// A child: another branch node or a leaf (indices into [`Graph`]).
#[derive(Clone, Copy, Debug)]
pub enum Child {
    /// Index into [`Graph::branches`].
    Node(usize),
    /// Index into [`Graph::leaves`].
    Leaf(usize),
}

/// One branch node.
#[derive(Clone, Debug)]
pub struct Branch {
    /// The comparison.
    pub mode: Mode,
    /// Input column.
    pub feature: usize,
    /// The value compared with.
    pub value: f64,
    /// NaN takes the true child (`nodes_missing_value_tracks_true`); else the comparison decides.
    pub missing_true: bool,
    /// Child when the comparison holds.
    pub t: Child,
    /// Child otherwise.
    pub f: Child,
    /// Where the node is in the file, for errors (`nodes_*[i]`).
    pub index: usize,
}

/// Every tree of the operator.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Branch nodes.
    pub branches: Vec<Branch>,
    /// Per leaf: (output, weight) pairs (summed when an output repeats).
    pub leaves: Vec<Vec<(usize, f64)>>,
    /// The root of each tree.
    pub roots: Vec<Child>,
}

fn mode_of(name: &str) -> Option<Option<Mode>> {
    Some(Some(match name {
        "BRANCH_LEQ" => Mode::Leq,
        "BRANCH_LT" => Mode::Lt,
        "BRANCH_GTE" => Mode::Gte,
        "BRANCH_GT" => Mode::Gt,
        "BRANCH_EQ" => Mode::Eq,
        "BRANCH_NEQ" => Mode::Neq,
        "LEAF" => return Some(None),
        _ => return None,
    }))
}

fn index(a: &Attrs, name: &str, i: usize, v: i64, bound: usize) -> Result<usize> {
    if v < 0 || v as usize >= bound {
        return Err(a.err(
            &format!("{name}[{i}]"),
            format!("{v} is out of range (0..{bound})"),
        ));
    }
    Ok(v as usize)
}

/// Reads `TreeEnsembleRegressor` / `TreeEnsembleClassifier` (leaf weights in
/// `target_*` or `class_*`, named by `prefix`).
pub fn read_v3(a: &Attrs, prefix: &str, max_features: usize) -> Result<Graph> {
    let tree_ids = a.ints("nodes_treeids");
    let node_ids = a.ints("nodes_nodeids");
    let features = a.ints("nodes_featureids");
    let modes = a.strings("nodes_modes");
    let values = a.numbers("nodes_values")?;
    let trues = a.ints("nodes_truenodeids");
    let falses = a.ints("nodes_falsenodeids");
    let missing = a.ints("nodes_missing_value_tracks_true");
    let n = tree_ids.len();
    if n == 0 {
        return Err(a.err("nodes_treeids", "the ensemble has no nodes"));
    }
    for (name, len) in [
        ("nodes_nodeids", node_ids.len()),
        ("nodes_featureids", features.len()),
        ("nodes_modes", modes.len()),
        ("nodes_values", values.len()),
        ("nodes_truenodeids", trues.len()),
        ("nodes_falsenodeids", falses.len()),
    ] {
        if len != n {
            return Err(a.err(name, format!("{len} entries; nodes_treeids has {n}")));
        }
    }
    if !missing.is_empty() && missing.len() != n {
        return Err(a.err(
            "nodes_missing_value_tracks_true",
            format!("{} entries; nodes_treeids has {n}", missing.len()),
        ));
    }
    // (tree id, node id) → position; trees in order of first appearance
    let mut at: HashMap<(i64, i64), usize> = HashMap::with_capacity(n);
    let mut tree_order: Vec<i64> = Vec::new();
    let mut seen_tree: HashMap<i64, ()> = HashMap::new();
    for i in 0..n {
        if at.insert((tree_ids[i], node_ids[i]), i).is_some() {
            return Err(a.err(
                &format!("nodes_nodeids[{i}]"),
                format!(
                    "node {} of tree {} is listed twice",
                    node_ids[i], tree_ids[i]
                ),
            ));
        }
        if seen_tree.insert(tree_ids[i], ()).is_none() {
            tree_order.push(tree_ids[i]);
        }
    }
    // positions → branch / leaf slots
    let mut slot: Vec<Child> = Vec::with_capacity(n);
    let mut g = Graph::default();
    let mut kinds = Vec::with_capacity(n);
    for i in 0..n {
        let m = mode_of(&modes[i]).ok_or_else(|| {
            a.err(
                &format!("nodes_modes[{i}]"),
                format!("unknown mode {:?}", modes[i]),
            )
        })?;
        kinds.push(m);
        match m {
            None => {
                slot.push(Child::Leaf(g.leaves.len()));
                g.leaves.push(Vec::new());
            }
            Some(_) => {
                slot.push(Child::Node(g.branches.len()));
                g.branches.push(Branch {
                    mode: Mode::Leq,
                    feature: 0,
                    value: 0.0,
                    missing_true: false,
                    t: Child::Leaf(0),
                    f: Child::Leaf(0),
                    index: i,
                });
            }
        }
    }
    let mut is_child = vec![false; n];
    for i in 0..n {
        let (Some(mode), Child::Node(b)) = (kinds[i], slot[i]) else {
            continue;
        };
        let child = |ids: &[i64], name: &str| -> Result<usize> {
            at.get(&(tree_ids[i], ids[i])).copied().ok_or_else(|| {
                a.err(
                    &format!("{name}[{i}]"),
                    format!("node {} is not in tree {}", ids[i], tree_ids[i]),
                )
            })
        };
        let (t, f) = (
            child(trues, "nodes_truenodeids")?,
            child(falses, "nodes_falsenodeids")?,
        );
        is_child[t] = true;
        is_child[f] = true;
        let feature = index(a, "nodes_featureids", i, features[i], max_features)?;
        let br = &mut g.branches[b];
        br.mode = mode;
        br.feature = feature;
        br.value = values[i];
        br.missing_true = missing.get(i).copied().unwrap_or(0) != 0;
        br.t = slot[t];
        br.f = slot[f];
    }
    for tid in &tree_order {
        let roots: Vec<usize> = (0..n)
            .filter(|&i| tree_ids[i] == *tid && !is_child[i])
            .collect();
        if roots.len() != 1 {
            return Err(a.err(
                "nodes_treeids",
                format!(
                    "tree {tid} has {} roots (nodes no other node points to); a tree has one",
                    roots.len()
                ),
            ));
        }
        g.roots.push(slot[roots[0]]);
    }
    // leaf weights
    let p = |s: &str| format!("{prefix}_{s}");
    let (wt, wn, wi) = (
        a.ints(&p("treeids")),
        a.ints(&p("nodeids")),
        a.ints(&p("ids")),
    );
    let ww = a.numbers(&p("weights"))?;
    for (name, len) in [
        (p("nodeids"), wn.len()),
        (p("ids"), wi.len()),
        (p("weights"), ww.len()),
    ] {
        if len != wt.len() {
            return Err(a.err(
                &name,
                format!("{len} entries; {} has {}", p("treeids"), wt.len()),
            ));
        }
    }
    for j in 0..wt.len() {
        let i = at.get(&(wt[j], wn[j])).copied().ok_or_else(|| {
            a.err(
                &format!("{}[{j}]", p("nodeids")),
                format!("node {} is not in tree {}", wn[j], wt[j]),
            )
        })?;
        let Child::Leaf(l) = slot[i] else {
            return Err(a.err(
                &format!("{}[{j}]", p("nodeids")),
                format!("node {} of tree {} is not a LEAF", wn[j], wt[j]),
            ));
        };
        let k = index(a, &p("ids"), j, wi[j], crate::limits::MAX_OUTPUTS)?;
        g.leaves[l].push((k, ww[j]));
    }
    Ok(g)
}

/// Reads `TreeEnsemble` (ai.onnx.ml 5): `nodes_modes` a uint8 tensor (0–5 as
/// [`Mode`]; 6, `BRANCH_MEMBER`, is refused), `nodes_splits` and `leaf_weights` tensors,
/// children by `nodes_truenodeids` / `nodes_falsenodeids` read as leaf indices where
/// `nodes_trueleafs` / `nodes_falseleafs` is set (a one-leaf tree is one node whose two
/// children are the same leaf), one target per leaf, `tree_roots` node indices.
pub fn read_v5(a: &Attrs, max_features: usize) -> Result<Graph> {
    let roots = a.ints("tree_roots");
    let features = a.ints("nodes_featureids");
    let modes = a.small_ints("nodes_modes")?;
    let splits = a.numbers("nodes_splits")?;
    let trues = a.ints("nodes_truenodeids");
    let falses = a.ints("nodes_falsenodeids");
    let true_leaf = a.ints("nodes_trueleafs");
    let false_leaf = a.ints("nodes_falseleafs");
    let missing = a.ints("nodes_missing_value_tracks_true");
    let targets = a.ints("leaf_targetids");
    let weights = a.numbers("leaf_weights")?;
    let n = features.len();
    for (name, len) in [
        ("nodes_modes", modes.len()),
        ("nodes_splits", splits.len()),
        ("nodes_truenodeids", trues.len()),
        ("nodes_falsenodeids", falses.len()),
        ("nodes_trueleafs", true_leaf.len()),
        ("nodes_falseleafs", false_leaf.len()),
    ] {
        if len != n {
            return Err(a.err(name, format!("{len} entries; nodes_featureids has {n}")));
        }
    }
    if !missing.is_empty() && missing.len() != n {
        return Err(a.err(
            "nodes_missing_value_tracks_true",
            "one entry per node is required",
        ));
    }
    if weights.len() != targets.len() {
        return Err(a.err(
            "leaf_weights",
            "one weight per leaf_targetids entry is required",
        ));
    }
    let mut g = Graph::default();
    for (j, (&k, &w)) in targets.iter().zip(&weights).enumerate() {
        let k = index(a, "leaf_targetids", j, k, crate::limits::MAX_OUTPUTS)?;
        g.leaves.push(vec![(k, w)]);
    }
    let child = |is_leaf: i64, v: i64, name: &str, i: usize| -> Result<Child> {
        Ok(if is_leaf != 0 {
            Child::Leaf(index(a, name, i, v, targets.len())?)
        } else {
            Child::Node(index(a, name, i, v, n)?)
        })
    };
    for i in 0..n {
        let mode = match modes[i] {
            0 => Mode::Leq,
            1 => Mode::Lt,
            2 => Mode::Gte,
            3 => Mode::Gt,
            4 => Mode::Eq,
            5 => Mode::Neq,
            6 => {
                return Err(crate::Error::unsupported(
                    a.file,
                    format!(
                        "{}.nodes_modes[{i}] is BRANCH_MEMBER (a set-membership split, with its set in membership_values): not read; convert the model for ai.onnx.ml opset 3 or lower (TreeEnsembleRegressor / TreeEnsembleClassifier, which write sets as chains of BRANCH_EQ nodes)",
                        a.at
                    ),
                ))
            }
            m => return Err(a.err(&format!("nodes_modes[{i}]"), format!("unknown mode {m}"))),
        };
        g.branches.push(Branch {
            mode,
            feature: index(a, "nodes_featureids", i, features[i], max_features)?,
            value: splits[i],
            missing_true: missing.get(i).copied().unwrap_or(0) != 0,
            t: child(true_leaf[i], trues[i], "nodes_truenodeids", i)?,
            f: child(false_leaf[i], falses[i], "nodes_falsenodeids", i)?,
            index: i,
        });
    }
    for (j, &r) in roots.iter().enumerate() {
        g.roots.push(Child::Node(index(a, "tree_roots", j, r, n)?));
    }
    if g.roots.is_empty() {
        return Err(a.err("tree_roots", "the ensemble has no trees"));
    }
    Ok(g)
}
