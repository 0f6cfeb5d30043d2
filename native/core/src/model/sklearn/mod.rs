//! scikit-learn models saved with skops (`skops.io.dump`, MLflow 3's `model.skops`).
//!
//! [`load_skops`] reads the archive safely ([`skops`]: zip + JSON schema + `.npy`
//! arrays, an allow-list of types, nothing unpickled or executed), converts the
//! final estimator into the flat [`Ensemble`] ([`forest`], [`boosting`], [`hist`]) and
//! compiles the preprocessing steps in front of it into a [`Program`] ([`preprocess`]):
//! the model's features are the pipeline's `get_feature_names_out()`, each computed
//! from one raw input column.
//!
//! Output spaces follow `shap.TreeExplainer`: forests and single trees explain their
//! prediction (classifiers: class probabilities averaged over the trees), gradient
//! boosting and HistGradientBoosting their raw margin (`decision_function`).
//! [`SklearnModel::output_space`] says which, in words.

pub mod attrs;
pub mod boosting;
pub mod forest;
pub mod hist;
pub mod npy;
pub mod preprocess;
pub mod program;
pub mod skops;
pub mod tree;

use crate::{Ensemble, Error, Result};
use attrs::Node;
use program::{Column, Encoding, Op, Program};

/// A scikit-learn model ready to explain: its trees and the preprocessing in front.
#[derive(Clone, Debug)]
pub struct SklearnModel {
    /// The final estimator as one ensemble; `feature_names` are the transformed feature names.
    pub ensemble: Ensemble,
    /// The estimator's class name (`RandomForestRegressor`).
    pub estimator: String,
    /// The space the SHAP values are in, in words.
    pub output_space: String,
    /// Class labels of a classifier (`str()` of `classes_`), in output order.
    pub classes: Vec<String>,
    /// Raw inputs → model features.
    pub program: Program,
    /// True when normalised total gain equals scikit-learn's `feature_importances_`
    /// (trees, forests, gradient boosting; HistGradientBoosting has none).
    pub importances_are_sklearn: bool,
    /// Names of the pipeline steps in front of the estimator (empty for a bare estimator).
    pub steps: Vec<String>,
}

impl SklearnModel {
    /// A JSON description for bindings: `{estimator, output_space, classes, steps,
    /// importances_are_sklearn, program}` (see [`Program::to_json`]).
    pub fn describe_json(&self) -> serde_json::Value {
        serde_json::json!({
            "estimator": self.estimator,
            "output_space": self.output_space,
            "classes": self.classes,
            "steps": self.steps,
            "importances_are_sklearn": self.importances_are_sklearn,
            "program": self.program.to_json(),
        })
    }
}

/// What an estimator converter returns.
pub struct Estimator {
    /// The trees over the estimator's own inputs (names filled in later).
    pub ensemble: Ensemble,
    /// See [`SklearnModel::output_space`].
    pub output_space: String,
    /// See [`SklearnModel::classes`].
    pub classes: Vec<String>,
    /// Operations the estimator applies to its inputs itself (HistGradientBoosting's
    /// categorical remapping): (input index, operation) in order.
    pub input_ops: Vec<(usize, Op)>,
    /// Encodings referenced by `input_ops`.
    pub encodings: Vec<Encoding>,
    /// See [`SklearnModel::importances_are_sklearn`].
    pub importances_are_sklearn: bool,
}

/// The estimators [`load_skops`] converts, as listed in messages.
pub const SUPPORTED_ESTIMATORS: &str = "DecisionTreeRegressor/Classifier, ExtraTreeRegressor/Classifier, \
RandomForestRegressor/Classifier, ExtraTreesRegressor/Classifier, GradientBoostingRegressor/Classifier, \
HistGradientBoostingRegressor/Classifier";

/// Reads a skops file (its bytes; `name` labels errors) into a [`SklearnModel`].
pub fn load_skops(bytes: &[u8], name: &str) -> Result<SklearnModel> {
    let file = skops::read(bytes, name)?;
    let root = Node::root(name, &file.root, "");
    let (steps, est): (Vec<(String, Node)>, Node) = if root.class() == "Pipeline" {
        let mut items = Vec::new();
        for s in root.attr("steps")?.items()? {
            let parts = s.items()?;
            if parts.len() != 2 {
                return Err(s.err("a step must be a (name, estimator) pair"));
            }
            let label = parts[0].str()?.to_string();
            let node = Node {
                at: parts[1].at,
                path: format!("steps[{label}]"),
            };
            items.push((label, node));
        }
        let last = items
            .pop()
            .ok_or_else(|| root.err("the pipeline has no steps"))?;
        (items, last.1)
    } else {
        (Vec::new(), root)
    };
    // raw inputs: feature_names_in_ of the first step
    let first = steps.first().map(|s| &s.1).unwrap_or(&est);
    let inputs = input_names(first)?;
    let mut program = Program::identity(inputs);
    let mut cols = program.columns.clone();
    for (_, s) in &steps {
        cols = preprocess::transform(s, cols, &mut program)?;
    }
    let converted = convert_estimator(&est)?;
    let mut e = converted.ensemble;
    if e.num_features != cols.len() {
        return Err(est.err(format!(
            "the estimator was fitted on {} features but the steps before it produce {}",
            e.num_features,
            cols.len()
        )));
    }
    // the estimator's own encodings (HistGradientBoosting's categorical remapping)
    let offset = program.encodings.len();
    program.encodings.extend(converted.encodings);
    for (i, op) in converted.input_ops {
        let op = match op {
            Op::Code(k) => Op::Code(k + offset),
            other => other,
        };
        cols[i].ops.push(op);
    }
    if steps.is_empty() {
        if let Some(names) = est.opt("feature_names_in_") {
            let (_, n) = preprocess::categories(&names)?;
            for (c, n) in cols.iter_mut().zip(n) {
                c.name = n;
            }
        }
    }
    e.feature_names = cols.iter().map(|c: &Column| c.name.clone()).collect();
    program.columns = cols;
    e.validate(name)?;
    Ok(SklearnModel {
        ensemble: e,
        estimator: est.class().to_string(),
        output_space: converted.output_space,
        classes: converted.classes,
        program,
        importances_are_sklearn: converted.importances_are_sklearn,
        steps: steps.into_iter().map(|s| s.0).collect(),
    })
}

fn convert_estimator(est: &Node) -> Result<Estimator> {
    match est.class() {
        "DecisionTreeRegressor"
        | "DecisionTreeClassifier"
        | "ExtraTreeRegressor"
        | "ExtraTreeClassifier"
        | "RandomForestRegressor"
        | "RandomForestClassifier"
        | "ExtraTreesRegressor"
        | "ExtraTreesClassifier" => forest::convert(est),
        "GradientBoostingRegressor" | "GradientBoostingClassifier" => boosting::convert(est),
        "HistGradientBoostingRegressor" | "HistGradientBoostingClassifier" => hist::convert(est),
        "IsolationForest" => Err(est.unsupported(
            "IsolationForest is not supported (its path-length scores are not tree leaf values)",
        )),
        _ => Err(est.unsupported(format!(
            "estimator `{}` is not supported; supported: {SUPPORTED_ESTIMATORS}",
            est.qualified()
        ))),
    }
}

/// Raw input names of a fitted step: `feature_names_in_`, else `x0`, `x1`, … (`n_features_in_`).
fn input_names(step: &Node) -> Result<Vec<String>> {
    if let Some(names) = step.opt("feature_names_in_") {
        let (_, n) = preprocess::categories(&names)?;
        return Ok(n);
    }
    let n = match step.opt("n_features_in_") {
        Some(n) => n.usize()?,
        None if step.class() == "Pipeline" => {
            let steps = step.attr("steps")?.items()?;
            let first = steps
                .first()
                .ok_or_else(|| step.err("the pipeline has no steps"))?
                .items()?;
            return input_names(first.get(1).ok_or_else(|| step.err("bad step"))?);
        }
        None => {
            return Err(step.err(format!(
                "{} has neither feature_names_in_ nor n_features_in_ (is it fitted?)",
                step.qualified()
            )))
        }
    };
    Ok((0..n).map(|i| format!("x{i}")).collect())
}

/// `str()` of each class label (`classes_`).
pub fn class_labels(classes: &Node) -> Result<Vec<String>> {
    let (_, names) = preprocess::categories(classes)?;
    if names.is_empty() {
        return Err(classes.err("no classes"));
    }
    Ok(names)
}

/// True when `bytes` look like a skops file (a zip archive).
pub fn sniff(bytes: &[u8]) -> bool {
    skops::looks_like_zip(bytes)
}

/// Error for a skops file whose estimator needs preprocessing that a plain model load cannot apply.
pub fn needs_pipeline(name: &str, m: &SklearnModel) -> Error {
    Error::unsupported(
        name,
        format!(
            "this scikit-learn pipeline transforms its raw inputs ({} → {} features); load it as a pipeline",
            m.program.inputs.len(),
            m.program.columns.len()
        ),
    )
}
