//! Coalition values of a tree ensemble without materialising masked rows.
//!
//! KernelSHAP needs, for every coalition `S` of a row `x`, the background average
//! `v(S) = Σ_b w_b f(x_S, b_¬S)`. Evaluating the masked rows costs
//! `coalitions × background rows × trees × depth` node visits per explained row.
//! For a tree ensemble the same values come from the trees' structure:
//!
//! * In one tree, for one background row `b`, the masked row `(x_S, b_¬S)` goes the
//!   way `x` goes at a node where `x` and `b` go the same way; where they part, it
//!   follows `x` when the node's feature is in `S` and `b` otherwise. One walk over
//!   the tree, branching at the nodes where `x` and `b` part, finds every leaf some
//!   coalition reaches, each with its condition "players `A` in `S`, players `B` not
//!   in `S`" (a player met twice on a path is decided by the first meeting).
//! * So `v(S) = c + Σ_(A,B) value(A,B) · [A ⊆ S, B ∩ S = ∅]`. The terms are grouped
//!   by their *support* `U = A ∪ B` into tables of `2^|U|` entries indexed by the
//!   pattern `S ∩ U`: `v(S) = c + Σ_U table_U[S ∩ U]`.
//! * A table whose support is contained in another's is folded into the bigger
//!   table, so that each coalition costs one lookup per remaining support.
//!
//! Building the tables costs one walk per (tree, background row), about the cost of
//! evaluating a handful of masked rows; each coalition then costs a few hundred
//! table lookups instead of `background rows × trees` tree walks. The values equal
//! the masked evaluation up to the order of the floating-point sums (≈ 1e-16
//! relative). When the tables would be large (deep trees with many players on one
//! path) or no cheaper than the masked rows, the caller evaluates masked rows.

use super::background::Background;
use super::sampling::Plan;
use crate::Ensemble;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Most players in one support (its table has `2^MAX_SUPPORT` entries per output).
const MAX_SUPPORT: u32 = 14;
/// Most table entries per explained row.
const MAX_ENTRIES: usize = 1 << 22;
/// Most precomputed background decisions (bytes) kept per run.
const MAX_BG_DECISIONS: usize = 1 << 26;
/// No player.
const NONE: u8 = u8::MAX;

/// A multiplicative hasher for `u64` keys (the supports).
#[derive(Default)]
struct MaskHasher(u64);
impl Hasher for MaskHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, x: u64) {
        let h = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }
}
type MaskMap = HashMap<u64, u32, BuildHasherDefault<MaskHasher>>;

/// The bits of `x` at the positions of `mask`'s set bits, packed (software `pext`).
#[inline(always)]
fn pext(x: u64, mut mask: u64) -> usize {
    let mut r = 0usize;
    let mut i = 0;
    while mask != 0 {
        let low = mask & mask.wrapping_neg();
        r |= ((x & low != 0) as usize) << i;
        i += 1;
        mask ^= low;
    }
    r
}

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
}

/// The coalition tables of one explained row.
#[derive(Default)]
pub(super) struct RowTables {
    k: usize,
    /// Part of `v(S)` that no coalition changes, per output.
    constant: Vec<f64>,
    /// Support of each table.
    masks: Vec<u64>,
    /// First entry of each table in `arena`.
    offsets: Vec<usize>,
    /// Tables: `2^|U| × k` entries each, pattern-major.
    arena: Vec<f64>,
    index: MaskMap,
}

impl RowTables {
    /// Adds `v` to output `o` of the entry of coalitions with players `inm` in and `outm` out.
    #[inline]
    fn add(&mut self, inm: u64, outm: u64, o: usize, v: f64) -> bool {
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
    fn fold(&mut self) {
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
    fn cost(&self) -> f64 {
        self.masks
            .iter()
            .map(|u| 2.0 + u.count_ones() as f64)
            .sum::<f64>()
            * self.k as f64
    }

    /// `v(S)` of every coalition of `plan` into `ey` (row-major coalitions × k).
    fn evaluate(&self, plan: &Plan, ey: &mut [f64]) {
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

/// The inverse of [`pext`]: the low bits of `x` spread onto `mask`'s set bits.
#[inline]
fn pdep(mut x: u64, mut mask: u64) -> u64 {
    let mut r = 0u64;
    while mask != 0 {
        let low = mask & mask.wrapping_neg();
        if x & 1 != 0 {
            r |= low;
        }
        x >>= 1;
        mask ^= low;
    }
    r
}

impl<'a> TreeGame<'a> {
    /// Prepares the walks of a run (background decisions at every node).
    pub(super) fn new(ens: &'a Ensemble, bg: &'a Background, bgw: Vec<f64>) -> Self {
        let mut start = Vec::with_capacity(ens.trees.len());
        let mut total_nodes = 0;
        for t in &ens.trees {
            start.push(total_nodes);
            total_nodes += t.nodes.len();
        }
        let nb = bg.rows();
        let mut bleft = Vec::new();
        if total_nodes.saturating_mul(nb) <= MAX_BG_DECISIONS {
            bleft = vec![false; total_nodes * nb];
            for b in 0..nb {
                let row = bg.row(b);
                let dst = &mut bleft[b * total_nodes..(b + 1) * total_nodes];
                for (t, &s) in ens.trees.iter().zip(&start) {
                    for (i, n) in t.nodes.iter().enumerate() {
                        if !n.is_leaf() {
                            dst[s + i] = t.goes_left(n, row[n.feature as usize]);
                        }
                    }
                }
            }
        }
        // masked rows: a copy of the row, the background row's walk through every tree
        let mut visits = 0.0;
        for b in 0..nb {
            let row = bg.row(b);
            for t in &ens.trees {
                let mut i = 0usize;
                loop {
                    let n = &t.nodes[i];
                    visits += 1.0;
                    if n.is_leaf() {
                        break;
                    }
                    i = t.next(i, row[n.feature as usize]);
                }
            }
        }
        let masked_cost = visits + (nb * ens.num_features) as f64 * 0.25;
        TreeGame {
            ens,
            bg,
            bgw,
            start,
            total_nodes,
            bleft,
            masked_cost,
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
        let ens = self.ens;
        let k = ens.num_outputs;
        let mut player = vec![NONE; ens.num_features];
        for (p, &j) in varying.iter().enumerate() {
            player[j] = p as u8;
        }
        // where x goes at every internal node
        let mut xleft = vec![false; self.total_nodes];
        for (t, &s) in ens.trees.iter().zip(&self.start) {
            for (i, n) in t.nodes.iter().enumerate() {
                if !n.is_leaf() {
                    xleft[s + i] = t.goes_left(n, x[n.feature as usize]);
                }
            }
        }
        let wsum: f64 = self.bgw.iter().sum();
        let mut tab = RowTables {
            k,
            constant: self.ens.base_margin.iter().map(|&v| v * wsum).collect(),
            ..Default::default()
        };
        let mut stack: Vec<(u32, u64, u64)> = Vec::with_capacity(64);
        let nb = self.bg.rows();
        for ((tree, &s), &o) in ens.trees.iter().zip(&self.start).zip(&ens.tree_output) {
            let o = o as usize;
            let nodes = &tree.nodes;
            let xl = &xleft[s..s + nodes.len()];
            for b in 0..nb {
                let w = self.bgw[b];
                if w == 0.0 {
                    continue;
                }
                let brow = self.bg.row(b);
                let bl = if self.bleft.is_empty() {
                    None
                } else {
                    Some(
                        &self.bleft
                            [b * self.total_nodes + s..b * self.total_nodes + s + nodes.len()],
                    )
                };
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
                        let p = player[n.feature as usize];
                        if p == NONE {
                            // x and b differ where the row was found not to vary: cannot happen
                            return None;
                        }
                        let bit = 1u64 << p;
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
        }
        tab.fold();
        Some(tab)
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

#[cfg(test)]
mod tests {
    use super::super::rng::Rng;
    use super::super::sampling;
    use super::*;
    use crate::ensemble::{Link, ModelSource};
    use crate::{Node, SplitKind, Tree, LEAF};

    fn node(rng: &mut Rng, m: usize) -> Node {
        let kinds = [
            SplitKind::XgbNumeric,
            SplitKind::LgbNumericNan,
            SplitKind::LgbNumericNone,
            SplitKind::LgbNumericZero,
        ];
        Node {
            left: LEAF,
            right: LEAF,
            feature: rng.below(m) as u32,
            kind: kinds[rng.below(kinds.len())],
            default_left: rng.below(2) == 0,
            threshold: (rng.below(9) as f64 + 0.5) / 10.0 - 0.3,
            cat_offset: 0,
            cat_words: 0,
            value: rng.next_f64() * 2.0 - 1.0,
            cover: 1.0,
            gain: 0.0,
        }
    }

    fn grow(nodes: &mut Vec<Node>, rng: &mut Rng, m: usize, depth: usize) -> u32 {
        let id = nodes.len();
        nodes.push(node(rng, m));
        if depth > 0 && rng.next_f64() > 0.1 {
            let l = grow(nodes, rng, m, depth - 1);
            let r = grow(nodes, rng, m, depth - 1);
            nodes[id].left = l;
            nodes[id].right = r;
            nodes[id].value = 0.0;
        }
        id as u32
    }

    fn ensemble(rng: &mut Rng, m: usize, k: usize, trees: usize, depth: usize) -> Ensemble {
        let mut ts = Vec::new();
        for _ in 0..trees * k {
            let mut nodes = Vec::new();
            grow(&mut nodes, rng, m, depth);
            ts.push(Tree {
                nodes,
                cat_bits: vec![],
            });
        }
        Ensemble {
            trees: ts,
            tree_output: (0..trees * k).map(|t| (t % k) as u32).collect(),
            num_outputs: k,
            num_features: m,
            feature_names: (0..m).map(|j| format!("f{j}")).collect(),
            base_margin: (0..k).map(|o| 0.25 * o as f64 - 0.1).collect(),
            objective: "reg:squarederror".into(),
            link: Link::Identity,
            source: ModelSource::Synthetic,
        }
    }

    /// Values on a coarse grid with NaN, so that rows often agree with the background.
    fn value(rng: &mut Rng) -> f64 {
        match rng.below(12) {
            0 => f64::NAN,
            1 => -0.0,
            v => (v as f64 - 6.0) / 10.0,
        }
    }

    /// The coalition-set walk gives the values of the masked rows, for random
    /// ensembles (several outputs, every numeric split kind, NaN), weighted
    /// backgrounds, sampled and fully enumerated plans.
    #[test]
    fn tree_walk_equals_masked_rows() {
        let mut rng = Rng::new(5);
        let mut checked = 0;
        for case in 0..24 {
            let m = 2 + case % 9;
            let k = 1 + case % 3;
            let ens = ensemble(&mut rng, m, k, 3 + case % 7, 1 + case % 6);
            let nb = 1 + rng.below(9);
            let bg = Background {
                cols: m,
                data: (0..nb * m).map(|_| value(&mut rng)).collect(),
                weights: (0..nb)
                    .map(|i| if i == 1 { 0.0 } else { 0.5 + rng.next_f64() })
                    .collect(),
            };
            let total: f64 = bg.weights.iter().sum();
            let bgw: Vec<f64> = bg.weights.iter().map(|w| w / total).collect();
            let game = TreeGame::new(&ens, &bg, bgw.clone());
            for _ in 0..4 {
                let x: Vec<f64> = (0..m).map(|_| value(&mut rng)).collect();
                let varying: Vec<usize> = (0..m)
                    .filter(|&j| {
                        (0..nb).any(|b| {
                            let v = bg.data[b * m + j];
                            !(v == x[j] || (v.is_nan() && x[j].is_nan()))
                        })
                    })
                    .collect();
                let mv = varying.len();
                if mv < 2 {
                    continue;
                }
                let budget = if rng.below(2) == 0 {
                    1 << mv
                } else {
                    3 + rng.below(40)
                };
                let plan = sampling::plan(mv, budget, &mut rng);
                let tab = game.build(&x, &varying).expect("small tables");
                let mut ey = vec![0.0; plan.len() * k];
                tab.evaluate(&plan, &mut ey);
                let mut row = vec![0.0; m];
                let mut f = vec![0.0; k];
                for c in 0..plan.len() {
                    let mut want = vec![0.0; k];
                    for b in 0..nb {
                        row.copy_from_slice(bg.row(b));
                        for (p, &j) in varying.iter().enumerate() {
                            if plan.has(c, p) {
                                row[j] = x[j];
                            }
                        }
                        ens.predict_row_into(&row, &mut f);
                        for o in 0..k {
                            want[o] += bgw[b] * f[o];
                        }
                    }
                    checked += 1;
                    for o in 0..k {
                        let got = ey[c * k + o];
                        assert!(
                            (got - want[o]).abs() <= 1e-12 * want[o].abs().max(1.0),
                            "case {case} coalition {c} output {o}: {got} vs {}",
                            want[o]
                        );
                    }
                }
            }
        }
        assert!(checked > 500, "only {checked} coalitions checked");
    }

    #[test]
    fn pext_and_pdep_invert() {
        let mask = 0b1011_0010u64;
        for q in 0..16u64 {
            let s = pdep(q, mask);
            assert_eq!(s & !mask, 0);
            assert_eq!(pext(s, mask), q as usize);
        }
        assert_eq!(pext(0b1010_0010, mask), 0b1101);
    }
}
