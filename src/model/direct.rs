//! The direct path from the residual stream to a few tokens' logits, as TransformerLens' logit
//! attribution takes it: the final norm with its scale frozen at the value it had for the whole final
//! residual, then the unembedding. Frozen, the norm is linear, so the logit of a token splits exactly
//! into the parts each component wrote into the residual stream, plus what no component wrote (the
//! final LayerNorm's bias).

use candle_core::{DType, Result, Tensor, D};

use super::layers::{LayerNorm, RmsNorm, Unembed};

/// The final norm (scale frozen) and the unembedding, restricted to some tokens.
#[derive(Debug, Clone)]
pub struct DirectPath {
    /// Whether a component loses its own mean first (LayerNorm), or not (RMSNorm).
    center: bool,
    /// The frozen scale: √(var + ε) of the final residual (LayerNorm), √(mean(x²) + ε) (RMSNorm).
    pub scale: f32,
    /// [d_model, k]: w_norm ⊙ W_U[:, t] / scale for each token t.
    directions: Tensor,
    /// [k]: ln_final's bias · W_U[:, t] (0 without a bias).
    pub constant: Vec<f32>,
}

impl DirectPath {
    /// GPT-2's final LayerNorm at the final residual `resid` [d_model].
    pub(crate) fn layer_norm(
        norm: &LayerNorm,
        unembed: &Unembed,
        resid: &Tensor,
        tokens: &[u32],
    ) -> Result<Self> {
        let (weight, bias, eps) = norm.parts();
        let x = resid.to_dtype(DType::F32)?.flatten_all()?; // [d]
        let centered = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?; // [d]
        let var = centered.sqr()?.mean_all()?.to_scalar::<f32>()?; // biased, as torch
        let scale = (var as f64 + eps).sqrt() as f32;
        let w_u = unembed.rows(tokens)?.to_dtype(DType::F32)?.t()?; // [d, k]
        let constant = bias
            .to_dtype(DType::F32)?
            .unsqueeze(0)?
            .matmul(&w_u)?
            .squeeze(0)?
            .to_vec1::<f32>()?; // [k]
        Self::new(true, scale, weight, &w_u, constant)
    }

    /// Llama's final RMSNorm at the final residual `resid` [d_model].
    pub(crate) fn rms_norm(
        norm: &RmsNorm,
        unembed: &Unembed,
        resid: &Tensor,
        tokens: &[u32],
    ) -> Result<Self> {
        let (weight, eps) = norm.parts();
        let x = resid.to_dtype(DType::F32)?.flatten_all()?; // [d]
        let ms = x.sqr()?.mean_all()?.to_scalar::<f32>()?;
        let scale = (ms as f64 + eps).sqrt() as f32;
        let w_u = unembed.rows(tokens)?.to_dtype(DType::F32)?.t()?; // [d, k]
        Self::new(false, scale, weight, &w_u, vec![0.0; tokens.len()])
    }

    fn new(
        center: bool,
        scale: f32,
        weight: &Tensor,
        w_u: &Tensor,
        constant: Vec<f32>,
    ) -> Result<Self> {
        let weight = weight.to_dtype(DType::F32)?.unsqueeze(1)?; // [d, 1]
        let directions = (w_u.broadcast_mul(&weight)? / scale as f64)?; // [d, k]
        Ok(Self {
            center,
            scale,
            directions,
            constant,
        })
    }

    /// Each component's direct contribution to each token's logit: components [n, d_model] (one
    /// residual-stream write per row) -> [n, k].
    pub fn apply(&self, components: &Tensor) -> Result<Tensor> {
        let c = components.to_dtype(DType::F32)?; // [n, d]
        let c = if self.center {
            c.broadcast_sub(&c.mean_keepdim(D::Minus1)?)? // [n, d]
        } else {
            c
        };
        c.matmul(&self.directions) // [n, k]
    }
}
