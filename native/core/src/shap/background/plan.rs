//! The shape of a tree as the pattern algorithm reads it, and the walk that finds, for one
//! row, which path features it fails at every leaf.
//!
//! Each leaf's distinct path features get *positions* `0..d` in the order they first occur
//! from the root. A prefix of the path is shared by every leaf below it, so a node's
//! feature has the same position for all of them, and one pass over the tree per row
//! yields every leaf's *fail mask* (bit `p` set when the row fails some split on the
//! feature at position `p`): `O(nodes)` per row and tree.
//!
//! Every row visits every node (a background row reaches every leaf of the hybrid game,
//! only with another mask), so the visiting order does not depend on the row: the pass is
//! a loop over the internal nodes in a fixed parent-before-child order, each writing its
//! two children's masks without a branch on the row's decision (a depth-first walk with a
//! stack mispredicts about half of those decisions).

use crate::{Tree, LEAF};

/// The most distinct features one leaf's path may split on (fail masks are `u64`).
pub(crate) const MAX_PATH_FEATURES: usize = 64;

/// One leaf: its value and the feature at each path position.
pub(crate) struct LeafPlan {
    /// Leaf value (raw margin).
    pub(crate) value: f64,
    /// Feature index of path position `p`.
    pub(crate) feats: Vec<u32>,
}

/// A tree's positions and leaves.
pub(crate) struct TreePlan {
    /// Per node: the path position of its feature (internal nodes), or its leaf index
    /// (leaves, told apart by [`Tree`]'s `left == LEAF`).
    slot: Vec<u32>,
    /// Per node: the number of distinct path features above it (its fail masks' width).
    above: Vec<u32>,
    /// Internal nodes, each after its parent (depth-first pre-order).
    internal: Vec<u32>,
    /// Node index of each leaf, in leaf order.
    leaf_node: Vec<u32>,
    /// The leaves, in depth-first order.
    pub(crate) leaves: Vec<LeafPlan>,
}

impl TreePlan {
    /// The plan of `tree`, or `None` when a leaf's path splits on more than
    /// [`MAX_PATH_FEATURES`] distinct features.
    pub(crate) fn new(tree: &Tree) -> Option<TreePlan> {
        let mut plan = TreePlan {
            slot: vec![0; tree.nodes.len()],
            above: vec![0; tree.nodes.len()],
            internal: Vec::new(),
            leaf_node: Vec::new(),
            leaves: Vec::new(),
        };
        if tree.nodes.is_empty() {
            return Some(plan);
        }
        let mut path: Vec<u32> = Vec::new();
        // (node, path length on entry)
        let mut stack = vec![(0usize, 0usize)];
        while let Some((i, len)) = stack.pop() {
            path.truncate(len);
            plan.above[i] = len as u32;
            let n = &tree.nodes[i];
            if n.left == LEAF {
                plan.slot[i] = plan.leaves.len() as u32;
                plan.leaf_node.push(i as u32);
                plan.leaves.push(LeafPlan {
                    value: n.value,
                    feats: path.clone(),
                });
                continue;
            }
            let p = match path.iter().position(|&f| f == n.feature) {
                Some(p) => p,
                None => {
                    path.push(n.feature);
                    path.len() - 1
                }
            };
            if path.len() > MAX_PATH_FEATURES {
                return None;
            }
            plan.slot[i] = p as u32;
            plan.internal.push(i as u32);
            let len = path.len();
            stack.push((n.right as usize, len));
            stack.push((n.left as usize, len));
        }
        Some(plan)
    }

    /// The path position of internal node `node`'s feature, or the leaf index of leaf
    /// `node`.
    #[inline]
    pub(crate) fn slot(&self, node: usize) -> u32 {
        self.slot[node]
    }

    /// The number of distinct features on the path above `node`.
    #[inline]
    pub(crate) fn above(&self, node: usize) -> u32 {
        self.above[node]
    }

    /// Calls `f(leaf, fail_mask)` for every leaf of `tree`, in leaf order, for the row
    /// `row` (one value per model feature). `masks` is scratch (one entry per node).
    #[inline]
    pub(crate) fn walk(
        &self,
        tree: &Tree,
        row: &[f64],
        masks: &mut Vec<u64>,
        mut f: impl FnMut(usize, u64),
    ) {
        if tree.nodes.is_empty() {
            return;
        }
        masks.resize(tree.nodes.len(), 0);
        masks[0] = 0;
        for &i in &self.internal {
            let n = &tree.nodes[i as usize];
            let m = masks[i as usize];
            let bit = 1u64 << self.slot[i as usize];
            // the side the row does not take fails the split: no branch on the decision
            let left = tree.goes_left(n, row[n.feature as usize]) as u64;
            masks[n.left as usize] = m | (bit & (left.wrapping_sub(1)));
            masks[n.right as usize] = m | (bit & left.wrapping_neg());
        }
        for (l, &i) in self.leaf_node.iter().enumerate() {
            f(l, masks[i as usize]);
        }
    }
}
