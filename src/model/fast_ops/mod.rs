//! Fused CPU kernels, with their gradients, where candle's op (or composite of ops) is a measured
//! bottleneck. candle runs most element-wise CPU ops on one thread and writes a new buffer per op;
//! each kernel here is one multi-threaded pass forward and one backward.
//!
//! Measured on a training step of the bundled model's recipe (perf): GELU's composite backward
//! (`tanhf`, `powf`) alone was a fifth of the time. Every kernel falls back to candle's own op off the
//! CPU or for dtypes other than F32. Each is tested here against candle's composite, and against
//! PyTorch through the training loss and gradients (`tests/train.rs`) and the forward values
//! (`tests/parity.rs`).

mod cross_entropy;
mod gelu;
mod softmax;
#[cfg(test)]
mod tests;

use candle_core::{CpuStorage, DType, Layout, Result, Tensor};

pub use cross_entropy::cross_entropy;
pub use gelu::gelu_tanh;
pub use softmax::softmax_last_dim;

/// Elements per parallel chunk for element-wise kernels.
const CHUNK: usize = 4096;

/// Whether the fused CPU kernel applies (else candle's own op runs).
fn fused(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

/// The tensor's elements, which must be contiguous (the entry points make them so).
fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    let src = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&src[start..end]),
        None => candle_core::bail!("{op} needs a contiguous tensor"),
    }
}

/// A gradient kernel's two inputs: contiguous, and of one shape.
fn same_shape_pair<'a>(
    (s1, l1): (&'a CpuStorage, &Layout),
    (s2, l2): (&'a CpuStorage, &Layout),
    op: &str,
) -> Result<(&'a [f32], &'a [f32])> {
    if l1.shape() != l2.shape() {
        candle_core::bail!("{op}: shapes {:?} and {:?} differ", l1.shape(), l2.shape());
    }
    Ok((contiguous_f32(s1, l1, op)?, contiguous_f32(s2, l2, op)?))
}
