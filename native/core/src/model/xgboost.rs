//! XGBoost models saved by `Booster.save_model`: JSON (`*.json`) and UBJSON
//! (`*.ubj`, the default of XGBoost ≥ 2 and of MLflow's xgboost flavor).
//!
//! Both formats are read into a [`serde_json::Value`] first, then into an
//! [`Ensemble`]. Supported: boosters `gbtree` and `dart` (each tree's leaves
//! multiplied by its `weight_drop`, in f32 as XGBoost does), scalar leaves
//! only, numeric and categorical splits, one or more outputs (`num_class`
//! classes or `num_target` targets, trees assigned by `tree_info`).
//!
//! `base_score` is stored by XGBoost ≥ 1.0 in the objective's output space and
//! turned into margin space on load (logit for `binary:logistic` and
//! `reg:logistic`, log for `count:poisson`, `reg:gamma`, `reg:tweedie`,
//! identity otherwise, including `binary:logitraw` and softmax). XGBoost 3
//! writes it as a vector string like `"[5E-1]"` (one value per class for
//! multiclass models); older versions as a plain number string. Both are read;
//! the margin is rounded to f32, the precision XGBoost keeps it in.
//!
//! Categorical features: XGBoost ≥ 3.1 may record the training categories
//! (`cats.enc`) and re-code pandas/Arrow categories by name at prediction time.
//! arrowshap takes the integer codes as input values, as XGBoost's trees see them.

use crate::ensemble::{Ensemble, Link, ModelSource, Node, SplitKind, Tree, LEAF};
use crate::{Error, Result};
use serde_json::Value;

use super::ubjson;

/// Most features, outputs accepted (guards against bogus counts allocating).
const MAX_FEATURES: u64 = 1 << 22;
const MAX_OUTPUTS: u64 = 1 << 20;
/// Largest category XGBoost can represent exactly (it compares in f32).
const MAX_CATEGORY: i64 = 1 << 24;
/// Most u32 words of category bitsets over the whole model (64 MiB).
const MAX_CAT_WORDS: usize = 1 << 24;

/// Objectives arrowshap reads, with their link and whether `base_score` must be
/// turned from output space into margin space (and how).
fn objective_link(name: &str) -> Option<(Link, Transform)> {
    Some(match name {
        "reg:squarederror"
        | "reg:linear"
        | "reg:squaredlogerror"
        | "reg:pseudohubererror"
        | "reg:absoluteerror"
        | "reg:quantileerror"
        | "binary:logitraw"
        | "rank:pairwise"
        | "rank:ndcg"
        | "rank:map" => (Link::Identity, Transform::None),
        "reg:logistic" | "binary:logistic" => (Link::Logit, Transform::Logit),
        "count:poisson" | "reg:gamma" | "reg:tweedie" => (Link::Log, Transform::Log),
        "multi:softmax" | "multi:softprob" => (Link::Softmax, Transform::None),
        _ => return None,
    })
}

const SUPPORTED_OBJECTIVES: &str = "reg:squarederror, reg:squaredlogerror, reg:pseudohubererror, \
reg:absoluteerror, reg:quantileerror, reg:logistic, binary:logistic, binary:logitraw, \
multi:softmax, multi:softprob, count:poisson, reg:gamma, reg:tweedie, rank:pairwise, rank:ndcg, rank:map";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transform {
    None,
    Logit,
    Log,
}

/// Reads an XGBoost JSON model. `file` names the model in errors.
pub fn load_json(bytes: &[u8], file: &str) -> Result<Ensemble> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| json_error(bytes, file, &e))?;
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

/// Maps a serde_json error to a model error naming the field being read where it failed.
fn json_error(bytes: &[u8], file: &str, e: &serde_json::Error) -> Error {
    let offset = match e.classify() {
        serde_json::error::Category::Eof => bytes.len(),
        _ => line_col_to_offset(bytes, e.line(), e.column()),
    };
    let path = json_path_at(bytes, offset);
    let field = if path.is_empty() {
        "(document)".to_string()
    } else {
        path
    };
    let what = match e.classify() {
        serde_json::error::Category::Eof => "truncated JSON",
        _ => "malformed JSON",
    };
    Error::model(file, field, format!("{what}: {e}"))
}

fn line_col_to_offset(bytes: &[u8], line: usize, col: usize) -> usize {
    let mut off = 0usize;
    let mut l = 1usize;
    while l < line {
        match bytes[off..].iter().position(|&b| b == b'\n') {
            Some(p) => {
                off += p + 1;
                l += 1;
            }
            None => return bytes.len(),
        }
    }
    (off + col.saturating_sub(1)).min(bytes.len())
}

/// The JSON path (`a.b[3].c`) of the value being read at byte `end` of `bytes`,
/// found by a light scan of the prefix (the prefix is known to be well formed).
fn json_path_at(bytes: &[u8], end: usize) -> String {
    enum Frame {
        Obj {
            key: Option<String>,
            expect_key: bool,
        },
        Arr {
            index: usize,
        },
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0usize;
    let end = end.min(bytes.len());
    while i < end {
        let c = bytes[i];
        match c {
            b'"' => {
                let is_key = matches!(
                    stack.last(),
                    Some(Frame::Obj {
                        expect_key: true,
                        ..
                    })
                );
                let start = i + 1;
                i += 1;
                while i < end && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if is_key {
                    let k = String::from_utf8_lossy(&bytes[start..i.min(end)]).into_owned();
                    if let Some(Frame::Obj { key, .. }) = stack.last_mut() {
                        *key = Some(k);
                    }
                }
            }
            b'{' => stack.push(Frame::Obj {
                key: None,
                expect_key: true,
            }),
            b'[' => stack.push(Frame::Arr { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(Frame::Obj { expect_key, .. }) = stack.last_mut() {
                    *expect_key = false;
                }
            }
            b',' => match stack.last_mut() {
                Some(Frame::Obj { key, expect_key }) => {
                    *key = None;
                    *expect_key = true;
                }
                Some(Frame::Arr { index }) => *index += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for f in &stack {
        match f {
            Frame::Obj { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Obj { key: None, .. } => {}
            Frame::Arr { index } => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

// ---------------------------------------------------------------------------
// Typed access to the document, every error naming the file and the field.

struct Doc<'f> {
    file: &'f str,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'f> Doc<'f> {
    fn err(&self, field: impl Into<String>, msg: impl Into<String>) -> Error {
        Error::model(self.file, field, msg)
    }

    fn opt<'v>(&self, v: &'v Value, path: &str, key: &str) -> Result<Option<&'v Value>> {
        match v {
            Value::Object(m) => Ok(m.get(key)),
            other => Err(self.err(
                path,
                format!("expected an object, found {}", type_name(other)),
            )),
        }
    }

    fn req<'v>(&self, v: &'v Value, path: &str, key: &str) -> Result<&'v Value> {
        self.opt(v, path, key)?
            .ok_or_else(|| self.err(join(path, key), "missing"))
    }

    fn str<'v>(&self, v: &'v Value, path: &str) -> Result<&'v str> {
        v.as_str()
            .ok_or_else(|| self.err(path, format!("expected a string, found {}", type_name(v))))
    }

    fn arr<'v>(&self, v: &'v Value, path: &str) -> Result<&'v [Value]> {
        v.as_array()
            .map(|a| a.as_slice())
            .ok_or_else(|| self.err(path, format!("expected an array, found {}", type_name(v))))
    }

    /// An unsigned parameter, written by XGBoost as a string ("3") or a number.
    fn param_u64(&self, v: &Value, path: &str) -> Result<u64> {
        let bad = || self.err(path, format!("expected a non-negative integer, found {v}"));
        match v {
            Value::String(s) => s.trim().parse::<u64>().map_err(|_| bad()),
            Value::Number(n) => n.as_u64().ok_or_else(bad),
            _ => Err(bad()),
        }
    }

    fn num(&self, v: &Value, path: &str) -> Result<f64> {
        match v {
            Value::Number(n) => n
                .as_f64()
                .ok_or_else(|| self.err(path, "number out of range")),
            Value::String(s) => parse_float(s).ok_or_else(|| {
                self.err(path, format!("expected a number, found the string {s:?}"))
            }),
            other => Err(self.err(
                path,
                format!("expected a number, found {}", type_name(other)),
            )),
        }
    }

    fn int(&self, v: &Value, path: &str) -> Result<i64> {
        match v {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(i)
                } else {
                    Err(self.err(path, format!("expected an integer, found {n}")))
                }
            }
            other => Err(self.err(
                path,
                format!("expected an integer, found {}", type_name(other)),
            )),
        }
    }

    fn f64_vec(&self, v: &Value, path: &str) -> Result<Vec<f64>> {
        let a = self.arr(v, path)?;
        a.iter()
            .enumerate()
            .map(|(i, x)| self.num(x, &format!("{path}[{i}]")))
            .collect()
    }

    fn i64_vec(&self, v: &Value, path: &str) -> Result<Vec<i64>> {
        let a = self.arr(v, path)?;
        a.iter()
            .enumerate()
            .map(|(i, x)| self.int(x, &format!("{path}[{i}]")))
            .collect()
    }

    fn bool_vec(&self, v: &Value, path: &str) -> Result<Vec<bool>> {
        let a = self.arr(v, path)?;
        a.iter()
            .enumerate()
            .map(|(i, x)| match x {
                Value::Bool(b) => Ok(*b),
                Value::Number(n) if n.as_i64() == Some(0) => Ok(false),
                Value::Number(n) if n.as_i64() == Some(1) => Ok(true),
                other => Err(self.err(
                    format!("{path}[{i}]"),
                    format!("expected 0 or 1, found {other}"),
                )),
            })
            .collect()
    }

    fn check_len<T>(&self, v: &[T], n: usize, path: &str, what: &str) -> Result<()> {
        if v.len() != n {
            return Err(self.err(path, format!("{} values, expected {n} ({what})", v.len())));
        }
        Ok(())
    }
}

fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim();
    match t {
        "NaN" | "nan" => Some(f64::NAN),
        "inf" | "Infinity" | "+inf" => Some(f64::INFINITY),
        "-inf" | "-Infinity" => Some(f64::NEG_INFINITY),
        _ => t.parse::<f64>().ok().filter(|x| x.is_finite()),
    }
}

/// Parses `base_score`: `"[5E-1]"`, `"[a,b,c]"` (XGBoost ≥ 3) or `"5E-1"` (older).
fn parse_base_score(doc: &Doc, v: &Value, path: &str) -> Result<Vec<f64>> {
    match v {
        Value::Number(_) => Ok(vec![doc.num(v, path)?]),
        Value::String(s) => {
            let t = s.trim();
            let inner = t
                .strip_prefix('[')
                .and_then(|x| x.strip_suffix(']'))
                .unwrap_or(t);
            if inner.trim().is_empty() {
                return Err(doc.err(path, format!("no value in {s:?}")));
            }
            inner
                .split(',')
                .map(|p| {
                    p.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .ok_or_else(|| {
                            doc.err(path, format!("{:?} is not a number (in {s:?})", p.trim()))
                        })
                })
                .collect()
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| doc.num(x, &format!("{path}[{i}]")))
            .collect(),
        other => Err(doc.err(
            path,
            format!("expected a number string, found {}", type_name(other)),
        )),
    }
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
    let bs_path = join(lp_path, "base_score");
    let raw_base = match doc.opt(lp, lp_path, "base_score")? {
        Some(x) => parse_base_score(&doc, x, &bs_path)?,
        None => vec![0.5],
    };
    let raw_base = if raw_base.len() == 1 {
        vec![raw_base[0]; num_outputs]
    } else if raw_base.len() == num_outputs {
        raw_base
    } else {
        return Err(doc.err(
            &bs_path,
            format!("{} values for {num_outputs} outputs", raw_base.len()),
        ));
    };
    let transform = if major >= 1 {
        transform
    } else {
        Transform::None
    };
    let mut base_margin = Vec::with_capacity(num_outputs);
    for b in raw_base {
        let b = b as f32 as f64;
        let m = match transform {
            Transform::None => b,
            Transform::Logit => {
                if !(b > 0.0 && b < 1.0) {
                    return Err(doc.err(
                        &bs_path,
                        format!("{b} is outside (0, 1), as objective `{objective}` requires"),
                    ));
                }
                -(1.0 / b - 1.0).ln()
            }
            Transform::Log => {
                if b.is_nan() || b <= 0.0 {
                    return Err(doc.err(
                        &bs_path,
                        format!("{b} is not positive, as objective `{objective}` requires"),
                    ));
                }
                b.ln()
            }
        };
        base_margin.push(m as f32 as f64);
    }

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

fn parse_tree(
    doc: &Doc,
    tv: &Value,
    path: &str,
    weight: Option<f32>,
    cat_budget: &mut usize,
) -> Result<Tree> {
    let tp_path = join(path, "tree_param");
    let tp = doc.req(tv, path, "tree_param")?;
    let num_nodes = doc.param_u64(
        doc.req(tp, &tp_path, "num_nodes")?,
        &join(&tp_path, "num_nodes"),
    )?;
    if let Some(s) = doc.opt(tp, &tp_path, "size_leaf_vector")? {
        let s = doc.param_u64(s, &join(&tp_path, "size_leaf_vector"))?;
        if s > 1 {
            return Err(Error::unsupported(
                doc.file,
                format!(
                    "{tp_path}.size_leaf_vector is {s}: vector-leaf trees (multi_strategy=\"multi_output_tree\") \
                     are not supported; train with multi_strategy=\"one_output_per_tree\""
                ),
            ));
        }
    }
    let field =
        |k: &str| -> Result<(&Value, String)> { Ok((doc.req(tv, path, k)?, join(path, k))) };

    let (v, p) = field("left_children")?;
    let left = doc.i64_vec(v, &p)?;
    let n = left.len();
    if n as u64 != num_nodes {
        return Err(doc.err(
            &p,
            format!("{n} values, expected {num_nodes} (tree_param.num_nodes)"),
        ));
    }
    if n == 0 {
        return Err(doc.err(&p, "the tree has no nodes"));
    }
    let what = "tree_param.num_nodes";
    let (v, p) = field("right_children")?;
    let right = doc.i64_vec(v, &p)?;
    doc.check_len(&right, n, &p, what)?;
    let (v, p) = field("split_indices")?;
    let split_indices = doc.i64_vec(v, &p)?;
    doc.check_len(&split_indices, n, &p, what)?;
    let (v, p) = field("split_conditions")?;
    let cond = doc.f64_vec(v, &p)?;
    doc.check_len(&cond, n, &p, what)?;
    let (v, p) = field("default_left")?;
    let default_left = doc.bool_vec(v, &p)?;
    doc.check_len(&default_left, n, &p, what)?;
    let (v, p) = field("loss_changes")?;
    let gain = doc.f64_vec(v, &p)?;
    doc.check_len(&gain, n, &p, what)?;
    let (v, p) = field("sum_hessian")?;
    let cover = doc.f64_vec(v, &p)?;
    doc.check_len(&cover, n, &p, what)?;
    let split_type = match doc.opt(tv, path, "split_type")? {
        Some(v) => {
            let p = join(path, "split_type");
            let s = doc.i64_vec(v, &p)?;
            doc.check_len(&s, n, &p, what)?;
            if let Some(i) = s.iter().position(|&t| t != 0 && t != 1) {
                return Err(doc.err(
                    format!("{p}[{i}]"),
                    format!("split type {} (expected 0 numeric or 1 categorical)", s[i]),
                ));
            }
            s
        }
        None => vec![0; n],
    };

    // Reachability from the root (XGBoost may keep deleted nodes in the arrays);
    // rejects out-of-range children, cycles and shared children.
    let mut reached = vec![false; n];
    reached[0] = true;
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        let (l, r) = (left[i], right[i]);
        if l == -1 && r == -1 {
            continue;
        }
        for (c, name) in [(l, "left_children"), (r, "right_children")] {
            if c < 1 || c as u64 >= n as u64 || reached[c as usize] {
                return Err(doc.err(
                    format!("{path}.{name}[{i}]"),
                    format!(
                        "child index {c} is out of range (1..{n}), or the node is reached twice"
                    ),
                ));
            }
            reached[c as usize] = true;
            stack.push(c as usize);
        }
    }
    let mut new_index = vec![u32::MAX; n];
    let mut next = 0u32;
    for i in 0..n {
        if reached[i] {
            new_index[i] = next;
            next += 1;
        }
    }

    // Categorical splits: node -> (segment start, size) into `categories`.
    let has_cat = (0..n).any(|i| reached[i] && left[i] != -1 && split_type[i] == 1);
    let mut cat_of: std::collections::HashMap<usize, (usize, usize)> =
        std::collections::HashMap::new();
    let mut categories: Vec<i64> = Vec::new();
    let mut cat_path = String::new();
    if has_cat {
        let (v, p) = field("categories_nodes")?;
        let nodes = doc.i64_vec(v, &p)?;
        let (v, ps) = field("categories_segments")?;
        let segs = doc.i64_vec(v, &ps)?;
        doc.check_len(&segs, nodes.len(), &ps, "one per categories_nodes entry")?;
        let (v, pz) = field("categories_sizes")?;
        let sizes = doc.i64_vec(v, &pz)?;
        doc.check_len(&sizes, nodes.len(), &pz, "one per categories_nodes entry")?;
        let (v, pc) = field("categories")?;
        categories = doc.i64_vec(v, &pc)?;
        cat_path = pc;
        for (j, ((&nd, &s), &z)) in nodes.iter().zip(&segs).zip(&sizes).enumerate() {
            if nd < 0 || nd as u64 >= n as u64 {
                return Err(doc.err(
                    format!("{p}[{j}]"),
                    format!("node {nd} is out of range (0..{n})"),
                ));
            }
            if s < 0 || z < 0 || (s as u64).saturating_add(z as u64) > categories.len() as u64 {
                return Err(doc.err(
                    format!("{ps}[{j}]"),
                    format!(
                        "segment {s}+{z} is outside the {} categories",
                        categories.len()
                    ),
                ));
            }
            cat_of.insert(nd as usize, (s as usize, z as usize));
        }
    }

    let mut tree = Tree {
        nodes: Vec::with_capacity(next as usize),
        cat_bits: Vec::new(),
    };
    for i in 0..n {
        if !reached[i] {
            continue;
        }
        let node = if left[i] == -1 {
            let v = cond[i] as f32;
            let value = match weight {
                Some(w) => (v * w) as f64,
                None => v as f64,
            };
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
                cover: cover[i],
                gain: 0.0,
            }
        } else {
            let f = split_indices[i];
            if f < 0 || f > u32::MAX as i64 {
                return Err(doc.err(
                    format!("{path}.split_indices[{i}]"),
                    format!("feature index {f} is out of range"),
                ));
            }
            let (kind, cat_offset, cat_words) = if split_type[i] == 1 {
                let &(s, z) = cat_of.get(&i).ok_or_else(|| {
                    doc.err(
                        format!("{path}.categories_nodes"),
                        format!("node {i} is a categorical split but has no category set"),
                    )
                })?;
                let cats = &categories[s..s + z];
                let mut max = -1i64;
                for (j, &c) in cats.iter().enumerate() {
                    if !(0..MAX_CATEGORY).contains(&c) {
                        return Err(doc.err(
                            format!("{cat_path}[{}]", s + j),
                            format!("category {c} is outside 0..{MAX_CATEGORY}"),
                        ));
                    }
                    max = max.max(c);
                }
                let words = if max < 0 { 0 } else { (max as usize) / 32 + 1 };
                if words > *cat_budget {
                    return Err(doc.err(&cat_path, "category sets are implausibly large"));
                }
                *cat_budget -= words;
                let off = tree.cat_bits.len();
                tree.cat_bits.resize(off + words, 0);
                for &c in cats {
                    tree.cat_bits[off + c as usize / 32] |= 1u32 << (c as u32 % 32);
                }
                (SplitKind::XgbCategorical, off as u32, words as u32)
            } else {
                (SplitKind::XgbNumeric, 0, 0)
            };
            Node {
                left: new_index[left[i] as usize],
                right: new_index[right[i] as usize],
                feature: f as u32,
                kind,
                default_left: default_left[i],
                threshold: cond[i] as f32 as f64,
                cat_offset,
                cat_words,
                value: 0.0,
                cover: cover[i],
                gain: gain[i],
            }
        };
        tree.nodes.push(node);
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A valid two-tree binary:logistic model (stumps on f1), as XGBoost 3 writes it.
    pub(crate) fn model() -> Value {
        let tree = |id: i64, w: f64| {
            json!({
                "base_weights": [0.0, -w, w], "categories": [], "categories_nodes": [],
                "categories_segments": [], "categories_sizes": [],
                "default_left": [1, 0, 0], "id": id, "left_children": [1, -1, -1],
                "loss_changes": [10.5, 0.0, 0.0], "parents": [2147483647, 0, 0],
                "right_children": [2, -1, -1], "split_conditions": [0.5, -w, w],
                "split_indices": [1, 0, 0], "split_type": [0, 0, 0],
                "sum_hessian": [10.0, 4.0, 6.0],
                "tree_param": {"num_deleted": "0", "num_feature": "3", "num_nodes": "3", "size_leaf_vector": "1"}
            })
        };
        json!({
            "learner": {
                "attributes": {}, "feature_names": ["a", "b", "c"], "feature_types": ["float", "float", "float"],
                "gradient_booster": {
                    "model": {
                        "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "2"},
                        "iteration_indptr": [0, 1, 2], "tree_info": [0, 0],
                        "trees": [tree(0, 0.25), tree(1, 0.125)]
                    },
                    "name": "gbtree"
                },
                "learner_model_param": {"base_score": "[2.5E-1]", "boost_from_average": "1",
                    "num_class": "0", "num_feature": "3", "num_target": "1"},
                "objective": {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}}
            },
            "version": [3, 2, 0]
        })
    }

    fn load(v: &Value) -> Result<Ensemble> {
        load_json(&serde_json::to_vec(v).unwrap(), "m.json")
    }

    fn err_of(v: &Value) -> String {
        load(v).unwrap_err().to_string()
    }

    #[test]
    fn loads_a_valid_model() {
        let e = load(&model()).unwrap();
        assert_eq!(e.feature_names, ["a", "b", "c"]);
        assert_eq!(e.num_outputs, 1);
        assert_eq!(e.trees.len(), 2);
        assert_eq!(e.link, Link::Logit);
        let want = (-(1.0f64 / 0.25 - 1.0).ln()) as f32 as f64;
        assert_eq!(e.base_margin, vec![want]);
        let t = &e.trees[0];
        assert_eq!(t.nodes[0].feature, 1);
        assert!(t.nodes[0].default_left);
        assert_eq!(t.nodes[1].value, -0.25);
        // NaN goes left (default), 0.7 goes right
        assert_eq!(t.predict_row(&[0.0, f64::NAN, 0.0]), -0.25);
        assert_eq!(t.predict_row(&[0.0, 0.7, 0.0]), 0.25);
    }

    #[test]
    fn old_scalar_base_score_and_generated_names() {
        let mut m = model();
        m["learner"]["learner_model_param"]["base_score"] = json!("5E-1");
        m["learner"]["feature_names"] = json!([]);
        let e = load(&m).unwrap();
        assert_eq!(e.base_margin, vec![0.0]);
        assert_eq!(e.feature_names, ["f0", "f1", "f2"]);
    }

    #[test]
    fn deleted_nodes_are_dropped() {
        let mut m = model();
        let t = &mut m["learner"]["gradient_booster"]["model"]["trees"][0];
        // node 3 is deleted (unreachable)
        t["left_children"] = json!([1, -1, -1, -1]);
        t["right_children"] = json!([2, -1, -1, -1]);
        for k in ["split_indices", "split_type", "default_left"] {
            t[k].as_array_mut().unwrap().push(json!(0));
        }
        for k in [
            "split_conditions",
            "loss_changes",
            "sum_hessian",
            "base_weights",
        ] {
            t[k].as_array_mut().unwrap().push(json!(9.0));
        }
        t["tree_param"]["num_nodes"] = json!("4");
        let e = load(&m).unwrap();
        assert_eq!(e.trees[0].nodes.len(), 3);
    }

    #[test]
    fn truncated_json_names_the_field() {
        let bytes = serde_json::to_vec(&model()).unwrap();
        let s = String::from_utf8(bytes.clone()).unwrap();
        let cut = s.find("\"split_conditions\"").unwrap() + 25;
        let e = load_json(&bytes[..cut], "m.json").unwrap_err().to_string();
        assert!(e.starts_with("m.json: "), "{e}");
        assert!(e.contains("truncated JSON"), "{e}");
        assert!(
            e.contains("learner.gradient_booster.model.trees[0].split_conditions"),
            "{e}"
        );
        let e = load_json(b"{\"learner\": [1, 2,", "x.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`learner[2]`"), "{e}");
        let e = load_json(b"{\"a\": tru}", "x.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("malformed JSON") && e.contains("`a`"), "{e}");
    }

    #[test]
    fn wrong_types_name_the_field() {
        let mut m = model();
        m["learner"]["gradient_booster"]["model"]["trees"][1]["split_conditions"][2] = json!("abc");
        let e = err_of(&m);
        assert!(
            e.contains("m.json") && e.contains("trees[1].split_conditions[2]"),
            "{e}"
        );

        let mut m = model();
        m["learner"]["gradient_booster"]["model"]["trees"][0]["left_children"] = json!({"x": 1});
        let e = err_of(&m);
        assert!(
            e.contains("trees[0].left_children") && e.contains("expected an array"),
            "{e}"
        );

        let mut m = model();
        m["learner"]["learner_model_param"]["num_feature"] = json!("three");
        let e = err_of(&m);
        assert!(e.contains("learner.learner_model_param.num_feature"), "{e}");

        let mut m = model();
        m["learner"]["gradient_booster"]["model"]["trees"][0]["default_left"][0] = json!(2);
        let e = err_of(&m);
        assert!(e.contains("trees[0].default_left[0]"), "{e}");

        let mut m = model();
        m["learner"]["learner_model_param"]["base_score"] = json!("[abc]");
        let e = err_of(&m);
        assert!(e.contains("learner.learner_model_param.base_score"), "{e}");

        let mut m = model();
        m["learner"]["learner_model_param"]["base_score"] = json!("[0.5,0.5]");
        let e = err_of(&m);
        assert!(
            e.contains("base_score") && e.contains("2 values for 1 outputs"),
            "{e}"
        );

        let mut m = model();
        m["learner"]["learner_model_param"]["base_score"] = json!("[0]");
        let e = err_of(&m);
        assert!(
            e.contains("base_score") && e.contains("outside (0, 1)"),
            "{e}"
        );
    }

    #[test]
    fn missing_fields_name_the_field() {
        for key in ["sum_hessian", "split_indices", "tree_param", "default_left"] {
            let mut m = model();
            m["learner"]["gradient_booster"]["model"]["trees"][1]
                .as_object_mut()
                .unwrap()
                .remove(key);
            let e = err_of(&m);
            assert!(
                e.contains(&format!("learner.gradient_booster.model.trees[1].{key}"))
                    && e.contains("missing"),
                "{e}"
            );
        }
        let mut m = model();
        m["learner"].as_object_mut().unwrap().remove("objective");
        assert!(err_of(&m).contains("learner.objective"));
        let e = load_json(b"[1,2]", "m.json").unwrap_err().to_string();
        assert!(
            e.contains("m.json") && e.contains("expected an object"),
            "{e}"
        );
    }

    #[test]
    fn mismatched_lengths_and_bad_children() {
        let mut m = model();
        m["learner"]["gradient_booster"]["model"]["trees"][0]["sum_hessian"] = json!([1.0, 2.0]);
        let e = err_of(&m);
        assert!(
            e.contains("trees[0].sum_hessian") && e.contains("2 values, expected 3"),
            "{e}"
        );

        let mut m = model();
        m["learner"]["gradient_booster"]["model"]["trees"][0]["right_children"] =
            json!([7, -1, -1]);
        let e = err_of(&m);
        assert!(
            e.contains("trees[0].right_children[0]") && e.contains("out of range"),
            "{e}"
        );

        let mut m = model();
        m["learner"]["gradient_booster"]["model"]["trees"][0]["right_children"] =
            json!([1, -1, -1]);
        let e = err_of(&m);
        assert!(e.contains("trees[0].right_children[0]"), "{e}");

        let mut m = model();
        m["learner"]["gradient_booster"]["model"]["trees"][0]["left_children"] = json!([0, -1, -1]);
        assert!(err_of(&m).contains("trees[0].left_children[0]"));

        let mut m = model();
        m["learner"]["gradient_booster"]["model"]["trees"][0]["split_indices"] = json!([5, 0, 0]);
        let e = err_of(&m);
        assert!(e.contains("m.json") && e.contains("split_index"), "{e}");

        let mut m = model();
        m["learner"]["gradient_booster"]["model"]["tree_info"] = json!([0]);
        let e = err_of(&m);
        assert!(
            e.contains("learner.gradient_booster.model.tree_info"),
            "{e}"
        );

        let mut m = model();
        m["learner"]["gradient_booster"]["model"]["tree_info"] = json!([0, 1]);
        let e = err_of(&m);
        assert!(e.contains("tree_info[1]"), "{e}");

        let mut m = model();
        m["learner"]["feature_names"] = json!(["a"]);
        let e = err_of(&m);
        assert!(
            e.contains("learner.feature_names") && e.contains("1 names for 3"),
            "{e}"
        );
    }

    #[test]
    fn unknown_objective_and_gblinear_and_vector_leaves() {
        let mut m = model();
        m["learner"]["objective"]["name"] = json!("survival:cox");
        let e = err_of(&m);
        assert!(
            e.contains("m.json")
                && e.contains("learner.objective.name")
                && e.contains("survival:cox"),
            "{e}"
        );

        let m = json!({"learner": {"gradient_booster": {"model": {"weights": [0.1]}, "name": "gblinear"},
            "learner_model_param": {"base_score": "[0]", "num_feature": "1"},
            "objective": {"name": "reg:squarederror"}}, "version": [3, 2, 0]});
        let e = err_of(&m);
        assert!(
            e.contains("m.json")
                && e.contains("learner.gradient_booster.name")
                && e.contains("gblinear"),
            "{e}"
        );

        let mut m = model();
        m["learner"]["gradient_booster"]["model"]["trees"][0]["tree_param"]["size_leaf_vector"] =
            json!("3");
        let e = err_of(&m);
        assert!(
            e.contains("m.json")
                && e.contains("trees[0].tree_param.size_leaf_vector")
                && e.contains("multi_output_tree"),
            "{e}"
        );
    }

    #[test]
    fn dart_weights_scale_leaves() {
        let mut m = model();
        let inner = m["learner"]["gradient_booster"].clone();
        m["learner"]["gradient_booster"] =
            json!({"name": "dart", "gbtree": inner, "weight_drop": [0.5, 2.0]});
        let e = load(&m).unwrap();
        assert_eq!(e.trees[0].nodes[2].value, 0.125);
        assert_eq!(e.trees[1].nodes[2].value, 0.25);
        let mut bad = m.clone();
        bad["learner"]["gradient_booster"]["weight_drop"] = json!([1.0]);
        let err = err_of(&bad);
        assert!(
            err.contains("learner.gradient_booster.weight_drop"),
            "{err}"
        );
    }

    #[test]
    fn categorical_splits() {
        let mut m = model();
        let t = &mut m["learner"]["gradient_booster"]["model"]["trees"][0];
        t["split_type"] = json!([1, 0, 0]);
        t["categories"] = json!([1, 33]);
        t["categories_nodes"] = json!([0]);
        t["categories_segments"] = json!([0]);
        t["categories_sizes"] = json!([2]);
        let e = load(&m).unwrap();
        let tr = &e.trees[0];
        assert_eq!(tr.nodes[0].kind, SplitKind::XgbCategorical);
        assert_eq!(tr.nodes[0].cat_words, 2);
        // in the set -> right; not in set / beyond / negative -> left; NaN -> default (left)
        assert_eq!(tr.predict_row(&[0.0, 1.0, 0.0]), 0.25);
        assert_eq!(tr.predict_row(&[0.0, 33.0, 0.0]), 0.25);
        assert_eq!(tr.predict_row(&[0.0, 2.0, 0.0]), -0.25);
        assert_eq!(tr.predict_row(&[0.0, 99.0, 0.0]), -0.25);
        assert_eq!(tr.predict_row(&[0.0, -1.0, 0.0]), -0.25);
        assert_eq!(tr.predict_row(&[0.0, f64::NAN, 0.0]), -0.25);

        let mut bad = m.clone();
        bad["learner"]["gradient_booster"]["model"]["trees"][0]["categories_sizes"] = json!([5]);
        let err = err_of(&bad);
        assert!(err.contains("trees[0].categories_segments[0]"), "{err}");
        let mut bad = m.clone();
        bad["learner"]["gradient_booster"]["model"]["trees"][0]["categories"] = json!([1, -4]);
        let err = err_of(&bad);
        assert!(err.contains("trees[0].categories[1]"), "{err}");
        let mut bad = m.clone();
        bad["learner"]["gradient_booster"]["model"]["trees"][0]["categories_nodes"] = json!([2]);
        let err = err_of(&bad);
        assert!(
            err.contains("trees[0].categories_nodes") && err.contains("no category set"),
            "{err}"
        );
    }

    #[test]
    fn multiclass_base_score_vector() {
        let mut m = model();
        m["learner"]["objective"]["name"] = json!("multi:softprob");
        m["learner"]["learner_model_param"]["num_class"] = json!("2");
        m["learner"]["learner_model_param"]["base_score"] = json!("[-1.5E-1,7.5E-3]");
        m["learner"]["gradient_booster"]["model"]["tree_info"] = json!([0, 1]);
        let e = load(&m).unwrap();
        assert_eq!(e.num_outputs, 2);
        assert_eq!(e.link, Link::Softmax);
        assert_eq!(e.base_margin, vec![-0.15f32 as f64, 0.0075f32 as f64]);
        assert_eq!(e.tree_output, vec![0, 1]);
    }

    #[test]
    fn ubj_errors_name_the_field() {
        let e = load_ubj(b"{i\x07learner{i\x03abc[$d#i\x05\x00", "m.ubj")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("m.ubj: "), "{e}");
        assert!(
            e.contains("learner.abc") && e.contains("truncated or malformed UBJSON"),
            "{e}"
        );
    }
}
