//! Loads every reference fixture made by XGBoost / LightGBM themselves and checks
//! that the loaded ensemble predicts the library's raw margins and has its base
//! value (the bias column of the library's contributions); checks that every
//! broken model under `tests/fixtures/bad/` is rejected with a message naming
//! the file; fuzzes the loaders with mutated and truncated models.

mod common;

use arrowshap_core::ensemble::{Link, ModelSource};
use arrowshap_core::{model, Matrix, RunControl};
use common::*;
use proptest::prelude::*;

/// XGBoost sums in f32: compare within 1e-5 relative.
const TOL: f64 = 1e-5;

const EXPECTED_CASES: &[&str] = &[
    "lgb_binary",
    "lgb_multiclass_cat",
    "lgb_reg",
    "xgb_binary_depth6",
    "xgb_binary_logitraw",
    "xgb_categorical",
    "xgb_dart",
    "xgb_multi_softmax",
    "xgb_multi_softprob",
    "xgb_multi_target",
    "xgb_reg_gamma",
    "xgb_reg_logistic",
    "xgb_reg_nan",
    "xgb_reg_tweedie",
    "xgb_ubj",
];

#[test]
fn every_expected_case_exists() {
    let names = case_names();
    for c in EXPECTED_CASES {
        assert!(
            names.iter().any(|n| n == c),
            "fixture {c} is missing; run tests/fixtures/make_fixtures.py"
        );
    }
}

fn check_case(name: &str) {
    let (e, columns, expected) = load_case(name);
    let (header, _) = read_inputs(name);
    let k = expected["num_outputs"].as_u64().unwrap() as usize;
    let rows = expected["rows"].as_u64().unwrap() as usize;
    let names: Vec<String> = expected["feature_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(e.feature_names, names, "{name}: feature names");
    assert_eq!(header, names, "{name}: inputs.csv header");
    assert_eq!(e.num_features, names.len(), "{name}: num_features");
    assert_eq!(e.num_outputs, k, "{name}: num_outputs");
    assert_eq!(
        e.objective,
        expected["objective"].as_str().unwrap(),
        "{name}: objective"
    );
    assert_eq!(columns[0].len(), rows, "{name}: rows");

    let x = Matrix::from_columns_f64(&columns).unwrap();
    let raw = e.predict_raw(&x, &RunControl::default()).unwrap();
    assert_close(
        &format!("{name}: raw"),
        &raw,
        &floats(&expected, "raw"),
        TOL,
    );
    assert_close(
        &format!("{name}: expected_value"),
        &e.expected_value(),
        &floats(&expected, "expected_value"),
        TOL,
    );

    // the fixtures carry what the SHAP tests need, with consistent sizes
    let m = names.len();
    assert_eq!(
        floats(&expected, "contribs").len(),
        rows * k * (m + 1),
        "{name}: contribs size"
    );
    if expected.get("interactions").is_some() {
        assert_eq!(
            floats(&expected, "interactions").len(),
            rows * k * (m + 1) * (m + 1),
            "{name}: interactions size"
        );
    }
    // the same bytes load the same way through load_bytes
    let bytes = std::fs::read(model_path(name)).unwrap();
    let again = model::load_bytes(&bytes, name).unwrap();
    assert_eq!(again.trees, e.trees, "{name}: load_bytes");
}

macro_rules! case_tests {
    ($($t:ident),* $(,)?) => { $( #[test] fn $t() { check_case(stringify!($t)); } )* };
}

case_tests!(
    lgb_binary,
    lgb_multiclass_cat,
    lgb_reg,
    xgb_binary_depth6,
    xgb_binary_logitraw,
    xgb_categorical,
    xgb_dart,
    xgb_multi_softmax,
    xgb_multi_softprob,
    xgb_multi_target,
    xgb_reg_gamma,
    xgb_reg_logistic,
    xgb_reg_nan,
    xgb_reg_tweedie,
    xgb_ubj,
);

#[test]
fn any_other_case_folder_passes_too() {
    for name in case_names() {
        if !EXPECTED_CASES.contains(&name.as_str()) {
            check_case(&name);
        }
    }
}

#[test]
fn links_and_sources() {
    let cases = [
        ("xgb_reg_nan", Link::Identity, ModelSource::XgboostJson),
        ("xgb_binary_depth6", Link::Logit, ModelSource::XgboostJson),
        (
            "xgb_binary_logitraw",
            Link::Identity,
            ModelSource::XgboostJson,
        ),
        (
            "xgb_multi_softprob",
            Link::Softmax,
            ModelSource::XgboostJson,
        ),
        ("xgb_ubj", Link::Log, ModelSource::XgboostUbj),
        ("xgb_reg_gamma", Link::Log, ModelSource::XgboostJson),
        ("lgb_binary", Link::Logit, ModelSource::LightgbmText),
        (
            "lgb_multiclass_cat",
            Link::Softmax,
            ModelSource::LightgbmText,
        ),
        ("lgb_reg", Link::Identity, ModelSource::LightgbmText),
    ];
    for (name, link, source) in cases {
        let e = model::load_file(&model_path(name)).unwrap();
        assert_eq!(e.link, link, "{name}");
        assert_eq!(e.source, source, "{name}");
    }
}

#[test]
fn bad_models_are_rejected_naming_the_file() {
    let dir = fixtures_dir().join("bad");
    let cases: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("cases.json")).unwrap()).unwrap();
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 7);
    for c in cases {
        let file = c["file"].as_str().unwrap();
        let want = c["message"].as_str().unwrap();
        let path = dir.join(file);
        let err = model::load_file(&path).expect_err(file).to_string();
        assert!(
            err.contains(&path.display().to_string()),
            "{file}: message does not name the file: {err}"
        );
        assert!(err.contains(want), "{file}: message lacks {want:?}: {err}");
        assert!(
            !err.contains('\n'),
            "{file}: message is not one line: {err}"
        );
    }
}

#[test]
fn bad_models_name_the_field() {
    let dir = fixtures_dir().join("bad");
    let field_of = |f: &str| model::load_file(&dir.join(f)).unwrap_err().to_string();
    assert!(field_of("truncated.json").contains("`learner.gradient_booster.model.trees["));
    assert!(field_of("truncated.ubj").contains("`learner.gradient_booster.model.trees["));
    assert!(field_of("unknown_objective.json").contains("learner.objective.name"));
    assert!(field_of("gblinear.json").contains("learner.gradient_booster.name"));
    assert!(field_of("lgb_linear_tree.txt").contains("Tree=0.is_linear"));
}

fn fuzz_sources() -> Vec<Vec<u8>> {
    [
        "xgb_reg_nan",
        "xgb_ubj",
        "lgb_multiclass_cat",
        "xgb_categorical",
    ]
    .iter()
    .map(|n| std::fs::read(model_path(n)).unwrap())
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Random byte mutations and truncations of valid models give Ok or Err, never a panic.
    #[test]
    fn mutated_models_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let sources = fuzz_sources();
        let mut b = sources[which].clone();
        for (pos, byte) in edits {
            let i = pos.index(b.len());
            b[i] = byte;
        }
        if let Some(c) = cut {
            let n = c.index(b.len());
            b.truncate(n);
        }
        if let Err(e) = model::load_bytes(&b, "fuzz.model") {
            prop_assert!(e.to_string().contains("fuzz.model"), "{}", e);
        }
    }

    /// Mutations that keep the text a number-for-number swap (digits only) stay well-behaved too.
    #[test]
    fn digit_swaps_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..10), 1..16),
    ) {
        let sources = fuzz_sources();
        let mut b = sources[which].clone();
        let digits: Vec<usize> = b.iter().enumerate().filter(|(_, c)| c.is_ascii_digit()).map(|(i, _)| i).collect();
        if !digits.is_empty() {
            for (pos, d) in edits {
                b[digits[pos.index(digits.len())]] = b'0' + d;
            }
        }
        let _ = model::load_bytes(&b, "fuzz.model");
    }
}

/// The demo model under `examples/models/` (made by `examples/train_model.py`) predicts
/// XGBoost's own margins and base value for its reference rows.
#[test]
fn example_diabetes_model() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/models");
    let e = model::load_file(&dir.join("diabetes.ubj")).unwrap();
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("diabetes-contribs.json")).unwrap())
            .unwrap();
    assert_eq!(e.source, ModelSource::XgboostUbj);
    assert_eq!(e.trees.len(), 100);
    assert_eq!(
        e.feature_names,
        ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    );
    let rows = reference["rows"].as_u64().unwrap() as usize;
    let inputs = floats(&reference, "inputs");
    let columns = arrowshap_core::Matrix::transpose_rows(&inputs, rows, e.num_features);
    let x = Matrix::from_columns_f64(&columns).unwrap();
    let raw = e.predict_raw(&x, &RunControl::default()).unwrap();
    assert_close("diabetes raw", &raw, &floats(&reference, "raw"), TOL);
    assert_close(
        "diabetes expected_value",
        &e.expected_value(),
        &floats(&reference, "expected_value"),
        TOL,
    );
}
