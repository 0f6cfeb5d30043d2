//! SHAP interaction values, leaf by leaf.
//!
//! XGBoost computes `φ_ij` as half the difference of feature `j`'s SHAP value with feature
//! `i` conditioned on (always present) and off (always marginalised). In the polynomial view
//! of [`super`] the leaf product game with `i`'s factor replaced by `O_i` minus the same with
//! `Z_i` is the product game with factor `O_i - Z_i`, so for `i ≠ j`
//!
//! `φ_ij = ½ Σ_l v_l (O_i - Z_i)(O_j - Z_j) ∫₀¹ ∏_{g∈P_l∖{i,j}} F_g(t) dt`,
//!
//! summed over the leaves whose path splits on both (the restriction to features a tree
//! uses comes for free). Per leaf with `d` distinct features, prefix and suffix products of
//! the factors give every "all but one" product, and a running product between `i` and `j`
//! every "all but two": `O(d² n)` per leaf, no division (so zero covers need no special case).
//! The diagonal is `φ_i - Σ_{j≠i} φ_ij` with `φ_i` from the same products, so each row sums
//! to the SHAP value exactly as XGBoost fills it. Rows run [`LANES`] at a time, and the
//! per-group accumulators cover only the features some split uses (rows and columns of
//! unused features are zero).

// Lane and quadrature loops are written with indices on purpose: fixed-size
// `[f64; LANES]` index loops are what the compiler turns into SIMD code.
#![allow(clippy::needless_range_loop)]

use super::linear::{decide, Lane, LANES};
use super::quadrature::gauss_legendre01;
use super::{
    block_rows, detect_simd, for_row_blocks, zero_fraction, DisjointOut, InteractionValues, Simd,
};
use crate::{Ensemble, Matrix, Result, RunControl, Tree};

/// One distinct feature on a leaf's path.
#[derive(Clone, Debug)]
struct Elem {
    /// Compact index of the feature (among the features the model splits on).
    feature: u32,
    /// Product of the cover ratios of the path's splits on the feature.
    z: f64,
    /// Range in [`ITree::edges`] of those splits.
    edges: (u32, u32),
}

/// One leaf: its value and its path's distinct features.
#[derive(Clone, Debug)]
struct Leaf {
    value: f64,
    elems: (u32, u32),
}

/// Precomputed paths of one tree.
#[derive(Clone, Debug)]
struct ITree {
    leaves: Vec<Leaf>,
    elems: Vec<Elem>,
    /// (parent node, true when the path goes to its left child).
    edges: Vec<(u32, bool)>,
    internal: Vec<u32>,
    n: usize,
    max_d: usize,
    output: usize,
}

fn plan_tree(tree: &Tree, output: usize, slot: &[u32]) -> ITree {
    let mut it = ITree {
        leaves: Vec::new(),
        elems: Vec::new(),
        edges: Vec::new(),
        internal: Vec::new(),
        n: 1,
        max_d: 0,
        output,
    };
    let mut path: Vec<(u32, bool, u32, f64)> = Vec::new(); // (parent, is_left, feature, z)
    walk(tree, 0, &mut path, &mut it, slot);
    it.n = it.max_d.div_ceil(2).max(1);
    it
}

fn walk(
    tree: &Tree,
    node: usize,
    path: &mut Vec<(u32, bool, u32, f64)>,
    it: &mut ITree,
    slot: &[u32],
) {
    let nd = &tree.nodes[node];
    if nd.is_leaf() {
        if path.is_empty() {
            return; // a lone leaf only moves the base value
        }
        let start = it.elems.len() as u32;
        let mut feats: Vec<u32> = path.iter().map(|p| p.2).collect();
        feats.sort_unstable();
        feats.dedup();
        for f in feats {
            let e0 = it.edges.len() as u32;
            let mut z = 1.0;
            for &(p, left, g, zf) in path.iter() {
                if g == f {
                    it.edges.push((p, left));
                    z *= zf;
                }
            }
            it.elems.push(Elem {
                feature: slot[f as usize],
                z,
                edges: (e0, it.edges.len() as u32),
            });
        }
        let end = it.elems.len() as u32;
        it.max_d = it.max_d.max((end - start) as usize);
        it.leaves.push(Leaf {
            value: nd.value,
            elems: (start, end),
        });
        return;
    }
    it.internal.push(node as u32);
    for (child, left) in [(nd.left as usize, true), (nd.right as usize, false)] {
        path.push((
            node as u32,
            left,
            nd.feature,
            zero_fraction(tree, node, child),
        ));
        walk(tree, child, path, it, slot);
        path.pop();
    }
}

struct Scratch {
    dec: Vec<Lane>,
    oz: Vec<Lane>,
    f: Vec<Lane>,
    pre: Vec<Lane>,
    suf: Vec<Lane>,
    run: Vec<Lane>,
    rows: Vec<f64>,
    xt: Vec<Lane>,
    phi: Vec<Lane>,
    int: Vec<Lane>,
}

/// Adds one leaf's terms for one lane group.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn leaf_terms(
    it: &ITree,
    leaf: &Leaf,
    t: &[f64],
    w: &[f64],
    s: &mut Scratch,
    phi: &mut [Lane],
    int: &mut [Lane],
    m: usize,
) {
    let n = it.n;
    let elems = &it.elems[leaf.elems.0 as usize..leaf.elems.1 as usize];
    let d = elems.len();
    let v = leaf.value;
    for (g, e) in elems.iter().enumerate() {
        let mut o = [1.0; LANES];
        for &(p, left) in &it.edges[e.edges.0 as usize..e.edges.1 as usize] {
            let dp = s.dec[p as usize];
            for l in 0..LANES {
                o[l] *= if left { dp[l] } else { 1.0 - dp[l] };
            }
        }
        let mut oz = [0.0; LANES];
        for l in 0..LANES {
            oz[l] = o[l] - e.z;
        }
        s.oz[g] = oz;
        for q in 0..n {
            let mut fq = [0.0; LANES];
            for l in 0..LANES {
                fq[l] = e.z + t[q] * oz[l];
            }
            s.f[g * n + q] = fq;
        }
    }
    for q in 0..n {
        s.pre[q] = [1.0; LANES];
        s.suf[d * n + q] = [1.0; LANES];
    }
    for g in 0..d {
        for q in 0..n {
            let (a, b) = (s.pre[g * n + q], s.f[g * n + q]);
            let mut c = [0.0; LANES];
            for l in 0..LANES {
                c[l] = a[l] * b[l];
            }
            s.pre[(g + 1) * n + q] = c;
        }
    }
    for g in (0..d).rev() {
        for q in 0..n {
            let (a, b) = (s.f[g * n + q], s.suf[(g + 1) * n + q]);
            let mut c = [0.0; LANES];
            for l in 0..LANES {
                c[l] = a[l] * b[l];
            }
            s.suf[g * n + q] = c;
        }
    }
    for g in 0..d {
        let fg = elems[g].feature as usize;
        let mut cg = [0.0; LANES];
        for l in 0..LANES {
            cg[l] = v * s.oz[g][l];
        }
        let mut acc = [0.0; LANES];
        for q in 0..n {
            let (a, b) = (s.pre[g * n + q], s.suf[(g + 1) * n + q]);
            for l in 0..LANES {
                acc[l] += w[q] * (a[l] * b[l]);
            }
            s.run[q] = a;
        }
        for l in 0..LANES {
            phi[fg][l] += cg[l] * acc[l];
        }
        for h in g + 1..d {
            let fh = elems[h].feature as usize;
            let mut acc = [0.0; LANES];
            for q in 0..n {
                let (a, b) = (s.run[q], s.suf[(h + 1) * n + q]);
                let fq = s.f[h * n + q];
                for l in 0..LANES {
                    acc[l] += w[q] * (a[l] * b[l]);
                    s.run[q][l] = a[l] * fq[l];
                }
            }
            let ozh = s.oz[h];
            let mut val = [0.0; LANES];
            for l in 0..LANES {
                val[l] = 0.5 * cg[l] * ozh[l] * acc[l];
            }
            for l in 0..LANES {
                int[fg * m + fh][l] += val[l];
                int[fh * m + fg][l] += val[l];
            }
        }
    }
}

/// What the per-group kernel reads.
struct Ctx<'a> {
    plans: &'a [ITree],
    model: &'a Ensemble,
    quad: &'a [(Vec<f64>, Vec<f64>)],
    /// Number of features some split uses.
    u: usize,
}

/// Every tree's terms for one lane group (`xg[f]` = feature `f` of its rows).
#[inline(always)]
fn group_kernel(c: &Ctx, xg: &[Lane], s: &mut Scratch, phi: &mut [Lane], int: &mut [Lane]) {
    let u = c.u;
    for (it, tree) in c.plans.iter().zip(&c.model.trees) {
        for &i in &it.internal {
            let nd = &tree.nodes[i as usize];
            s.dec[i as usize] = decide(tree, nd, &xg[nd.feature as usize]);
        }
        let (t, w) = &c.quad[it.n];
        let ph = &mut phi[it.output * u..(it.output + 1) * u];
        let ii = &mut int[it.output * u * u..(it.output + 1) * u * u];
        for leaf in &it.leaves {
            leaf_terms(it, leaf, t, w, s, ph, ii, u);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn group_kernel_avx512(
    c: &Ctx,
    xg: &[Lane],
    s: &mut Scratch,
    phi: &mut [Lane],
    int: &mut [Lane],
) {
    group_kernel(c, xg, s, phi, int)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn group_kernel_avx2(
    c: &Ctx,
    xg: &[Lane],
    s: &mut Scratch,
    phi: &mut [Lane],
    int: &mut [Lane],
) {
    group_kernel(c, xg, s, phi, int)
}

/// Everything interaction values need that depends on the model alone (built once per
/// model, see [`super::Prepared`]).
pub(crate) struct IPlan {
    plans: Vec<ITree>,
    quad: Vec<(Vec<f64>, Vec<f64>)>,
    /// The features some split uses, in model order (compact index = position here).
    used: Vec<usize>,
    max_n: usize,
    max_d: usize,
    max_nodes: usize,
}

impl IPlan {
    /// Plans every tree of `model`.
    pub(crate) fn new(model: &Ensemble) -> IPlan {
        let m = model.num_features;
        // accumulate over the features the model splits on only (compact indices)
        let mut slot = vec![u32::MAX; m];
        for t in &model.trees {
            for nd in t.nodes.iter().filter(|n| !n.is_leaf()) {
                slot[nd.feature as usize] = 0;
            }
        }
        let used: Vec<usize> = (0..m).filter(|&f| slot[f] == 0).collect();
        for (c, &f) in used.iter().enumerate() {
            slot[f] = c as u32;
        }
        let plans: Vec<ITree> = model
            .trees
            .iter()
            .zip(&model.tree_output)
            .map(|(t, &o)| plan_tree(t, o as usize, &slot))
            .collect();
        let max_n = plans.iter().map(|p| p.n).max().unwrap_or(1);
        let max_d = plans.iter().map(|p| p.max_d).max().unwrap_or(0);
        let max_nodes = model.trees.iter().map(|t| t.nodes.len()).max().unwrap_or(0);
        let quad: Vec<(Vec<f64>, Vec<f64>)> = (0..=max_n)
            .map(|n| {
                if n == 0 {
                    (vec![], vec![])
                } else {
                    gauss_legendre01(n)
                }
            })
            .collect();
        IPlan {
            plans,
            quad,
            used,
            max_n,
            max_d,
            max_nodes,
        }
    }

    /// Buffers for one worker (`k` outputs).
    fn scratch(&self, k: usize) -> Scratch {
        let (max_d, max_n, u) = (self.max_d, self.max_n, self.used.len());
        let z = [0.0; LANES];
        Scratch {
            dec: vec![z; self.max_nodes],
            oz: vec![z; max_d],
            f: vec![z; max_d * max_n],
            pre: vec![z; (max_d + 1) * max_n],
            suf: vec![z; (max_d + 1) * max_n],
            run: vec![z; max_n],
            rows: Vec::new(),
            xt: Vec::new(),
            phi: vec![z; k * u],
            int: vec![z; k * u * u],
        }
    }

    /// One lane group (`xg[f]` = feature `f` of its rows): leaves the compact matrices,
    /// diagonal included, in `s.int` (`[(kk*u + i)*u + j][lane]`).
    fn group(&self, model: &Ensemble, simd: Simd, xg: &[Lane], s: &mut Scratch) {
        let u = self.used.len();
        let k = model.num_outputs;
        let z = [0.0; LANES];
        let mut phi = std::mem::take(&mut s.phi);
        let mut int = std::mem::take(&mut s.int);
        phi.iter_mut().for_each(|v| *v = z);
        int.iter_mut().for_each(|v| *v = z);
        let ctx = Ctx {
            plans: &self.plans,
            model,
            quad: &self.quad,
            u,
        };
        match simd {
            // SAFETY: the CPU supports the enabled features (checked by `detect_simd`).
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => unsafe { group_kernel_avx512(&ctx, xg, s, &mut phi, &mut int) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => unsafe { group_kernel_avx2(&ctx, xg, s, &mut phi, &mut int) },
            Simd::Base => group_kernel(&ctx, xg, s, &mut phi, &mut int),
        }
        for kk in 0..k {
            for i in 0..u {
                let row = &mut int[(kk * u + i) * u..(kk * u + i + 1) * u];
                let mut diag = phi[kk * u + i];
                for (j, v) in row.iter().enumerate() {
                    if j != i {
                        for l in 0..LANES {
                            diag[l] -= v[l];
                        }
                    }
                }
                row[i] = diag;
            }
        }
        s.phi = phi;
        s.int = int;
    }
}

/// Interaction values with a prepared plan (input already checked).
pub(crate) fn interactions(
    plan: &IPlan,
    model: &Ensemble,
    x: &Matrix,
    ctl: &RunControl,
) -> Result<InteractionValues> {
    let rows = x.rows();
    let m = model.num_features;
    let k = model.num_outputs;
    let u = plan.used.len();
    let simd = detect_simd();
    let tt = rows * k * m;
    let mut values = crate::limits::zeroed("the interaction values", &[rows, k, m, m])?;
    let out = DisjointOut::new(&mut values);
    let block = block_rows(rows, ctl, LANES, 64);
    for_row_blocks(
        rows,
        block,
        ctl,
        || plan.scratch(k),
        |s, start, nrows| {
            s.rows.resize(nrows * m, 0.0);
            x.gather_rows(start, &mut s.rows);
            let mut xt = std::mem::take(&mut s.xt);
            super::linear::to_lanes(&s.rows, nrows, m, &mut xt);
            for grp in 0..nrows.div_ceil(LANES) {
                plan.group(model, simd, &xt[grp * m..(grp + 1) * m], s);
                let int = &s.int;
                // features no split uses keep their zeros
                for (jc, &j) in plan.used.iter().enumerate() {
                    for l in 0..LANES.min(nrows - grp * LANES) {
                        let r = start + grp * LANES + l;
                        for kk in 0..k {
                            for (ic, &i) in plan.used.iter().enumerate() {
                                // SAFETY: rows start..start+nrows belong to this block only.
                                unsafe {
                                    out.write(
                                        j * tt + (r * k + kk) * m + i,
                                        int[(kk * u + ic) * u + jc][l],
                                    )
                                };
                            }
                        }
                    }
                }
            }
            s.xt = xt;
        },
    )?;
    Ok(InteractionValues {
        rows,
        outputs: k,
        features: m,
        values,
    })
}

/// Interaction values of a few rows on the calling thread: `rows` row-major (`n × m`),
/// `out` (`n × k × m × m`, zeroed) gets entry `((r*k + kk)*m + i)*m + j` = `φ_ij`, the same
/// values [`interactions`] gives, bit for bit (the same lane kernel).
pub(crate) fn interactions_rows(plan: &IPlan, model: &Ensemble, rows: &[f64], out: &mut [f64]) {
    let m = model.num_features;
    let k = model.num_outputs;
    let u = plan.used.len();
    let n = rows.len() / m.max(1);
    let simd = detect_simd();
    let mut s = plan.scratch(k);
    let mut xt = Vec::new();
    for g0 in (0..n).step_by(LANES) {
        let nr = LANES.min(n - g0);
        super::linear::to_lanes(&rows[g0 * m..(g0 + nr) * m], nr, m, &mut xt);
        plan.group(model, simd, &xt, &mut s);
        for l in 0..nr {
            for kk in 0..k {
                let o = &mut out[((g0 + l) * k + kk) * m * m..((g0 + l) * k + kk + 1) * m * m];
                for (ic, &i) in plan.used.iter().enumerate() {
                    for (jc, &j) in plan.used.iter().enumerate() {
                        o[i * m + j] = s.int[(kk * u + ic) * u + jc][l];
                    }
                }
            }
        }
    }
}
