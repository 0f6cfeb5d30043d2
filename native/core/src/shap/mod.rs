//! SHAP explainers over an [`crate::Ensemble`].
//!
//! * [`path_dependent`]: per-sample SHAP values with the cover-weighted
//!   (path-dependent) value function, what XGBoost's `pred_contribs` and
//!   LightGBM's `pred_contrib` return. The fast path is a lane-vectorised
//!   *Linear TreeSHAP* with Gauss–Legendre quadrature (described below).
//! * [`interactions`]: SHAP interaction values (`pred_interactions`, M×M part).
//! * [`interventional`]: SHAP values against a background set, as shap's
//!   `TreeExplainer(data=bg, feature_perturbation="interventional")` on the raw output.
//! * [`Prepared`]: a model with these explainers' plans built once and shared by every
//!   call and thread, with a single-row path on the calling thread for online use.
//! * [`oracle`]: Lundberg's recursive TreeSHAP, kept plain as the test oracle.
//! * [`brute`]: exact Shapley enumeration for small feature counts.
//! * [`synth`]: seeded synthetic ensembles for tests and benches.
//!
//! The row kernels are compiled for AVX-512 and AVX2 as well as the baseline and picked at
//! run time; they give bit-identical results (no fused multiply-add). Setting the environment
//! variable `ARROWSHAP_NO_SIMD` forces the baseline.
//!
//! ## The polynomial view every fast path here uses
//!
//! For one leaf `l` with value `v`, let `P` be the distinct features on its root
//! path. For a feature `g ∈ P`, merge all its splits on the path: `Z_g` is the
//! product of the cover ratios ([`zero_fraction`]) of those edges, `O_g ∈ {0,1}`
//! is 1 when the sample takes all of them. The path-dependent value function
//! of the leaf is the product game `∏_{g∈P} (g∈S ? O_g : Z_g)`, whose Shapley
//! value is, by the Beta integral `|S|!(d-1-|S|)!/d! = ∫₀¹ t^|S| (1-t)^(d-1-|S|) dt`,
//!
//! `φ_i = v (O_i - Z_i) ∫₀¹ ∏_{g∈P, g≠i} (Z_g + t (O_g - Z_g)) dt`,
//!
//! a polynomial of degree `|P|-1` integrated exactly by `⌈|P|/2⌉` Gauss–Legendre
//! points. Interaction values are the same with two factors removed.
//!
//! ## Why these algorithms (measured)
//!
//! On a 500-tree depth-8 model over 32 features (`benches/treeshap.rs`), one core, AVX-512:
//! the Linear TreeSHAP sweep (one pass over every node per row and tree, `O(nodes × ⌈D/2⌉)`,
//! 32 rows per lane group (four AVX-512 registers), no division per row) runs about 3,300 rows/s; evaluating
//! the same quadrature leaf by leaf (the GPUTreeShap-style path decomposition, prefix and
//! suffix products, same lane layout) about 4× slower; Lundberg's recursive algorithm
//! ([`oracle`]) about 30 rows/s. Interactions use the leaf-by-leaf form (pairs need it), and
//! interventional values walk each tree once per sample with the background as bit sets.

use crate::{Ensemble, Error, Matrix, Result, RunControl, Tree};
use rayon::prelude::*;

pub mod background;
#[cfg(any(test, feature = "testing"))]
pub mod brute;
mod interactions_impl;
mod interventional_impl;
mod linear;
mod linear_row;
#[cfg(any(test, feature = "testing"))]
pub mod oracle;
mod prepared;
pub mod probability;
pub(crate) mod quadrature;
#[cfg(any(test, feature = "testing"))]
pub mod synth;

pub use prepared::{PrepareWhat, Prepared};

/// Per-sample SHAP values, column-major: column j (0..features) then the base-value column j==features;
/// each column has rows*outputs entries ordered (row, output): values[j*rows*outputs + r*outputs + k].
#[derive(Clone, Debug, PartialEq)]
pub struct ShapValues {
    /// Number of samples explained.
    pub rows: usize,
    /// Number of model outputs (1, or the number of classes).
    pub outputs: usize,
    /// Number of model features (the base-value column comes after them).
    pub features: usize,
    /// `(features + 1) * rows * outputs` values, column-major as described above.
    pub values: Vec<f64>,
}

impl ShapValues {
    /// The value of feature `j` (or the base value when `j == features`) for sample `r`, output `k`.
    #[inline]
    pub fn get(&self, r: usize, k: usize, j: usize) -> f64 {
        self.values[j * self.rows * self.outputs + r * self.outputs + k]
    }
    /// The column of feature `j` (or the base value when `j == features`): `rows*outputs` values.
    pub fn column(&self, j: usize) -> &[f64] {
        let n = self.rows * self.outputs;
        &self.values[j * n..(j + 1) * n]
    }
}

/// Interaction values without the bias row/column: table rows ordered (row, output, feature i),
/// T = rows*outputs*features; column j is values[j*T .. (j+1)*T], entry ((r*outputs+k)*features + i).
#[derive(Clone, Debug, PartialEq)]
pub struct InteractionValues {
    /// Number of samples explained.
    pub rows: usize,
    /// Number of model outputs.
    pub outputs: usize,
    /// Number of model features.
    pub features: usize,
    /// `features * rows * outputs * features` values, column-major as described above.
    pub values: Vec<f64>,
}

impl InteractionValues {
    /// Interaction of features `i` and `j` for sample `r`, output `k` (main effect when `i == j`).
    #[inline]
    pub fn get(&self, r: usize, k: usize, i: usize, j: usize) -> f64 {
        let t = self.rows * self.outputs * self.features;
        self.values[j * t + (r * self.outputs + k) * self.features + i]
    }
}

/// Path-dependent TreeSHAP: the same values as XGBoost `pred_contribs` and LightGBM
/// `pred_contrib`; the base column is [`Ensemble::expected_value`].
///
/// Exact (up to f64 rounding), multi-threaded over row blocks, deterministic for any
/// thread count. Errors: [`Error::Input`] when `x` does not have one column per model
/// feature, [`Error::Cancelled`] when `ctl` is cancelled.
pub fn path_dependent(model: &Ensemble, x: &Matrix, ctl: &RunControl) -> Result<ShapValues> {
    model.check_input(x)?;
    model.check_covers()?;
    linear::path_dependent(
        &linear::Plan::new(model),
        &model.expected_value(),
        model,
        x,
        ctl,
    )
}

/// SHAP interaction values (XGBoost `pred_interactions`, without the bias row/column).
///
/// Off-diagonal entries are the Shapley interaction index split in halves,
/// `φ_ij = φ_ji`; the diagonal holds `φ_i - Σ_{j≠i} φ_ij`, so each row sums to the
/// SHAP value. Same errors as [`path_dependent`].
pub fn interactions(model: &Ensemble, x: &Matrix, ctl: &RunControl) -> Result<InteractionValues> {
    model.check_input(x)?;
    model.check_covers()?;
    interactions_impl::interactions(&interactions_impl::IPlan::new(model), model, x, ctl)
}

/// Interventional TreeSHAP against `background` (shap's
/// `TreeExplainer(data=background, feature_perturbation="interventional")`, raw output):
/// the value of a coalition `S` is the mean raw prediction over background rows `z` of
/// the hybrid sample `(x_S, z_{not S})`. The base column is the mean raw prediction over
/// the background.
///
/// Runs the per-leaf pattern algorithm of [`background`] (cost linear in rows plus
/// background rows); models with a leaf whose path splits on more than 64 distinct
/// features go through [`interventional_bitset`]. To explain several batches against
/// one background, prepare a [`background::Background`] once instead.
///
/// Errors: [`Error::Input`] when `x` or `background` do not fit the model, or the
/// background has no rows; [`Error::Cancelled`].
pub fn interventional(
    model: &Ensemble,
    x: &Matrix,
    background: &Matrix,
    ctl: &RunControl,
) -> Result<ShapValues> {
    model.check_input(x)?;
    if !background::supported(model) {
        return interventional_bitset(model, x, background, ctl);
    }
    let quiet = RunControl {
        progress: None,
        ..*ctl
    };
    let bg = background::Background::prepare(model, background, &Default::default(), &quiet)?;
    bg.values(model, x, ctl)
}

/// Interventional TreeSHAP by one walk per sample carrying all background rows as bit
/// sets (cost linear in rows × background rows): the former algorithm, kept as the test
/// oracle of [`background`] and for paths beyond its 64 distinct features. Same values
/// and errors as [`interventional`].
pub fn interventional_bitset(
    model: &Ensemble,
    x: &Matrix,
    background: &Matrix,
    ctl: &RunControl,
) -> Result<ShapValues> {
    model.check_input(x)?;
    model.check_input(background)?;
    if background.rows() == 0 {
        return Err(Error::Input("background has no rows".into()));
    }
    interventional_impl::interventional(model, x, background, ctl)
}

/// Cover ratio ("zero fraction") of the edge from internal node `parent` to its child
/// `child`: `cover(child) / (cover(left) + cover(right))`, or 1/2 when both covers are
/// zero. This is the weighting [`Tree::expected_value`] uses, so that additivity against
/// [`Ensemble::expected_value`] holds exactly; for real models the children's covers add
/// up to the parent's, which is what XGBoost and LightGBM divide by.
#[inline]
pub fn zero_fraction(tree: &Tree, parent: usize, child: usize) -> f64 {
    let p = &tree.nodes[parent];
    let c = tree.nodes[p.left as usize].cover + tree.nodes[p.right as usize].cover;
    if c <= 0.0 {
        0.5
    } else {
        tree.nodes[child].cover / c
    }
}

/// The worker threads `ctl` runs on.
fn threads_of(ctl: &RunControl) -> usize {
    if ctl.threads == 0 {
        rayon::current_num_threads()
    } else {
        ctl.threads
    }
}

/// Rows per parallel block: small enough to balance `threads` workers, a multiple of `align`,
/// at most `max`. Results never depend on it (each row is computed on its own).
fn block_rows(rows: usize, ctl: &RunControl, align: usize, max: usize) -> usize {
    let threads = threads_of(ctl);
    let per = rows.div_ceil(4 * threads.max(1)).max(1);
    per.div_ceil(align)
        .max(1)
        .saturating_mul(align)
        .min(max.max(align))
}

/// Rows per parallel block for work that gains from large blocks (a block reuses what
/// it loads into cache for all its rows): one block per thread, at most `max`.
fn large_block_rows(rows: usize, ctl: &RunControl, max: usize) -> usize {
    rows.div_ceil(threads_of(ctl).max(1)).clamp(1, max.max(1))
}

/// Runs `f(scratch, start, n)` over blocks of `block` rows in parallel inside `ctl`'s
/// pool, polling cancellation before each block and reporting progress after it.
fn for_row_blocks<S, I, F>(rows: usize, block: usize, ctl: &RunControl, init: I, f: F) -> Result<()>
where
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize, usize) + Sync + Send,
{
    for_row_blocks_ex(rows, block, ctl, true, init, f)
}

/// [`for_row_blocks`], reporting progress only when `report` is true (for multi-pass work).
fn for_row_blocks_ex<S, I, F>(
    rows: usize,
    block: usize,
    ctl: &RunControl,
    report: bool,
    init: I,
    f: F,
) -> Result<()>
where
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize, usize) + Sync + Send,
{
    let blocks = rows.div_ceil(block);
    ctl.install(|| {
        (0..blocks)
            .into_par_iter()
            .try_for_each_init(&init, |s, b| {
                if ctl.is_cancelled() {
                    return Err(Error::Cancelled);
                }
                let start = b * block;
                let n = block.min(rows - start);
                f(s, start, n);
                if report {
                    ctl.report(n);
                }
                Ok(())
            })
    })?
}

/// A raw pointer to an output buffer that row blocks write into in parallel.
///
/// Soundness: it is created from a `Vec` that outlives the parallel section and is not
/// otherwise touched during it; every block writes only the entries of its own rows
/// (blocks cover disjoint row ranges), so no two threads ever write the same element
/// and nobody reads while writes happen. Indices are checked in debug builds.
#[derive(Clone, Copy)]
struct DisjointOut {
    ptr: *mut f64,
    len: usize,
}

// SAFETY: see the type's documentation: writes from different threads go to disjoint indices.
unsafe impl Send for DisjointOut {}
// SAFETY: as above.
unsafe impl Sync for DisjointOut {}

impl DisjointOut {
    fn new(v: &mut [f64]) -> Self {
        DisjointOut {
            ptr: v.as_mut_ptr(),
            len: v.len(),
        }
    }
    /// Writes `value` at `i`.
    ///
    /// # Safety
    /// `i < len`, and no other thread accesses index `i` during the parallel section.
    #[inline(always)]
    unsafe fn write(&self, i: usize, value: f64) {
        debug_assert!(i < self.len);
        // SAFETY: the caller guarantees the index is in bounds and exclusively ours.
        unsafe { *self.ptr.add(i) = value }
    }
    /// Adds `value` to the entry at `i`.
    ///
    /// # Safety
    /// As for [`DisjointOut::write`].
    #[inline(always)]
    unsafe fn add(&self, i: usize, value: f64) {
        debug_assert!(i < self.len);
        // SAFETY: the caller guarantees the index is in bounds and exclusively ours.
        unsafe { *self.ptr.add(i) += value }
    }
}

/// Which compiled variant of a SIMD kernel runs. Kernels are compiled for AVX-512 and
/// AVX2 as well as the baseline and picked at run time ([`detect_simd`]); none uses fused
/// multiply-add, so all variants give bit-identical results.
#[derive(Clone, Copy)]
pub(crate) enum Simd {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Base,
}

/// The best variant this CPU runs (the baseline when `ARROWSHAP_NO_SIMD` is set).
pub(crate) fn detect_simd() -> Simd {
    #[cfg(target_arch = "x86_64")]
    {
        if std::env::var_os("ARROWSHAP_NO_SIMD").is_none() {
            if is_x86_feature_detected!("avx512f") {
                return Simd::Avx512;
            }
            if is_x86_feature_detected!("avx2") {
                return Simd::Avx2;
            }
        }
    }
    Simd::Base
}

/// Writes the base-value column (`j == features`) of a [`ShapValues`] buffer.
pub(crate) fn fill_base(values: &mut [f64], rows: usize, features: usize, base: &[f64]) {
    let k = base.len();
    let col = &mut values[features * rows * k..(features + 1) * rows * k];
    for r in 0..rows {
        col[r * k..(r + 1) * k].copy_from_slice(base);
    }
}
