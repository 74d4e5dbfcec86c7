//! Keep freed tensor buffers in the process instead of handing them back to the kernel.
//!
//! candle allocates a fresh buffer for the output of every CPU op. glibc serves allocations above
//! its mmap threshold with a new mapping and unmaps it again on free, so every large op output is
//! page-faulted in from zero pages: on a training step, a fifth of the time went to the kernel's
//! page-fault path. Serving everything from the heap and never trimming it lets buffers be reused.
//! Measured on 30 training steps of the bundled model's recipe: 40 s → 28 s, identical losses.
//! Peak memory is unchanged (the same buffers are live at the peak); the process just keeps it.

/// Call once at start-up, before large allocations. A no-op off glibc.
pub fn reuse_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before other threads exist
    // in `main`, and glibc serialises it against concurrent allocation in any case.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
