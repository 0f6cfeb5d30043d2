//! Allocator settings for long streamed runs (Linux, glibc).
//!
//! A streamed job allocates a few large buffers per batch (the native result,
//! about `batch_rows` × (features + 1) × 8 bytes, allocated on a worker thread and
//! freed on the main thread once JS lets it go; Arrow and Parquet buffers of the same
//! size on the JS side). glibc raises its mmap threshold to the size of each large
//! block freed, so after the first batch these blocks are carved from the heaps
//! instead, and the heaps' fragmentation makes the resident size climb in steps with
//! the number of batches. A fixed threshold (1 MiB) keeps every large buffer in its
//! own mapping, returned to the system when freed: peak memory then depends on the
//! batch size only. An `MALLOC_MMAP_THRESHOLD_` set in the environment is left alone.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[napi_derive::module_init]
fn fixed_mmap_threshold() {
    use std::os::raw::c_int;
    extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }
    /// glibc's `M_MMAP_THRESHOLD` (malloc.h).
    const M_MMAP_THRESHOLD: c_int = -3;
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only changes allocator parameters; it is called once, at load.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 1 << 20);
        }
    }
}
