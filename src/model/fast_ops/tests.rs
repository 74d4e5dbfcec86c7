//! Each fused kernel against candle's composite of ops, and the tanh against f64.

use candle_core::{DType, Device, Result, Tensor, Var, D};

use super::gelu::tanh;
use super::*;

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
