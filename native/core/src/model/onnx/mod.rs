//! ONNX tree ensembles (`ai.onnx.ml`): `TreeEnsembleRegressor` / `TreeEnsembleClassifier`
//! (opsets 1–3) and `TreeEnsemble` (opset 5), as written by skl2onnx, onnxmltools and
//! CatBoost's ONNX export, into one [`Ensemble`].
//!
//! The file is decoded with `prost` over the `onnx.proto` messages in [`proto`]. The graph
//! must hold one tree-ensemble operator fed by the graph's input (through `Cast` /
//! `Identity` only: other preprocessing is refused, naming the operator); what follows it
//! (`ZipMap`, `ArgMax`, label outputs) is ignored — arrowshap explains the operator's scores.
//!
//! * decisions: every node mode (`BRANCH_LEQ/LT/GTE/GT/EQ/NEQ`; opset 5's `BRANCH_MEMBER`
//!   set splits are refused, naming the node), NaN by
//!   `nodes_missing_value_tracks_true`, in float or double as the input type says ([`build`]);
//! * leaf weights per target / class; `AVERAGE` folds `1 / trees` into the leaves; `MIN` /
//!   `MAX` aggregation is refused; `base_values` are the base margins;
//! * `post_transform`: `NONE` identity, `LOGISTIC` logit, `SOFTMAX` softmax, others explained on
//!   the raw score (identity link); a binary classifier whose weights all go to class 0 (the
//!   scikit-learn / LightGBM converters' form) has one output, the positive class's margin.
//!
//! **Covers.** ONNX keeps no node covers (sample counts or hessians), which path-dependent
//! TreeSHAP weighs paths by: a loaded model has zero covers and [`covers_from_background`]
//! sets them to the number of background rows reaching each node (with the training rows
//! this is scikit-learn's `weighted_n_node_samples` without sample weights or bootstrap).
//! Until then path-dependent explainers refuse the model
//! ([`Ensemble::check_covers`](crate::Ensemble::check_covers)); interventional explainers
//! need no covers.

pub mod attrs;
pub mod build;
pub mod graph;
pub mod proto;

use crate::ensemble::{Link, ModelSource};
use crate::{Ensemble, Error, Matrix, Result};
use prost::Message;

/// The ai.onnx.ml tree-ensemble operators.
const OPS: [&str; 3] = [
    "TreeEnsembleRegressor",
    "TreeEnsembleClassifier",
    "TreeEnsemble",
];

/// Most input columns accepted.
const MAX_FEATURES: usize = 1 << 24;

/// True for a file that looks like an ONNX model holding an ai.onnx.ml operator: a
/// `ModelProto` starts with `ir_version` (field 1, varint: byte 0x08).
pub fn sniff(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1 << 16)];
    let has = |s: &[u8]| head.windows(s.len()).any(|w| w == s);
    bytes.first() == Some(&0x08) && (has(b"ai.onnx") || has(b"TreeEnsemble"))
}

/// Loads an ONNX tree ensemble; `file` names it in errors.
pub fn load(bytes: &[u8], file: &str) -> Result<Ensemble> {
    let model = proto::ModelProto::decode(bytes).map_err(|e| {
        Error::unsupported(file, format!("not a readable ONNX model (protobuf: {e})"))
    })?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| Error::model(file, "graph", "missing"))?;
    let found: Vec<usize> = (0..graph.node.len())
        .filter(|&i| {
            let n = &graph.node[i];
            n.domain.as_deref() == Some("ai.onnx.ml")
                && OPS.contains(&n.op_type.as_deref().unwrap_or(""))
        })
        .collect();
    let ni = match found.as_slice() {
        [i] => *i,
        [] => {
            return Err(Error::unsupported(
                file,
                "ONNX model without an ai.onnx.ml tree-ensemble operator (TreeEnsembleRegressor, TreeEnsembleClassifier or TreeEnsemble): arrowshap explains tree ensembles only",
            ))
        }
        _ => {
            return Err(Error::unsupported(
                file,
                format!("ONNX model with {} tree-ensemble operators; arrowshap explains a graph with one", found.len()),
            ))
        }
    };
    let node = &graph.node[ni];
    let op = node.op_type.clone().unwrap_or_default();
    let at = format!("graph.node[{ni}]({op})");
    let a = attrs::Attrs {
        node,
        file,
        at: at.clone(),
    };
    let (float_input, declared) = input_of(graph, ni, file, &at)?;
    let max_features = declared.unwrap_or(MAX_FEATURES);
    let g = match op.as_str() {
        "TreeEnsembleRegressor" => graph::read_v3(&a, "target", max_features)?,
        "TreeEnsembleClassifier" => graph::read_v3(&a, "class", max_features)?,
        _ => graph::read_v5(&a, max_features)?,
    };
    // aggregation
    let agg = if op == "TreeEnsemble" {
        match a.int("aggregate_function", 1) {
            0 => "AVERAGE",
            1 => "SUM",
            2 => "MIN",
            3 => "MAX",
            _ => "?",
        }
        .to_string()
    } else {
        a.string("aggregate_function", "SUM")
    };
    let scale = match agg.as_str() {
        "SUM" => 1.0,
        "AVERAGE" => 1.0 / g.roots.len() as f64,
        other => {
            return Err(Error::unsupported(
                file,
                format!(
                "{at}.aggregate_function is {other}: only SUM and AVERAGE are additive over trees"
            ),
            ))
        }
    };
    let (trees, tree_output) = build::trees(&g, float_input, scale, file, &at)?;
    // outputs
    let max_id = tree_output
        .iter()
        .map(|&k| k as usize + 1)
        .max()
        .unwrap_or(1);
    let labels = a
        .ints("classlabels_int64s")
        .len()
        .max(a.strings("classlabels_strings").len());
    let mut num_outputs = if op == "TreeEnsembleClassifier" {
        labels.max(max_id)
    } else {
        (a.int("n_targets", 0).max(0) as usize).max(max_id)
    };
    let binary_one_score = op == "TreeEnsembleClassifier" && labels == 2 && max_id == 1;
    if binary_one_score {
        num_outputs = 1;
    }
    if num_outputs > crate::limits::MAX_OUTPUTS {
        return Err(a.err(
            "n_targets",
            format!(
                "{num_outputs} outputs; at most {} are accepted",
                crate::limits::MAX_OUTPUTS
            ),
        ));
    }
    let base = a.numbers("base_values")?;
    let base_margin = if base.is_empty() {
        vec![0.0; num_outputs]
    } else if base.len() == num_outputs {
        base
    } else {
        return Err(a.err(
            "base_values",
            format!("{} values for {num_outputs} outputs", base.len()),
        ));
    };
    let post = if op == "TreeEnsemble" {
        ["NONE", "SOFTMAX", "LOGISTIC", "SOFTMAX_ZERO", "PROBIT"]
            .get(a.int("post_transform", 0).clamp(0, 5) as usize)
            .unwrap_or(&"?")
            .to_string()
    } else {
        a.string("post_transform", "NONE")
    };
    let link = match post.as_str() {
        "LOGISTIC" if num_outputs == 1 => Link::Logit,
        "SOFTMAX" => Link::Softmax,
        _ => Link::Identity,
    };
    let e = Ensemble {
        trees,
        tree_output,
        num_outputs,
        num_features: declared
            .unwrap_or_else(|| g.branches.iter().map(|b| b.feature + 1).max().unwrap_or(1)),
        feature_names: Vec::new(),
        base_margin,
        objective: format!("onnx:{op}:{post}"),
        link,
        source: ModelSource::OnnxTreeEnsemble,
    };
    let e = Ensemble {
        feature_names: (0..e.num_features).map(|i| format!("f{i}")).collect(),
        ..e
    };
    e.validate(file)?;
    Ok(e)
}

/// The element type (float: true, double: false) of the tensor entering operator `ni` and
/// the declared column count of the graph input, following `Cast` / `Identity` back to it.
fn input_of(
    graph: &proto::GraphProto,
    ni: usize,
    file: &str,
    at: &str,
) -> Result<(bool, Option<usize>)> {
    let mut name = graph.node[ni]
        .input
        .first()
        .cloned()
        .ok_or_else(|| Error::model(file, format!("{at}.input"), "missing"))?;
    let mut cast_to: Option<i32> = None;
    for _ in 0..graph.node.len() + 1 {
        if let Some(inp) = graph
            .input
            .iter()
            .find(|v| v.name.as_deref() == Some(name.as_str()))
        {
            let tt = inp.r#type.as_ref().and_then(|t| t.tensor_type.as_ref());
            let elem = cast_to
                .or_else(|| tt.and_then(|t| t.elem_type))
                .unwrap_or(1);
            let declared = tt
                .and_then(|t| t.shape.as_ref())
                .and_then(|s| s.dim.get(1))
                .and_then(|d| d.dim_value)
                .filter(|&v| v > 0 && (v as usize) <= MAX_FEATURES)
                .map(|v| v as usize);
            return match elem {
                1 => Ok((true, declared)),
                11 => Ok((false, declared)),
                t => Err(Error::unsupported(
                    file,
                    format!("graph input {name:?} has element type {t}; arrowshap reads float (1) or double (11) inputs"),
                )),
            };
        }
        let Some((pi, prev)) = graph
            .node
            .iter()
            .enumerate()
            .find(|(_, n)| n.output.iter().any(|o| *o == name))
        else {
            return Err(Error::model(
                file,
                format!("{at}.input"),
                format!("{name:?} is neither a graph input nor a node output"),
            ));
        };
        match prev.op_type.as_deref().unwrap_or("") {
            "Cast" => {
                if cast_to.is_none() {
                    cast_to = prev
                        .attribute
                        .iter()
                        .find(|x| x.name.as_deref() == Some("to"))
                        .and_then(|x| x.i)
                        .map(|v| v as i32);
                }
            }
            "Identity" => {}
            other => {
                return Err(Error::unsupported(
                    file,
                    format!("graph.node[{pi}] ({other}) transforms the input before the tree ensemble; arrowshap evaluates the trees only: export the tree model alone (its input the raw feature matrix)"),
                ))
            }
        }
        name = prev.input.first().cloned().unwrap_or_default();
    }
    Err(Error::model(
        file,
        format!("{at}.input"),
        "the input chain loops",
    ))
}

/// Sets every node's cover to the number of rows of `x` reaching it (see the module docs).
pub fn covers_from_background(e: &mut Ensemble, x: &Matrix) -> Result<()> {
    e.check_input(x)?;
    if x.rows() == 0 {
        return Err(Error::Input(
            "the background has no rows: covers need at least one".into(),
        ));
    }
    let m = e.num_features;
    let mut row = vec![0.0; m];
    for t in &mut e.trees {
        t.nodes.iter_mut().for_each(|n| n.cover = 0.0);
    }
    for r in 0..x.rows() {
        x.gather_rows(r, &mut row);
        for t in &mut e.trees {
            let mut i = 0usize;
            loop {
                t.nodes[i].cover += 1.0;
                if t.nodes[i].is_leaf() {
                    break;
                }
                i = t.next(i, row[t.nodes[i].feature as usize]);
            }
        }
    }
    Ok(())
}
