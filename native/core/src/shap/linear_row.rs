//! The single-row form of the Linear TreeSHAP sweep of [`super::linear`], for online use.
//!
//! The lane kernel evaluates [`LANES`](super::linear::LANES) rows at once, so one row
//! would pay for sixteen. With one row, every edge's state (feature still on, turned off
//! here, already off above) is a plain branch, so instead of multiplying the three
//! coefficient sets by 0/1 masks the sweep reads only the set the state selects, and the
//! SIMD width goes to the quadrature points instead of the rows (the loops over `q` have a
//! compile-time length for trees of up to [`FIXED_N`] points).
//!
//! ## Bit-identical to the lane kernel
//! With finite coefficients, selecting is exactly what the masks compute: the masks are
//! exactly 0 or 1, so a masked sum is the selected value plus zeros; the three coefficients
//! an edge chooses between have one sign (the leaf value's, or non-negative inside the
//! tree), so those zeros carry the selected value's sign and adding them changes no bit.
//! The terms a state leaves out are ±0 products added to accumulators that start at +0.0
//! and can never become −0.0 (a round-to-nearest sum is −0 only when both addends are),
//! so leaving them out changes no bit either. Every remaining operation is the lane
//! kernel's, in the same order (no fused multiply-add anywhere). [`Plan::finite`] guards
//! the premise; a model with a non-finite coefficient is explained by the lane kernel.

use super::linear::{tree_lanes, Lane, Plan, Scratch, TreePlan, FIRST, IS_LEAF, IS_LEFT, NO_PREV};
use crate::{Ensemble, Tree};

/// Trees with up to this many quadrature points get the single-row sweep; deeper ones
/// (more than 16 distinct features on a path) go through the lane kernel, one lane used.
const FIXED_N: usize = 8;

/// Per-call buffers of the single-row sweep (sized by the plan's depth, not its size).
pub(crate) struct RowScratch {
    /// `A` per depth (the first `n` entries used).
    a: Vec<[f64; FIXED_N]>,
    /// `G` per depth.
    g: Vec<[f64; FIXED_N]>,
    /// Per depth of an open edge: the feature is still on (for the edges below it).
    on: Vec<bool>,
    /// Per depth of an open edge: 0 "on", 1 "turned off here", 2 "already off above".
    state: Vec<u8>,
    open: Vec<u32>,
    /// Per depth: the decision of the node at that depth (true = left).
    dec: Vec<bool>,
    /// Lane buffers for the trees the sweep leaves to the lane kernel.
    lanes: Option<(Scratch, Vec<Lane>, Vec<Lane>)>,
}

impl RowScratch {
    /// Buffers for the deepest tree of `plan`.
    pub(crate) fn new(plan: &Plan) -> RowScratch {
        let d = plan.max_depth + 1;
        RowScratch {
            a: vec![[0.0; FIXED_N]; d],
            g: vec![[0.0; FIXED_N]; d],
            on: vec![false; d],
            state: vec![0; d],
            open: vec![0; d],
            dec: vec![false; d],
            lanes: None,
        }
    }
}

/// Adds one row's path-dependent SHAP values to `phi` (`k × m`, output-major, zeroed by
/// the caller): the values the lane kernel gives that row, bit for bit. Needs
/// [`Plan::finite`].
pub(crate) fn explain_row(
    plan: &Plan,
    model: &Ensemble,
    x: &[f64],
    s: &mut RowScratch,
    phi: &mut [f64],
) {
    debug_assert!(plan.finite);
    let m = model.num_features;
    for (tp, tree) in plan.trees.iter().zip(&model.trees) {
        if tp.edges.is_empty() {
            continue;
        }
        let ph = &mut phi[tp.output * m..(tp.output + 1) * m];
        match tp.n {
            1 => sweep::<1>(tp, tree, x, s, ph),
            2 => sweep::<2>(tp, tree, x, s, ph),
            3 => sweep::<3>(tp, tree, x, s, ph),
            4 => sweep::<4>(tp, tree, x, s, ph),
            5 => sweep::<5>(tp, tree, x, s, ph),
            6 => sweep::<6>(tp, tree, x, s, ph),
            7 => sweep::<7>(tp, tree, x, s, ph),
            8 => sweep::<8>(tp, tree, x, s, ph),
            _ => one_lane(plan, tp, tree, x, s, ph),
        }
    }
}

/// A tree with more quadrature points than [`FIXED_N`]: the lane kernel with the row in
/// lane 0, accumulating onto the row's running values (so the sums happen in the same order).
fn one_lane(
    plan: &Plan,
    tp: &TreePlan,
    tree: &Tree,
    x: &[f64],
    s: &mut RowScratch,
    phi: &mut [f64],
) {
    let (ls, xg, ph) = s
        .lanes
        .get_or_insert_with(|| (Scratch::new(plan), Vec::new(), Vec::new()));
    xg.clear();
    xg.extend(x.iter().map(|&v| {
        let mut l = [0.0; super::linear::LANES];
        l[0] = v;
        l
    }));
    ph.clear();
    ph.extend(phi.iter().map(|&v| {
        let mut l = [0.0; super::linear::LANES];
        l[0] = v;
        l
    }));
    tree_lanes(tp, tree, xg, ls, ph);
    for (p, l) in phi.iter_mut().zip(ph.iter()) {
        *p = l[0];
    }
}

/// The `N`-vector at `at` of a tree's coefficients.
#[inline(always)]
fn vec_at<const N: usize>(coef: &[f64], at: usize) -> &[f64; N] {
    coef[at..at + N].try_into().expect("N values")
}

/// One tree for one row (`N` quadrature points).
#[inline(always)]
fn sweep<const N: usize>(
    tp: &TreePlan,
    tree: &Tree,
    x: &[f64],
    s: &mut RowScratch,
    phi: &mut [f64],
) {
    s.a[0][..N].fill(1.0);
    let mut cur = 0usize;
    let mut split = 0usize;
    for (ei, e) in tp.edges.iter().enumerate() {
        let d = e.depth as usize;
        while cur >= d {
            close::<N>(tp, s, phi, cur);
            cur -= 1;
        }
        if e.flags & FIRST != 0 {
            // the parent's first child in pre-order: decide the parent once for both edges
            let sp = &tp.splits[split];
            split += 1;
            s.dec[d - 1] = sp.goes_left(tree, x[sp.feature()]);
        }
        let followed = s.dec[d - 1] == (e.flags & IS_LEFT != 0);
        let off = e.prev != NO_PREV && !s.on[e.prev as usize];
        // "on" reads [r_on, d_on], "turned off here" [r_off, d_off]: the plan's layout
        let c = e.coef as usize + (!followed as usize) * 2 * N;
        let leaf = e.flags & IS_LEAF != 0;
        let first = e.flags & FIRST != 0;
        let ap = s.a[d - 1];
        if leaf {
            let gp = &mut s.g[d - 1];
            let mut g = [0.0; N];
            if off {
                for q in 0..N {
                    g[q] = ap[q] * e.z;
                }
            } else {
                let (r, t) = (vec_at::<N>(&tp.coef, c), vec_at::<N>(&tp.coef, c + N));
                let mut acc = 0.0;
                for q in 0..N {
                    g[q] = ap[q] * r[q];
                    acc += ap[q] * t[q];
                }
                phi[e.feature as usize] += acc;
            }
            if first {
                gp[..N].copy_from_slice(&g);
            } else {
                for q in 0..N {
                    gp[q] += g[q];
                }
            }
        } else {
            let an = &mut s.a[d];
            if off {
                for q in 0..N {
                    an[q] = ap[q] * e.z;
                }
            } else {
                let r = vec_at::<N>(&tp.coef, c);
                for q in 0..N {
                    an[q] = ap[q] * r[q];
                }
            }
            s.on[d] = !off && followed;
            s.state[d] = if off { 2 } else { !followed as u8 };
            s.open[d] = ei as u32;
            cur = d;
        }
    }
    while cur >= 1 {
        close::<N>(tp, s, phi, cur);
        cur -= 1;
    }
}

/// Closes the open internal edge at depth `d`: its term, and its `G` passed up.
#[inline(always)]
fn close<const N: usize>(tp: &TreePlan, s: &mut RowScratch, phi: &mut [f64], d: usize) {
    let e = &tp.edges[s.open[d] as usize];
    let state = s.state[d];
    let g = s.g[d];
    if state < 2 {
        let t = vec_at::<N>(&tp.coef, e.coef as usize + state as usize * 2 * N + N);
        let mut acc = 0.0;
        for q in 0..N {
            acc += g[q] * t[q];
        }
        phi[e.feature as usize] += acc;
    }
    let gp = &mut s.g[d - 1];
    if e.flags & FIRST != 0 {
        gp[..N].copy_from_slice(&g[..N]);
    } else {
        for q in 0..N {
            gp[q] += g[q];
        }
    }
}
