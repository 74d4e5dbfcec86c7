//! The position what-if: a run with the model's sense of position taken away or scrambled, as a
//! replacement hook, so it works in a full pass and while stepping with the KV cache.
//!
//! - GPT-2 family (learned W_pos [n_ctx, d_model]): a hook on `hook_pos_embed` [batch, pos, d_model].
//!   [`PositionEdit::Zeroed`] adds nothing for position; [`PositionEdit::Reversed`] gives position p
//!   the row W_pos[n_ctx − 1 − p], the table read from its far end. That order is fixed by p alone,
//!   so a token stepped in later gets the same row a full pass would give it (the KV cache stays
//!   valid), and in Python it is `wpe.weight.flip(0)[p]`.
//! - Llama family (rotary, no `hook_pos_embed`): [`PositionEdit::Zeroed`] leaves q and k unrotated:
//!   `attn.hook_rot_q|rot_k` return the values `attn.hook_q|k` had. Keys go into the cache unrotated
//!   too, so stepping stays exact. [`PositionEdit::Reversed`] has no rotary counterpart here and is
//!   refused ([`Model::position_edit`]).

use std::collections::HashMap;

use candle_core::{IndexOp, Result, Tensor};

use super::family::{Model, Positions};
use super::hook::Hook;
use super::hooks::{BlockHook, HookPoint};
use crate::error::hinted;

/// What the what-if does to positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PositionEdit {
    /// No position information: W_pos rows all zero (GPT-2), q and k not rotated (Llama).
    Zeroed,
    /// Position p gets W_pos[n_ctx − 1 − p] (GPT-2 only).
    Reversed,
}

impl PositionEdit {
    /// The lesson-file word for each state, `learned` meaning no edit.
    pub fn parse(word: &str) -> Option<Option<Self>> {
        match word {
            "learned" => Some(None),
            "zeroed" => Some(Some(Self::Zeroed)),
            "reversed" => Some(Some(Self::Reversed)),
            _ => None,
        }
    }

    /// The word [`PositionEdit::parse`] reads.
    pub fn word(edit: Option<Self>) -> &'static str {
        match edit {
            None => "learned",
            Some(Self::Zeroed) => "zeroed",
            Some(Self::Reversed) => "reversed",
        }
    }
}

/// The hook that carries out a [`PositionEdit`]: build it with [`Model::position_edit`].
#[derive(Debug, Clone)]
pub struct PositionHook {
    kind: HookKind,
}

#[derive(Debug, Clone)]
enum HookKind {
    /// GPT-2: hook_pos_embed replaced by zeros.
    Zero,
    /// GPT-2: hook_pos_embed replaced by rows of W_pos read backwards (the table, flipped: [n_ctx, d]).
    Rows(Tensor),
    /// Llama: hook_rot_q|rot_k replaced by the hook_q|k of the same layer in the same pass.
    Unrotated(HashMap<HookPoint, Tensor>),
}

impl Hook for PositionHook {
    fn wants(&self, point: HookPoint) -> bool {
        match self.kind {
            HookKind::Zero | HookKind::Rows(_) => point == HookPoint::PosEmbed,
            HookKind::Unrotated(_) => matches!(
                point,
                HookPoint::Block(
                    _,
                    BlockHook::Q | BlockHook::K | BlockHook::RotQ | BlockHook::RotK
                )
            ),
        }
    }

    fn hook(&mut self, point: HookPoint, start: usize, value: Tensor) -> Result<Tensor> {
        match &mut self.kind {
            HookKind::Zero => value.zeros_like(), // [b, t, d]
            HookKind::Rows(flipped) => {
                let (b, t, _) = value.dims3()?;
                let rows = flipped.i(start..start + t)?.to_dtype(value.dtype())?; // [t, d]
                rows.unsqueeze(0)?.repeat((b, 1, 1)) // [b, t, d]
            }
            HookKind::Unrotated(before) => {
                let HookPoint::Block(layer, hook) = point else {
                    return Ok(value);
                };
                match hook {
                    BlockHook::Q | BlockHook::K => {
                        before.insert(point, value.clone());
                        Ok(value)
                    }
                    BlockHook::RotQ | BlockHook::RotK => {
                        let from = if hook == BlockHook::RotQ {
                            BlockHook::Q
                        } else {
                            BlockHook::K
                        };
                        match before.remove(&HookPoint::Block(layer, from)) {
                            Some(v) => Ok(v), // [b, t, heads, dh], as hook_rot_q|k
                            None => candle_core::bail!(
                                "no {} in this pass to stand for {}",
                                HookPoint::Block(layer, from).name(),
                                point.name()
                            ),
                        }
                    }
                    _ => Ok(value),
                }
            }
        }
    }
}

impl Model {
    /// The hook for `edit` on this model, or why the model cannot have it.
    pub fn position_edit(&self, edit: PositionEdit) -> color_eyre::Result<PositionHook> {
        let kind = match (self.positions(), edit) {
            (Positions::Learned(_), PositionEdit::Zeroed) => HookKind::Zero,
            (Positions::Learned(w), PositionEdit::Reversed) => {
                let n = w.dim(0)?;
                let idx = Tensor::arange(0u32, n as u32, w.device())?;
                let idx = ((n as f64 - 1.0) - idx.to_dtype(candle_core::DType::F64)?)?
                    .to_dtype(candle_core::DType::U32)?; // n−1, n−2, …, 0
                HookKind::Rows(w.index_select(&idx, 0)?)
            }
            (Positions::Rotary(_), PositionEdit::Zeroed) => HookKind::Unrotated(HashMap::new()),
            (Positions::Rotary(_), PositionEdit::Reversed) => {
                return hinted(
                    "positions reversed needs a learned position table; this model rotates q and k instead",
                    "zero positions instead: p turns the rotation off",
                )
            }
        };
        Ok(PositionHook { kind })
    }

    /// Whether this model can have `edit` (a learned table has both; rotary only `Zeroed`).
    pub fn can_edit_positions(&self, edit: PositionEdit) -> bool {
        matches!(
            (self.positions(), edit),
            (Positions::Learned(_), _) | (Positions::Rotary(_), PositionEdit::Zeroed)
        )
    }
}
