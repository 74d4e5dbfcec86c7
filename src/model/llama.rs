//! The Llama family in candle, written to be looked into: rotary positions, RMSNorm, a gated SiLU MLP and
//! grouped-query attention, with every activation TransformerLens names for it behind a hook.
//!
//! Weights are named as in Hugging Face's `LlamaForCausalLM` (`model.layers.{l}.self_attn.q_proj.weight`,
//! …); GGUF files are renamed to that on load (see `gguf`). candle-transformers' llama.rs is the
//! reference for the arithmetic; it exposes no internals, so this is our own.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::config::Config;
use super::direct::DirectPath;
use super::hook::Hooks;
use super::hooks::{BlockHook, HookPoint};
use super::kv_cache::KvCache;
use super::layers::{activate, causal_mask, Embedding, Linear, RmsNorm, Unembed, INIT_STD};
use super::rope::{Rope, RopeTables};

#[derive(Debug, Clone)]
struct Attention {
    q_proj: Linear, // d -> h·dh
    k_proj: Linear, // d -> kv·dh
    v_proj: Linear, // d -> kv·dh
    o_proj: Linear, // h·dh -> d
    n_heads: usize,
    n_kv_heads: usize,
    d_head: usize,
}

impl Attention {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let (d, h, kv, dh) = (cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.d_head);
        let bias = cfg.attn_bias;
        Ok(Self {
            q_proj: Linear::load(vb.pp("q_proj"), d, h * dh, bias)?,
            k_proj: Linear::load(vb.pp("k_proj"), d, kv * dh, bias)?,
            v_proj: Linear::load(vb.pp("v_proj"), d, kv * dh, bias)?,
            o_proj: Linear::load(vb.pp("o_proj"), h * dh, d, bias)?,
            n_heads: h,
            n_kv_heads: kv,
            d_head: dh,
        })
    }

    /// x: [b, t, d] (ln1's output for positions start..start+t) -> attn_out [b, t, d].
    fn forward(
        &self,
        x: &Tensor,
        layer: usize,
        ctx: &PassContext,
        kv: Option<&mut KvCache>,
        hooks: &mut Hooks,
    ) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let (h, kvh, dh) = (self.n_heads, self.n_kv_heads, self.d_head);
        let group = h / kvh; // query heads per key/value head
        let at = |hook| HookPoint::Block(layer, hook);

        let q = self.q_proj.forward(x)?.reshape((b, t, h, dh))?; // [b, t, h, dh]
        let q = hooks.at(at(BlockHook::Q), q)?;
        let k = self.k_proj.forward(x)?.reshape((b, t, kvh, dh))?; // [b, t, kv, dh]
        let k = hooks.at(at(BlockHook::K), k)?;
        let v = self.v_proj.forward(x)?.reshape((b, t, kvh, dh))?; // [b, t, kv, dh]
        let v = hooks.at(at(BlockHook::V), v)?;

        // The rotation works on [b, heads, t, dh]; the hooks see TransformerLens' [b, t, heads, dh].
        let q = ctx.rope.rotate(&q.transpose(1, 2)?.contiguous()?)?; // [b, h, t, dh]
        let q = hooks
            .at(at(BlockHook::RotQ), q.transpose(1, 2)?)?
            .transpose(1, 2)?;
        let k = ctx.rope.rotate(&k.transpose(1, 2)?.contiguous()?)?; // [b, kv, t, dh]
        let k = hooks
            .at(at(BlockHook::RotK), k.transpose(1, 2)?)?
            .transpose(1, 2)?
            .contiguous()?;
        let v = v.transpose(1, 2)?.contiguous()?; // [b, kv, t, dh]
        let (k, v) = match kv {
            Some(cache) => cache.append(layer, k, v)?, // [b, kv, T, dh], T = start + t
            None => (k, v),
        };
        let n_keys = k.dim(2)?;

        // Grouped-query attention without copying k and v per query head: the `group` query heads that
        // share a key/value head are consecutive, so [b, h, t, dh] is [b, kv, group·t, dh].
        let q = (q * (1.0 / (dh as f64).sqrt()))?
            .contiguous()?
            .reshape((b, kvh, group * t, dh))?;
        let scores = q
            .matmul(&k.t()?)? // [b, kv, group·t, T]
            .reshape((b, h, t, n_keys))?
            .broadcast_add(&ctx.mask)?; // [b, h, t, T]
        let scores = hooks.at(at(BlockHook::AttnScores), scores)?;
        let pattern = candle_nn::ops::softmax_last_dim(&scores)?; // [b, h, t, T]
        let pattern = hooks.at(at(BlockHook::Pattern), pattern)?;
        let z = pattern
            .contiguous()?
            .reshape((b, kvh, group * t, n_keys))?
            .matmul(&v)? // [b, kv, group·t, dh]
            .reshape((b, h, t, dh))?
            .transpose(1, 2)?; // [b, t, h, dh]
        let z = hooks.at(at(BlockHook::Z), z)?;
        self.o_proj
            .forward(&z.contiguous()?.reshape((b, t, h * dh))?) // [b, t, d]
    }
}

#[derive(Debug, Clone)]
struct Mlp {
    gate_proj: Linear, // d -> d_mlp
    up_proj: Linear,   // d -> d_mlp
    down_proj: Linear, // d_mlp -> d
    act: super::config::Activation,
}

impl Mlp {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let (d, m, bias) = (cfg.d_model, cfg.d_mlp, cfg.mlp_bias);
        Ok(Self {
            gate_proj: Linear::load(vb.pp("gate_proj"), d, m, bias)?,
            up_proj: Linear::load(vb.pp("up_proj"), d, m, bias)?,
            down_proj: Linear::load(vb.pp("down_proj"), m, d, bias)?,
            act: cfg.act,
        })
    }

    /// x: [b, t, d] (ln2's output) -> mlp_out [b, t, d]: down(act(gate(x)) · up(x)).
    fn forward(&self, x: &Tensor, layer: usize, hooks: &mut Hooks) -> Result<Tensor> {
        let at = |hook| HookPoint::Block(layer, hook);
        let pre = hooks.at(at(BlockHook::MlpPre), self.gate_proj.forward(x)?)?; // [b, t, m]
        let pre_linear = hooks.at(at(BlockHook::MlpPreLinear), self.up_proj.forward(x)?)?; // [b, t, m]
        let post = (activate(self.act, &pre)? * pre_linear)?; // [b, t, m]
        let post = hooks.at(at(BlockHook::MlpPost), post)?;
        self.down_proj.forward(&post) // [b, t, d]
    }
}

#[derive(Debug, Clone)]
struct Block {
    input_layernorm: RmsNorm,
    self_attn: Attention,
    post_attention_layernorm: RmsNorm,
    mlp: Mlp,
}

/// What every block of one pass shares, computed once per pass.
struct PassContext {
    /// The rotary angles of the pass's positions.
    rope: RopeTables,
    /// [t, T]: the causal mask.
    mask: Tensor,
}

/// An RMSNorm at a hook point: the normalised value goes through the hook (when one wants it), then
/// the weight; otherwise candle's fused kernel does both at once.
fn norm_at(norm: &RmsNorm, x: &Tensor, point: HookPoint, hooks: &mut Hooks) -> Result<Tensor> {
    if hooks.wants(point) {
        let normalized = hooks.at(point, norm.normalize(x)?)?;
        norm.scale(&normalized)
    } else {
        norm.forward(x)
    }
}

impl Block {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let (d, eps) = (cfg.d_model, cfg.ln_eps);
        Ok(Self {
            input_layernorm: RmsNorm::load(vb.pp("input_layernorm"), d, eps)?,
            self_attn: Attention::load(vb.pp("self_attn"), cfg)?,
            post_attention_layernorm: RmsNorm::load(vb.pp("post_attention_layernorm"), d, eps)?,
            mlp: Mlp::load(vb.pp("mlp"), cfg)?,
        })
    }

    /// resid_pre [b, t, d] -> resid_post [b, t, d]
    fn forward(
        &self,
        resid_pre: Tensor,
        layer: usize,
        ctx: &PassContext,
        kv: Option<&mut KvCache>,
        hooks: &mut Hooks,
    ) -> Result<Tensor> {
        let at = |hook| HookPoint::Block(layer, hook);
        let resid_pre = hooks.at(at(BlockHook::ResidPre), resid_pre)?;
        let x = norm_at(
            &self.input_layernorm,
            &resid_pre,
            at(BlockHook::Ln1Normalized),
            hooks,
        )?;
        let attn_out = self.self_attn.forward(&x, layer, ctx, kv, hooks)?;
        let attn_out = hooks.at(at(BlockHook::AttnOut), attn_out)?;
        let resid_mid = hooks.at(at(BlockHook::ResidMid), (resid_pre + attn_out)?)?;
        let x = norm_at(
            &self.post_attention_layernorm,
            &resid_mid,
            at(BlockHook::Ln2Normalized),
            hooks,
        )?;
        let mlp_out = self.mlp.forward(&x, layer, hooks)?;
        let mlp_out = hooks.at(at(BlockHook::MlpOut), mlp_out)?;
        hooks.at(at(BlockHook::ResidPost), (resid_mid + mlp_out)?)
    }
}

/// A Llama-family language model.
#[derive(Debug, Clone)]
pub struct Llama {
    cfg: Config,
    embed_tokens: Embedding, // [d_vocab, d]
    blocks: Vec<Block>,
    norm: RmsNorm,
    unembed: Unembed,
    rope: Rope,
    device: Device,
}

impl Llama {
    /// Load weights named as in Hugging Face's `LlamaForCausalLM`: `model.embed_tokens.weight`,
    /// `model.layers.{l}.…`, `model.norm.weight`, `lm_head.weight` (when not tied).
    pub fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let body = vb.pp("model");
        let d = cfg.d_model;
        let embed_tokens =
            Embedding::load(body.pp("embed_tokens"), cfg.d_vocab, d, INIT_STD, "weight")?;
        let blocks = (0..cfg.n_layers)
            .map(|l| Block::load(body.pp(format!("layers.{l}")), cfg))
            .collect::<Result<Vec<_>>>()?;
        let norm = RmsNorm::load(body.pp("norm"), d, cfg.ln_eps)?;
        let unembed = Unembed::load(vb.clone(), &embed_tokens, cfg.tie_embeddings)?;
        let theta = cfg.rope_theta.unwrap_or(10_000.0);
        Ok(Self {
            cfg: cfg.clone(),
            embed_tokens,
            blocks,
            norm,
            unembed,
            rope: Rope::new(cfg.d_head, theta, vb.device())?,
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
    /// b_O [d_model] when o_proj has a bias, so head h writes z[.., h, :] · W_O[h] into the
    /// residual stream.
    pub fn w_o(&self, layer: usize) -> Result<(Tensor, Option<Tensor>)> {
        let block = self.blocks.get(layer).ok_or_else(|| {
            candle_core::Error::Msg(format!("no layer {layer} in {} layers", self.blocks.len()))
        })?;
        let proj = &block.self_attn.o_proj;
        let (h, dh, d) = (self.cfg.n_heads, self.cfg.d_head, self.cfg.d_model);
        let w_o = proj.weight().t()?.contiguous()?.reshape((h, dh, d))?; // [d, h·dh] -> [h, dh, d]
        Ok((w_o, proj.bias().cloned()))
    }

    /// The final RMSNorm (its scale frozen at the final residual `resid` [d_model]) and the
    /// unembedding columns of `tokens`.
    pub fn direct_path(&self, resid: &Tensor, tokens: &[u32]) -> Result<DirectPath> {
        DirectPath::rms_norm(&self.norm, &self.unembed, resid, tokens)
    }

    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    /// The forward pass over positions `hooks.start()..+t`, ids [b, t] -> logits [b, t, d_vocab], or only
    /// the last position's [b, 1, d_vocab] when `all_logits` is false and no hook wants them.
    pub(crate) fn forward_hooked(
        &self,
        ids: &Tensor,
        mut kv: Option<&mut KvCache>,
        hooks: &mut Hooks,
        all_logits: bool,
    ) -> Result<Tensor> {
        let (_, t) = ids.dims2()?;
        let start = hooks.start();
        let mut resid = hooks.at(HookPoint::Embed, self.embed_tokens.lookup(ids)?)?; // [b, t, d]
        let ctx = PassContext {
            rope: self.rope.tables(start, t)?,
            mask: causal_mask(t, start, start + t, &self.device)?, // [t, T]
        };
        for (layer, block) in self.blocks.iter().enumerate() {
            resid = block.forward(resid, layer, &ctx, kv.as_deref_mut(), hooks)?;
        }
        let wants_all =
            all_logits || hooks.wants(HookPoint::LnFinal) || hooks.wants(HookPoint::Logits);
        if !wants_all {
            resid = resid.narrow(1, t - 1, 1)?; // [b, 1, d]
        }
        let x = norm_at(&self.norm, &resid, HookPoint::LnFinal, hooks)?; // [b, t', d]
        let logits = hooks.at(HookPoint::Logits, self.unembed.forward(&x)?)?; // [b, t', d_vocab]
        hooks.end_pass(t)?;
        Ok(logits)
    }

    /// The logit lens: the final RMSNorm (with this vector's own scale) and the unembedding applied to
    /// any residual-stream vector. `resid: [d_model] -> logits [d_vocab]`.
    pub fn logit_lens(&self, resid: &Tensor) -> Result<Tensor> {
        let x = resid.to_dtype(DType::F32)?.reshape((1, ()))?; // [1, d]
        self.logit_lens_rows(&x)?.squeeze(0)
    }

    /// The same for several vectors: `[n, d_model] -> [n, d_vocab]`.
    pub fn logit_lens_rows(&self, resid: &Tensor) -> Result<Tensor> {
        let x = resid.to_dtype(DType::F32)?;
        self.unembed
            .forward(&self.norm.scale(&self.norm.normalize(&x)?)?)
    }
}
