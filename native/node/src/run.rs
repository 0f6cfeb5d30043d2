//! A handle JS keeps on one native run: cancellation flag and rows done.

use arrowshap_core::RunControl;
use napi_derive::napi;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Shared state between a running task and JS.
#[derive(Default)]
pub struct RunState {
    /// Set by [`NativeRun::cancel`]; polled by the core between row blocks.
    pub cancel: AtomicBool,
    /// Rows completed so far (reported by the core's progress callback).
    pub rows_done: AtomicU64,
}

impl RunState {
    /// Runs `f` under a [`RunControl`] on `threads` threads that stops once this
    /// run is cancelled and counts the rows the core finishes into
    /// [`RunState::rows_done`] (what JS polls for progress).
    pub fn with_control<R>(&self, threads: usize, f: impl FnOnce(&RunControl) -> R) -> R {
        let progress = |n: usize| {
            self.rows_done.fetch_add(n as u64, Ordering::Relaxed);
        };
        f(&RunControl {
            threads,
            cancel: Some(&self.cancel),
            progress: Some(&progress),
        })
    }
}

/// A native run handle. JS creates one per call, cancels it from an
/// `AbortSignal` listener, and polls `rowsDone` to drive progress bars.
/// (Polling a counter keeps the worker threads free of any JS round-trip.)
#[napi]
pub struct NativeRun {
    pub(crate) state: Arc<RunState>,
}

#[napi]
impl NativeRun {
    /// A fresh handle: not cancelled, no rows done.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        NativeRun {
            state: Arc::new(RunState::default()),
        }
    }
    /// Asks the run to stop; its Promise then rejects with "cancelled".
    #[napi]
    pub fn cancel(&self) {
        self.state.cancel.store(true, Ordering::Relaxed);
    }
    /// Rows completed so far.
    #[napi(getter)]
    pub fn rows_done(&self) -> f64 {
        self.state.rows_done.load(Ordering::Relaxed) as f64
    }
    /// True once `cancel()` was called.
    #[napi(getter)]
    pub fn cancelled(&self) -> bool {
        self.state.cancel.load(Ordering::Relaxed)
    }
}
