//! A linear layer's bias added to every row, with its gradient.
//!
//! candle's `broadcast_add` backward sums the bias gradient over the rows with a strided
//! single-threaded reduction; with four biased layers per block it was a tenth of a training step.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::{column_sums, contiguous, row_width, CHUNK};

/// y [.., d] + bias [d]. The caller checks [`super::fused`] first.
pub fn add_bias(y: &Tensor, bias: &Tensor) -> Result<Tensor> {
    y.contiguous()?.apply_op2(&bias.contiguous()?, AddBias)
}

struct AddBias;

impl CustomOp2 for AddBias {
    fn name(&self) -> &'static str {
        "add-bias-par"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = contiguous::<f32>(s1, l1, self.name())?;
        let bias = contiguous::<f32>(s2, l2, self.name())?;
        let d = row_width(l1, l2, self.name())?;
        let rows_per_chunk = (CHUNK / d).max(1);
        let mut out = vec![0f32; y.len()];
        out.par_chunks_mut(rows_per_chunk * d)
            .zip(y.par_chunks(rows_per_chunk * d))
            .for_each(|(o, y)| {
                for (o, y) in o.chunks_mut(d).zip(y.chunks(d)) {
                    for ((o, &y), &b) in o.iter_mut().zip(y).zip(bias) {
                        *o = y + b;
                    }
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _y: &Tensor,
        _bias: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let d_bias = grad_res.contiguous()?.apply_op1_no_bwd(&ColumnSum)?; // [d]
        Ok((Some(grad_res.clone()), Some(d_bias)))
    }
}

/// [.., d] -> [d]: the sum over every row.
struct ColumnSum;

impl CustomOp1 for ColumnSum {
    fn name(&self) -> &'static str {
        "column-sum"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = contiguous::<f32>(storage, layout, self.name())?;
        let d = layout.dims().last().copied().unwrap_or(1).max(1);
        let sums = column_sums(g.len() / d, d, |r, acc| {
            for (a, &v) in acc.iter_mut().zip(&g[r * d..(r + 1) * d]) {
                *a += v;
            }
        });
        Ok((CpuStorage::F32(sums), Shape::from(d)))
    }
}
