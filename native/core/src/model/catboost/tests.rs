use super::*;
use serde_json::json;

fn model(splits: Value, values: Value, weights: Value) -> Value {
    json!({
        "features_info": {"float_features": [
            {"feature_index": 0, "flat_feature_index": 0, "feature_id": "a", "borders": [0.5], "nan_value_treatment": "AsTrue"},
            {"feature_index": 1, "flat_feature_index": 1, "feature_id": "", "borders": [1.0], "nan_value_treatment": "AsFalse"}
        ]},
        "model_info": {"params": {"loss_function": {"type": "Logloss"}}},
        "oblivious_trees": [{"splits": splits, "leaf_values": values, "leaf_weights": weights}],
        "scale_and_bias": [2.0, [0.25]]
    })
}

#[test]
fn leaf_bits_follow_the_split_order() {
    let v = model(
        json!([
            {"split_type": "FloatFeature", "float_feature_index": 0, "border": 0.5},
            {"split_type": "FloatFeature", "float_feature_index": 1, "border": 1.0}
        ]),
        json!([1.0, 2.0, 3.0, 4.0]),
        json!([1, 2, 3, 4]),
    );
    let e = from_value(&v, "m.json").unwrap();
    assert_eq!(e.feature_names, ["a", "f1"]);
    assert_eq!(e.link, crate::ensemble::Link::Logit);
    let p = |a: f64, b: f64| {
        let mut o = [0.0];
        e.predict_row_into(&[a, b], &mut o);
        o[0]
    };
    // leaf = bit0 (a > 0.5) + 2 * bit1 (b > 1.0); values scaled by 2, bias 0.25
    assert_eq!(p(0.0, 0.0), 2.25);
    assert_eq!(p(0.6, 0.0), 4.25);
    assert_eq!(p(0.0, 2.0), 6.25);
    assert_eq!(p(0.6, 2.0), 8.25);
    assert_eq!(p(0.5, 1.0), 2.25, "a border itself is not above it");
    assert_eq!(p(f64::NAN, f64::NAN), 4.25, "AsTrue / AsFalse");
    assert_eq!(e.trees[0].nodes[0].cover, 10.0);
}

#[test]
fn hostile_trees_get_one_error_naming_the_field() {
    let s = json!([{"split_type": "FloatFeature", "float_feature_index": 0, "border": 0.5}]);
    let cases = [
        (
            model(s.clone(), json!([1.0]), json!([1, 1])),
            "oblivious_trees[0].leaf_values",
        ),
        (
            model(s.clone(), json!([1.0, 2.0]), json!([1])),
            "oblivious_trees[0].leaf_weights",
        ),
        (
            model(s.clone(), json!([1.0, 2.0]), json!([1, -1])),
            "leaf_weights[1]",
        ),
        (
            model(
                json!([{"split_type": "FloatFeature", "float_feature_index": 7, "border": 0.5}]),
                json!([1.0, 2.0]),
                json!([1, 1]),
            ),
            "splits[0].float_feature_index",
        ),
        (
            model(
                json!([{"split_type": "OnlineCtr", "ctr_target_border_idx": 0}]),
                json!([1.0, 2.0]),
                json!([1, 1]),
            ),
            "splits[0].split_type",
        ),
        (
            model(
                json!(vec![json!({"float_feature_index": 0, "border": 0.5}); 40]),
                json!([1.0, 2.0]),
                json!([1, 1]),
            ),
            "oblivious_trees[0].splits",
        ),
        (
            model(
                json!([{"split_type": "FloatFeature", "float_feature_index": 0, "border": "x"}]),
                json!([1.0, 2.0]),
                json!([1, 1]),
            ),
            "splits[0].border",
        ),
    ];
    for (v, field) in cases {
        let e = from_value(&v, "m.json").unwrap_err().to_string();
        assert!(
            e.starts_with("m.json: ") && e.contains(field),
            "{field}: {e}"
        );
        assert!(!e.contains('\n'), "{e}");
    }
}

#[test]
fn hashes_are_catboosts() {
    // values CatBoost 1.2.10 writes for the categories "0".."4"
    let want = [-1438285038, 1121341681, -1284790409, 593172586, -78686594];
    for (c, h) in want.iter().enumerate() {
        assert_eq!(features::cat_hash(c.to_string().as_bytes()), *h);
    }
}
