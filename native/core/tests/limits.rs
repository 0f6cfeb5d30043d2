//! Hostile model shapes: the deepest accepted tree is explained by every
//! algorithm without exhausting a stack; deeper trees, non-finite numbers and
//! absurd output counts are refused with one error naming the field.

use arrowshap_core::ensemble::{Link, ModelSource};
use arrowshap_core::limits::{MAX_OUTPUTS, MAX_TREE_DEPTH};
use arrowshap_core::{shap, Ensemble, Error, Matrix, Node, RunControl, SplitKind, Tree};

/// A chain `depth` levels deep: each internal node splits feature `d % features`
/// at 0.5, its right child a leaf, its left child the next internal node.
fn chain(depth: usize, features: usize) -> Ensemble {
    let mut nodes = Vec::with_capacity(2 * depth + 1);
    for d in 0..depth {
        let i = nodes.len() as u32;
        nodes.push(Node {
            left: i + 2,
            right: i + 1,
            feature: (d % features) as u32,
            kind: SplitKind::XgbNumeric,
            default_left: true,
            threshold: 0.5 + d as f64 * 1e-4,
            cat_offset: 0,
            cat_words: 0,
            value: 0.0,
            cover: (2 * (depth - d) + 1) as f64,
            gain: 1.0,
        });
        nodes.push(Node::leaf(d as f64 * 0.01, 1.0));
    }
    nodes.push(Node::leaf(1.0, 1.0));
    Ensemble {
        trees: vec![Tree {
            nodes,
            cat_bits: vec![],
        }],
        tree_output: vec![0],
        num_outputs: 1,
        num_features: features,
        feature_names: (0..features).map(|j| format!("f{j}")).collect(),
        base_margin: vec![0.25],
        objective: "reg:squarederror".into(),
        link: Link::Identity,
        source: ModelSource::Synthetic,
    }
}

fn message(e: Error) -> String {
    e.to_string()
}

#[test]
fn the_deepest_accepted_tree_is_explained_without_a_stack_overflow() {
    let features = 4;
    let model = chain(MAX_TREE_DEPTH, features);
    model.validate("chain.json").unwrap();
    assert_eq!(model.max_depth(), MAX_TREE_DEPTH);
    let cols: Vec<Vec<f64>> = (0..features)
        .map(|j| vec![0.1 * j as f64, 0.9, f64::NAN])
        .collect();
    let x = Matrix::from_columns_f64(&cols).unwrap();
    let ctl = RunControl {
        threads: 2,
        ..Default::default()
    };
    let pred = model.predict_raw(&x, &ctl).unwrap();
    let s = shap::path_dependent(&model, &x, &ctl).unwrap();
    for r in 0..x.rows() {
        let sum: f64 = (0..=features).map(|j| s.get(r, 0, j)).sum();
        assert!(
            (sum - pred[r]).abs() <= 1e-9 * pred[r].abs().max(1.0),
            "row {r}: {sum} vs {}",
            pred[r]
        );
    }
    let iv = shap::interactions(&model, &x, &ctl).unwrap();
    for r in 0..x.rows() {
        for i in 0..features {
            let row_sum: f64 = (0..features).map(|j| iv.get(r, 0, i, j)).sum();
            assert!(
                (row_sum - s.get(r, 0, i)).abs() <= 1e-9,
                "row {r} feature {i}"
            );
        }
    }
}

#[test]
fn a_tree_deeper_than_the_limit_is_refused_with_its_field() {
    let model = chain(MAX_TREE_DEPTH + 1, 3);
    let e = message(model.validate("deep.txt").unwrap_err());
    assert!(
        e.starts_with("deep.txt: invalid model field `trees[0]`"),
        "{e}"
    );
    assert!(e.contains("deeper than 4096 levels"), "{e}");
}

#[test]
fn non_finite_leaves_covers_thresholds_and_base_scores_are_refused() {
    let mut m = chain(3, 2);
    m.trees[0].nodes[1].value = f64::INFINITY;
    let e = message(m.validate("m.json").unwrap_err());
    assert!(
        e.contains("`trees[0].nodes[1].leaf_value`") && e.contains("inf is not a finite number"),
        "{e}"
    );

    let mut m = chain(3, 2);
    m.trees[0].nodes[2].cover = f64::NAN;
    let e = message(m.validate("m.json").unwrap_err());
    assert!(e.contains("`trees[0].nodes[2].cover`"), "{e}");

    let mut m = chain(3, 2);
    m.trees[0].nodes[0].threshold = f64::NAN;
    let e = message(m.validate("m.json").unwrap_err());
    assert!(e.contains("`trees[0].nodes[0].threshold`"), "{e}");

    let mut m = chain(3, 2);
    m.base_margin[0] = f64::NEG_INFINITY;
    let e = message(m.validate("m.json").unwrap_err());
    assert!(e.contains("`base_score[0]`"), "{e}");
}

#[test]
fn an_absurd_output_count_is_refused() {
    let mut m = chain(2, 2);
    m.num_outputs = MAX_OUTPUTS + 1;
    m.base_margin = vec![0.0; MAX_OUTPUTS + 1];
    let e = message(m.validate("m.json").unwrap_err());
    assert!(
        e.contains("`num_outputs`") && e.contains("at most 65536"),
        "{e}"
    );
}

#[test]
fn iterative_depth_and_expected_value_match_the_definitions() {
    // expected value of a chain: sum over leaves of value × product of cover fractions
    let m = chain(5, 2);
    let t = &m.trees[0];
    let mut expect = 0.0;
    let mut reach = 1.0;
    for d in 0..5 {
        let n = &t.nodes[2 * d];
        let (l, r) = (&t.nodes[n.left as usize], &t.nodes[n.right as usize]);
        let c = l.cover + r.cover;
        expect += reach * (r.cover / c) * r.value;
        reach *= l.cover / c;
    }
    expect += reach * t.nodes[10].value;
    assert!((t.expected_value() - expect).abs() < 1e-12);
    assert_eq!(t.max_depth(), 5);
}

#[test]
fn an_absurd_kernel_sample_count_is_refused_before_any_allocation() {
    use arrowshap_core::kernel::{kernel_shap, KernelOptions};
    use arrowshap_core::limits::MAX_KERNEL_SAMPLES;
    let model = chain(3, 2);
    let cols = vec![vec![0.1, 0.9], vec![0.2, 0.3]];
    let x = Matrix::from_columns_f64(&cols).unwrap();
    let bg = Matrix::from_columns_f64(&cols).unwrap();
    let opts = KernelOptions {
        nsamples: Some(4_294_967_294),
        ..Default::default()
    };
    let e = message(kernel_shap(&model, &x, &bg, None, &opts, &RunControl::default()).unwrap_err());
    assert!(
        e.contains("nsamples 4294967294 is above the limit of 16777216"),
        "{e}"
    );
    assert_eq!(MAX_KERNEL_SAMPLES, 16_777_216);
}

#[test]
fn a_result_too_large_to_allocate_is_an_error_not_an_abort() {
    use arrowshap_core::limits::zeroed;
    let e = message(zeroed("the interaction values", &[1 << 20, 1, 1 << 16, 1 << 16]).unwrap_err());
    assert!(
        e.starts_with(
            "invalid input: cannot allocate the interaction values (1048576 × 1 × 65536 × 65536 = "
        ),
        "{e}"
    );
    assert!(
        e.contains("lower the batch size (explainer.batch_rows)"),
        "{e}"
    );
    // 2^46 values = 512 TiB: the product fits, but no allocator can give it (beyond
    // x86-64's 128 TiB user address space, whatever the overcommit setting)
    let e = message(zeroed("the SHAP values", &[1 << 26, 1 << 20]).unwrap_err());
    assert!(e.contains("524288.0 GiB"), "{e}");
    assert_eq!(zeroed("x", &[3, 2]).unwrap(), vec![0.0; 6]);
}
