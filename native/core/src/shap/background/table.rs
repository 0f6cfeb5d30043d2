//! Per leaf: the background rows counted by fail mask, and what a sample with a given fail
//! mask receives from all of them at once.
//!
//! A sample `x` failing the path features `U` pairs only with background rows `z` whose
//! fail mask `F` is disjoint from `U` (else the hybrid never reaches the leaf); then
//! `A = F` and `B = U` in the notation of [`super::weights`]. So everything `x` receives
//! depends on `F` only through the ranked subset sums `G_a(T) = #{z : F_z ⊆ T, |F_z| = a}`
//! at `T = ¬U` and at `T` minus one or two positions:
//!
//! * a feature `q ∈ U` receives `-Σ_a G_a(T) neg(a, b)` (`b = |U|`),
//! * a feature `p ∉ U` receives `Σ_a (G_a(T) - G_a(T∖p)) pos(a, b)`,
//! * pairs likewise, with inclusion–exclusion over `p, q`.
//!
//! A *dense* table stores these for all `2^d` masks `U` (built in `O(2^d d^2)` by a ranked
//! zeta transform, then `O(d)` per sample and leaf, whatever the background size); a
//! *sparse* one keeps the distinct `(F, count)` pairs and sums them per sample (for deep
//! paths, where `2^d` is out of reach, and for tiny backgrounds).

use super::weights::Weights;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A multiplicative hasher for `u64` keys (fail masks), much cheaper than SipHash.
#[derive(Default)]
pub(crate) struct MaskHasher(u64);

impl Hasher for MaskHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, x: u64) {
        let h = (x ^ (x >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        self.0 = h ^ (h >> 32);
    }
}

/// Background rows per fail mask.
pub(crate) enum Counts {
    /// `2^d` counters indexed by the mask.
    Dense(Vec<u32>),
    /// Only the masks that occur.
    Sparse(HashMap<u64, u32, BuildHasherDefault<MaskHasher>>),
}

impl Counts {
    /// Empty counters for a leaf with `d` path features.
    pub(crate) fn new(d: usize, dense: bool) -> Counts {
        if dense {
            Counts::Dense(vec![0; 1 << d])
        } else {
            Counts::Sparse(HashMap::default())
        }
    }
    /// Counts one row with fail mask `f`.
    #[inline(always)]
    pub(crate) fn add(&mut self, f: u64) {
        match self {
            Counts::Dense(c) => c[f as usize] += 1,
            Counts::Sparse(m) => *m.entry(f).or_insert(0) += 1,
        }
    }
    /// Counts `n` rows with fail mask `f`.
    #[inline(always)]
    pub(crate) fn add_n(&mut self, f: u64, n: u32) {
        match self {
            Counts::Dense(c) => c[f as usize] += n,
            Counts::Sparse(m) if n > 0 => *m.entry(f).or_insert(0) += n,
            Counts::Sparse(_) => {}
        }
    }
    /// The distinct masks and their counts, sorted by mask.
    pub(crate) fn pairs(&self) -> Vec<(u64, u32)> {
        let mut v: Vec<(u64, u32)> = match self {
            Counts::Dense(c) => c
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(|(f, &n)| (f as u64, n))
                .collect(),
            Counts::Sparse(m) => m.iter().map(|(&f, &n)| (f, n)).collect(),
        };
        v.sort_unstable();
        v
    }
}

/// What one leaf gives a sample, by the sample's fail mask.
pub(crate) enum Table {
    /// `2^d` entries of `width` values: entry `U` holds, per position `p`, the value added
    /// to that feature, then (with interactions) the `d(d-1)/2` off-diagonal pair values
    /// for `p < q` in row order. `live` marks the entries that are not all zero.
    Dense {
        width: usize,
        data: Vec<f64>,
        live: Vec<u64>,
    },
    /// The distinct fail masks with their counts times `value / background rows`.
    Sparse(Vec<(u64, f64)>),
}

/// Number of values per dense entry.
pub(crate) fn width(d: usize, interactions: bool) -> usize {
    if interactions {
        d + d * d.saturating_sub(1) / 2
    } else {
        d
    }
}

/// The sparse table of a leaf: its masks with `count * scale`.
pub(crate) fn sparse(counts: &Counts, scale: f64) -> Table {
    Table::Sparse(
        counts
            .pairs()
            .into_iter()
            .map(|(f, n)| (f, n as f64 * scale))
            .collect(),
    )
}

/// The dense table of a leaf with `d` path features from its dense `counts`; every entry
/// is multiplied by `scale` (leaf value / background rows).
pub(crate) fn dense(
    d: usize,
    counts: &[u32],
    scale: f64,
    w: &Weights,
    interactions: bool,
) -> Table {
    let size = 1usize << d;
    let r = d + 1;
    // g[t * r + a] = #{F ⊆ t, |F| = a}: ranked zeta transform over subsets
    let mut g = vec![0.0f64; size * r];
    for (f, &n) in counts.iter().enumerate() {
        g[f * r + (f as u64).count_ones() as usize] = n as f64;
    }
    for bit in 0..d {
        let step = 1usize << bit;
        for t in 0..size {
            if t & step != 0 {
                let (lo, hi) = g.split_at_mut(t * r);
                let src = &lo[(t ^ step) * r..(t ^ step) * r + r];
                for (x, y) in hi[..r].iter_mut().zip(src) {
                    *x += y;
                }
            }
        }
    }
    let full = size - 1;
    let wd = width(d, interactions);
    let mut data = vec![0.0; size * wd];
    let mut live = vec![0u64; size.div_ceil(64)];
    let gt = |t: usize| &g[t * r..t * r + r];
    for u in 0..size {
        let t = full & !u;
        let b = u.count_ones() as usize;
        let g0 = gt(t);
        if g0.iter().all(|&c| c == 0.0) {
            continue; // no background row pairs with this sample at this leaf
        }
        live[u / 64] |= 1 << (u % 64);
        let e = &mut data[u * wd..(u + 1) * wd];
        let mut neg = 0.0;
        for (a, &c) in g0.iter().enumerate() {
            neg += c * w.neg[w.at(a, b)];
        }
        for p in 0..d {
            if u >> p & 1 == 1 {
                e[p] = -neg * scale;
            } else {
                let gp = gt(t ^ 1 << p);
                let mut s = 0.0;
                for a in 0..r {
                    s += (g0[a] - gp[a]) * w.pos[w.at(a, b)];
                }
                e[p] = s * scale;
            }
        }
        if !interactions {
            continue;
        }
        let mut bb = 0.0;
        for (a, &c) in g0.iter().enumerate() {
            bb += c * w.bb[w.at(a, b)];
        }
        let mut k = d;
        for p in 0..d {
            for q in p + 1..d {
                let (pu, qu) = (u >> p & 1 == 1, u >> q & 1 == 1);
                let v = match (pu, qu) {
                    (true, true) => bb,
                    (false, false) => {
                        let (gp, gq, gpq) =
                            (gt(t ^ 1 << p), gt(t ^ 1 << q), gt(t ^ 1 << p ^ 1 << q));
                        let mut s = 0.0;
                        for a in 0..r {
                            s += (g0[a] - gp[a] - gq[a] + gpq[a]) * w.aa[w.at(a, b)];
                        }
                        s
                    }
                    _ => {
                        let x = if pu { q } else { p }; // the one x satisfies
                        let gx = gt(t ^ 1 << x);
                        let mut s = 0.0;
                        for a in 0..r {
                            s += (g0[a] - gx[a]) * w.ab[w.at(a, b)];
                        }
                        s
                    }
                };
                e[k] = v * scale;
                k += 1;
            }
        }
    }
    Table::Dense {
        width: wd,
        data,
        live,
    }
}
