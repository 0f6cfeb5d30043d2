//! The fast path of [`super::path_dependent`]: Linear TreeSHAP (Bifet et al. 2022) with
//! Gauss–Legendre quadrature, evaluated for [`LANES`] rows at once.
//!
//! ## Algorithm
//! With the notation of the module docs of [`super`], write
//! `F_g(t) = Z_g + t (O_g - Z_g)` for the merged factor of feature `g` on a path and
//! `A_l(t) = ∏_{g∈P_l} F_g(t)` for leaf `l`. Then
//!
//! `φ_i = Σ_e ∫₀¹ c_e(t) H_e(t) dt`, with `c_e(t) = (O_e - Z_e) / F_e(t)`, over the edges `e` splitting on `i`,
//!
//! where `H_e = Σ v_l A_l` over the leaves `l` below `e` for which `e` is the *last* split on
//! `i` (their merged factor for `i` is `F_e`). With `G_e = Σ_{l below e} v_l A_l`,
//! `H_e = G_e - Σ G_e'` over the next splits `e'` on `i` below `e`, so
//! `φ_i = Σ_e ∫ G_e (c_e - c_prev(e))`, `prev(e)` being the nearest split on `i` above `e`
//! (`c = 0` when there is none). One depth-first sweep computes every `A` on the way down
//! (each edge multiplies its parent's product by `F_new / F_old`), `G` on the way up, and
//! each edge's term when it closes: `O(nodes × n)` work per row and tree, with `n = ⌈D/2⌉`
//! quadrature points for `D` distinct features per path, against `O(leaves × D²)` for
//! Lundberg's algorithm.
//!
//! No division happens per row: `O ∈ {0,1}`, so an edge is in one of three states — feature
//! still on, turned off here, or already off above — and both its factor ratio and its
//! `c_e - c_prev` at each quadrature point are one of three values precomputed per model
//! (the third being the local cover ratio and 0). A state is picked by multiplying with
//! exact 0/1 masks. A zero cover gives a factor that is identically zero; the products below
//! it are then exactly zero and so are their terms, which is the exact answer.
//!
//! ## Layout
//! The sweep's control flow depends only on the tree, so [`LANES`] rows run through it
//! together, one SIMD lane each (`[f64; LANES]` arithmetic). A row block walks tree by tree
//! over all its lane groups, so each tree's precomputed edges stay in cache. The kernel is
//! compiled for AVX-512 and AVX2 as well and picked at run time; no fused multiply-add is
//! used, so every variant gives bit-identical results.

// Lane and quadrature loops are written with indices on purpose: fixed-size
// `[f64; LANES]` index loops are what the compiler turns into SIMD code.
#![allow(clippy::needless_range_loop)]

use super::quadrature::gauss_legendre01;
use super::{
    block_rows, detect_simd, fill_base, for_row_blocks, zero_fraction, DisjointOut, ShapValues,
    Simd,
};
use crate::{Ensemble, Matrix, Node, Result, RunControl, SplitKind, Tree};

/// Rows evaluated together, one per SIMD lane.
pub(crate) const LANES: usize = 32;
/// One value per lane.
pub(crate) type Lane = [f64; LANES];

pub(super) const NO_PREV: u16 = u16::MAX;
pub(super) const IS_LEFT: u8 = 1;
pub(super) const IS_LEAF: u8 = 2;
pub(super) const FIRST: u8 = 4;

/// One edge (parent → child) of a tree, in depth-first pre-order.
#[derive(Clone, Debug)]
pub(super) struct EdgeRec {
    /// Parent node index (whose decision the edge follows).
    pub(super) parent: u32,
    /// Feature of the parent's split.
    pub(super) feature: u32,
    /// Depth of the child (root = 0).
    pub(super) depth: u16,
    /// Depth of the nearest ancestor edge that splits on the same feature, or [`NO_PREV`].
    pub(super) prev: u16,
    /// [`IS_LEFT`], [`IS_LEAF`], [`FIRST`] (the parent's first child in pre-order).
    pub(super) flags: u8,
    /// Offset in [`TreePlan::coef`] of four `n`-vectors (see [`Plan::new`]).
    pub(super) coef: u32,
    /// Factor ratio when the feature is already off (the local cover ratio); times the
    /// leaf value for leaf edges.
    pub(super) z: f64,
}

/// What deciding a split reads of its [`Node`], in a third of the space.
#[derive(Clone, Debug)]
pub(super) struct Split {
    threshold: f64,
    feature: u32,
    cat_offset: u32,
    cat_words: u32,
    kind: SplitKind,
    default_left: bool,
}

impl Split {
    pub(super) fn of(n: &Node) -> Split {
        Split {
            threshold: n.threshold,
            feature: n.feature,
            cat_offset: n.cat_offset,
            cat_words: n.cat_words,
            kind: n.kind,
            default_left: n.default_left,
        }
    }

    /// Feature the split tests.
    #[inline(always)]
    pub(super) fn feature(&self) -> usize {
        self.feature as usize
    }

    /// True when `x` goes left, by [`Tree::goes_left`] itself.
    #[inline(always)]
    pub(super) fn goes_left(&self, tree: &Tree, x: f64) -> bool {
        self.goes_left_as(self.kind, tree, x)
    }

    /// Kind of the split.
    pub(super) fn kind(&self) -> SplitKind {
        self.kind
    }

    /// [`Split::goes_left`] with the split's kind given by the caller, who knows it (a
    /// constant then folds `goes_left` to one comparison); `kind` must be [`Split::kind`].
    #[inline(always)]
    pub(super) fn goes_left_as(&self, kind: SplitKind, tree: &Tree, x: f64) -> bool {
        debug_assert!(kind == self.kind);
        let node = Node {
            left: 0,
            right: 0,
            feature: self.feature,
            kind,
            default_left: self.default_left,
            threshold: self.threshold,
            cat_offset: self.cat_offset,
            cat_words: self.cat_words,
            value: 0.0,
            cover: 0.0,
            gain: 0.0,
        };
        tree.goes_left(&node, x)
    }
}

/// Precomputed sweep of one tree.
#[derive(Clone, Debug)]
pub(super) struct TreePlan {
    /// The edges in depth-first pre-order.
    pub(super) edges: Vec<EdgeRec>,
    /// Four `n`-vectors per edge (see [`Plan::new`]).
    pub(super) coef: Vec<f64>,
    /// Internal nodes (whose decisions the lane sweep precomputes).
    internal: Vec<u32>,
    /// Quadrature points for this tree.
    pub(super) n: usize,
    /// Output the tree adds to.
    pub(super) output: usize,
}

/// Precomputed sweeps of a whole model: everything the path-dependent kernels need that
/// depends on the model alone (built once per model, see [`super::Prepared`]).
pub(crate) struct Plan {
    pub(super) trees: Vec<TreePlan>,
    pub(super) max_depth: usize,
    pub(super) max_n: usize,
    max_nodes: usize,
    /// True when every coefficient is finite: then selecting an edge's state is
    /// bit-identical to the lane kernels' multiplication by 0/1 masks (see
    /// `super::linear_row`), which the single-row sweep relies on.
    pub(super) finite: bool,
}

impl Plan {
    /// Per edge with merged cover ratio `Z_e`, previous merged ratio `Z_p` (1 and no `c_p`
    /// when none), `F1(Z,t) = Z + t(1-Z)`, `F0(Z,t) = Z(1-t)`, `c_on(Z,t) = (1-Z) w / F1(Z,t)`,
    /// `c_off(t) = -w / (1-t)`, the four vectors over the quadrature points are:
    /// internal edges `[r_on, d_on, r_off, d_off]` = `[F1(Z_e)/F1(Z_p), c_on(Z_e) - c_on(Z_p),
    /// F0(Z_e)/F1(Z_p), c_off - c_on(Z_p)]`; leaf edges (value `v`)
    /// `[v r_on, v r_on d_on, v r_off, v r_off d_off]`. The order puts what one state reads
    /// (`r` and `d` of "on", or of "turned off here") side by side, and each tree's
    /// coefficients start on a cache line, so a single row's sweep touches half of them.
    pub(crate) fn new(model: &Ensemble) -> Plan {
        let mut trees = Vec::with_capacity(model.trees.len());
        let mut max_depth = 0;
        let mut max_n = 1;
        let mut last = vec![(NO_PREV, 1.0f64); model.num_features];
        let mut quad: Vec<Option<(Vec<f64>, Vec<f64>)>> = vec![None];
        for (tree, &k) in model.trees.iter().zip(&model.tree_output) {
            let mut tmp = Vec::new();
            let mut uniq_max = 0;
            if !tree.nodes[0].is_leaf() {
                build(tree, 0, 0, 0, &mut last, &mut tmp, &mut uniq_max);
            }
            let n = uniq_max.div_ceil(2).max(1);
            while quad.len() <= n {
                quad.push(None);
            }
            let (t, w) = quad[n].get_or_insert_with(|| gauss_legendre01(n)).clone();
            let mut edges = Vec::with_capacity(tmp.len());
            let mut coef = Vec::with_capacity(tmp.len() * 4 * n);
            let f1 = |z: f64, t: f64| z + t * (1.0 - z);
            let f0 = |z: f64, t: f64| z * (1.0 - t);
            let c_on = |z: f64, t: f64, w: f64| (1.0 - z) * w / f1(z, t);
            for (mut e, z_e, z_prev, value) in tmp {
                e.coef = coef.len() as u32;
                max_depth = max_depth.max(e.depth as usize);
                let (mut r_on, mut r_off, mut d_on, mut d_off) = (vec![], vec![], vec![], vec![]);
                for (&tq, &wq) in t.iter().zip(&w) {
                    let (fp, cp) = match z_prev {
                        Some(zp) => (f1(zp, tq), c_on(zp, tq, wq)),
                        None => (1.0, 0.0),
                    };
                    r_on.push(f1(z_e, tq) / fp);
                    r_off.push(f0(z_e, tq) / fp);
                    d_on.push(c_on(z_e, tq, wq) - cp);
                    d_off.push(-wq / (1.0 - tq) - cp);
                }
                if e.flags & IS_LEAF != 0 {
                    for q in 0..n {
                        d_on[q] *= value * r_on[q];
                        d_off[q] *= value * r_off[q];
                        r_on[q] *= value;
                        r_off[q] *= value;
                    }
                    e.z *= value;
                }
                coef.extend(r_on.into_iter().chain(d_on).chain(r_off).chain(d_off));
                edges.push(e);
            }
            max_n = max_n.max(n);
            let internal = (0..tree.nodes.len() as u32)
                .filter(|&i| !tree.nodes[i as usize].is_leaf())
                .collect();
            // start the coefficients on a cache line (64 bytes = 8 values)
            let mut aligned = Vec::with_capacity(coef.len() + 8);
            let pad = (64 - aligned.as_ptr() as usize % 64) % 64 / 8;
            aligned.resize(pad, 0.0);
            aligned.extend_from_slice(&coef);
            for e in &mut edges {
                e.coef += pad as u32;
            }
            trees.push(TreePlan {
                edges,
                coef: aligned,
                internal,
                n,
                output: k as usize,
            });
        }
        let max_nodes = model.trees.iter().map(|t| t.nodes.len()).max().unwrap_or(0);
        let finite = trees.iter().all(|t| {
            t.coef.iter().all(|c| c.is_finite()) && t.edges.iter().all(|e| e.z.is_finite())
        });
        Plan {
            trees,
            max_depth,
            max_n,
            max_nodes,
            finite,
        }
    }
}

/// Pre-order walk collecting edges with their merged cover ratio, the previous one and
/// the child's value. `last[f]` holds (depth, merged Z) of the nearest ancestor edge on `f`.
#[allow(clippy::type_complexity)]
fn build(
    tree: &Tree,
    node: usize,
    depth: u16,
    uniq: usize,
    last: &mut [(u16, f64)],
    out: &mut Vec<(EdgeRec, f64, Option<f64>, f64)>,
    uniq_max: &mut usize,
) {
    let nd = &tree.nodes[node];
    let f = nd.feature as usize;
    let saved = last[f];
    let uniq = if saved.0 == NO_PREV { uniq + 1 } else { uniq };
    *uniq_max = (*uniq_max).max(uniq);
    for (child, is_left) in [(nd.left as usize, true), (nd.right as usize, false)] {
        let z = zero_fraction(tree, node, child);
        let (prev, z_prev) = if saved.0 == NO_PREV {
            (NO_PREV, None)
        } else {
            (saved.0, Some(saved.1))
        };
        let z_e = z_prev.unwrap_or(1.0) * z;
        let c = &tree.nodes[child];
        let flags =
            if is_left { IS_LEFT | FIRST } else { 0 } | if c.is_leaf() { IS_LEAF } else { 0 };
        out.push((
            EdgeRec {
                parent: node as u32,
                feature: f as u32,
                depth: depth + 1,
                prev,
                flags,
                coef: 0,
                z,
            },
            z_e,
            z_prev,
            c.value,
        ));
        if !c.is_leaf() {
            last[f] = (depth + 1, z_e);
            build(tree, child, depth + 1, uniq, last, out, uniq_max);
            last[f] = saved;
        }
    }
}

/// Per-thread buffers.
pub(crate) struct Scratch {
    a: Vec<Lane>,
    g: Vec<Lane>,
    on: Vec<Lane>,
    offon: Vec<Lane>,
    open: Vec<u32>,
    dec: Vec<Lane>,
    rows: Vec<f64>,
    xt: Vec<Lane>,
    phi: Vec<Lane>,
    /// The CPU has what [`decide_all_avx512`] needs.
    avx512: bool,
}

impl Scratch {
    /// Buffers sized for `plan`'s deepest and largest tree.
    pub(crate) fn new(plan: &Plan) -> Scratch {
        let d = plan.max_depth + 1;
        let z = [0.0; LANES];
        Scratch {
            a: vec![z; d * plan.max_n],
            g: vec![z; d * plan.max_n],
            on: vec![z; d],
            offon: vec![z; d],
            open: vec![0; d],
            dec: vec![z; plan.max_nodes],
            rows: Vec::new(),
            xt: Vec::new(),
            phi: Vec::new(),
            avx512: avx512_decisions(),
        }
    }
}

/// True when [`decide_all_avx512`] can run: AVX-512 F, VL, DQ and BW (and `ARROWSHAP_NO_SIMD`
/// unset).
fn avx512_decisions() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        matches!(detect_simd(), Simd::Avx512)
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `dec[i]` = [`decide`] at every internal node `i` of `tp`, with AVX-512 comparisons into
/// mask registers for the numeric split kinds (the portable form compares lane by lane and
/// stores each 0/1 on its own, which the vector loads that follow cannot forward from);
/// other kinds go to [`decide`]. The same decisions as [`Tree::goes_left`] (`x as f32`
/// rounds to nearest, NaN takes the default side).
///
/// # Safety
/// The CPU must have AVX-512 F, VL, DQ and BW ([`avx512_decisions`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw")]
unsafe fn decide_all_avx512(tp: &TreePlan, tree: &Tree, xg: &[Lane], dec: &mut [Lane]) {
    use super::background::bits::{le_f64_x8, lt_f32_x8};
    use std::arch::x86_64::*;
    let one = _mm512_set1_pd(1.0);
    for &i in &tp.internal {
        let node = &tree.nodes[i as usize];
        let x = &xg[node.feature as usize];
        let p = x.as_ptr();
        let dl = node.default_left;
        let bits = |c: usize| -> Option<u8> {
            let p = p.add(8 * c);
            match node.kind {
                SplitKind::XgbNumeric => Some(lt_f32_x8(p, node.threshold as f32, dl)),
                SplitKind::LgbNumericNan => Some(le_f64_x8(p, node.threshold, dl)),
                SplitKind::LgbNumericNone => {
                    Some(le_f64_x8(p, node.threshold, 0.0 <= node.threshold))
                }
                _ => None,
            }
        };
        if bits(0).is_none() {
            dec[i as usize] = decide(tree, node, x);
            continue;
        }
        let d = &mut dec[i as usize];
        for c in 0..LANES / 8 {
            let b = bits(c).unwrap_or(0);
            _mm512_storeu_pd(d.as_mut_ptr().add(8 * c), _mm512_maskz_mov_pd(b, one));
        }
    }
}

/// 1.0 in the lanes whose value goes left at `node`, else 0.0, decided by [`Tree::goes_left`].
#[inline(always)]
fn decide_lanes(tree: &Tree, node: &Node, x: &Lane) -> Lane {
    let mut d = [0.0; LANES];
    for l in 0..LANES {
        d[l] = if tree.goes_left(node, x[l]) { 1.0 } else { 0.0 };
    }
    d
}

/// [`decide_lanes`], with the numeric split kinds made compile-time constants (a copy of
/// the node with a literal `kind`) so that `goes_left` folds to a vectorisable comparison.
#[inline(always)]
pub(crate) fn decide(tree: &Tree, node: &Node, x: &Lane) -> Lane {
    match node.kind {
        SplitKind::XgbNumeric => decide_lanes(
            tree,
            &Node {
                kind: SplitKind::XgbNumeric,
                ..node.clone()
            },
            x,
        ),
        SplitKind::LgbNumericNan => decide_lanes(
            tree,
            &Node {
                kind: SplitKind::LgbNumericNan,
                ..node.clone()
            },
            x,
        ),
        SplitKind::LgbNumericNone => decide_lanes(
            tree,
            &Node {
                kind: SplitKind::LgbNumericNone,
                ..node.clone()
            },
            x,
        ),
        SplitKind::LgbNumericZero => decide_lanes(
            tree,
            &Node {
                kind: SplitKind::LgbNumericZero,
                ..node.clone()
            },
            x,
        ),
        _ => decide_lanes(tree, node, x),
    }
}

/// Sweeps one tree for one lane group. `s.dec` holds the group's decisions at every internal
/// node; `phi[f]` (already offset to the tree's output) accumulates SHAP values.
#[inline(always)]
fn sweep(tp: &TreePlan, s: &mut Scratch, phi: &mut [Lane]) {
    let n = tp.n;
    for q in 0..n {
        s.a[q] = [1.0; LANES];
    }
    let mut cur = 0usize;
    for (ei, e) in tp.edges.iter().enumerate() {
        let d = e.depth as usize;
        while cur >= d {
            close(tp, s, phi, cur);
            cur -= 1;
        }
        if e.prev == NO_PREV {
            open_edge::<false>(tp, e, ei, d, s, phi);
        } else {
            open_edge::<true>(tp, e, ei, d, s, phi);
        }
        if e.flags & IS_LEAF == 0 {
            cur = d;
        }
    }
    while cur >= 1 {
        close(tp, s, phi, cur);
        cur -= 1;
    }
}

/// Opens edge `e` (index `ei`, child depth `d`): a leaf edge adds its term and its `G` at
/// once; an internal edge computes the child's products and stays open until its subtree
/// is done. `PREV` is false when no ancestor splits on the same feature (the feature is
/// then never "already off", and that term is compiled out).
#[inline(always)]
fn open_edge<const PREV: bool>(
    tp: &TreePlan,
    e: &EdgeRec,
    ei: usize,
    d: usize,
    s: &mut Scratch,
    phi: &mut [Lane],
) {
    let n = tp.n;
    let dp = s.dec[e.parent as usize];
    let oold = if PREV {
        s.on[e.prev as usize]
    } else {
        [1.0; LANES]
    };
    let mut o = dp;
    if e.flags & IS_LEFT == 0 {
        for l in 0..LANES {
            o[l] = 1.0 - dp[l];
        }
    }
    let (mut on, mut offon, mut off) = ([0.0; LANES], [0.0; LANES], [0.0; LANES]);
    for l in 0..LANES {
        on[l] = oold[l] * o[l];
        offon[l] = oold[l] - on[l];
        off[l] = 1.0 - oold[l];
    }
    let c = e.coef as usize;
    let cf = &tp.coef[c..c + 4 * n];
    let z = e.z;
    if e.flags & IS_LEAF != 0 {
        let first = e.flags & FIRST != 0;
        let mut acc = [0.0; LANES];
        for q in 0..n {
            let ap = s.a[(d - 1) * n + q];
            let (r_on, d_on, r_off, d_off) = (cf[q], cf[n + q], cf[2 * n + q], cf[3 * n + q]);
            let gp = &mut s.g[(d - 1) * n + q];
            for l in 0..LANES {
                let mut r = on[l] * r_on + offon[l] * r_off;
                if PREV {
                    r += off[l] * z;
                }
                let g = ap[l] * r;
                acc[l] += ap[l] * (on[l] * d_on + offon[l] * d_off);
                gp[l] = if first { g } else { gp[l] + g };
            }
        }
        let p = &mut phi[e.feature as usize];
        for l in 0..LANES {
            p[l] += acc[l];
        }
    } else {
        for q in 0..n {
            let ap = s.a[(d - 1) * n + q];
            let (r_on, r_off) = (cf[q], cf[2 * n + q]);
            let an = &mut s.a[d * n + q];
            for l in 0..LANES {
                let mut r = on[l] * r_on + offon[l] * r_off;
                if PREV {
                    r += off[l] * z;
                }
                an[l] = ap[l] * r;
            }
        }
        s.on[d] = on;
        s.offon[d] = offon;
        s.open[d] = ei as u32;
    }
}

/// Closes the open internal edge at depth `d`: adds its term and passes its `G` up.
#[inline(always)]
fn close(tp: &TreePlan, s: &mut Scratch, phi: &mut [Lane], d: usize) {
    let n = tp.n;
    let e = &tp.edges[s.open[d] as usize];
    let c = e.coef as usize;
    let cf = &tp.coef[c..c + 4 * n];
    let (on, offon) = (s.on[d], s.offon[d]);
    let first = e.flags & FIRST != 0;
    let mut acc = [0.0; LANES];
    for q in 0..n {
        let g = s.g[d * n + q];
        let (d_on, d_off) = (cf[n + q], cf[3 * n + q]);
        let gp = &mut s.g[(d - 1) * n + q];
        for l in 0..LANES {
            acc[l] += g[l] * (on[l] * d_on + offon[l] * d_off);
            gp[l] = if first { g[l] } else { gp[l] + g[l] };
        }
    }
    let p = &mut phi[e.feature as usize];
    for l in 0..LANES {
        p[l] += acc[l];
    }
}

/// Transposes `nrows` row-major rows (`m` values each) into lane groups: `xt[grp*m + f][l]`.
/// Lanes past the last row hold 0.0.
pub(crate) fn to_lanes(rows: &[f64], nrows: usize, m: usize, xt: &mut Vec<Lane>) {
    let groups = nrows.div_ceil(LANES);
    xt.clear();
    xt.resize(groups * m, [0.0; LANES]);
    for r in 0..nrows {
        let (grp, l) = (r / LANES, r % LANES);
        for f in 0..m {
            xt[grp * m + f][l] = rows[r * m + f];
        }
    }
}

/// One tree for one lane group (`xg[f]` = feature `f` of its rows): the decisions at
/// every internal node, then the sweep; `phi` is the tree's output slice.
#[inline(always)]
pub(super) fn tree_lanes(
    tp: &TreePlan,
    tree: &Tree,
    xg: &[Lane],
    s: &mut Scratch,
    phi: &mut [Lane],
) {
    #[cfg(target_arch = "x86_64")]
    if s.avx512 {
        // SAFETY: `s.avx512` says the CPU has the features.
        unsafe { decide_all_avx512(tp, tree, xg, &mut s.dec) };
        sweep(tp, s, phi);
        return;
    }
    for &i in &tp.internal {
        let nd = &tree.nodes[i as usize];
        s.dec[i as usize] = decide(tree, nd, &xg[nd.feature as usize]);
    }
    sweep(tp, s, phi);
}

/// All trees over all lane groups of a block: `phi[grp*k*m + output*m + f]`.
#[inline(always)]
fn block_kernel(
    plan: &Plan,
    model: &Ensemble,
    xt: &[Lane],
    groups: usize,
    s: &mut Scratch,
    phi: &mut [Lane],
) {
    let m = model.num_features;
    let km = model.num_outputs * m;
    for (tp, tree) in plan.trees.iter().zip(&model.trees) {
        if tp.edges.is_empty() {
            continue;
        }
        for grp in 0..groups {
            let xg = &xt[grp * m..(grp + 1) * m];
            let ph = &mut phi[grp * km + tp.output * m..grp * km + (tp.output + 1) * m];
            tree_lanes(tp, tree, xg, s, ph);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn block_kernel_avx512(
    plan: &Plan,
    model: &Ensemble,
    xt: &[Lane],
    groups: usize,
    s: &mut Scratch,
    phi: &mut [Lane],
) {
    block_kernel(plan, model, xt, groups, s, phi)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn block_kernel_avx2(
    plan: &Plan,
    model: &Ensemble,
    xt: &[Lane],
    groups: usize,
    s: &mut Scratch,
    phi: &mut [Lane],
) {
    block_kernel(plan, model, xt, groups, s, phi)
}

/// Explains `nrows` rows given row-major in `rows` (`nrows × m` values) with the lane
/// kernel: `phi[grp*k*m + output*m + f][lane]` after the call (groups of [`LANES`] rows).
pub(crate) fn lanes_block(
    plan: &Plan,
    model: &Ensemble,
    simd: Simd,
    rows: &[f64],
    nrows: usize,
    s: &mut Scratch,
    phi: &mut Vec<Lane>,
) {
    let m = model.num_features;
    let km = model.num_outputs * m;
    let mut xt = std::mem::take(&mut s.xt);
    to_lanes(rows, nrows, m, &mut xt);
    let groups = nrows.div_ceil(LANES);
    phi.clear();
    phi.resize(groups * km, [0.0; LANES]);
    match simd {
        // SAFETY: the CPU supports the enabled features (checked by `detect_simd`).
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { block_kernel_avx512(plan, model, &xt, groups, s, phi) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { block_kernel_avx2(plan, model, &xt, groups, s, phi) },
        Simd::Base => block_kernel(plan, model, &xt, groups, s, phi),
    }
    s.xt = xt;
}

/// Path-dependent SHAP values with a prepared plan (input already checked); `base` is
/// the model's expected value per output.
pub(crate) fn path_dependent(
    plan: &Plan,
    base: &[f64],
    model: &Ensemble,
    x: &Matrix,
    ctl: &RunControl,
) -> Result<ShapValues> {
    let rows = x.rows();
    let m = model.num_features;
    let k = model.num_outputs;
    let simd = detect_simd();
    let mut values = crate::limits::zeroed("the SHAP values", &[m + 1, rows, k])?;
    let out = DisjointOut::new(&mut values);
    let block = block_rows(rows, ctl, LANES, 256);
    let km = k * m;
    for_row_blocks(
        rows,
        block,
        ctl,
        || Scratch::new(plan),
        |s, start, nrows| {
            let mut rows_buf = std::mem::take(&mut s.rows);
            rows_buf.resize(nrows * m, 0.0);
            x.gather_rows(start, &mut rows_buf);
            let mut phi = std::mem::take(&mut s.phi);
            lanes_block(plan, model, simd, &rows_buf, nrows, s, &mut phi);
            for j in 0..m {
                for r in 0..nrows {
                    let (grp, l) = (r / LANES, r % LANES);
                    for kk in 0..k {
                        // SAFETY: rows start..start+nrows belong to this block only.
                        unsafe {
                            out.write(
                                j * rows * k + (start + r) * k + kk,
                                phi[grp * km + kk * m + j][l],
                            )
                        };
                    }
                }
            }
            s.rows = rows_buf;
            s.phi = phi;
        },
    )?;
    fill_base(&mut values, rows, m, base);
    Ok(ShapValues {
        rows,
        outputs: k,
        features: m,
        values,
    })
}
