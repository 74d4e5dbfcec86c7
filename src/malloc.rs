//! Keep freed tensor buffers in the process instead of handing them back to the kernel.
//!
//! candle allocates a fresh buffer for the output of every CPU op. glibc serves allocations above
//! its mmap threshold with a new mapping and unmaps it again on free, so every large op output is
//! page-faulted in from zero pages: on a training step, a fifth of the time went to the kernel's
//! page-fault path. Serving everything from the heap and never trimming it lets buffers be reused.
//! Measured on 30 training steps of the bundled model's recipe: 40 s → 28 s, identical losses.
//! The peak measured the same (the same buffers are live at the peak), but the process keeps that
//! memory until it exits, so only batch commands (`train`, `dump`, `export`, …) and the engine
//! benchmark ask for this; the tutor, which lives long, does not.

/// Best effort: glibc may refuse a setting (then its default stays). A no-op off glibc.
///
/// # Safety
/// Call at start-up, before any other thread exists: glibc reads these parameters without a lock.
pub unsafe fn reuse_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: the caller guarantees no other thread is running; mallopt only sets parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
