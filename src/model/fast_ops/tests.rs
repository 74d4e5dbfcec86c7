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

/// LayerNorm and the bias add: values and the gradient of every input equal candle's composite.
#[test]
fn layer_norm_and_bias_match_candles_composites() -> Result<()> {
    // 70 rows: more than one block of `column_sums`, and a partial last block.
    let x = Var::from_tensor(&spread((2, 35, 9), 3.0)?)?;
    let scale = Var::from_tensor(&(spread((1, 1, 9), 1.0)?.squeeze(0)?.squeeze(0)? + 1.0)?)?;
    let shift = Var::from_tensor(&spread((1, 1, 9), 0.5)?.flip(&[2])?.squeeze(0)?.squeeze(0)?)?;
    let w = spread((2, 35, 9), 1.0)?.flip(&[1])?;
    let eps = 1e-5;
    let composite = |x: &Tensor| -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centered = x.broadcast_sub(&mean)?;
        let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
        centered
            .broadcast_div(&(var + eps)?.sqrt()?)?
            .broadcast_mul(scale.as_tensor())?
            .broadcast_add(shift.as_tensor())
    };
    let a = layer_norm(x.as_tensor(), scale.as_tensor(), shift.as_tensor(), eps)?;
    let b = composite(x.as_tensor())?;
    close(&a, &b, 1e-5);
    let ga = a.mul(&w)?.sum_all()?.backward()?;
    let gb = b.mul(&w)?.sum_all()?.backward()?;
    for v in [&x, &scale, &shift] {
        let (ga, gb) = (ga.get(v).unwrap(), gb.get(v).unwrap());
        close(ga, gb, 1e-4);
        assert!(
            ga.abs()?.sum_all()?.to_scalar::<f32>()? > 0.1,
            "a gradient flows"
        );
    }

    let bias = Var::from_tensor(&spread((1, 1, 9), 2.0)?.squeeze(0)?.squeeze(0)?)?;
    let a = add_bias(x.as_tensor(), bias.as_tensor())?;
    let b = x.as_tensor().broadcast_add(bias.as_tensor())?;
    close(&a, &b, 0.0);
    let ga = a.mul(&w)?.sum_all()?.backward()?;
    let gb = b.mul(&w)?.sum_all()?.backward()?;
    close(ga.get(&x).unwrap(), gb.get(&x).unwrap(), 0.0);
    close(ga.get(&bias).unwrap(), gb.get(&bias).unwrap(), 1e-5);
    Ok(())
}

#[test]
fn fused_kernels_reject_a_parameter_of_the_wrong_width() {
    let x = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
    let p = Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap();
    let err = layer_norm(&x, &p, &p, 1e-5).unwrap_err().to_string();
    assert!(err.contains("rows of 3"), "{err}");
    let err = add_bias(&x, &p).unwrap_err().to_string();
    assert!(err.contains("rows of 3"), "{err}");
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
