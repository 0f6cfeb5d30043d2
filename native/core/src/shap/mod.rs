//! SHAP explainers over an [`crate::Ensemble`].
