//! `model_output: probability` (interventional SHAP rescaled per reference, as shap does):
//! against brute force (per reference, the Shapley values of the margin game
//! `v_z(S) = f(x_S, z_notS)` by enumeration, times the link's slope between `f(x)` and `f(z)`,
//! averaged), additivity in probability space on every row, shap's own numbers on an
//! XGBoost and a LightGBM model (`tests/fixtures/probability`, within 1e-6), the links that
//! are refused, the raw fallback, cancellation and the background bound.

mod common;
use common::{columns, ctl};

use arrowshap_core::ensemble::Link;
use arrowshap_core::shap::probability::{
    interventional_probability, probability_link, ProbabilityLink,
};
use arrowshap_core::shap::synth::{self, Family, RandomSpec, Rng};
use arrowshap_core::shap::{self, brute, ShapValues};
use arrowshap_core::{model, Ensemble, Error, Matrix, RunControl};
use std::sync::atomic::AtomicBool;

fn sigmoid(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}

fn random_model(seed: u64, features: usize, outputs: usize, lgb: bool) -> Ensemble {
    let mut rng = Rng::new(seed);
    let mut e = synth::random_ensemble(
        &mut rng,
        &RandomSpec {
            features,
            outputs,
            trees: 6,
            max_depth: 5,
            family: if lgb {
                Family::Lightgbm
            } else {
                Family::Xgboost
            },
            categorical: true,
            zero_covers: false,
        },
    );
    e.link = Link::Logit;
    e.objective = "binary:logistic".into();
    e
}

/// Brute force: mean over `z` of slope(f(x), f(z)) × enumeration of the single-reference game.
fn brute_probability(model: &Ensemble, row: &[f64], bg: &[Vec<f64>], scale: f64) -> Vec<f64> {
    let (m, k) = (model.num_features, model.num_outputs);
    let mut out = vec![0.0; k * (m + 1)];
    let mut fx = vec![0.0; k];
    let mut fz = vec![0.0; k];
    model.predict_row_into(row, &mut fx);
    for z in bg {
        model.predict_row_into(z, &mut fz);
        let phi = brute::interventional_row(model, row, std::slice::from_ref(z));
        for kk in 0..k {
            let (px, pz) = (sigmoid(scale * fx[kk]), sigmoid(scale * fz[kk]));
            let c = if fx[kk] == fz[kk] {
                scale * px * (1.0 - px)
            } else {
                (px - pz) / (fx[kk] - fz[kk])
            };
            for j in 0..m {
                out[kk * (m + 1) + j] += c * phi[kk * (m + 1) + j] / bg.len() as f64;
            }
            out[kk * (m + 1) + m] += pz / bg.len() as f64;
        }
    }
    out
}

fn run(model: &Ensemble, x: &[Vec<f64>], bg: &[Vec<f64>], threads: usize) -> ShapValues {
    let m = model.num_features;
    let (xc, bc) = (columns(x, m), columns(bg, m));
    let xm = Matrix::from_columns_f64(&xc).unwrap();
    let bm = Matrix::from_columns_f64(&bc).unwrap();
    interventional_probability(model, &xm, &bm, &ctl(threads)).unwrap()
}

/// Σ φ + base = σ(scale · f(x)) on every row and output.
fn assert_additive(
    model: &Ensemble,
    x: &[Vec<f64>],
    sv: &ShapValues,
    scale: f64,
    tol: f64,
    what: &str,
) {
    let (m, k) = (model.num_features, model.num_outputs);
    let mut f = vec![0.0; k];
    for (r, row) in x.iter().enumerate() {
        model.predict_row_into(row, &mut f);
        for kk in 0..k {
            let sum: f64 = (0..=m).map(|j| sv.get(r, kk, j)).sum();
            let p = sigmoid(scale * f[kk]);
            assert!(
                (sum - p).abs() <= tol,
                "{what}: row {r} output {kk}: Σφ + base = {sum}, σ(f(x)) = {p}"
            );
        }
    }
}

#[test]
fn matches_brute_force_and_adds_up_on_random_models() {
    let mut checked = 0;
    for seed in 0..24u64 {
        let lgb = seed % 2 == 1;
        let outputs = if seed % 3 == 2 { 2 } else { 1 };
        let model = random_model(seed, 5, outputs, lgb);
        let mut rng = Rng::new(1000 + seed);
        let mut x = synth::random_rows(&mut rng, &model, 6);
        let mut bg = synth::random_rows(&mut rng, &model, 1 + (seed as usize % 7));
        // a background row equal to an explained row: a pair with equal margins
        bg.push(x[0].clone());
        x.push(bg[0].clone());
        let sv = run(&model, &x, &bg, 1 + seed as usize % 3);
        let (m, k) = (model.num_features, model.num_outputs);
        for (r, row) in x.iter().enumerate() {
            let want = brute_probability(&model, row, &bg, 1.0);
            for kk in 0..k {
                for j in 0..=m {
                    let (got, exp) = (sv.get(r, kk, j), want[kk * (m + 1) + j]);
                    assert!(
                        (got - exp).abs() <= 1e-12,
                        "seed {seed} row {r} output {kk} feature {j}: {got} vs brute {exp}"
                    );
                }
            }
            checked += 1;
        }
        assert_additive(&model, &x, &sv, 1.0, 1e-12, &format!("seed {seed}"));
    }
    assert!(checked > 100);
}

#[test]
fn deep_repeated_feature_paths_match_brute_force() {
    // few features, deep trees: the same feature is split on many times along a path
    for seed in 0..6u64 {
        let mut rng = Rng::new(seed + 77);
        let mut model = synth::random_ensemble(
            &mut rng,
            &RandomSpec {
                features: 3,
                outputs: 1,
                trees: 4,
                max_depth: 12,
                family: Family::Xgboost,
                categorical: false,
                zero_covers: false,
            },
        );
        model.link = Link::Logit;
        let x = synth::random_rows(&mut rng, &model, 5);
        let bg = synth::random_rows(&mut rng, &model, 4);
        let sv = run(&model, &x, &bg, 2);
        for (r, row) in x.iter().enumerate() {
            let want = brute_probability(&model, row, &bg, 1.0);
            for j in 0..=3 {
                assert!(
                    (sv.get(r, 0, j) - want[j]).abs() <= 1e-12,
                    "seed {seed} row {r} feature {j}"
                );
            }
        }
    }
}

#[test]
fn exponential_loss_classifier_uses_twice_the_margin() {
    let mut model = random_model(5, 4, 1, false);
    model.link = Link::Identity;
    model.objective = "sklearn:GradientBoostingClassifier".into();
    assert_eq!(
        probability_link(&model).unwrap(),
        ProbabilityLink::Logistic { scale: 2.0 }
    );
    let mut rng = Rng::new(9);
    let x = synth::random_rows(&mut rng, &model, 5);
    let bg = synth::random_rows(&mut rng, &model, 6);
    let sv = run(&model, &x, &bg, 2);
    for (r, row) in x.iter().enumerate() {
        let want = brute_probability(&model, row, &bg, 2.0);
        for j in 0..=4 {
            assert!((sv.get(r, 0, j) - want[j]).abs() <= 1e-12);
        }
    }
    assert_additive(&model, &x, &sv, 2.0, 1e-12, "exponential loss");
}

#[test]
fn identity_models_are_explained_raw_and_other_links_are_refused() {
    let mut model = random_model(3, 4, 1, false);
    let mut rng = Rng::new(4);
    let x = synth::random_rows(&mut rng, &model, 4);
    let bg = synth::random_rows(&mut rng, &model, 3);
    let (xc, bc) = (columns(&x, 4), columns(&bg, 4));
    let (xm, bm) = (
        Matrix::from_columns_f64(&xc).unwrap(),
        Matrix::from_columns_f64(&bc).unwrap(),
    );

    for objective in ["reg:squarederror", "sklearn:RandomForestClassifier"] {
        model.link = Link::Identity;
        model.objective = objective.into();
        assert_eq!(probability_link(&model).unwrap(), ProbabilityLink::Raw);
        let raw = shap::interventional(&model, &xm, &bm, &ctl(1)).unwrap();
        assert_eq!(
            interventional_probability(&model, &xm, &bm, &ctl(1)).unwrap(),
            raw,
            "{objective}"
        );
    }
    assert!(ProbabilityLink::Raw
        .describe(&model)
        .contains("already outputs class probabilities"));

    let cases: [(Link, &str, usize, &str); 4] = [
        (Link::Softmax, "multi:softprob", 3, "softmax"),
        (Link::Log, "count:poisson", 1, "log link"),
        (Link::Identity, "binary:hinge", 1, "not a logistic function"),
        (
            Link::Identity,
            "cross_entropy_lambda",
            1,
            "not a logistic function",
        ),
    ];
    for (link, objective, outputs, why) in cases {
        let mut m = random_model(1, 4, outputs, false);
        m.link = link;
        m.objective = objective.into();
        let e = interventional_probability(&m, &xm, &bm, &ctl(1))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("objective `{objective}`"))
                && e.contains(why)
                && e.contains("model_output"),
            "{objective}: {e}"
        );
    }
}

#[test]
fn cancellation_and_bounds() {
    let model = random_model(2, 4, 1, true);
    let mut rng = Rng::new(2);
    let x = synth::random_rows(&mut rng, &model, 40);
    let bg = synth::random_rows(&mut rng, &model, 5);
    let (xc, bc) = (columns(&x, 4), columns(&bg, 4));
    let (xm, bm) = (
        Matrix::from_columns_f64(&xc).unwrap(),
        Matrix::from_columns_f64(&bc).unwrap(),
    );
    let cancel = AtomicBool::new(true);
    let c = RunControl {
        threads: 2,
        cancel: Some(&cancel),
        progress: None,
    };
    assert!(matches!(
        interventional_probability(&model, &xm, &bm, &c),
        Err(Error::Cancelled)
    ));

    // progress counts explained rows
    let done = std::sync::atomic::AtomicUsize::new(0);
    let p = |n: usize| {
        done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    };
    let c = RunControl {
        threads: 2,
        cancel: None,
        progress: Some(&p),
    };
    interventional_probability(&model, &xm, &bm, &c).unwrap();
    assert_eq!(done.into_inner(), 40);

    let empty: Vec<Vec<f64>> = vec![Vec::new(); 4];
    let em = Matrix::from_columns_f64(&empty).unwrap();
    let e = interventional_probability(&model, &xm, &em, &ctl(1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("background has no rows"), "{e}");
    let narrow = columns(&bg, 3);
    let nm = Matrix::from_columns_f64(&narrow).unwrap();
    assert!(interventional_probability(&model, &xm, &nm, &ctl(1)).is_err());

    let limit = arrowshap_core::limits::MAX_PROBABILITY_BACKGROUND;
    assert!(arrowshap_core::limits::check_probability_background(limit).is_ok());
    let e = arrowshap_core::limits::check_probability_background(limit + 1)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("{} rows", limit + 1)) && e.contains("explainer.background"),
        "{e}"
    );
}

/// Reads a row-major CSV with a header into columns.
fn read_csv(path: &std::path::Path) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let m = lines.next().unwrap().split(',').count();
    let mut cols = vec![Vec::new(); m];
    for line in lines.filter(|l| !l.is_empty()) {
        for (j, c) in line.split(',').enumerate() {
            cols[j].push(if c.is_empty() {
                f64::NAN
            } else {
                c.parse().unwrap()
            });
        }
    }
    cols
}

#[test]
fn matches_shap_on_xgboost_and_lightgbm_models() {
    let root = common::fixtures_dir().join("probability");
    for (case, file) in [("xgb_binary", "model.json"), ("lgb_binary", "model.txt")] {
        let dir = root.join(case);
        let model = model::load_file(&dir.join(file)).unwrap();
        let xc = read_csv(&dir.join("inputs.csv"));
        let bc = read_csv(&dir.join("background.csv"));
        let (xm, bm) = (
            Matrix::from_columns_f64(&xc).unwrap(),
            Matrix::from_columns_f64(&bc).unwrap(),
        );
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        let values = common::floats(&expected, "values"); // [row][feature], row-major
        let base = expected["base_value"].as_f64().unwrap();
        let proba = common::floats(&expected, "predict_proba");
        let sv = interventional_probability(&model, &xm, &bm, &ctl(2)).unwrap();
        let (rows, m) = (sv.rows, sv.features);
        assert_eq!(values.len(), rows * m, "{case}");
        let mut got = Vec::with_capacity(rows * m);
        for r in 0..rows {
            for j in 0..m {
                got.push(sv.get(r, 0, j));
            }
            assert!(
                (sv.get(r, 0, m) - base).abs() <= 1e-6,
                "{case}: base {} vs shap {base}",
                sv.get(r, 0, m)
            );
            let sum: f64 = (0..=m).map(|j| sv.get(r, 0, j)).sum();
            assert!(
                (sum - proba[r]).abs() <= 1e-6,
                "{case} row {r}: Σφ + base = {sum}, predict_proba = {}",
                proba[r]
            );
        }
        let worst = got
            .iter()
            .zip(&values)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        eprintln!(
            "{case}: {rows} rows × {} background rows, max |arrowshap − shap| = {worst:.2e}",
            bm.rows()
        );
        for (i, (a, b)) in got.iter().zip(&values).enumerate() {
            assert!(
                (a - b).abs() <= 1e-6,
                "{case}: value {i} (row {}, feature {}): {a} vs shap {b}",
                i / m,
                i % m
            );
        }
    }
}
