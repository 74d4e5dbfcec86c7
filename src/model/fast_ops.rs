//! Fused CPU kernels, with their gradients, where candle's op (or composite of ops) is a measured
//! bottleneck. candle runs most element-wise CPU ops on one thread and writes a new buffer per op;
//! each kernel here is one multi-threaded pass forward and one backward.
//!
//! Measured on a training step of the bundled model's recipe (perf): GELU's composite backward
//! (`tanhf`, `powf`) alone was a fifth of the time. Every kernel falls back to candle's own op off the
//! CPU or for dtypes other than F32. Each is tested here against candle's composite, and against
//! PyTorch through the training loss and gradients (`tests/train.rs`) and the forward values
//! (`tests/parity.rs`).

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

fn same_shape(l1: &Layout, l2: &Layout, op: &str) -> Result<()> {
    if l1.shape() != l2.shape() {
        candle_core::bail!("{op}: shapes {:?} and {:?} differ", l1.shape(), l2.shape());
    }
    Ok(())
}

/// tanh as a rational function, accurate to 5e-7 (absolute) for every f32: Eigen's
/// `generic_fast_tanh_float`. libm's `tanhf` does not vectorise, and it was a tenth of a GPT-2 forward
/// pass; this loop compiles to SIMD.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    // Past ±7.905 the approximation is clamped; tanh there is within 3e-7 of ±1, inside the bound.
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
        same_shape(l1, l2, self.name())?;
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

/// Softmax over the last axis. Rows may hold −∞ (masked keys) but need one finite entry; a row that is
/// all −∞ or holds +∞ comes out NaN, as in candle and PyTorch (a causal mask always keeps the diagonal).
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
        same_shape(l1, l2, self.name())?;
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

    /// Element by element: equal within `tol`, and NaN exactly where the other is NaN (a reduction
    /// such as `max` would skip NaNs).
    fn close(a: &Tensor, b: &Tensor, tol: f32) {
        let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            let ok = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= tol;
            assert!(ok, "element {i}: {x} vs {y}");
        }
    }

    /// Fixed inputs spread over about ±`scale` (candle's CPU randn cannot be seeded).
    fn spread(shape: (usize, usize, usize), scale: f32) -> Result<Tensor> {
        let n = shape.0 * shape.1 * shape.2;
        let values: Vec<f32> = (0..n)
            .map(|i| scale * ((i as f32 * 1.618).sin() + 0.3 * (i as f32 * 0.37).cos()))
            .collect();
        Tensor::from_vec(values, shape, &Device::Cpu)
    }

    /// Values and gradients of each fused kernel equal candle's composite of ops.
    #[test]
    fn fused_kernels_match_candles_composites() -> Result<()> {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&spread((3, 5, 7), 4.0)?)?;
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
        let w = spread((3, 5, 7), 1.0)?.flip(&[2])?;

        // GELU on finite values, softmax on causally masked rows, each against candle's
        // differentiable version.
        type Pair = (fn(&Tensor) -> Result<Tensor>, fn(&Tensor) -> Result<Tensor>);
        let pairs: [(Pair, bool); 2] = [
            ((gelu_tanh, |x| x.gelu()), false),
            (
                (
                    |x| softmax_last_dim(x),
                    |x| candle_nn::ops::softmax(x, D::Minus1),
                ),
                true,
            ),
        ];
        for ((ours, theirs), masked) in pairs {
            let input = if masked {
                x.as_tensor().broadcast_add(&mask)?
            } else {
                x.as_tensor().clone()
            };
            let a = ours(&input)?;
            let b = theirs(&input)?;
            close(&a, &b, 1e-6);
            let ga = a.mul(&w)?.sum_all()?.backward()?;
            let gb = b.mul(&w)?.sum_all()?.backward()?;
            let (ga, gb) = (ga.get(&x).unwrap(), gb.get(&x).unwrap());
            close(ga, gb, 1e-5);
            assert!(
                ga.abs()?.sum_all()?.to_scalar::<f32>()? > 0.1,
                "a gradient flows"
            );
        }

        // Cross-entropy.
        let logits = Var::from_tensor(&spread((1, 6, 11), 3.0)?.squeeze(0)?)?;
        let targets = Tensor::new(&[0u32, 10, 3, 3, 7, 1], &dev)?;
        let a = (cross_entropy(logits.as_tensor(), &targets)? * 3.0)?;
        let b = (candle_nn::loss::cross_entropy(logits.as_tensor(), &targets)? * 3.0)?;
        close(&a, &b, 1e-5);
        let (ga, gb) = (a.backward()?, b.backward()?);
        close(ga.get(&logits).unwrap(), gb.get(&logits).unwrap(), 1e-6);
        Ok(())
    }

    #[test]
    fn fast_tanh_is_within_5e_7_of_tanh() {
        let mut worst = 0f64;
        for i in -2_000_000..=2_000_000 {
            let x = i as f32 * 5e-6; // −10 … 10
            let err = (f64::from(tanh(x)) - f64::from(x).tanh()).abs();
            worst = worst.max(err);
        }
        assert!(worst < 5e-7, "max error {worst}");
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
