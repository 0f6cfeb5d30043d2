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
    /// The background grouped per leaf, for the trees where that is cheaper.
    leaves: LeafPatterns,
}

/// The background seen from each leaf, independent of the explained row.
///
/// Along the path to leaf `L` the masked row must pass every test; the tests on one
/// feature `f` are all decided by the same value (`x_f` when `f ∈ S`, else `b_f`).
/// So with `X_L` the path features whose tests `x` fails and `B_L(b)` those `b`
/// fails, the masked row reaches `L` iff `X_L ∩ B_L(b) = ∅`, `B_L(b) ⊆ S` and
/// `X_L ∩ S = ∅`. `B_L(b)` does not depend on `x`: background rows with the same
/// `B_L(b)` are one pattern with their summed weight, and a row then costs one walk
/// per tree (for `X_L`) and one test per (leaf, pattern), whatever the background size.
struct LeafPatterns {
    /// Per tree: explained through its leaves' patterns (else by one walk per
    /// background row, cheaper for deep trees whose leaves outnumber the walks' nodes).
    by_pattern: Vec<bool>,
    /// Per global node: the index, among the distinct features on the path to the
    /// node, of the node's feature (internal nodes).
    local: Vec<u8>,
    /// Per global node: its leaf number (leaves).
    leaf_of: Vec<u32>,
    /// Per leaf: range of its path features in `feats` (by local index).
    feat_range: Vec<(u32, u32)>,
    feats: Vec<u32>,
    /// Per leaf: range of its patterns in `pats`.
    pat_range: Vec<(u32, u32)>,
    /// (local mask of the path features the rows fail, summed normalized weight).
    pats: Vec<(u64, f64)>,
}

/// Cost of adding a term to the tables, in node visits (for choosing a builder).
const EMIT: f64 = 8.0;
/// Cost of one background test while building the patterns, in node visits.
const BUILD: f64 = 8.0;
/// Explained rows the building of the patterns is counted over. A constant, not the
/// run's row count: the choice of builder (and so the rounding of the values) must not
/// depend on how the input is cut into runs.
const AMORTIZED_ROWS: f64 = 64.0;
/// Path features up to which a leaf's patterns are grouped by direct index.
const DIRECT_PATTERN_BITS: usize = 12;
/// Most (leaf, pattern) pairs kept per run.
const MAX_PATTERNS: usize = 1 << 22;

/// The patterns of one tree (node and leaf numbers local to the tree).
struct TreePatterns {
    local: Vec<u8>,
    leaf_of: Vec<u32>,
    feat_range: Vec<(u32, u32)>,
    feats: Vec<u32>,
    pat_range: Vec<(u32, u32)>,
    pats: Vec<(u64, f64)>,
}

impl LeafPatterns {
    /// Patterns for the trees where they are cheaper than walks; `force`: for every
    /// tree (`Some(true)`) or none. Trees are prepared in parallel.
    fn new(
        ens: &Ensemble,
        start: &[usize],
        bg: &Background,
        bgw: &[f64],
        bleft: &[bool],
        force: Option<bool>,
    ) -> Self {
        let total: usize = ens.trees.iter().map(|t| t.nodes.len()).sum();
        let parts: Vec<Option<TreePatterns>> = ens
            .trees
            .par_iter()
            .zip(start.par_iter())
            .map(|(t, &s)| Self::tree(t, s, total, bg, bgw, bleft, force))
            .collect();
        let mut lp = LeafPatterns {
            by_pattern: vec![false; ens.trees.len()],
            local: vec![0; total],
            leaf_of: vec![u32::MAX; total],
            feat_range: Vec::new(),
            feats: Vec::new(),
            pat_range: Vec::new(),
            pats: Vec::new(),
        };
        for (ti, (part, &s)) in parts.into_iter().zip(start).enumerate() {
            let Some(tp) = part else { continue };
            lp.by_pattern[ti] = true;
            let n = tp.local.len();
            lp.local[s..s + n].copy_from_slice(&tp.local);
            let leaf0 = lp.feat_range.len() as u32;
            for (dst, &l) in lp.leaf_of[s..s + n].iter_mut().zip(&tp.leaf_of) {
                if l != u32::MAX {
                    *dst = leaf0 + l;
                }
            }
            let (f0, p0) = (lp.feats.len() as u32, lp.pats.len() as u32);
            lp.feat_range
                .extend(tp.feat_range.iter().map(|&(a, b)| (a + f0, b + f0)));
            lp.pat_range
                .extend(tp.pat_range.iter().map(|&(a, b)| (a + p0, b + p0)));
            lp.feats.extend_from_slice(&tp.feats);
            lp.pats.extend_from_slice(&tp.pats);
        }
        lp
    }

    /// Tree `t`'s patterns (global nodes from `s`), when cheaper than its walks.
    #[allow(clippy::too_many_arguments)]
    fn tree(
        t: &crate::Tree,
        s: usize,
        total: usize,
        bg: &Background,
        bgw: &[f64],
        bleft: &[bool],
        force: Option<bool>,
    ) -> Option<TreePatterns> {
        // background row b goes left at node i
        let goes_left = |i: usize, b: usize| -> bool {
            if bleft.is_empty() {
                let n = &t.nodes[i];
                t.goes_left(n, bg.row(b)[n.feature as usize])
            } else {
                bleft[b * total + s + i]
            }
        };
        let nb = bg.rows();
        let nn = t.nodes.len();
        // Cost per explained row, in node visits, an emitted term counting EMIT:
        // the walks' from a few background rows standing in for x (repeated
        // features counted as if free: an upper bound) ...
        let proxies = nb.min(4);
        let (mut visits, mut arrivals) = (0usize, 0usize);
        let mut walk: Vec<usize> = Vec::with_capacity(64);
        for r in 0..proxies {
            for b in 0..nb {
                walk.push(0usize);
                while let Some(mut i) = walk.pop() {
                    loop {
                        visits += 1;
                        let n = &t.nodes[i];
                        if n.is_leaf() {
                            arrivals += 1;
                            break;
                        }
                        let (lx, lb) = (goes_left(i, r), goes_left(i, b));
                        let child = |l: bool| if l { n.left } else { n.right } as usize;
                        if lx != lb {
                            walk.push(child(lb));
                        }
                        i = child(lx);
                    }
                }
            }
        }
        let walks = (visits as f64 + EMIT * arrivals as f64) / proxies.max(1) as f64;
        // ... against the patterns': building them (one test per path node and
        // background row, shared by the rows of the run), then every node and
        // every pattern per row
        let (mut leaves, mut path_nodes) = (0usize, 0usize);
        let mut stack = vec![(0usize, 0usize)];
        while let Some((i, d)) = stack.pop() {
            let n = &t.nodes[i];
            if n.is_leaf() {
                leaves += 1;
                path_nodes += d;
            } else {
                stack.push((n.left as usize, d + 1));
                stack.push((n.right as usize, d + 1));
            }
        }
        let build = BUILD * (nb * path_nodes) as f64 / AMORTIZED_ROWS;
        let lower = (nn + leaves) as f64 + build;
        if force == Some(false) || (force.is_none() && lower > walks) {
            return None;
        }
        if leaves * nb > MAX_PATTERNS {
            return None;
        }
        let mut tp = TreePatterns {
            local: vec![0; nn],
            leaf_of: vec![u32::MAX; nn],
            feat_range: Vec::with_capacity(leaves),
            feats: Vec::new(),
            pat_range: Vec::with_capacity(leaves),
            pats: Vec::new(),
        };
        // depth-first, keeping the path and its distinct features
        let mut path: Vec<usize> = Vec::new();
        let mut feats: Vec<u32> = Vec::new();
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)]; // (node, depth)
        while let Some((i, depth)) = stack.pop() {
            path.truncate(depth);
            // distinct features of the path down to i's parent
            feats.clear();
            for &g in &path {
                let f = t.nodes[g].feature;
                if !feats.contains(&f) {
                    feats.push(f);
                }
            }
            let n = &t.nodes[i];
            if !n.is_leaf() {
                let li = feats
                    .iter()
                    .position(|&f| f == n.feature)
                    .unwrap_or(feats.len());
                if li >= 64 {
                    return None; // a path with more than 64 features: walks
                }
                tp.local[i] = li as u8;
                path.push(i);
                stack.push((n.right as usize, depth + 1));
                stack.push((n.left as usize, depth + 1));
                continue;
            }
            // leaf: its path features
            tp.leaf_of[i] = tp.feat_range.len() as u32;
            let f0 = tp.feats.len() as u32;
            tp.feats.extend_from_slice(&feats);
            tp.feat_range.push((f0, tp.feats.len() as u32));
        }
        // each background row's failed path features at every leaf: one walk over
        // the whole tree per row
        let mut leaf_masks = vec![0u64; leaves * nb];
        let mut masked: Vec<(usize, u64)> = Vec::with_capacity(64);
        for b in 0..nb {
            masked.push((0, 0));
            while let Some((i, m)) = masked.pop() {
                let n = &t.nodes[i];
                if n.is_leaf() {
                    leaf_masks[tp.leaf_of[i] as usize * nb + b] = m;
                    continue;
                }
                let bit = 1u64 << tp.local[i];
                let (l, r) = if goes_left(i, b) { (0, bit) } else { (bit, 0) };
                masked.push((n.right as usize, m | r));
                masked.push((n.left as usize, m | l));
            }
        }
        // grouped per leaf, patterns in order of first row, a pattern's rows summed
        // in row order
        let mut slot: Vec<u32> = Vec::new();
        let mut masks: Vec<(u64, usize)> = Vec::new();
        for leaf in 0..leaves {
            let (f0, f1) = tp.feat_range[leaf];
            let nf = (f1 - f0) as usize;
            let p0 = tp.pats.len();
            let rows = (0..nb)
                .filter(|&b| bgw[b] != 0.0)
                .map(|b| (leaf_masks[leaf * nb + b], b));
            if nf <= DIRECT_PATTERN_BITS {
                // slot of each mask, by direct index
                if slot.len() < 1 << nf {
                    slot.resize(1 << nf, u32::MAX);
                }
                for (m, b) in rows {
                    match slot[m as usize] {
                        u32::MAX => {
                            slot[m as usize] = tp.pats.len() as u32;
                            tp.pats.push((m, bgw[b]));
                        }
                        at => tp.pats[at as usize].1 += bgw[b],
                    }
                }
                for &(m, _) in &tp.pats[p0..] {
                    slot[m as usize] = u32::MAX;
                }
            } else {
                masks.clear();
                masks.extend(rows);
                masks.sort_unstable(); // by mask, then row
                for &(m, b) in masks.iter() {
                    let fresh = tp.pats.len() == p0;
                    match tp.pats.last_mut() {
                        Some(last) if !fresh && last.0 == m => last.1 += bgw[b],
                        _ => tp.pats.push((m, bgw[b])),
                    }
                }
            }
            tp.pat_range.push((p0 as u32, tp.pats.len() as u32));
        }
        if tp.pats.len() > MAX_PATTERNS {
            return None;
        }
        // patterns if their scan (with the proxies' compatible patterns) is cheaper
        let mut emits = 0usize;
        for r in 0..proxies {
            let xr = bg.row(r);
            masked.push((0usize, 0u64));
            while let Some((i, xfail)) = masked.pop() {
                let n = &t.nodes[i];
                if n.is_leaf() {
                    let (p0, p1) = tp.pat_range[tp.leaf_of[i] as usize];
                    emits += tp.pats[p0 as usize..p1 as usize]
                        .iter()
                        .filter(|(bm, _)| bm & xfail == 0)
                        .count();
                    continue;
                }
                let bit = 1u64 << tp.local[i];
                let lx = t.goes_left(n, xr[n.feature as usize]);
                let (near, far) = if lx {
                    (n.left, n.right)
                } else {
                    (n.right, n.left)
                };
                masked.push((near as usize, xfail));
                masked.push((far as usize, xfail | bit));
            }
        }
        let scan =
            (nn + tp.pats.len()) as f64 + EMIT * emits as f64 / proxies.max(1) as f64 + build;
        (force == Some(true) || (force.is_none() && scan <= walks)).then_some(tp)
    }
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

/// Per-row buffers of the builders.
struct RowScratch {
    /// Player bit of each feature (0: not a player).
    pbit: Vec<u64>,
    /// x goes left at each node of the current tree.
    xleft: Vec<bool>,
    /// Depth-first stack: (node, players in / x fails, players out).
    stack: Vec<(u32, u64, u64)>,
}

impl RowScratch {
    fn new(ens: &Ensemble, varying: &[usize]) -> Self {
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
            let games = [
                TreeGame::with_mode(&ens, &bg, bgw.clone(), Some(true)),
                TreeGame::with_mode(&ens, &bg, bgw.clone(), Some(false)),
                TreeGame::new(&ens, &bg, bgw.clone()),
            ];
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
                // patterns, walks, the cheaper per tree
                assert!(games[0].leaves.by_pattern.iter().all(|&b| b));
                let eys: Vec<Vec<f64>> = games
                    .iter()
                    .map(|g| {
                        let mut ey = vec![0.0; plan.len() * k];
                        g.build(&x, &varying)
                            .expect("small")
                            .evaluate(&plan, &mut ey);
                        ey
                    })
                    .collect();
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
                    for (e, ey) in eys.iter().enumerate() {
                        for o in 0..k {
                            let got = ey[c * k + o];
                            assert!(
                                (got - want[o]).abs() <= 1e-12 * want[o].abs().max(1.0),
                                "case {case} way {e} coalition {c} output {o}: {got} vs {}",
                                want[o]
                            );
                        }
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
