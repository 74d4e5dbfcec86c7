//! One model interface for every command and the tutor: a loaded model of any family we implement.
//!
//! Each family is its own candle file (gpt2.rs, llama.rs) with the same hook points under
//! TransformerLens' names; everything above the model layer talks to [`Model`] and never asks which
//! family it holds, except to show positional encodings (learned table or rotary).

use candle_core::{Device, Result, Tensor};

use super::config::Config;
use super::direct::DirectPath;
use super::gpt2::Gpt2;
use super::hook::Hooks;
use super::kv_cache::KvCache;
use super::llama::Llama;
use super::rope::Rope;

#[derive(Debug, Clone)]
pub enum Model {
    Gpt2(Gpt2),
    Llama(Llama),
}

/// How a model encodes positions, for the views that show it.
pub enum Positions<'a> {
    /// GPT-2: a learned table W_pos [n_ctx, d_model] added to the token embedding.
    Learned(&'a Tensor),
    /// Llama: q and k rotated by angles that grow with the position.
    Rotary(&'a Rope),
}

impl From<Gpt2> for Model {
    fn from(m: Gpt2) -> Self {
        Self::Gpt2(m)
    }
}

impl From<Llama> for Model {
    fn from(m: Llama) -> Self {
        Self::Llama(m)
    }
}

impl Model {
    pub fn config(&self) -> &Config {
        match self {
            Self::Gpt2(m) => m.config(),
            Self::Llama(m) => m.config(),
        }
    }

    pub fn device(&self) -> &Device {
        match self {
            Self::Gpt2(m) => m.device(),
            Self::Llama(m) => m.device(),
        }
    }

    pub fn positions(&self) -> Positions<'_> {
        match self {
            Self::Gpt2(m) => Positions::Learned(m.pos_embed()),
            Self::Llama(m) => Positions::Rotary(m.rope()),
        }
    }

    /// A layer's output projection as TransformerLens keeps it: W_O [n_heads, d_head, d_model] and
    /// b_O [d_model] (if the model has one). Head h's write into the residual stream at a position is
    /// z[h] · W_O[h] (TransformerLens' `attn.hook_result`); `hook_attn_out` is their sum plus b_O.
    pub fn w_o(&self, layer: usize) -> Result<(Tensor, Option<Tensor>)> {
        match self {
            Self::Gpt2(m) => m.w_o(layer),
            Self::Llama(m) => m.w_o(layer),
        }
    }

    /// The direct path to the logits of `tokens`: the final norm with its scale frozen at the final
    /// residual `resid` [d_model], then the unembedding (see [`DirectPath`]).
    pub fn direct_path(&self, resid: &Tensor, tokens: &[u32]) -> Result<DirectPath> {
        match self {
            Self::Gpt2(m) => m.direct_path(resid, tokens),
            Self::Llama(m) => m.direct_path(resid, tokens),
        }
    }

    /// The learned position embedding W_pos [n_ctx, d_model], if this family has one.
    pub fn pos_embed(&self) -> Option<&Tensor> {
        match self.positions() {
            Positions::Learned(w) => Some(w),
            Positions::Rotary(_) => None,
        }
    }

    /// The GPT-2 inside, for what only GPT-2 has (training).
    pub fn as_gpt2(&self) -> Option<&Gpt2> {
        match self {
            Self::Gpt2(m) => Some(m),
            Self::Llama(_) => None,
        }
    }

    /// The forward pass over positions `hooks.start()..+t`: ids [b, t] -> logits [b, t, d_vocab], or only
    /// the last position's [b, 1, d_vocab] when `all_logits` is false and no hook wants them.
    pub(crate) fn forward_hooked(
        &self,
        ids: &Tensor,
        kv: Option<&mut KvCache>,
        hooks: &mut Hooks,
        all_logits: bool,
    ) -> Result<Tensor> {
        match self {
            Self::Gpt2(m) => m.forward_hooked(ids, kv, hooks, all_logits),
            Self::Llama(m) => m.forward_hooked(ids, kv, hooks, all_logits),
        }
    }

    /// Logits for every position, no hooks: ids [b, t] -> [b, t, d_vocab].
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        self.forward_hooked(ids, None, &mut Hooks::none(), true)
    }

    /// The logit lens: the final norm (with this vector's own statistics) and the unembedding applied
    /// to any residual-stream vector. `resid: [d_model] -> logits [d_vocab]`.
    pub fn logit_lens(&self, resid: &Tensor) -> Result<Tensor> {
        match self {
            Self::Gpt2(m) => m.logit_lens(resid),
            Self::Llama(m) => m.logit_lens(resid),
        }
    }

    /// The logit lens on several residual-stream vectors: `[n, d_model] -> [n, d_vocab]`; on the
    /// last block's `hook_resid_post`, the model's own logits.
    pub fn logit_lens_rows(&self, resid: &Tensor) -> Result<Tensor> {
        match self {
            Self::Gpt2(m) => m.logit_lens_rows(resid),
            Self::Llama(m) => m.logit_lens_rows(resid),
        }
    }
}
