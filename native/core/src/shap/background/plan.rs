//! The shape of a tree as the pattern algorithm reads it, and the walk that finds, for one
//! row, which path features it fails at every leaf.
//!
//! Each leaf's distinct path features get *positions* `0..d` in the order they first occur
//! from the root. A prefix of the path is shared by every leaf below it, so a node's
//! feature has the same position for all of them, and one depth-first walk per row and
//! tree yields every leaf's *fail mask* (bit `p` set when the row fails some split on the
//! feature at position `p`): `O(nodes)` per row and tree.

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
    /// The leaves, in depth-first order.
    pub(crate) leaves: Vec<LeafPlan>,
}

impl TreePlan {
    /// The plan of `tree`, or `None` when a leaf's path splits on more than
    /// [`MAX_PATH_FEATURES`] distinct features.
    pub(crate) fn new(tree: &Tree) -> Option<TreePlan> {
        let mut plan = TreePlan {
            slot: vec![0; tree.nodes.len()],
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
            let n = &tree.nodes[i];
            if n.left == LEAF {
                plan.slot[i] = plan.leaves.len() as u32;
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
            let len = path.len();
            stack.push((n.right as usize, len));
            stack.push((n.left as usize, len));
        }
        Some(plan)
    }

    /// Calls `f(leaf, fail_mask)` for every leaf of `tree`, for the row `row` (one value
    /// per model feature). `stack` is scratch.
    #[inline]
    pub(crate) fn walk(
        &self,
        tree: &Tree,
        row: &[f64],
        stack: &mut Vec<(u32, u64)>,
        mut f: impl FnMut(usize, u64),
    ) {
        if tree.nodes.is_empty() {
            return;
        }
        stack.clear();
        stack.push((0, 0));
        while let Some((i, fail)) = stack.pop() {
            let n = &tree.nodes[i as usize];
            let s = self.slot[i as usize];
            if n.left == LEAF {
                f(s as usize, fail);
                continue;
            }
            let bit = 1u64 << s;
            if tree.goes_left(n, row[n.feature as usize]) {
                stack.push((n.right, fail | bit));
                stack.push((n.left, fail));
            } else {
                stack.push((n.right, fail));
                stack.push((n.left, fail | bit));
            }
        }
    }
}
