//! The residual stream: its norm after each block, what attention and the MLP add, and the logit lens.

use candle_core::{DType, IndexOp, Result, Tensor, D};

use super::predictions::{softmax, top_k};
use crate::model::hook::Hook;
use crate::model::hooks::{block_hook, BlockHook, HookPoint};
use crate::model::{Capture, Model};

/// L2 norms per position of one block's residual-stream hooks.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockNorms {
    pub resid_pre: Vec<f32>,
    pub attn_out: Vec<f32>,
    pub mlp_out: Vec<f32>,
    pub resid_post: Vec<f32>,
}

/// ‖x‖ per position of a captured [1, pos, d_model] hook -> [pos].
fn norms(capture: &Capture, name: &str) -> Result<Vec<f32>> {
    let t = capture.require(name)?;
    t.sqr()?.sum(D::Minus1)?.sqrt()?.i(0)?.to_vec1::<f32>()
}

/// Norms of blocks.{l}.hook_resid_pre, hook_attn_out, hook_mlp_out and hook_resid_post for every layer.
pub fn block_norms(capture: &Capture, n_layers: usize) -> Result<Vec<BlockNorms>> {
    (0..n_layers)
        .map(|l| {
            Ok(BlockNorms {
                resid_pre: norms(capture, &block_hook(l, BlockHook::ResidPre))?,
                attn_out: norms(capture, &block_hook(l, BlockHook::AttnOut))?,
                mlp_out: norms(capture, &block_hook(l, BlockHook::MlpOut))?,
                resid_post: norms(capture, &block_hook(l, BlockHook::ResidPost))?,
            })
        })
        .collect()
}

/// Keeps only the norms of the residual-stream hooks as a pass computes them, not the hooks: what
/// the Residual view draws, at 4 floats per block and position instead of 4 · d_model. Chained
/// into every pass of a trace (prompt, step, pop), it always holds the trace's positions: a pass
/// over positions `start..` replaces what it had from `start` on.
#[derive(Debug, Clone, Default)]
pub struct NormRecorder {
    /// [layer] -> norms of resid_pre, attn_out, mlp_out, resid_post per position.
    blocks: Vec<BlockNorms>,
}

impl NormRecorder {
    pub fn new(n_layers: usize) -> Self {
        let empty = BlockNorms {
            resid_pre: Vec::new(),
            attn_out: Vec::new(),
            mlp_out: Vec::new(),
            resid_post: Vec::new(),
        };
        Self {
            blocks: vec![empty; n_layers],
        }
    }

    pub fn norms(&self) -> &[BlockNorms] {
        &self.blocks
    }
}

impl Hook for NormRecorder {
    fn wants(&self, point: HookPoint) -> bool {
        matches!(
            point,
            HookPoint::Block(
                _,
                BlockHook::ResidPre | BlockHook::AttnOut | BlockHook::MlpOut | BlockHook::ResidPost
            )
        )
    }

    fn hook(&mut self, point: HookPoint, start: usize, value: Tensor) -> Result<Tensor> {
        let HookPoint::Block(layer, hook) = point else {
            return Ok(value);
        };
        let Some(block) = self.blocks.get_mut(layer) else {
            candle_core::bail!("no layer {layer} in the norm recorder");
        };
        let norms = match hook {
            BlockHook::ResidPre => &mut block.resid_pre,
            BlockHook::AttnOut => &mut block.attn_out,
            BlockHook::MlpOut => &mut block.mlp_out,
            _ => &mut block.resid_post,
        };
        // [1, n, d_model] -> [n]
        let new = value
            .to_dtype(DType::F32)?
            .sqr()?
            .sum(D::Minus1)?
            .sqrt()?
            .i(0)?
            .to_vec1::<f32>()?;
        norms.truncate(start);
        norms.extend(new);
        Ok(value)
    }
}

/// What the model would predict if it stopped at one point of the residual stream.
#[derive(Debug, Clone, PartialEq)]
pub struct LensRow {
    /// The hook read: blocks.0.hook_resid_pre (the embeddings), then blocks.{l}.hook_resid_post.
    pub hook: String,
    /// The most probable next tokens there, with their probabilities.
    pub top: Vec<(u32, f32)>,
}

/// The logit lens at position `pos`: ln_final and the unembedding applied to the residual stream
/// before the first block and after every block. The last row is the model's own prediction.
pub fn logit_lens(model: &Model, capture: &Capture, pos: usize, k: usize) -> Result<Vec<LensRow>> {
    Ok(lens_distributions(model, capture, pos)?
        .into_iter()
        .map(|(hook, probs)| LensRow {
            hook,
            top: top_k(&probs, k),
        })
        .collect())
}

/// The hooks the logit lens reads, in its rows' order: blocks.0.hook_resid_pre (the embeddings),
/// then blocks.{l}.hook_resid_post for every block.
pub fn lens_hooks(n_layers: usize) -> Vec<String> {
    let mut hooks = vec![block_hook(0, BlockHook::ResidPre)];
    hooks.extend((0..n_layers).map(|l| block_hook(l, BlockHook::ResidPost)));
    hooks
}

/// The logit lens's rows in full: for each of [`lens_hooks`], the next-token probabilities over the
/// whole vocabulary at position `pos` (what [`logit_lens`] keeps the top of).
pub fn lens_distributions(
    model: &Model,
    capture: &Capture,
    pos: usize,
) -> Result<Vec<(String, Vec<f32>)>> {
    lens_hooks(model.config().n_layers)
        .into_iter()
        .map(|hook| {
            let resid = capture.require(&hook)?;
            let row: Tensor = resid.i((0, pos))?; // [d_model]
            let logits = model.logit_lens(&row)?.to_vec1::<f32>()?; // [d_vocab]
            Ok((hook, softmax(&logits, 1.0)))
        })
        .collect()
}
