//! XGBoost models saved by `Booster.save_model`: JSON (`*.json`) and UBJSON
//! (`*.ubj`, the default of XGBoost ≥ 2 and of MLflow's xgboost flavor), as
//! written by every release from 1.0 on.
//!
//! Both formats are read into a [`serde_json::Value`] first (JSON after
//! XGBoost's bare `NaN`/`Infinity` tokens are normalized, see [`json`]), then
//! into an [`Ensemble`]. Supported: boosters `gbtree` and `dart` (each tree's
//! leaves multiplied by its `weight_drop`, in f32 as XGBoost does), scalar
//! leaves only, numeric and categorical splits, one or more outputs
//! (`num_class` classes or `num_target` targets, trees assigned by `tree_info`).
//!
//! The concepts live apart: [`json`] (the JSON dialect and error positions),
//! `doc` (typed field access), [`objective`] (links and `base_score`),
//! `tree` (the node-array layout) and `categorical` (category sets).
//!
//! Refused with one line saying what the file is: `gblinear` boosters,
//! vector-leaf trees (`multi_strategy="multi_output_tree"`), unknown objectives.
//! XGBoost's legacy binary format and pickled boosters are recognised by
//! [`super::sniff`] and refused there.

mod categorical;
mod doc;
pub mod json;
pub mod objective;
#[cfg(test)]
mod tests;
mod tree;

use crate::ensemble::{Ensemble, Link, ModelSource};
use crate::{Error, Result};
use serde_json::Value;

use super::ubjson;
use categorical::MAX_CAT_WORDS;
use doc::{join, Doc};
use objective::{base_margin, objective_link, SUPPORTED_OBJECTIVES};
use tree::parse_tree;

/// Most features, outputs accepted (guards against bogus counts allocating).
const MAX_FEATURES: u64 = 1 << 22;
const MAX_OUTPUTS: u64 = 1 << 20;

/// Reads an XGBoost JSON model (bare `NaN` / `Infinity` tokens allowed, as
/// XGBoost writes them). `file` names the model in errors.
pub fn load_json(bytes: &[u8], file: &str) -> Result<Ensemble> {
    let bytes = json::normalize_tokens(bytes);
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|e| json::json_error(&bytes, file, &e))?;
    from_value(&v, file, ModelSource::XgboostJson)
}

/// Reads an XGBoost UBJSON model. `file` names the model in errors.
pub fn load_ubj(bytes: &[u8], file: &str) -> Result<Ensemble> {
    let v = ubjson::parse(bytes).map_err(|e| {
        let field = if e.path.is_empty() {
            "(document)".to_string()
        } else {
            e.path.clone()
        };
        Error::model(file, field, format!("truncated or malformed UBJSON: {e}"))
    })?;
    from_value(&v, file, ModelSource::XgboostUbj)
}

/// Builds an [`Ensemble`] from an XGBoost model document (JSON or UBJSON).
pub fn from_value(v: &Value, file: &str, source: ModelSource) -> Result<Ensemble> {
    let doc = Doc { file };
    let learner = doc.req(v, "", "learner")?;
    let major = match doc.opt(v, "", "version")? {
        Some(ver) => doc
            .arr(ver, "version")?
            .first()
            .and_then(|x| x.as_i64())
            .unwrap_or(1),
        None => 1,
    };

    // --- booster kind first: gblinear has no trees at all
    let gb_path = "learner.gradient_booster";
    let gb = doc.req(learner, "learner", "gradient_booster")?;
    let gb_name = doc.str(doc.req(gb, gb_path, "name")?, &join(gb_path, "name"))?;
    let (model, model_path, weights) = match gb_name {
        "gbtree" => (
            doc.req(gb, gb_path, "model")?,
            format!("{gb_path}.model"),
            None,
        ),
        "dart" => {
            let inner_path = format!("{gb_path}.gbtree");
            let inner = doc.req(gb, gb_path, "gbtree")?;
            let wpath = format!("{gb_path}.weight_drop");
            let w = doc.f64_vec(doc.req(gb, gb_path, "weight_drop")?, &wpath)?;
            (
                doc.req(inner, &inner_path, "model")?,
                format!("{inner_path}.model"),
                Some((w, wpath)),
            )
        }
        "gblinear" => {
            return Err(Error::unsupported(
                file,
                "learner.gradient_booster.name is `gblinear`: linear boosters have no trees; \
                 only gbtree and dart models can be explained",
            ))
        }
        other => {
            return Err(Error::unsupported(
                file,
                format!("learner.gradient_booster.name is `{other}`; supported: gbtree, dart"),
            ))
        }
    };

    // --- objective
    let obj_path = "learner.objective.name";
    let objective = doc.str(
        doc.req(
            doc.req(learner, "learner", "objective")?,
            "learner.objective",
            "name",
        )?,
        obj_path,
    )?;
    let (link, transform) = objective_link(objective).ok_or_else(|| {
        Error::unsupported(
            file,
            format!(
                "unknown objective `{objective}` in {obj_path}; supported: {SUPPORTED_OBJECTIVES}"
            ),
        )
    })?;

    // --- learner model parameters
    let lp_path = "learner.learner_model_param";
    let lp = doc.req(learner, "learner", "learner_model_param")?;
    let num_feature = doc.param_u64(
        doc.req(lp, lp_path, "num_feature")?,
        &join(lp_path, "num_feature"),
    )?;
    if num_feature > MAX_FEATURES {
        return Err(doc.err(
            join(lp_path, "num_feature"),
            format!("{num_feature} features is implausibly many"),
        ));
    }
    let num_class = match doc.opt(lp, lp_path, "num_class")? {
        Some(x) => doc.param_u64(x, &join(lp_path, "num_class"))?,
        None => 0,
    };
    let num_target = match doc.opt(lp, lp_path, "num_target")? {
        Some(x) => doc.param_u64(x, &join(lp_path, "num_target"))?,
        None => 1,
    };
    if num_class > MAX_OUTPUTS || num_target > MAX_OUTPUTS {
        return Err(doc.err(
            lp_path,
            format!("num_class {num_class} / num_target {num_target} is implausibly many"),
        ));
    }
    if num_class > 1 && num_target > 1 {
        return Err(doc.err(
            lp_path,
            format!("num_class {num_class} and num_target {num_target} cannot both exceed 1"),
        ));
    }
    let num_outputs = num_class.max(num_target).max(1) as usize;
    if link == Link::Softmax && num_class < 1 {
        return Err(doc.err(
            join(lp_path, "num_class"),
            format!("objective `{objective}` needs num_class ≥ 1"),
        ));
    }

    // --- base_score → margin
    let base_margin = base_margin(&doc, lp, lp_path, objective, transform, major, num_outputs)?;

    // --- feature names
    let fnames_path = "learner.feature_names";
    let feature_names: Vec<String> = match doc.opt(learner, "learner", "feature_names")? {
        Some(x) => doc
            .arr(x, fnames_path)?
            .iter()
            .enumerate()
            .map(|(i, n)| {
                doc.str(n, &format!("{fnames_path}[{i}]"))
                    .map(str::to_string)
            })
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };
    let feature_names = if feature_names.is_empty() {
        (0..num_feature).map(|i| format!("f{i}")).collect()
    } else if feature_names.len() as u64 == num_feature {
        feature_names
    } else {
        return Err(doc.err(
            fnames_path,
            format!(
                "{} names for {num_feature} features (learner_model_param.num_feature)",
                feature_names.len()
            ),
        ));
    };

    // --- trees
    let trees_path = format!("{model_path}.trees");
    let trees_v = doc.arr(doc.req(model, &model_path, "trees")?, &trees_path)?;
    let n_trees = trees_v.len();
    if let Some(p) = doc.opt(model, &model_path, "gbtree_model_param")? {
        let pp = format!("{model_path}.gbtree_model_param");
        if let Some(nt) = doc.opt(p, &pp, "num_trees")? {
            let nt = doc.param_u64(nt, &join(&pp, "num_trees"))?;
            if nt != n_trees as u64 {
                return Err(doc.err(
                    &trees_path,
                    format!("{n_trees} trees, but num_trees says {nt}"),
                ));
            }
        }
    }
    let info_path = format!("{model_path}.tree_info");
    let info = doc.i64_vec(doc.req(model, &model_path, "tree_info")?, &info_path)?;
    doc.check_len(&info, n_trees, &info_path, "one per tree")?;
    let tree_output = info
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            if k < 0 || k as u64 >= num_outputs as u64 {
                Err(doc.err(
                    format!("{info_path}[{i}]"),
                    format!("output {k} but the model has {num_outputs}"),
                ))
            } else {
                Ok(k as u32)
            }
        })
        .collect::<Result<Vec<u32>>>()?;
    if let Some((w, wpath)) = &weights {
        doc.check_len(w, n_trees, wpath, "one per tree")?;
    }

    let mut cat_budget = MAX_CAT_WORDS;
    let mut trees = Vec::with_capacity(n_trees);
    for (ti, tv) in trees_v.iter().enumerate() {
        let w = weights.as_ref().map(|(w, _)| w[ti] as f32);
        trees.push(parse_tree(
            &doc,
            tv,
            &format!("{trees_path}[{ti}]"),
            w,
            &mut cat_budget,
        )?);
    }

    let e = Ensemble {
        trees,
        tree_output,
        num_outputs,
        num_features: num_feature as usize,
        feature_names,
        base_margin,
        objective: objective.to_string(),
        link,
        source,
    };
    e.validate(file)?;
    Ok(e)
}
