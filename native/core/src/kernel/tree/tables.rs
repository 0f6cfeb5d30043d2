//! The coalition tables of one explained row ([`RowTables`]) and the builders' per-row buffers.

use super::*;

/// The coalition tables of one explained row.
#[derive(Default)]
pub(in crate::kernel) struct RowTables {
    pub(super) k: usize,
    /// Part of `v(S)` that no coalition changes, per output.
    pub(super) constant: Vec<f64>,
    /// Support of each table.
    pub(super) masks: Vec<u64>,
    /// First entry of each table in `arena`.
    pub(super) offsets: Vec<usize>,
    /// Tables: `2^|U| × k` entries each, pattern-major.
    pub(super) arena: Vec<f64>,
    pub(super) index: MaskMap,
}

impl RowTables {
    /// Adds `v` to output `o` of the entry of coalitions with players `inm` in and `outm` out.
    #[inline]
    pub(super) fn add(&mut self, inm: u64, outm: u64, o: usize, v: f64) -> bool {
        let u = inm | outm;
        if u == 0 {
            self.constant[o] += v;
            return true;
        }
        let id = match self.index.get(&u) {
            Some(&id) => id as usize,
            None => {
                let size = u.count_ones();
                let len = self.k << size;
                if size > MAX_SUPPORT || self.arena.len() + len > MAX_ENTRIES {
                    return false;
                }
                let id = self.masks.len();
                self.index.insert(u, id as u32);
                self.masks.push(u);
                self.offsets.push(self.arena.len());
                self.arena.resize(self.arena.len() + len, 0.0);
                id
            }
        };
        self.arena[self.offsets[id] + pext(inm, u) * self.k + o] += v;
        true
    }

    /// Folds each table whose support lies inside a bigger table's support into it
    /// (bigger supports first), leaving fewer lookups per coalition.
    pub(super) fn fold(&mut self) {
        let n = self.masks.len();
        if !(2..=4096).contains(&n) {
            return; // (the containment search is quadratic)
        }
        let k = self.k;
        let mut order: Vec<usize> = (0..n).collect();
        // bigger supports first; ties in creation order (deterministic)
        order.sort_by_key(|&i| (std::cmp::Reverse(self.masks[i].count_ones()), i));
        let mut kept: Vec<usize> = Vec::with_capacity(n);
        let mut arena = Vec::with_capacity(self.arena.len());
        let mut new_offsets: Vec<usize> = Vec::with_capacity(n);
        for &i in &order {
            let u = self.masks[i];
            let src = &self.arena[self.offsets[i]..self.offsets[i] + (k << u.count_ones())];
            // the first kept (biggest, earliest) support containing this one
            if let Some(pos) = kept.iter().position(|&j| self.masks[j] & u == u) {
                let big = self.masks[kept[pos]];
                let off = new_offsets[pos];
                let entries = 1usize << big.count_ones();
                for q in 0..entries {
                    // pattern q of the big support, as a coalition mask, read on the small one
                    let s = pdep(q as u64, big);
                    let from = pext(s, u) * k;
                    for o in 0..k {
                        arena[off + q * k + o] += src[from + o];
                    }
                }
            } else {
                new_offsets.push(arena.len());
                arena.extend_from_slice(src);
                kept.push(i);
            }
        }
        self.masks = kept.iter().map(|&i| self.masks[i]).collect();
        self.offsets = new_offsets;
        self.arena = arena;
        self.index.clear();
    }

    /// Lookups per coalition.
    pub(super) fn cost(&self) -> f64 {
        self.masks
            .iter()
            .map(|u| 2.0 + u.count_ones() as f64)
            .sum::<f64>()
            * self.k as f64
    }

    /// `v(S)` of every coalition of `plan` into `ey` (row-major coalitions × k).
    pub(super) fn evaluate(&self, plan: &Plan, ey: &mut [f64]) {
        let k = self.k;
        debug_assert_eq!(plan.words, 1);
        for (c, out) in ey.chunks_exact_mut(k).enumerate().take(plan.len()) {
            let s = plan.masks[c];
            out.copy_from_slice(&self.constant);
            if k == 1 {
                let mut acc = out[0];
                for (&u, &off) in self.masks.iter().zip(&self.offsets) {
                    acc += self.arena[off + pext(s, u)];
                }
                out[0] = acc;
            } else {
                for (&u, &off) in self.masks.iter().zip(&self.offsets) {
                    let e = &self.arena[off + pext(s, u) * k..][..k];
                    for o in 0..k {
                        out[o] += e[o];
                    }
                }
            }
        }
    }
}

/// Per-row buffers of the builders.
pub(super) struct RowScratch {
    /// Player bit of each feature (0: not a player).
    pub(super) pbit: Vec<u64>,
    /// x goes left at each node of the current tree.
    pub(super) xleft: Vec<bool>,
    /// Depth-first stack: (node, players in / x fails, players out).
    pub(super) stack: Vec<(u32, u64, u64)>,
}

impl RowScratch {
    pub(super) fn new(ens: &Ensemble, varying: &[usize]) -> Self {
        let mut pbit = vec![0u64; ens.num_features];
        for (p, &j) in varying.iter().enumerate() {
            pbit[j] = 1u64 << p;
        }
        RowScratch {
            pbit,
            xleft: Vec::new(),
            stack: Vec::with_capacity(64),
        }
    }
}
