//! `HistGradientBoostingRegressor` / `HistGradientBoostingClassifier` into one ensemble,
//! in raw margin space (`_baseline_prediction` + the predictors' leaf values, which
//! already include the learning rate), as `_raw_predict` computes it. Cover is the
//! node `count`, as `shap.TreeExplainer` uses.
//!
//! Numeric splits: NaN to `missing_go_to_left`, else `x <= num_threshold` on float64
//! ([`SplitKind::LgbNumericNan`]). Native categorical splits: scikit-learn ≥ 1.4 first
//! maps each categorical column through its own `OrdinalEncoder` (unknown and missing
//! values become NaN) and moves those columns first; the loader keeps that encoder as
//! an input operation of the raw column and maps the trees' features back to the raw
//! column order. A code in the node's left set goes left, a known code right, NaN and
//! unknown codes to the missing side — expressed with [`SplitKind::XgbCategorical`]
//! (missing goes left: the set holds the known right codes) or
//! [`SplitKind::LgbCategorical`] (missing goes right: the set holds the left codes).

use super::attrs::Node as At;
use super::preprocess;
use super::program::{Column, Op, Program};
use super::skops::Sk;
use super::Estimator;
use crate::ensemble::{Ensemble, Link, ModelSource, Node, SplitKind, Tree, LEAF};
use crate::Result;

/// Converts a fitted HistGradientBoosting estimator.
pub fn convert(est: &At) -> Result<Estimator> {
    let class = est.class();
    let classifier = class.ends_with("Classifier");
    let n_features = est.attr("n_features_in_")?.usize()?;

    // HistGradientBoosting's own categorical remapping (sklearn >= 1.4)
    let mut perm: Vec<usize> = (0..n_features).collect();
    let mut input_ops: Vec<(usize, Op)> = Vec::new();
    let mut encodings = Vec::new();
    if let Some(pre) = est.opt("_preprocessor") {
        let (p, ops, encs) = remapping(&pre, n_features)?;
        perm = p;
        input_ops = ops;
        encodings = encs;
    }
    // known categories per (remapped) feature
    let mut known: Vec<Option<Vec<u32>>> = vec![None; n_features];
    if let Some(bm) = est.opt("_bin_mapper") {
        if let Some(isc) = bm.opt("is_categorical_") {
            let isc = isc.floats()?;
            let th = bm.attr("bin_thresholds_")?.items()?;
            for (f, &c) in isc.iter().enumerate() {
                if c != 0.0 && f < n_features {
                    let vals = th
                        .get(f)
                        .ok_or_else(|| bm.err("bin_thresholds_ too short"))?;
                    known[f] = Some(bitset8(&vals.floats()?));
                }
            }
        }
    }

    let predictors = est.attr("_predictors")?.items()?;
    if predictors.is_empty() {
        return Err(est.err("the model has no predictors (_predictors is empty)"));
    }
    let k = predictors[0].items()?.len();
    let mut base = est.attr("_baseline_prediction")?.floats()?;
    if base.len() == 1 && k > 1 {
        base = vec![base[0]; k];
    }
    if base.len() != k || k == 0 {
        return Err(est.err(format!(
            "{} baseline values for {k} trees per iteration",
            base.len()
        )));
    }
    let mut trees = Vec::new();
    let mut tree_output = Vec::new();
    for it in &predictors {
        let per = it.items()?;
        if per.len() != k {
            return Err(it.err(format!("{} predictors, expected {k}", per.len())));
        }
        for (o, p) in per.iter().enumerate() {
            trees.push(predictor(p, n_features, &perm, &known)?);
            tree_output.push(o as u32);
        }
    }
    let link_class = est.attr("_loss")?.attr("link")?.class().to_string();
    let classes = if classifier {
        super::class_labels(&est.attr("classes_")?)?
    } else {
        Vec::new()
    };
    let (link, output_space) = match (classifier, k, link_class.as_str()) {
        (false, _, "LogLink") => (Link::Log, "raw prediction: log of the predicted mean (exp gives predict)".to_string()),
        (false, _, _) => (Link::Identity, "raw prediction (predict)".to_string()),
        (true, 1, _) => (
            Link::Logit,
            format!(
                "log-odds of class {:?} (raw margin, decision_function), as shap.TreeExplainer explains it",
                classes.last().cloned().unwrap_or_default()
            ),
        ),
        (true, _, _) => (
            Link::Softmax,
            "raw margin per class (decision_function; softmax gives predict_proba)".to_string(),
        ),
    };
    Ok(Estimator {
        ensemble: Ensemble {
            trees,
            tree_output,
            num_outputs: k,
            num_features: n_features,
            feature_names: Vec::new(),
            base_margin: base,
            objective: format!("sklearn:{class}"),
            link,
            source: ModelSource::SklearnSkops,
        },
        output_space,
        classes,
        input_ops,
        encodings,
        importances_are_sklearn: false,
    })
}

/// The `_preprocessor` ColumnTransformer: (remapped feature → raw column, ordinal ops per raw column, encodings).
#[allow(clippy::type_complexity)]
fn remapping(
    pre: &At,
    n: usize,
) -> Result<(Vec<usize>, Vec<(usize, Op)>, Vec<super::program::Encoding>)> {
    if pre.class() != "ColumnTransformer" {
        return Err(pre.err(format!(
            "expected a ColumnTransformer, found {}",
            pre.qualified()
        )));
    }
    let index_map = pre.attr("_transformer_to_input_indices")?;
    let mut prog = Program::identity((0..n).map(|i| format!("x{i}")).collect());
    let mut perm = Vec::with_capacity(n);
    let mut ops = Vec::new();
    for tr in pre.attr("transformers_")?.items()? {
        let parts = tr.items()?;
        if parts.len() < 2 {
            return Err(tr.err("expected (name, transformer, columns)"));
        }
        let name = parts[0].str()?;
        let idx: Vec<usize> = match index_map.opt(name) {
            Some(ix) => ix.floats()?.iter().map(|&x| x as usize).collect(),
            None => Vec::new(),
        };
        if idx.is_empty() || matches!(parts[1].v(), Sk::Str(s) if s == "drop") {
            continue;
        }
        if idx.iter().any(|&i| i >= n) {
            return Err(tr.err("column index out of range"));
        }
        match parts[1].class() {
            "OrdinalEncoder" => {
                let cols: Vec<Column> = idx
                    .iter()
                    .map(|&i| Column {
                        source: i,
                        name: format!("x{i}"),
                        ops: Vec::new(),
                    })
                    .collect();
                for c in preprocess::transform(&parts[1], cols, &mut prog)? {
                    for op in c.ops {
                        ops.push((c.source, op));
                    }
                    perm.push(c.source);
                }
            }
            "FunctionTransformer" => {
                // only scikit-learn's own partial(check_array): an identity on numbers
                let func = parts[1].attr("func")?;
                let ok = matches!(func.v(), Sk::Partial(f) if matches!(&**f, Sk::Function(n) if n == "sklearn.utils.validation.check_array"));
                if !ok {
                    return Err(func.unsupported(
                        "FunctionTransformer runs Python code, which arrowshap never does",
                    ));
                }
                perm.extend(idx);
            }
            _ => {
                return Err(parts[1].unsupported(format!(
                    "unexpected transformer {} in HistGradientBoosting's preprocessor",
                    parts[1].qualified()
                )))
            }
        }
    }
    let mut seen = vec![false; n];
    for &p in &perm {
        seen[p] = true;
    }
    if perm.len() != n || seen.iter().any(|s| !s) {
        return Err(pre.err("the preprocessor does not map every input column exactly once"));
    }
    Ok((perm, ops, prog.encodings))
}

/// An 8-word (256 category) bitset of the given category codes.
fn bitset8(vals: &[f64]) -> Vec<u32> {
    let mut b = vec![0u32; 8];
    for &v in vals {
        if (0.0..256.0).contains(&v) {
            let c = v as usize;
            b[c / 32] |= 1 << (c % 32);
        }
    }
    b
}

fn predictor(
    p: &At,
    n_features: usize,
    perm: &[usize],
    known: &[Option<Vec<u32>>],
) -> Result<Tree> {
    let nodes = p.attr("nodes")?;
    let arr = match nodes.v() {
        Sk::Array(a) if !a.fields.is_empty() => a.clone(),
        other => {
            return Err(nodes.err(format!("expected node records, found {}", other.describe())))
        }
    };
    let f = |name: &str| arr.field_f64(name, &nodes.path).map_err(|m| nodes.err(m));
    let fi = |name: &str| arr.field_i64(name, &nodes.path).map_err(|m| nodes.err(m));
    let value = f("value")?;
    let count = f("count")?;
    let feature = fi("feature_idx")?;
    let thr = f("num_threshold")?;
    let miss = fi("missing_go_to_left")?;
    let left = fi("left")?;
    let right = fi("right")?;
    let gain = f("gain")?;
    let leaf = fi("is_leaf")?;
    let n = value.len();
    let has_cat = arr.fields.iter().any(|x| x.name == "is_categorical");
    let (is_cat, bidx) = if has_cat {
        (fi("is_categorical")?, fi("bitset_idx")?)
    } else {
        (vec![0; n], vec![0; n])
    };
    let raw_bits: Option<(Vec<f64>, usize)> = match p.opt("raw_left_cat_bitsets") {
        Some(b) => {
            let shape = b.shape()?;
            Some((b.floats()?, shape.get(1).copied().unwrap_or(8)))
        }
        None => None,
    };
    let mut out = Vec::with_capacity(n);
    let mut cat_bits: Vec<u32> = Vec::new();
    for i in 0..n {
        if leaf[i] != 0 {
            out.push(Node {
                left: LEAF,
                right: LEAF,
                feature: 0,
                kind: SplitKind::LgbNumericNan,
                default_left: true,
                threshold: 0.0,
                cat_offset: 0,
                cat_words: 0,
                value: value[i],
                cover: count[i],
                gain: 0.0,
            });
            continue;
        }
        let (l, r) = (left[i], right[i]);
        if l <= 0 || r <= 0 || l as usize >= n || r as usize >= n {
            return Err(nodes.err(format!("node {i}: child index out of range ({l}, {r})")));
        }
        let fr = feature[i];
        if fr < 0 || fr as usize >= n_features {
            return Err(nodes.err(format!(
                "node {i}: feature {fr} but the model has {n_features} features"
            )));
        }
        let feat = perm[fr as usize] as u32;
        let mut node = Node {
            left: l as u32,
            right: r as u32,
            feature: feat,
            kind: SplitKind::LgbNumericNan,
            default_left: miss[i] != 0,
            threshold: thr[i],
            cat_offset: 0,
            cat_words: 0,
            value: 0.0,
            cover: count[i],
            gain: gain[i],
        };
        if is_cat[i] != 0 {
            let (bits, words) = raw_bits
                .as_ref()
                .ok_or_else(|| p.err("categorical split without raw_left_cat_bitsets"))?;
            let row = bidx[i] as usize;
            let lset: Vec<u32> = bits
                .get(row * words..(row + 1) * words)
                .ok_or_else(|| p.err(format!("node {i}: bitset_idx {row} out of range")))?
                .iter()
                .map(|&x| x as u32)
                .collect();
            let kset = known[fr as usize]
                .clone()
                .unwrap_or_else(|| vec![u32::MAX; 8]);
            let set: Vec<u32> = if node.default_left {
                node.kind = SplitKind::XgbCategorical;
                (0..*words)
                    .map(|w| kset.get(w).copied().unwrap_or(0) & !lset[w])
                    .collect()
            } else {
                node.kind = SplitKind::LgbCategorical {
                    nan_goes_right: true,
                };
                lset
            };
            node.cat_offset = cat_bits.len() as u32;
            node.cat_words = set.len() as u32;
            cat_bits.extend(set);
        } else if !node.threshold.is_finite() && !node.threshold.is_nan() {
            // +inf thresholds (everything non-missing goes left) are fine as they are
        } else if node.threshold.is_nan() {
            return Err(nodes.err(format!("node {i}: threshold is NaN")));
        }
        out.push(node);
    }
    if n == 0 {
        return Err(nodes.err("the predictor has no nodes"));
    }
    Ok(Tree {
        nodes: out,
        cat_bits,
    })
}
