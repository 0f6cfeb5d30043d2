//! Run control shared by every long computation: thread count, cancellation
//! and progress reporting.

use std::sync::atomic::{AtomicBool, Ordering};

/// How a long computation is run and observed.
///
/// Progress is reported in rows completed (cumulative deltas: each call passes
/// the number of rows *just* finished), from worker threads; the callback must
/// be cheap and thread-safe. Cancellation is polled between row blocks.
#[derive(Default, Clone, Copy)]
pub struct RunControl<'a> {
    /// Worker threads; 0 means all cores.
    pub threads: usize,
    /// Set to true from another thread to stop the run with [`crate::Error::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
    /// Called with the number of rows just completed.
    pub progress: Option<&'a (dyn Fn(usize) + Sync)>,
}

impl<'a> RunControl<'a> {
    /// True when the caller asked to stop.
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.cancel
            .map(|c| c.load(Ordering::Relaxed))
            .unwrap_or(false)
    }
    /// Reports `rows` more rows done.
    #[inline]
    pub fn report(&self, rows: usize) {
        if let Some(p) = self.progress {
            p(rows)
        }
    }
    /// Runs `f` inside a rayon pool of `self.threads` threads (or the global pool when 0).
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> crate::Result<R> {
        if self.threads == 0 {
            return Ok(f());
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .map_err(|e| {
                crate::Error::Input(format!("cannot start {} threads: {e}", self.threads))
            })?;
        Ok(pool.install(f))
    }
}
