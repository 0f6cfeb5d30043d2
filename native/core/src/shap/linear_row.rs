//! The single-row form of the Linear TreeSHAP sweep of [`super::linear`], for online use.
//!
//! The lane kernel evaluates [`LANES`](super::linear::LANES) rows at once from a plan of
//! precomputed coefficients: four quadrature vectors per edge, ~100 bytes per edge, ~25 MB
//! for 500 trees of depth 8. One row would read all of that from memory for a few
//! operations per value. This sweep instead keeps a compact [`RowPlan`] (one 64-byte record
//! per internal node: the split, both children's cover ratios, the leaf values; ~8 MB for
//! the same model, 1/3 of which a row reads) and computes the coefficients the row's
//! decisions select on the fly, with exactly the operations [`Plan::new`] uses to compute
//! them. The SIMD width goes to the quadrature points (compile-time length up to
//! [`FIXED_N`]; AVX2 when the CPU has it).
//!
//! Per internal node: one decision, one division for the followed child's `c_on` (and, when
//! an ancestor splits on the same feature, one per child for the factor ratios), selections
//! by bit masks rather than branches, so the row's decisions cost no mispredicted branches.
//!
//! ## Bit-identical to the lane kernel
//! Each coefficient is computed from the same operands by the same IEEE operations as in
//! [`Plan::new`] (divisions by 1.0 and subtractions of +0.0 that the plan performs for a
//! first split on a feature are exact and left out), so the selected coefficients equal
//! the stored ones bit for bit. Selecting is then exactly what the lane kernel's 0/1 masks
//! compute (the argument of the previous form of this module): with finite coefficients a
//! masked sum is the selected value plus zeros of its sign, and the terms a state leaves out
//! are ±0 products added to accumulators that start at +0.0 and can never become −0.0.
//! Every remaining operation is the lane kernel's, in the same order (edge terms in
//! depth-first pre-order, leaf terms when the leaf edge is reached, internal edge terms when
//! their subtree is done; no fused multiply-add). [`Plan::finite`] guards the premise; a
//! model with a non-finite coefficient is explained by the lane kernel.

// Quadrature loops are written with indices on purpose: fixed-size index loops are what
// the compiler turns into SIMD code.
#![allow(clippy::needless_range_loop)]

use super::linear::{tree_lanes, Lane, Plan, Scratch, Split, TreePlan, NO_PREV};
use super::quadrature::gauss_legendre01;
use super::{zero_fraction, Simd};
use crate::{Ensemble, Tree};

/// Trees with up to this many quadrature points get the single-row sweep; deeper ones
/// (more than 16 distinct features on a path) go through the lane kernel, one lane used.
const FIXED_N: usize = 8;

/// Deepest tree the sweep takes (its scratch is per depth); deeper trees use the lane
/// kernel with one lane.
const MAX_DEPTH: usize = 1024;

/// [`RowNode::flags`]: the left child is a leaf.
const LEFT_LEAF: u8 = 1;
/// [`RowNode::flags`]: the right child is a leaf.
const RIGHT_LEAF: u8 = 2;
/// [`RowNode::flags`] of a bottom node (both children leaves).
const BOTH_LEAVES: u8 = LEFT_LEAF | RIGHT_LEAF;

/// One internal node, in depth-first pre-order: all a row's sweep reads about it.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
struct RowNode {
    /// What deciding the split reads.
    split: Split,
    /// Local cover ratio of the left child (`zero_fraction`).
    zl: f64,
    /// Local cover ratio of the right child.
    zr: f64,
    /// Value of the left child when it is a leaf (else 0).
    vl: f64,
    /// Value of the right child when it is a leaf (else 0).
    vr: f64,
    /// Depth of the nearest ancestor edge splitting on the same feature, or [`NO_PREV`]
    /// (the same for both child edges; an edge's depth is its child's).
    prev: u16,
    /// [`LEFT_LEAF`], [`RIGHT_LEAF`].
    flags: u8,
}

/// How one tree is swept.
#[derive(Clone, Debug)]
enum RowTree {
    /// The root is a leaf: no SHAP value.
    Empty,
    /// The sweep: its nodes `nodes[start..]` and quadrature points.
    Sweep { start: usize, n: usize },
    /// The lane kernel with one lane (too many quadrature points or too deep).
    Lanes,
}

/// Gauss–Legendre tables for `n` points, with what the plan derives from them.
#[derive(Clone, Debug, Default)]
struct Quad {
    t: [f64; FIXED_N],
    w: [f64; FIXED_N],
    /// `1 - t` (the factor of a feature turned off, over its cover ratio).
    omt: [f64; FIXED_N],
    /// `-w / (1 - t)` (`c_off`).
    nw: [f64; FIXED_N],
}

/// The compact single-row plan of a model (built once per model, see [`super::Prepared`]).
pub(crate) struct RowPlan {
    nodes: Vec<RowNode>,
    trees: Vec<RowTree>,
    quad: Vec<Quad>,
    max_depth: usize,
    simd: Simd,
}

impl RowPlan {
    /// Builds the records of every tree `plan` describes (the same quadrature sizes).
    pub(crate) fn new(plan: &Plan, model: &Ensemble, simd: Simd) -> RowPlan {
        let mut nodes = Vec::new();
        let mut trees = Vec::with_capacity(model.trees.len());
        let mut last = vec![NO_PREV; model.num_features];
        let mut max_depth = 0;
        for (tp, tree) in plan.trees.iter().zip(&model.trees) {
            let depth = tp.edges.iter().map(|e| e.depth as usize).max().unwrap_or(0);
            if tp.edges.is_empty() {
                trees.push(RowTree::Empty);
            } else if tp.n > FIXED_N || depth > MAX_DEPTH {
                trees.push(RowTree::Lanes);
            } else {
                max_depth = max_depth.max(depth);
                let start = nodes.len();
                walk(tree, 0, 0, &mut last, &mut nodes);
                trees.push(RowTree::Sweep { start, n: tp.n });
            }
        }
        let quad = (0..=FIXED_N)
            .map(|n| {
                let mut q = Quad::default();
                if n > 0 {
                    let (t, w) = gauss_legendre01(n);
                    for i in 0..n {
                        q.t[i] = t[i];
                        q.w[i] = w[i];
                        q.omt[i] = 1.0 - t[i];
                        q.nw[i] = -w[i] / (1.0 - t[i]);
                    }
                }
                q
            })
            .collect();
        RowPlan {
            nodes,
            trees,
            quad,
            max_depth,
            simd,
        }
    }
}

/// Pre-order walk of the internal nodes below `node` (at `depth`); `last[f]` is the depth
/// of the nearest ancestor edge on feature `f`.
fn walk(tree: &Tree, node: usize, depth: u16, last: &mut [u16], out: &mut Vec<RowNode>) {
    let nd = &tree.nodes[node];
    let f = nd.feature as usize;
    let (l, r) = (nd.left as usize, nd.right as usize);
    let (ll, rl) = (tree.nodes[l].is_leaf(), tree.nodes[r].is_leaf());
    out.push(RowNode {
        split: Split::of(nd),
        zl: zero_fraction(tree, node, l),
        zr: zero_fraction(tree, node, r),
        vl: if ll { tree.nodes[l].value } else { 0.0 },
        vr: if rl { tree.nodes[r].value } else { 0.0 },
        prev: last[f],
        flags: if ll { LEFT_LEAF } else { 0 } | if rl { RIGHT_LEAF } else { 0 },
    });
    let saved = last[f];
    last[f] = depth + 1;
    for (child, leaf) in [(l, ll), (r, rl)] {
        if !leaf {
            walk(tree, child, depth + 1, last, out);
        }
    }
    last[f] = saved;
}

/// What the sweep keeps per depth `d`: about the node at depth `d` and its two child
/// edges (whose depth is `d + 1`; an edge's depth is its child's), and, for the nodes
/// below, about the edge of depth `d` the walk is in.
#[derive(Clone, Default)]
struct Level {
    /// `A` at the node.
    a: [f64; FIXED_N],
    /// `G` of the node's left subtree.
    gl: [f64; FIXED_N],
    /// The left edge's selected `c` difference.
    dl: [f64; FIXED_N],
    /// The right edge's factor ratio (times the leaf value for a leaf).
    rr: [f64; FIXED_N],
    /// The right edge's `c` difference (times `v r` for a leaf).
    dr: [f64; FIXED_N],
    /// Edge of depth `d`: `F1(Z, t)` of its followed sibling (the one that can be "on").
    f1: [f64; FIXED_N],
    /// Edge of depth `d`: `c_on(Z, t)` of its followed sibling.
    ce: [f64; FIXED_N],
    /// Edge of depth `d`: merged cover ratio `Z` of its followed sibling.
    z: f64,
    /// The node's record (index from the tree's root).
    node: u32,
    /// The row goes left at the node.
    dec: bool,
    /// The node's feature was already turned off above (its edges add no terms).
    off: bool,
    /// The walk is in the node's right subtree.
    right: bool,
    /// Edge of depth `d`: its feature is still on below it.
    on: bool,
}

/// Per-call buffers of the single-row sweep (sized by the plan's depth, not its size).
pub(crate) struct RowScratch {
    lv: Vec<Level>,
    /// Lane buffers for the trees the sweep leaves to the lane kernel.
    lanes: Option<(Scratch, Vec<Lane>, Vec<Lane>)>,
}

impl RowScratch {
    /// Buffers for the deepest tree of `rp`.
    pub(crate) fn new(rp: &RowPlan) -> RowScratch {
        RowScratch {
            lv: vec![Level::default(); rp.max_depth + 2],
            lanes: None,
        }
    }
}

/// Adds one row's path-dependent SHAP values to `phi` (`k × m`, output-major, zeroed by
/// the caller): the values the lane kernel gives that row, bit for bit. Needs
/// [`Plan::finite`]; `rp` is built from `plan` and `model`.
pub(crate) fn explain_row(
    plan: &Plan,
    rp: &RowPlan,
    model: &Ensemble,
    x: &[f64],
    s: &mut RowScratch,
    phi: &mut [f64],
) {
    debug_assert!(plan.finite);
    match rp.simd {
        // SAFETY: the CPU supports AVX2 (`detect_simd` found it, or AVX-512).
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 | Simd::Avx512 => unsafe { explain_row_avx2(plan, rp, model, x, s, phi) },
        _ => explain_row_body(plan, rp, model, x, s, phi),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn explain_row_avx2(
    plan: &Plan,
    rp: &RowPlan,
    model: &Ensemble,
    x: &[f64],
    s: &mut RowScratch,
    phi: &mut [f64],
) {
    explain_row_body(plan, rp, model, x, s, phi)
}

#[inline(always)]
fn explain_row_body(
    plan: &Plan,
    rp: &RowPlan,
    model: &Ensemble,
    x: &[f64],
    s: &mut RowScratch,
    phi: &mut [f64],
) {
    let m = model.num_features;
    for ((rt, tp), tree) in rp.trees.iter().zip(&plan.trees).zip(&model.trees) {
        let ph = &mut phi[tp.output * m..(tp.output + 1) * m];
        let (start, n) = match *rt {
            RowTree::Empty => continue,
            RowTree::Lanes => {
                one_lane(plan, tp, tree, x, s, ph);
                continue;
            }
            RowTree::Sweep { start, n } => (start, n),
        };
        let (nodes, q) = (&rp.nodes[start..], &rp.quad[n]);
        match n {
            1 => sweep::<1>(nodes, q, tree, x, s, ph),
            2 => sweep::<2>(nodes, q, tree, x, s, ph),
            3 => sweep::<3>(nodes, q, tree, x, s, ph),
            4 => sweep::<4>(nodes, q, tree, x, s, ph),
            5 => sweep::<5>(nodes, q, tree, x, s, ph),
            6 => sweep::<6>(nodes, q, tree, x, s, ph),
            7 => sweep::<7>(nodes, q, tree, x, s, ph),
            _ => sweep::<8>(nodes, q, tree, x, s, ph),
        }
    }
}

/// A tree the sweep does not take: the lane kernel with the row in lane 0, accumulating
/// onto the row's running values (so the sums happen in the same order).
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

/// `a` where `mask` is all ones, `b` where it is zero: bit-exact selection without a branch.
#[inline(always)]
fn pick<const N: usize>(mask: u64, a: &[f64; N], b: &[f64; N]) -> [f64; N] {
    let mut o = [0.0; N];
    for q in 0..N {
        o[q] = f64::from_bits((a[q].to_bits() & mask) | (b[q].to_bits() & !mask));
    }
    o
}

/// [`pick`] for one value.
#[inline(always)]
fn pick1(mask: u64, a: f64, b: f64) -> f64 {
    f64::from_bits((a.to_bits() & mask) | (b.to_bits() & !mask))
}

/// The first `N` values of a scratch vector.
#[inline(always)]
fn first<const N: usize>(v: &[f64; FIXED_N]) -> [f64; N] {
    v[..N].try_into().expect("N ≤ FIXED_N")
}

/// Stores an `N`-vector into a scratch vector.
#[inline(always)]
fn put<const N: usize>(to: &mut [f64; FIXED_N], v: &[f64; N]) {
    to[..N].copy_from_slice(v);
}

/// `Σ_q a[q] b[q]`, summed in order of `q` from +0.0 (the lane kernel's order).
#[inline(always)]
fn dot<const N: usize>(a: &[f64; N], b: &[f64; N]) -> f64 {
    let mut acc = 0.0;
    for q in 0..N {
        acc += a[q] * b[q];
    }
    acc
}

/// Where the walk goes next.
enum Step<const N: usize> {
    /// Visit the next node record, at this depth.
    Node(usize),
    /// The left subtree of the node at this depth is done: take its right edge.
    Right(usize),
    /// The subtree of the node at this depth is done, with this `G`.
    Up(usize, [f64; N]),
}

/// The coefficients of a leaf edge with factor ratio `r`, `c` difference `d` and value `v`,
/// as [`Plan::new`] scales them: `(v r, d (v r_unscaled))`.
#[inline(always)]
fn leaf_coef<const N: usize>(r: &[f64; N], d: &[f64; N], v: f64) -> ([f64; N], [f64; N]) {
    let (mut rv, mut dv) = ([0.0; N], [0.0; N]);
    for q in 0..N {
        dv[q] = d[q] * (v * r[q]);
        rv[q] = r[q] * v;
    }
    (rv, dv)
}

/// One tree for one row (`N` quadrature points); `nodes` starts at the tree's root.
#[inline(always)]
fn sweep<const N: usize>(
    nodes: &[RowNode],
    qt: &Quad,
    tree: &Tree,
    x: &[f64],
    s: &mut RowScratch,
    phi: &mut [f64],
) {
    let t: [f64; N] = first(&qt.t);
    let w: [f64; N] = first(&qt.w);
    let omt: [f64; N] = first(&qt.omt);
    let nw: [f64; N] = first(&qt.nw);
    let lv = &mut s.lv[..];
    lv[0].a = [1.0; FIXED_N];
    let mut next = 0usize;
    let mut step = Step::<N>::Node(0);
    loop {
        step = match step {
            Step::Node(d) => {
                let nd = &nodes[next];
                let sp = &nd.split;
                let f = sp.feature();
                let dec = sp.goes_left(tree, x[f]);
                let mask = (dec as u64).wrapping_neg();
                let prev = nd.prev as usize;
                let has_prev = nd.prev != NO_PREV;
                let off = has_prev && !lv[prev].on;
                let (rl, dl, rr, dr);
                if off {
                    rl = [nd.zl; N];
                    rr = [nd.zr; N];
                    dl = [0.0; N];
                    dr = [0.0; N];
                } else {
                    // the followed child's edge is "on", the other's "turned off here"
                    let zf = pick1(mask, nd.zl, nd.zr);
                    let zo = pick1(mask, nd.zr, nd.zl);
                    let (zf, zo) = if has_prev {
                        (lv[prev].z * zf, lv[prev].z * zo)
                    } else {
                        (zf, zo)
                    };
                    let omz = 1.0 - zf;
                    let (mut f1, mut ce, mut f0) = ([0.0; N], [0.0; N], [0.0; N]);
                    for q in 0..N {
                        f1[q] = zf + t[q] * omz;
                        ce[q] = omz * w[q] / f1[q];
                        f0[q] = zo * omt[q];
                    }
                    let (mut r_f, mut d_f, mut r_o, mut d_o) = (f1, ce, f0, nw);
                    if has_prev {
                        let fp: [f64; N] = first(&lv[prev].f1);
                        let cp: [f64; N] = first(&lv[prev].ce);
                        for q in 0..N {
                            r_f[q] = f1[q] / fp[q];
                            d_f[q] = ce[q] - cp[q];
                            r_o[q] = f0[q] / fp[q];
                            d_o[q] = nw[q] - cp[q];
                        }
                    }
                    if nd.flags != BOTH_LEAVES {
                        let below = &mut lv[d + 1];
                        below.z = zf;
                        put(&mut below.f1, &f1);
                        put(&mut below.ce, &ce);
                    }
                    rl = pick(mask, &r_f, &r_o);
                    dl = pick(mask, &d_f, &d_o);
                    rr = pick(mask, &r_o, &r_f);
                    dr = pick(mask, &d_o, &d_f);
                }
                let l = &mut lv[d];
                next += 1;
                let a: [f64; N] = first(&l.a);
                if nd.flags == BOTH_LEAVES {
                    // a bottom node: both leaf edges at once, in the sweep's order
                    let mut g = [0.0; N];
                    if off {
                        let (zl, zr) = (nd.zl * nd.vl, nd.zr * nd.vr);
                        for q in 0..N {
                            g[q] = a[q] * zl + a[q] * zr;
                        }
                    } else {
                        let (rlv, dlv) = leaf_coef(&rl, &dl, nd.vl);
                        let (rrv, drv) = leaf_coef(&rr, &dr, nd.vr);
                        phi[f] += dot(&a, &dlv);
                        phi[f] += dot(&a, &drv);
                        for q in 0..N {
                            g[q] = a[q] * rlv[q] + a[q] * rrv[q];
                        }
                    }
                    step = Step::Up(d, g);
                    continue;
                }
                l.node = (next - 1) as u32;
                l.dec = dec;
                l.off = off;
                // the right edge's coefficients, for when the left subtree is done
                if nd.flags & RIGHT_LEAF == 0 {
                    put(&mut l.rr, &rr);
                    put(&mut l.dr, &dr);
                } else if off {
                    put(&mut l.rr, &[nd.zr * nd.vr; N]);
                } else {
                    let (rv, dv) = leaf_coef(&rr, &dr, nd.vr);
                    put(&mut l.rr, &rv);
                    put(&mut l.dr, &dv);
                }
                if nd.flags & LEFT_LEAF != 0 {
                    let mut g = [0.0; N];
                    if off {
                        let zv = nd.zl * nd.vl;
                        for q in 0..N {
                            g[q] = a[q] * zv;
                        }
                    } else {
                        let (rv, dv) = leaf_coef(&rl, &dl, nd.vl);
                        for q in 0..N {
                            g[q] = a[q] * rv[q];
                        }
                        phi[f] += dot(&a, &dv);
                    }
                    put(&mut l.gl, &g);
                    Step::Right(d)
                } else {
                    let mut an = [0.0; N];
                    for q in 0..N {
                        an[q] = a[q] * rl[q];
                    }
                    put(&mut l.dl, &dl);
                    l.right = false;
                    let below = &mut lv[d + 1];
                    put(&mut below.a, &an);
                    below.on = !off && dec;
                    Step::Node(d + 1)
                }
            }
            Step::Right(d) => {
                let l = &mut lv[d];
                let nd = &nodes[l.node as usize];
                let a: [f64; N] = first(&l.a);
                let rr: [f64; N] = first(&l.rr);
                if nd.flags & RIGHT_LEAF != 0 {
                    let gl: [f64; N] = first(&l.gl);
                    let mut g = [0.0; N];
                    for q in 0..N {
                        g[q] = gl[q] + a[q] * rr[q];
                    }
                    if !l.off {
                        let dr: [f64; N] = first(&l.dr);
                        phi[nd.split.feature()] += dot(&a, &dr);
                    }
                    Step::Up(d, g)
                } else {
                    let mut an = [0.0; N];
                    for q in 0..N {
                        an[q] = a[q] * rr[q];
                    }
                    l.right = true;
                    let on = !l.off && !l.dec;
                    let below = &mut lv[d + 1];
                    put(&mut below.a, &an);
                    below.on = on;
                    Step::Node(d + 1)
                }
            }
            Step::Up(d, g) => {
                if d == 0 {
                    break;
                }
                // close the edge from the parent: its term, and its `G` passed up
                let l = &mut lv[d - 1];
                if !l.off {
                    let de: [f64; N] = first(if l.right { &l.dr } else { &l.dl });
                    let f = nodes[l.node as usize].split.feature();
                    phi[f] += dot(&g, &de);
                }
                if l.right {
                    let gl: [f64; N] = first(&l.gl);
                    let mut gp = [0.0; N];
                    for q in 0..N {
                        gp[q] = gl[q] + g[q];
                    }
                    Step::Up(d - 1, gp)
                } else {
                    put(&mut l.gl, &g);
                    Step::Right(d - 1)
                }
            }
        };
    }
}
