//! Fused CPU kernels, with their gradients, where candle's op (or composite of ops) is a measured
//! bottleneck. candle runs most element-wise CPU ops on one thread and writes a new buffer per op;
//! each kernel here is one multi-threaded pass forward and one backward.
//!
//! Measured on a training step of the bundled model's recipe (perf): GELU's composite backward
//! (tanh, powf) and the softmax composite were a third of the time. Every kernel falls back to
//! candle's own op off the CPU or for dtypes other than F32, and each is checked against PyTorch by
//! `tests/train.rs` (gradients) and `tests/parity.rs` (values).

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Result, Shape, Tensor, D};
use rayon::prelude::*;

/// Elements per parallel chunk for element-wise kernels.
const CHUNK: usize = 4096;

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_CUBIC: f32 = 0.044_715;

fn fused(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    let src = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&src[start..end]),
        None => candle_core::bail!("{op} needs a contiguous tensor"),
    }
}

/// tanh as a rational function, accurate to 4e-7 (absolute) for every f32: Eigen's
/// `generic_fast_tanh_float`. libm's `tanhf` does not vectorise, and it was a tenth of a GPT-2 forward
/// pass; this loop compiles to SIMD.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    // Beyond ±7.905, tanh rounds to ±1 in f32.
    const CLAMP: f32 = 7.905_311;
    const ALPHA: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_672e-11,
        2.000_188e-13,
        -2.760_768_5e-16,
    ];
    const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    // Plain multiply-adds, not `mul_add`: without a compile-time FMA target that is a libm call.
    let mut p = ALPHA[6];
    for c in ALPHA[..6].iter().rev() {
        p = p * x2 + c;
    }
    let mut q = BETA[3];
    for c in BETA[..3].iter().rev() {
        q = q * x2 + c;
    }
    x * p / q
}

/// GELU, tanh approximation (`gelu_new`): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
pub fn gelu_tanh(x: &Tensor) -> Result<Tensor> {
    if fused(x) {
        x.contiguous()?.apply_op1(GeluTanh)
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
        let src = contiguous_f32(storage, layout, self.name())?;
        let mut out = vec![0f32; src.len()];
        out.par_chunks_mut(CHUNK)
            .zip(src.par_chunks(CHUNK))
            .for_each(|(o, x)| {
                for (o, &v) in o.iter_mut().zip(x) {
                    *o = 0.5 * v * (1.0 + tanh(SQRT_2_OVER_PI * v * (1.0 + GELU_CUBIC * v * v)));
                }
            });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(arg.contiguous()?.apply_op2_no_bwd(
            &grad_res.contiguous()?,
            &GeluTanhGrad,
        )?))
    }
}

/// (x, dL/dy) -> dL/dx for [`GeluTanh`].
struct GeluTanhGrad;

impl CustomOp2 for GeluTanhGrad {
    fn name(&self) -> &'static str {
        "gelu-tanh-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s1, l1, self.name())?;
        let g = contiguous_f32(s2, l2, self.name())?;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK).zip(g.par_chunks(CHUNK)))
            .for_each(|(o, (xc, gc))| {
                for ((o, &v), &g) in o.iter_mut().zip(xc).zip(gc) {
                    let t = tanh(SQRT_2_OVER_PI * v * (1.0 + GELU_CUBIC * v * v));
                    let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * v * v);
                    *o = g * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du);
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Softmax over the last axis; rows may hold −∞ (masked keys), and a row must have a finite entry.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    if fused(x) {
        x.contiguous()?.apply_op1(Softmax)
    } else {
        candle_nn::ops::softmax(x, D::Minus1)
    }
}

struct Softmax;

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "softmax-last-dim-par"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let src = contiguous_f32(storage, layout, self.name())?;
        let n = layout.dims().last().copied().unwrap_or(1).max(1);
        let mut out = vec![0f32; src.len()];
        out.par_chunks_mut(n)
            .zip(src.par_chunks(n))
            .for_each(|(o, row)| {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0f32;
                for (o, &v) in o.iter_mut().zip(row) {
                    *o = (v - max).exp();
                    sum += *o;
                }
                o.iter_mut().for_each(|o| *o /= sum);
            });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(
            res.contiguous()?
                .apply_op2_no_bwd(&grad_res.contiguous()?, &SoftmaxGrad)?,
        ))
    }
}

/// (y = softmax(x), dL/dy) -> dL/dx = y ⊙ (dL/dy − Σ_j y_j·dL/dy_j), row by row.
struct SoftmaxGrad;

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "softmax-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = contiguous_f32(s1, l1, self.name())?;
        let g = contiguous_f32(s2, l2, self.name())?;
        let n = l1.dims().last().copied().unwrap_or(1).max(1);
        let mut out = vec![0f32; y.len()];
        out.par_chunks_mut(n)
            .zip(y.par_chunks(n).zip(g.par_chunks(n)))
            .for_each(|(o, (y, g))| {
                let dot: f32 = y.iter().zip(g).map(|(y, g)| y * g).sum();
                for ((o, &y), &g) in o.iter_mut().zip(y).zip(g) {
                    *o = y * (g - dot);
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

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

fn targets_u32<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [u32]> {
    let src = storage.as_slice::<u32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&src[start..end]),
        None => candle_core::bail!("cross-entropy needs contiguous targets"),
    }
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
        let x = contiguous_f32(s1, l1, self.name())?;
        let t = targets_u32(s2, l2)?;
        let (n, v) = l1.shape().dims2()?;
        if t.len() != n {
            candle_core::bail!("cross-entropy: {n} rows of logits but {} targets", t.len());
        }
        if let Some(bad) = t.iter().find(|&&id| id as usize >= v) {
            candle_core::bail!("cross-entropy: target {bad} is outside a vocabulary of {v}");
        }
        // Summed in f64: a mean over thousands of rows loses digits in f32.
        let total: f64 = x
            .par_chunks(v)
            .zip(t.par_iter())
            .map(|(row, &id)| f64::from(log_sum_exp(row) - row[id as usize]))
            .sum();
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
        let x = contiguous_f32(s1, l1, self.name())?;
        let t = targets_u32(s2, l2)?;
        let (n, v) = l1.shape().dims2()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn close(a: &Tensor, b: &Tensor, tol: f32) {
        let diff = (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff <= tol, "max difference {diff}");
    }

    /// Values and gradients of each fused kernel equal candle's composite of ops.
    #[test]
    fn fused_kernels_match_candles_composites() -> Result<()> {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&(Tensor::randn(0f32, 2.0, (3, 5, 7), &dev)?))?;
        let mask = Tensor::from_vec(
            (0..35)
                .map(|i| {
                    if i % 7 > i / 7 {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                })
                .collect::<Vec<f32>>(),
            (5, 7),
            &dev,
        )?;
        let w = Tensor::randn(0f32, 1.0, (3, 5, 7), &dev)?;

        // GELU and masked softmax, each against candle's differentiable version.
        type Pair = (fn(&Tensor) -> Result<Tensor>, fn(&Tensor) -> Result<Tensor>);
        let pairs: [Pair; 2] = [
            (gelu_tanh, |x| x.gelu()),
            (
                |x| softmax_last_dim(x),
                |x| candle_nn::ops::softmax(x, D::Minus1),
            ),
        ];
        for (ours, theirs) in pairs {
            let input = x.as_tensor().broadcast_add(&mask)?;
            let a = ours(&input)?;
            let b = theirs(&input)?;
            close(&a, &b, 1e-6);
            let ga = a.mul(&w)?.sum_all()?.backward()?;
            let gb = b.mul(&w)?.sum_all()?.backward()?;
            close(ga.get(&x).unwrap(), gb.get(&x).unwrap(), 1e-5);
        }

        // Cross-entropy.
        let logits = Var::from_tensor(&Tensor::randn(0f32, 3.0, (6, 11), &dev)?)?;
        let targets = Tensor::new(&[0u32, 10, 3, 3, 7, 1], &dev)?;
        let a = (cross_entropy(logits.as_tensor(), &targets)? * 3.0)?;
        let b = (candle_nn::loss::cross_entropy(logits.as_tensor(), &targets)? * 3.0)?;
        close(&a, &b, 1e-5);
        let (ga, gb) = (a.backward()?, b.backward()?);
        close(ga.get(&logits).unwrap(), gb.get(&logits).unwrap(), 1e-6);
        Ok(())
    }

    #[test]
    fn fast_tanh_is_within_4e_7_of_tanh() {
        let mut worst = 0f64;
        for i in -2_000_000..=2_000_000 {
            let x = i as f32 * 5e-6; // −10 … 10
            let err = (f64::from(tanh(x)) - f64::from(x).tanh()).abs();
            worst = worst.max(err);
        }
        assert!(worst < 4e-7, "max error {worst}");
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(-30.0), -tanh(30.0));
    }

    #[test]
    fn cross_entropy_rejects_an_out_of_range_target() {
        let logits = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
        let targets = Tensor::new(&[0u32, 3], &Device::Cpu).unwrap();
        let err = cross_entropy(&logits, &targets).unwrap_err().to_string();
        assert!(err.contains("target 3"), "{err}");
    }
}
