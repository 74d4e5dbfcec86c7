//! The building blocks of GPT-2: OpenAI's Conv1D linear layer, a LayerNorm that exposes its normalised
//! value, the embedding lookup and the activation functions.

use candle_core::{Module, Result, Tensor, D};
use candle_nn::{Init, VarBuilder};

use super::config::Activation;

/// GPT-2's initialisation (used only when the VarBuilder creates weights, i.e. when training).
pub const INIT_STD: f64 = 0.02;

/// OpenAI's `Conv1D`: a linear layer whose weight is stored [in, out] (the transpose of `nn.Linear`),
/// so `y = x @ W + b`. Keeping that layout avoids copying every weight of a checkpoint at load time.
#[derive(Debug, Clone)]
pub struct Conv1D {
    weight: Tensor, // [in, out]
    bias: Tensor,   // [out]
}

impl Conv1D {
    pub fn load(vb: VarBuilder, d_in: usize, d_out: usize, init_std: f64) -> Result<Self> {
        let weight = vb.get_with_hints(
            (d_in, d_out),
            "weight",
            Init::Randn {
                mean: 0.,
                stdev: init_std,
            },
        )?;
        let bias = vb.get_with_hints(d_out, "bias", Init::Const(0.))?;
        Ok(Self { weight, bias })
    }
}

impl Module for Conv1D {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // x: [b, t, in] -> [b, t, out]
        let (b, t, d_in) = x.dims3()?;
        let y = x.reshape((b * t, d_in))?.matmul(&self.weight)?; // [b*t, out]
        let y = if super::fast_ops::fused(&y) {
            super::fast_ops::add_bias(&y, &self.bias)?
        } else {
            y.broadcast_add(&self.bias)?
        };
        y.reshape((b, t, ()))
    }
}

/// LayerNorm over the last axis, split in two so the normalised value (TransformerLens'
/// `hook_normalized`: (x − mean)/√(var + ε), before the weight and bias) can be recorded.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Tensor, // [d]
    bias: Tensor,   // [d]
    eps: f64,
}

impl LayerNorm {
    pub fn load(vb: VarBuilder, d: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: vb.get_with_hints(d, "weight", Init::Const(1.))?,
            bias: vb.get_with_hints(d, "bias", Init::Const(0.))?,
            eps,
        })
    }

    /// (x − mean) / √(var + ε) over the last axis, with the biased variance as torch computes it.
    pub fn normalize(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?; // [.., 1]
        let centered = x.broadcast_sub(&mean)?;
        let var = centered.sqr()?.mean_keepdim(D::Minus1)?; // [.., 1]
        centered.broadcast_div(&(var + self.eps)?.sqrt()?)
    }

    /// The learned scale and shift applied to a normalised tensor.
    pub fn affine(&self, normalized: &Tensor) -> Result<Tensor> {
        normalized
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.track_op() || self.weight.track_op() {
            // Training: a kernel with gradients, or off the CPU the differentiable composite.
            if super::fast_ops::fused(x) {
                super::fast_ops::layer_norm(x, &self.weight, &self.bias, self.eps)
            } else {
                self.affine(&self.normalize(x)?)
            }
        } else {
            // Inference: candle's fused kernel, one pass instead of nine.
            candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps as f32)
        }
    }
}

/// A lookup table [n, d].
#[derive(Debug, Clone)]
pub struct Embedding {
    table: Tensor, // [n, d]
}

impl Embedding {
    pub fn load(vb: VarBuilder, n: usize, d: usize, init_std: f64, name: &str) -> Result<Self> {
        let table = vb.get_with_hints(
            (n, d),
            name,
            Init::Randn {
                mean: 0.,
                stdev: init_std,
            },
        )?;
        Ok(Self { table })
    }

    pub fn table(&self) -> &Tensor {
        &self.table
    }

    /// ids: [b, t] (u32) -> [b, t, d]
    pub fn lookup(&self, ids: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let d = self.table.dim(1)?;
        self.table
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, d))
    }
}

pub fn activate(act: Activation, x: &Tensor) -> Result<Tensor> {
    match act {
        Activation::GeluTanh => super::fast_ops::gelu_tanh(x),
        Activation::GeluErf => x.gelu_erf(),
        Activation::Relu => x.relu(),
        Activation::Silu => x.silu(),
    }
}
