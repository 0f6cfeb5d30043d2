//! XGBoost categorical splits (`split_type` 1): each categorical node's
//! category set is a segment of the tree's `categories` array, located by
//! `categories_nodes` / `categories_segments` / `categories_sizes`, and becomes
//! a bitset in [`Tree::cat_bits`] (see [`SplitKind::XgbCategorical`] for the
//! decision rule).
//!
//! XGBoost ≥ 3.1 may also record the training categories (`cats.enc`) and
//! re-code pandas/Arrow categories by name at prediction time; arrowshap takes
//! the integer codes as input values, as XGBoost's trees see them.

use super::doc::{join, Doc};
use crate::ensemble::{SplitKind, Tree};
use crate::Result;
use serde_json::Value;
use std::collections::HashMap;

/// Largest category XGBoost can represent exactly (it compares in f32).
const MAX_CATEGORY: i64 = 1 << 24;
/// Most u32 words of category bitsets over the whole model (64 MiB).
pub(super) const MAX_CAT_WORDS: usize = 1 << 24;

/// The category sets of one tree, by node index.
pub(super) struct CategorySets {
    /// Node → (start, size) in `categories`.
    of_node: HashMap<usize, (usize, usize)>,
    categories: Vec<i64>,
    /// Field path of `categories`, and of `categories_nodes`.
    path: String,
    nodes_path: String,
}

impl CategorySets {
    /// Reads the category arrays of tree `tv` (at `path`, `n` nodes).
    pub(super) fn read(doc: &Doc, tv: &Value, path: &str, n: usize) -> Result<Self> {
        let field =
            |k: &str| -> Result<(&Value, String)> { Ok((doc.req(tv, path, k)?, join(path, k))) };
        let (v, p) = field("categories_nodes")?;
        let nodes = doc.i64_vec(v, &p)?;
        let (v, ps) = field("categories_segments")?;
        let segs = doc.i64_vec(v, &ps)?;
        doc.check_len(&segs, nodes.len(), &ps, "one per categories_nodes entry")?;
        let (v, pz) = field("categories_sizes")?;
        let sizes = doc.i64_vec(v, &pz)?;
        doc.check_len(&sizes, nodes.len(), &pz, "one per categories_nodes entry")?;
        let (v, pc) = field("categories")?;
        let categories = doc.i64_vec(v, &pc)?;
        let mut of_node = HashMap::new();
        for (j, ((&nd, &s), &z)) in nodes.iter().zip(&segs).zip(&sizes).enumerate() {
            if nd < 0 || nd as u64 >= n as u64 {
                return Err(doc.err(
                    format!("{p}[{j}]"),
                    format!("node {nd} is out of range (0..{n})"),
                ));
            }
            if s < 0 || z < 0 || (s as u64).saturating_add(z as u64) > categories.len() as u64 {
                return Err(doc.err(
                    format!("{ps}[{j}]"),
                    format!(
                        "segment {s}+{z} is outside the {} categories",
                        categories.len()
                    ),
                ));
            }
            of_node.insert(nd as usize, (s as usize, z as usize));
        }
        Ok(CategorySets {
            of_node,
            categories,
            path: pc,
            nodes_path: p,
        })
    }

    /// Appends node `i`'s category set to `tree.cat_bits` as a bitset and
    /// returns the split kind with its (offset, words); `budget` bounds the
    /// words over the whole model.
    pub(super) fn split(
        &self,
        doc: &Doc,
        i: usize,
        tree: &mut Tree,
        budget: &mut usize,
    ) -> Result<(SplitKind, u32, u32)> {
        let &(s, z) = self.of_node.get(&i).ok_or_else(|| {
            doc.err(
                &self.nodes_path,
                format!("node {i} is a categorical split but has no category set"),
            )
        })?;
        let cats = &self.categories[s..s + z];
        let mut max = -1i64;
        for (j, &c) in cats.iter().enumerate() {
            if !(0..MAX_CATEGORY).contains(&c) {
                return Err(doc.err(
                    format!("{}[{}]", self.path, s + j),
                    format!("category {c} is outside 0..{MAX_CATEGORY}"),
                ));
            }
            max = max.max(c);
        }
        let words = if max < 0 { 0 } else { (max as usize) / 32 + 1 };
        if words > *budget {
            return Err(doc.err(&self.path, "category sets are implausibly large"));
        }
        *budget -= words;
        let off = tree.cat_bits.len();
        tree.cat_bits.resize(off + words, 0);
        for &c in cats {
            tree.cat_bits[off + c as usize / 32] |= 1u32 << (c as u32 % 32);
        }
        Ok((SplitKind::XgbCategorical, off as u32, words as u32))
    }
}
