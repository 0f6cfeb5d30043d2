//! Coalition values of a tree ensemble without materialising masked rows.
//!
//! KernelSHAP needs, for every coalition `S` of a row `x`, the background average
//! `v(S) = Σ_b w_b f(x_S, b_¬S)`. Evaluating the masked rows costs
//! `coalitions × background rows × trees × depth` node visits per explained row.
//! For a tree ensemble the same values come from the trees' structure:
//!
//! * The masked row `(x_S, b_¬S)` reaches a leaf iff every test on its path passes,
//!   and the tests on one feature are all decided by the same value (`x_f` when
//!   `f ∈ S`, else `b_f`). So each (leaf, background row) contributes its value under
//!   a condition "players `A` in `S`, players `B` not in `S`", or never.
//! * So `v(S) = c + Σ_(A,B) value(A,B) · [A ⊆ S, B ∩ S = ∅]`. The terms are grouped
//!   by their *support* `U = A ∪ B` into tables of `2^|U|` entries indexed by the
//!   pattern `S ∩ U`: `v(S) = c + Σ_U table_U[S ∩ U]`. A table whose support is
//!   contained in another's is folded into the bigger table, so that each
//!   coalition costs one lookup per remaining support.
//!
//! The terms are found per tree by one of two builders, whichever a cost model
//! (from a few background rows standing in for `x`) says is cheaper:
//!
//! * **walks**: per background row `b`, one walk down the tree that goes the way
//!   `x` and `b` both go, and branches where they part (`x`'s side adds the node's
//!   player to `A`, `b`'s side to `B`; a player met again follows its first choice);
//! * **leaf patterns** ([`LeafPatterns`], shallow trees): for each leaf, the
//!   background rows grouped by the path features they fail (independent of `x`),
//!   then per explained row one walk for `x` and one test per (leaf, group).
//!
//! Building the tables costs about as much as evaluating a handful of masked rows;
//! each coalition then costs a few dozen table lookups instead of
//! `background rows × trees` tree walks. The values equal the masked evaluation up
//! to the order of the floating-point sums (≈ 1e-16 relative), and do not depend on
//! the rows explained with them or the thread count. When the tables would be large
//! (deep trees with many players on one path) or no cheaper than the masked rows,
//! the caller evaluates masked rows.

use super::background::Background;
use super::sampling::Plan;
use crate::Ensemble;
use rayon::prelude::*;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Most players in one support (its table has `2^MAX_SUPPORT` entries per output).
const MAX_SUPPORT: u32 = 14;
/// Most table entries per explained row.
const MAX_ENTRIES: usize = 1 << 22;
/// Most precomputed background decisions (bytes) kept per run.
const MAX_BG_DECISIONS: usize = 1 << 26;

mod bits;
mod patterns;
mod tables;
#[cfg(test)]
mod tests;

use bits::{pdep, pext, MaskMap};
use patterns::LeafPatterns;
use tables::RowScratch;
pub(super) use tables::RowTables;

/// What the walks of one run share: the ensemble, the background, and where each
/// background row goes at each node.
pub(super) struct TreeGame<'a> {
    ens: &'a Ensemble,
    bg: &'a Background,
    /// Normalized background weights.
    bgw: Vec<f64>,
    /// First global node number of each tree.
    start: Vec<usize>,
    total_nodes: usize,
    /// `bleft[b * total_nodes + g]`: background row `b` goes left at global node `g`
    /// (internal nodes); empty when too large (decided on the fly).
    bleft: Vec<bool>,
    /// Cost per coalition of evaluating masked rows (node visits and copies).
    masked_cost: f64,
    /// The background grouped per leaf, for the trees where that is cheaper.
    leaves: LeafPatterns,
}

impl<'a> TreeGame<'a> {
    /// Prepares the walks of a run (background decisions at every node).
    pub(super) fn new(ens: &'a Ensemble, bg: &'a Background, bgw: Vec<f64>) -> Self {
        Self::with_mode(ens, bg, bgw, None)
    }

    /// [`TreeGame::new`] with the builder forced for every tree (tests).
    fn with_mode(
        ens: &'a Ensemble,
        bg: &'a Background,
        bgw: Vec<f64>,
        force: Option<bool>,
    ) -> Self {
        let mut start = Vec::with_capacity(ens.trees.len());
        let mut total_nodes = 0;
        for t in &ens.trees {
            start.push(total_nodes);
            total_nodes += t.nodes.len();
        }
        let nb = bg.rows();
        let mut bleft = Vec::new();
        if total_nodes > 0 && total_nodes.saturating_mul(nb) <= MAX_BG_DECISIONS {
            bleft = vec![false; total_nodes * nb];
            bleft
                .par_chunks_mut(total_nodes)
                .enumerate()
                .for_each(|(b, dst)| {
                    let row = bg.row(b);
                    for (t, &s) in ens.trees.iter().zip(&start) {
                        for (i, n) in t.nodes.iter().enumerate() {
                            if !n.is_leaf() {
                                dst[s + i] = t.goes_left(n, row[n.feature as usize]);
                            }
                        }
                    }
                });
        }
        // masked rows: a copy of the row, the background row's walk through every tree
        let visits: usize = (0..nb)
            .into_par_iter()
            .map(|b| {
                let row = bg.row(b);
                let mut visits = 0usize;
                for t in &ens.trees {
                    let mut i = 0usize;
                    loop {
                        let n = &t.nodes[i];
                        visits += 1;
                        if n.is_leaf() {
                            break;
                        }
                        i = t.next(i, row[n.feature as usize]);
                    }
                }
                visits
            })
            .sum();
        let masked_cost = visits as f64 + (nb * ens.num_features) as f64 * 0.25;
        let leaves = LeafPatterns::new(ens, &start, bg, &bgw, &bleft, force);
        TreeGame {
            ens,
            bg,
            bgw,
            start,
            total_nodes,
            bleft,
            masked_cost,
            leaves,
        }
    }

    /// The coalition tables of row `x` whose players are the features `varying`
    /// (at most 64), or `None` when they would be too large or no cheaper than
    /// evaluating the masked rows.
    pub(super) fn tables(&self, x: &[f64], varying: &[usize]) -> Option<RowTables> {
        let tab = self.build(x, varying)?;
        if tab.cost() > self.masked_cost {
            return None;
        }
        Some(tab)
    }

    /// The folded tables of row `x`, or `None` when they would be too large.
    fn build(&self, x: &[f64], varying: &[usize]) -> Option<RowTables> {
        if varying.len() > 64 {
            return None;
        }
        let mut tab = self.empty_tables();
        let mut row = RowScratch::new(self.ens, varying);
        for t in 0..self.ens.trees.len() {
            if self.leaves.by_pattern[t] {
                self.tree_by_patterns(&self.leaves, t, x, &mut row, &mut tab)?
            } else {
                self.tree_by_walks(t, x, &mut row, &mut tab)?
            }
        }
        tab.fold();
        Some(tab)
    }

    fn empty_tables(&self) -> RowTables {
        let wsum: f64 = self.bgw.iter().sum();
        RowTables {
            k: self.ens.num_outputs,
            constant: self.ens.base_margin.iter().map(|&v| v * wsum).collect(),
            ..Default::default()
        }
    }

    /// Adds tree `t`'s terms from its leaves' background patterns (one walk for `x`).
    fn tree_by_patterns(
        &self,
        lp: &LeafPatterns,
        t: usize,
        x: &[f64],
        row: &mut RowScratch,
        tab: &mut RowTables,
    ) -> Option<()> {
        let tree = &self.ens.trees[t];
        let (s, o) = (self.start[t], self.ens.tree_output[t] as usize);
        let nodes = &tree.nodes;
        let mut pb = [0u64; 64];
        let stack = &mut row.stack;
        stack.push((0, 0, 0));
        while let Some((mut i, xfail, _)) = stack.pop() {
            loop {
                let n = &nodes[i as usize];
                if n.is_leaf() {
                    let leaf = lp.leaf_of[s + i as usize] as usize;
                    let (f0, f1) = lp.feat_range[leaf];
                    for (q, &f) in lp.feats[f0 as usize..f1 as usize].iter().enumerate() {
                        pb[q] = row.pbit[f as usize];
                    }
                    let spread = |m: u64| {
                        let (mut r, mut m) = (0u64, m);
                        while m != 0 {
                            r |= pb[m.trailing_zeros() as usize];
                            m &= m - 1;
                        }
                        r
                    };
                    let outm = spread(xfail);
                    let (p0, p1) = lp.pat_range[leaf];
                    for &(bm, w) in &lp.pats[p0 as usize..p1 as usize] {
                        if bm & xfail != 0 {
                            continue;
                        }
                        let inm = spread(bm);
                        if inm.count_ones() + outm.count_ones()
                            != bm.count_ones() + xfail.count_ones()
                        {
                            // x and b differ on a feature found not to vary: cannot happen
                            return None;
                        }
                        if !tab.add(inm, outm, o, w * n.value) {
                            return None;
                        }
                    }
                    break;
                }
                let lx = tree.goes_left(n, x[n.feature as usize]);
                let bit = 1u64 << lp.local[s + i as usize];
                let (near, far) = if lx {
                    (n.left, n.right)
                } else {
                    (n.right, n.left)
                };
                stack.push((far, xfail | bit, 0));
                i = near;
            }
        }
        Some(())
    }

    /// Adds tree `t`'s terms from one walk per background row.
    fn tree_by_walks(
        &self,
        t: usize,
        x: &[f64],
        row: &mut RowScratch,
        tab: &mut RowTables,
    ) -> Option<()> {
        let tree = &self.ens.trees[t];
        let (s, o) = (self.start[t], self.ens.tree_output[t] as usize);
        let nodes = &tree.nodes;
        // where x goes at every internal node
        row.xleft.clear();
        row.xleft.extend(
            nodes
                .iter()
                .map(|n| !n.is_leaf() && tree.goes_left(n, x[n.feature as usize])),
        );
        let xl = &row.xleft;
        let stack = &mut row.stack;
        for b in 0..self.bg.rows() {
            let w = self.bgw[b];
            if w == 0.0 {
                continue;
            }
            let brow = self.bg.row(b);
            let base = b * self.total_nodes + s;
            let bl = (!self.bleft.is_empty()).then(|| &self.bleft[base..base + nodes.len()]);
            stack.push((0, 0, 0));
            while let Some((mut i, mut inm, outm)) = stack.pop() {
                loop {
                    let n = &nodes[i as usize];
                    if n.is_leaf() {
                        if !tab.add(inm, outm, o, w * n.value) {
                            return None;
                        }
                        break;
                    }
                    let lx = xl[i as usize];
                    let lb = match bl {
                        Some(bl) => bl[i as usize],
                        None => tree.goes_left(n, brow[n.feature as usize]),
                    };
                    let child = |left: bool| if left { n.left } else { n.right };
                    if lx == lb {
                        i = child(lx);
                        continue;
                    }
                    let bit = row.pbit[n.feature as usize];
                    if bit == 0 {
                        // x and b differ where the row was found not to vary: cannot happen
                        return None;
                    }
                    if inm & bit != 0 {
                        i = child(lx);
                    } else if outm & bit != 0 {
                        i = child(lb);
                    } else {
                        stack.push((child(lb), inm, outm | bit));
                        i = child(lx);
                        inm |= bit;
                    }
                }
            }
        }
        Some(())
    }

    /// `E_b f(x_S, b_¬S)` of every coalition of `plan` (row-major × outputs) into `ey`,
    /// or `None` when the caller should evaluate masked rows instead.
    pub(super) fn evaluate(
        &self,
        x: &[f64],
        varying: &[usize],
        plan: &Plan,
        ey: &mut [f64],
    ) -> Option<()> {
        if plan.words != 1 {
            return None;
        }
        let tab = self.tables(x, varying)?;
        tab.evaluate(plan, ey);
        if ey.iter().any(|v| v.is_nan()) {
            return None; // let the masked path report it
        }
        Some(())
    }
}
