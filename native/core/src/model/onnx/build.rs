//! [`Graph`] trees into arrowshap [`Tree`]s, with ONNX Runtime's decisions.
//!
//! ONNX Runtime takes the true child when the comparison holds, or when the input is NaN
//! and `missing_value_tracks_true` is set; a NaN otherwise compares false (true for
//! `BRANCH_NEQ`). With a float input the comparison is between `float(x)` and the
//! threshold: [`SplitKind::XgbNumeric`] (`float(x) < t'`) reproduces each mode with the
//! right float threshold `t'` and child order. With a double input it is a double
//! comparison: [`SplitKind::LgbNumericNan`] (`x <= t'`). `BRANCH_EQ` / `BRANCH_NEQ` on a
//! whole-number threshold in `0..2^24` become one-category sets ([`SplitKind::XgbCategorical`],
//! which reads an input as its integer part: exact for integer-coded columns).

use super::graph::{Branch, Child, Graph, Mode};
use crate::ensemble::{Node, SplitKind, Tree};
use crate::{Error, Result};
use std::collections::BTreeSet;

/// The smallest float32 `c` with `float(x) < t` ⟺ `float(x) < c` (`c` = the least float32 ≥ t).
fn f32_ceil(t: f64) -> f64 {
    let mut d = t as f32;
    if (d as f64) < t {
        d = d.next_up();
    }
    d as f64
}

/// The largest double below `t`: `x < t` ⟺ `x <= prev(t)`.
fn prev_f64(t: f64) -> f64 {
    if t.is_nan() || t == f64::NEG_INFINITY {
        return t;
    }
    if t == 0.0 {
        return -f64::from_bits(1);
    }
    let b = t.to_bits();
    f64::from_bits(if t > 0.0 { b - 1 } else { b + 1 })
}

/// One decision in arrowshap terms: kind, threshold, default side, and whether the
/// left child is the ONNX false child; `category` for EQ/NEQ.
fn decision(
    b: &Branch,
    float_input: bool,
    file: &str,
    at: &str,
) -> Result<(SplitKind, f64, bool, bool, Option<u32>)> {
    let v = b.value;
    if v.is_nan() {
        return Err(Error::model(
            file,
            format!("{at}.nodes_values[{}]", b.index),
            "NaN is not a threshold",
        ));
    }
    let mt = b.missing_true;
    Ok(match b.mode {
        Mode::Eq | Mode::Neq => {
            if !(v >= 0.0 && v < 16_777_216.0 && v.fract() == 0.0) {
                return Err(Error::unsupported(
                    file,
                    format!(
                        "{at}.nodes_modes[{}]: BRANCH_EQ/NEQ on {v} is read only for whole-number thresholds in 0..2^24 (integer category codes)",
                        b.index
                    ),
                ));
            }
            // a category in the set goes right
            if b.mode == Mode::Eq {
                (SplitKind::XgbCategorical, 0.0, !mt, true, Some(v as u32))
            } else {
                (SplitKind::XgbCategorical, 0.0, true, false, Some(v as u32))
            }
        }
        _ if float_input => {
            let strict = |t: f64| crate::model::sklearn::tree::f32_strict_threshold(t);
            match b.mode {
                Mode::Lt => (SplitKind::XgbNumeric, f32_ceil(v), mt, false, None),
                Mode::Leq => (SplitKind::XgbNumeric, strict(v), mt, false, None),
                Mode::Gte => (SplitKind::XgbNumeric, f32_ceil(v), !mt, true, None),
                _ => (SplitKind::XgbNumeric, strict(v), !mt, true, None),
            }
        }
        Mode::Leq => (SplitKind::LgbNumericNan, v, mt, false, None),
        Mode::Lt => (SplitKind::LgbNumericNan, prev_f64(v), mt, false, None),
        Mode::Gt => (SplitKind::LgbNumericNan, v, !mt, true, None),
        _ => (SplitKind::LgbNumericNan, prev_f64(v), !mt, true, None),
    })
}

/// Builds every tree; `scale` multiplies leaf weights (1 / trees for `AVERAGE`).
/// Returns the trees and the output each adds to.
pub fn trees(
    g: &Graph,
    float_input: bool,
    scale: f64,
    file: &str,
    at: &str,
) -> Result<(Vec<Tree>, Vec<u32>)> {
    let mut visited = vec![false; g.branches.len()];
    let mut out = Vec::new();
    let mut outputs = Vec::new();
    for (ti, &root) in g.roots.iter().enumerate() {
        // pre-order walk; `shape` holds (branch or leaf, left, right) with local indices
        let mut nodes: Vec<Node> = Vec::new();
        let mut cat_bits: Vec<u32> = Vec::new();
        let mut leaf_of: Vec<(usize, usize)> = Vec::new(); // (local node, graph leaf)
        let mut stack: Vec<(Child, Option<(usize, bool)>)> = vec![(root, None)];
        while let Some((c, parent)) = stack.pop() {
            let me = nodes.len();
            if nodes.len() >= crate::limits::MAX_TREE_NODES {
                return Err(Error::model(
                    file,
                    format!("{at} tree {ti}"),
                    format!("more than {} nodes", crate::limits::MAX_TREE_NODES),
                ));
            }
            if let Some((p, left)) = parent {
                if left {
                    nodes[p].left = me as u32;
                } else {
                    nodes[p].right = me as u32;
                }
            }
            let mut n = Node::leaf(0.0, 0.0);
            match c {
                Child::Leaf(l) => {
                    leaf_of.push((me, l));
                    nodes.push(n);
                }
                Child::Node(b) => {
                    if visited[b] {
                        return Err(Error::model(
                            file,
                            format!("{at}.nodes_truenodeids[{}]", g.branches[b].index),
                            "node reached twice (the trees are not trees)",
                        ));
                    }
                    visited[b] = true;
                    let br = &g.branches[b];
                    let (kind, thr, default_left, swap, cat) = decision(br, float_input, file, at)?;
                    n.feature = br.feature as u32;
                    n.kind = kind;
                    n.threshold = thr;
                    n.default_left = default_left;
                    if let Some(c) = cat {
                        let words = c as usize / 32 + 1;
                        n.cat_offset = cat_bits.len() as u32;
                        n.cat_words = words as u32;
                        let s = cat_bits.len();
                        cat_bits.resize(s + words, 0);
                        cat_bits[s + c as usize / 32] |= 1 << (c % 32);
                    }
                    nodes.push(n);
                    let (l, r) = if swap { (br.f, br.t) } else { (br.t, br.f) };
                    // placeholders until the children are placed
                    nodes[me].left = 0;
                    nodes[me].right = 0;
                    stack.push((r, Some((me, false))));
                    stack.push((l, Some((me, true))));
                }
            }
        }
        let ks: BTreeSet<usize> = leaf_of
            .iter()
            .flat_map(|&(_, l)| g.leaves[l].iter().map(|&(k, _)| k))
            .collect();
        for k in ks {
            let mut t = Tree {
                nodes: nodes.clone(),
                cat_bits: cat_bits.clone(),
            };
            for &(me, l) in &leaf_of {
                let w: f64 = g.leaves[l].iter().filter(|e| e.0 == k).map(|e| e.1).sum();
                t.nodes[me].value = w * scale;
            }
            out.push(t);
            outputs.push(k as u32);
        }
    }
    Ok((out, outputs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_thresholds_reproduce_each_comparison() {
        for v in [0.1f64, -2.5, 1e-30, 0.0, 3.0000001] {
            let vf = v as f32 as f64; // ONNX floats hold float32 values
            for x in [
                vf,
                (vf as f32).next_up() as f64,
                (vf as f32).next_down() as f64,
                v + 0.5,
                v - 0.5,
            ] {
                let xf = x as f32 as f64;
                let lt = (xf as f32) < (f32_ceil(vf) as f32);
                assert_eq!(lt, xf < vf, "LT {x} {v}");
                let le =
                    (xf as f32) < (crate::model::sklearn::tree::f32_strict_threshold(vf) as f32);
                assert_eq!(le, xf <= vf, "LEQ {x} {v}");
            }
            assert!(prev_f64(v) < v && !(prev_f64(v) < prev_f64(v)));
        }
    }
}
