//! The device-independent form of a model for the GPU kernels: every root-to-leaf path as a
//! set of elements (one per distinct feature), packed into 32-lane bins.
//!
//! This is GPUTreeShap's layout (Mitchell, Frank, Holmes, "GPUTreeShap", 2022): a path is a
//! list of elements, a warp holds one *bin* of whole paths (packed best-fit decreasing), and
//! each lane owns one element, so one row of one bin is one warp step. What differs is the
//! per-path arithmetic (see [`super`]): Gauss–Legendre quadrature of the path polynomial with
//! segmented prefix/suffix products instead of the extend/unwind recursion, and elements that
//! keep their splits as encoded *edges* (so XGBoost's `float32(x) < t`, LightGBM's missing
//! rules and both libraries' categorical sets are decided exactly as [`crate::Tree::goes_left`]
//! does) instead of one `[lower, upper)` interval.
//!
//! Everything here is plain arrays, uploaded as they are by the CUDA backend and read by the
//! host reference ([`super::host`]); their layout is the contract with `kernel.cu`.

use crate::shap::{quadrature::gauss_legendre01, zero_fraction};
use crate::{Ensemble, Error, Node, Result, SplitKind, Tree};

/// Lanes per bin: one CUDA warp.
pub const WARP: usize = 32;
/// `lane_feature` of an unused lane.
pub const NO_FEATURE: u32 = u32::MAX;
/// Most quadrature points a bin uses (`⌈32 / 2⌉`): paths have at most [`WARP`] elements.
pub const MAX_POINTS: usize = WARP / 2;

/// Split kind codes of `edge_info` (bits 0..8), as `kernel.cu` reads them.
pub mod kind {
    /// [`crate::SplitKind::XgbNumeric`].
    pub const XGB_NUMERIC: u32 = 0;
    /// [`crate::SplitKind::XgbCategorical`].
    pub const XGB_CATEGORICAL: u32 = 1;
    /// [`crate::SplitKind::LgbNumericNone`].
    pub const LGB_NONE: u32 = 2;
    /// [`crate::SplitKind::LgbNumericZero`].
    pub const LGB_ZERO: u32 = 3;
    /// [`crate::SplitKind::LgbNumericNan`].
    pub const LGB_NAN: u32 = 4;
    /// [`crate::SplitKind::LgbCategorical`].
    pub const LGB_CATEGORICAL: u32 = 5;
    /// Flag: missing values go to the left child.
    pub const DEFAULT_LEFT: u32 = 1 << 8;
    /// Flag (LightGBM categorical): NaN goes right.
    pub const NAN_RIGHT: u32 = 1 << 9;
    /// Flag: the path takes the left child of this split.
    pub const TAKES_LEFT: u32 = 1 << 10;
}

/// A model laid out for the kernels. Lane arrays have `bins * WARP` entries (lane `l` of bin
/// `b` at `b * WARP + l`); a path occupies the lanes `seg_start..seg_end` of its bin.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Model features (input columns).
    pub features: usize,
    /// Model outputs.
    pub outputs: usize,
    /// Number of bins (warps' worth of paths).
    pub bins: usize,
    /// Most elements on one path.
    pub max_path: usize,
    /// Feature of the lane's element, or [`NO_FEATURE`].
    pub lane_feature: Vec<u32>,
    /// Product of the cover ratios of the element's splits.
    pub lane_z: Vec<f64>,
    /// First edge of the element in the edge arrays.
    pub lane_edge_begin: Vec<u32>,
    /// One past the element's last edge.
    pub lane_edge_end: Vec<u32>,
    /// The lane's path: `seg_start | seg_end << 8` (lanes within the bin).
    pub lane_seg: Vec<u32>,
    /// Leaf value of the lane's path.
    pub lane_value: Vec<f64>,
    /// Output (class) the lane's path adds to.
    pub lane_output: Vec<u32>,
    /// Quadrature points of each bin: `⌈longest path / 2⌉`, at least 1.
    pub bin_points: Vec<u32>,
    /// Longest path of each bin.
    pub bin_max_path: Vec<u32>,
    /// Per edge: kind code | flags (see [`kind`]).
    pub edge_info: Vec<u32>,
    /// Per edge: the split threshold (XGBoost numeric: the f32 value widened).
    pub edge_threshold: Vec<f64>,
    /// Per edge: first word of its category set in `cat_bits`.
    pub edge_cat_offset: Vec<u32>,
    /// Per edge: words in its category set.
    pub edge_cat_words: Vec<u32>,
    /// Category sets of all trees, concatenated.
    pub cat_bits: Vec<u32>,
    /// Gauss–Legendre nodes on [0, 1] for `n = 1..=MAX_POINTS` points, rule `n` at `n(n-1)/2`.
    pub quad_t: Vec<f64>,
    /// The matching weights.
    pub quad_w: Vec<f64>,
}

/// One path before packing.
struct PathRec {
    value: f64,
    output: u32,
    /// (feature, z, first edge, end edge)
    elems: Vec<(u32, f64, u32, u32)>,
}

/// Offset of the `n`-point rule in [`Plan::quad_t`] / [`Plan::quad_w`].
#[inline]
pub fn rule_offset(n: usize) -> usize {
    n * (n - 1) / 2
}

/// Encodes how `node` decides and which child the path takes.
fn edge_info(node: &Node, takes_left: bool) -> u32 {
    let (code, nan_right) = match node.kind {
        SplitKind::XgbNumeric => (kind::XGB_NUMERIC, false),
        SplitKind::XgbCategorical => (kind::XGB_CATEGORICAL, false),
        SplitKind::LgbNumericNone => (kind::LGB_NONE, false),
        SplitKind::LgbNumericZero => (kind::LGB_ZERO, false),
        SplitKind::LgbNumericNan => (kind::LGB_NAN, false),
        SplitKind::LgbCategorical { nan_goes_right } => (kind::LGB_CATEGORICAL, nan_goes_right),
    };
    let mut info = code;
    if node.default_left {
        info |= kind::DEFAULT_LEFT;
    }
    if nan_right {
        info |= kind::NAN_RIGHT;
    }
    if takes_left {
        info |= kind::TAKES_LEFT;
    }
    info
}

/// Builds the plan of `model`.
///
/// Errors: [`Error::Device`] when a path splits on more than [`WARP`] distinct features (the
/// kernels hold one path in one warp), or when an index does not fit the 32-bit layout.
pub fn plan(model: &Ensemble) -> Result<Plan> {
    let mut p = Plan {
        features: model.num_features,
        outputs: model.num_outputs,
        ..Plan::default()
    };
    let mut paths: Vec<PathRec> = Vec::new();
    for (ti, (tree, &out)) in model.trees.iter().zip(&model.tree_output).enumerate() {
        let cat_base = p.cat_bits.len();
        p.cat_bits.extend_from_slice(&tree.cat_bits);
        let mut stack: Vec<(u32, bool, f64)> = Vec::new();
        collect(tree, 0, out, cat_base, &mut stack, &mut p, &mut paths, ti)?;
    }
    if p.edge_info.len() >= u32::MAX as usize || p.cat_bits.len() >= u32::MAX as usize {
        return Err(Error::Device(
            "the model is too large for the GPU layout (more than 2^32 splits)".into(),
        ));
    }
    pack(&mut p, paths);
    for n in 1..=MAX_POINTS {
        let (t, w) = gauss_legendre01(n);
        p.quad_t.extend(t);
        p.quad_w.extend(w);
    }
    Ok(p)
}

/// Walks `tree` from `node`, appending one [`PathRec`] per leaf (a lone leaf gives none: it
/// only moves the base value) and its edges to `p`.
#[allow(clippy::too_many_arguments)]
fn collect(
    tree: &Tree,
    node: usize,
    output: u32,
    cat_base: usize,
    stack: &mut Vec<(u32, bool, f64)>,
    p: &mut Plan,
    paths: &mut Vec<PathRec>,
    tree_index: usize,
) -> Result<()> {
    let nd = &tree.nodes[node];
    if nd.is_leaf() {
        if stack.is_empty() {
            return Ok(());
        }
        let mut feats: Vec<u32> = stack
            .iter()
            .map(|&(n, _, _)| tree.nodes[n as usize].feature)
            .collect();
        feats.sort_unstable();
        feats.dedup();
        if feats.len() > WARP {
            return Err(Error::Device(format!(
                "trees[{tree_index}]: a path splits on {} distinct features; the GPU kernels hold at most {WARP}",
                feats.len()
            )));
        }
        let mut elems = Vec::with_capacity(feats.len());
        for f in feats {
            let e0 = p.edge_info.len() as u32;
            let mut z = 1.0;
            for &(n, left, zf) in stack.iter() {
                let split = &tree.nodes[n as usize];
                if split.feature == f {
                    p.edge_info.push(edge_info(split, left));
                    p.edge_threshold.push(match split.kind {
                        SplitKind::XgbNumeric => split.threshold as f32 as f64,
                        _ => split.threshold,
                    });
                    p.edge_cat_offset
                        .push((cat_base + split.cat_offset as usize) as u32);
                    p.edge_cat_words.push(split.cat_words);
                    z *= zf;
                }
            }
            elems.push((f, z, e0, p.edge_info.len() as u32));
        }
        paths.push(PathRec {
            value: nd.value,
            output,
            elems,
        });
        return Ok(());
    }
    for (child, left) in [(nd.left as usize, true), (nd.right as usize, false)] {
        stack.push((node as u32, left, zero_fraction(tree, node, child)));
        collect(tree, child, output, cat_base, stack, p, paths, tree_index)?;
        stack.pop();
    }
    Ok(())
}

/// Packs paths into bins, best fit decreasing (longest first, each into the fullest bin it
/// fits), and fills the lane arrays.
fn pack(p: &mut Plan, mut paths: Vec<PathRec>) {
    // stable: equal lengths keep model order, so plans are deterministic
    paths.sort_by_key(|r| std::cmp::Reverse(r.elems.len()));
    // free[c]: bins with exactly c free lanes
    let mut free: Vec<Vec<usize>> = vec![Vec::new(); WARP + 1];
    let mut bin_of: Vec<(usize, usize)> = Vec::with_capacity(paths.len()); // (bin, first lane)
    let mut used: Vec<usize> = Vec::new();
    for r in &paths {
        let len = r.elems.len();
        let bin = match (len..=WARP).find(|&c| !free[c].is_empty()) {
            Some(c) => free[c].pop().unwrap_or_default(),
            None => {
                used.push(0);
                used.len() - 1
            }
        };
        bin_of.push((bin, used[bin]));
        used[bin] += len;
        free[WARP - used[bin]].push(bin);
    }
    let bins = used.len();
    let lanes = bins * WARP;
    p.bins = bins;
    p.lane_feature = vec![NO_FEATURE; lanes];
    p.lane_z = vec![1.0; lanes];
    p.lane_edge_begin = vec![0; lanes];
    p.lane_edge_end = vec![0; lanes];
    p.lane_seg = (0..lanes)
        .map(|i| {
            let l = (i % WARP) as u32;
            l | (l + 1) << 8
        })
        .collect();
    p.lane_value = vec![0.0; lanes];
    p.lane_output = vec![0; lanes];
    p.bin_max_path = vec![0; bins];
    for (r, &(bin, first)) in paths.iter().zip(&bin_of) {
        let len = r.elems.len();
        let seg = first as u32 | ((first + len) as u32) << 8;
        for (i, &(f, z, e0, e1)) in r.elems.iter().enumerate() {
            let lane = bin * WARP + first + i;
            p.lane_feature[lane] = f;
            p.lane_z[lane] = z;
            p.lane_edge_begin[lane] = e0;
            p.lane_edge_end[lane] = e1;
            p.lane_seg[lane] = seg;
            p.lane_value[lane] = r.value;
            p.lane_output[lane] = r.output;
        }
        p.bin_max_path[bin] = p.bin_max_path[bin].max(len as u32);
        p.max_path = p.max_path.max(len);
    }
    p.bin_points = p
        .bin_max_path
        .iter()
        .map(|&d| d.div_ceil(2).max(1))
        .collect();
}

/// Whether value `x` satisfies edge `e` (the path's side of the split), exactly as
/// `edge_holds` in `kernel.cu`; equal to [`crate::Tree::goes_left`] on the encoded node.
#[inline]
pub fn edge_holds(p: &Plan, e: usize, x: f64) -> bool {
    let info = p.edge_info[e];
    let default_left = info & kind::DEFAULT_LEFT != 0;
    let t = p.edge_threshold[e];
    let in_set = |c: u64| -> bool {
        let word = c / 32;
        if word >= p.edge_cat_words[e] as u64 {
            return false;
        }
        (p.cat_bits[p.edge_cat_offset[e] as usize + word as usize] >> (c % 32)) & 1 == 1
    };
    let left = match info & 0xff {
        kind::XGB_NUMERIC => {
            if x.is_nan() {
                default_left
            } else {
                (x as f32) < (t as f32)
            }
        }
        kind::XGB_CATEGORICAL => {
            if x.is_nan() {
                default_left
            } else {
                let xf = x as f32;
                if !(xf >= 0.0) || xf >= 16_777_216.0 {
                    true
                } else {
                    !in_set(xf as u64)
                }
            }
        }
        kind::LGB_NONE => (if x.is_nan() { 0.0 } else { x }) <= t,
        kind::LGB_ZERO => {
            let x = if x.is_nan() { 0.0 } else { x };
            if x.abs() <= crate::ensemble::LGB_ZERO_THRESHOLD {
                default_left
            } else {
                x <= t
            }
        }
        kind::LGB_NAN => {
            if x.is_nan() {
                default_left
            } else {
                x <= t
            }
        }
        _ => {
            // LightGBM categorical
            if x.is_nan() {
                if info & kind::NAN_RIGHT != 0 {
                    false
                } else {
                    in_set(0)
                }
            } else {
                let c = x as i32;
                c >= 0 && in_set(c as u64)
            }
        }
    };
    left == (info & kind::TAKES_LEFT != 0)
}
