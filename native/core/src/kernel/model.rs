//! What KernelSHAP needs of a model ([`BatchModel`]), and a tree ensemble as one.

use crate::{Ensemble, Result};

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
