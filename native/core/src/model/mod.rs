//! Model loaders: XGBoost JSON / UBJSON and LightGBM text, into one [`crate::Ensemble`].
//!
//! [`load_file`] and [`load_bytes`] recognise the format from the content, not
//! the file name:
//!
//! * XGBoost JSON — the first non-space byte is `{` and the document is JSON;
//! * XGBoost UBJSON — `{` followed by a UBJSON marker (a key length type
//!   `i U I l L`, or an optimized-container `$` / `#`); leading no-ops `N` allowed;
//! * LightGBM text — starts with a `tree` line (`tree\n` or `tree\r\n`).
//!
//! Every error names the file (the `name` given) and, where one is at fault,
//! the model field. No input makes a loader panic.

pub mod lightgbm;
pub mod ubjson;
pub mod xgboost;

use crate::{Ensemble, Error, Result};
use std::path::Path;

pub use lightgbm::load_text as load_lightgbm_text;
pub use xgboost::{load_json as load_xgboost_json, load_ubj as load_xgboost_ubj};

/// The model formats arrowshap reads, as listed in error messages.
pub const SUPPORTED_FORMATS: &str =
    "XGBoost JSON (save_model(\"*.json\")), XGBoost UBJSON (*.ubj) or LightGBM text (save_model(\"model.txt\"))";

/// A model format recognised from the content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// XGBoost JSON.
    XgboostJson,
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
        return Some(Format::XgboostJson);
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
    match sniff(bytes) {
        Some(Format::LightgbmText) => lightgbm::load_text(bytes, name),
        Some(Format::XgboostUbj) => xgboost::load_ubj(bytes, name),
        Some(Format::XgboostJson) => {
            let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            xgboost::load_json(b, name)
        }
        None => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats() {
        assert_eq!(sniff(b"tree\nversion=v4"), Some(Format::LightgbmText));
        assert_eq!(sniff(b"tree\r\nversion=v4"), Some(Format::LightgbmText));
        assert_eq!(sniff(b"  \n{\"learner\": 1}"), Some(Format::XgboostJson));
        assert_eq!(sniff(b"{}"), Some(Format::XgboostJson));
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
