//! `sklearn.tree._tree.Tree`: its structured node records and value array, into
//! arrowshap [`Tree`]s.
//!
//! scikit-learn casts inputs to float32 and sends `x <= threshold` (threshold a
//! float64) left, NaN to the side `missing_go_to_left` names. The loader keeps that
//! decision bit for bit with [`SplitKind::XgbNumeric`] (`f32(x) < t'`) by storing
//! `t'` = the smallest float32 above every float32 that is `<= threshold`.

use super::attrs::Node as At;
use crate::ensemble::{Node, SplitKind, Tree};
use crate::Result;

/// The arrays of one fitted `Tree`.
pub struct SkTree {
    /// Left child per node (-1 for leaves).
    pub left: Vec<i64>,
    /// Right child per node (-1 for leaves).
    pub right: Vec<i64>,
    /// Feature per internal node.
    pub feature: Vec<i64>,
    /// Threshold per internal node (`x <= threshold` goes left).
    pub threshold: Vec<f64>,
    /// Impurity per node.
    pub impurity: Vec<f64>,
    /// `weighted_n_node_samples` per node: the cover shap uses.
    pub weight: Vec<f64>,
    /// Where NaN goes per node (false when the file predates missing-value support).
    pub missing_left: Vec<bool>,
    /// `value`, `nodes × n_outputs × n_classes` in C order.
    pub values: Vec<f64>,
    /// Number of outputs.
    pub n_outputs: usize,
    /// Largest number of classes (1 for regression).
    pub n_classes: usize,
}

/// The float32 threshold `t'` with `f32(x) < t'` ⟺ `f32(x) as f64 <= t` for every non-NaN x.
pub fn f32_strict_threshold(t: f64) -> f64 {
    let mut d = t as f32;
    if d as f64 > t {
        d = d.next_down();
    }
    d.next_up() as f64
}

/// Reads a `Tree` object (the `tree_` attribute of a fitted tree estimator).
pub fn read(tree: &At) -> Result<SkTree> {
    if tree.qualified() != "sklearn.tree._tree.Tree" {
        return Err(tree.err(format!(
            "expected a sklearn.tree._tree.Tree, found {}",
            tree.qualified()
        )));
    }
    let nodes = tree.attr("nodes")?;
    let arr = match nodes.v() {
        super::skops::Sk::Array(a) if !a.fields.is_empty() => a.clone(),
        other => {
            return Err(nodes.err(format!(
                "expected the structured node array, found {}",
                other.describe()
            )))
        }
    };
    let f = |name: &str| arr.field_f64(name, &nodes.path).map_err(|m| nodes.err(m));
    let fi = |name: &str| arr.field_i64(name, &nodes.path).map_err(|m| nodes.err(m));
    let left = fi("left_child")?;
    let right = fi("right_child")?;
    let feature = fi("feature")?;
    let threshold = f("threshold")?;
    let impurity = f("impurity")?;
    let weight = f("weighted_n_node_samples")?;
    let n = left.len();
    let missing_left = if arr.fields.iter().any(|x| x.name == "missing_go_to_left") {
        fi("missing_go_to_left")?
            .into_iter()
            .map(|m| m != 0)
            .collect()
    } else {
        vec![false; n]
    };
    let vals = tree.attr("values")?;
    let shape = vals.shape()?;
    let values = vals.floats()?;
    if shape.len() != 3 || shape[0] != n {
        return Err(vals.err(format!(
            "shape {shape:?} does not match {n} nodes × outputs × classes"
        )));
    }
    if let Some(c) = tree.opt("node_count") {
        if c.usize()? != n {
            return Err(c.err(format!("node_count {} but {n} node records", c.usize()?)));
        }
    }
    if n == 0 {
        return Err(nodes.err("the tree has no nodes"));
    }
    check_structure(
        &nodes,
        &left,
        &right,
        &[&feature],
        &[&threshold, &impurity, &weight],
    )?;
    if missing_left.len() != n {
        return Err(nodes.err(format!(
            "{} missing_go_to_left values for {n} nodes",
            missing_left.len()
        )));
    }
    let cells = shape.iter().try_fold(1usize, |p, &d| p.checked_mul(d));
    if cells != Some(values.len()) {
        return Err(vals.err(format!(
            "{} values do not fill the shape {shape:?}",
            values.len()
        )));
    }
    Ok(SkTree {
        left,
        right,
        feature,
        threshold,
        impurity,
        weight,
        missing_left,
        values,
        n_outputs: shape[1],
        n_classes: shape[2],
    })
}

/// Checks the node arrays before anything indexes with them: every field has one
/// value per node, and each node is a leaf (both children negative, `TREE_LEAF`) or
/// a split whose children are nodes of the tree. (Found by `tests/fuzz_models.rs`:
/// a corrupt child index made the importance sums index out of bounds.)
fn check_structure(
    at: &At,
    left: &[i64],
    right: &[i64],
    ints: &[&Vec<i64>],
    floats: &[&Vec<f64>],
) -> Result<()> {
    let n = left.len();
    if right.len() != n || ints.iter().any(|v| v.len() != n) || floats.iter().any(|v| v.len() != n)
    {
        return Err(at.err("the node fields do not all have one value per node"));
    }
    for (i, (&l, &r)) in left.iter().zip(right).enumerate() {
        if l < 0 && r < 0 {
            continue;
        }
        if l < 0 || r < 0 {
            return Err(at.err(format!("node {i} has one child")));
        }
        if l as usize >= n || r as usize >= n {
            return Err(at.err(format!("node {i}: child index out of range ({l}, {r})")));
        }
    }
    Ok(())
}

impl SkTree {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.left.len()
    }

    /// True for a tree without nodes (never returned by [`read`]).
    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }

    /// `value[node, output, class]`.
    pub fn value(&self, node: usize, output: usize, class: usize) -> f64 {
        self.values[(node * self.n_outputs + output) * self.n_classes + class]
    }

    /// Weighted impurity decrease per node (0 for leaves), as
    /// `Tree.compute_feature_importances` sums it, already divided by the root weight.
    pub fn decreases(&self) -> Vec<f64> {
        let root = self.weight[0];
        (0..self.len())
            .map(|i| {
                if self.left[i] < 0 {
                    return 0.0;
                }
                let (l, r) = (self.left[i] as usize, self.right[i] as usize);
                let d = self.weight[i] * self.impurity[i]
                    - self.weight[l] * self.impurity[l]
                    - self.weight[r] * self.impurity[r];
                if root > 0.0 {
                    d / root
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Builds an arrowshap tree: `leaf(node)` gives each leaf's value, `gain[node]` each
    /// split's gain; errors name `at` (structure, feature range).
    pub fn to_tree(
        &self,
        at: &At,
        n_features: usize,
        gain: &[f64],
        leaf: impl Fn(usize) -> f64,
    ) -> Result<Tree> {
        let n = self.len();
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let (l, r) = (self.left[i], self.right[i]);
            if l < 0 || r < 0 {
                if l != r {
                    return Err(at.err(format!("node {i} has one child")));
                }
                nodes.push(Node::leaf(leaf(i), self.weight[i]));
                continue;
            }
            if l as usize >= n || r as usize >= n {
                return Err(at.err(format!("node {i}: child index out of range ({l}, {r})")));
            }
            let f = self.feature[i];
            if f < 0 || f as usize >= n_features {
                return Err(at.err(format!(
                    "node {i}: feature {f} but the model has {n_features} features"
                )));
            }
            let t = self.threshold[i];
            if t.is_nan() || t == f64::NEG_INFINITY {
                return Err(at.err(format!("node {i}: threshold {t} is not a split point")));
            }
            nodes.push(Node {
                left: l as u32,
                right: r as u32,
                feature: f as u32,
                kind: SplitKind::XgbNumeric,
                default_left: self.missing_left[i],
                // +inf: every non-missing value goes left (splits that only separate NaN)
                threshold: if t == f64::INFINITY {
                    t
                } else {
                    f32_strict_threshold(t)
                },
                cat_offset: 0,
                cat_words: 0,
                value: 0.0,
                cover: self.weight[i],
                gain: gain[i],
            });
        }
        Ok(Tree {
            nodes,
            cat_bits: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_threshold_reproduces_float32_le() {
        for &t in &[0.5, 0.1, -0.3, 1e-30, 123456.789, -0.0, 3.4e38, 2.5000001] {
            let s = f32_strict_threshold(t) as f32;
            for &x in &[t, t * (1.0 + 1e-8), t * (1.0 - 1e-8), 0.0, 0.1, -0.3, 2.5] {
                let xf = x as f32;
                assert_eq!(xf < s, (xf as f64) <= t, "t={t} x={x}");
            }
            let d = t as f32;
            for x in [d.next_down(), d, d.next_up()] {
                assert_eq!(x < s, (x as f64) <= t, "t={t} x={x}");
            }
        }
    }
}
