//! Background (interventional) Shapley and Banzhaf values and interaction values in time
//! linear in *rows + background rows*: the background is prepared once into per-leaf
//! tables, then each sample costs the same whatever the background size.
//!
//! ## The decomposition
//!
//! For a leaf, a sample `x` and a background row `z`, the hybrid `(x_S, z_notS)` reaches
//! the leaf iff `S` holds every path feature `x` satisfies and `z` fails (`A`) and none
//! that `z` satisfies and `x` fails (`B`), and no path feature is failed by both; the
//! attributions of this game are closed forms in `|A|` and `|B|` ([`weights`]). Write `U`
//! for the path features `x` fails and `F` for those `z` fails: `z` counts iff `F ∩ U = ∅`,
//! and then `A = F`, `B = U`. So the whole background acts on `x` through the *counts of
//! background rows per fail mask* at each leaf — what WOODELF (Nadel & Lifshitz, AAAI
//! 2026) calls the leaf's patterns — and a sample needs only its own fail mask per leaf
//! ([`plan`]: one walk per tree yields all of them).
//!
//! * Preparation (once per background): one walk per (background row, tree) counts the
//!   masks, `O(background rows × nodes)`; then per leaf with `d` path features either a
//!   *dense* table over all `2^d` sample masks (ranked zeta transform, `O(2^d d^2)`;
//!   `O(d)` per sample and leaf afterwards) or a *sparse* list of the distinct masks
//!   (`O(distinct masks)` per sample and leaf: deep paths, tiny backgrounds) ([`table`]).
//! * Each sample: one walk per tree and one table entry per leaf: `O(nodes + leaves × d)`
//!   per tree, independent of the background size.
//!
//! Exact: the tables hold integer counts times closed-form weights. Tested against the
//! per-pair walk ([`super::interventional_bitset`]) and against enumeration.

mod apply;
pub(crate) mod bits;
mod count;
mod plan;
mod table;
pub mod weights;

use super::{
    block_rows, for_row_blocks, large_block_rows, DisjointOut, InteractionValues, ShapValues,
};
use crate::{Ensemble, Error, Matrix, Result, RunControl};
use apply::{add_leaf, LeafScratch, Sink};
use count::{Chunk, Isa, SetPlan, SetScratch};
use plan::{TreePlan, MAX_PATH_FEATURES};
use rayon::prelude::*;
use table::{Counts, Table};
pub use weights::Values;

/// How a [`Background`] is prepared.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Shapley or Banzhaf values.
    pub values: Values,
    /// Also prepare the pair tables, so that [`Background::interactions`] can run.
    pub interactions: bool,
    /// Leaves with at most this many distinct path features get a dense table (when the
    /// budget allows); deeper ones a sparse list. `0` makes every table sparse.
    pub dense_max_features: usize,
    /// Bytes of dense tables at most; leaves beyond it get sparse lists.
    pub table_budget: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            values: Values::Shapley,
            interactions: false,
            dense_max_features: 12,
            table_budget: 1 << 30,
        }
    }
}

/// A background prepared for one model: per leaf, what every sample receives by its fail
/// mask. Explaining any number of batches against it costs nothing more per batch.
pub struct Background {
    values: Values,
    interactions: bool,
    rows: usize,
    base: Vec<f64>,
    plans: Vec<TreePlan>,
    tables: Vec<Vec<Table>>,
    weights: weights::Weights,
    max_d: usize,
    /// (trees, nodes, features, outputs) of the model it was prepared for.
    shape: (usize, usize, usize, usize),
    bytes: usize,
}

/// Rows of the background gathered at a time while counting, when a tree is counted by
/// walks (row-major); a whole block count ([`count::BLOCK`]).
const WALK_CHUNK: usize = 4096;

fn shape_of(model: &Ensemble) -> (usize, usize, usize, usize) {
    let nodes = model.trees.iter().map(|t| t.nodes.len()).sum();
    (
        model.trees.len(),
        nodes,
        model.num_features,
        model.num_outputs,
    )
}

/// Counts the rows of `background` per leaf and fail mask into `counts` (per tree, per
/// leaf), trees in parallel: a chunk of rows at a time, with bit sets over blocks of rows
/// ([`count`]) for trees of up to [`count::MAX_SET_POSITIONS`] path features and one walk
/// per row ([`TreePlan::walk`]) for the others.
fn count_background(
    model: &Ensemble,
    plans: &[TreePlan],
    background: &Matrix,
    counts: &mut [Vec<Counts>],
    ctl: &RunControl,
) -> Result<()> {
    let (nb, m) = (background.rows(), model.num_features);
    let sets: Vec<Option<SetPlan>> = model
        .trees
        .iter()
        .zip(plans)
        .map(|(t, p)| SetPlan::new(t, p))
        .collect();
    let walks = sets.iter().any(|s| s.is_none());
    let isa = Isa::detect();
    let step = if walks {
        WALK_CHUNK
    } else {
        Chunk::rows_for(m)
    };
    let mut chunk = Chunk::default();
    let mut rows = Vec::new();
    for c0 in (0..nb).step_by(step) {
        if ctl.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let cn = step.min(nb - c0);
        chunk.gather(background, c0, cn);
        if walks {
            rows.resize(cn * m, 0.0);
            background.gather_rows(c0, &mut rows);
        }
        let (chunk, rows) = (&chunk, &rows[..]);
        ctl.install(|| {
            counts
                .par_iter_mut()
                .zip(plans.par_iter())
                .zip(sets.par_iter())
                .zip(model.trees.par_iter())
                .for_each_init(
                    SetScratch::default,
                    |s, (((cs, plan), set), tree)| match set {
                        Some(set) => set.count(tree, chunk, isa, s, cs),
                        None => {
                            let mut masks = Vec::new();
                            for r in 0..cn {
                                plan.walk(tree, &rows[r * m..(r + 1) * m], &mut masks, |l, f| {
                                    cs[l].add(f)
                                });
                            }
                        }
                    },
                )
        })?;
    }
    Ok(())
}

/// True when every leaf of `model` splits on at most 64 distinct features along its path
/// (what [`Background::prepare`] supports).
pub fn supported(model: &Ensemble) -> bool {
    model.trees.iter().all(|t| TreePlan::new(t).is_some())
}

impl Background {
    /// Prepares `background` for `model`.
    ///
    /// Errors: [`Error::Input`] when the background does not fit the model or has no rows,
    /// or a leaf's path splits on more than 64 distinct features; [`Error::Cancelled`].
    pub fn prepare(
        model: &Ensemble,
        background: &Matrix,
        opts: &Options,
        ctl: &RunControl,
    ) -> Result<Background> {
        model.check_input(background)?;
        let nb = background.rows();
        if nb == 0 {
            return Err(Error::Input("background has no rows".into()));
        }
        let mut plans = Vec::with_capacity(model.trees.len());
        for (i, t) in model.trees.iter().enumerate() {
            plans.push(TreePlan::new(t).ok_or_else(|| {
                Error::Input(format!(
                    "tree {i}: a leaf's path splits on more than {MAX_PATH_FEATURES} distinct features; \
                     the background explainer supports at most {MAX_PATH_FEATURES}"
                ))
            })?);
        }
        let max_d = plans
            .iter()
            .flat_map(|p| p.leaves.iter().map(|l| l.feats.len()))
            .max()
            .unwrap_or(0);
        let dense_d = opts.dense_max_features.min(24);
        let new_counts = |p: &TreePlan| -> Vec<Counts> {
            p.leaves
                .iter()
                .map(|l| Counts::new(l.feats.len(), l.feats.len() <= dense_d))
                .collect()
        };
        // count background rows per leaf and fail mask, trees in parallel
        let mut counts: Vec<Vec<Counts>> = plans.iter().map(new_counts).collect();
        count_background(model, &plans, background, &mut counts, ctl)?;
        // base value: mean raw prediction = Σ leaf value × rows reaching it / rows
        let mut base = model.base_margin.clone();
        base.resize(model.num_outputs, 0.0);
        for ((plan, cs), &o) in plans.iter().zip(&counts).zip(&model.tree_output) {
            for (leaf, c) in plan.leaves.iter().zip(cs) {
                let reach = match c {
                    Counts::Dense(v) => v.first().copied().unwrap_or(0),
                    Counts::Sparse(h) => h.get(&0).copied().unwrap_or(0),
                };
                base[o as usize] += leaf.value * reach as f64 / nb as f64;
            }
        }
        // which leaves get dense tables: those whose dense counts show more distinct masks
        // than path features (a sparse pass would then cost more per sample), within budget
        let mut budget = opts.table_budget;
        let mut dense_leaf: Vec<Vec<bool>> = Vec::with_capacity(plans.len());
        for (plan, cs) in plans.iter().zip(&counts) {
            let mut v = Vec::with_capacity(cs.len());
            for (leaf, c) in plan.leaves.iter().zip(cs) {
                let d = leaf.feats.len();
                let want = match c {
                    Counts::Dense(n) => n.iter().filter(|&&x| x > 0).count() > d.max(1),
                    Counts::Sparse(_) => false,
                };
                let bytes = (8usize << d) * table::width(d, opts.interactions);
                let ok = want && bytes <= budget;
                if ok {
                    budget -= bytes;
                }
                v.push(ok);
            }
            dense_leaf.push(v);
        }
        let w = weights::Weights::new(opts.values, max_d);
        let inter = opts.interactions;
        let tables: Vec<Vec<Table>> = ctl.install(|| {
            counts
                .into_par_iter()
                .zip(plans.par_iter())
                .zip(dense_leaf.par_iter())
                .map(|((cs, plan), dl)| {
                    cs.into_iter()
                        .zip(&plan.leaves)
                        .zip(dl)
                        .map(|((c, leaf), &dense)| {
                            let scale = leaf.value / nb as f64;
                            match (&c, dense) {
                                (Counts::Dense(n), true) => {
                                    table::dense(leaf.feats.len(), n, scale, &w, inter)
                                }
                                _ => table::sparse(&c, scale),
                            }
                        })
                        .collect()
                })
                .collect()
        })?;
        let bytes = tables
            .iter()
            .flatten()
            .map(|t| match t {
                Table::Dense { data, live, .. } => data.len() * 8 + live.len() * 8,
                Table::Sparse(p) => p.len() * 16,
            })
            .sum();
        Ok(Background {
            values: opts.values,
            interactions: inter,
            rows: nb,
            base,
            plans,
            tables,
            weights: w,
            max_d,
            shape: shape_of(model),
            bytes,
        })
    }

    /// Number of background rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Which values it computes.
    pub fn values_kind(&self) -> Values {
        self.values
    }
    /// The base value per output: the mean raw prediction over the background.
    pub fn base_value(&self) -> &[f64] {
        &self.base
    }
    /// Bytes held by the tables.
    pub fn table_bytes(&self) -> usize {
        self.bytes
    }

    fn check(&self, model: &Ensemble, x: &Matrix) -> Result<()> {
        if shape_of(model) != self.shape {
            return Err(Error::Input(
                "the background was prepared for another model".into(),
            ));
        }
        model.check_input(x)
    }

    /// Values of every row of `x` (Shapley or Banzhaf, as prepared); the base column is
    /// [`Background::base_value`]. Multi-threaded over row blocks, deterministic for any
    /// thread count.
    ///
    /// Errors: [`Error::Input`] when `x` does not fit `model` or `model` is not the one
    /// prepared for; [`Error::Cancelled`].
    pub fn values(&self, model: &Ensemble, x: &Matrix, ctl: &RunControl) -> Result<ShapValues> {
        self.check(model, x)?;
        let (rows, m, k) = (x.rows(), model.num_features, model.num_outputs);
        let mut values = vec![0.0; (m + 1) * rows * k];
        let out = DisjointOut::new(&mut values);
        // a tree's tables are read once per block: large blocks keep them in cache
        let block = large_block_rows(rows, ctl, 256);
        for_row_blocks(
            rows,
            block,
            ctl,
            || Scratch::new(self.max_d),
            |s, start, n| {
                self.walk_block(model, x, start, n, s, false);
                for j in 0..m {
                    for r in 0..n {
                        for kk in 0..k {
                            let i = j * rows * k + (start + r) * k + kk;
                            // SAFETY: rows start..start+n belong to this block only.
                            unsafe { out.write(i, s.phi[(r * k + kk) * m + j]) };
                        }
                    }
                }
            },
        )?;
        super::fill_base(&mut values, rows, m, &self.base);
        Ok(ShapValues {
            rows,
            outputs: k,
            features: m,
            values,
        })
    }

    /// Interaction values of every row of `x` (Shapley or Banzhaf interaction index, half
    /// of it off the diagonal; the diagonal makes each row sum to the value). Needs a
    /// background prepared with [`Options::interactions`].
    ///
    /// Errors: as [`Background::values`], and [`Error::Input`] when the background was
    /// prepared without interactions.
    pub fn interactions(
        &self,
        model: &Ensemble,
        x: &Matrix,
        ctl: &RunControl,
    ) -> Result<InteractionValues> {
        self.check(model, x)?;
        if !self.interactions {
            return Err(Error::Input(
                "the background was prepared without interaction tables".into(),
            ));
        }
        let (rows, m, k) = (x.rows(), model.num_features, model.num_outputs);
        let t = rows * k * m;
        let mut values = vec![0.0; m * t];
        let out = DisjointOut::new(&mut values);
        let max = ((8usize << 20) / (8 * k * m * m).max(1)).max(1);
        let block = block_rows(rows, ctl, 1, max.min(64));
        for_row_blocks(
            rows,
            block,
            ctl,
            || Scratch::new(self.max_d),
            |s, start, n| {
                self.walk_block(model, x, start, n, s, true);
                for rk in 0..n * k {
                    let mat = &mut s.mat[rk * m * m..(rk + 1) * m * m];
                    for i in 0..m {
                        let off: f64 = (0..m).filter(|&j| j != i).map(|j| mat[i * m + j]).sum();
                        mat[i * m + i] = s.phi[rk * m + i] - off;
                    }
                    let row0 = (start * k + rk) * m;
                    for j in 0..m {
                        for i in 0..m {
                            // SAFETY: rows start..start+n belong to this block only.
                            unsafe { out.write(j * t + row0 + i, mat[i * m + j]) };
                        }
                    }
                }
            },
        )?;
        Ok(InteractionValues {
            rows,
            outputs: k,
            features: m,
            values,
        })
    }

    /// Fills `s.phi` (`n × outputs × m`) and, with `pairs`, `s.mat` (`n × outputs × m × m`,
    /// off-diagonal) for rows `start..start+n` of `x`, tree by tree so that a tree's
    /// tables stay in cache while the block's rows use them.
    fn walk_block(
        &self,
        model: &Ensemble,
        x: &Matrix,
        start: usize,
        n: usize,
        s: &mut Scratch,
        pairs: bool,
    ) {
        let (m, k) = (model.num_features, model.num_outputs);
        s.rows.resize(n * m, 0.0);
        x.gather_rows(start, &mut s.rows);
        s.phi.clear();
        s.phi.resize(n * k * m, 0.0);
        if pairs {
            s.mat.clear();
            s.mat.resize(n * k * m * m, 0.0);
        }
        let w = &self.weights;
        for (((tree, plan), tables), &o) in model
            .trees
            .iter()
            .zip(&self.plans)
            .zip(&self.tables)
            .zip(&model.tree_output)
        {
            let o = o as usize;
            for r in 0..n {
                let rk = r * k + o;
                let mut sink = Sink {
                    phi: &mut s.phi[rk * m..(rk + 1) * m],
                    mat: if pairs {
                        Some(&mut s.mat[rk * m * m..(rk + 1) * m * m])
                    } else {
                        None
                    },
                    m,
                };
                let ls = &mut s.leaf;
                plan.walk(tree, &s.rows[r * m..(r + 1) * m], &mut s.masks, |l, u| {
                    add_leaf(&tables[l], &plan.leaves[l].feats, u, w, ls, &mut sink)
                });
            }
        }
    }
}

/// Per-worker buffers.
struct Scratch {
    rows: Vec<f64>,
    phi: Vec<f64>,
    mat: Vec<f64>,
    masks: Vec<u64>,
    leaf: LeafScratch,
}

impl Scratch {
    fn new(d: usize) -> Scratch {
        Scratch {
            rows: Vec::new(),
            phi: Vec::new(),
            mat: Vec::new(),
            masks: Vec::new(),
            leaf: LeafScratch::new(d),
        }
    }
}
