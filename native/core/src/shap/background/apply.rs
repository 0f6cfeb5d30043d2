//! Adding one leaf's share to one sample, given the sample's fail mask at that leaf.

use super::table::Table;
use super::weights::Weights;

/// Scratch for the sparse tables (per worker).
pub(crate) struct LeafScratch {
    val: Vec<f64>,
    ab: Vec<f64>,
    aa: Vec<f64>,
}

impl LeafScratch {
    /// Scratch for leaves of up to `d` path features.
    pub(crate) fn new(d: usize) -> LeafScratch {
        LeafScratch {
            val: vec![0.0; d],
            ab: vec![0.0; d],
            aa: vec![0.0; d * d],
        }
    }
}

/// Where one sample's values go: `phi[feature]` and, with interactions, the
/// `m × m` matrix `mat[i * m + j]` (off-diagonal entries only).
pub(crate) struct Sink<'a> {
    pub(crate) phi: &'a mut [f64],
    pub(crate) mat: Option<&'a mut [f64]>,
    pub(crate) m: usize,
}

/// Iterates the set bits of `x`.
#[inline(always)]
fn bits(mut x: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if x == 0 {
            None
        } else {
            let p = x.trailing_zeros() as usize;
            x &= x - 1;
            Some(p)
        }
    })
}

#[inline(always)]
fn add_pair(mat: &mut [f64], m: usize, fp: u32, fq: u32, v: f64) {
    let (i, j) = (fp as usize, fq as usize);
    mat[i * m + j] += v;
    mat[j * m + i] += v;
}

/// Adds what a leaf with path features `feats` gives a sample with fail mask `u`.
#[inline]
pub(crate) fn add_leaf(
    table: &Table,
    feats: &[u32],
    u: u64,
    w: &Weights,
    s: &mut LeafScratch,
    out: &mut Sink,
) {
    let d = feats.len();
    match table {
        Table::Dense { width, data, live } => {
            let ui = u as usize;
            if live[ui / 64] >> (ui % 64) & 1 == 0 {
                return;
            }
            let e = &data[ui * width..(ui + 1) * width];
            for (&f, &v) in feats.iter().zip(&e[..d]) {
                out.phi[f as usize] += v;
            }
            if let Some(mat) = out.mat.as_deref_mut() {
                let mut k = d;
                for p in 0..d {
                    for q in p + 1..d {
                        add_pair(mat, out.m, feats[p], feats[q], e[k]);
                        k += 1;
                    }
                }
            }
        }
        Table::Sparse(pats) => sparse_leaf(pats, feats, u, w, s, out),
    }
}

/// [`add_leaf`] for a sparse table: one pass over the leaf's distinct background masks.
fn sparse_leaf(
    pats: &[(u64, f64)],
    feats: &[u32],
    u: u64,
    w: &Weights,
    s: &mut LeafScratch,
    out: &mut Sink,
) {
    let d = feats.len();
    let b = u.count_ones() as usize;
    let inter = out.mat.is_some();
    s.val[..d].iter_mut().for_each(|v| *v = 0.0);
    if inter {
        s.ab[..d].iter_mut().for_each(|v| *v = 0.0);
        s.aa[..d * d].iter_mut().for_each(|v| *v = 0.0);
    }
    let (mut neg, mut bb, mut any) = (0.0, 0.0, false);
    for &(f, c) in pats {
        if f & u != 0 {
            continue; // a feature failed by both: the hybrid never reaches the leaf
        }
        any = true;
        let i = w.at(f.count_ones() as usize, b);
        neg += c * w.neg[i];
        let cp = c * w.pos[i];
        for p in bits(f) {
            s.val[p] += cp;
        }
        if inter {
            bb += c * w.bb[i];
            let (cab, caa) = (c * w.ab[i], c * w.aa[i]);
            for p in bits(f) {
                s.ab[p] += cab;
                for q in bits(f >> (p + 1)) {
                    s.aa[p * d + p + 1 + q] += caa;
                }
            }
        }
    }
    if !any {
        return;
    }
    for q in bits(u) {
        s.val[q] = -neg;
    }
    for (&f, &v) in feats.iter().zip(&s.val[..d]) {
        out.phi[f as usize] += v;
    }
    if let Some(mat) = out.mat.as_deref_mut() {
        for p in 0..d {
            for q in p + 1..d {
                let v = match (u >> p & 1 == 1, u >> q & 1 == 1) {
                    (true, true) => bb,
                    (false, false) => s.aa[p * d + q],
                    (true, false) => s.ab[q],
                    (false, true) => s.ab[p],
                };
                add_pair(mat, out.m, feats[p], feats[q], v);
            }
        }
    }
}
