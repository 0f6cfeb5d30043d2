//! XGBoost's tree layout: the per-node arrays of a `trees[i]` object
//! (`left_children`, `right_children`, `split_indices`, `split_conditions`,
//! `default_left`, `loss_changes`, `sum_hessian`, `split_type`) into one
//! [`Tree`]. Nodes unreachable from the root (deleted by pruning) are dropped;
//! leaves carry `split_conditions` (times the dart `weight_drop`, in f32).

use super::categorical::CategorySets;
use super::doc::{join, Doc};
use crate::ensemble::{Node, SplitKind, Tree};
use crate::{Error, Result};
use serde_json::Value;

/// Reads tree `tv` (at field `path`); `weight` is its dart weight, `cat_budget`
/// the category-bitset words left for the model.
pub(super) fn parse_tree(
    doc: &Doc,
    tv: &Value,
    path: &str,
    weight: Option<f32>,
    cat_budget: &mut usize,
) -> Result<Tree> {
    let tp_path = join(path, "tree_param");
    let tp = doc.req(tv, path, "tree_param")?;
    let num_nodes = doc.param_u64(
        doc.req(tp, &tp_path, "num_nodes")?,
        &join(&tp_path, "num_nodes"),
    )?;
    if let Some(s) = doc.opt(tp, &tp_path, "size_leaf_vector")? {
        let s = doc.param_u64(s, &join(&tp_path, "size_leaf_vector"))?;
        if s > 1 {
            return Err(Error::unsupported(
                doc.file,
                format!(
                    "{tp_path}.size_leaf_vector is {s}: vector-leaf trees (multi_strategy=\"multi_output_tree\") \
                     are not supported; train with multi_strategy=\"one_output_per_tree\""
                ),
            ));
        }
    }
    let field =
        |k: &str| -> Result<(&Value, String)> { Ok((doc.req(tv, path, k)?, join(path, k))) };

    let (v, p) = field("left_children")?;
    let left = doc.i64_vec(v, &p)?;
    let n = left.len();
    if n as u64 != num_nodes {
        return Err(doc.err(
            &p,
            format!("{n} values, expected {num_nodes} (tree_param.num_nodes)"),
        ));
    }
    if n == 0 {
        return Err(doc.err(&p, "the tree has no nodes"));
    }
    let what = "tree_param.num_nodes";
    let (v, p) = field("right_children")?;
    let right = doc.i64_vec(v, &p)?;
    doc.check_len(&right, n, &p, what)?;
    let (v, p) = field("split_indices")?;
    let split_indices = doc.i64_vec(v, &p)?;
    doc.check_len(&split_indices, n, &p, what)?;
    let (v, p) = field("split_conditions")?;
    let cond = doc.f64_vec(v, &p)?;
    doc.check_len(&cond, n, &p, what)?;
    let (v, p) = field("default_left")?;
    let default_left = doc.bool_vec(v, &p)?;
    doc.check_len(&default_left, n, &p, what)?;
    let (v, p) = field("loss_changes")?;
    let gain = doc.f64_vec(v, &p)?;
    doc.check_len(&gain, n, &p, what)?;
    let (v, p) = field("sum_hessian")?;
    let cover = doc.f64_vec(v, &p)?;
    doc.check_len(&cover, n, &p, what)?;
    let split_type = match doc.opt(tv, path, "split_type")? {
        Some(v) => {
            let p = join(path, "split_type");
            let s = doc.i64_vec(v, &p)?;
            doc.check_len(&s, n, &p, what)?;
            if let Some(i) = s.iter().position(|&t| t != 0 && t != 1) {
                return Err(doc.err(
                    format!("{p}[{i}]"),
                    format!("split type {} (expected 0 numeric or 1 categorical)", s[i]),
                ));
            }
            s
        }
        None => vec![0; n],
    };

    // Reachability from the root (XGBoost may keep deleted nodes in the arrays);
    // rejects out-of-range children, cycles and shared children.
    let mut reached = vec![false; n];
    reached[0] = true;
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        let (l, r) = (left[i], right[i]);
        if l == -1 && r == -1 {
            continue;
        }
        for (c, name) in [(l, "left_children"), (r, "right_children")] {
            if c < 1 || c as u64 >= n as u64 || reached[c as usize] {
                return Err(doc.err(
                    format!("{path}.{name}[{i}]"),
                    format!(
                        "child index {c} is out of range (1..{n}), or the node is reached twice"
                    ),
                ));
            }
            reached[c as usize] = true;
            stack.push(c as usize);
        }
    }
    let mut new_index = vec![u32::MAX; n];
    let mut next = 0u32;
    for i in 0..n {
        if reached[i] {
            new_index[i] = next;
            next += 1;
        }
    }

    // Categorical splits: node -> its category set.
    let has_cat = (0..n).any(|i| reached[i] && left[i] != -1 && split_type[i] == 1);
    let cats = if has_cat {
        Some(CategorySets::read(doc, tv, path, n)?)
    } else {
        None
    };

    let mut tree = Tree {
        nodes: Vec::with_capacity(next as usize),
        cat_bits: Vec::new(),
    };
    for i in 0..n {
        if !reached[i] {
            continue;
        }
        let node = if left[i] == -1 {
            let v = cond[i] as f32;
            let value = match weight {
                Some(w) => (v * w) as f64,
                None => v as f64,
            };
            Node::leaf(value, cover[i])
        } else {
            let f = split_indices[i];
            if f < 0 || f > u32::MAX as i64 {
                return Err(doc.err(
                    format!("{path}.split_indices[{i}]"),
                    format!("feature index {f} is out of range"),
                ));
            }
            let (kind, cat_offset, cat_words) = match (&cats, split_type[i]) {
                (Some(sets), 1) => sets.split(doc, i, &mut tree, cat_budget)?,
                _ => (SplitKind::XgbNumeric, 0, 0),
            };
            Node {
                left: new_index[left[i] as usize],
                right: new_index[right[i] as usize],
                feature: f as u32,
                kind,
                default_left: default_left[i],
                // categorical nodes have no threshold (XGBoost 1.7–2.1 write NaN there)
                threshold: if kind == SplitKind::XgbNumeric {
                    cond[i] as f32 as f64
                } else {
                    0.0
                },
                cat_offset,
                cat_words,
                value: 0.0,
                cover: cover[i],
                gain: gain[i],
            }
        };
        tree.nodes.push(node);
    }
    Ok(tree)
}
