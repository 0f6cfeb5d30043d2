//! Model files arrowshap recognises but does not read: each gets one line saying
//! what the file is and how to save the model in a format arrowshap reads.
//!
//! * XGBoost's legacy binary format (`save_model("*.model")` / `"*.bin"` before
//!   XGBoost 2.0, raw bytes of old pickles): an optional `binf` magic, a
//!   136-byte parameter block, then the objective and booster names as
//!   length-prefixed strings (`gbtree`, `gblinear` or `dart`);
//! * Python pickles (`pickle`/`joblib` of a Booster or estimator): arrowshap
//!   never unpickles, since unpickling runs arbitrary code;
//! * CatBoost's binary `.cbm` (magic `CBM1`, a flatbuffers document);
//! * LightGBM's `dump_model()` JSON (a dump for reading, not a saved model);

use serde_json::Value;

/// How far into the file the legacy-binary booster name is looked for.
const LEGACY_SCAN: usize = 4096;

/// What a binary file is, when it is a model format arrowshap refuses; the
/// returned text is the message (without the file name).
pub fn identify_binary(bytes: &[u8]) -> Option<String> {
    if bytes.len() >= 2 && bytes[0] == 0x80 && (2..=5).contains(&bytes[1]) {
        return Some(pickle_message(bytes));
    }
    if bytes.starts_with(b"CBM1") {
        return Some(
            "CatBoost binary model (.cbm): arrowshap reads CatBoost's JSON export; \
             re-save it with model.save_model(\"model.json\", format=\"json\")"
                .to_string(),
        );
    }
    if is_xgboost_legacy_binary(bytes) {
        return Some(
            "XGBoost legacy binary model (the `.model`/`.bin` format of XGBoost < 2.0): \
             load it with XGBoost ≤ 2.1 and re-save with booster.save_model(\"model.json\")"
                .to_string(),
        );
    }
    None
}

/// What a JSON document is, when it is a JSON arrowshap refuses.
pub fn identify_json(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    let lgb_dump = o.get("name").and_then(Value::as_str) == Some("tree")
        && o.contains_key("tree_info")
        && !o.contains_key("learner");
    if lgb_dump {
        return Some(
            "LightGBM dump_model() JSON: a dump for reading, not a saved model; \
             save the booster with booster.save_model(\"model.txt\") (text format) instead"
                .to_string(),
        );
    }
    None
}

/// True for XGBoost's legacy binary layout: a length-prefixed booster name
/// (`gbtree`, `gblinear`, `dart`) after the parameter block and objective name.
fn is_xgboost_legacy_binary(bytes: &[u8]) -> bool {
    let body = bytes.strip_prefix(b"binf").unwrap_or(bytes);
    // The 136-byte LearnerModelParam comes first; the names follow it.
    if body.len() < 136 + 16 {
        return false;
    }
    let scan = &body[136..body.len().min(LEGACY_SCAN)];
    // objective name: u64 length, then e.g. "reg:squarederror"
    let n = u64::from_le_bytes(scan[..8].try_into().unwrap_or([0; 8])) as usize;
    if n == 0 || n > 64 || scan.len() < 8 + n + 8 {
        return false;
    }
    let obj = &scan[8..8 + n];
    if !obj.iter().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let rest = &scan[8 + n..];
    [&b"gbtree"[..], b"gblinear", b"dart"].iter().any(|name| {
        rest.len() >= 8 + name.len()
            && u64::from_le_bytes(rest[..8].try_into().unwrap_or([0; 8])) == name.len() as u64
            && &rest[8..8 + name.len()] == *name
    })
}

/// The message for a pickle, naming the library whose object it holds when known.
fn pickle_message(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(4096)];
    let has = |s: &[u8]| head.windows(s.len()).any(|w| w == s);
    let (what, how) = if has(b"xgboost") {
        (
            "an XGBoost object",
            "booster.save_model(\"model.json\") (or model.get_booster().save_model(...))",
        )
    } else if has(b"lightgbm") {
        (
            "a LightGBM object",
            "booster.save_model(\"model.txt\") (or model.booster_.save_model(...))",
        )
    } else if has(b"catboost") {
        (
            "a CatBoost object",
            "model.save_model(\"model.json\", format=\"json\")",
        )
    } else if has(b"sklearn") {
        (
            "a scikit-learn object",
            "skops.io.dump(model, \"model.skops\") or an ONNX export",
        )
    } else {
        (
            "a Python object",
            "the library's own save_model in a format listed below",
        )
    };
    format!(
        "a pickled Python file ({what}): arrowshap does not unpickle (unpickling runs code); \
         load it in Python and save it with {how}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_binary_is_recognised() {
        let mut b = b"binf".to_vec();
        b.extend_from_slice(&[0u8; 136]);
        b.extend_from_slice(&16u64.to_le_bytes());
        b.extend_from_slice(b"reg:squarederror");
        b.extend_from_slice(&6u64.to_le_bytes());
        b.extend_from_slice(b"gbtree");
        b.extend_from_slice(&[0u8; 32]);
        let m = identify_binary(&b).unwrap();
        assert!(m.contains("XGBoost legacy binary"), "{m}");
        // without the magic too
        assert!(identify_binary(&b[4..]).is_some());
        // a random binary is not
        assert!(identify_binary(&[7u8; 400]).is_none());
    }

    #[test]
    fn pickles_name_the_library() {
        let m =
            identify_binary(b"\x80\x04\x95\x00\x8c\x0cxgboost.core\x94\x8c\x07Booster").unwrap();
        assert!(m.contains("pickled") && m.contains("XGBoost"), "{m}");
        let m = identify_binary(b"\x80\x05lightgbm.basic").unwrap();
        assert!(m.contains("LightGBM"), "{m}");
        assert!(identify_binary(b"CBM1\x00\x00")
            .unwrap()
            .contains("CatBoost"));
    }

    #[test]
    fn lightgbm_dump_json_is_recognised() {
        let v = serde_json::json!({"name": "tree", "version": "v4", "tree_info": []});
        assert!(identify_json(&v).unwrap().contains("dump_model"));
        let v = serde_json::json!({"learner": {}});
        assert!(identify_json(&v).is_none());
    }
}
