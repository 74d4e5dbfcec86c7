//! One head's attention scores and pattern, recomputed from the q and k a pass recorded.
//!
//! Every layer's n × n maps are gigabytes at a long prompt (SmolLM2 at 1,024 tokens: 1.1 GB of
//! patterns and as much of scores); its q and k are 90 MB. So the tutor keeps q and k and computes
//! a head's map when a view asks for it, with the operations the forward pass uses: q·k times the
//! layer's scale, −∞ where the key comes after the query, softmax over the keys.

use candle_core::{DType, IndexOp, Result, Tensor};

use super::capture::Capture;
use super::hooks::{block_hook, BlockHook};
use super::layers::causal_mask_at;
use super::{Arch, Config};

/// The hooks that hold a layer's q and k as its scores use them: `attn.hook_q` and `attn.hook_k`
/// (GPT-2), or `attn.hook_rot_q` and `attn.hook_rot_k`, after the rotation (Llama).
pub fn qk_hooks(cfg: &Config, layer: usize) -> [String; 2] {
    let (q, k) = qk_points(cfg);
    [block_hook(layer, q), block_hook(layer, k)]
}

/// The same for every layer, as a names filter pattern.
pub fn qk_filter(cfg: &Config) -> String {
    let (q, k) = qk_points(cfg);
    format!("blocks.*.{}, blocks.*.{}", q.suffix(), k.suffix())
}

fn qk_points(cfg: &Config) -> (BlockHook, BlockHook) {
    match cfg.arch {
        Arch::Llama => (BlockHook::RotQ, BlockHook::RotK),
        Arch::Gpt2 => (BlockHook::Q, BlockHook::K),
    }
}

/// One head's scores before softmax (`hook_attn_scores`) and pattern (`hook_pattern`) at the query
/// positions `rows` (every position when `None`), from the q and k in `capture`: `([r, n], [r, n])`
/// for n positions.
pub fn head_maps(
    capture: &Capture,
    cfg: &Config,
    layer: usize,
    head: usize,
    rows: Option<&[u32]>,
) -> Result<(Tensor, Tensor)> {
    let (scores, pattern) = maps(capture, cfg, layer, head..head + 1, rows)?; // [1, r, n]
    Ok((scores.squeeze(0)?, pattern.squeeze(0)?))
}

/// Every head's pattern of `layer` at the query positions `rows`: [h, r, n].
pub fn layer_rows(capture: &Capture, cfg: &Config, layer: usize, rows: &[u32]) -> Result<Tensor> {
    Ok(maps(capture, cfg, layer, 0..cfg.n_heads, Some(rows))?.1)
}

/// The scores and patterns of heads `heads` of `layer` at query positions `rows` (all when `None`):
/// `([h, r, n], [h, r, n])`, the heads in one batched product.
fn maps(
    capture: &Capture,
    cfg: &Config,
    layer: usize,
    heads: std::ops::Range<usize>,
    rows: Option<&[u32]>,
) -> Result<(Tensor, Tensor)> {
    let [q_name, k_name] = qk_hooks(cfg, layer);
    let q = capture.require(&q_name)?; // [1, n, h, dh]
    let k = capture.require(&k_name)?; // [1, n, kv, dh]
    let (_, n, n_heads, _) = q.dims4()?;
    let n_kv = k.dim(2)?;
    if heads.end > n_heads || heads.is_empty() {
        candle_core::bail!(
            "no head {} in layer {layer}: it has {n_heads} heads",
            heads.end - 1
        );
    }
    let queries: Vec<u32> = match rows {
        Some(r) => r.to_vec(),
        None => (0..n as u32).collect(),
    };
    if let Some(&bad) = queries.iter().find(|&&r| r as usize >= n) {
        candle_core::bail!("no position {bad}: the prompt has {n} tokens");
    }
    let device = q.device().clone();
    // [h', r, dh]: the asked heads, the asked rows.
    let q = q
        .i((0, .., heads.clone()))?
        .to_dtype(DType::F32)?
        .transpose(0, 1)?
        .contiguous()?;
    let q = match rows {
        Some(r) => q.index_select(&Tensor::new(r, &device)?, 1)?,
        None => q,
    };
    // Grouped-query attention: query heads that share a key/value head are consecutive, so head h
    // reads key/value head h / group. [h', n, dh]
    let group = (n_heads / n_kv).max(1);
    let kv_of: Vec<u32> = heads.clone().map(|h| (h / group) as u32).collect();
    let k = k
        .i(0)?
        .to_dtype(DType::F32)?
        .transpose(0, 1)?
        .contiguous()? // [kv, n, dh]
        .index_select(&Tensor::new(kv_of.as_slice(), &device)?, 0)?;
    let scores = (q * cfg.score_scale(layer))?.matmul(&k.t()?)?; // [h', r, n]
    let mask = causal_mask_at(queries.iter().map(|&q| q as usize), n, &device)?; // [r, n]
    let scores = scores.broadcast_add(&mask)?;
    // The fused softmax skips the masked half of a causal row (no exp of −∞).
    let pattern = super::fast_ops::softmax_last_dim(&scores)?;
    Ok((scores, pattern))
}
