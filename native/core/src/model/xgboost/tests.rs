//! Unit tests of the XGBoost loader over small hand-made documents.

use super::*;
use crate::ensemble::SplitKind;
use serde_json::json;

/// A valid two-tree binary:logistic model (stumps on f1), as XGBoost 3 writes it.
pub(crate) fn model() -> Value {
    let tree = |id: i64, w: f64| {
        json!({
            "base_weights": [0.0, -w, w], "categories": [], "categories_nodes": [],
            "categories_segments": [], "categories_sizes": [],
            "default_left": [1, 0, 0], "id": id, "left_children": [1, -1, -1],
            "loss_changes": [10.5, 0.0, 0.0], "parents": [2147483647, 0, 0],
            "right_children": [2, -1, -1], "split_conditions": [0.5, -w, w],
            "split_indices": [1, 0, 0], "split_type": [0, 0, 0],
            "sum_hessian": [10.0, 4.0, 6.0],
            "tree_param": {"num_deleted": "0", "num_feature": "3", "num_nodes": "3", "size_leaf_vector": "1"}
        })
    };
    json!({
        "learner": {
            "attributes": {}, "feature_names": ["a", "b", "c"], "feature_types": ["float", "float", "float"],
            "gradient_booster": {
                "model": {
                    "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "2"},
                    "iteration_indptr": [0, 1, 2], "tree_info": [0, 0],
                    "trees": [tree(0, 0.25), tree(1, 0.125)]
                },
                "name": "gbtree"
            },
            "learner_model_param": {"base_score": "[2.5E-1]", "boost_from_average": "1",
                "num_class": "0", "num_feature": "3", "num_target": "1"},
            "objective": {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}}
        },
        "version": [3, 2, 0]
    })
}

fn load(v: &Value) -> Result<Ensemble> {
    load_json(&serde_json::to_vec(v).unwrap(), "m.json")
}

fn err_of(v: &Value) -> String {
    load(v).unwrap_err().to_string()
}

#[test]
fn loads_a_valid_model() {
    let e = load(&model()).unwrap();
    assert_eq!(e.feature_names, ["a", "b", "c"]);
    assert_eq!(e.num_outputs, 1);
    assert_eq!(e.trees.len(), 2);
    assert_eq!(e.link, Link::Logit);
    let want = (-(1.0f64 / 0.25 - 1.0).ln()) as f32 as f64;
    assert_eq!(e.base_margin, vec![want]);
    let t = &e.trees[0];
    assert_eq!(t.nodes[0].feature, 1);
    assert!(t.nodes[0].default_left);
    assert_eq!(t.nodes[1].value, -0.25);
    // NaN goes left (default), 0.7 goes right
    assert_eq!(t.predict_row(&[0.0, f64::NAN, 0.0]), -0.25);
    assert_eq!(t.predict_row(&[0.0, 0.7, 0.0]), 0.25);
}

#[test]
fn old_scalar_base_score_and_generated_names() {
    let mut m = model();
    m["learner"]["learner_model_param"]["base_score"] = json!("5E-1");
    m["learner"]["feature_names"] = json!([]);
    let e = load(&m).unwrap();
    assert_eq!(e.base_margin, vec![0.0]);
    assert_eq!(e.feature_names, ["f0", "f1", "f2"]);
}

#[test]
fn deleted_nodes_are_dropped() {
    let mut m = model();
    let t = &mut m["learner"]["gradient_booster"]["model"]["trees"][0];
    // node 3 is deleted (unreachable)
    t["left_children"] = json!([1, -1, -1, -1]);
    t["right_children"] = json!([2, -1, -1, -1]);
    for k in ["split_indices", "split_type", "default_left"] {
        t[k].as_array_mut().unwrap().push(json!(0));
    }
    for k in [
        "split_conditions",
        "loss_changes",
        "sum_hessian",
        "base_weights",
    ] {
        t[k].as_array_mut().unwrap().push(json!(9.0));
    }
    t["tree_param"]["num_nodes"] = json!("4");
    let e = load(&m).unwrap();
    assert_eq!(e.trees[0].nodes.len(), 3);
}

#[test]
fn truncated_json_names_the_field() {
    let bytes = serde_json::to_vec(&model()).unwrap();
    let s = String::from_utf8(bytes.clone()).unwrap();
    let cut = s.find("\"split_conditions\"").unwrap() + 25;
    let e = load_json(&bytes[..cut], "m.json").unwrap_err().to_string();
    assert!(e.starts_with("m.json: "), "{e}");
    assert!(e.contains("truncated JSON"), "{e}");
    assert!(
        e.contains("learner.gradient_booster.model.trees[0].split_conditions"),
        "{e}"
    );
    let e = load_json(b"{\"learner\": [1, 2,", "x.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("`learner[2]`"), "{e}");
    let e = load_json(b"{\"a\": tru}", "x.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("malformed JSON") && e.contains("`a`"), "{e}");
}

#[test]
fn wrong_types_name_the_field() {
    let mut m = model();
    m["learner"]["gradient_booster"]["model"]["trees"][1]["split_conditions"][2] = json!("abc");
    let e = err_of(&m);
    assert!(
        e.contains("m.json") && e.contains("trees[1].split_conditions[2]"),
        "{e}"
    );

    let mut m = model();
    m["learner"]["gradient_booster"]["model"]["trees"][0]["left_children"] = json!({"x": 1});
    let e = err_of(&m);
    assert!(
        e.contains("trees[0].left_children") && e.contains("expected an array"),
        "{e}"
    );

    let mut m = model();
    m["learner"]["learner_model_param"]["num_feature"] = json!("three");
    let e = err_of(&m);
    assert!(e.contains("learner.learner_model_param.num_feature"), "{e}");

    let mut m = model();
    m["learner"]["gradient_booster"]["model"]["trees"][0]["default_left"][0] = json!(2);
    let e = err_of(&m);
    assert!(e.contains("trees[0].default_left[0]"), "{e}");

    let mut m = model();
    m["learner"]["learner_model_param"]["base_score"] = json!("[abc]");
    let e = err_of(&m);
    assert!(e.contains("learner.learner_model_param.base_score"), "{e}");

    let mut m = model();
    m["learner"]["learner_model_param"]["base_score"] = json!("[0.5,0.5]");
    let e = err_of(&m);
    assert!(
        e.contains("base_score") && e.contains("2 values for 1 outputs"),
        "{e}"
    );

    let mut m = model();
    m["learner"]["learner_model_param"]["base_score"] = json!("[0]");
    let e = err_of(&m);
    assert!(
        e.contains("base_score") && e.contains("outside (0, 1)"),
        "{e}"
    );
}

#[test]
fn missing_fields_name_the_field() {
    for key in ["sum_hessian", "split_indices", "tree_param", "default_left"] {
        let mut m = model();
        m["learner"]["gradient_booster"]["model"]["trees"][1]
            .as_object_mut()
            .unwrap()
            .remove(key);
        let e = err_of(&m);
        assert!(
            e.contains(&format!("learner.gradient_booster.model.trees[1].{key}"))
                && e.contains("missing"),
            "{e}"
        );
    }
    let mut m = model();
    m["learner"].as_object_mut().unwrap().remove("objective");
    assert!(err_of(&m).contains("learner.objective"));
    let e = load_json(b"[1,2]", "m.json").unwrap_err().to_string();
    assert!(
        e.contains("m.json") && e.contains("expected an object"),
        "{e}"
    );
}

#[test]
fn mismatched_lengths_and_bad_children() {
    let mut m = model();
    m["learner"]["gradient_booster"]["model"]["trees"][0]["sum_hessian"] = json!([1.0, 2.0]);
    let e = err_of(&m);
    assert!(
        e.contains("trees[0].sum_hessian") && e.contains("2 values, expected 3"),
        "{e}"
    );

    let mut m = model();
    m["learner"]["gradient_booster"]["model"]["trees"][0]["right_children"] = json!([7, -1, -1]);
    let e = err_of(&m);
    assert!(
        e.contains("trees[0].right_children[0]") && e.contains("out of range"),
        "{e}"
    );

    let mut m = model();
    m["learner"]["gradient_booster"]["model"]["trees"][0]["right_children"] = json!([1, -1, -1]);
    let e = err_of(&m);
    assert!(e.contains("trees[0].right_children[0]"), "{e}");

    let mut m = model();
    m["learner"]["gradient_booster"]["model"]["trees"][0]["left_children"] = json!([0, -1, -1]);
    assert!(err_of(&m).contains("trees[0].left_children[0]"));

    let mut m = model();
    m["learner"]["gradient_booster"]["model"]["trees"][0]["split_indices"] = json!([5, 0, 0]);
    let e = err_of(&m);
    assert!(e.contains("m.json") && e.contains("split_index"), "{e}");

    let mut m = model();
    m["learner"]["gradient_booster"]["model"]["tree_info"] = json!([0]);
    let e = err_of(&m);
    assert!(
        e.contains("learner.gradient_booster.model.tree_info"),
        "{e}"
    );

    let mut m = model();
    m["learner"]["gradient_booster"]["model"]["tree_info"] = json!([0, 1]);
    let e = err_of(&m);
    assert!(e.contains("tree_info[1]"), "{e}");

    let mut m = model();
    m["learner"]["feature_names"] = json!(["a"]);
    let e = err_of(&m);
    assert!(
        e.contains("learner.feature_names") && e.contains("1 names for 3"),
        "{e}"
    );
}

#[test]
fn unknown_objective_and_gblinear_and_vector_leaves() {
    let mut m = model();
    m["learner"]["objective"]["name"] = json!("reg:unicorn");
    let e = err_of(&m);
    assert!(
        e.contains("m.json") && e.contains("learner.objective.name") && e.contains("reg:unicorn"),
        "{e}"
    );

    let m = json!({"learner": {"gradient_booster": {"model": {"weights": [0.1]}, "name": "gblinear"},
        "learner_model_param": {"base_score": "[0]", "num_feature": "1"},
        "objective": {"name": "reg:squarederror"}}, "version": [3, 2, 0]});
    let e = err_of(&m);
    assert!(
        e.contains("m.json")
            && e.contains("learner.gradient_booster.name")
            && e.contains("gblinear"),
        "{e}"
    );

    let mut m = model();
    m["learner"]["gradient_booster"]["model"]["trees"][0]["tree_param"]["size_leaf_vector"] =
        json!("3");
    let e = err_of(&m);
    assert!(
        e.contains("m.json")
            && e.contains("trees[0].tree_param.size_leaf_vector")
            && e.contains("multi_output_tree"),
        "{e}"
    );
}

#[test]
fn dart_weights_scale_leaves() {
    let mut m = model();
    let inner = m["learner"]["gradient_booster"].clone();
    m["learner"]["gradient_booster"] =
        json!({"name": "dart", "gbtree": inner, "weight_drop": [0.5, 2.0]});
    let e = load(&m).unwrap();
    assert_eq!(e.trees[0].nodes[2].value, 0.125);
    assert_eq!(e.trees[1].nodes[2].value, 0.25);
    let mut bad = m.clone();
    bad["learner"]["gradient_booster"]["weight_drop"] = json!([1.0]);
    let err = err_of(&bad);
    assert!(
        err.contains("learner.gradient_booster.weight_drop"),
        "{err}"
    );
}

#[test]
fn categorical_splits() {
    let mut m = model();
    let t = &mut m["learner"]["gradient_booster"]["model"]["trees"][0];
    t["split_type"] = json!([1, 0, 0]);
    t["categories"] = json!([1, 33]);
    t["categories_nodes"] = json!([0]);
    t["categories_segments"] = json!([0]);
    t["categories_sizes"] = json!([2]);
    let e = load(&m).unwrap();
    let tr = &e.trees[0];
    assert_eq!(tr.nodes[0].kind, SplitKind::XgbCategorical);
    assert_eq!(tr.nodes[0].cat_words, 2);
    // in the set -> right; not in set / beyond / negative -> left; NaN -> default (left)
    assert_eq!(tr.predict_row(&[0.0, 1.0, 0.0]), 0.25);
    assert_eq!(tr.predict_row(&[0.0, 33.0, 0.0]), 0.25);
    assert_eq!(tr.predict_row(&[0.0, 2.0, 0.0]), -0.25);
    assert_eq!(tr.predict_row(&[0.0, 99.0, 0.0]), -0.25);
    assert_eq!(tr.predict_row(&[0.0, -1.0, 0.0]), -0.25);
    assert_eq!(tr.predict_row(&[0.0, f64::NAN, 0.0]), -0.25);

    let mut bad = m.clone();
    bad["learner"]["gradient_booster"]["model"]["trees"][0]["categories_sizes"] = json!([5]);
    let err = err_of(&bad);
    assert!(err.contains("trees[0].categories_segments[0]"), "{err}");
    let mut bad = m.clone();
    bad["learner"]["gradient_booster"]["model"]["trees"][0]["categories"] = json!([1, -4]);
    let err = err_of(&bad);
    assert!(err.contains("trees[0].categories[1]"), "{err}");
    let mut bad = m.clone();
    bad["learner"]["gradient_booster"]["model"]["trees"][0]["categories_nodes"] = json!([2]);
    let err = err_of(&bad);
    assert!(
        err.contains("trees[0].categories_nodes") && err.contains("no category set"),
        "{err}"
    );
}

#[test]
fn multiclass_base_score_vector() {
    let mut m = model();
    m["learner"]["objective"]["name"] = json!("multi:softprob");
    m["learner"]["learner_model_param"]["num_class"] = json!("2");
    m["learner"]["learner_model_param"]["base_score"] = json!("[-1.5E-1,7.5E-3]");
    m["learner"]["gradient_booster"]["model"]["tree_info"] = json!([0, 1]);
    let e = load(&m).unwrap();
    assert_eq!(e.num_outputs, 2);
    assert_eq!(e.link, Link::Softmax);
    assert_eq!(e.base_margin, vec![-0.15f32 as f64, 0.0075f32 as f64]);
    assert_eq!(e.tree_output, vec![0, 1]);
}

#[test]
fn ubj_errors_name_the_field() {
    let e = load_ubj(b"{i\x07learner{i\x03abc[$d#i\x05\x00", "m.ubj")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("m.ubj: "), "{e}");
    assert!(
        e.contains("learner.abc") && e.contains("truncated or malformed UBJSON"),
        "{e}"
    );
}

#[test]
fn bare_nan_and_infinity_tokens_load() {
    // XGBoost 1.7–2.1 write `NaN` in split_conditions of categorical nodes.
    let mut m = model();
    let t = &mut m["learner"]["gradient_booster"]["model"]["trees"][0];
    t["split_type"] = json!([1, 0, 0]);
    t["categories"] = json!([1]);
    t["categories_nodes"] = json!([0]);
    t["categories_segments"] = json!([0]);
    t["categories_sizes"] = json!([1]);
    t["split_conditions"] = json!([123.0, -0.25, 0.25]);
    t["loss_changes"] = json!([1.0, 2.0, 3.0]);
    let text = serde_json::to_string(&m)
        .unwrap()
        .replacen("123.0", "NaN", 1)
        .replacen("[1.0,2.0,3.0]", "[Infinity, -Infinity ,+Infinity]", 1);
    assert!(text.contains("[NaN,"), "{text}");
    let e = load_json(text.as_bytes(), "m.json").unwrap();
    let n = &e.trees[0].nodes[0];
    assert_eq!((n.kind, n.threshold), (SplitKind::XgbCategorical, 0.0));
    assert_eq!(n.gain, f64::INFINITY);
    assert_eq!(e.trees[0].predict_row(&[0.0, 1.0, 0.0]), 0.25);
    // tokens inside strings are left alone
    let mut m = model();
    m["learner"]["feature_names"] = json!(["NaN", "x,Infinity", "-Infinity"]);
    let e = load(&m).unwrap();
    assert_eq!(e.feature_names, ["NaN", "x,Infinity", "-Infinity"]);
    // a misspelt token is still a JSON error naming the field
    let text = serde_json::to_string(&model())
        .unwrap()
        .replacen("10.5", "NaNa", 1);
    let err = load_json(text.as_bytes(), "m.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("malformed JSON") && err.contains("loss_changes"),
        "{err}"
    );
}

#[test]
fn survival_hinge_rank_and_quantile_objectives() {
    for (obj, base, link, margin) in [
        ("survival:cox", "[2E0]", Link::Log, 2f64.ln()),
        ("survival:aft", "[5E-1]", Link::Log, 0.5f64.ln()),
        ("binary:hinge", "[5E-1]", Link::Identity, 0.5),
        ("rank:ndcg", "[2.5E-1]", Link::Identity, 0.25),
        ("rank:pairwise", "[2.5E-1]", Link::Identity, 0.25),
        ("rank:map", "[2.5E-1]", Link::Identity, 0.25),
        ("reg:absoluteerror", "[2.5E-1]", Link::Identity, 0.25),
    ] {
        let mut m = model();
        m["learner"]["objective"]["name"] = json!(obj);
        m["learner"]["learner_model_param"]["base_score"] = json!(base);
        let e = load(&m).unwrap();
        assert_eq!(e.link, link, "{obj}");
        assert_eq!(e.base_margin, vec![margin as f32 as f64], "{obj}");
    }
    // multi-quantile: one output per alpha, each with its own base score
    let mut m = model();
    m["learner"]["objective"]["name"] = json!("reg:quantileerror");
    m["learner"]["learner_model_param"]["num_target"] = json!("2");
    m["learner"]["learner_model_param"]["base_score"] = json!("[1E-1,9E-1]");
    m["learner"]["gradient_booster"]["model"]["tree_info"] = json!([0, 1]);
    let e = load(&m).unwrap();
    assert_eq!(e.num_outputs, 2);
    assert_eq!(e.base_margin, vec![0.1f32 as f64, 0.9f32 as f64]);
    // survival:cox base_score must be positive
    let mut m = model();
    m["learner"]["objective"]["name"] = json!("survival:cox");
    m["learner"]["learner_model_param"]["base_score"] = json!("[0]");
    assert!(err_of(&m).contains("not positive"));
}
