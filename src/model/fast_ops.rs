//! Inference-only kernels where candle's CPU op is a measured bottleneck.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// GELU, tanh approximation (`gelu_new`), split across threads: candle's CPU GELU runs on one thread,
/// and at GPT-2 small's MLP width it took about a sixth of a forward pass.
pub fn gelu_tanh(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 {
        x.apply_op1_no_bwd(&GeluTanh)
    } else {
        x.gelu()
    }
}

struct GeluTanh;

impl CustomOp1 for GeluTanh {
    fn name(&self) -> &'static str {
        "gelu-tanh-par"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let src = storage.as_slice::<f32>()?;
        let src = match layout.contiguous_offsets() {
            Some((start, end)) => &src[start..end],
            None => candle_core::bail!("gelu-tanh-par needs a contiguous tensor"),
        };
        const SQRT_2_OVER_PI: f32 = 0.797_884_6;
        let out: Vec<f32> = src
            .par_chunks(4096)
            .flat_map_iter(|chunk| {
                chunk.iter().map(|&v| {
                    0.5 * v * (1.0 + (SQRT_2_OVER_PI * v * (1.0 + 0.044715 * v * v)).tanh())
                })
            })
            .collect();
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}
