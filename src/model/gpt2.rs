//! GPT-2 in candle, written to be looked into: every activation TransformerLens names can be recorded.
//!
//! The same forward pass serves three callers: a hooked run over a prompt (batch 1, recording or
//! intervening), an incremental step that appends positions using the KV cache, and training (batch b,
//! no hooks, `train = true`).

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::config::Config;
use super::direct::DirectPath;
use super::hook::Hooks;
use super::hooks::{BlockHook, HookPoint};
pub use super::kv_cache::KvCache;
use super::layers::{activate, causal_mask, Conv1D, Embedding, LayerNorm, Unembed, INIT_STD};

#[derive(Debug, Clone)]
struct Attention {
    c_attn: Conv1D, // d -> 3d: q, k, v for all heads, fused
    c_proj: Conv1D, // d -> d
    n_heads: usize,
    d_head: usize,
    /// Multiplies q·k: 1/√d_head (if scale_attn_weights) and 1/(layer+1) (if scale_attn_by_layer).
    scale: f64,
}

impl Attention {
    fn load(vb: VarBuilder, cfg: &Config, layer: usize) -> Result<Self> {
        let d = cfg.d_model;
        let scale = cfg.score_scale(layer);
        let proj_std = INIT_STD / (2.0 * cfg.n_layers as f64).sqrt();
        Ok(Self {
            c_attn: Conv1D::load(vb.pp("c_attn"), d, 3 * d, INIT_STD)?,
            c_proj: Conv1D::load(vb.pp("c_proj"), d, d, proj_std)?,
            n_heads: cfg.n_heads,
            d_head: cfg.d_head,
            scale,
        })
    }

    /// x: [b, t, d] (the ln_1 output for positions start..start+t) -> attn_out [b, t, d];
    /// mask: [t, T] from [`causal_mask`].
    fn forward(
        &self,
        x: &Tensor,
        layer: usize,
        mask: &Tensor,
        kv: Option<&mut KvCache>,
        hooks: &mut Hooks,
        train: bool,
    ) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let (h, dh) = (self.n_heads, self.d_head);
        let at = |hook| HookPoint::Block(layer, hook);
        let qkv = self.c_attn.forward(x)?; // [b, t, 3d]
        let q = qkv.narrow(2, 0, d)?.reshape((b, t, h, dh))?; // [b, t, h, dh]
        let q = hooks.at(at(BlockHook::Q), q)?;
        let k = qkv.narrow(2, d, d)?.reshape((b, t, h, dh))?; // [b, t, h, dh]
        let k = hooks.at(at(BlockHook::K), k)?;
        let v = qkv.narrow(2, 2 * d, d)?.reshape((b, t, h, dh))?; // [b, t, h, dh]
        let v = hooks.at(at(BlockHook::V), v)?;
        // Scaling q (t·d values) is cheaper than scaling the scores (h·t·T values); same result.
        let q = (q.transpose(1, 2)? * self.scale)?.contiguous()?; // [b, h, t, dh]
        let k = k.transpose(1, 2)?.contiguous()?; // [b, h, t, dh]
        let v = v.transpose(1, 2)?.contiguous()?; // [b, h, t, dh]
        let (k, v) = match kv {
            Some(cache) => cache.append(layer, k, v)?, // [b, h, T, dh], T = start + t
            None => (k, v),
        };
        let scores = q.matmul(&k.t()?)?.broadcast_add(mask)?; // [b, h, t, T]
        let scores = hooks.at(at(BlockHook::AttnScores), scores)?;
        // Training needs a kernel with a gradient; inference keeps candle's.
        let pattern = if train {
            super::fast_ops::softmax_last_dim(&scores)?
        } else {
            candle_nn::ops::softmax_last_dim(&scores)?
        }; // [b, h, t, T]
        let pattern = hooks.at(at(BlockHook::Pattern), pattern)?;
        let z = pattern.matmul(&v)?.transpose(1, 2)?; // [b, t, h, dh]
        let z = hooks.at(at(BlockHook::Z), z)?;
        self.c_proj.forward(&z.reshape((b, t, d))?) // [b, t, d]
    }
}

#[derive(Debug, Clone)]
struct Mlp {
    c_fc: Conv1D,   // d -> d_mlp
    c_proj: Conv1D, // d_mlp -> d
    act: super::config::Activation,
}

impl Mlp {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let proj_std = INIT_STD / (2.0 * cfg.n_layers as f64).sqrt();
        Ok(Self {
            c_fc: Conv1D::load(vb.pp("c_fc"), cfg.d_model, cfg.d_mlp, INIT_STD)?,
            c_proj: Conv1D::load(vb.pp("c_proj"), cfg.d_mlp, cfg.d_model, proj_std)?,
            act: cfg.act,
        })
    }
}

impl Mlp {
    /// x: [b, t, d] (ln_2's output) -> mlp_out [b, t, d]: c_proj(act(c_fc(x))), with the hidden layer
    /// before (`mlp.hook_pre`) and after (`mlp.hook_post`) its activation at their hook points.
    fn forward(&self, x: &Tensor, layer: usize, hooks: &mut Hooks) -> Result<Tensor> {
        let at = |hook| HookPoint::Block(layer, hook);
        let pre = hooks.at(at(BlockHook::MlpPre), self.c_fc.forward(x)?)?; // [b, t, d_mlp]
        let post = hooks.at(at(BlockHook::MlpPost), activate(self.act, &pre)?)?; // [b, t, d_mlp]
        self.c_proj.forward(&post) // [b, t, d]
    }
}

#[derive(Debug, Clone)]
struct Block {
    ln_1: LayerNorm,
    attn: Attention,
    ln_2: LayerNorm,
    mlp: Mlp,
}

impl Block {
    fn load(vb: VarBuilder, cfg: &Config, layer: usize) -> Result<Self> {
        Ok(Self {
            ln_1: LayerNorm::load(vb.pp("ln_1"), cfg.d_model, cfg.ln_eps)?,
            attn: Attention::load(vb.pp("attn"), cfg, layer)?,
            ln_2: LayerNorm::load(vb.pp("ln_2"), cfg.d_model, cfg.ln_eps)?,
            mlp: Mlp::load(vb.pp("mlp"), cfg)?,
        })
    }

    /// resid_pre [b, t, d] -> resid_post [b, t, d]
    fn forward(
        &self,
        resid_pre: Tensor,
        layer: usize,
        mask: &Tensor,
        kv: Option<&mut KvCache>,
        hooks: &mut Hooks,
        train: bool,
    ) -> Result<Tensor> {
        let at = |hook| HookPoint::Block(layer, hook);
        let resid_pre = hooks.at(at(BlockHook::ResidPre), resid_pre)?;
        let x = self.ln_1.forward_t(&resid_pre, train)?;
        let attn_out = self.attn.forward(&x, layer, mask, kv, hooks, train)?;
        let attn_out = hooks.at(at(BlockHook::AttnOut), attn_out)?;
        let resid_mid = hooks.at(at(BlockHook::ResidMid), (resid_pre + attn_out)?)?;
        let mlp_out = self
            .mlp
            .forward(&self.ln_2.forward_t(&resid_mid, train)?, layer, hooks)?;
        let mlp_out = hooks.at(at(BlockHook::MlpOut), mlp_out)?;
        hooks.at(at(BlockHook::ResidPost), (resid_mid + mlp_out)?)
    }
}

/// A GPT-2 language model.
#[derive(Debug, Clone)]
pub struct Gpt2 {
    cfg: Config,
    wte: Embedding, // [d_vocab, d]
    wpe: Embedding, // [n_ctx, d]
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    unembed: Unembed,
    device: Device,
}

impl Gpt2 {
    /// Load from (or, with a `VarMap`-backed builder, create) weights named as in Hugging Face's
    /// `GPT2LMHeadModel`: `{prefix}wte.weight`, `{prefix}h.{l}.attn.c_attn.weight`, …, `lm_head.weight`.
    /// `prefixed` says whether the body's names start with `transformer.`.
    pub fn load(vb: VarBuilder, cfg: &Config, prefixed: bool) -> Result<Self> {
        let body = if prefixed {
            vb.pp("transformer")
        } else {
            vb.clone()
        };
        let d = cfg.d_model;
        let wte = Embedding::load(body.pp("wte"), cfg.d_vocab, d, INIT_STD, "weight")?;
        let wpe = Embedding::load(body.pp("wpe"), cfg.n_ctx, d, 0.01, "weight")?;
        let blocks = (0..cfg.n_layers)
            .map(|l| Block::load(body.pp(format!("h.{l}")), cfg, l))
            .collect::<Result<Vec<_>>>()?;
        let ln_f = LayerNorm::load(body.pp("ln_f"), d, cfg.ln_eps)?;
        let unembed = Unembed::load(vb.clone(), &wte, cfg.tie_embeddings)?;
        Ok(Self {
            cfg: cfg.clone(),
            wte,
            wpe,
            blocks,
            ln_f,
            unembed,
            device: vb.device().clone(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// A layer's output projection as TransformerLens keeps it: W_O [n_heads, d_head, d_model] and
    /// b_O [d_model], so head h writes z[.., h, :] · W_O[h] into the residual stream.
    pub fn w_o(&self, layer: usize) -> Result<(Tensor, Option<Tensor>)> {
        let block = self.blocks.get(layer).ok_or_else(|| {
            candle_core::Error::Msg(format!("no layer {layer} in {} layers", self.blocks.len()))
        })?;
        let proj = &block.attn.c_proj;
        let (h, dh, d) = (self.cfg.n_heads, self.cfg.d_head, self.cfg.d_model);
        let w_o = proj.weight().reshape((h, dh, d))?; // [d, d] as [h·dh, d] -> [h, dh, d]
        Ok((w_o, Some(proj.bias().clone())))
    }

    /// The final LayerNorm (its scale frozen at the final residual `resid` [d_model]) and the
    /// unembedding columns of `tokens`.
    pub fn direct_path(&self, resid: &Tensor, tokens: &[u32]) -> Result<DirectPath> {
        DirectPath::layer_norm(&self.ln_f, &self.unembed, resid, tokens)
    }

    /// The learned position embedding W_pos [n_ctx, d_model].
    pub fn pos_embed(&self) -> &Tensor {
        self.wpe.table()
    }

    /// Logits for every position of a batch: ids [b, t] (u32) -> [b, t, d_vocab]. `train` chooses
    /// kernels with gradients (as candle_nn's `forward_t`).
    pub fn forward_t(&self, ids: &Tensor, train: bool) -> Result<Tensor> {
        if !train {
            return self.forward_hooked(ids, None, &mut Hooks::none(), true);
        }
        let (_, t) = ids.dims2()?;
        let mut resid = self.embed(ids, 0)?; // [b, t, d]
        let mask = causal_mask(t, 0, t, &self.device)?; // [t, t]
        let mut hooks = Hooks::none();
        for (layer, block) in self.blocks.iter().enumerate() {
            resid = block.forward(resid, layer, &mask, None, &mut hooks, true)?;
        }
        // Nothing records the normalised value, so LayerNorm runs as one kernel with its gradient.
        self.unembed.forward(&self.ln_f.forward_t(&resid, true)?) // [b, t, d_vocab]
    }

    /// Token plus position embedding for positions start..start+t: ids [b, t] -> [b, t, d].
    fn embed(&self, ids: &Tensor, start: usize) -> Result<Tensor> {
        self.wte.lookup(ids)? + self.wpe.lookup(&self.positions(ids, start)?)?
    }

    /// The positions start..start+t for every row of ids [b, t]: [b, t] (u32).
    fn positions(&self, ids: &Tensor, start: usize) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        Tensor::arange(start as u32, (start + t) as u32, &self.device)?
            .unsqueeze(0)?
            .repeat((b, 1))
    }

    /// The inference pass over positions `hooks.start()..+t`, with every hook point.
    /// ids: [b, t]; returns logits [b, t, d_vocab], or only the last position's [b, 1, d_vocab]
    /// when `all_logits` is false and no hook wants them.
    pub(crate) fn forward_hooked(
        &self,
        ids: &Tensor,
        mut kv: Option<&mut KvCache>,
        hooks: &mut Hooks,
        all_logits: bool,
    ) -> Result<Tensor> {
        let (_, t) = ids.dims2()?;
        let start = hooks.start();
        let embed = hooks.at(HookPoint::Embed, self.wte.lookup(ids)?)?; // [b, t, d]
        let pos_embed = self.wpe.lookup(&self.positions(ids, start)?)?; // [b, t, d]
        let pos_embed = hooks.at(HookPoint::PosEmbed, pos_embed)?;
        let mut resid = (embed + pos_embed)?; // [b, t, d]
        let mask = causal_mask(t, start, start + t, &self.device)?; // [t, T], shared by all layers
        for (layer, block) in self.blocks.iter().enumerate() {
            resid = block.forward(resid, layer, &mask, kv.as_deref_mut(), hooks, false)?;
        }
        let wants_all =
            all_logits || hooks.wants(HookPoint::LnFinal) || hooks.wants(HookPoint::Logits);
        if !wants_all {
            resid = resid.narrow(1, t - 1, 1)?; // [b, 1, d]
        }
        let logits = if hooks.wants(HookPoint::LnFinal) {
            let normalized = hooks.at(HookPoint::LnFinal, self.ln_f.normalize(&resid)?)?; // [b, t', d]
            self.unembed_normalized(&normalized)?
        } else {
            self.unembed.forward(&self.ln_f.forward_t(&resid, false)?)?
        }; // [b, t', d_vocab]
        let logits = hooks.at(HookPoint::Logits, logits)?;
        hooks.end_pass(t)?;
        Ok(logits)
    }

    /// ln_final's weight and bias, then the unembedding: [.., t, d] normalised -> [.., t, d_vocab].
    fn unembed_normalized(&self, normalized: &Tensor) -> Result<Tensor> {
        self.unembed.forward(&self.ln_f.affine(normalized)?)
    }

    /// The logit lens: the whole final LayerNorm (with this vector's own statistics) and the
    /// unembedding applied to any residual-stream vector. `resid: [d_model] -> logits [d_vocab]`.
    pub fn logit_lens(&self, resid: &Tensor) -> Result<Tensor> {
        let x = resid.to_dtype(DType::F32)?.reshape((1, ()))?; // [1, d]
        self.logit_lens_rows(&x)?.squeeze(0)
    }

    /// The same for several vectors: `[n, d_model] -> [n, d_vocab]`.
    pub fn logit_lens_rows(&self, resid: &Tensor) -> Result<Tensor> {
        let normalized = self.ln_f.normalize(&resid.to_dtype(DType::F32)?)?;
        self.unembed_normalized(&normalized)
    }
}
