//! Maps core errors and panics to JS errors with one readable message.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Converts a core error into a napi error whose message is the core's message.
pub fn to_napi(e: arrowshap_core::Error) -> napi::Error {
    let status = match e {
        arrowshap_core::Error::Cancelled => napi::Status::Cancelled,
        arrowshap_core::Error::Input(_) => napi::Status::InvalidArg,
        _ => napi::Status::GenericFailure,
    };
    napi::Error::new(status, e.to_string())
}

/// Runs `f`, turning a core error or a panic into a napi error, so that no
/// panic ever crosses into Node.
pub fn guarded<T>(what: &str, f: impl FnOnce() -> arrowshap_core::Result<T>) -> napi::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_napi(e)),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(napi::Error::from_reason(format!(
                "internal error in {what}: {msg}"
            )))
        }
    }
}
