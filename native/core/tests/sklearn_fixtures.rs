//! scikit-learn models read from skops files against the references in
//! `tests/fixtures/sklearn_*` (made by `tests/fixtures/make_sklearn_fixtures.py` with
//! scikit-learn, skops and shap): feature names (`get_feature_names_out()`), SHAP values
//! and base values (`shap.TreeExplainer`, or brute force for HistGradientBoosting's
//! categorical splits) within 1e-6, predictions, additivity against the model's own
//! prediction, `feature_importances_`, interactions and interventional values where the
//! case has them. The estimator's inputs are the `transformed` rows the pipeline's own
//! steps produced (the preprocessing program is checked by the TypeScript specs).

mod common;

use arrowshap_core::model::sklearn;
use arrowshap_core::shap;
use arrowshap_core::{Matrix, RunControl};
use serde_json::Value;

const TOL: f64 = 1e-6;

fn cases() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(common::fixtures_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("reference.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sklearn_"))
        .collect();
    v.sort();
    v
}

fn load(name: &str) -> (sklearn::SklearnModel, Value) {
    let dir = common::fixtures_dir().join(name);
    let bytes = std::fs::read(dir.join("model.skops")).unwrap();
    let m = sklearn::load_skops(&bytes, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let r: Value =
        serde_json::from_slice(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
    (m, r)
}

/// A number, or a repr() string (exact: serde_json's float parsing may be off by an ulp), or null = NaN.
fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        _ => v.as_f64().unwrap_or(f64::NAN),
    }
}

/// Flattens nested JSON arrays (null = NaN).
fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat).collect(),
        x => vec![num(x)],
    }
}

/// Rows (JSON rows × features) as one column per feature.
fn columns(rows: &Value, m: usize) -> Vec<Vec<f64>> {
    let rows = rows.as_array().unwrap();
    (0..m)
        .map(|j| rows.iter().map(|r| num(&r[j])).collect())
        .collect()
}

fn ctl() -> RunControl<'static> {
    RunControl {
        threads: 2,
        ..Default::default()
    }
}

#[test]
fn sklearn_models_match_shap_and_scikit_learn() {
    let names = cases();
    assert!(names.len() >= 8, "sklearn fixture cases: {names:?}");
    for name in &names {
        let (model, r) = load(name);
        let e = &model.ensemble;
        let want_names: Vec<String> = r["feature_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        assert_eq!(e.feature_names, want_names, "{name}: feature names");
        assert_eq!(model.estimator, r["estimator"].as_str().unwrap(), "{name}");
        let m = e.num_features;
        let k = e.num_outputs;
        let cols = columns(&r["transformed"], m);
        let x = Matrix::from_columns_f64(&cols).unwrap();
        let rows = x.rows();

        // predictions in the space shap explains
        let pred = e.predict_raw(&x, &ctl()).unwrap();
        let want_pred = flat(&r["prediction"]);
        common::assert_close(&format!("{name}: prediction"), &pred, &want_pred, 1e-9);

        // SHAP values + base: [row][output][features..., base]
        let sv = shap::path_dependent(e, &x, &ctl()).unwrap();
        let mut got = Vec::with_capacity(rows * k * (m + 1));
        for row in 0..rows {
            for kk in 0..k {
                for j in 0..=m {
                    got.push(sv.get(row, kk, j));
                }
            }
        }
        common::assert_close(
            &format!("{name}: contribs"),
            &got,
            &flat(&r["contribs"]),
            TOL,
        );
        common::assert_close(
            &format!("{name}: expected value"),
            &e.expected_value(),
            &flat(&r["expected_value"]),
            TOL,
        );
        // additivity against the model's own prediction
        let sums: Vec<f64> = (0..rows * k)
            .map(|i| got[i * (m + 1)..(i + 1) * (m + 1)].iter().sum())
            .collect();
        common::assert_close(&format!("{name}: additivity"), &sums, &want_pred, 1e-9);

        // feature_importances_ = normalised total gain
        if let Some(imp) = r["importances"].as_array() {
            assert!(model.importances_are_sklearn, "{name}");
            let g = e.feature_stats().gain;
            let total: f64 = g.iter().sum();
            let got: Vec<f64> = g.iter().map(|x| x / total).collect();
            let want: Vec<f64> = imp.iter().map(num).collect();
            common::assert_close(&format!("{name}: importances"), &got, &want, 1e-9);
        }

        if let Some(iv) = r.get("interactions") {
            let want = flat(iv);
            let n = want.len() / (k * m * m);
            let sub: Vec<Vec<f64>> = cols.iter().map(|c| c[..n].to_vec()).collect();
            let xs = Matrix::from_columns_f64(&sub).unwrap();
            let got = shap::interactions(e, &xs, &ctl()).unwrap();
            let mut g = Vec::new();
            for row in 0..n {
                for kk in 0..k {
                    for i in 0..m {
                        for j in 0..m {
                            g.push(got.get(row, kk, i, j));
                        }
                    }
                }
            }
            common::assert_close(&format!("{name}: interactions"), &g, &want, TOL);
        }

        if let Some(iv) = r.get("interventional") {
            // against brute-force interventional Shapley values (10 background rows, 2 samples)
            // and additivity against the mean prediction over the background
            let bg_rows: Vec<Vec<f64>> = iv["background"].as_array().unwrap()[..10]
                .iter()
                .map(|row| row.as_array().unwrap().iter().map(num).collect())
                .collect();
            let bg_cols: Vec<Vec<f64>> = (0..m)
                .map(|j| bg_rows.iter().map(|r| r[j]).collect())
                .collect();
            let bgm = Matrix::from_columns_f64(&bg_cols).unwrap();
            let n = 2;
            let sub: Vec<Vec<f64>> = cols.iter().map(|c| c[..n].to_vec()).collect();
            let xs = Matrix::from_columns_f64(&sub).unwrap();
            let got = shap::interventional(e, &xs, &bgm, &ctl()).unwrap();
            for row in 0..n {
                let x: Vec<f64> = cols.iter().map(|c| c[row]).collect();
                let want = shap::brute::interventional_row(e, &x, &bg_rows);
                let g: Vec<f64> = (0..k)
                    .flat_map(|kk| (0..=m).map(move |j| (kk, j)))
                    .map(|(kk, j)| got.get(row, kk, j))
                    .collect();
                common::assert_close(
                    &format!("{name}: interventional row {row}"),
                    &g,
                    &want,
                    1e-9,
                );
                for kk in 0..k {
                    let s: f64 = (0..=m).map(|j| got.get(row, kk, j)).sum();
                    let p = want_pred[row * k + kk];
                    assert!(
                        common::close(s, p, 1e-9),
                        "{name}: interventional additivity {s} vs {p}"
                    );
                }
            }
        }
    }
}

#[test]
fn output_spaces_and_programs_are_described() {
    let (m, _) = load("sklearn_seed_rf");
    assert_eq!(m.estimator, "RandomForestRegressor");
    assert!(
        m.output_space.starts_with("prediction"),
        "{}",
        m.output_space
    );
    assert_eq!(m.steps, vec!["transformer"]);
    // raw inputs of the pipeline, and every feature reads one of them
    assert_eq!(m.program.inputs[0], "instant");
    assert!(m
        .program
        .columns
        .iter()
        .all(|c| c.source < m.program.inputs.len()));
    let (m, _) = load("sklearn_rf_cls3");
    assert!(
        m.output_space.starts_with("probability"),
        "{}",
        m.output_space
    );
    assert_eq!(m.classes, vec!["setosa", "versicolor", "virginica"]);
    let (m, _) = load("sklearn_gb_binary");
    assert!(m.output_space.starts_with("log-odds"), "{}", m.output_space);
    let (m, _) = load("sklearn_hgb_cat");
    assert!(!m.importances_are_sklearn);
    let j = m.describe_json();
    assert_eq!(j["program"]["columns"].as_array().unwrap().len(), 4);
}

#[test]
fn a_bare_estimator_loads_through_load_bytes() {
    let dir = common::fixtures_dir().join("sklearn_dt_reg");
    let e = arrowshap_core::model::load_file(&dir.join("model.skops")).unwrap();
    assert_eq!(e.feature_names, vec!["p", "q"]);
    // a pipeline that transforms its inputs cannot be loaded as a plain model
    let dir = common::fixtures_dir().join("sklearn_seed_rf");
    let err = arrowshap_core::model::load_file(&dir.join("model.skops"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("load it as a pipeline"), "{err}");
}
