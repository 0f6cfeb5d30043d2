//! Models saved by several releases of the libraries (`tests/fixtures/rel_*`, made by
//! `tests/fixtures/make_release_fixtures.py` under each release): every one loads, its
//! path-dependent SHAP values equal the library's own contributions within 1e-6 relative
//! (`|a - b| <= 1e-6 * max(1, |b|)`), and every row is additive (the values plus the base
//! value equal the library's raw margin). LightGBM cases: random forests, cross_entropy_lambda,
//! names with spaces, and inputs at ±kZeroThreshold (the float 1e-35f) against thresholds there.
//! CatBoost cases (`make_catboost_fixtures.py`): JSON exports against CatBoost's own
//! `get_feature_importance(type="ShapValues")`, every common loss, NaN modes, one-hot splits.

mod common;

use arrowshap_core::ensemble::Link;
use arrowshap_core::{shap, Matrix, RunControl};

/// The libraries' contributions agree with ours to this (relative) tolerance.
const TOL: f64 = 1e-6;

/// Every release × case the fixture script writes (quantile from XGBoost 2.0 on).
fn expected_cases() -> Vec<String> {
    let mut v = Vec::new();
    for rel in ["17", "20", "21", "32"] {
        for c in [
            "cat_json",
            "cat_ubj",
            "cox",
            "aft",
            "hinge",
            "rank_ndcg",
            "rank_pairwise",
            "abserr",
        ] {
            v.push(format!("rel_xgb{rel}_{c}"));
        }
        if rel != "17" {
            v.push(format!("rel_xgb{rel}_quantile"));
        }
    }
    for c in [
        "rf",
        "xentlambda",
        "names",
        "zero_none",
        "zero_nan",
        "zero_zero",
    ] {
        v.push(format!("rel_lgb47_{c}"));
    }
    for c in [
        "reg",
        "reg_nanmax",
        "logloss",
        "crossent",
        "multiclass",
        "poisson",
        "multirmse",
        "scaled",
        "onehot",
    ] {
        v.push(format!("rel_cb12_{c}"));
    }
    v
}

/// Loads a case and checks SHAP against the library and additivity; returns the model.
fn check(name: &str) -> arrowshap_core::Ensemble {
    let (model, cols, expected) = common::load_case(name);
    let m = model.num_features;
    let k = model.num_outputs;
    assert_eq!(
        k as u64,
        expected["num_outputs"].as_u64().unwrap(),
        "{name}: outputs"
    );
    let x = Matrix::from_columns_f64(&cols).unwrap();
    let rows = x.rows();
    let ctl = RunControl::default();
    let sv = shap::path_dependent(&model, &x, &ctl).unwrap();
    let mut got = Vec::with_capacity(rows * k * (m + 1));
    for r in 0..rows {
        for kk in 0..k {
            for j in 0..=m {
                got.push(sv.get(r, kk, j));
            }
        }
    }
    common::assert_close(
        &format!("{name}: contribs vs library"),
        &got,
        &common::floats(&expected, "contribs"),
        TOL,
    );
    let raw = common::floats(&expected, "raw");
    let ours = model.predict_raw(&x, &ctl).unwrap();
    common::assert_close(&format!("{name}: raw vs library"), &ours, &raw, TOL);
    for i in 0..rows * k {
        let s: f64 = got[i * (m + 1)..(i + 1) * (m + 1)].iter().sum();
        assert!(
            common::close(s, ours[i], 1e-9),
            "{name}: additivity at row {} output {}: {s} vs {}",
            i / k,
            i % k,
            ours[i]
        );
    }
    model
}

#[test]
fn every_release_fixture_matches_the_library() {
    let all = common::case_names();
    for name in expected_cases() {
        assert!(
            all.contains(&name),
            "fixture {name} is missing; run tests/fixtures/make_release_fixtures.py"
        );
        check(&name);
    }
    // and any further rel_* case too
    for name in all.iter().filter(|n| n.starts_with("rel_")) {
        check(name);
    }
}

#[test]
fn objectives_get_their_links_and_outputs() {
    for rel in ["17", "20", "21", "32"] {
        let e = check(&format!("rel_xgb{rel}_cox"));
        assert_eq!(e.link, Link::Log);
        let e = check(&format!("rel_xgb{rel}_aft"));
        assert_eq!(e.link, Link::Log);
        let e = check(&format!("rel_xgb{rel}_hinge"));
        assert_eq!(e.objective, "binary:hinge");
        if rel != "17" {
            let e = check(&format!("rel_xgb{rel}_quantile"));
            assert_eq!(e.num_outputs, 3, "one output per quantile_alpha");
        }
    }
}

#[test]
fn categorical_json_with_nan_tokens_equals_its_ubj_twin() {
    for rel in ["17", "20", "21", "32"] {
        let j = check(&format!("rel_xgb{rel}_cat_json"));
        let u = check(&format!("rel_xgb{rel}_cat_ubj"));
        assert_eq!(j.trees.len(), u.trees.len());
        for (a, b) in j.trees.iter().zip(&u.trees) {
            assert_eq!(a.nodes.len(), b.nodes.len(), "rel_xgb{rel}");
            assert_eq!(a.cat_bits, b.cat_bits, "rel_xgb{rel}");
            for (p, q) in a.nodes.iter().zip(&b.nodes) {
                assert_eq!(
                    (p.kind, p.feature, p.left, p.value),
                    (q.kind, q.feature, q.left, q.value)
                );
            }
        }
    }
    let text =
        std::fs::read_to_string(common::fixtures_dir().join("rel_xgb17_cat_json/model.json"))
            .unwrap();
    assert!(
        text.contains("NaN"),
        "the 1.7 fixture should carry a bare NaN token"
    );
}

#[test]
fn lightgbm_kzerothreshold_inputs_take_lightgbm_paths() {
    for c in ["zero_none", "zero_nan", "zero_zero"] {
        let name = format!("rel_lgb47_{c}");
        let (_, cols, _) = common::load_case(&name);
        let z = 1.0000000180025095e-35;
        assert!(
            cols[0].contains(&z) && cols[0].contains(&-z),
            "{name}: inputs at ±kZeroThreshold"
        );
        check(&name);
    }
}

#[test]
fn lightgbm_names_keep_the_stored_spelling() {
    let (e, _, expected) = common::load_case("rel_lgb47_names");
    assert_eq!(
        e.feature_names,
        ["Marital_Status", "Annual_Income", "age", "Years_at_Job"]
    );
    assert_eq!(expected["user_columns"][0], "Marital Status");
}

#[test]
fn catboost_losses_get_their_links_and_outputs() {
    use arrowshap_core::ensemble::ModelSource;
    for (c, link, k) in [
        ("reg", Link::Identity, 1),
        ("logloss", Link::Logit, 1),
        ("crossent", Link::Logit, 1),
        ("multiclass", Link::Softmax, 3),
        ("poisson", Link::Log, 1),
        ("multirmse", Link::Identity, 2),
    ] {
        let e = check(&format!("rel_cb12_{c}"));
        assert_eq!((e.link, e.num_outputs), (link, k), "rel_cb12_{c}");
        assert_eq!(e.source, ModelSource::CatboostJson);
    }
    // a one-hot categorical column (integer categories; 5 is unseen by the model)
    let (e, cols, _) = common::load_case("rel_cb12_onehot");
    assert_eq!(e.feature_names.last().unwrap(), "kind");
    assert!(cols[5].contains(&5.0));
    assert!(e.trees.iter().any(|t| t
        .nodes
        .iter()
        .any(|n| n.kind == arrowshap_core::ensemble::SplitKind::XgbCategorical)));
}
