//! Fused CPU kernels, with their gradients, where candle's op (or composite of ops) is a measured
//! bottleneck. candle runs most element-wise CPU ops on one thread and writes a new buffer per op;
//! each kernel here is one multi-threaded pass forward and one backward.
//!
//! Measured on a training step of the bundled model's recipe (perf): GELU's composite backward
//! (`tanhf`, `powf`) alone was a fifth of the time. Every kernel falls back to candle's own op off the
//! CPU or for dtypes other than F32. Each is tested here against candle's composite, and against
//! PyTorch through the training loss and gradients (`tests/train.rs`) and the forward values
//! (`tests/parity.rs`).

mod bias;
mod cross_entropy;
mod gelu;
mod layer_norm;
mod softmax;
#[cfg(test)]
mod tests;

use candle_core::{CpuStorage, DType, Layout, Result, Tensor, WithDType};
use rayon::prelude::*;

pub use bias::add_bias;
pub use cross_entropy::cross_entropy;
pub use gelu::gelu_tanh;
pub use layer_norm::layer_norm;
pub use softmax::softmax_last_dim;

/// Elements per parallel chunk for element-wise kernels.
const CHUNK: usize = 4096;

/// Whether the fused CPU kernels apply to x (else candle's own op runs). [`add_bias`] and
/// [`layer_norm`] leave that choice to their caller, which has its own composite.
pub fn fused(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

/// Column sums over `n_rows` rows: `add_row(r, acc)` adds row r's contribution to a `width`-long
/// accumulator. Rows are summed in fixed blocks and the blocks in order, so the result does not
/// depend on the number of threads and training stays reproducible on any machine.
fn column_sums(
    n_rows: usize,
    width: usize,
    add_row: impl Fn(usize, &mut [f32]) + Sync,
) -> Vec<f32> {
    const ROWS: usize = 64;
    let blocks: Vec<Vec<f32>> = (0..n_rows.div_ceil(ROWS))
        .into_par_iter()
        .map(|b| {
            let mut acc = vec![0f32; width];
            (b * ROWS..((b + 1) * ROWS).min(n_rows)).for_each(|r| add_row(r, &mut acc));
            acc
        })
        .collect();
    let mut total = vec![0f32; width];
    for block in blocks {
        total.iter_mut().zip(block).for_each(|(t, v)| *t += v);
    }
    total
}

/// The tensor's elements, which must be contiguous (the entry points make them so).
fn contiguous<'a, T: WithDType>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
) -> Result<&'a [T]> {
    let src = storage.as_slice::<T>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&src[start..end]),
        None => candle_core::bail!("{op} needs a contiguous tensor"),
    }
}

/// The row width d of x [.., d], checked against a parameter vector's length.
fn row_width(x: &Layout, param: &Layout, op: &str) -> Result<usize> {
    let d = x.dims().last().copied().unwrap_or(1);
    if param.shape().elem_count() != d || d == 0 {
        candle_core::bail!(
            "{op}: rows of {d} but a parameter of shape {:?}",
            param.shape()
        );
    }
    Ok(d)
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
    Ok((
        contiguous::<f32>(s1, l1, op)?,
        contiguous::<f32>(s2, l2, op)?,
    ))
}
