//! ONNX tree ensembles (`tests/fixtures/onnx_*`, made by `tests/fixtures/make_onnx_fixtures.py`
//! with skl2onnx / onnxmltools): raw scores equal the source library's margins, and SHAP
//! values equal the source library's SHAP within 1e-6 relative — path-dependent with covers
//! counted from the training rows (`background.csv`) for scikit-learn models, interventional
//! against `background.csv` for XGBoost / LightGBM — with additivity on every row.
//!
//! `onnx5_*` are the same trees in the opset-5 `TreeEnsemble` form (converted by
//! `tests/fixtures/make_onnx5_fixtures.py`, checked there with onnxruntime), with the same
//! reference values.

mod common;

use arrowshap_core::ensemble::{Link, ModelSource};
use arrowshap_core::{model, shap, Ensemble, Matrix, RunControl};
use serde_json::Value;

const TOL: f64 = 1e-6;

fn csv(path: &std::path::Path) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let m = lines.next().unwrap().split(',').count();
    let mut cols = vec![Vec::new(); m];
    for l in lines.filter(|l| !l.is_empty()) {
        for (j, c) in l.split(',').enumerate() {
            cols[j].push(if c.is_empty() {
                f64::NAN
            } else {
                c.parse().unwrap()
            });
        }
    }
    cols
}

type Cols = Vec<Vec<f64>>;

fn case(name: &str) -> (Ensemble, Cols, Cols, Value) {
    let dir = common::fixtures_dir().join(name);
    let e = model::load_file(&dir.join("model.onnx")).unwrap_or_else(|e| panic!("{name}: {e}"));
    let r: Value =
        serde_json::from_slice(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
    (
        e,
        csv(&dir.join("inputs.csv")),
        csv(&dir.join("background.csv")),
        r,
    )
}

const CASES: [&str; 10] = [
    "onnx_skl_rf_reg",
    "onnx_skl_gb_bin",
    "onnx_skl_rf_cls3",
    "onnx_xgb_reg",
    "onnx_lgb_bin",
    "onnx5_skl_rf_reg",
    "onnx5_skl_gb_bin",
    "onnx5_skl_rf_cls3",
    "onnx5_xgb_reg",
    "onnx5_lgb_bin",
];

#[test]
fn onnx_ensembles_match_the_source_libraries() {
    let ctl = RunControl::default();
    for name in CASES {
        let (mut e, xc, bgc, r) = case(name);
        let (x, bg) = (
            Matrix::from_columns_f64(&xc).unwrap(),
            Matrix::from_columns_f64(&bgc).unwrap(),
        );
        assert_eq!(e.source, ModelSource::OnnxTreeEnsemble);
        let k = r["num_outputs"].as_u64().unwrap() as usize;
        assert_eq!(e.num_outputs, k, "{name}: outputs");
        let m = e.num_features;
        let raw = e.predict_raw(&x, &ctl).unwrap();
        common::assert_close(
            &format!("{name}: raw"),
            &raw,
            &common::floats(&r, "raw"),
            TOL,
        );
        let sv = if r["kind"] == "path" {
            let err = shap::path_dependent(&e, &x, &ctl).unwrap_err().to_string();
            assert!(
                err.contains("covers") && err.contains("background"),
                "{err}"
            );
            model::onnx::covers_from_background(&mut e, &bg).unwrap();
            shap::path_dependent(&e, &x, &ctl).unwrap()
        } else {
            shap::interventional(&e, &x, &bg, &ctl).unwrap()
        };
        let mut got = Vec::new();
        for row in 0..x.rows() {
            for kk in 0..k {
                let mut s = 0.0;
                for j in 0..=m {
                    got.push(sv.get(row, kk, j));
                    s += sv.get(row, kk, j);
                }
                assert!(
                    common::close(s, raw[row * k + kk], 1e-9),
                    "{name}: additivity row {row}"
                );
            }
        }
        common::assert_close(
            &format!("{name}: SHAP vs source library"),
            &got,
            &common::floats(&r, "contribs"),
            TOL,
        );
    }
}

#[test]
fn links_follow_post_transform() {
    assert_eq!(case("onnx_skl_gb_bin").0.link, Link::Logit);
    assert_eq!(case("onnx_lgb_bin").0.link, Link::Logit);
    assert_eq!(case("onnx_skl_rf_reg").0.link, Link::Identity);
    let (e, ..) = case("onnx_skl_rf_cls3");
    assert_eq!((e.link, e.num_outputs), (Link::Identity, 3));
    // opset 5: post_transform and aggregate_function are enum codes
    assert_eq!(case("onnx5_skl_gb_bin").0.link, Link::Logit);
    assert_eq!(case("onnx5_lgb_bin").0.link, Link::Logit);
    let (e, ..) = case("onnx5_skl_rf_reg");
    assert_eq!(
        (e.link, e.objective.as_str()),
        (Link::Identity, "onnx:TreeEnsemble:NONE")
    );
    let (e, ..) = case("onnx5_skl_rf_cls3");
    assert_eq!((e.link, e.num_outputs), (Link::Identity, 3));
}

/// The opset-5 fixture `name` decoded, changed by `edit` (on its `TreeEnsemble` node), and
/// loaded again: the load's error.
fn v5_edited(name: &str, edit: impl FnOnce(&mut model::onnx::proto::NodeProto)) -> String {
    use prost::Message;
    let dir = common::fixtures_dir().join(name);
    let mut m =
        model::onnx::proto::ModelProto::decode(&std::fs::read(dir.join("model.onnx")).unwrap()[..])
            .unwrap();
    let graph = m.graph.as_mut().unwrap();
    let node = graph
        .node
        .iter_mut()
        .find(|n| n.op_type.as_deref() == Some("TreeEnsemble"))
        .unwrap();
    edit(node);
    model::load_bytes(&m.encode_to_vec(), "m.onnx")
        .unwrap_err()
        .to_string()
}

fn attr<'a>(
    n: &'a mut model::onnx::proto::NodeProto,
    name: &str,
) -> &'a mut model::onnx::proto::AttributeProto {
    n.attribute
        .iter_mut()
        .find(|a| a.name.as_deref() == Some(name))
        .unwrap()
}

#[test]
fn opset5_set_membership_and_min_max_are_refused() {
    // BRANCH_MEMBER (mode 6, sets in membership_values) is not read: one line naming the node
    let e = v5_edited("onnx5_skl_rf_reg", |n| {
        let t = attr(n, "nodes_modes").t.as_mut().unwrap();
        t.raw_data.as_mut().unwrap()[3] = 6;
        n.attribute.push(model::onnx::proto::AttributeProto {
            name: Some("membership_values".into()),
            t: Some(model::onnx::proto::TensorProto {
                dims: vec![2],
                data_type: Some(1),
                float_data: vec![1.0, f32::NAN],
                ..Default::default()
            }),
            ..Default::default()
        });
    });
    assert!(
        e.starts_with("m.onnx: unsupported model: graph.node[0](TreeEnsemble).nodes_modes[3] is BRANCH_MEMBER")
            && e.contains("opset 3")
            && !e.contains('\n'),
        "{e}"
    );
    // MIN / MAX aggregation (codes 2, 3) is not additive over trees
    for (code, name) in [(2, "MIN"), (3, "MAX")] {
        let e = v5_edited("onnx5_xgb_reg", |n| {
            attr(n, "aggregate_function").i = Some(code)
        });
        assert!(
            e.starts_with("m.onnx: ") && e.contains(&format!("aggregate_function is {name}")),
            "{e}"
        );
    }
    // a child past the nodes
    let e = v5_edited("onnx5_xgb_reg", |n| {
        attr(n, "nodes_truenodeids").ints[0] = 10_000
    });
    assert!(
        e.contains("nodes_truenodeids[0]") && e.contains("out of range"),
        "{e}"
    );
}

#[test]
fn hostile_onnx_files_fail_with_one_line() {
    let bytes = std::fs::read(common::fixtures_dir().join("onnx_xgb_reg/model.onnx")).unwrap();
    for cut in [10, bytes.len() / 3, bytes.len() / 2, bytes.len() - 7] {
        let e = model::load_bytes(&bytes[..cut], "m.onnx")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("m.onnx: ") && !e.contains('\n'), "{e}");
    }
    // every byte flipped in turn: loads or fails cleanly, never panics
    for i in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        if let Ok(e) = model::load_bytes(&b, "m.onnx") {
            e.validate("m.onnx").unwrap();
        }
    }
}
