//! The single-row form of the Linear TreeSHAP sweep of [`super::linear`], for online use.
//!
//! The lane kernel evaluates [`LANES`](super::linear::LANES) rows at once from a plan of
//! precomputed coefficients: four quadrature vectors per edge, ~100 bytes per edge, ~25 MB
//! for 500 trees of depth 8. One row would read all of that from memory for a few
//! operations per value. This sweep instead keeps a compact [`RowPlan`] (one 64-byte record
//! per internal node: the split, both children's cover ratios, the leaf values, where its
//! edges' values go; one 8-byte record per edge; ~7 MB for the same model) and computes the
//! coefficients the row's decisions select on the fly, with exactly the operations
//! [`Plan::new`] uses to compute them. The SIMD width goes to the quadrature points, padded
//! to 4 or 8 (see below; AVX2 or AVX-512 when the CPU has them).
//!
//! ## Two passes, no data-dependent branch
//! A tree is swept in two straight loops. The downward pass takes the internal nodes in
//! pre-order: it decides the split, selects both child edges' coefficients (by bit masks,
//! whatever the decision and whether the feature was already turned off above), and
//! writes the children's `A` and the two edges' coefficients to per-tree slots. The upward
//! pass takes the edges in post-order — the order in which the lane kernel closes them —
//! and for each adds its term `Σ_q x_q d_q` to `φ` and its `G` to its parent's. The loops'
//! control flow depends on nothing but the number of nodes, so the row's decisions and the
//! tree's shape cost no mispredicted branch.
//!
//! ## Bit-identical to the lane kernel
//! Each coefficient is computed from the same operands by the same IEEE operations as in
//! [`Plan::new`] (divisions by 1.0 and subtractions of +0.0 that the plan performs for a
//! first split on a feature are exact and left out), so the selected coefficients equal
//! the stored ones bit for bit. Selecting is then exactly what the lane kernel's 0/1 masks
//! compute: with finite coefficients a masked sum is the selected value plus zeros of its
//! sign; the terms of an edge whose feature is already off are ±0 products (its selected
//! `c` difference is 0), and every ±0 term is added to an accumulator that starts at +0.0
//! and can never become −0.0, so it changes nothing. Zeros of a different sign in `A` or
//! `G` only ever meet the same ±0 arguments. A node's `G` starts at −0.0, the identity of
//! IEEE addition, so the first edge's `G` plus the second's is the lane kernel's sum. Every
//! remaining operation is the lane kernel's, in the same order (each term summed over
//! `q` in order, terms added to `φ` in the edges' post-order; no fused multiply-add).
//! [`Plan::finite`] guards the premise; a model with a non-finite coefficient is explained
//! by the lane kernel.
//!
//! ## Padded quadrature points
//! A tree with `n` points is swept with `N = 4` (`n ≤ 4`) or `N = 8` lanes. A padded lane
//! `q ≥ n` takes the node `t` of lane 0 and weight 0, so its factor ratios, `A` and `G`
//! are lane 0's, bit for bit, and its `c` differences are ±0 (`(1 - Z) · 0 / F1` with a
//! nonzero `F1`, since lane 0's `c_on` is finite; `-0 / (1 - t)`; their differences).
//! Its term `x_q d_q` is then ±0 when `x_q` is finite, and it is added after every real
//! lane's, so each sum is the lane kernel's. `x_q` is finite when every local cover ratio
//! lies in `[0, 1]` (then every factor ratio does, `|A| ≤ 1` and `|G| ≤ Σ |v|` over the
//! tree's leaves) and the leaf values' absolute sum is below 1e300; a tree that fails this
//! check is explained by the lane kernel.

// Quadrature loops are written with indices on purpose: fixed-size index loops are what
// the compiler turns into SIMD code.
#![allow(clippy::needless_range_loop)]

use super::linear::{tree_lanes, Lane, Plan, Scratch, Split, TreePlan, NO_PREV};
use super::quadrature::gauss_legendre01;
use super::{zero_fraction, Simd};
use crate::{Ensemble, SplitKind, Tree};

/// Trees with up to this many quadrature points get the single-row sweep; deeper ones
/// (more than 16 distinct features on a path) go through the lane kernel, one lane used.
const FIXED_N: usize = 8;

/// Deepest tree the sweep takes (its records are built recursively); deeper trees use the
/// lane kernel with one lane.
const MAX_DEPTH: usize = 1024;

/// [`RowNode::right`] of a node whose right child is a leaf.
const NO_CHILD: u16 = u16::MAX;
/// Set in [`RowNode::post_l`] when the left child is a leaf.
const LEAF_BIT: u16 = 0x8000;
/// Largest tree (internal nodes) the sweep takes: its slot indices fit in `u16`.
const MAX_INTERNAL: usize = 16_383;
/// Largest absolute sum of a tree's leaf values the padded lanes are proven finite for.
const MAX_LEAF_SUM: f64 = 1e300;

/// One internal node, in depth-first pre-order: all the downward pass reads about it.
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
    /// The nearest ancestor edge splitting on the same feature, as `2 a + side` (`a` the
    /// ancestor's index, `side` 1 for its right edge), or [`NO_PREV`].
    prev: u16,
    /// Index of the right child (internal nodes count from the tree's root), or
    /// [`NO_CHILD`] when it is a leaf (the left child, when internal, is the next node).
    right: u16,
    /// Position of the left edge in the edges' post-order, with [`LEAF_BIT`] when the left
    /// child is a leaf.
    post_l: u16,
    /// Position of the right edge in the edges' post-order.
    post_r: u16,
}

const _: () = assert!(std::mem::size_of::<RowNode>() == 64);

/// One edge, in post-order (the order the lane kernel closes them): what the upward pass
/// reads about it. Vector slots: `2 i` holds `A` of internal node `i`, `2 i + 1` its `G`.
#[derive(Clone, Debug)]
struct RowEdge {
    /// Slot of the vector the edge's term multiplies: `A` of the parent for a leaf edge,
    /// `G` of the child for an internal one.
    x: u16,
    /// Slot of the parent's `G`.
    g: u16,
    /// Feature of the parent's split.
    feature: u32,
}

/// How one tree is swept.
#[derive(Clone, Debug)]
enum RowTree {
    /// The root is a leaf: no SHAP value.
    Empty,
    /// The sweep: its nodes `nodes[node..node + ni]`, edges `edges[2 node..2 (node + ni)]`,
    /// `n` quadrature points (padded to 4 or 8), `kind` the [`kind_code`] of its splits.
    Sweep {
        node: usize,
        ni: usize,
        n: usize,
        kind: u8,
    },
    /// The lane kernel with one lane (too many quadrature points, too deep or too large,
    /// or values the padded lanes are not proven finite for).
    Lanes,
}

/// Gauss–Legendre tables for `n` points, with what the plan derives from them, padded to
/// [`FIXED_N`] with lane 0's node and weight 0.
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
    /// Two per node: a tree's edges start at twice its first node's index.
    edges: Vec<RowEdge>,
    trees: Vec<RowTree>,
    quad: Vec<Quad>,
    /// Most internal nodes of a swept tree (sizes the scratch).
    max_internal: usize,
    num_features: usize,
    simd: RowSimd,
}

/// Which compiled variant of the sweep runs.
#[derive(Clone, Copy)]
enum RowSimd {
    /// AVX-512 F, DQ and VL (32 vector registers, masked blends).
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Base,
}

impl RowSimd {
    /// The variant for `simd` ([`super::detect_simd`]), checking the AVX-512 subsets the
    /// sweep's variant is compiled for.
    fn of(simd: Simd) -> RowSimd {
        match simd {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512
                if is_x86_feature_detected!("avx512dq") && is_x86_feature_detected!("avx512vl") =>
            {
                RowSimd::Avx512
            }
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 | Simd::Avx2 => RowSimd::Avx2,
            Simd::Base => RowSimd::Base,
        }
    }
}

impl RowPlan {
    /// Builds the records of every tree `plan` describes (the same quadrature sizes).
    pub(crate) fn new(plan: &Plan, model: &Ensemble, simd: Simd) -> RowPlan {
        let mut b = Builder {
            nodes: Vec::new(),
            edges: Vec::new(),
            last: vec![NO_PREV; model.num_features],
        };
        let mut trees = Vec::with_capacity(model.trees.len());
        let mut max_internal = 0;
        for (tp, tree) in plan.trees.iter().zip(&model.trees) {
            let depth = tp.edges.iter().map(|e| e.depth as usize).max().unwrap_or(0);
            let ni = tp.edges.len() / 2;
            if tp.edges.is_empty() {
                trees.push(RowTree::Empty);
            } else if tp.n > FIXED_N || depth > MAX_DEPTH || ni > MAX_INTERNAL || !padded_ok(tree) {
                trees.push(RowTree::Lanes);
            } else {
                max_internal = max_internal.max(ni);
                let node = b.nodes.len();
                b.tree(tree);
                assert_eq!(b.nodes.len() - node, ni, "one record per internal node");
                trees.push(RowTree::Sweep {
                    node,
                    ni,
                    n: tp.n,
                    kind: kind_code(&b.nodes[node..]),
                });
            }
        }
        let quad = (0..=FIXED_N)
            .map(|n| {
                let mut q = Quad::default();
                if n > 0 {
                    let (t, w) = gauss_legendre01(n);
                    for i in 0..FIXED_N {
                        let (ti, wi) = if i < n { (t[i], w[i]) } else { (t[0], 0.0) };
                        q.t[i] = ti;
                        q.w[i] = wi;
                        q.omt[i] = 1.0 - ti;
                        q.nw[i] = -wi / (1.0 - ti);
                    }
                }
                q
            })
            .collect();
        let rp = RowPlan {
            nodes: b.nodes,
            edges: b.edges,
            trees,
            quad,
            max_internal,
            num_features: model.num_features,
            simd: RowSimd::of(simd),
        };
        rp.check();
        rp
    }

    /// Checks every index the sweep reads without bounds checks: slots below `2 ni + 1`,
    /// edge positions below `2 ni`, ancestors before their descendants, features below
    /// the model's count.
    fn check(&self) {
        for rt in &self.trees {
            let RowTree::Sweep { node, ni, .. } = *rt else {
                continue;
            };
            for (i, nd) in self.nodes[node..node + ni].iter().enumerate() {
                assert!(nd.split.feature() < self.num_features);
                assert!(nd.prev == NO_PREV || (nd.prev as usize) < 2 * i);
                assert!(
                    nd.right == NO_CHILD || (i < nd.right as usize && (nd.right as usize) < ni)
                );
                assert!(
                    ((nd.post_l & !LEAF_BIT) as usize) < 2 * ni && (nd.post_r as usize) < 2 * ni
                );
                assert!(nd.post_l & LEAF_BIT != 0 || i + 1 < ni);
            }
            for e in &self.edges[2 * node..2 * (node + ni)] {
                assert!((e.x as usize) < 2 * ni && (e.g as usize) < 2 * ni);
                assert!((e.feature as usize) < self.num_features);
            }
        }
    }
}

/// [`KIND_ANY`], or the code of the one numeric split kind of all of `nodes` (the sweep is
/// then compiled with that kind a constant).
fn kind_code(nodes: &[RowNode]) -> u8 {
    let code = |k: SplitKind| match k {
        SplitKind::XgbNumeric => KIND_XGB,
        SplitKind::LgbNumericNan => KIND_LGB_NAN,
        SplitKind::LgbNumericNone => KIND_LGB_NONE,
        SplitKind::LgbNumericZero => KIND_LGB_ZERO,
        _ => KIND_ANY,
    };
    let first = code(nodes[0].split.kind());
    if nodes.iter().all(|n| code(n.split.kind()) == first) {
        first
    } else {
        KIND_ANY
    }
}

/// [`RowTree::Sweep::kind`]: splits of several or categorical kinds.
const KIND_ANY: u8 = 0;
/// Every split [`SplitKind::XgbNumeric`].
const KIND_XGB: u8 = 1;
/// Every split [`SplitKind::LgbNumericNan`].
const KIND_LGB_NAN: u8 = 2;
/// Every split [`SplitKind::LgbNumericNone`].
const KIND_LGB_NONE: u8 = 3;
/// Every split [`SplitKind::LgbNumericZero`].
const KIND_LGB_ZERO: u8 = 4;

/// True when `x` goes left at `sp`, whose kind is the one `K` names (any for [`KIND_ANY`]).
#[inline(always)]
fn goes_left<const K: u8>(sp: &Split, tree: &Tree, x: f64) -> bool {
    match K {
        KIND_XGB => sp.goes_left_as(SplitKind::XgbNumeric, tree, x),
        KIND_LGB_NAN => sp.goes_left_as(SplitKind::LgbNumericNan, tree, x),
        KIND_LGB_NONE => sp.goes_left_as(SplitKind::LgbNumericNone, tree, x),
        KIND_LGB_ZERO => sp.goes_left_as(SplitKind::LgbNumericZero, tree, x),
        _ => sp.goes_left(tree, x),
    }
}

/// True when the padded lanes of `tree` are proven finite (see the module docs): every
/// local cover ratio in `[0, 1]` and the leaf values' absolute sum below [`MAX_LEAF_SUM`].
fn padded_ok(tree: &Tree) -> bool {
    let mut sum = 0.0;
    for (i, nd) in tree.nodes.iter().enumerate() {
        if nd.is_leaf() {
            sum += nd.value.abs();
        } else {
            for c in [nd.left as usize, nd.right as usize] {
                let z = zero_fraction(tree, i, c);
                if !(0.0..=1.0).contains(&z) {
                    return false;
                }
            }
        }
    }
    sum < MAX_LEAF_SUM
}

/// Builds one tree's records: nodes in pre-order, edges in post-order.
struct Builder {
    nodes: Vec<RowNode>,
    edges: Vec<RowEdge>,
    /// `last[f]`: the nearest ancestor edge on feature `f` (as [`RowNode::prev`]).
    last: Vec<u16>,
}

impl Builder {
    /// Adds the tree's records (internal root, at most [`MAX_INTERNAL`] internal nodes).
    fn tree(&mut self, tree: &Tree) {
        let root = self.nodes.len();
        debug_assert_eq!(self.edges.len(), 2 * root);
        self.visit(tree, 0, root);
    }

    /// Adds internal node `node` and its subtree (`root`: where the tree's nodes start);
    /// returns the node's index from the tree's root.
    fn visit(&mut self, tree: &Tree, node: usize, root: usize) -> u16 {
        let nd = &tree.nodes[node];
        let f = nd.feature as usize;
        let (l, r) = (nd.left as usize, nd.right as usize);
        let (ll, rl) = (tree.nodes[l].is_leaf(), tree.nodes[r].is_leaf());
        let at = self.nodes.len();
        let i = (at - root) as u16;
        let prev = self.last[f];
        self.nodes.push(RowNode {
            split: Split::of(nd),
            zl: zero_fraction(tree, node, l),
            zr: zero_fraction(tree, node, r),
            vl: if ll { tree.nodes[l].value } else { 0.0 },
            vr: if rl { tree.nodes[r].value } else { 0.0 },
            prev,
            right: NO_CHILD,
            post_l: 0,
            post_r: 0,
        });
        let mut post = [0u16; 2];
        for (side, child, leaf) in [(0u16, l, ll), (1, r, rl)] {
            let x = if leaf {
                2 * i
            } else {
                self.last[f] = 2 * i + side;
                let c = self.visit(tree, child, root);
                self.last[f] = prev;
                if side == 1 {
                    self.nodes[at].right = c;
                }
                2 * c + 1
            };
            post[side as usize] = (self.edges.len() - 2 * root) as u16;
            self.edges.push(RowEdge {
                x,
                g: 2 * i + 1,
                feature: f as u32,
            });
        }
        self.nodes[at].post_l = post[0] | if ll { LEAF_BIT } else { 0 };
        self.nodes[at].post_r = post[1];
        i
    }
}

/// Per-call buffers of the single-row sweep (sized by the plan's largest tree, not its
/// size), `N` values per vector.
pub(crate) struct RowScratch {
    /// Vector slots: `A` of internal node `i` at `2 i`, its `G` at `2 i + 1`; slot
    /// `2 ni` takes the products of leaf edges, which nothing reads.
    v: Vec<f64>,
    /// Per edge (post-order): the factor of its `G` (the leaf edge's factor ratio times
    /// the leaf value; 1 for an internal edge).
    m: Vec<f64>,
    /// Per edge (post-order): its selected `c` difference (times `v r` for a leaf edge).
    d: Vec<f64>,
    /// Per node: `F1(Z, t)` of the followed child (`Z` merged along the feature).
    f1: Vec<f64>,
    /// Per node: `c_on(Z, t)` of the followed child.
    ce: Vec<f64>,
    /// Per node: merged cover ratio `Z` of the followed child.
    z: Vec<f64>,
    /// Per edge slot `2 i + side`: all ones when the edge's feature is still on below it.
    on: Vec<u64>,
    /// Lane buffers for the trees the sweep leaves to the lane kernel.
    lanes: Option<(Scratch, Vec<Lane>, Vec<Lane>)>,
}

impl RowScratch {
    /// Buffers for the largest tree of `rp`.
    pub(crate) fn new(rp: &RowPlan) -> RowScratch {
        let ni = rp.max_internal;
        RowScratch {
            v: vec![0.0; (2 * ni + 1) * FIXED_N],
            m: vec![0.0; 2 * ni * FIXED_N],
            d: vec![0.0; 2 * ni * FIXED_N],
            f1: vec![0.0; ni * FIXED_N],
            ce: vec![0.0; ni * FIXED_N],
            z: vec![0.0; ni],
            on: vec![0; 2 * ni],
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
    assert!(x.len() == model.num_features && model.num_features == rp.num_features);
    assert!(phi.len() == model.num_outputs * model.num_features);
    match rp.simd {
        // SAFETY: the CPU supports AVX-512 F/DQ/VL (`RowSimd::of` found them).
        #[cfg(target_arch = "x86_64")]
        RowSimd::Avx512 => unsafe { explain_row_avx512(plan, rp, model, x, s, phi) },
        // SAFETY: the CPU supports AVX2 (`detect_simd` found it, or AVX-512).
        #[cfg(target_arch = "x86_64")]
        RowSimd::Avx2 => unsafe { explain_row_avx2(plan, rp, model, x, s, phi) },
        RowSimd::Base => explain_row_body(plan, rp, model, x, s, phi),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl")]
unsafe fn explain_row_avx512(
    plan: &Plan,
    rp: &RowPlan,
    model: &Ensemble,
    x: &[f64],
    s: &mut RowScratch,
    phi: &mut [f64],
) {
    explain_row_body(plan, rp, model, x, s, phi)
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
        let (node, ni, n, kind) = match *rt {
            RowTree::Empty => continue,
            RowTree::Lanes => {
                one_lane(plan, tp, tree, x, s, ph);
                continue;
            }
            RowTree::Sweep { node, ni, n, kind } => (node, ni, n, kind),
        };
        let nodes = &rp.nodes[node..node + ni];
        let edges = &rp.edges[2 * node..2 * (node + ni)];
        let q = &rp.quad[n];
        macro_rules! by_kind {
            ($n:literal) => {
                match kind {
                    KIND_XGB => sweep::<$n, KIND_XGB>(nodes, edges, q, tree, x, s, ph),
                    KIND_LGB_NAN => sweep::<$n, KIND_LGB_NAN>(nodes, edges, q, tree, x, s, ph),
                    KIND_LGB_NONE => sweep::<$n, KIND_LGB_NONE>(nodes, edges, q, tree, x, s, ph),
                    KIND_LGB_ZERO => sweep::<$n, KIND_LGB_ZERO>(nodes, edges, q, tree, x, s, ph),
                    _ => sweep::<$n, KIND_ANY>(nodes, edges, q, tree, x, s, ph),
                }
            };
        }
        if n <= 4 {
            by_kind!(4)
        } else {
            by_kind!(8)
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

/// The first `N` values of a table.
#[inline(always)]
fn first<const N: usize>(v: &[f64; FIXED_N]) -> [f64; N] {
    v[..N].try_into().expect("N ≤ FIXED_N")
}

/// Vector `slot` of a buffer of `N`-vectors.
///
/// # Safety
/// `(slot + 1) * N` values from `buf` are readable.
#[inline(always)]
unsafe fn ld<const N: usize>(buf: *const f64, slot: usize) -> [f64; N] {
    // SAFETY: in bounds by the caller's guarantee; `[f64; N]` needs no more alignment.
    unsafe { buf.add(slot * N).cast::<[f64; N]>().read() }
}

/// Stores vector `slot` of a buffer of `N`-vectors.
///
/// # Safety
/// `(slot + 1) * N` values from `buf` are writable.
#[inline(always)]
unsafe fn st<const N: usize>(buf: *mut f64, slot: usize, v: [f64; N]) {
    // SAFETY: as for `ld`.
    unsafe { buf.add(slot * N).cast::<[f64; N]>().write(v) }
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

/// The two coefficients of an edge with factor ratio `r` and `c` difference `d` the upward
/// pass reads: `(v r, d (v r))` for a leaf edge (value `v`), as [`Plan::new`] scales them,
/// `(1, d)` for an internal edge (`leaf` all ones or zero).
#[inline(always)]
fn edge_coef<const N: usize>(
    leaf: u64,
    r: &[f64; N],
    d: &[f64; N],
    v: f64,
) -> ([f64; N], [f64; N]) {
    let (mut rv, mut dv) = ([0.0; N], [0.0; N]);
    for q in 0..N {
        dv[q] = d[q] * (v * r[q]);
        rv[q] = r[q] * v;
    }
    (pick(leaf, &rv, &[1.0; N]), pick(leaf, &dv, d))
}

/// One tree for one row (`N` padded quadrature points): `nodes` in pre-order, `edges` in
/// post-order, both checked by [`RowPlan::check`].
///
/// The downward pass decides each split, selects both child edges' coefficients and
/// computes the children's `A`; the upward pass adds each edge's term and passes its `G`
/// up (see the module docs).
#[inline(always)]
fn sweep<const N: usize, const K: u8>(
    nodes: &[RowNode],
    edges: &[RowEdge],
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
    let ni = nodes.len();
    assert!(
        edges.len() == 2 * ni
            && s.v.len() >= (2 * ni + 1) * N
            && s.m.len() >= 2 * ni * N
            && s.d.len() >= 2 * ni * N
            && s.f1.len() >= ni * N
            && s.ce.len() >= ni * N
            && s.z.len() >= ni
            && s.on.len() >= 2 * ni
    );

    let (v, mb, db) = (s.v.as_mut_ptr(), s.m.as_mut_ptr(), s.d.as_mut_ptr());
    let (sf1, sce) = (s.f1.as_mut_ptr(), s.ce.as_mut_ptr());
    let (sz, son) = (s.z.as_mut_ptr(), s.on.as_mut_ptr());
    let (xp, php) = (x.as_ptr(), phi.as_mut_ptr());
    let sink = 2 * ni;
    // SAFETY (all unchecked accesses below): the buffers hold the lengths asserted above;
    // `RowPlan::check` bounds every slot by `2 ni + 1`, every edge position by `2 ni`,
    // every node index by `ni`, `prev` by `2 i`, and features by the length of `x` and
    // `phi` (asserted in `explain_row`).
    unsafe {
        st::<N>(v, 0, [1.0; N]);
        for (i, nd) in nodes.iter().enumerate() {
            let a: [f64; N] = ld(v, 2 * i);
            st::<N>(v, 2 * i + 1, [-0.0; N]);
            let sp = &nd.split;
            let dec = goes_left::<K>(sp, tree, *xp.add(sp.feature()));
            let mask = (dec as u64).wrapping_neg();
            // the followed child's edge is "on", the other's "turned off here"
            let zf = pick1(mask, nd.zl, nd.zr);
            let zo = pick1(mask, nd.zr, nd.zl);
            let (rl, dl, rr, dr);
            if nd.prev == NO_PREV {
                let omz = 1.0 - zf;
                let (mut f1, mut ce, mut f0) = ([0.0; N], [0.0; N], [0.0; N]);
                for q in 0..N {
                    f1[q] = zf + t[q] * omz;
                    ce[q] = omz * w[q] / f1[q];
                    f0[q] = zo * omt[q];
                }
                *sz.add(i) = zf;
                st(sf1, i, f1);
                st(sce, i, ce);
                *son.add(2 * i) = mask;
                *son.add(2 * i + 1) = !mask;
                rl = pick(mask, &f1, &f0);
                dl = pick(mask, &ce, &nw);
                rr = pick(mask, &f0, &f1);
                dr = pick(mask, &nw, &ce);
            } else {
                // an ancestor splits on the feature: "already off" unless its edge is on
                let p = nd.prev as usize;
                let on = *son.add(p);
                let anc = p / 2;
                let zp = *sz.add(anc);
                let fp: [f64; N] = ld(sf1, anc);
                let cp: [f64; N] = ld(sce, anc);
                let (zf, zo) = (zp * zf, zp * zo);
                let omz = 1.0 - zf;
                let (mut f1, mut ce) = ([0.0; N], [0.0; N]);
                let (mut r_f, mut d_f, mut r_o, mut d_o) = ([0.0; N], [0.0; N], [0.0; N], [0.0; N]);
                for q in 0..N {
                    f1[q] = zf + t[q] * omz;
                    ce[q] = omz * w[q] / f1[q];
                    let f0 = zo * omt[q];
                    r_f[q] = f1[q] / fp[q];
                    d_f[q] = ce[q] - cp[q];
                    r_o[q] = f0 / fp[q];
                    d_o[q] = nw[q] - cp[q];
                }
                *sz.add(i) = zf;
                st(sf1, i, f1);
                st(sce, i, ce);
                *son.add(2 * i) = on & mask;
                *son.add(2 * i + 1) = on & !mask;
                rl = pick(on, &pick(mask, &r_f, &r_o), &[nd.zl; N]);
                dl = pick(on, &pick(mask, &d_f, &d_o), &[0.0; N]);
                rr = pick(on, &pick(mask, &r_o, &r_f), &[nd.zr; N]);
                dr = pick(on, &pick(mask, &d_o, &d_f), &[0.0; N]);
            }
            let lleaf = nd.post_l & LEAF_BIT != 0;
            let rleaf = nd.right == NO_CHILD;
            let (pl, pr) = ((nd.post_l & !LEAF_BIT) as usize, nd.post_r as usize);
            let (mut al, mut ar) = ([0.0; N], [0.0; N]);
            for q in 0..N {
                al[q] = a[q] * rl[q];
                ar[q] = a[q] * rr[q];
            }
            st(v, if lleaf { sink } else { 2 * (i + 1) }, al);
            st(v, if rleaf { sink } else { 2 * nd.right as usize }, ar);
            let (ml, dlv) = edge_coef((lleaf as u64).wrapping_neg(), &rl, &dl, nd.vl);
            let (mr, drv) = edge_coef((rleaf as u64).wrapping_neg(), &rr, &dr, nd.vr);
            st(mb, pl, ml);
            st(db, pl, dlv);
            st(mb, pr, mr);
            st(db, pr, drv);
        }
        for (e, ed) in edges.iter().enumerate() {
            let xv: [f64; N] = ld(v, ed.x as usize);
            let m: [f64; N] = ld(mb, e);
            let d: [f64; N] = ld(db, e);
            let g = ed.g as usize;
            let mut gp: [f64; N] = ld(v, g);
            for q in 0..N {
                gp[q] += xv[q] * m[q];
            }
            st(v, g, gp);
            *php.add(ed.feature as usize) += dot(&xv, &d);
        }
    }
}
