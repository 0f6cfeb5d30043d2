//! The fast path of [`super::path_dependent`]: Linear TreeSHAP (Bifet et al. 2022) with
//! Gauss–Legendre quadrature, evaluated for [`LANES`] rows at once.
//!
//! ## Algorithm
//! With the notation of the module docs of [`super`], write
//! `F_g(t) = Z_g + t (O_g - Z_g)` for the merged factor of feature `g` on a path and
//! `A_l(t) = ∏_{g∈P_l} F_g(t)` for leaf `l`. Then
//!
//! `φ_i = Σ_e (O_e - Z_e) ∫₀¹ H_e(t) / F_e(t) dt`, summed over the edges `e` that split on `i`,
//!
//! where `H_e = Σ v_l A_l` over the leaves `l` below `e` for which `e` is the *last* split on
//! `i` (their merged factor for `i` is `F_e`). `H_e` is the subtree sum `G_e = Σ_{l below e} v_l A_l`
//! minus the `G` of the next splits on `i` below `e`. One depth-first sweep computes every
//! `A` on the way down (each edge multiplies its parent's product by `F_new / F_old`),
//! `G` on the way up, and each edge's contribution when it closes: `O(nodes × n)` work per
//! row and tree, with `n = ⌈D/2⌉` quadrature points for `D` distinct features per path,
//! against `O(leaves × D²)` for Lundberg's algorithm.
//!
//! No division happens per row: because `O ∈ {0,1}`, each edge's factor ratio is one of
//! three values precomputed per model (`F1_e/F1_prev`, `F0_e/F1_prev`, or the local cover
//! ratio when the feature was already off), and so is `(O_e - Z_e) w_q / F_e(t_q)`.
//! A zero cover gives a factor that is identically zero; the products below it are then
//! exactly zero and so are all their contributions, which is the exact answer.
//!
//! ## Layout
//! The sweep's control flow depends only on the tree, so [`LANES`] rows run through it
//! together, one SIMD lane each (`[f64; LANES]` arithmetic, branch-free selects). A row block
//! walks tree by tree over all its lane groups, so each tree's precomputed edges stay in cache.

use super::quadrature::gauss_legendre01;
use super::{block_rows, fill_base, for_row_blocks, zero_fraction, DisjointOut, ShapValues};
use crate::{Ensemble, Matrix, Node, Result, RunControl, Tree};

/// Rows evaluated together, one per SIMD lane.
pub(crate) const LANES: usize = 8;
/// One value per lane.
pub(crate) type Lane = [f64; LANES];

const NO_PREV: u16 = u16::MAX;

/// One edge (parent → child) of a tree, in depth-first pre-order.
#[derive(Clone, Debug)]
struct EdgeRec {
    /// Child node index.
    node: u32,
    /// Feature of the parent's split.
    feature: u32,
    /// Depth of the child (root = 0).
    depth: u16,
    /// Depth of the nearest ancestor edge that splits on the same feature, or [`NO_PREV`].
    prev: u16,
    /// True for the parent's left child.
    is_left: bool,
    /// True when the child is a leaf.
    is_leaf: bool,
    /// Local cover ratio of the edge (the factor ratio when the feature is already off).
    z: f64,
    /// Leaf value (leaf edges only).
    value: f64,
    /// Offset in [`TreePlan::coef`] of `[r_on; n]`, `[r_off; n]`, `[c_on; n]`.
    coef: u32,
}

/// Precomputed sweep of one tree.
#[derive(Clone, Debug)]
struct TreePlan {
    edges: Vec<EdgeRec>,
    coef: Vec<f64>,
    /// Quadrature points for this tree.
    n: usize,
    /// Output the tree adds to.
    output: usize,
}

/// Precomputed sweeps of a whole model.
pub(crate) struct Plan {
    trees: Vec<TreePlan>,
    /// Per `n`: `c_off[q] = -w_q / (1 - t_q)` (the coefficient of an edge whose feature is off).
    c_off: Vec<Vec<f64>>,
    max_depth: usize,
    max_n: usize,
}

impl Plan {
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
            let mut coef = Vec::with_capacity(tmp.len() * 3 * n);
            for (mut e, z_e, z_prev) in tmp {
                e.coef = coef.len() as u32;
                max_depth = max_depth.max(e.depth as usize);
                let f1 = |z: f64, t: f64| z + t * (1.0 - z);
                let f0 = |z: f64, t: f64| z * (1.0 - t);
                for &tq in &t {
                    coef.push(f1(z_e, tq) / z_prev.map_or(1.0, |zp| f1(zp, tq)));
                }
                for &tq in &t {
                    coef.push(f0(z_e, tq) / z_prev.map_or(1.0, |zp| f1(zp, tq)));
                }
                for (&tq, &wq) in t.iter().zip(&w) {
                    coef.push((1.0 - z_e) * wq / f1(z_e, tq));
                }
                edges.push(e);
            }
            max_n = max_n.max(n);
            trees.push(TreePlan {
                edges,
                coef,
                n,
                output: k as usize,
            });
        }
        let c_off = (0..=max_n)
            .map(|n| {
                if n == 0 {
                    return Vec::new();
                }
                let (t, w) = gauss_legendre01(n);
                t.iter().zip(&w).map(|(t, w)| -w / (1.0 - t)).collect()
            })
            .collect();
        Plan {
            trees,
            c_off,
            max_depth,
            max_n,
        }
    }
}

/// Pre-order walk collecting edges with their merged cover ratio and the previous one.
/// `last[f]` holds (depth, merged Z) of the nearest ancestor edge on feature `f`.
fn build(
    tree: &Tree,
    node: usize,
    depth: u16,
    uniq: usize,
    last: &mut [(u16, f64)],
    out: &mut Vec<(EdgeRec, f64, Option<f64>)>,
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
        out.push((
            EdgeRec {
                node: child as u32,
                feature: f as u32,
                depth: depth + 1,
                prev,
                is_left,
                is_leaf: c.is_leaf(),
                z,
                value: c.value,
                coef: 0,
            },
            z_e,
            z_prev,
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
    sub: Vec<Lane>,
    dec: Vec<Lane>,
    ost: Vec<Lane>,
    open: Vec<u32>,
    rows: Vec<f64>,
    xt: Vec<Lane>,
    phi: Vec<Lane>,
}

impl Scratch {
    fn new(plan: &Plan) -> Scratch {
        let d = plan.max_depth + 1;
        let z = [0.0; LANES];
        Scratch {
            a: vec![z; d * plan.max_n],
            g: vec![z; d * plan.max_n],
            sub: vec![z; d * plan.max_n],
            dec: vec![z; d],
            ost: vec![z; d],
            open: vec![0; d],
            rows: Vec::new(),
            xt: Vec::new(),
            phi: Vec::new(),
        }
    }
}

/// 1.0 in the lanes whose value goes left at `node`, else 0.0 (decided by [`Tree::goes_left`]).
#[inline(always)]
pub(crate) fn decide(tree: &Tree, node: &Node, x: &Lane) -> Lane {
    let mut d = [0.0; LANES];
    for l in 0..LANES {
        d[l] = if tree.goes_left(node, x[l]) { 1.0 } else { 0.0 };
    }
    d
}

#[inline(always)]
fn add_into(dst: &mut Lane, src: &Lane) {
    for l in 0..LANES {
        dst[l] += src[l];
    }
}

/// Sweeps one tree for one lane group. `xt[f]` holds feature `f` of the group's rows,
/// `phi[f]` (already offset to the tree's output) accumulates SHAP values.
#[inline(always)]
fn sweep(
    tp: &TreePlan,
    tree: &Tree,
    c_off: &[f64],
    xt: &[Lane],
    s: &mut Scratch,
    phi: &mut [Lane],
) {
    let n = tp.n;
    let root = &tree.nodes[0];
    if root.is_leaf() {
        return;
    }
    s.dec[0] = decide(tree, root, &xt[root.feature as usize]);
    for q in 0..n {
        s.a[q] = [1.0; LANES];
    }
    let mut cur = 0usize;
    for (ei, e) in tp.edges.iter().enumerate() {
        let d = e.depth as usize;
        while cur >= d {
            close(tp, c_off, s, phi, cur);
            cur -= 1;
        }
        let pdec = s.dec[d - 1];
        let oold = if e.prev == NO_PREV {
            [1.0; LANES]
        } else {
            s.ost[e.prev as usize]
        };
        let mut onew = [0.0; LANES];
        for l in 0..LANES {
            let o = if e.is_left { pdec[l] } else { 1.0 - pdec[l] };
            onew[l] = oold[l] * o;
        }
        let c = e.coef as usize;
        let r_on = &tp.coef[c..c + n];
        let r_off = &tp.coef[c + n..c + 2 * n];
        let c_on = &tp.coef[c + 2 * n..c + 3 * n];
        let z = e.z;
        if e.is_leaf {
            // a leaf closes at once: H = G = v A
            let v = e.value;
            let mut acc = [0.0; LANES];
            for q in 0..n {
                let ap = s.a[(d - 1) * n + q];
                let mut g = [0.0; LANES];
                for l in 0..LANES {
                    let ratio = if onew[l] != 0.0 {
                        r_on[q]
                    } else if oold[l] != 0.0 {
                        r_off[q]
                    } else {
                        z
                    };
                    g[l] = v * (ap[l] * ratio);
                    let cf = if onew[l] != 0.0 { c_on[q] } else { c_off[q] };
                    acc[l] += g[l] * cf;
                }
                add_into(&mut s.g[(d - 1) * n + q], &g);
                if e.prev != NO_PREV {
                    add_into(&mut s.sub[e.prev as usize * n + q], &g);
                }
            }
            add_into(&mut phi[e.feature as usize], &acc);
        } else {
            for q in 0..n {
                let ap = s.a[(d - 1) * n + q];
                let mut an = [0.0; LANES];
                for l in 0..LANES {
                    let ratio = if onew[l] != 0.0 {
                        r_on[q]
                    } else if oold[l] != 0.0 {
                        r_off[q]
                    } else {
                        z
                    };
                    an[l] = ap[l] * ratio;
                }
                s.a[d * n + q] = an;
                s.g[d * n + q] = [0.0; LANES];
                s.sub[d * n + q] = [0.0; LANES];
            }
            s.ost[d] = onew;
            s.open[d] = ei as u32;
            let child = &tree.nodes[e.node as usize];
            s.dec[d] = decide(tree, child, &xt[child.feature as usize]);
            cur = d;
        }
    }
    while cur >= 1 {
        close(tp, c_off, s, phi, cur);
        cur -= 1;
    }
}

/// Closes the open internal edge at depth `d`: adds its contribution and passes its `G` up.
#[inline(always)]
fn close(tp: &TreePlan, c_off: &[f64], s: &mut Scratch, phi: &mut [Lane], d: usize) {
    let n = tp.n;
    let e = &tp.edges[s.open[d] as usize];
    let c = e.coef as usize;
    let c_on = &tp.coef[c + 2 * n..c + 3 * n];
    let onew = s.ost[d];
    let mut acc = [0.0; LANES];
    for q in 0..n {
        let g = s.g[d * n + q];
        let sb = s.sub[d * n + q];
        for l in 0..LANES {
            let cf = if onew[l] != 0.0 { c_on[q] } else { c_off[q] };
            acc[l] += (g[l] - sb[l]) * cf;
        }
        add_into(&mut s.g[(d - 1) * n + q], &g);
        if e.prev != NO_PREV {
            add_into(&mut s.sub[e.prev as usize * n + q], &g);
        }
    }
    add_into(&mut phi[e.feature as usize], &acc);
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

/// Path-dependent SHAP values (input already checked).
pub(crate) fn path_dependent(model: &Ensemble, x: &Matrix, ctl: &RunControl) -> Result<ShapValues> {
    let rows = x.rows();
    let m = model.num_features;
    let k = model.num_outputs;
    let plan = Plan::new(model);
    let mut values = vec![0.0; (m + 1) * rows * k];
    let out = DisjointOut::new(&mut values);
    let block = block_rows(rows, ctl, LANES, 256);
    let km = k * m;
    for_row_blocks(
        rows,
        block,
        ctl,
        || Scratch::new(&plan),
        |s, start, nrows| {
            s.rows.resize(nrows * m, 0.0);
            x.gather_rows(start, &mut s.rows);
            let mut xt = std::mem::take(&mut s.xt);
            to_lanes(&s.rows, nrows, m, &mut xt);
            let groups = nrows.div_ceil(LANES);
            let mut phi = std::mem::take(&mut s.phi);
            phi.clear();
            phi.resize(groups * km, [0.0; LANES]);
            for (tp, tree) in plan.trees.iter().zip(&model.trees) {
                let c_off = &plan.c_off[tp.n];
                for grp in 0..groups {
                    let ph = &mut phi[grp * km + tp.output * m..grp * km + (tp.output + 1) * m];
                    sweep(tp, tree, c_off, &xt[grp * m..(grp + 1) * m], s, ph);
                }
            }
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
            s.xt = xt;
            s.phi = phi;
        },
    )?;
    fill_base(&mut values, rows, m, &model.expected_value());
    Ok(ShapValues {
        rows,
        outputs: k,
        features: m,
        values,
    })
}
