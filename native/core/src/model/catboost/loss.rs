//! CatBoost losses: the objective name and the link from raw formula value to prediction.

use crate::ensemble::Link;
use serde_json::Value;

/// The loss named in `model_info.params.loss_function.type` (older exports:
/// `model_info.params.loss_function` as text) and its link.
///
/// `Logloss` / `CrossEntropy` predict a probability through the sigmoid, `MultiClass`
/// through the softmax, `Poisson` / `Tweedie` / `LogLinQuantile` through exp. Every other
/// loss (RMSE, MAE, Quantile, Expectile, MultiRMSE, ranking losses, `MultiClassOneVsAll`,
/// …) is explained on CatBoost's raw formula value (`prediction_type="RawFormulaVal"`,
/// what `ShapValues` adds up to) with [`Link::Identity`]. A model without the field (e.g.
/// made by `sum_models`) is `"unknown"` with the identity link.
pub fn read(v: &Value, dims: usize) -> (String, Link) {
    let lf = &v["model_info"]["params"]["loss_function"];
    let name = lf["type"]
        .as_str()
        .or_else(|| lf.as_str())
        .map(|s| s.split(':').next().unwrap_or(s).to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let link = match name.as_str() {
        "Logloss" | "CrossEntropy" if dims == 1 => Link::Logit,
        "MultiClass" => Link::Softmax,
        "Poisson" | "Tweedie" | "LogLinQuantile" => Link::Log,
        _ => Link::Identity,
    };
    (name, link)
}
