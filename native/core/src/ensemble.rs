//! The flat tree-ensemble representation every loader produces and every
//! explainer consumes.
//!
//! A [`Tree`] is a vector of [`Node`]s, root at index 0, children by index.
//! Decisions follow the training library bit for bit (see [`SplitKind`]).
//! Leaf values are in the model's raw (margin) space and already include any
//! per-tree weight (XGBoost dart `weight_drop`, LightGBM shrinkage).

use crate::{Matrix, Result, RunControl};
use rayon::prelude::*;

/// Child index of a leaf (no children).
pub const LEAF: u32 = u32::MAX;

/// How an internal node sends a value left or right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitKind {
    /// XGBoost numeric split: NaN goes to the default child; otherwise
    /// `(x as f32) < (threshold as f32)` goes left.
    XgbNumeric,
    /// XGBoost categorical split: NaN goes to the default child; a category in
    /// the node's set goes right; any other value (not in the set, negative,
    /// beyond the set) goes left, as XGBoost's `common::Decision` does.
    XgbCategorical,
    /// LightGBM numeric split, missing type None: NaN is treated as 0.0, then `x <= threshold` goes left.
    LgbNumericNone,
    /// LightGBM numeric split, missing type Zero: NaN becomes 0.0; |x| <= [`LGB_ZERO_THRESHOLD`] goes to the default child; else `x <= threshold` goes left.
    LgbNumericZero,
    /// LightGBM numeric split, missing type NaN: NaN goes to the default child; else `x <= threshold` goes left.
    LgbNumericNan,
    /// LightGBM categorical split: a category (int cast) in the node's bitset goes
    /// left; negative values, and NaN when `nan_goes_right`, go right.
    ///
    /// LightGBM ≥ 3 (`Tree::CategoricalDecision`) sends NaN right whatever the
    /// node's missing type, so the loader always sets `nan_goes_right: true`
    /// (verified against LightGBM 4.7 predictions, fixture `lgb_multiclass_cat`).
    /// `false` keeps LightGBM 2.x's documented rule (NaN is category 0, unless
    /// the missing type is NaN) for models built in code.
    LgbCategorical {
        /// True when NaN goes right (every model LightGBM ≥ 3 writes); else NaN is category 0.
        nan_goes_right: bool,
    },
}

/// LightGBM's `kZeroThreshold`: the float `1e-35f` (1.0000000180025095e-35 as a
/// double), which LightGBM compares against double inputs.
pub const LGB_ZERO_THRESHOLD: f64 = 1e-35f32 as f64;

/// One node of a tree. Leaves have `left == right == LEAF`.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Index of the left child, or [`LEAF`].
    pub left: u32,
    /// Index of the right child, or [`LEAF`].
    pub right: u32,
    /// Feature index tested by this node (unused for leaves).
    pub feature: u32,
    /// How the node decides.
    pub kind: SplitKind,
    /// Where a missing value goes (for kinds that have a default).
    pub default_left: bool,
    /// Split threshold (XGBoost: the f32 `split_condition` widened to f64).
    pub threshold: f64,
    /// Categorical splits: first word of this node's bitset in [`Tree::cat_bits`].
    pub cat_offset: u32,
    /// Categorical splits: number of u32 words in this node's bitset.
    pub cat_words: u32,
    /// Leaf value in raw margin space (0 for internal nodes).
    pub value: f64,
    /// Cover: XGBoost `sum_hessian`, LightGBM internal/leaf count.
    pub cover: f64,
    /// Split gain (0 for leaves).
    pub gain: f64,
}

impl Node {
    /// A leaf holding `value` with `cover` (the split fields zeroed).
    pub fn leaf(value: f64, cover: f64) -> Node {
        Node {
            left: LEAF,
            right: LEAF,
            feature: 0,
            kind: SplitKind::XgbNumeric,
            default_left: false,
            threshold: 0.0,
            cat_offset: 0,
            cat_words: 0,
            value,
            cover,
            gain: 0.0,
        }
    }

    /// True for a leaf.
    #[inline(always)]
    pub fn is_leaf(&self) -> bool {
        self.left == LEAF
    }
}

/// One tree: nodes in a flat vector, root at index 0.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tree {
    /// The nodes; children refer to indices in this vector.
    pub nodes: Vec<Node>,
    /// Bitsets of categorical splits (bit `c` of word `c / 32` set = category `c` in the set).
    pub cat_bits: Vec<u32>,
}

impl Tree {
    /// True when `cat` (a non-negative integer) is in node `n`'s category set.
    #[inline]
    pub fn in_category_set(&self, n: &Node, cat: u64) -> bool {
        let word = (cat / 32) as usize;
        if word >= n.cat_words as usize {
            return false;
        }
        (self.cat_bits[n.cat_offset as usize + word] >> (cat % 32)) & 1 == 1
    }

    /// True when value `x` of node `n`'s feature goes to the left child.
    #[inline(always)]
    pub fn goes_left(&self, n: &Node, x: f64) -> bool {
        match n.kind {
            SplitKind::XgbNumeric => {
                if x.is_nan() {
                    n.default_left
                } else {
                    (x as f32) < (n.threshold as f32)
                }
            }
            SplitKind::LgbNumericNan => {
                if x.is_nan() {
                    n.default_left
                } else {
                    x <= n.threshold
                }
            }
            SplitKind::LgbNumericNone => {
                let x = if x.is_nan() { 0.0 } else { x };
                x <= n.threshold
            }
            SplitKind::LgbNumericZero => {
                let x = if x.is_nan() { 0.0 } else { x };
                if x.abs() <= LGB_ZERO_THRESHOLD {
                    n.default_left
                } else {
                    x <= n.threshold
                }
            }
            SplitKind::XgbCategorical => {
                if x.is_nan() {
                    return n.default_left;
                }
                // XGBoost casts to float first; invalid (negative or huge) categories go left.
                let xf = x as f32;
                if !(xf >= 0.0) || xf >= 16_777_216.0 {
                    return true;
                }
                !self.in_category_set(n, xf as u64)
            }
            SplitKind::LgbCategorical { nan_goes_right } => {
                let c = if x.is_nan() {
                    if nan_goes_right {
                        return false;
                    }
                    0i64
                } else {
                    let c = x as i32 as i64;
                    if c < 0 {
                        return false;
                    }
                    c
                };
                self.in_category_set(n, c as u64)
            }
        }
    }

    /// Index of the child that value `x` goes to from internal node `i`.
    #[inline(always)]
    pub fn next(&self, i: usize, x: f64) -> usize {
        let n = &self.nodes[i];
        if self.goes_left(n, x) {
            n.left as usize
        } else {
            n.right as usize
        }
    }

    /// Leaf value reached by a row (`row[j]` = value of feature `j`).
    #[inline]
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            if n.is_leaf() {
                return n.value;
            }
            i = self.next(i, row[n.feature as usize]);
        }
    }

    /// Depth of the tree (a lone leaf has depth 0). Iterative: safe at any depth.
    pub fn max_depth(&self) -> usize {
        if self.nodes.is_empty() {
            return 0;
        }
        let (mut deepest, mut stack) = (0, vec![(0usize, 0usize)]);
        while let Some((i, d)) = stack.pop() {
            let n = &self.nodes[i];
            if n.is_leaf() {
                deepest = deepest.max(d);
            } else {
                stack.push((n.left as usize, d + 1));
                stack.push((n.right as usize, d + 1));
            }
        }
        deepest
    }

    /// Expected leaf value under the cover distribution (what TreeSHAP's base value sums).
    ///
    /// Each leaf contributes its value times the product of the child-cover
    /// fractions on its path (one half at a node whose children have no cover),
    /// summed in the same order as the recursive definition; iterative, so safe at any depth.
    pub fn expected_value(&self) -> f64 {
        // post-order: a node's value is known once both children are; the pair
        // (node, children pushed) drives the walk, `vals` holds finished subtrees.
        let mut stack = vec![(0usize, false)];
        let mut vals: Vec<f64> = Vec::new();
        while let Some((i, expanded)) = stack.pop() {
            let n = &self.nodes[i];
            if n.is_leaf() {
                vals.push(n.value);
            } else if !expanded {
                stack.push((i, true));
                stack.push((n.right as usize, false));
                stack.push((n.left as usize, false));
            } else {
                let r_val = vals.pop().unwrap_or(0.0);
                let l_val = vals.pop().unwrap_or(0.0);
                let (l, r) = (&self.nodes[n.left as usize], &self.nodes[n.right as usize]);
                let c = l.cover + r.cover;
                vals.push(if c <= 0.0 {
                    0.5 * (l_val + r_val)
                } else {
                    (l.cover * l_val + r.cover * r_val) / c
                });
            }
        }
        vals.pop().unwrap_or(0.0)
    }
}

/// How raw (margin) outputs map to the predictions the library returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Prediction = margin (regression).
    Identity,
    /// Prediction = 1 / (1 + exp(-margin)) (binary logistic).
    Logit,
    /// Prediction = exp(margin) (poisson, gamma, tweedie).
    Log,
    /// Prediction = softmax over outputs (multiclass probabilities).
    Softmax,
}

/// Which library and format a model came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelSource {
    /// XGBoost JSON (`save_model("*.json")`).
    XgboostJson,
    /// XGBoost UBJSON (`*.ubj`).
    XgboostUbj,
    /// LightGBM text model.
    LightgbmText,
    /// scikit-learn estimator saved with skops (`model.skops`).
    SklearnSkops,
    /// CatBoost JSON export (`save_model("model.json", format="json")`).
    CatboostJson,
    /// ONNX `ai.onnx.ml` tree ensemble (no node covers until a background gives them).
    OnnxTreeEnsemble,
    /// Built in code (tests).
    Synthetic,
}

/// A tree ensemble ready to explain.
#[derive(Clone, Debug)]
pub struct Ensemble {
    /// The trees, in boosting order.
    pub trees: Vec<Tree>,
    /// Output (class) each tree adds to; same length as `trees`.
    pub tree_output: Vec<u32>,
    /// Number of outputs (1 for regression/binary, classes for multiclass).
    pub num_outputs: usize,
    /// Number of features the model was trained on.
    pub num_features: usize,
    /// Feature names (generated `f0`, `f1`, … when the model has none).
    pub feature_names: Vec<String>,
    /// Base margin per output, already in raw margin space.
    pub base_margin: Vec<f64>,
    /// The training objective, as the library names it.
    pub objective: String,
    /// Link from raw output to prediction.
    pub link: Link,
    /// Library and format of origin.
    pub source: ModelSource,
}

/// Per-feature totals over all splits of the model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeatureStats {
    /// Sum of split gains per feature.
    pub gain: Vec<f64>,
    /// Sum of split covers per feature.
    pub cover: Vec<f64>,
    /// Number of splits per feature.
    pub weight: Vec<f64>,
}

impl Ensemble {
    /// Greatest depth over all trees.
    pub fn max_depth(&self) -> usize {
        self.trees.iter().map(|t| t.max_depth()).max().unwrap_or(0)
    }

    /// Expected raw output per output: base margin + each tree's expected value.
    /// This is the `base_value` of path-dependent TreeSHAP.
    pub fn expected_value(&self) -> Vec<f64> {
        let mut e = self.base_margin.clone();
        for (t, &k) in self.trees.iter().zip(&self.tree_output) {
            e[k as usize] += t.expected_value();
        }
        e
    }

    /// Raw margin prediction of one row, per output, added into `out` (length `num_outputs`).
    pub fn predict_row_into(&self, row: &[f64], out: &mut [f64]) {
        out.copy_from_slice(&self.base_margin);
        for (t, &k) in self.trees.iter().zip(&self.tree_output) {
            out[k as usize] += t.predict_row(row);
        }
    }

    /// Raw margin predictions, row-major `rows × num_outputs`.
    pub fn predict_raw(&self, x: &Matrix, ctl: &RunControl) -> Result<Vec<f64>> {
        self.check_input(x)?;
        let k = self.num_outputs;
        let m = self.num_features;
        let mut out = vec![0.0; x.rows() * k];
        const BLOCK: usize = 256;
        let res: Result<()> = ctl.install(|| {
            out.par_chunks_mut(BLOCK * k)
                .enumerate()
                .try_for_each(|(b, chunk)| {
                    if ctl.is_cancelled() {
                        return Err(crate::Error::Cancelled);
                    }
                    let start = b * BLOCK;
                    let n = chunk.len() / k;
                    let mut buf = vec![0.0; n * m];
                    x.gather_rows(start, &mut buf);
                    for i in 0..n {
                        self.predict_row_into(
                            &buf[i * m..(i + 1) * m],
                            &mut chunk[i * k..(i + 1) * k],
                        );
                    }
                    ctl.report(n);
                    Ok(())
                })
        })?;
        res?;
        Ok(out)
    }

    /// Per-feature totals of gain, cover and split count.
    pub fn feature_stats(&self) -> FeatureStats {
        let m = self.num_features;
        let mut s = FeatureStats {
            gain: vec![0.0; m],
            cover: vec![0.0; m],
            weight: vec![0.0; m],
        };
        for t in &self.trees {
            for n in &t.nodes {
                if !n.is_leaf() {
                    let f = n.feature as usize;
                    s.gain[f] += n.gain;
                    s.cover[f] += n.cover;
                    s.weight[f] += 1.0;
                }
            }
        }
        s
    }

    /// Path-dependent explainers weigh paths by node covers; an ONNX model has none until
    /// [`crate::model::onnx::covers_from_background`] counts them (every cover zero).
    pub fn check_covers(&self) -> Result<()> {
        if self.source == ModelSource::OnnxTreeEnsemble
            && self
                .trees
                .iter()
                .all(|t| t.nodes.first().is_none_or(|n| n.cover == 0.0))
        {
            return Err(crate::Error::Input(
                "the ONNX model stores no node covers, which path-dependent SHAP needs: give a background \
                 (explainer.background) to count them, or use the interventional explainer"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Checks that `x` has one column per model feature.
    pub fn check_input(&self, x: &Matrix) -> Result<()> {
        if x.cols() != self.num_features {
            return Err(crate::Error::Input(format!(
                "the model has {} features, the input has {} columns",
                self.num_features,
                x.cols()
            )));
        }
        Ok(())
    }

    /// Checks the structure: children in range, features in range, outputs in range.
    /// Loaders call this last so that explainers can index without bounds surprises.
    pub fn validate(&self, file: &str) -> Result<()> {
        use crate::Error;
        if self.tree_output.len() != self.trees.len() {
            return Err(Error::model(
                file,
                "tree_info",
                "one output index per tree is required",
            ));
        }
        if self.base_margin.len() != self.num_outputs || self.num_outputs == 0 {
            return Err(Error::model(
                file,
                "base_score",
                "one base margin per output is required",
            ));
        }
        if self.feature_names.len() != self.num_features {
            return Err(Error::model(
                file,
                "feature_names",
                format!(
                    "{} names for {} features",
                    self.feature_names.len(),
                    self.num_features
                ),
            ));
        }
        for (ti, t) in self.trees.iter().enumerate() {
            if t.nodes.is_empty() {
                return Err(Error::model(
                    file,
                    format!("trees[{ti}]"),
                    "tree has no nodes",
                ));
            }
            if self.tree_output[ti] as usize >= self.num_outputs {
                return Err(Error::model(
                    file,
                    format!("tree_info[{ti}]"),
                    "output index out of range",
                ));
            }
            let n = t.nodes.len();
            // every node except the root must be reached exactly once (a tree, not a DAG or cycle)
            let mut seen = vec![false; n];
            seen[0] = true;
            for (i, node) in t.nodes.iter().enumerate() {
                if node.is_leaf() {
                    if node.right != LEAF {
                        return Err(Error::model(
                            file,
                            format!("trees[{ti}].nodes[{i}]"),
                            "leaf with one child",
                        ));
                    }
                    continue;
                }
                for c in [node.left, node.right] {
                    let c = c as usize;
                    if c >= n || c == 0 || seen[c] {
                        return Err(Error::model(
                            file,
                            format!("trees[{ti}].nodes[{i}]"),
                            format!("child index {c} is out of range or reached twice"),
                        ));
                    }
                    seen[c] = true;
                }
                if node.feature as usize >= self.num_features {
                    return Err(Error::model(
                        file,
                        format!("trees[{ti}].nodes[{i}].split_index"),
                        format!(
                            "feature {} but the model has {} features",
                            node.feature, self.num_features
                        ),
                    ));
                }
                if (node.cat_offset as usize + node.cat_words as usize) > t.cat_bits.len() {
                    return Err(Error::model(
                        file,
                        format!("trees[{ti}].nodes[{i}].categories"),
                        "category set out of range",
                    ));
                }
            }
            if let Some(i) = seen.iter().position(|s| !s) {
                return Err(Error::model(
                    file,
                    format!("trees[{ti}].nodes[{i}]"),
                    "node is not reachable from the root",
                ));
            }
            crate::limits::check_tree(file, ti, t)?;
        }
        crate::limits::check_outputs(file, self.num_outputs, &self.base_margin)?;
        Ok(())
    }
}
