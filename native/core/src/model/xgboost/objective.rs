//! XGBoost objectives: the link from raw margin to prediction, and how the
//! stored `base_score` (kept in the objective's output space by XGBoost ≥ 1.0)
//! becomes a margin, as each objective's `ProbToMargin` does
//! (`src/objective/*` in XGBoost):
//!
//! * logit for `binary:logistic`, `reg:logistic`;
//! * log for `count:poisson`, `reg:gamma`, `reg:tweedie`, `survival:cox`,
//!   `survival:aft` (their predictions are `exp(margin)`);
//! * identity otherwise: squared/absolute/pseudo-Huber/squared-log error,
//!   `reg:quantileerror` (one output per quantile of `quantile_alpha`, each
//!   with its own base score), `binary:logitraw`, `binary:hinge` (prediction
//!   `margin > 0`, explained as the margin), `rank:pairwise` / `rank:ndcg` /
//!   `rank:map`, `multi:softmax` / `multi:softprob`.
//!
//! The base score is written as a vector string like `"[5E-1]"` by XGBoost 3
//! (one value per output), as a plain number string by older releases; the
//! margin is rounded to f32, the precision XGBoost keeps it in.

use super::doc::{join, type_name, Doc};
use crate::ensemble::Link;
use crate::Result;
use serde_json::Value;

/// How `base_score` turns from output space into margin space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Transform {
    /// Already a margin.
    None,
    /// `ln(b / (1 - b))`.
    Logit,
    /// `ln(b)`.
    Log,
}

/// Objectives arrowshap reads, with their link and base-score transform.
pub(super) fn objective_link(name: &str) -> Option<(Link, Transform)> {
    Some(match name {
        "reg:squarederror"
        | "reg:linear"
        | "reg:squaredlogerror"
        | "reg:pseudohubererror"
        | "reg:absoluteerror"
        | "reg:quantileerror"
        | "binary:logitraw"
        | "binary:hinge"
        | "rank:pairwise"
        | "rank:ndcg"
        | "rank:map" => (Link::Identity, Transform::None),
        "reg:logistic" | "binary:logistic" => (Link::Logit, Transform::Logit),
        "count:poisson" | "reg:gamma" | "reg:tweedie" | "survival:cox" | "survival:aft" => {
            (Link::Log, Transform::Log)
        }
        "multi:softmax" | "multi:softprob" => (Link::Softmax, Transform::None),
        _ => return None,
    })
}

/// The objectives [`objective_link`] knows, for error messages.
pub(super) const SUPPORTED_OBJECTIVES: &str = "reg:squarederror, reg:squaredlogerror, \
reg:pseudohubererror, reg:absoluteerror, reg:quantileerror, reg:logistic, binary:logistic, \
binary:logitraw, binary:hinge, multi:softmax, multi:softprob, count:poisson, reg:gamma, \
reg:tweedie, survival:cox, survival:aft, rank:pairwise, rank:ndcg, rank:map";

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

/// The base margin per output from `learner_model_param.base_score` (0.5 when
/// absent): one value for every output or one per output, transformed into
/// margin space for models written by XGBoost ≥ 1.0 (`major` ≥ 1).
pub(super) fn base_margin(
    doc: &Doc,
    lp: &Value,
    lp_path: &str,
    objective: &str,
    transform: Transform,
    major: i64,
    num_outputs: usize,
) -> Result<Vec<f64>> {
    let bs_path = join(lp_path, "base_score");
    let raw_base = match doc.opt(lp, lp_path, "base_score")? {
        Some(x) => parse_base_score(doc, x, &bs_path)?,
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
    Ok(base_margin)
}
