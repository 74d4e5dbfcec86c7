//! Inside one head at one query position, from the model's own hooks: each key's q·k before the scale
//! and the mask, its score (`hook_attn_scores`) and weight (`hook_pattern`), and the norm of what it
//! adds to the head's output z (weight · v); how the layer's heads are joined and projected (each
//! head's z·W_O, TransformerLens' `attn.hook_result`, and `hook_attn_out`); and the same layer's most
//! active MLP neurons (`mlp.hook_post`) with the prompt tokens that excite them most.
//!
//! Everything is read for one layer, one head and one query, so the answer is a few hundred numbers
//! however long the prompt.

use candle_core::{DType, IndexOp, Result, Tensor};

use crate::model::hooks::{block_hook, BlockHook};
use crate::model::{Arch, Capture, Config};

/// One key's part in the query's attention.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyTerm {
    /// The key's position.
    pub key: usize,
    /// q·k before the scale and the mask (after the rotation on a rotary model).
    pub qk: f32,
    /// `hook_attn_scores`: q·k times the model's scale (1/√d_head).
    pub score: f32,
    /// `hook_pattern`: the softmax weight.
    pub weight: f32,
    /// ‖weight · v_key‖: the size of this key's contribution to z.
    pub contribution: f32,
}

/// One MLP neuron at the query, and the prompt positions where it is most active.
#[derive(Debug, Clone, PartialEq)]
pub struct Neuron {
    pub index: usize,
    /// `mlp.hook_post` at the query.
    pub value: f32,
    /// (position, value) where this neuron's `mlp.hook_post` is largest in the prompt, largest first.
    pub top: Vec<(usize, f32)>,
}

/// What the Inside view shows for one layer, head and query.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadInside {
    pub layer: usize,
    pub head: usize,
    pub query: usize,
    /// The key/value head this query head reads: head / (n_heads / n_kv_heads).
    pub kv_head: usize,
    pub n_kv_heads: usize,
    /// Whether q·k is of the rotated q and k (`hook_rot_q`, `hook_rot_k`).
    pub rotated: bool,
    /// Keys 0..=query, in position order (later keys are masked).
    pub keys: Vec<KeyTerm>,
    /// ‖z‖ of this head at the query (`hook_z`).
    pub z_norm: f32,
    /// ‖z_h · W_O[h]‖ at the query for every head h of the layer: each head's write into the residual
    /// stream.
    pub writes: Vec<f32>,
    /// ‖b_O‖, when the output projection has a bias.
    pub bias_norm: Option<f32>,
    /// ‖hook_attn_out‖ at the query: the heads' writes summed, plus b_O.
    pub attn_out_norm: f32,
    /// The most active neurons at the query, most active first.
    pub neurons: Vec<Neuron>,
}

/// Neurons listed, and prompt positions per neuron.
pub const TOP_NEURONS: usize = 5;
pub const TOP_POSITIONS: usize = 3;

/// The key/value head that query head `head` reads under grouped-query attention.
pub fn kv_head(cfg: &Config, head: usize) -> usize {
    head / (cfg.n_heads / cfg.n_kv_heads.max(1)).max(1)
}

/// What the model multiplies q·k by in `layer` before the mask and the softmax, and how to write it:
/// 1/√d_head as a rule; GPT-2's config can drop it (`scale_attn_weights`) or add 1/(layer + 1).
pub fn score_scale(cfg: &Config, layer: usize) -> (f32, &'static str) {
    match (cfg.scale_attn_weights, cfg.scale_attn_by_layer) {
        (true, false) => (1.0 / (cfg.d_head as f32).sqrt(), "q·k/√dₖ"),
        (true, true) => (
            1.0 / ((cfg.d_head as f32).sqrt() * (layer + 1) as f32),
            "q·k/(√dₖ·(layer+1))",
        ),
        (false, false) => (1.0, "q·k"),
        (false, true) => (1.0 / (layer + 1) as f32, "q·k/(layer+1)"),
    }
}

/// Whether this family's q·k is taken after a rotation (read from `hook_rot_q|rot_k`).
fn rotary(cfg: &Config) -> bool {
    cfg.arch == Arch::Llama
}

/// The hooks of `layer` this module reads that the tutor's own capture does not keep: q and k (rotated
/// on a rotary model), v, the scores and pattern, z, `hook_attn_out` and `mlp.hook_post`.
pub fn extra_hooks(cfg: &Config, layer: usize) -> Vec<String> {
    let (q, k) = if rotary(cfg) {
        (BlockHook::RotQ, BlockHook::RotK)
    } else {
        (BlockHook::Q, BlockHook::K)
    };
    [
        q,
        k,
        BlockHook::V,
        BlockHook::AttnScores,
        BlockHook::Pattern,
        BlockHook::Z,
        BlockHook::AttnOut,
        BlockHook::MlpPost,
    ]
    .into_iter()
    .map(|h| block_hook(layer, h))
    .collect()
}

/// Captures searched in order for a hook.
pub struct Sources<'a>(pub Vec<&'a Capture>);

impl Sources<'_> {
    pub fn require(&self, name: &str) -> Result<Tensor> {
        self.0
            .iter()
            .find_map(|c| c.get(name))
            .unwrap_or_else(|| Err(candle_core::Error::Msg(format!("{name} was not captured"))))?
            .to_dtype(DType::F32)
    }
}

fn at(layer: usize, hook: BlockHook) -> String {
    block_hook(layer, hook)
}

fn check_query(src: &Sources, layer: usize, head: usize, query: usize) -> Result<()> {
    let pattern = src.require(&at(layer, BlockHook::Pattern))?; // [1, h, seq, seq]
    let (_, n_heads, seq, _) = pattern.dims4()?;
    if head >= n_heads || query >= seq {
        candle_core::bail!("no head {head} or query {query} in {n_heads} heads × {seq} positions");
    }
    Ok(())
}

/// q·k of the query with keys 0..=query, before the scale and the mask: `[query + 1]`.
pub fn qk_row(
    src: &Sources,
    cfg: &Config,
    layer: usize,
    head: usize,
    query: usize,
) -> Result<Vec<f32>> {
    let (qh, kh) = if rotary(cfg) {
        (BlockHook::RotQ, BlockHook::RotK)
    } else {
        (BlockHook::Q, BlockHook::K)
    };
    let q = src.require(&at(layer, qh))?.i((0, query, head))?; // [dh]
    let k = src
        .require(&at(layer, kh))?
        .i((0, ..=query, kv_head(cfg, head)))?; // [query+1, dh]
    k.matmul(&q.unsqueeze(1)?)?.squeeze(1)?.to_vec1() // [query+1]
}

/// Each key's contribution to the head's output at the query, weight · v_key: `[query + 1, d_head]`.
/// They sum to `hook_z[0, query, head]`.
pub fn contributions(
    src: &Sources,
    cfg: &Config,
    layer: usize,
    head: usize,
    query: usize,
) -> Result<Tensor> {
    let weights = src
        .require(&at(layer, BlockHook::Pattern))?
        .i((0, head, query, ..=query))?; // [query+1]
    let v = src
        .require(&at(layer, BlockHook::V))?
        .i((0, ..=query, kv_head(cfg, head)))?; // [query+1, dh]
    v.broadcast_mul(&weights.unsqueeze(1)?) // [query+1, dh]
}

/// Every head's write into the residual stream at the query, z_h · W_O[h] (TransformerLens'
/// `attn.hook_result` there): `[n_heads, d_model]`. Their sum plus b_O is `hook_attn_out`.
/// `w_o`: [n_heads, d_head, d_model].
pub fn head_results(src: &Sources, w_o: &Tensor, layer: usize, query: usize) -> Result<Tensor> {
    let z = src.require(&at(layer, BlockHook::Z))?.i((0, query))?; // [h, dh]
    let w_o = w_o.to_dtype(DType::F32)?;
    z.unsqueeze(1)?.matmul(&w_o)?.squeeze(1) // [h, 1, dh] @ [h, dh, d] -> [h, d]
}

/// The `k` neurons with the largest `mlp.hook_post` at the query (NaN last), each with the
/// `per_neuron` prompt positions where it is largest.
pub fn top_neurons(
    src: &Sources,
    layer: usize,
    query: usize,
    k: usize,
    per_neuron: usize,
) -> Result<Vec<Neuron>> {
    let post = src.require(&at(layer, BlockHook::MlpPost))?.squeeze(0)?; // [seq, d_mlp]
    let row = post.i(query)?.to_vec1::<f32>()?; // [d_mlp]
    let ranked = |values: &[f32]| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..values.len()).collect();
        let key = |i: usize| {
            if values[i].is_nan() {
                f32::NEG_INFINITY
            } else {
                values[i]
            }
        };
        idx.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
        idx
    };
    ranked(&row)
        .into_iter()
        .take(k)
        .map(|index| {
            let column = post.i((.., index))?.to_vec1::<f32>()?; // [seq]
            let top = ranked(&column)
                .into_iter()
                .take(per_neuron)
                .map(|p| (p, column[p]))
                .collect();
            Ok(Neuron {
                index,
                value: row[index],
                top,
            })
        })
        .collect()
}

/// ‖row‖ of every row of a [n, d] tensor.
fn row_norms(t: &Tensor) -> Result<Vec<f32>> {
    t.sqr()?.sum(1)?.sqrt()?.to_vec1()
}

/// Everything the Inside view shows for `layer`, `head` and `query`. `w_o`: [n_heads, d_head,
/// d_model]; `b_o`: [d_model].
pub fn head_inside(
    src: &Sources,
    cfg: &Config,
    (w_o, b_o): (&Tensor, Option<&Tensor>),
    layer: usize,
    head: usize,
    query: usize,
) -> Result<HeadInside> {
    check_query(src, layer, head, query)?;
    let qk = qk_row(src, cfg, layer, head, query)?;
    let scores = src
        .require(&at(layer, BlockHook::AttnScores))?
        .i((0, head, query, ..=query))?
        .to_vec1::<f32>()?; // [query+1]
    let weights = src
        .require(&at(layer, BlockHook::Pattern))?
        .i((0, head, query, ..=query))?
        .to_vec1::<f32>()?; // [query+1]
    let contrib = row_norms(&contributions(src, cfg, layer, head, query)?)?;
    let keys = (0..=query)
        .map(|key| KeyTerm {
            key,
            qk: qk[key],
            score: scores[key],
            weight: weights[key],
            contribution: contrib[key],
        })
        .collect();
    let z = src.require(&at(layer, BlockHook::Z))?.i((0, query, head))?; // [dh]
    let attn_out = src.require(&at(layer, BlockHook::AttnOut))?.i((0, query))?; // [d]
    let norm = |t: &Tensor| -> Result<f32> { t.sqr()?.sum_all()?.sqrt()?.to_scalar() };
    Ok(HeadInside {
        layer,
        head,
        query,
        kv_head: kv_head(cfg, head),
        n_kv_heads: cfg.n_kv_heads,
        rotated: rotary(cfg),
        keys,
        z_norm: norm(&z)?,
        writes: row_norms(&head_results(src, w_o, layer, query)?)?,
        bias_norm: b_o.map(|b| norm(&b.to_dtype(DType::F32)?)).transpose()?,
        attn_out_norm: norm(&attn_out)?,
        neurons: top_neurons(src, layer, query, TOP_NEURONS, TOP_POSITIONS)?,
    })
}
