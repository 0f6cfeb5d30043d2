//! The leaf-patterns builder: the background grouped per leaf by the path features it
//! fails (independent of the explained row), and the cost model choosing it per tree.

use super::*;

/// The background seen from each leaf, independent of the explained row.
///
/// Along the path to leaf `L` the masked row must pass every test; the tests on one
/// feature `f` are all decided by the same value (`x_f` when `f ∈ S`, else `b_f`).
/// So with `X_L` the path features whose tests `x` fails and `B_L(b)` those `b`
/// fails, the masked row reaches `L` iff `X_L ∩ B_L(b) = ∅`, `B_L(b) ⊆ S` and
/// `X_L ∩ S = ∅`. `B_L(b)` does not depend on `x`: background rows with the same
/// `B_L(b)` are one pattern with their summed weight, and a row then costs one walk
/// per tree (for `X_L`) and one test per (leaf, pattern), whatever the background size.
pub(super) struct LeafPatterns {
    /// Per tree: explained through its leaves' patterns (else by one walk per
    /// background row, cheaper for deep trees whose leaves outnumber the walks' nodes).
    pub(super) by_pattern: Vec<bool>,
    /// Per global node: the index, among the distinct features on the path to the
    /// node, of the node's feature (internal nodes).
    pub(super) local: Vec<u8>,
    /// Per global node: its leaf number (leaves).
    pub(super) leaf_of: Vec<u32>,
    /// Per leaf: range of its path features in `feats` (by local index).
    pub(super) feat_range: Vec<(u32, u32)>,
    pub(super) feats: Vec<u32>,
    /// Per leaf: range of its patterns in `pats`.
    pub(super) pat_range: Vec<(u32, u32)>,
    /// (local mask of the path features the rows fail, summed normalized weight).
    pub(super) pats: Vec<(u64, f64)>,
}

/// Cost of adding a term to the tables, in node visits (for choosing a builder).
pub(super) const EMIT: f64 = 8.0;
/// Cost of one background test while building the patterns, in node visits.
pub(super) const BUILD: f64 = 8.0;
/// Explained rows the building of the patterns is counted over. A constant, not the
/// run's row count: the choice of builder (and so the rounding of the values) must not
/// depend on how the input is cut into runs.
pub(super) const AMORTIZED_ROWS: f64 = 64.0;
/// Path features up to which a leaf's patterns are grouped by direct index.
pub(super) const DIRECT_PATTERN_BITS: usize = 12;
/// Most (leaf, pattern) pairs kept per run.
pub(super) const MAX_PATTERNS: usize = 1 << 22;

/// The patterns of one tree (node and leaf numbers local to the tree).
pub(super) struct TreePatterns {
    pub(super) local: Vec<u8>,
    pub(super) leaf_of: Vec<u32>,
    pub(super) feat_range: Vec<(u32, u32)>,
    pub(super) feats: Vec<u32>,
    pub(super) pat_range: Vec<(u32, u32)>,
    pub(super) pats: Vec<(u64, f64)>,
}

impl LeafPatterns {
    /// Patterns for the trees where they are cheaper than walks; `force`: for every
    /// tree (`Some(true)`) or none. Trees are prepared in parallel.
    pub(super) fn new(
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
    pub(super) fn tree(
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
