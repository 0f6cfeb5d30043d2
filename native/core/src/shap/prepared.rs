//! [`Prepared`]: a loaded model with everything its explanations need that depends on the
//! model alone, built once and shared by every call and thread.
//!
//! A service that explains each prediction as it serves it calls in one row at a time; a
//! call then must not rebuild the model's plans (for 500 trees of depth 8 the path-dependent
//! plan is ~30 MB of coefficients and takes tens of milliseconds to build) nor pay for a
//! thread-pool hop or a 32-row lane group. `Prepared` builds each plan once, lazily (the
//! first call that needs it, or [`Prepared::prepare`]), behind a [`OnceLock`], so it is
//! `Sync`: share one `Arc<Prepared>` between threads; calls never allocate anything
//! proportional to the model.
//!
//! * batches: [`Prepared::path_dependent`], [`Prepared::interactions`] (row blocks on the
//!   pool, as the free functions of [`super`]);
//! * a few rows on the calling thread: [`Prepared::path_dependent_rows`],
//!   [`Prepared::interactions_rows`], row-major in and out, the same values bit for bit.

use super::interactions_impl::{self, IPlan};
use super::linear::{self, Plan, Scratch, LANES};
use super::linear_row::{self, RowPlan, RowScratch};
use super::{detect_simd, InteractionValues, ShapValues};
use crate::{Ensemble, Error, Matrix, Result, RunControl};
use std::sync::{Arc, Mutex, OnceLock};

/// From this many rows of a lane group on, the 32-lane kernel is cheaper than that many
/// single-row sweeps (on a 500-tree depth-8 model a lane group costs ~32 × 0.3 ms, a row
/// ~1.3 ms; both give the same bits).
const LANE_ROWS: usize = 8;

/// A model with its explanation plans, built once (see the module docs).
pub struct Prepared {
    model: Arc<Ensemble>,
    base: Vec<f64>,
    path: OnceLock<Plan>,
    row: OnceLock<RowPlan>,
    /// Single-row buffers of finished calls, reused by the next calls (one per thread
    /// that calls at the same time), so a call allocates only its result.
    row_scratch: Mutex<Vec<RowScratch>>,
    interactions: OnceLock<IPlan>,
}

/// Which plans [`Prepared::prepare`] builds ahead of the first call.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrepareWhat {
    /// The path-dependent plan (SHAP values).
    pub path_dependent: bool,
    /// The interaction-values plan.
    pub interactions: bool,
}

impl Prepared {
    /// Wraps a loaded model; plans are built on first use (or by [`Prepared::prepare`]).
    pub fn new(model: Arc<Ensemble>) -> Prepared {
        Prepared {
            base: model.expected_value(),
            model,
            path: OnceLock::new(),
            row: OnceLock::new(),
            row_scratch: Mutex::new(Vec::new()),
            interactions: OnceLock::new(),
        }
    }

    /// The model.
    pub fn model(&self) -> &Arc<Ensemble> {
        &self.model
    }

    /// The path-dependent base value per output ([`Ensemble::expected_value`]).
    pub fn expected_value(&self) -> &[f64] {
        &self.base
    }

    /// Builds the chosen plans now, so that no later call pays for them.
    pub fn prepare(&self, what: PrepareWhat) {
        if what.path_dependent {
            self.row_plan();
        }
        if what.interactions {
            self.interactions_plan();
        }
    }

    fn path_plan(&self) -> &Plan {
        self.path.get_or_init(|| Plan::new(&self.model))
    }

    /// The compact single-row plan (and the path plan it is built from).
    fn row_plan(&self) -> (&Plan, &RowPlan) {
        let plan = self.path_plan();
        (
            plan,
            self.row
                .get_or_init(|| RowPlan::new(plan, &self.model, detect_simd())),
        )
    }

    fn interactions_plan(&self) -> &IPlan {
        self.interactions.get_or_init(|| IPlan::new(&self.model))
    }

    /// [`super::path_dependent`] with the prepared plan.
    pub fn path_dependent(&self, x: &Matrix, ctl: &RunControl) -> Result<ShapValues> {
        self.model.check_input(x)?;
        linear::path_dependent(self.path_plan(), &self.base, &self.model, x, ctl)
    }

    /// [`super::interactions`] with the prepared plan.
    pub fn interactions(&self, x: &Matrix, ctl: &RunControl) -> Result<InteractionValues> {
        self.model.check_input(x)?;
        interactions_impl::interactions(self.interactions_plan(), &self.model, x, ctl)
    }

    /// Rows in `rows` (row-major, `n × features`), or an input error naming the mismatch.
    fn row_count(&self, rows: &[f64]) -> Result<usize> {
        let m = self.model.num_features;
        if m == 0 || rows.len() % m != 0 {
            return Err(Error::Input(format!(
                "rows must hold a multiple of the model's {m} features, got {} values",
                rows.len()
            )));
        }
        Ok(rows.len() / m)
    }

    /// Path-dependent SHAP values of a few rows on the calling thread (no pool, no plan
    /// building after the first call). `rows` is row-major (`n × features`); the result is
    /// row-major too, `n × outputs × (features + 1)`: entry `((r*outputs + k)*(features+1) + j)`,
    /// the base value at `j == features` (XGBoost's `pred_contribs` layout). The values are
    /// those of [`Prepared::path_dependent`], bit for bit.
    pub fn path_dependent_rows(&self, rows: &[f64]) -> Result<Vec<f64>> {
        let n = self.row_count(rows)?;
        let model = &*self.model;
        let (m, k) = (model.num_features, model.num_outputs);
        let plan = self.path_plan();
        let mut out = vec![0.0; n * k * (m + 1)];
        let mut phi = vec![0.0; k * m];
        let mut row_scratch: Option<RowScratch> = None;
        let mut lane_scratch: Option<(Scratch, Vec<linear::Lane>)> = None;
        for g0 in (0..n).step_by(LANES) {
            let nr = LANES.min(n - g0);
            if plan.finite && nr < LANE_ROWS {
                let (_, rp) = self.row_plan();
                let s = row_scratch.get_or_insert_with(|| {
                    let pool = self.row_scratch.lock();
                    let mut pool = pool.unwrap_or_else(|p| p.into_inner());
                    pool.pop().unwrap_or_else(|| RowScratch::new(rp))
                });
                for r in g0..g0 + nr {
                    phi.fill(0.0);
                    let row = &rows[r * m..(r + 1) * m];
                    linear_row::explain_row(plan, rp, model, row, s, &mut phi);
                    for kk in 0..k {
                        let o = &mut out[(r * k + kk) * (m + 1)..(r * k + kk + 1) * (m + 1)];
                        o[..m].copy_from_slice(&phi[kk * m..(kk + 1) * m]);
                        o[m] = self.base[kk];
                    }
                }
            } else {
                let (s, lanes) =
                    lane_scratch.get_or_insert_with(|| (Scratch::new(plan), Vec::new()));
                let block = &rows[g0 * m..(g0 + nr) * m];
                linear::lanes_block(plan, model, detect_simd(), block, nr, s, lanes);
                for l in 0..nr {
                    let r = g0 + l;
                    for kk in 0..k {
                        let o = &mut out[(r * k + kk) * (m + 1)..(r * k + kk + 1) * (m + 1)];
                        for (j, v) in o[..m].iter_mut().enumerate() {
                            *v = lanes[kk * m + j][l];
                        }
                        o[m] = self.base[kk];
                    }
                }
            }
        }
        if let Some(s) = row_scratch {
            let mut pool = self.row_scratch.lock().unwrap_or_else(|p| p.into_inner());
            pool.push(s);
        }
        Ok(out)
    }

    /// SHAP interaction values of a few rows on the calling thread: `rows` row-major
    /// (`n × features`), the result `n × outputs × features × features`, entry
    /// `((r*outputs + k)*features + i)*features + j` = `φ_ij` (main effects on the diagonal),
    /// the values of [`Prepared::interactions`] bit for bit.
    pub fn interactions_rows(&self, rows: &[f64]) -> Result<Vec<f64>> {
        let n = self.row_count(rows)?;
        let model = &*self.model;
        let (m, k) = (model.num_features, model.num_outputs);
        let mut out = vec![0.0; n * k * m * m];
        interactions_impl::interactions_rows(self.interactions_plan(), model, rows, &mut out);
        Ok(out)
    }
}
