//! Direct logit attribution, as TransformerLens' logit attributions: at one position, each part of
//! the residual stream (the embeddings, every head's z_h · W_O[h], every layer's b_O, every MLP's
//! output) taken straight through the final norm (its scale frozen at the final residual's) and the
//! unembedding column of a token. The parts, plus the final LayerNorm's bias · W_U[:, t], sum to the
//! token's logit exactly; with a second token, to the difference of the two logits (the IOI form:
//! logit(" Mary") − logit(" John")).
//!
//! Only the one position is kept from the pass ([`RowRecorder`]), so the answer is a few hundred
//! numbers however long the prompt.

use std::collections::HashMap;

use candle_core::{DType, IndexOp, Result, Tensor};

use super::heatmap::{Heatmap, Scale};
use crate::model::hooks::{block_hook, BlockHook, HookPoint, HOOK_EMBED, HOOK_POS_EMBED};
use crate::model::{Arch, Config, Hook, Model};

/// What is attributed: a token's logit, or the difference between two tokens' logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub token: u32,
    /// logit(token) − logit(versus) when set.
    pub versus: Option<u32>,
}

/// One part of the residual stream at the position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// `hook_embed`: the token embedding.
    Embed,
    /// `hook_pos_embed`: the learned position embedding (GPT-2 family).
    PosEmbed,
    /// z_h · W_O[h] of one head (TransformerLens' `attn.hook_result`).
    Head { layer: usize, head: usize },
    /// b_O, the attention output bias of a layer (when it has one).
    AttnBias { layer: usize },
    /// `blocks.{l}.hook_mlp_out`.
    Mlp { layer: usize },
}

impl Component {
    /// A short label: `embed`, `pos_embed`, `L3H1`, `L3 b_O`, `MLP3`.
    pub fn label(self) -> String {
        match self {
            Self::Embed => "embed".into(),
            Self::PosEmbed => "pos_embed".into(),
            Self::Head { layer, head } => format!("L{layer}H{head}"),
            Self::AttnBias { layer } => format!("L{layer} b_O"),
            Self::Mlp { layer } => format!("MLP{layer}"),
        }
    }
}

/// Every component's direct contribution at one position.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    pub pos: usize,
    pub target: Target,
    pub n_layers: usize,
    pub n_heads: usize,
    /// [n_layers × n_heads], row-major: head (l, h) at l·n_heads + h.
    pub heads: Vec<f32>,
    /// [n_layers]
    pub mlps: Vec<f32>,
    /// [n_layers], when the attention output has a bias.
    pub attn_bias: Option<Vec<f32>>,
    pub embed: f32,
    /// When the model has a learned position embedding.
    pub pos_embed: Option<f32>,
    /// What no component writes: ln_final's bias · W_U[:, t] (differenced with a second token).
    pub constant: f32,
    /// The logit (difference) the model itself gives, from the final residual.
    pub logit: f32,
    /// The final norm's frozen scale.
    pub scale: f32,
}

impl Attribution {
    pub fn head(&self, layer: usize, head: usize) -> f32 {
        self.heads[layer * self.n_heads + head]
    }

    /// Every component with its contribution, in forward order.
    pub fn components(&self) -> Vec<(Component, f32)> {
        let mut out = vec![(Component::Embed, self.embed)];
        if let Some(p) = self.pos_embed {
            out.push((Component::PosEmbed, p));
        }
        for layer in 0..self.n_layers {
            for head in 0..self.n_heads {
                out.push((Component::Head { layer, head }, self.head(layer, head)));
            }
            if let Some(b) = &self.attn_bias {
                out.push((Component::AttnBias { layer }, b[layer]));
            }
            out.push((Component::Mlp { layer }, self.mlps[layer]));
        }
        out
    }

    /// The components by |contribution|, largest first (NaN last, ties in forward order).
    pub fn ranked(&self) -> Vec<(Component, f32)> {
        let mut all = self.components();
        let key = |v: f32| if v.is_nan() { -1.0 } else { v.abs() };
        all.sort_by(|a, b| key(b.1).total_cmp(&key(a.1)));
        all
    }

    /// A component's rank by |contribution| among all (1: the largest), if it exists.
    pub fn rank_of(&self, c: Component) -> Option<usize> {
        self.ranked()
            .iter()
            .position(|(x, _)| *x == c)
            .map(|i| i + 1)
    }

    /// A component's contribution, if this model has it.
    pub fn value_of(&self, c: Component) -> Option<f32> {
        self.components()
            .into_iter()
            .find(|(x, _)| *x == c)
            .map(|(_, v)| v)
    }

    /// The sum of every component and the constant: equals [`Attribution::logit`].
    pub fn total(&self) -> f32 {
        self.components().iter().map(|(_, v)| v).sum::<f32>() + self.constant
    }

    /// The largest |contribution| of a head or an MLP (for a colour scale).
    pub fn max_abs(&self) -> f32 {
        self.heads
            .iter()
            .chain(&self.mlps)
            .filter(|v| v.is_finite())
            .fold(0.0f32, |m, v| m.max(v.abs()))
    }
}

impl Attribution {
    /// The layers × heads grid with the MLP as a last column, on a signed scale (red pushes the
    /// target up, blue down): what the tutor's page and the exported figure draw. `title` names the
    /// target.
    pub fn grid(&self, title: String) -> Heatmap {
        let cols = self.n_heads + 1;
        let mut values = Vec::with_capacity(self.n_layers * cols);
        for l in 0..self.n_layers {
            values.extend((0..self.n_heads).map(|h| self.head(l, h)));
            values.push(self.mlps[l]);
        }
        let mut col_labels: Vec<String> = (0..self.n_heads).map(|h| format!("H{h}")).collect();
        col_labels.push("MLP".into());
        Heatmap {
            title,
            rows: self.n_layers,
            cols,
            values,
            masked: Vec::new(),
            row_labels: (0..self.n_layers).map(|l| format!("L{l}")).collect(),
            col_labels,
            row_axis: "layer".into(),
            col_axis: "head".into(),
            scale: Scale::Signed {
                max_abs: self.max_abs(),
            },
        }
    }
}

/// What a target is called on screen and in figures: `logit(" Mary")` or `logit(" Mary") −
/// logit(" John")`, from the tokens' texts.
pub fn target_label(token: &str, versus: Option<&str>) -> String {
    let quote = |t: &str| format!("“{}”", crate::text::visible(t));
    match versus {
        Some(v) => format!("logit {} − logit {}", quote(token), quote(v)),
        None => format!("logit {}", quote(token)),
    }
}

/// A figure's heading: what is attributed, after which position and token.
pub fn heading(what: &str, pos: usize, token: &str) -> String {
    format!(
        "direct logit attribution to {what} after position {pos} “{}”",
        crate::text::visible(token)
    )
}

/// The hooks attribution reads: the embeddings, every layer's `attn.hook_z` and `hook_mlp_out`, and
/// the last block's `hook_resid_post` (the final residual, for the norm's scale).
pub fn attribution_hooks(cfg: &Config) -> Vec<String> {
    let mut names = vec![HOOK_EMBED.to_string()];
    if cfg.arch == Arch::Gpt2 {
        names.push(HOOK_POS_EMBED.to_string());
    }
    for l in 0..cfg.n_layers {
        names.push(block_hook(l, BlockHook::Z));
        names.push(block_hook(l, BlockHook::MlpOut));
    }
    names.push(block_hook(
        cfg.n_layers.saturating_sub(1),
        BlockHook::ResidPost,
    ));
    names
}

/// A hook that keeps one position's row of the hooks it is given: `[1, t, ...]` -> `[...]`.
pub struct RowRecorder {
    pub pos: usize,
    names: Vec<String>,
    pub rows: HashMap<String, Tensor>,
}

impl RowRecorder {
    pub fn new(pos: usize, names: Vec<String>) -> Self {
        Self {
            pos,
            names,
            rows: HashMap::new(),
        }
    }

    fn row(&self, name: &str) -> Result<&Tensor> {
        self.rows
            .get(name)
            .ok_or_else(|| candle_core::Error::Msg(format!("{name} was not recorded")))
    }
}

impl Hook for RowRecorder {
    fn wants(&self, point: HookPoint) -> bool {
        self.names.contains(&point.name())
    }

    fn hook(&mut self, point: HookPoint, start: usize, value: Tensor) -> Result<Tensor> {
        let n = value.dim(1)?;
        if (start..start + n).contains(&self.pos) {
            let row = value.i((0, self.pos - start))?.to_dtype(DType::F32)?;
            self.rows.insert(point.name(), row);
        }
        Ok(value)
    }
}

/// Direct logit attribution at the recorder's position, from its rows of [`attribution_hooks`].
pub fn attribute(model: &Model, rows: &RowRecorder, target: Target) -> Result<Attribution> {
    let cfg = model.config();
    let tokens: Vec<u32> = std::iter::once(target.token).chain(target.versus).collect();
    if let Some(&t) = tokens.iter().find(|&&t| t as usize >= cfg.d_vocab) {
        candle_core::bail!("token {t} is not in the vocabulary of {}", cfg.d_vocab);
    }
    let (l_n, h_n) = (cfg.n_layers, cfg.n_heads);
    let resid = rows.row(&block_hook(l_n.saturating_sub(1), BlockHook::ResidPost))?; // [d]
    let path = model.direct_path(resid, &tokens)?;
    // One row per component, in forward order: embed, pos_embed?, then per layer heads, b_O?, MLP.
    let mut parts: Vec<Tensor> = vec![rows.row(HOOK_EMBED)?.unsqueeze(0)?]; // [1, d]
    let has_pos = cfg.arch == Arch::Gpt2;
    if has_pos {
        parts.push(rows.row(HOOK_POS_EMBED)?.unsqueeze(0)?);
    }
    let mut has_bias = false;
    for l in 0..l_n {
        let z = rows.row(&block_hook(l, BlockHook::Z))?; // [h, dh]
        let (w_o, b_o) = model.w_o(l)?; // [h, dh, d], [d]
        let w_o = w_o.to_dtype(DType::F32)?;
        parts.push(z.unsqueeze(1)?.matmul(&w_o)?.squeeze(1)?); // [h, 1, dh] @ [h, dh, d] -> [h, d]
        if let Some(b) = b_o {
            has_bias = true;
            parts.push(b.to_dtype(DType::F32)?.unsqueeze(0)?); // [1, d]
        }
        parts.push(rows.row(&block_hook(l, BlockHook::MlpOut))?.unsqueeze(0)?); // [1, d]
    }
    let contrib = path.apply(&Tensor::cat(&parts, 0)?)?.to_vec2::<f32>()?; // [n, k]
    let diff = |pair: &[f32]| pair[0] - pair.get(1).copied().unwrap_or(0.0);
    let mut values = contrib.iter().map(|r| diff(r));
    let mut next = || values.next().unwrap_or(f32::NAN);
    let embed = next();
    let pos_embed = has_pos.then(&mut next);
    let (mut heads, mut mlps, mut bias) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..l_n {
        heads.extend((0..h_n).map(|_| next()));
        if has_bias {
            bias.push(next());
        }
        mlps.push(next());
    }
    let logits = model.logit_lens(resid)?; // [d_vocab]
    let logit_of = |t: u32| -> Result<f32> { logits.i(t as usize)?.to_scalar::<f32>() };
    let logit = logit_of(target.token)? - target.versus.map(logit_of).transpose()?.unwrap_or(0.0);
    Ok(Attribution {
        pos: rows.pos,
        target,
        n_layers: l_n,
        n_heads: h_n,
        heads,
        mlps,
        attn_bias: has_bias.then_some(bias),
        embed,
        pos_embed,
        constant: diff(&path.constant),
        logit,
        scale: path.scale,
    })
}

/// Run `ids` once, keeping position `pos` of the hooks attribution reads, and attribute `target`
/// there. `intervention`, when given, runs first at every point (the tutor's position what-if).
pub fn attribute_prompt(
    model: &Model,
    ids: &[u32],
    pos: usize,
    target: Target,
    intervention: Option<&mut dyn Hook>,
) -> color_eyre::Result<Attribution> {
    if pos >= ids.len() {
        color_eyre::eyre::bail!("position {pos} is past the prompt's {} tokens", ids.len());
    }
    let mut rows = RowRecorder::new(pos, attribution_hooks(model.config()));
    match intervention {
        Some(h) => model.record(ids, &mut crate::model::hook::Chain(vec![h, &mut rows]))?,
        None => model.record(ids, &mut rows)?,
    };
    Ok(attribute(model, &rows, target)?)
}
