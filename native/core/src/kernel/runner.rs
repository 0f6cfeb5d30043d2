//! One KernelSHAP run: the rows' players and coalition plans, the masked-row blocks
//! (or a tree model's coalition tables), the solve, in parallel or in large serial blocks.

use super::background::Background;
use super::sampling::{self, Plan};
use super::{default_nsamples, solve, tree, BatchModel, KernelOptions, KernelReport, L1Reg};
use crate::rng::Rng;
use crate::{Error, Matrix, Result, RunControl};
use rayon::prelude::*;

/// Everything shared by the rows of one run.
pub(super) struct Runner<'a> {
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
    pub(super) fn new(
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

    pub(super) fn explain(mut self, x: &Matrix, report: &mut KernelReport) -> Result<Vec<f64>> {
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
