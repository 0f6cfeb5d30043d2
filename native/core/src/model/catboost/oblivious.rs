//! Oblivious trees (`oblivious_trees[i]`: `splits`, `leaf_values`, `leaf_weights`)
//! expanded into binary [`Tree`]s.
//!
//! A tree of depth `d` has `2^d` leaves; leaf `l` is reached by the rows whose decision
//! at `splits[s]` is bit `s` of `l`. The expansion keeps a heap layout (node `i` has
//! children `2i+1`, `2i+2`) whose root tests the LAST split: level `k` tests
//! `splits[d-1-k]`, the right child takes bit 1, so the leaf at heap position `j` of the
//! last level is leaf `j`. That is the order CatBoost's own TreeSHAP walks an oblivious
//! tree (`CalcObliviousInternalShapValuesForLeafRecursive` in catboost/libs/fstr/
//! shap_values.cpp takes the split at `remainingDepth` first); path-dependent SHAP depends
//! on the order, and this one gives CatBoost's `ShapValues`.
//! Multi-output models (`leaf_values` holds `dims` values per leaf, leaf-major) become
//! one tree per output.

use super::features::Features;
use crate::ensemble::{Node, SplitKind, Tree};
use crate::{Error, Result};
use serde_json::Value;

/// Deepest oblivious tree accepted: `2^(d+1) - 1` nodes stay within
/// [`crate::limits::MAX_TREE_NODES`] (CatBoost itself grows at most 16 levels).
pub const MAX_DEPTH: usize = 23;

/// How one level of an oblivious tree decides.
enum Decision {
    /// `float(x) > border` is bit 1: [`SplitKind::XgbNumeric`] with the smallest float32
    /// above the border (`f32(x) < t'` ⟺ `f32(x) <= border`); NaN by the feature's treatment.
    Float { threshold: f64, nan_right: bool },
    /// One-hot: the categories whose hash is the split's value are bit 1.
    OneHot { cats: Vec<u32> },
}

/// The output count of a model without `scale_and_bias`: leaf values per leaf of the first tree.
pub fn infer_dims(trees: &[Value], file: &str) -> Result<usize> {
    let Some(t) = trees.first() else {
        return Ok(1);
    };
    let depth = splits(t, 0, file)?.len();
    let n = leaf_array(t, 0, "leaf_values", file)?.len();
    let leaves = 1usize << depth;
    if n == 0 || n % leaves != 0 {
        return Err(Error::model(
            file,
            "oblivious_trees[0].leaf_values",
            format!("{n} values for {leaves} leaves"),
        ));
    }
    Ok(n / leaves)
}

fn splits<'v>(t: &'v Value, ti: usize, file: &str) -> Result<&'v [Value]> {
    let s = match t.get("splits") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => {
            return Err(Error::model(
                file,
                format!("oblivious_trees[{ti}].splits"),
                "expected an array",
            ))
        }
    };
    if s.len() > MAX_DEPTH {
        return Err(Error::model(
            file,
            format!("oblivious_trees[{ti}].splits"),
            format!(
                "{} levels; at most {MAX_DEPTH} are accepted (CatBoost grows at most 16)",
                s.len()
            ),
        ));
    }
    Ok(s)
}

fn leaf_array<'v>(t: &'v Value, ti: usize, key: &str, file: &str) -> Result<&'v [Value]> {
    t.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .ok_or_else(|| {
            Error::model(
                file,
                format!("oblivious_trees[{ti}].{key}"),
                "missing or not an array",
            )
        })
}

/// Reads split `si` of tree `ti` into its input column and decision.
fn decision(
    s: &Value,
    ti: usize,
    si: usize,
    feats: &Features,
    file: &str,
) -> Result<(u32, Decision)> {
    let field = |k: &str| format!("oblivious_trees[{ti}].splits[{si}].{k}");
    let index = |k: &str| -> Result<usize> {
        s.get(k)
            .and_then(Value::as_u64)
            .map(|x| x as usize)
            .ok_or_else(|| Error::model(file, field(k), "expected a non-negative integer"))
    };
    let kind = s
        .get("split_type")
        .and_then(Value::as_str)
        .unwrap_or("FloatFeature");
    match kind {
        "FloatFeature" => {
            let fi = index("float_feature_index")?;
            let f = feats.float.get(fi).and_then(Option::as_ref).ok_or_else(|| {
                Error::model(
                    file,
                    field("float_feature_index"),
                    format!("{fi} is not in features_info.float_features"),
                )
            })?;
            let border = s
                .get("border")
                .ok_or_else(|| Error::model(file, field("border"), "missing"))?;
            let border = super::number(border, &field("border"), file)? as f32;
            let threshold = if border.is_infinite() {
                border as f64
            } else {
                crate::model::sklearn::tree::f32_strict_threshold(border as f64)
            };
            Ok((f.flat, Decision::Float { threshold, nan_right: f.nan_true }))
        }
        "OneHotFeature" => {
            let ci = index("cat_feature_index")?;
            let f = feats.cat.get(ci).and_then(Option::as_ref).ok_or_else(|| {
                Error::model(
                    file,
                    field("cat_feature_index"),
                    format!("{ci} is not in features_info.categorical_features"),
                )
            })?;
            let h = s
                .get("value")
                .and_then(Value::as_i64)
                .ok_or_else(|| Error::model(file, field("value"), "expected an integer (a category hash)"))?;
            let cats = feats.categories_of(h).to_vec();
            if cats.is_empty() {
                return Err(Error::unsupported(
                    file,
                    format!(
                        "{}: one-hot category hash {h} is not the hash of an integer category in 0..={}; \
                         arrowshap reads categorical features as integer codes (train CatBoost on integer categories)",
                        field("value"),
                        super::features::MAX_CATEGORY
                    ),
                ));
            }
            Ok((f.flat, Decision::OneHot { cats }))
        }
        other => Err(Error::unsupported(
            file,
            format!(
                "{} is {other:?}: arrowshap evaluates float and one-hot splits only, not CatBoost's \
                 CTR (target statistics), text or embedding features; train with one_hot_max_size above \
                 the categorical features' cardinality, or encode them as numbers",
                field("split_type")
            ),
        )),
    }
}

/// Expands tree `ti` into one binary tree per output; leaves are scaled by `scale`.
pub fn expand(
    t: &Value,
    ti: usize,
    dims: usize,
    scale: f64,
    feats: &Features,
    file: &str,
) -> Result<Vec<Tree>> {
    let splits = splits(t, ti, file)?;
    let depth = splits.len();
    let leaves = 1usize << depth;
    let values = leaf_array(t, ti, "leaf_values", file)?;
    if Some(values.len()) != leaves.checked_mul(dims) {
        return Err(Error::model(
            file,
            format!("oblivious_trees[{ti}].leaf_values"),
            format!(
                "{} values; a tree of depth {depth} with {dims} outputs has {}",
                values.len(),
                leaves.saturating_mul(dims)
            ),
        ));
    }
    let weights = leaf_array(t, ti, "leaf_weights", file)?;
    if weights.len() != leaves {
        return Err(Error::model(
            file,
            format!("oblivious_trees[{ti}].leaf_weights"),
            format!("{} weights for {leaves} leaves", weights.len()),
        ));
    }
    let mut cover = vec![0.0; 2 * leaves - 1];
    for (l, w) in weights.iter().enumerate() {
        let field = format!("oblivious_trees[{ti}].leaf_weights[{l}]");
        let w = super::number(w, &field, file)?;
        if w < 0.0 {
            return Err(Error::model(file, field, "a negative weight"));
        }
        cover[leaves - 1 + l] = w;
    }
    for i in (0..leaves - 1).rev() {
        cover[i] = cover[2 * i + 1] + cover[2 * i + 2];
    }
    let mut levels = Vec::with_capacity(depth);
    for (si, s) in splits.iter().enumerate() {
        levels.push(decision(s, ti, si, feats, file)?);
    }
    // the internal nodes and category sets are the same for every output
    let mut nodes = Vec::with_capacity(2 * leaves - 1);
    let mut cat_bits = Vec::new();
    for (level, (flat, d)) in levels.iter().rev().enumerate() {
        for j in 0..(1usize << level) {
            let i = (1usize << level) - 1 + j;
            let mut n = Node {
                left: (2 * i + 1) as u32,
                right: (2 * i + 2) as u32,
                feature: *flat,
                kind: SplitKind::XgbNumeric,
                default_left: true,
                threshold: 0.0,
                cat_offset: 0,
                cat_words: 0,
                value: 0.0,
                cover: cover[i],
                gain: 0.0,
            };
            match d {
                Decision::Float {
                    threshold,
                    nan_right,
                } => {
                    n.threshold = *threshold;
                    n.default_left = !nan_right;
                }
                Decision::OneHot { cats } => {
                    // a category in the set goes right (bit 1); NaN and others go left
                    let words = cats.iter().max().map_or(0, |&c| c as usize / 32 + 1);
                    n.kind = SplitKind::XgbCategorical;
                    n.cat_offset = cat_bits.len() as u32;
                    n.cat_words = words as u32;
                    let start = cat_bits.len();
                    cat_bits.resize(start + words, 0u32);
                    for &c in cats {
                        cat_bits[start + c as usize / 32] |= 1 << (c % 32);
                    }
                }
            }
            nodes.push(n);
        }
    }
    let mut out = Vec::with_capacity(dims);
    for k in 0..dims {
        let mut tree_nodes = nodes.clone();
        for l in 0..leaves {
            let field = format!("oblivious_trees[{ti}].leaf_values[{}]", l * dims + k);
            let v = super::number(&values[l * dims + k], &field, file)?;
            tree_nodes.push(Node::leaf(v * scale, cover[leaves - 1 + l]));
        }
        out.push(Tree {
            nodes: tree_nodes,
            cat_bits: cat_bits.clone(),
        });
    }
    Ok(out)
}
