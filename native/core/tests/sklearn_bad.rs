//! Hostile and broken skops files: each is refused with one message naming the file and
//! what is at fault (a type outside the allow-list, a tampered schema, a truncated or
//! inconsistent array, a pickle), never a panic.

mod common;

use arrowshap_core::model::{self, sklearn};
use std::io::{Read, Write};

/// The entries of a fixture's `model.skops`, by name.
fn entries(case: &str) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(common::fixtures_dir().join(case).join("model.skops")).unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut v = Vec::new();
            f.read_to_end(&mut v).unwrap();
            (f.name().unwrap().to_string(), v)
        })
        .collect()
}

fn rezip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (n, b) in entries {
        w.start_file(n.as_str(), opts).unwrap();
        w.write_all(b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The fixture with its schema text edited by `f`.
fn with_schema(case: &str, f: impl Fn(String) -> String) -> Vec<u8> {
    let mut e = entries(case);
    for (n, b) in e.iter_mut() {
        if n == "schema.json" {
            *b = f(String::from_utf8(b.clone()).unwrap()).into_bytes();
        }
    }
    rezip(&e)
}

fn err(bytes: &[u8]) -> String {
    let e = sklearn::load_skops(bytes, "bad.skops")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("bad.skops: "), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
    e
}

#[test]
fn types_outside_the_allow_list_are_named() {
    // the estimator swapped for os.system
    let b = with_schema("sklearn_dt_reg", |s| {
        s.replacen(
            "\"__class__\": \"DecisionTreeRegressor\"",
            "\"__class__\": \"system\"",
            1,
        )
        .replacen(
            "\"__module__\": \"sklearn.tree._classes\"",
            "\"__module__\": \"os\"",
            1,
        )
    });
    let e = err(&b);
    assert!(
        e.contains("`os.system`") && e.contains("nothing in the file was executed"),
        "{e}"
    );
    // an unknown estimator
    let b = with_schema("sklearn_dt_reg", |s| {
        s.replacen(
            "\"__class__\": \"DecisionTreeRegressor\"",
            "\"__class__\": \"LinearRegression\"",
            1,
        )
        .replacen(
            "\"__module__\": \"sklearn.tree._classes\"",
            "\"__module__\": \"sklearn.linear_model._base\"",
            1,
        )
    });
    let e = err(&b);
    assert!(
        e.contains("sklearn.linear_model._base.LinearRegression"),
        "{e}"
    );
    // an unknown transformer in a pipeline
    let b = with_schema("sklearn_rf_cls3", |s| {
        s.replace(
            "\"__class__\": \"StandardScaler\"",
            "\"__class__\": \"PolynomialFeatures\"",
        )
    });
    let e = err(&b);
    assert!(
        e.contains("sklearn.preprocessing._data.PolynomialFeatures"),
        "{e}"
    );
    // a FunctionTransformer that calls numpy.log
    let b = with_schema("sklearn_rf_cls3", |s| {
        let ft = r#"{"__class__": "FunctionTransformer", "__module__": "sklearn.preprocessing._function_transformer", "__loader__": "ObjectNode", "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {"func": {"__class__": "log", "__module__": "numpy", "__loader__": "FunctionNode"}}}}"#;
        let start = s
            .find("{\n                \"__class__\": \"StandardScaler\"")
            .or_else(|| {
                s.find("\"__class__\": \"StandardScaler\"")
                    .map(|i| s[..i].rfind('{').unwrap())
            })
            .unwrap();
        // replace the StandardScaler object (balanced braces) by the FunctionTransformer
        let bytes = s.as_bytes();
        let (mut depth, mut end) = (0i32, start);
        for (i, &c) in bytes.iter().enumerate().skip(start) {
            if c == b'{' {
                depth += 1
            }
            if c == b'}' {
                depth -= 1;
                if depth == 0 {
                    end = i + 1;
                    break;
                }
            }
        }
        format!("{}{}{}", &s[..start], ft, &s[end..])
    });
    let e = err(&b);
    assert!(
        e.contains("FunctionTransformer(func=numpy.log)") && e.contains("never does"),
        "{e}"
    );
    // a skops loader kind that would build arbitrary objects
    let b = with_schema("sklearn_dt_reg", |s| {
        s.replacen("\"ObjectNode\"", "\"MethodNode\"", 1)
    });
    let e = err(&b);
    assert!(e.contains("MethodNode"), "{e}");
}

#[test]
fn tampered_and_truncated_files_are_refused() {
    // truncated array
    let mut e = entries("sklearn_dt_reg");
    let (name, data) = e.iter_mut().find(|(n, _)| n.ends_with(".npy")).unwrap();
    let name = name.clone();
    data.truncate(data.len() - 5);
    let m = err(&rezip(&e));
    assert!(
        m.contains(&name) && m.contains("truncated or tampered"),
        "{m}"
    );
    // an array the schema names but the archive lacks
    let e: Vec<_> = entries("sklearn_dt_reg")
        .into_iter()
        .filter(|(n, _)| !n.ends_with(".npy"))
        .collect();
    let m = err(&rezip(&e));
    assert!(m.contains(".npy"), "{m}");
    // schema that is not JSON, or not skops
    let m = err(&with_schema("sklearn_dt_reg", |s| {
        s[..s.len() / 2].to_string()
    }));
    assert!(
        m.contains("schema.json") && m.contains("not valid JSON"),
        "{m}"
    );
    let m = err(&with_schema("sklearn_dt_reg", |s| {
        s.replacen("\"protocol\"", "\"protocolx\"", 1)
    }));
    assert!(m.contains("protocol"), "{m}");
    // a truncated archive
    let bytes = std::fs::read(common::fixtures_dir().join("sklearn_dt_reg/model.skops")).unwrap();
    let m = err(&bytes[..bytes.len() / 2]);
    assert!(m.contains("zip"), "{m}");
    // node features beyond the model's inputs (the records are consistent but lie)
    let m = err(&with_schema("sklearn_dt_reg", |s| {
        let at = s.find("\"n_features_in_\"").unwrap();
        let c = at + s[at..].find("\"content\": \"2\"").unwrap();
        format!(
            "{}\"content\": \"1\"{}",
            &s[..c],
            &s[c + "\"content\": \"2\"".len()..]
        )
    }));
    assert!(m.contains("feature"), "{m}");
}

#[test]
fn pickles_and_other_files_are_refused_with_a_hint() {
    let pickle = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins";
    let e = model::load_bytes(pickle, "model.pkl")
        .unwrap_err()
        .to_string();
    assert!(e.contains("model.pkl") && e.contains("pickle"), "{e}");
    let e = sklearn::load_skops(b"hello", "x.skops")
        .unwrap_err()
        .to_string();
    assert!(e.contains("x.skops") && e.contains("zip"), "{e}");
}

/// The structured `nodes` array of a fixture's tree (its entry name and the offset of
/// its first record), for tests that edit node records in place.
fn node_records(e: &[(String, Vec<u8>)]) -> (usize, usize) {
    let i = e
        .iter()
        .position(|(_, b)| b.windows(10).any(|w| w == b"left_child"))
        .expect("a nodes array");
    let b = &e[i].1;
    // .npy v1: magic (6), version (2), header length (u16 LE), header
    let header = u16::from_le_bytes([b[8], b[9]]) as usize;
    (i, 10 + header)
}

#[test]
fn corrupt_node_records_are_refused_naming_the_node() {
    // found by tests/fuzz_models.rs (skops target): a child index beyond the tree made the
    // importance sums index out of bounds (a panic) before the structure was checked
    let mut e = entries("sklearn_dt_reg");
    let (i, data) = node_records(&e);
    // record 0: left_child (i8 at 0), right_child (i8 at 8)
    e[i].1[data..data + 8].copy_from_slice(&1_000_000i64.to_le_bytes());
    let m = err(&rezip(&e));
    assert!(
        m.contains("node 0: child index out of range (1000000, "),
        "{m}"
    );
    // one child only
    let mut e = entries("sklearn_dt_reg");
    let (i, data) = node_records(&e);
    e[i].1[data..data + 8].copy_from_slice(&(-1i64).to_le_bytes());
    let m = err(&rezip(&e));
    assert!(m.contains("node 0 has one child"), "{m}");
}
