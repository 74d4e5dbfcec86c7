//! The building blocks of both families: OpenAI's Conv1D and nn.Linear, a LayerNorm and an RMSNorm that expose their normalised
//! value, the embedding lookup and the activation functions.

use candle_core::{Device, Module, Result, Tensor, D};
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

    /// The weight, [in, out].
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, [out].
    pub fn bias(&self) -> &Tensor {
        &self.bias
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

    /// The weight [d], the bias [d] and ε.
    pub fn parts(&self) -> (&Tensor, &Tensor, f64) {
        (&self.weight, &self.bias, self.eps)
    }

    /// The learned scale and shift applied to a normalised tensor.
    pub fn affine(&self, normalized: &Tensor) -> Result<Tensor> {
        normalized
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)
    }
}

impl LayerNorm {
    /// The whole LayerNorm. `train` picks a kernel with gradients (the fused CPU one, or off the CPU the
    /// differentiable composite); inference takes candle's fused kernel, one pass instead of nine.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if !train {
            return candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps as f32);
        }
        if super::fast_ops::fused(x) {
            super::fast_ops::layer_norm(x, &self.weight, &self.bias, self.eps)
        } else {
            self.affine(&self.normalize(x)?)
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

/// `nn.Linear`: the weight stored [out, in], as Hugging Face's Llama checkpoints keep it; `y = x Wᵀ + b`.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Tensor,       // [out, in]
    bias: Option<Tensor>, // [out]
}

impl Linear {
    pub fn load(vb: VarBuilder, d_in: usize, d_out: usize, bias: bool) -> Result<Self> {
        let init = Init::Randn {
            mean: 0.,
            stdev: INIT_STD,
        };
        let weight = vb.get_with_hints((d_out, d_in), "weight", init)?;
        let bias = bias
            .then(|| vb.get_with_hints(d_out, "bias", Init::Const(0.)))
            .transpose()?;
        Ok(Self { weight, bias })
    }

    /// The weight, [out, in].
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, [out], if the layer has one.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // x: [b, t, in] -> [b, t, out]; the transposed weight is a strided view, not a copy.
        let (b, t, d_in) = x.dims3()?;
        let y = x.reshape((b * t, d_in))?.matmul(&self.weight.t()?)?; // [b*t, out]
        let y = match &self.bias {
            Some(bias) => y.broadcast_add(bias)?,
            None => y,
        };
        y.reshape((b, t, ()))
    }
}

/// RMSNorm over the last axis, split in two so the normalised value (TransformerLens'
/// `hook_normalized`: x / √(mean(x²) + ε), before the weight) can be recorded.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    weight: Tensor, // [d]
    eps: f64,
}

impl RmsNorm {
    pub fn load(vb: VarBuilder, d: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: vb.get_with_hints(d, "weight", Init::Const(1.))?,
            eps,
        })
    }

    /// x / √(mean(x²) + ε) over the last axis.
    pub fn normalize(&self, x: &Tensor) -> Result<Tensor> {
        let ms = x.sqr()?.mean_keepdim(D::Minus1)?; // [.., 1]
        x.broadcast_div(&(ms + self.eps)?.sqrt()?)
    }

    /// The weight [d] and ε.
    pub fn parts(&self) -> (&Tensor, f64) {
        (&self.weight, self.eps)
    }

    /// The learned scale applied to a normalised tensor.
    pub fn scale(&self, normalized: &Tensor) -> Result<Tensor> {
        normalized.broadcast_mul(&self.weight)
    }
}

impl Module for RmsNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // candle's fused kernel: one pass, when nothing records the normalised value.
        candle_nn::ops::rms_norm(x, &self.weight, self.eps as f32)
    }
}

/// [t, n_keys]: 0 where query start+i may see key j (j ≤ start+i), −∞ above that.
pub fn causal_mask(t: usize, start: usize, n_keys: usize, device: &Device) -> Result<Tensor> {
    causal_mask_at(start..start + t, n_keys, device)
}

/// [queries, n_keys]: the causal mask's rows for these query positions, in their order.
pub fn causal_mask_at(
    queries: impl ExactSizeIterator<Item = usize>,
    n_keys: usize,
    device: &Device,
) -> Result<Tensor> {
    let rows = queries.len();
    let mask: Vec<f32> = queries
        .flat_map(|q| (0..n_keys).map(move |j| if j > q { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_vec(mask, (rows, n_keys), device)
}

/// The unembedding W_U, stored [d_vocab, d] (as Hugging Face keeps `lm_head.weight`): the token
/// embedding when tied, else `lm_head.weight`.
#[derive(Debug, Clone)]
pub struct Unembed {
    weight: Tensor, // [d_vocab, d]
}

impl Unembed {
    pub fn load(vb: VarBuilder, embedding: &Embedding, tied: bool) -> Result<Self> {
        let (d_vocab, d) = embedding.table().dims2()?;
        let weight = if tied {
            embedding.table().clone()
        } else {
            let init = Init::Randn {
                mean: 0.,
                stdev: INIT_STD,
            };
            vb.pp("lm_head")
                .get_with_hints((d_vocab, d), "weight", init)?
        };
        Ok(Self { weight })
    }

    /// The unembedding columns W_U[:, t] of some tokens, as rows: [k, d].
    pub fn rows(&self, tokens: &[u32]) -> Result<Tensor> {
        let ids = Tensor::new(tokens, self.weight.device())?; // [k]
        self.weight.index_select(&ids, 0) // [k, d]
    }
}

impl Module for Unembed {
    /// [.., d] after the final norm -> [.., d_vocab].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut dims = x.dims().to_vec();
        let d = dims.last().copied().unwrap_or(0);
        let rows = x.elem_count() / d.max(1);
        let logits = x.reshape((rows, d))?.matmul(&self.weight.t()?)?; // [rows, d_vocab]
        if let Some(last) = dims.last_mut() {
            *last = self.weight.dim(0)?;
        }
        logits.reshape(dims)
    }
}
