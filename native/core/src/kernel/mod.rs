//! KernelSHAP: model-agnostic SHAP values over a background set, native and batched.
//!
//! The algorithm is shap's `KernelExplainer` (Lundberg & Lee 2017), step for step:
//!
//! * **Players.** Per explained row, only the *varying* features count: a feature
//!   whose value equals the row's in every background row (NaN = NaN) cannot change
//!   the model output when masked, gets φ = 0 and is left out of the game (shap's
//!   `varying_groups`). This is exact: such a feature is a null player.
//! * **Coalitions** ([`sampling`]): whole subset sizes enumerated first (sizes `s`
//!   and `m − s` together) while the budget allows, as shap does; the rest of the
//!   budget is split among the remaining sizes in proportion to their kernel weight
//!   and spent on complementary pairs drawn without replacement, each weighted by
//!   its size's kernel weight over the number drawn (stratified: less variance than
//!   shap's draws at the same budget); `nsamples` defaults to `2m + 2048`; **full
//!   enumeration when `nsamples ≥ 2^m − 2`**, and then the result is exact: the
//!   interventional Shapley values with this background.
//! * **Evaluation.** For each coalition S, the masked rows `(x_S, b_{¬S})` for every
//!   background row `b` are written into a row-major block of up to `batch_rows`
//!   rows; the [`BatchModel`] evaluates the whole block in one call; outputs are
//!   averaged per coalition with the background weights. A tree ensemble
//!   ([`BatchModel::as_ensemble`]) skips the masked rows: its coalition values come
//!   from one walk per (tree, background row) that collects each reachable leaf's
//!   condition on S into small tables ([`tree`]), the same values up to rounding at
//!   a small fraction of the cost.
//! * **Solve** ([`solve`]): weighted least squares in f64 with the efficiency
//!   constraint eliminated exactly, so `Σ φ + base = link(f(x))` to rounding.
//!   Optional L1 selection: [`L1Reg::NumFeatures`] (shap's `num_features(k)`, LAR).
//! * **Links.** [`KernelLink::Identity`] explains the model output as is;
//!   [`KernelLink::Logit`] explains `log(p / (1 − p))` of a probability output,
//!   averaging probabilities before the link as shap does.
//!
//! In-core models (`BatchModel::concurrent() == true`, e.g. an [`Ensemble`]) are
//! explained in parallel over rows in a pool of `ctl.threads` threads (kept between
//! runs). Models that must be called
//! from one thread at a time (a JS callback) are fed large blocks that span many
//! explained rows, so that each call is worth its round trip. Either way every
//! row's coalitions come from its own seeded stream ([`Rng::for_item`]), so
//! results do not depend on the thread count or the batch size.
//!
//! ### Default L1 selection: none
//! shap 0.51's `KernelExplainer` defaults to `l1_reg="num_features(10)"`: least
//! angle regression keeps at most 10 features per row (all others get 0) — nearly a
//! no-op with 10 or fewer features, a hard cut with more. Its older `"auto"` (now
//! deprecated) switched to AIC selection when less than 20% of the coalition space
//! is enumerated — a discontinuity as `nsamples` or the feature count changes. Either
//! can zero a feature with a small but real effect. arrowshap's default is no
//! selection: every varying feature gets an estimate, and full enumeration is exact.
//! Ask for `L1Reg::NumFeatures(k)` to keep only the `k` strongest features.

// `!(x > 0.0)` is true for NaN on purpose (NaN weights and pivots are rejected), and the
// numeric loops read better with indices.
#![allow(clippy::neg_cmp_op_on_partial_ord, clippy::needless_range_loop)]

pub mod background;
mod model;
mod options;
mod runner;
pub mod sampling;
mod solve;
mod tree;

pub use crate::rng::Rng;
pub use background::{
    background_warning, kmeans, sample, summarize, Background, BackgroundSummary,
    LARGE_BACKGROUND_ROWS,
};
pub use model::BatchModel;
pub use options::{default_nsamples, KernelLink, KernelOptions, KernelReport, L1Reg, DEFAULT_SEED};
use runner::Runner;

use crate::{Error, Matrix, Result, RunControl};

/// KernelSHAP returns TreeSHAP's [`ShapValues`]: column-major, column `j`
/// (`0..features`, then `features` = base value) holds `rows × outputs` values
/// ordered (row, output).
pub use crate::shap::ShapValues;

/// KernelSHAP values of every row of `x` against `background`.
///
/// `bg_weights` weights the background rows (default: equal). Errors with
/// [`Error::Input`] on an empty background or mismatched columns, with
/// [`Error::Cancelled`] when `ctl` is cancelled, and with the model's error if
/// `predict` fails.
pub fn kernel_shap(
    model: &dyn BatchModel,
    x: &Matrix,
    background: &Matrix,
    bg_weights: Option<&[f64]>,
    opts: &KernelOptions,
    ctl: &RunControl,
) -> Result<ShapValues> {
    kernel_shap_report(model, x, background, bg_weights, opts, ctl).map(|(v, _)| v)
}

/// [`kernel_shap`] that also returns a [`KernelReport`] (warnings, exact rows, cost).
pub fn kernel_shap_report(
    model: &dyn BatchModel,
    x: &Matrix,
    background: &Matrix,
    bg_weights: Option<&[f64]>,
    opts: &KernelOptions,
    ctl: &RunControl,
) -> Result<(ShapValues, KernelReport)> {
    let m = model.num_features();
    let k = model.num_outputs();
    if k == 0 || m == 0 {
        return Err(Error::Input(format!(
            "the model has {m} features and {k} outputs: nothing to explain"
        )));
    }
    if x.cols() != m {
        return Err(Error::Input(format!(
            "the model has {m} features, the input has {} columns",
            x.cols()
        )));
    }
    if background.cols() != m {
        return Err(Error::Input(format!(
            "the model has {m} features, the background has {} columns",
            background.cols()
        )));
    }
    if background.rows() == 0 {
        return Err(Error::Input(
            "the background is empty: KernelSHAP needs at least one background row".into(),
        ));
    }
    if opts.nsamples == Some(0) {
        return Err(Error::Input("nsamples must be at least 1".into()));
    }
    if let Some(n) = opts
        .nsamples
        .filter(|&n| n > crate::limits::MAX_KERNEL_SAMPLES)
    {
        return Err(Error::Input(format!(
            "nsamples {n} is above the limit of {} coalitions per row (each is a bit set \
             of the features and one model evaluation per background row)",
            crate::limits::MAX_KERNEL_SAMPLES
        )));
    }
    let bg = background::summarize(background, bg_weights, opts.background_summary, opts.seed)?;
    let mut report = KernelReport {
        background_rows: bg.rows(),
        ..Default::default()
    };
    report.warnings.extend(background_warning(bg.rows()));

    let rows = x.rows();
    let values = ctl.install(|| Runner::new(model, &bg, opts, ctl).explain(x, &mut report))??;
    Ok((
        ShapValues {
            rows,
            outputs: k,
            features: m,
            values,
        },
        report,
    ))
}
