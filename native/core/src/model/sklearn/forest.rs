//! `DecisionTree*`, `ExtraTree*`, `RandomForest*` and `ExtraTrees*` into one ensemble.
//!
//! As `shap.TreeExplainer` explains them: regressors in prediction space (each leaf
//! scaled by 1/n_trees, so the ensemble sums to the forest's mean), classifiers in
//! probability space (each leaf's class fractions normalised, scaled by 1/n_trees;
//! one output per class, the tree structure repeated for each). Cover is
//! `weighted_n_node_samples`. Split gains are each split's share of scikit-learn's
//! `feature_importances_` (mean decrease in impurity, normalised per tree, averaged
//! over the trees with a split), so the normalised total gain equals `feature_importances_`.

use super::attrs::Node;
use super::tree::{self, SkTree};
use super::Estimator;
use crate::ensemble::{Ensemble, Link, ModelSource};
use crate::Result;

/// Converts a fitted tree or forest estimator.
pub fn convert(est: &Node) -> Result<Estimator> {
    let class = est.class();
    let single = class.starts_with("DecisionTree")
        || class.starts_with("ExtraTree") && !class.starts_with("ExtraTrees");
    let classifier = class.ends_with("Classifier");
    let n_features = est.attr("n_features_in_")?.usize()?;
    let members: Vec<Node> = if single {
        vec![Node::root(est.at.file, est.v(), &est.path)]
    } else {
        est.attr("estimators_")?.items()?
    };
    if members.is_empty() {
        return Err(est.err("the forest has no trees (estimators_ is empty)"));
    }
    let mut sk = Vec::with_capacity(members.len());
    for m in &members {
        let t = m.attr("tree_")?;
        sk.push((tree::read(&t)?, t));
    }
    let n_trees = sk.len();
    let scale = 1.0 / n_trees as f64;
    let relevant = sk.iter().filter(|(s, _)| s.len() > 1).count().max(1);

    let (n_outputs, classes) = if classifier {
        if sk[0].0.n_outputs != 1 {
            return Err(est.unsupported("multi-output classifiers are not supported"));
        }
        let classes = super::class_labels(&est.attr("classes_")?)?;
        (classes.len(), classes)
    } else {
        (sk[0].0.n_outputs, Vec::new())
    };
    let mut trees = Vec::with_capacity(n_trees * n_outputs);
    let mut tree_output = Vec::with_capacity(n_trees * n_outputs);
    for (s, at) in &sk {
        check_shape(s, at, classifier, n_outputs)?;
        let gains = gains(s, relevant, n_outputs);
        for k in 0..n_outputs {
            let t = if classifier {
                s.to_tree(at, n_features, &gains, |i| {
                    let total: f64 = (0..s.n_classes).map(|c| s.value(i, 0, c)).sum();
                    let v = s.value(i, 0, k);
                    if total > 0.0 {
                        v / total * scale
                    } else {
                        0.0
                    }
                })?
            } else {
                s.to_tree(at, n_features, &gains, |i| s.value(i, k, 0) * scale)?
            };
            trees.push(t);
            tree_output.push(k as u32);
        }
    }
    let output_space = if classifier {
        "probability: class probabilities averaged over the trees (predict_proba), as shap.TreeExplainer explains them"
    } else {
        "prediction: the mean of the trees' predictions (predict)"
    };
    Ok(Estimator {
        ensemble: Ensemble {
            trees,
            tree_output,
            num_outputs: n_outputs,
            num_features: n_features,
            feature_names: Vec::new(),
            base_margin: vec![0.0; n_outputs],
            objective: format!("sklearn:{class}"),
            link: Link::Identity,
            source: ModelSource::SklearnSkops,
        },
        output_space: output_space.into(),
        classes,
        input_ops: Vec::new(),
        encodings: Vec::new(),
        importances_are_sklearn: true,
    })
}

fn check_shape(s: &SkTree, at: &Node, classifier: bool, n_outputs: usize) -> Result<()> {
    let ok = if classifier {
        s.n_outputs == 1 && s.n_classes == n_outputs
    } else {
        s.n_outputs == n_outputs && s.n_classes == 1
    };
    if ok {
        Ok(())
    } else {
        Err(at.err(format!(
            "values have {} outputs × {} classes, expected {}",
            s.n_outputs,
            s.n_classes,
            if classifier {
                format!("1 × {n_outputs}")
            } else {
                format!("{n_outputs} × 1")
            }
        )))
    }
}

/// Per-node gains: impurity decrease normalised per tree, averaged over `relevant`
/// trees, split evenly over the `copies` (one per class) that carry the split.
fn gains(s: &SkTree, relevant: usize, copies: usize) -> Vec<f64> {
    let d = s.decreases();
    let total: f64 = d.iter().sum();
    let f = if total > 0.0 {
        1.0 / (total * relevant as f64 * copies as f64)
    } else {
        0.0
    };
    d.iter().map(|x| x * f).collect()
}
