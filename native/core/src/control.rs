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
    /// Runs `f` inside a rayon pool of `self.threads` threads (or the current pool when 0).
    ///
    /// Pools are kept between runs, by thread count (a few, each holding its idle
    /// threads for the process): building one costs about half a millisecond, as much as
    /// explaining a few rows of a small model.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> crate::Result<R> {
        use std::sync::{Arc, Mutex, OnceLock};
        /// Pools kept, by thread count; beyond that a pool is built for the one run.
        const KEEP: usize = 4;
        type Pools = Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>>;
        static POOLS: OnceLock<Pools> = OnceLock::new();
        if self.threads == 0 {
            return Ok(f());
        }
        let build = || {
            rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .thread_name(|i| format!("arrowshap-{i}"))
                .build()
                .map(Arc::new)
                .map_err(|e| {
                    crate::Error::Input(format!("cannot start {} threads: {e}", self.threads))
                })
        };
        let pool = {
            let pools = POOLS.get_or_init(|| Mutex::new(Vec::new()));
            let mut kept = pools.lock().unwrap_or_else(|p| p.into_inner());
            match kept.iter().find(|(n, _)| *n == self.threads) {
                Some((_, p)) => p.clone(),
                None => {
                    let p = build()?;
                    if kept.len() < KEEP {
                        kept.push((self.threads, p.clone()));
                    }
                    p
                }
            }
        };
        Ok(pool.install(f))
    }
}
