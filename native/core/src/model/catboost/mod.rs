//! CatBoost's JSON model export (`model.save_model("model.json", format="json")`) into
//! one [`Ensemble`].
//!
//! CatBoost grows oblivious (symmetric) trees: every level of a tree tests one split,
//! and a row's leaf index has bit `d` set when it passes `splits[d]`. Each tree is
//! expanded into an ordinary binary tree (level `d` tests `splits[d]`, the right child
//! is bit 1), its node covers the sums of CatBoost's `leaf_weights`, so path-dependent
//! TreeSHAP on it is CatBoost's own `get_feature_importance(type="ShapValues")`
//! ([`oblivious`]).
//!
//! * float splits (`FloatFeature`): `float(x) > border` sets the bit; NaN goes where
//!   the feature's `nan_value_treatment` says (`AsTrue` above every border, `AsFalse` /
//!   `AsIs` below) ([`features`]);
//! * one-hot splits (`OneHotFeature`) compare CatBoost's 32-bit hash of the category's
//!   text with the split's `value`; arrowshap reads categories as integers, so each value
//!   is matched to the integers `0..=`[`features::MAX_CATEGORY`] whose decimal text hashes
//!   to it (CatBoost hashes integer categories as their decimal text);
//! * CTR splits (`OnlineCtr`: target statistics of categorical features and their
//!   combinations), text and embedding features are refused with one line naming the split;
//! * `scale_and_bias`: leaves are multiplied by the scale, the bias is the base margin;
//! * the loss (`model_info.params.loss_function.type`) gives the link ([`loss`]).
//!
//! Every index and size taken from the file is checked before use; errors name the file
//! and the field (`oblivious_trees[3].splits[1].border`).

pub mod features;
pub mod loss;
pub mod oblivious;

use crate::ensemble::ModelSource;
use crate::{Ensemble, Error, Result};
use serde_json::Value;

/// True when a JSON document is a CatBoost model export (it has `oblivious_trees`
/// or CatBoost's `features_info` with `model_info`).
pub fn is_catboost(v: &Value) -> bool {
    v.get("oblivious_trees").is_some()
        || (v.get("features_info").is_some() && v.get("model_info").is_some())
}

/// Loads a CatBoost JSON model document; `file` names it in errors.
pub fn from_value(v: &Value, file: &str) -> Result<Ensemble> {
    if v.get("oblivious_trees").is_none() {
        let what = if v.get("trees").is_some() {
            "non-symmetric trees (grow_policy Depthwise or Lossguide)"
        } else {
            "no trees"
        };
        return Err(Error::model(
            file,
            "oblivious_trees",
            format!("missing: the model has {what}; arrowshap reads CatBoost's oblivious trees (grow_policy=\"SymmetricTree\", the default)"),
        ));
    }
    let feats = features::read(v, file)?;
    let (scale, bias) = scale_and_bias(v, file)?;
    let trees = at(v, "oblivious_trees", file)?
        .as_array()
        .ok_or_else(|| Error::model(file, "oblivious_trees", "expected an array"))?;
    let dims = match &bias {
        Some(b) => b.len(),
        None => oblivious::infer_dims(trees, file)?,
    };
    if dims == 0 || dims > crate::limits::MAX_OUTPUTS {
        return Err(Error::model(
            file,
            "scale_and_bias",
            format!(
                "{dims} outputs; between 1 and {} are accepted",
                crate::limits::MAX_OUTPUTS
            ),
        ));
    }
    let mut out = Vec::with_capacity(trees.len().saturating_mul(dims));
    let mut tree_output = Vec::with_capacity(out.capacity());
    for (ti, t) in trees.iter().enumerate() {
        for (k, tree) in oblivious::expand(t, ti, dims, scale, &feats, file)?
            .into_iter()
            .enumerate()
        {
            out.push(tree);
            tree_output.push(k as u32);
        }
    }
    let (objective, link) = loss::read(v, dims);
    let e = Ensemble {
        trees: out,
        tree_output,
        num_outputs: dims,
        num_features: feats.num_features,
        feature_names: feats.names.clone(),
        base_margin: bias.unwrap_or_else(|| vec![0.0; dims]),
        objective,
        link,
        source: ModelSource::CatboostJson,
    };
    e.validate(file)?;
    Ok(e)
}

/// `v[key]`, or an error naming the missing field.
pub(crate) fn at<'v>(v: &'v Value, key: &str, file: &str) -> Result<&'v Value> {
    v.get(key).ok_or_else(|| Error::model(file, key, "missing"))
}

/// A finite number at `field`, or an error naming it.
pub(crate) fn number(v: &Value, field: &str, file: &str) -> Result<f64> {
    match v.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        _ => Err(Error::model(
            file,
            field,
            format!("expected a finite number, found {v}"),
        )),
    }
}

/// `scale_and_bias`: `[scale, [bias per output]]` (older exports: `[scale, bias]`);
/// absent means scale 1 and no bias (the output count then comes from the leaves).
fn scale_and_bias(v: &Value, file: &str) -> Result<(f64, Option<Vec<f64>>)> {
    let Some(sb) = v.get("scale_and_bias") else {
        return Ok((1.0, None));
    };
    let a = sb
        .as_array()
        .filter(|a| a.len() == 2)
        .ok_or_else(|| Error::model(file, "scale_and_bias", "expected [scale, bias]"))?;
    let scale = number(&a[0], "scale_and_bias[0]", file)?;
    let bias = match &a[1] {
        Value::Array(b) => b
            .iter()
            .enumerate()
            .map(|(k, x)| number(x, &format!("scale_and_bias[1][{k}]"), file))
            .collect::<Result<Vec<f64>>>()?,
        x => vec![number(x, "scale_and_bias[1]", file)?],
    };
    Ok((scale, if bias.is_empty() { None } else { Some(bias) }))
}

#[cfg(test)]
mod tests;
