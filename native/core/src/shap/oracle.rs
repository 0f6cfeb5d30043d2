//! The test oracle: Lundberg's recursive TreeSHAP (Algorithm 2 of Lundberg, Erion & Lee,
//! "Consistent Individualized Feature Attribution for Tree Ensembles", 2018), in plain
//! f64, one row at a time, written to be read next to the paper rather than to be fast.

use super::zero_fraction;
use crate::{Ensemble, Tree};

/// One element of the path `m` of the paper: feature `d`, zero fraction `z`,
/// one fraction `o`, and the permutation weight `w`.
#[derive(Clone, Copy, Debug)]
struct PathElement {
    d: Option<usize>,
    z: f64,
    o: f64,
    w: f64,
}

/// Path-dependent SHAP values of one row: a vector indexed `[k * (M + 1) + j]` for output
/// `k` and feature `j`, with `j == M` the base value ([`Ensemble::expected_value`]).
pub fn path_dependent_row(model: &Ensemble, row: &[f64]) -> Vec<f64> {
    let m = model.num_features;
    let mut phi = vec![0.0; model.num_outputs * (m + 1)];
    for (tree, &k) in model.trees.iter().zip(&model.tree_output) {
        let k = k as usize;
        let out = &mut phi[k * (m + 1)..(k + 1) * (m + 1)];
        recurse(tree, row, out, 0, Vec::new(), 1.0, 1.0, None);
    }
    for (k, e) in model.expected_value().into_iter().enumerate() {
        phi[k * (m + 1) + m] = e;
    }
    phi
}

/// RECURSE(j, m, p_z, p_o, p_i) of Algorithm 2.
#[allow(clippy::too_many_arguments)]
fn recurse(
    tree: &Tree,
    x: &[f64],
    phi: &mut [f64],
    j: usize,
    m: Vec<PathElement>,
    pz: f64,
    po: f64,
    pi: Option<usize>,
) {
    // A subtree that neither the row nor any cover reaches contributes nothing (and the
    // unwinding below would divide by its zero fraction).
    if pz == 0.0 && po == 0.0 {
        return;
    }
    let m = extend(m, pz, po, pi);
    let node = &tree.nodes[j];
    if node.is_leaf() {
        for i in 1..m.len() {
            let w = unwound_sum(&m, i);
            let e = m[i];
            phi[e.d.expect("path element has a feature")] += w * (e.o - e.z) * node.value;
        }
        return;
    }
    let (h, c) = if tree.goes_left(node, x[node.feature as usize]) {
        (node.left as usize, node.right as usize)
    } else {
        (node.right as usize, node.left as usize)
    };
    let (mut iz, mut io) = (1.0, 1.0);
    let mut m = m;
    if let Some(k) = m.iter().position(|e| e.d == Some(node.feature as usize)) {
        iz = m[k].z;
        io = m[k].o;
        m = unwind(m, k);
    }
    let f = Some(node.feature as usize);
    recurse(
        tree,
        x,
        phi,
        h,
        m.clone(),
        iz * zero_fraction(tree, j, h),
        io,
        f,
    );
    recurse(tree, x, phi, c, m, iz * zero_fraction(tree, j, c), 0.0, f);
}

/// EXTEND(m, p_z, p_o, p_i): adds a feature to the path, updating the weights of every
/// subset size.
fn extend(mut m: Vec<PathElement>, pz: f64, po: f64, pi: Option<usize>) -> Vec<PathElement> {
    let l = m.len();
    m.push(PathElement {
        d: pi,
        z: pz,
        o: po,
        w: if l == 0 { 1.0 } else { 0.0 },
    });
    for i in (0..l).rev() {
        m[i + 1].w += po * m[i].w * (i + 1) as f64 / (l + 1) as f64;
        m[i].w = pz * m[i].w * (l - i) as f64 / (l + 1) as f64;
    }
    m
}

/// UNWIND(m, i): the inverse of EXTEND for element `i`.
fn unwind(mut m: Vec<PathElement>, i: usize) -> Vec<PathElement> {
    let l = m.len() - 1; // index of the last element
    let (o, z) = (m[i].o, m[i].z);
    let mut n = m[l].w;
    for j in (0..l).rev() {
        if o != 0.0 {
            let t = m[j].w;
            m[j].w = n * (l + 1) as f64 / ((j + 1) as f64 * o);
            n = t - m[j].w * z * (l - j) as f64 / (l + 1) as f64;
        } else {
            m[j].w = m[j].w * (l + 1) as f64 / (z * (l - j) as f64);
        }
    }
    for j in i..l {
        m[j].d = m[j + 1].d;
        m[j].z = m[j + 1].z;
        m[j].o = m[j + 1].o;
    }
    m.pop();
    m
}

/// UNWOUNDSUM(m, i): the total weight of the path with element `i` unwound.
fn unwound_sum(m: &[PathElement], i: usize) -> f64 {
    let l = m.len() - 1;
    let (o, z) = (m[i].o, m[i].z);
    let mut n = m[l].w;
    let mut total = 0.0;
    for j in (0..l).rev() {
        if o != 0.0 {
            let t = n * (l + 1) as f64 / ((j + 1) as f64 * o);
            total += t;
            n = m[j].w - t * z * (l - j) as f64 / (l + 1) as f64;
        } else if z != 0.0 {
            total += m[j].w * (l + 1) as f64 / (z * (l - j) as f64);
        }
    }
    total
}
