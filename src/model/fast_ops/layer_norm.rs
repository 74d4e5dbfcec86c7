//! LayerNorm over the last axis, with its gradients for the input, the scale and the shift.
//!
//! candle's differentiable LayerNorm is a composite of nine ops; its backward sums the scale's and
//! shift's gradients over the batch with a strided single-threaded reduction, and adds each
//! intermediate gradient into a fresh buffer. Measured on a training step of the bundled model
//! (perf), those reductions and additions were a quarter of the time.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::{column_sums, contiguous, row_width, same_shape_pair};

/// LayerNorm of x [.., d] with scale and shift [d]: (x − mean)/√(var + ε) · scale + shift, with the
/// biased variance as torch computes it. The caller checks [`super::fused`] first.
pub fn layer_norm(x: &Tensor, scale: &Tensor, shift: &Tensor, eps: f64) -> Result<Tensor> {
    x.contiguous()?.apply_op3(
        &scale.contiguous()?,
        &shift.contiguous()?,
        LayerNorm { eps: eps as f32 },
    )
}

/// Mean and 1/√(var + ε) of one row.
#[inline]
fn row_stats(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len().max(1) as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

struct LayerNorm {
    eps: f32,
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "layer-norm-par"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous::<f32>(s1, l1, self.name())?;
        let (scale, shift) = (
            contiguous::<f32>(s2, l2, self.name())?,
            contiguous::<f32>(s3, l3, self.name())?,
        );
        let d = row_width(l1, l2, self.name())?;
        row_width(l1, l3, self.name())?;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(d)
            .zip(x.par_chunks(d))
            .for_each(|(o, row)| {
                let (mean, rstd) = row_stats(row, self.eps);
                for (((o, &v), &g), &b) in o.iter_mut().zip(row).zip(scale).zip(shift) {
                    *o = (v - mean) * rstd * g + b;
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        scale: &Tensor,
        _shift: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad_res.contiguous()?;
        let dx = x.apply_op3_no_bwd(scale, &grad, &LayerNormGradInput { eps: self.eps })?;
        let params = x.apply_op2_no_bwd(&grad, &LayerNormGradParams { eps: self.eps })?; // [2, d]
        Ok((Some(dx), Some(params.get(0)?), Some(params.get(1)?)))
    }
}

/// (x, scale, dL/dy) -> dL/dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)), row by row, where
/// x̂ = (x − mean) · rstd and ĝ = dL/dy ⊙ scale.
struct LayerNormGradInput {
    eps: f32,
}

impl CustomOp3 for LayerNormGradInput {
    fn name(&self) -> &'static str {
        "layer-norm-grad-input"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, g) = same_shape_pair((s1, l1), (s3, l3), self.name())?;
        let scale = contiguous::<f32>(s2, l2, self.name())?;
        let d = row_width(l1, l2, self.name())?;
        let inv_d = 1.0 / d as f32;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(d)
            .zip(x.par_chunks(d).zip(g.par_chunks(d)))
            .for_each(|(o, (row, g))| {
                let (mean, rstd) = row_stats(row, self.eps);
                let (mut sum_g, mut sum_gx) = (0f32, 0f32);
                for ((&v, &g), &s) in row.iter().zip(g).zip(scale) {
                    let gh = g * s;
                    sum_g += gh;
                    sum_gx += gh * (v - mean) * rstd;
                }
                let (mean_g, mean_gx) = (sum_g * inv_d, sum_gx * inv_d);
                for (((o, &v), &g), &s) in o.iter_mut().zip(row).zip(g).zip(scale) {
                    let xhat = (v - mean) * rstd;
                    *o = rstd * (g * s - mean_g - xhat * mean_gx);
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// (x, dL/dy) -> [2, d]: row 0 is dL/dscale = Σ dL/dy ⊙ x̂, row 1 is dL/dshift = Σ dL/dy, summed
/// over every row.
struct LayerNormGradParams {
    eps: f32,
}

impl CustomOp2 for LayerNormGradParams {
    fn name(&self) -> &'static str {
        "layer-norm-grad-params"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, g) = same_shape_pair((s1, l1), (s2, l2), self.name())?;
        let d = l1.dims().last().copied().unwrap_or(1).max(1);
        let sums = column_sums(x.len() / d, 2 * d, |r, acc| {
            let (row, g) = (&x[r * d..(r + 1) * d], &g[r * d..(r + 1) * d]);
            let (mean, rstd) = row_stats(row, self.eps);
            let (d_scale, d_shift) = acc.split_at_mut(d);
            for (((ds, db), &v), &g) in d_scale.iter_mut().zip(d_shift).zip(row).zip(g) {
                *ds += g * (v - mean) * rstd;
                *db += g;
            }
        });
        Ok((CpuStorage::F32(sums), Shape::from((2, d))))
    }
}
