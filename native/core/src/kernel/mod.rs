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
//! row's coalitions come from its own seeded stream ([`rng::Rng::for_item`]), so
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
mod rng;
pub mod sampling;
mod solve;
mod tree;

pub use background::{
    background_warning, kmeans, sample, summarize, Background, BackgroundSummary,
    LARGE_BACKGROUND_ROWS,
};
pub use rng::Rng;

use crate::{Ensemble, Error, Matrix, Result, RunControl};
use rayon::prelude::*;
use sampling::Plan;

/// KernelSHAP returns TreeSHAP's [`ShapValues`]: column-major, column `j`
/// (`0..features`, then `features` = base value) holds `rows × outputs` values
/// ordered (row, output).
pub use crate::shap::ShapValues;

/// A model KernelSHAP can evaluate: many rows per call.
pub trait BatchModel: Sync {
    /// Number of input features (columns of every row).
    fn num_features(&self) -> usize;
    /// Number of outputs per row.
    fn num_outputs(&self) -> usize;
    /// Evaluates `rows` (row-major, `n × num_features()`), writing `n × num_outputs()`
    /// row-major outputs into `out` (`out.len() == n * num_outputs()`).
    fn predict(&self, rows: &[f64], out: &mut [f64]) -> Result<()>;
    /// True when `predict` may run on several threads at once (in-core models).
    /// False makes KernelSHAP call it from one thread with blocks spanning many rows.
    fn concurrent(&self) -> bool {
        true
    }
    /// Rows per `predict` call this model prefers (at least the background size is used).
    fn batch_rows(&self) -> usize {
        4096
    }
    /// The model as a tree ensemble, when it is one evaluated in its raw output:
    /// KernelSHAP then computes coalition values from the trees' structure
    /// ([`tree`]) instead of evaluating masked rows (same values up to rounding).
    fn as_ensemble(&self) -> Option<&Ensemble> {
        None
    }
}

/// A tree ensemble evaluated in its raw (margin) output space.
impl BatchModel for Ensemble {
    fn num_features(&self) -> usize {
        self.num_features
    }
    fn num_outputs(&self) -> usize {
        self.num_outputs
    }
    fn predict(&self, rows: &[f64], out: &mut [f64]) -> Result<()> {
        let (m, k) = (self.num_features, self.num_outputs);
        for (row, o) in rows.chunks_exact(m.max(1)).zip(out.chunks_exact_mut(k)) {
            self.predict_row_into(row, o);
        }
        Ok(())
    }
    fn batch_rows(&self) -> usize {
        2048
    }
    fn as_ensemble(&self) -> Option<&Ensemble> {
        Some(self)
    }
}

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

/// Everything shared by the rows of one run.
struct Runner<'a> {
    model: &'a dyn BatchModel,
    bg: &'a Background,
    /// Background weights normalized to sum 1.
    bgw: Vec<f64>,
    opts: &'a KernelOptions,
    ctl: &'a RunControl<'a>,
    m: usize,
    k: usize,
    /// Rows per model call.
    batch: usize,
    /// E[f(b)] per output (before the link).
    fnull: Vec<f64>,
    /// Coalition values from the trees' structure, for a tree ensemble.
    tree: Option<tree::TreeGame<'a>>,
}

/// One explained row: its values, players and coalitions.
struct RowJob {
    /// The row's values.
    x: Vec<f64>,
    /// Feature index of each player.
    varying: Vec<usize>,
    plan: Plan,
    /// E[f | coalition] per coalition and output (row-major, before the link).
    ey: Vec<f64>,
}

impl<'a> Runner<'a> {
    fn new(
        model: &'a dyn BatchModel,
        bg: &'a Background,
        opts: &'a KernelOptions,
        ctl: &'a RunControl<'a>,
    ) -> Self {
        let total: f64 = bg.weights.iter().sum();
        let m = model.num_features();
        let batch = opts.batch_rows.unwrap_or_else(|| model.batch_rows()).max(1);
        let bgw: Vec<f64> = bg.weights.iter().map(|w| w / total).collect();
        let tree = model
            .as_ensemble()
            .filter(|e| e.num_features == m && e.num_outputs == model.num_outputs())
            .map(|e| tree::TreeGame::new(e, bg, bgw.clone()));
        Runner {
            model,
            bg,
            bgw,
            tree,
            opts,
            ctl,
            m,
            k: model.num_outputs(),
            batch,
            fnull: Vec::new(),
        }
    }

    /// Calls the model on a row-major block, checking what it returns.
    fn predict(&self, block: &[f64], out: &mut [f64]) -> Result<()> {
        if self.ctl.is_cancelled() {
            return Err(Error::Cancelled);
        }
        self.model.predict(block, out)?;
        if let Some(i) = out.iter().position(|v| v.is_nan()) {
            let (r, o) = (i / self.k, i % self.k);
            return Err(Error::Input(format!(
                "the model returned NaN for an evaluated row (row {r} of a block, output {o})"
            )));
        }
        Ok(())
    }

    /// Predicts many rows (row-major), in blocks of `self.batch`, in parallel for concurrent models.
    fn predict_all(&self, data: &[f64], report: &mut KernelReport) -> Result<Vec<f64>> {
        let (m, k) = (self.m, self.k);
        let n = data.len() / m.max(1);
        let mut out = vec![0.0; n * k];
        if self.model.concurrent() {
            out.par_chunks_mut(self.batch * k)
                .zip(data.par_chunks(self.batch * m.max(1)))
                .try_for_each(|(o, d)| self.predict(d, o))?;
        } else {
            for (o, d) in out
                .chunks_mut(self.batch * k)
                .zip(data.chunks(self.batch * m.max(1)))
            {
                self.predict(d, o)?;
            }
        }
        report.model_rows += n as u64;
        Ok(out)
    }

    fn explain(mut self, x: &Matrix, report: &mut KernelReport) -> Result<Vec<f64>> {
        let (m, k) = (self.m, self.k);
        let rows = x.rows();
        // E[f] over the background, and f(x) for every row
        let fb = self.predict_all(&self.bg.data, report)?;
        let mut fnull = vec![0.0; k];
        for (i, w) in self.bgw.iter().enumerate() {
            for o in 0..k {
                fnull[o] += w * fb[i * k + o];
            }
        }
        self.fnull = fnull;
        let mut values = vec![0.0; (m + 1) * rows * k];
        // rows in groups: bounded memory, and for serial models one group fills large blocks
        let est = self.est_coalitions() * self.bg.rows();
        let group = if self.model.concurrent() {
            (rayon::current_num_threads() * 16).max(16)
        } else {
            (self.batch * 4).div_ceil(est.max(1)).clamp(1, 4096)
        };
        let mut xbuf = Vec::new();
        for start in (0..rows).step_by(group.max(1)) {
            let n = group.min(rows - start);
            xbuf.resize(n * m, 0.0);
            x.gather_rows(start, &mut xbuf);
            let fx = self.predict_all(&xbuf, report)?;
            let phis = if self.model.concurrent() {
                let res: Vec<Result<(Vec<f64>, RowStats)>> = (0..n)
                    .into_par_iter()
                    .map(|i| {
                        let mut job = self.plan_row(start + i, &xbuf[i * m..(i + 1) * m]);
                        let model_rows = match self.evaluate_tree(&mut job)? {
                            Some(n) => n,
                            None => {
                                let (mut block, mut out) = (Vec::new(), Vec::new());
                                self.evaluate(std::slice::from_mut(&mut job), &mut block, &mut out)?
                            }
                        };
                        let phi = self.solve_row(&job, &fx[i * k..(i + 1) * k]);
                        self.ctl.report(1);
                        Ok((
                            phi,
                            RowStats {
                                exact: job.plan.exact,
                                coalitions: job.plan.len(),
                                model_rows,
                            },
                        ))
                    })
                    .collect();
                res.into_iter().collect::<Result<Vec<_>>>()?
            } else {
                let mut jobs: Vec<RowJob> = (0..n)
                    .into_par_iter()
                    .map(|i| self.plan_row(start + i, &xbuf[i * m..(i + 1) * m]))
                    .collect();
                let (mut block, mut out) = (Vec::new(), Vec::new());
                report.model_rows += self.evaluate(&mut jobs, &mut block, &mut out)?;
                let res: Vec<(Vec<f64>, RowStats)> = jobs
                    .par_iter()
                    .enumerate()
                    .map(|(i, job)| {
                        let phi = self.solve_row(job, &fx[i * k..(i + 1) * k]);
                        (
                            phi,
                            RowStats {
                                exact: job.plan.exact,
                                coalitions: job.plan.len(),
                                model_rows: 0,
                            },
                        )
                    })
                    .collect();
                self.ctl.report(n);
                res
            };
            // scatter row-major φ (m + 1 values per output) into the column-major result
            for (i, (phi, st)) in phis.into_iter().enumerate() {
                let r = start + i;
                for j in 0..=m {
                    for o in 0..k {
                        values[(j * rows + r) * k + o] = phi[o * (m + 1) + j];
                    }
                }
                report.exact_rows += st.exact as usize;
                report.max_coalitions = report.max_coalitions.max(st.coalitions);
                report.model_rows += st.model_rows;
            }
        }
        Ok(values)
    }

    /// Coalitions per row at most (for sizing the row groups of serial models).
    fn est_coalitions(&self) -> usize {
        let m = self.m;
        let budget = self.opts.nsamples.unwrap_or_else(|| default_nsamples(m));
        budget.min(sampling::full_space(m.max(2)))
    }

    /// The players and coalitions of one row.
    fn plan_row(&self, index: usize, x: &[f64]) -> RowJob {
        let bg = self.bg;
        let varying: Vec<usize> = (0..self.m)
            .filter(|&j| {
                let v = x[j];
                (0..bg.rows()).any(|i| {
                    let b = bg.data[i * bg.cols + j];
                    !(b == v || (b.is_nan() && v.is_nan()))
                })
            })
            .collect();
        let mv = varying.len();
        let plan = if mv >= 2 {
            let budget = self.opts.nsamples.unwrap_or_else(|| default_nsamples(mv));
            let mut rng = Rng::for_item(self.opts.seed, (self.opts.row_offset + index) as u64);
            sampling::plan(mv, budget, &mut rng)
        } else {
            Plan {
                m: mv,
                words: 1,
                exact: true,
                ..Default::default()
            }
        };
        RowJob {
            x: x.to_vec(),
            varying,
            plan,
            ey: Vec::new(),
        }
    }

    /// Fills `job.ey` from the trees' structure ([`tree`]) for a tree ensemble; returns
    /// the masked rows this stands for, or `None` when the masked rows must be evaluated.
    fn evaluate_tree(&self, job: &mut RowJob) -> Result<Option<u64>> {
        let Some(tg) = &self.tree else {
            return Ok(None);
        };
        if job.plan.is_empty() {
            return Ok(None);
        }
        if self.ctl.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let mut ey = vec![0.0; job.plan.len() * self.k];
        if tg
            .evaluate(&job.x, &job.varying, &job.plan, &mut ey)
            .is_none()
        {
            return Ok(None);
        }
        job.ey = ey;
        Ok(Some((job.plan.len() * self.bg.rows()) as u64))
    }

    /// Evaluates every coalition of `jobs` in blocks of about `self.batch` rows and
    /// fills each job's `ey`. Returns the number of model rows evaluated.
    fn evaluate(
        &self,
        jobs: &mut [RowJob],
        block: &mut Vec<f64>,
        out: &mut Vec<f64>,
    ) -> Result<u64> {
        let (m, k) = (self.m, self.k);
        let nb = self.bg.rows();
        let per_block = (self.batch / nb).max(1); // coalitions per block
        for job in jobs.iter_mut() {
            job.ey = vec![0.0; job.plan.len() * k];
        }
        // (job, coalition) pairs in order, cut into blocks
        let mut pending: Vec<(usize, usize)> = Vec::with_capacity(per_block);
        let mut total = 0u64;
        let mut flush = |pending: &mut Vec<(usize, usize)>, jobs: &mut [RowJob]| -> Result<()> {
            if pending.is_empty() {
                return Ok(());
            }
            let rows = pending.len() * nb;
            block.resize(rows * m, 0.0);
            out.resize(rows * k, 0.0);
            for (q, &(ji, c)) in pending.iter().enumerate() {
                let job = &jobs[ji];
                let dst = &mut block[q * nb * m..(q + 1) * nb * m];
                dst.copy_from_slice(&self.bg.data);
                for (p, &j) in job.varying.iter().enumerate() {
                    if job.plan.has(c, p) {
                        let v = job.x[j];
                        for b in 0..nb {
                            dst[b * m + j] = v;
                        }
                    }
                }
            }
            self.predict(block, out)?;
            total += rows as u64;
            for (q, &(ji, c)) in pending.iter().enumerate() {
                let ey = &mut jobs[ji].ey[c * k..(c + 1) * k];
                for b in 0..nb {
                    let w = self.bgw[b];
                    let f = &out[(q * nb + b) * k..(q * nb + b + 1) * k];
                    for o in 0..k {
                        ey[o] += w * f[o];
                    }
                }
            }
            pending.clear();
            Ok(())
        };
        for ji in 0..jobs.len() {
            for c in 0..jobs[ji].plan.len() {
                pending.push((ji, c));
                if pending.len() == per_block {
                    flush(&mut pending, jobs)?;
                }
            }
        }
        flush(&mut pending, jobs)?;
        Ok(total)
    }

    /// φ of one row, `k × (m + 1)` (per output: m features then the base value).
    fn solve_row(&self, job: &RowJob, fx: &[f64]) -> Vec<f64> {
        let (m, k) = (self.m, self.k);
        let link = self.opts.link;
        let base: Vec<f64> = self.fnull.iter().map(|&v| link.apply(v)).collect();
        let totals: Vec<f64> = (0..k).map(|o| link.apply(fx[o]) - base[o]).collect();
        let mut out = vec![0.0; k * (m + 1)];
        for o in 0..k {
            out[o * (m + 1) + m] = base[o];
        }
        let mv = job.varying.len();
        if mv == 0 {
            return out;
        }
        let plan = &job.plan;
        let mut phi = vec![0.0; k * mv];
        if mv == 1 {
            phi.copy_from_slice(&totals);
        } else {
            let mut y = vec![0.0; job.ey.len()];
            for (yc, e) in y.chunks_exact_mut(k).zip(job.ey.chunks_exact(k)) {
                for o in 0..k {
                    yc[o] = link.apply(e[o]) - base[o];
                }
            }
            let all: Vec<usize> = (0..mv).collect();
            match self.opts.l1_reg {
                L1Reg::NumFeatures(kf) if kf < mv && !plan.exact => {
                    for o in 0..k {
                        let mut sel = solve::lar_select(plan, &y, k, o, totals[o], kf);
                        if sel.is_empty() {
                            sel = all.clone();
                        }
                        solve::wls(plan, &sel, &y, k, &totals, &[o], &mut phi);
                    }
                }
                _ => {
                    let outs: Vec<usize> = (0..k).collect();
                    solve::wls(plan, &all, &y, k, &totals, &outs, &mut phi);
                }
            }
        }
        for o in 0..k {
            for (p, &j) in job.varying.iter().enumerate() {
                out[o * (m + 1) + j] = phi[o * mv + p];
            }
        }
        out
    }
}

/// Per-row facts for the report.
struct RowStats {
    exact: bool,
    coalitions: usize,
    model_rows: u64,
}
