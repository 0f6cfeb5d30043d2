//! KernelSHAP: model-agnostic SHAP values over a background set.
