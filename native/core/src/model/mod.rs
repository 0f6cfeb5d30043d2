//! Model loaders: XGBoost JSON / UBJSON, LightGBM text, CatBoost JSON and ONNX tree
//! ensembles ([`onnx`]), into one [`crate::Ensemble`].
//!
//! [`load_file`] and [`load_bytes`] recognise the format from the content, not
//! the file name:
//!
//! * JSON — the first non-space byte is `{`: an XGBoost model (a `learner`
//!   object), a CatBoost model (`oblivious_trees`, see [`catboost`]), or a LightGBM `dump_model()` dump (refused, see [`refusal`]);
//!   XGBoost's bare `NaN` / `Infinity` tokens are accepted;
//! * XGBoost UBJSON — `{` followed by a UBJSON marker (a key length type
//!   `i U I l L`, or an optimized-container `$` / `#`); leading no-ops `N` allowed;
//! * LightGBM text — starts with a `tree` line (`tree\n` or `tree\r\n`).
//!
//! Files of formats arrowshap does not read (XGBoost legacy binary, pickles,
//! CatBoost `.cbm`) are recognised and refused with one line saying what the
//! file is and how to re-save it ([`refusal`]).
//!
//! Every error names the file (the `name` given) and, where one is at fault,
//! the model field. No input makes a loader panic.

pub mod catboost;
pub mod lightgbm;
pub mod onnx;
pub mod refusal;
pub mod sklearn;
pub mod ubjson;
pub mod xgboost;

use crate::{Ensemble, Error, Result};
use std::path::Path;

pub use lightgbm::load_text as load_lightgbm_text;
pub use xgboost::{load_json as load_xgboost_json, load_ubj as load_xgboost_ubj};

/// The model formats arrowshap reads, as listed in error messages.
pub const SUPPORTED_FORMATS: &str =
    "XGBoost JSON (save_model(\"*.json\")), XGBoost UBJSON (*.ubj), LightGBM text (save_model(\"model.txt\")) , CatBoost JSON (save_model(\"model.json\", format=\"json\")) or an ONNX tree ensemble (*.onnx)";

/// A model format recognised from the content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A JSON document (an XGBoost model, or a dump arrowshap refuses).
    Json,
    /// XGBoost UBJSON.
    XgboostUbj,
    /// LightGBM text.
    LightgbmText,
}

/// Recognises the format of a model from its first bytes, or returns `None`.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(b"tree\n") || bytes.starts_with(b"tree\r\n") {
        return Some(Format::LightgbmText);
    }
    // UBJSON: optional no-ops, then an object whose first byte after `{` is a marker.
    let ub = bytes.iter().position(|&b| b != b'N').unwrap_or(bytes.len());
    if bytes.get(ub) == Some(&b'{') {
        if let Some(m) = bytes.get(ub + 1) {
            if matches!(m, b'i' | b'U' | b'I' | b'l' | b'L' | b'$' | b'#') {
                return Some(Format::XgboostUbj);
            }
        }
    }
    // JSON: optional BOM and whitespace, then `{`.
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .map(|i| b[i]);
    if first == Some(b'{') {
        return Some(Format::Json);
    }
    None
}

/// Reads a model file and loads it with [`load_bytes`]; errors name `path`.
pub fn load_file(path: &Path) -> Result<Ensemble> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        file: name.clone(),
        source,
    })?;
    load_bytes(&bytes, &name)
}

/// Loads a model from its bytes, recognising the format from the content
/// (see the [module docs](self)). `name` names the model in errors.
pub fn load_bytes(bytes: &[u8], name: &str) -> Result<Ensemble> {
    if sklearn::sniff(bytes) {
        let m = sklearn::load_skops(bytes, name)?;
        return if m.program.is_identity() {
            Ok(m.ensemble)
        } else {
            Err(sklearn::needs_pipeline(name, &m))
        };
    }
    if onnx::sniff(bytes) {
        return onnx::load(bytes, name);
    }
    match sniff(bytes) {
        Some(Format::LightgbmText) => lightgbm::load_text(bytes, name),
        Some(Format::XgboostUbj) => xgboost::load_ubj(bytes, name),
        Some(Format::Json) => {
            let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            load_json(b, name)
        }
        None => {
            if let Some(what) = refusal::identify_binary(bytes) {
                return Err(Error::unsupported(name, what));
            }
            if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                return Err(Error::unsupported(
                    name,
                    format!("the file is empty; expected {SUPPORTED_FORMATS}"),
                ));
            }
            let head: String = String::from_utf8_lossy(&bytes[..bytes.len().min(24)])
                .chars()
                .map(|c| if c.is_control() { '·' } else { c })
                .collect();
            Err(Error::unsupported(
                name,
                format!("not a model arrowshap can read (it starts with {head:?}); expected {SUPPORTED_FORMATS}"),
            ))
        }
    }
}

/// Loads a JSON model document, choosing the reader by its top-level keys.
fn load_json(bytes: &[u8], name: &str) -> Result<Ensemble> {
    let norm = xgboost::json::normalize_tokens(bytes);
    let v: serde_json::Value =
        serde_json::from_slice(&norm).map_err(|e| xgboost::json::json_error(&norm, name, &e))?;
    if catboost::is_catboost(&v) {
        return catboost::from_value(&v, name);
    }
    if let Some(what) = refusal::identify_json(&v) {
        return Err(Error::unsupported(name, what));
    }
    xgboost::from_value(&v, name, crate::ensemble::ModelSource::XgboostJson)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats() {
        assert_eq!(sniff(b"tree\nversion=v4"), Some(Format::LightgbmText));
        assert_eq!(sniff(b"tree\r\nversion=v4"), Some(Format::LightgbmText));
        assert_eq!(sniff(b"  \n{\"learner\": 1}"), Some(Format::Json));
        assert_eq!(sniff(b"{}"), Some(Format::Json));
        assert_eq!(sniff(b"{L\x00"), Some(Format::XgboostUbj));
        assert_eq!(sniff(b"N{i\x01a"), Some(Format::XgboostUbj));
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"trees"), None);
    }

    #[test]
    fn unknown_and_empty_files() {
        let e = load_bytes(b"", "empty.bin").unwrap_err().to_string();
        assert!(
            e.starts_with("empty.bin: ") && e.contains("empty") && e.contains("LightGBM text"),
            "{e}"
        );
        let e = load_bytes(b"id,x\n1,2\n", "data.csv")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("data.csv: ") && e.contains("XGBoost JSON"),
            "{e}"
        );
        let e = load_file(Path::new("/nonexistent/model.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/model.json"), "{e}");
    }
}
