//! Model loaders: XGBoost JSON / UBJSON and LightGBM text, into one [`crate::Ensemble`].
