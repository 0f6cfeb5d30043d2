//! KernelSHAP's options ([`KernelOptions`]: budget, seed, link, L1 selection, background
//! summary, batching) and what a run reports besides the values ([`KernelReport`]).

use super::BackgroundSummary;

/// Space the SHAP values explain the model output in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KernelLink {
    /// The output as the model gives it (a tree model's raw margin).
    #[default]
    Identity,
    /// Log-odds of a probability output: `log(p / (1 − p))`, probabilities clamped
    /// to `[1e-15, 1 − 1e-15]`.
    Logit,
}

impl KernelLink {
    /// Applies the link.
    #[inline]
    pub fn apply(self, v: f64) -> f64 {
        match self {
            KernelLink::Identity => v,
            KernelLink::Logit => {
                let p = v.clamp(1e-15, 1.0 - 1e-15);
                (p / (1.0 - p)).ln()
            }
        }
    }
}

/// L1 feature selection before the least squares step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum L1Reg {
    /// Every varying feature is estimated (the default; see the module docs).
    #[default]
    None,
    /// Keep the `k` features that least angle regression selects first (shap's
    /// `num_features(k)`); the others get φ = 0. Ignored for exact (fully enumerated) rows.
    NumFeatures(usize),
}

/// Options of [`kernel_shap`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KernelOptions {
    /// Coalition budget per row; `None` = `2m + 2048` (m = varying features of the row).
    pub nsamples: Option<usize>,
    /// Seed of the coalition sampling and of the background summary.
    pub seed: u64,
    /// Output space explained.
    pub link: KernelLink,
    /// Optional L1 feature selection.
    pub l1_reg: L1Reg,
    /// Background summary applied before explaining.
    pub background_summary: BackgroundSummary,
    /// Rows per model call; `None` = the model's preference.
    pub batch_rows: Option<usize>,
    /// Position of `x`'s first row in the caller's whole input: row `r` draws its
    /// coalitions from stream `row_offset + r`, so explaining an input in batches gives
    /// the same values as explaining it in one call.
    pub row_offset: usize,
}

/// The default seed (any fixed value: results are reproducible run to run).
pub const DEFAULT_SEED: u64 = 0;

impl Default for KernelOptions {
    fn default() -> Self {
        KernelOptions {
            nsamples: None,
            seed: DEFAULT_SEED,
            link: KernelLink::Identity,
            l1_reg: L1Reg::None,
            background_summary: BackgroundSummary::None,
            batch_rows: None,
            row_offset: 0,
        }
    }
}

/// The default coalition budget for `m` varying features (shap's `2m + 2048`).
pub fn default_nsamples(m: usize) -> usize {
    2 * m + 2048
}

/// What a run did, besides the values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KernelReport {
    /// Warnings for the caller to show (e.g. a large background); never printed.
    pub warnings: Vec<String>,
    /// Background rows used (after summary).
    pub background_rows: usize,
    /// Rows whose coalitions were fully enumerated (exact Shapley values).
    pub exact_rows: usize,
    /// Largest number of coalitions of one row.
    pub max_coalitions: usize,
    /// Model evaluations in total: rows passed to `predict`, plus, for a tree
    /// ensemble, the masked rows its structural evaluation stands for.
    pub model_rows: u64,
}
