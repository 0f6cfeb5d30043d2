//! Documented bounds on what a model may hold, checked once when it is loaded.
//!
//! Real models stay far inside them (XGBoost's deepest `max_depth` is 2^31 in
//! theory but trees deeper than a few dozen levels do not occur in practice;
//! LightGBM leaf-wise trees and scikit-learn forests reach 20–40). The bounds
//! exist so that a hostile or corrupt file gets one clear error instead of
//! exhausting the stack, the memory or the user's patience.

use crate::{Error, Result, Tree};

/// Deepest tree accepted (root at depth 0, a node at depth `d` has `d` ancestors).
///
/// Every explainer's per-tree state is proportional to the depth, and some walk
/// the tree recursively; 4,096 levels is two orders of magnitude past any real
/// model while keeping every walk within the worker threads' stacks.
pub const MAX_TREE_DEPTH: usize = 4096;

/// Most nodes accepted in one tree (2^24, about 16.7 million).
pub const MAX_TREE_NODES: usize = 1 << 24;

/// Most outputs (classes, targets, quantiles) accepted in one model.
pub const MAX_OUTPUTS: usize = 1 << 16;

/// Most coalitions KernelSHAP samples per row (2^24, about 16.7 million): beyond it a
/// row's plan alone would take gigabytes; exact results need far fewer (full
/// enumeration of 24 features is within it).
pub const MAX_KERNEL_SAMPLES: usize = 1 << 24;

/// Checks tree `ti` of `file` against [`MAX_TREE_NODES`] and [`MAX_TREE_DEPTH`]
/// (iteratively: no recursion over a structure that came from a file) and that
/// its numbers are finite: leaf values, covers, and the thresholds of splits.
///
/// Must run after the structure check (children in range, each reached once).
pub fn check_tree(file: &str, ti: usize, t: &Tree) -> Result<()> {
    if t.nodes.len() > MAX_TREE_NODES {
        return Err(Error::model(
            file,
            format!("trees[{ti}]"),
            format!(
                "{} nodes; at most {MAX_TREE_NODES} are accepted",
                t.nodes.len()
            ),
        ));
    }
    for (i, n) in t.nodes.iter().enumerate() {
        let field = |what: &str| format!("trees[{ti}].nodes[{i}].{what}");
        if !n.cover.is_finite() {
            return Err(Error::model(
                file,
                field("cover"),
                format!("{} is not a finite number", n.cover),
            ));
        }
        if n.is_leaf() {
            if !n.value.is_finite() {
                return Err(Error::model(
                    file,
                    field("leaf_value"),
                    format!("{} is not a finite number", n.value),
                ));
            }
        } else if n.threshold.is_nan() {
            return Err(Error::model(
                file,
                field("threshold"),
                "NaN is not a threshold",
            ));
        }
    }
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, depth)) = stack.pop() {
        if depth > MAX_TREE_DEPTH {
            return Err(Error::model(
                file,
                format!("trees[{ti}]"),
                format!("deeper than {MAX_TREE_DEPTH} levels; the deepest accepted tree has {MAX_TREE_DEPTH}"),
            ));
        }
        let n = &t.nodes[i];
        if !n.is_leaf() {
            stack.push((n.left as usize, depth + 1));
            stack.push((n.right as usize, depth + 1));
        }
    }
    Ok(())
}

/// Checks the model-wide numbers: the output count and that base margins are finite.
pub fn check_outputs(file: &str, num_outputs: usize, base_margin: &[f64]) -> Result<()> {
    if num_outputs > MAX_OUTPUTS {
        return Err(Error::model(
            file,
            "num_outputs",
            format!("{num_outputs} outputs; at most {MAX_OUTPUTS} are accepted"),
        ));
    }
    if let Some((k, v)) = base_margin.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::model(
            file,
            format!("base_score[{k}]"),
            format!("{v} is not a finite number"),
        ));
    }
    Ok(())
}

/// A zero-filled result buffer of `dims` multiplied together, or an error naming
/// `what` and the size when it cannot be had: the product overflows, or the
/// allocator refuses it (an interactions run on a wide model at a large batch size
/// asks for rows × outputs × features² values). Never aborts the process the way
/// `vec![0.0; n]` does on a failed allocation.
pub fn zeroed(what: &str, dims: &[usize]) -> Result<Vec<f64>> {
    let too_big = |size: String| {
        Error::Input(format!(
            "cannot allocate {what} ({} = {size}): lower the batch size (explainer.batch_rows) or the work per call",
            dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" × ")
        ))
    };
    let n = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|n| n.checked_mul(8).is_some())
        .ok_or_else(|| too_big("more than the address space".into()))?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<f64>(n)
        .map_err(|_| too_big("more than the address space".into()))?;
    // SAFETY: `layout` has a non-zero size. Zeroed memory is a valid `[f64; n]` (0.0), and
    // a pointer from the global allocator with the layout of `n` f64s is what
    // `Vec::from_raw_parts` takes for capacity `n`. Like `vec![0.0; n]` this asks for
    // zeroed pages (untouched until written), but a refusal is an error, not an abort.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout) as *mut f64;
        if ptr.is_null() {
            return Err(too_big(format!(
                "{:.1} GiB",
                n as f64 * 8.0 / (1u64 << 30) as f64
            )));
        }
        Ok(Vec::from_raw_parts(ptr, n, n))
    }
}

/// Most background rows `model_output: probability` accepts (2^16 = 65,536).
///
/// Probability-space values walk every (row, background row) pair ([`crate::shap::probability`]),
/// so the work per explained row grows with the background; shap advises 100 to 1,000 rows.
pub const MAX_PROBABILITY_BACKGROUND: usize = 1 << 16;

/// Checks a probability-space background size against [`MAX_PROBABILITY_BACKGROUND`].
pub fn check_probability_background(rows: usize) -> Result<()> {
    if rows > MAX_PROBABILITY_BACKGROUND {
        return Err(Error::Input(format!(
            "model_output probability: the background has {rows} rows; at most {MAX_PROBABILITY_BACKGROUND} are accepted \
             (each explained row is walked against every background row): sample the background (explainer.background)"
        )));
    }
    Ok(())
}
