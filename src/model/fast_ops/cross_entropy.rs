//! Mean cross-entropy against target ids, with its gradient: the training loss.

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::{contiguous, fused};

/// Mean cross-entropy of logits [n, V] against target ids [n] (u32): one pass forward (log-sum-exp
/// per row) and one backward ((softmax − one-hot) / n), instead of candle's log_softmax + gather.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    if fused(logits) && targets.dtype() == DType::U32 {
        logits
            .contiguous()?
            .apply_op2(&targets.contiguous()?, CrossEntropy)
    } else {
        candle_nn::loss::cross_entropy(logits, targets)
    }
}

struct CrossEntropy;

/// Logits [n, V] and n target ids, each below V: (logits, targets, n, V).
fn logits_and_targets<'a>(
    (s1, l1): (&'a CpuStorage, &Layout),
    (s2, l2): (&'a CpuStorage, &Layout),
    op: &str,
) -> Result<(&'a [f32], &'a [u32], usize, usize)> {
    let x = contiguous::<f32>(s1, l1, op)?;
    let t = contiguous::<u32>(s2, l2, "cross-entropy's targets")?;
    let (n, v) = l1.shape().dims2()?;
    if t.len() != n {
        candle_core::bail!("cross-entropy: {n} rows of logits but {} targets", t.len());
    }
    if let Some(bad) = t.iter().find(|&&id| id as usize >= v) {
        candle_core::bail!("cross-entropy: target {bad} is outside a vocabulary of {v}");
    }
    Ok((x, t, n, v))
}

/// log Σ exp(row), stably.
fn log_sum_exp(row: &[f32]) -> f32 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    max + row.iter().map(|&v| (v - max).exp()).sum::<f32>().ln()
}

impl CustomOp2 for CrossEntropy {
    fn name(&self) -> &'static str {
        "cross-entropy-par"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, t, n, v) = logits_and_targets((s1, l1), (s2, l2), self.name())?;
        // Rows in parallel, then summed in order and in f64, so the loss is the same on every run
        // (a parallel sum's order depends on scheduling) and a mean over thousands of rows keeps its digits.
        let per_row: Vec<f64> = x
            .par_chunks(v)
            .zip(t.par_iter())
            .map(|(row, &id)| f64::from(log_sum_exp(row) - row[id as usize]))
            .collect();
        let total: f64 = per_row.iter().sum();
        Ok((
            CpuStorage::F32(vec![(total / n.max(1) as f64) as f32]),
            Shape::from(()),
        ))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let unit = logits.apply_op2_no_bwd(targets, &CrossEntropyGrad)?; // [n, V]
        Ok((Some(unit.broadcast_mul(grad_res)?), None))
    }
}

/// (logits [n, V], targets [n]) -> d(mean cross-entropy)/d logits = (softmax − one-hot) / n.
struct CrossEntropyGrad;

impl CustomOp2 for CrossEntropyGrad {
    fn name(&self) -> &'static str {
        "cross-entropy-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, t, n, v) = logits_and_targets((s1, l1), (s2, l2), self.name())?;
        let inv_n = 1.0 / n.max(1) as f32;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(v)
            .zip(x.par_chunks(v).zip(t.par_iter()))
            .for_each(|(o, (row, &id))| {
                let lse = log_sum_exp(row);
                for (o, &l) in o.iter_mut().zip(row) {
                    *o = (l - lse).exp() * inv_n;
                }
                o[id as usize] -= inv_n;
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}
