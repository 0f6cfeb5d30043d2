//! `GradientBoostingRegressor` / `GradientBoostingClassifier` into one ensemble, in
//! raw margin space: the init estimator's raw prediction as the base margin (through
//! the loss link, as `_init_raw_predictions` computes it), each stage's regression
//! trees scaled by the learning rate, one output per class for multiclass (K trees
//! per stage). Split gains are scikit-learn's unnormalised per-tree impurity decreases
//! averaged over the trees with a split, so normalised total gain = `feature_importances_`.

use super::attrs::Node;
use super::skops::Sk;
use super::tree;
use super::Estimator;
use crate::ensemble::{Ensemble, Link, ModelSource};
use crate::Result;

/// Converts a fitted gradient boosting estimator.
pub fn convert(est: &Node) -> Result<Estimator> {
    let class = est.class();
    let classifier = class.ends_with("Classifier");
    let n_features = est.attr("n_features_in_")?.usize()?;
    let lr = est.attr("learning_rate")?.f64()?;
    let stages = est.attr("estimators_")?;
    let shape = stages.shape()?;
    let members = stages.flat_items()?;
    let k = if shape.len() == 2 { shape[1] } else { 1 };
    if k == 0 || members.is_empty() || members.len() % k != 0 {
        return Err(stages.err(format!("unexpected shape {shape:?}")));
    }
    let link_class = est.attr("_loss")?.attr("link")?.class().to_string();
    let classes = if classifier {
        super::class_labels(&est.attr("classes_")?)?
    } else {
        Vec::new()
    };
    let base = init_raw(est, classifier, k, &link_class)?;

    let mut sk = Vec::with_capacity(members.len());
    for m in &members {
        let t = m.attr("tree_")?;
        sk.push((tree::read(&t)?, t));
    }
    let relevant = sk.iter().filter(|(s, _)| s.len() > 1).count().max(1) as f64;
    let mut trees = Vec::with_capacity(sk.len());
    let mut tree_output = Vec::with_capacity(sk.len());
    for (i, (s, at)) in sk.iter().enumerate() {
        if s.n_outputs != 1 || s.n_classes != 1 {
            return Err(at.err("gradient boosting stages must be single-output regression trees"));
        }
        let gains: Vec<f64> = s.decreases().iter().map(|d| d / relevant).collect();
        trees.push(s.to_tree(at, n_features, &gains, |n| s.value(n, 0, 0) * lr)?);
        tree_output.push((i % k) as u32);
    }
    let (link, output_space) = match (classifier, k, link_class.as_str()) {
        (false, _, _) => (Link::Identity, "raw prediction (predict)".to_string()),
        (true, 1, "LogitLink") => (
            Link::Logit,
            format!(
                "log-odds of class {:?} (raw margin, decision_function), as shap.TreeExplainer explains gradient boosting",
                classes.last().cloned().unwrap_or_default()
            ),
        ),
        (true, 1, _) => (
            Link::Identity,
            "raw margin (decision_function; exponential loss: probability = expit(2 * margin))".to_string(),
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
        input_ops: Vec::new(),
        encodings: Vec::new(),
        importances_are_sklearn: true,
    })
}

/// The raw prediction of `init_` per output, as `_init_raw_predictions` computes it.
fn init_raw(est: &Node, classifier: bool, k: usize, link: &str) -> Result<Vec<f64>> {
    let init = est.attr("init_")?;
    if matches!(init.v(), Sk::Str(s) if s == "zero") {
        return Ok(vec![0.0; k]);
    }
    match init.class() {
        "DummyRegressor" if !classifier => {
            let c = init.attr("constant_")?.floats()?;
            match c.as_slice() {
                [v] => Ok(vec![*v]),
                _ => Err(init.err("constant_ must hold one value")),
            }
        }
        "DummyClassifier" if classifier => {
            let prior = init.attr("class_prior_")?.floats()?;
            let strategy = init.attr("strategy")?.str()?;
            let mut p = match strategy {
                "prior" => prior.clone(),
                "most_frequent" => {
                    let best = prior
                        .iter()
                        .enumerate()
                        .fold(0, |b, (i, &x)| if x > prior[b] { i } else { b });
                    (0..prior.len()).map(|i| (i == best) as u8 as f64).collect()
                }
                other => {
                    return Err(init.unsupported(format!(
                        "DummyClassifier(strategy={other:?}) as init is random; only \"prior\" and \"most_frequent\" are supported"
                    )))
                }
            };
            let eps = f64::EPSILON;
            for x in p.iter_mut() {
                *x = x.clamp(eps, 1.0 - eps);
            }
            if k == 1 {
                let p1 = *p
                    .get(1)
                    .ok_or_else(|| init.err("class_prior_ needs two classes"))?;
                let logit = (p1 / (1.0 - p1)).ln();
                Ok(vec![if link == "HalfLogitLink" {
                    0.5 * logit
                } else {
                    logit
                }])
            } else {
                if p.len() != k {
                    return Err(init.err(format!("{} class priors for {k} outputs", p.len())));
                }
                let logs: Vec<f64> = p.iter().map(|x| x.ln()).collect();
                let mean = logs.iter().sum::<f64>() / k as f64;
                Ok(logs.iter().map(|l| l - mean).collect())
            }
        }
        _ => Err(init.unsupported(format!(
            "init estimator `{}` is not supported (DummyRegressor, DummyClassifier or \"zero\")",
            init.qualified()
        ))),
    }
}
