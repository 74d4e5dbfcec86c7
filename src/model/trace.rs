//! A `Trace`: one prompt run through the model, its captured activations and its KV cache, so the
//! prompt can grow or shrink one token at a time without recomputing what came before.

use candle_core::{Result, Tensor};
use color_eyre::eyre::WrapErr;

use super::capture::Capture;
use super::family::Model;
use super::finite::{all_finite, Count, FirstNonFinite, NonFinite};
use super::hook::{Chain, Hook, Hooks, Recorder};
use super::hooks::NamesFilter;
use super::kv_cache::KvCache;
use crate::error::hinted;

#[derive(Debug, Clone)]
pub struct Trace {
    ids: Vec<u32>,
    filter: NamesFilter,
    kv: KvCache,
    capture: Capture,
    /// Next-token logits after the last position [d_vocab], kept even when `logits` is not captured.
    next_logits: Tensor,
    /// Where the last pass first went NaN or infinite, when its next-token logits are not all finite.
    non_finite: Option<NonFinite>,
}

impl Trace {
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn capture(&self) -> &Capture {
        &self.capture
    }

    pub fn capture_mut(&mut self) -> &mut Capture {
        &mut self.capture
    }

    /// Logits for the token after the last one, `[d_vocab]`, whether or not they are numbers: read
    /// them through [`Trace::finite_logits`] wherever a result is shown or a token chosen.
    pub fn next_logits(&self) -> &Tensor {
        &self.next_logits
    }

    /// Where the pass first produced a NaN or an infinity, when the next-token logits hold one.
    pub fn non_finite(&self) -> Option<&NonFinite> {
        self.non_finite.as_ref()
    }

    /// The next-token logits `[d_vocab]`, or the error that names the hook where they stopped being
    /// numbers.
    pub fn finite_logits(&self) -> color_eyre::Result<&Tensor> {
        match &self.non_finite {
            Some(at) => Err(at.error()),
            None => Ok(&self.next_logits),
        }
    }
}

impl Model {
    /// Run a prompt and record the hooks `filter` selects.
    pub fn trace(&self, ids: &[u32], filter: NamesFilter) -> color_eyre::Result<Trace> {
        self.trace_with(ids, filter, None)
    }

    /// Run a prompt with `intervention` at the points it wants (ablation, patching), and record the
    /// hooks `filter` selects as the pass really computed them, after the intervention.
    pub fn trace_with(
        &self,
        ids: &[u32],
        filter: NamesFilter,
        intervention: Option<&mut dyn Hook>,
    ) -> color_eyre::Result<Trace> {
        self.check_prompt(ids)?;
        let mut trace = Trace {
            ids: Vec::new(),
            filter,
            kv: KvCache::new(self.config().n_layers),
            capture: Capture::default(),
            next_logits: Tensor::zeros(
                self.config().d_vocab,
                candle_core::DType::F32,
                self.device(),
            )?,
            non_finite: None,
        };
        self.extend(&mut trace, ids, intervention)
            .wrap_err("running the model on the prompt")?;
        Ok(trace)
    }

    /// Run a prompt once and send the hooks `sink` wants to it as they are computed, keeping none of
    /// them: what `glassbox dump` streams to a file. Returns the next-token logits, `[d_vocab]`.
    pub fn record(&self, ids: &[u32], sink: &mut dyn Hook) -> color_eyre::Result<Tensor> {
        self.check_prompt(ids)?;
        let input = Tensor::new(ids, self.device())?.unsqueeze(0)?; // [1, t]
        let logits = self
            .forward_hooked(&input, None, &mut Hooks::new(Some(sink), 0), false) // [1, t', d_vocab]
            .wrap_err("running the model on the prompt")?;
        Ok(last_row(&logits)?)
    }

    /// Every position's logits for a prompt run with `hook` at the points it wants: [seq, d_vocab].
    pub fn run_with_hook(&self, ids: &[u32], hook: &mut dyn Hook) -> color_eyre::Result<Tensor> {
        self.check_prompt(ids)?;
        let input = Tensor::new(ids, self.device())?.unsqueeze(0)?; // [1, t]
        let logits = self
            .forward_hooked(&input, None, &mut Hooks::new(Some(hook), 0), true) // [1, t, d_vocab]
            .wrap_err("running the model on the prompt")?;
        Ok(logits.squeeze(0)?)
    }

    /// Append one token; only the new position's rows of every captured tensor are computed.
    pub fn step(&self, trace: &mut Trace, id: u32) -> color_eyre::Result<()> {
        self.step_with(trace, id, None)
    }

    /// The same with `intervention` at the points it wants: the one the trace was made with
    /// ([`Model::trace_with`]), so the new position is computed as a full pass would compute it.
    pub fn step_with(
        &self,
        trace: &mut Trace,
        id: u32,
        intervention: Option<&mut dyn Hook>,
    ) -> color_eyre::Result<()> {
        self.check_len(trace.len() + 1)?;
        self.extend(trace, &[id], intervention)
            .wrap_err("running one step")?;
        Ok(())
    }

    /// Remove the last token (at least one stays).
    pub fn pop(&self, trace: &mut Trace) -> color_eyre::Result<u32> {
        self.pop_with(trace, None)
    }

    /// The same with `intervention`, the one the trace was made with.
    pub fn pop_with(
        &self,
        trace: &mut Trace,
        intervention: Option<&mut dyn Hook>,
    ) -> color_eyre::Result<u32> {
        if trace.len() <= 1 {
            return hinted(
                "cannot remove the only token",
                "add tokens before removing one",
            );
        }
        let last = trace.ids.pop().unwrap_or_default();
        // Drop the last two positions and recompute the new last one: exact, and it restores the
        // next-token logits without keeping every position's logits around.
        let keep = trace.ids.len() - 1;
        let redo = trace.ids[keep];
        trace.ids.truncate(keep);
        trace.kv.truncate(keep)?;
        trace.capture.truncate(keep)?;
        self.extend(trace, &[redo], intervention)?;
        Ok(last)
    }

    fn extend(
        &self,
        trace: &mut Trace,
        new_ids: &[u32],
        mut intervention: Option<&mut dyn Hook>,
    ) -> Result<()> {
        let start = trace.ids.len();
        let ids = Tensor::new(new_ids, self.device())?.unsqueeze(0)?; // [1, t]
        let mut rec = Recorder {
            filter: &trace.filter,
            capture: &mut trace.capture,
        };
        let mut chain;
        let hook: &mut dyn Hook = match intervention.as_deref_mut() {
            Some(first) => {
                chain = Chain(vec![first, &mut rec]);
                &mut chain
            }
            None => &mut rec,
        };
        let logits = self.forward_hooked(
            &ids,
            Some(&mut trace.kv),
            &mut Hooks::new(Some(hook), start),
            false,
        )?;
        trace.next_logits = last_row(&logits)?;
        trace.ids.extend_from_slice(new_ids);
        // The cheap check on every pass; the search for where it started only when it fails.
        trace.non_finite = if all_finite(&trace.next_logits)? {
            None
        } else {
            let found = self.first_non_finite(&trace.ids, intervention)?;
            Some(found.unwrap_or(NonFinite {
                hook: super::hooks::LOGITS.into(),
                layer: None,
                position: trace.ids.len() - 1,
                count: Count::of_tensor(&trace.next_logits)?,
                values: trace.next_logits.elem_count(),
            }))
        };
        Ok(())
    }

    /// Run `ids` from the start with every hook point checked (after `intervention`, so the pass is
    /// the one that failed) and name the first that holds a NaN or an infinity. A whole extra pass:
    /// only for when the output is already known not to be finite.
    pub fn first_non_finite(
        &self,
        ids: &[u32],
        intervention: Option<&mut dyn Hook>,
    ) -> Result<Option<NonFinite>> {
        let input = Tensor::new(ids, self.device())?.unsqueeze(0)?; // [1, t]
        let mut check = FirstNonFinite::default();
        let mut chain;
        let hook: &mut dyn Hook = match intervention {
            Some(first) => {
                chain = Chain(vec![first, &mut check]);
                &mut chain
            }
            None => &mut check,
        };
        self.forward_hooked(&input, None, &mut Hooks::new(Some(hook), 0), false)?;
        Ok(check.found)
    }

    /// A prompt the model can run: at least one token, and no more than its context.
    pub fn check_prompt(&self, ids: &[u32]) -> color_eyre::Result<()> {
        self.check_len(ids.len())?;
        if ids.is_empty() {
            return hinted(
                "the prompt has no tokens",
                "type some text, or keep the BOS token (drop --no-bos)",
            );
        }
        Ok(())
    }

    fn check_len(&self, len: usize) -> color_eyre::Result<()> {
        let n_ctx = self.config().n_ctx;
        if len > n_ctx {
            return hinted(
                format!("the prompt is {len} tokens but this model's context is {n_ctx} tokens"),
                format!("shorten the prompt to at most {n_ctx} tokens"),
            );
        }
        Ok(())
    }
}

/// The last position's logits: [1, t, d_vocab] -> [d_vocab].
fn last_row(logits: &Tensor) -> Result<Tensor> {
    let rows = logits.dim(1)?;
    logits.get(0)?.get(rows - 1)
}
