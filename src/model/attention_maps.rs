//! One head's attention scores and pattern, recomputed from the q and k a pass recorded.
//!
//! Every layer's n × n maps are gigabytes at a long prompt (SmolLM2 at 1,024 tokens: 1.1 GB of
//! patterns and as much of scores); its q and k are 90 MB. So the tutor keeps q and k and computes
//! a head's map when a view asks for it, with the operations the forward pass uses: q·k times the
//! layer's scale, −∞ where the key comes after the query, softmax over the keys.

use candle_core::{DType, IndexOp, Result, Tensor};

use super::capture::Capture;
use super::hooks::{block_hook, BlockHook};
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
    let [q_name, k_name] = qk_hooks(cfg, layer);
    let q = capture.require(&q_name)?; // [1, n, h, dh]
    let k = capture.require(&k_name)?; // [1, n, kv, dh]
    let (_, n, n_heads, _) = q.dims4()?;
    let n_kv = k.dim(2)?;
    if head >= n_heads {
        candle_core::bail!("no head {head} in layer {layer}: it has {n_heads} heads");
    }
    // Grouped-query attention: query heads that share a key/value head are consecutive.
    let k = k
        .i((0, .., head / (n_heads / n_kv).max(1)))?
        .to_dtype(DType::F32)?; // [n, dh]
    let q = q.i((0, .., head))?.to_dtype(DType::F32)?.contiguous()?; // [n, dh]
    let device = q.device().clone();
    let queries: Vec<u32> = match rows {
        Some(r) => r.to_vec(),
        None => (0..n as u32).collect(),
    };
    if let Some(&bad) = queries.iter().find(|&&r| r as usize >= n) {
        candle_core::bail!("no position {bad}: the prompt has {n} tokens");
    }
    let q = match rows {
        Some(r) => q.index_select(&Tensor::new(r, &device)?, 0)?, // [r, dh]
        None => q,
    };
    let scores = (q * cfg.score_scale(layer))?
        .contiguous()?
        .matmul(&k.contiguous()?.t()?)?; // [r, n]
    let mask: Vec<f32> = queries
        .iter()
        .flat_map(|&qi| {
            (0..n).map(move |j| {
                if j > qi as usize {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
        })
        .collect();
    let scores = (scores + Tensor::from_vec(mask, (queries.len(), n), &device)?)?;
    let pattern = candle_nn::ops::softmax_last_dim(&scores)?;
    Ok((scores, pattern))
}

/// Every head's pattern of `layer`, as `blocks.{layer}.attn.hook_pattern` holds it: [1, h, n, n].
pub fn layer_pattern(capture: &Capture, cfg: &Config, layer: usize) -> Result<Tensor> {
    let heads = (0..cfg.n_heads)
        .map(|h| Ok(head_maps(capture, cfg, layer, h, None)?.1))
        .collect::<Result<Vec<_>>>()?;
    Tensor::stack(&heads, 0)?.unsqueeze(0)
}
