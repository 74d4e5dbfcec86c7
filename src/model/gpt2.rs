//! GPT-2 in candle, written to be looked into: every activation TransformerLens names can be recorded.
//!
//! The same forward pass serves three callers: a captured run over a prompt (batch 1, recording hooks),
//! an incremental step that appends positions using the KV cache, and training (batch b, no recording).

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::config::Config;
use super::hooks::{self, BlockHook};
pub use super::kv_cache::KvCache;
use super::layers::{activate, Conv1D, Embedding, LayerNorm, INIT_STD};
use super::sink::HookSink;

#[derive(Debug, Clone)]
struct Attention {
    c_attn: Conv1D, // d -> 3d: q, k, v for all heads, fused
    c_proj: Conv1D, // d -> d
    n_heads: usize,
    d_head: usize,
    /// Multiplies q·k: 1/√d_head (if scale_attn_weights) and 1/(layer+1) (if scale_attn_by_layer).
    scale: f64,
    /// Heads whose output (hook_z) is zeroed: a what-if run, never set on a loaded model.
    ablated: Vec<usize>,
}

impl Attention {
    fn load(vb: VarBuilder, cfg: &Config, layer: usize) -> Result<Self> {
        let d = cfg.d_model;
        let mut scale = 1.0;
        if cfg.scale_attn_weights {
            scale /= (cfg.d_head as f64).sqrt();
        }
        if cfg.scale_attn_by_layer {
            scale /= (layer + 1) as f64;
        }
        let proj_std = INIT_STD / (2.0 * cfg.n_layers as f64).sqrt();
        Ok(Self {
            c_attn: Conv1D::load(vb.pp("c_attn"), d, 3 * d, INIT_STD)?,
            c_proj: Conv1D::load(vb.pp("c_proj"), d, d, proj_std)?,
            n_heads: cfg.n_heads,
            d_head: cfg.d_head,
            scale,
            ablated: Vec::new(),
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
        rec: &mut Option<&mut dyn HookSink>,
    ) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let (h, dh) = (self.n_heads, self.d_head);
        let qkv = self.c_attn.forward(x)?; // [b, t, 3d]
        let q = qkv.narrow(2, 0, d)?.reshape((b, t, h, dh))?; // [b, t, h, dh]
        let k = qkv.narrow(2, d, d)?.reshape((b, t, h, dh))?; // [b, t, h, dh]
        let v = qkv.narrow(2, 2 * d, d)?.reshape((b, t, h, dh))?; // [b, t, h, dh]
        if let Some(r) = rec.as_deref_mut() {
            r.positional(&hooks::block_hook(layer, BlockHook::Q), &q)?;
            r.positional(&hooks::block_hook(layer, BlockHook::K), &k)?;
            r.positional(&hooks::block_hook(layer, BlockHook::V), &v)?;
        }
        // Scaling q (t·d values) is cheaper than scaling the scores (h·t·T values); same result.
        let q = (q.transpose(1, 2)? * self.scale)?.contiguous()?; // [b, h, t, dh]
        let k = k.transpose(1, 2)?.contiguous()?; // [b, h, t, dh]
        let v = v.transpose(1, 2)?.contiguous()?; // [b, h, t, dh]
        let (k, v) = match kv {
            Some(cache) => cache.append(layer, k, v)?, // [b, h, T, dh], T = start + t
            None => (k, v),
        };
        let scores = q.matmul(&k.t()?)?.broadcast_add(mask)?; // [b, h, t, T]

        // Inference keeps candle's kernel; training needs one with a gradient.
        let pattern = if scores.track_op() {
            super::fast_ops::softmax_last_dim(&scores)?
        } else {
            candle_nn::ops::softmax_last_dim(&scores)?
        }; // [b, h, t, T]
        let mut z = pattern.matmul(&v)?.transpose(1, 2)?; // [b, t, h, dh]
        if !self.ablated.is_empty() {
            // Zero-ablation as a TransformerLens hook on hook_z would do it: the head still attends
            // (its pattern is recorded unchanged) but writes nothing to the residual stream.
            let keep: Vec<f32> = (0..h)
                .map(|i| if self.ablated.contains(&i) { 0.0 } else { 1.0 })
                .collect();
            let keep = Tensor::from_vec(keep, (1, 1, h, 1), z.device())?.to_dtype(z.dtype())?;
            z = z.broadcast_mul(&keep)?; // [b, t, h, dh]
        }
        if let Some(r) = rec.as_deref_mut() {
            r.attention(
                &hooks::block_hook(layer, BlockHook::AttnScores),
                &scores,
                f32::NEG_INFINITY,
            )?;
            r.attention(&hooks::block_hook(layer, BlockHook::Pattern), &pattern, 0.0)?;
            r.positional(&hooks::block_hook(layer, BlockHook::Z), &z)?;
        }
        self.c_proj.forward(&z.reshape((b, t, d))?) // [b, t, d]
    }
}

/// [t, n_keys]: 0 where query start+i may see key j (j ≤ start+i), −∞ above that.
fn causal_mask(t: usize, start: usize, n_keys: usize, device: &Device) -> Result<Tensor> {
    let mask: Vec<f32> = (0..t)
        .flat_map(|i| {
            (0..n_keys).map(move |j| {
                if j > start + i {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
        })
        .collect();
    Tensor::from_vec(mask, (t, n_keys), device)
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

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // [b, t, d] -> [b, t, d_mlp] -> [b, t, d]
        self.c_proj
            .forward(&activate(self.act, &self.c_fc.forward(x)?)?)
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
        resid_pre: &Tensor,
        layer: usize,
        mask: &Tensor,
        kv: Option<&mut KvCache>,
        rec: &mut Option<&mut dyn HookSink>,
    ) -> Result<Tensor> {
        let attn_out = self
            .attn
            .forward(&self.ln_1.forward(resid_pre)?, layer, mask, kv, rec)?;
        let resid_mid = (resid_pre + &attn_out)?;
        let mlp_out = self.mlp.forward(&self.ln_2.forward(&resid_mid)?)?;
        let resid_post = (&resid_mid + &mlp_out)?;
        if let Some(r) = rec.as_deref_mut() {
            r.positional(&hooks::block_hook(layer, BlockHook::AttnOut), &attn_out)?;
            r.positional(&hooks::block_hook(layer, BlockHook::ResidMid), &resid_mid)?;
            r.positional(&hooks::block_hook(layer, BlockHook::MlpOut), &mlp_out)?;
            r.positional(&hooks::block_hook(layer, BlockHook::ResidPost), &resid_post)?;
        }
        Ok(resid_post)
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
    /// The unembedding, stored [d_vocab, d]: the token embedding when tied, else `lm_head.weight`.
    unembed: Tensor,
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
        let unembed = if cfg.tie_embeddings {
            wte.table().clone()
        } else {
            vb.pp("lm_head").get_with_hints(
                (cfg.d_vocab, d),
                "weight",
                candle_nn::Init::Randn {
                    mean: 0.,
                    stdev: INIT_STD,
                },
            )?
        };
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

    /// The learned position embedding W_pos [n_ctx, d_model].
    pub fn pos_embed(&self) -> &Tensor {
        self.wpe.table()
    }

    /// A copy of this model (weights shared, not copied) in which the given (layer, head) pairs
    /// write nothing: their hook_z is zero. Used for ablation what-ifs.
    pub fn with_ablated_heads(&self, heads: &[(usize, usize)]) -> Result<Self> {
        let mut out = self.clone();
        for block in &mut out.blocks {
            block.attn.ablated.clear();
        }
        for &(layer, head) in heads {
            if layer >= self.cfg.n_layers || head >= self.cfg.n_heads {
                candle_core::bail!(
                    "no head L{layer}H{head}: the model has {} layers of {} heads",
                    self.cfg.n_layers,
                    self.cfg.n_heads
                );
            }
            out.blocks[layer].attn.ablated.push(head);
        }
        Ok(out)
    }

    /// Logits for every position of a batch, for training: ids [b, t] (u32) -> [b, t, d_vocab].
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        self.forward_inner(ids, 0, None, None, true)
    }

    /// The shared forward pass over positions `start..start+t`.
    /// ids: [b, t]; returns logits [b, t, d_vocab], or only the last position's [b, 1, d_vocab]
    /// when `all_logits` is false and no recorder wants them.
    pub(crate) fn forward_inner(
        &self,
        ids: &Tensor,
        start: usize,
        mut kv: Option<&mut KvCache>,
        mut rec: Option<&mut dyn HookSink>,
        all_logits: bool,
    ) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let positions = Tensor::arange(start as u32, (start + t) as u32, &self.device)?
            .unsqueeze(0)?
            .repeat((b, 1))?; // [b, t]
        let embed = self.wte.lookup(ids)?; // [b, t, d]
        let pos_embed = self.wpe.lookup(&positions)?; // [b, t, d]
        if let Some(r) = rec.as_deref_mut() {
            r.positional(hooks::HOOK_EMBED, &embed)?;
            r.positional(hooks::HOOK_POS_EMBED, &pos_embed)?;
        }
        let mut resid = (embed + pos_embed)?; // [b, t, d]
        let mask = causal_mask(t, start, start + t, &self.device)?; // [t, T], shared by all layers
        for (layer, block) in self.blocks.iter().enumerate() {
            if let Some(r) = rec.as_deref_mut() {
                r.positional(&hooks::block_hook(layer, BlockHook::ResidPre), &resid)?;
            }
            resid = block.forward(&resid, layer, &mask, kv.as_deref_mut(), &mut rec)?;
        }
        let wants_all = all_logits
            || rec
                .as_deref()
                .is_some_and(|r| r.wants(hooks::LN_FINAL_NORMALIZED) || r.wants(hooks::LOGITS));
        if !wants_all {
            resid = resid.narrow(1, t - 1, 1)?; // [b, 1, d]
        }
        if resid.track_op() && rec.is_none() {
            // Training: nothing records the normalised value, so LayerNorm runs as one kernel.
            return self.unembed(&self.ln_f.forward(&resid)?); // [b, t, d_vocab]
        }
        let normalized = self.ln_f.normalize(&resid)?; // [b, t', d]
        let logits = self.unembed_normalized(&normalized)?; // [b, t', d_vocab]
        if let Some(r) = rec {
            r.positional(hooks::LN_FINAL_NORMALIZED, &normalized)?;
            r.positional(hooks::LOGITS, &logits)?;
            r.end_pass(t)?;
        }
        Ok(logits)
    }

    /// ln_final's weight and bias, then the unembedding: [.., t, d] normalised -> [.., t, d_vocab].
    fn unembed_normalized(&self, normalized: &Tensor) -> Result<Tensor> {
        self.unembed(&self.ln_f.affine(normalized)?)
    }

    /// The unembedding: [.., t, d] after ln_final -> [.., t, d_vocab].
    fn unembed(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let d = *dims.last().unwrap_or(&0);
        let rows = x.elem_count() / d.max(1);
        let logits = x.reshape((rows, d))?.matmul(&self.unembed.t()?)?; // [rows, d_vocab]
        let mut out_dims = dims;
        *out_dims.last_mut().expect("at least one dim") = self.cfg.d_vocab;
        logits.reshape(out_dims)
    }

    /// The logit lens: the whole final LayerNorm (with this vector's own statistics) and the
    /// unembedding applied to any residual-stream vector. `resid: [d_model] -> logits [d_vocab]`.
    pub fn logit_lens(&self, resid: &Tensor) -> Result<Tensor> {
        let x = resid.to_dtype(DType::F32)?.reshape((1, ()))?; // [1, d]
        let normalized = self.ln_f.normalize(&x)?;
        self.unembed_normalized(&normalized)?.squeeze(0)
    }
}
