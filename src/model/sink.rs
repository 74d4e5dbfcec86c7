//! Where a forward pass sends the hooks it records.
//!
//! The pass itself only knows hook names and tensors. A `Recorder` keeps them in a [`Capture`] (the
//! tutor, `inspect`, stepping); `glassbox dump` streams them to a file instead, so a long prompt never
//! holds every activation in memory at once.

use candle_core::{Result, Tensor};

use super::capture::Capture;
use super::hooks::NamesFilter;

/// Receives the hooks of a forward pass, in forward order.
pub trait HookSink {
    /// Whether the pass should record `name`. Asking for `ln_final.hook_normalized` or `logits` also
    /// makes the pass compute every position's logits, not only the last one's.
    fn wants(&self, name: &str) -> bool;

    /// A position-major tensor [1, n_new, ...] for the positions the pass adds.
    fn positional(&mut self, name: &str, t: &Tensor) -> Result<()>;

    /// An attention tensor [1, head, n_new, n_keys] for the positions the pass adds; `fill` is what the
    /// causal mask leaves above the diagonal (0 for the pattern, −∞ for the scores).
    fn attention(&mut self, name: &str, t: &Tensor, fill: f32) -> Result<()>;

    /// Called once the pass has recorded everything for its `n_new` positions.
    fn end_pass(&mut self, _n_new: usize) -> Result<()> {
        Ok(())
    }
}

/// Keeps the hooks a filter selects in a [`Capture`].
pub(crate) struct Recorder<'a> {
    pub filter: &'a NamesFilter,
    pub capture: &'a mut Capture,
}

impl HookSink for Recorder<'_> {
    fn wants(&self, name: &str) -> bool {
        self.filter.matches(name)
    }

    fn positional(&mut self, name: &str, t: &Tensor) -> Result<()> {
        if self.wants(name) {
            self.capture.push_positional(name, t.clone());
        }
        Ok(())
    }

    fn attention(&mut self, name: &str, t: &Tensor, fill: f32) -> Result<()> {
        if self.wants(name) {
            self.capture.push_attention(name, t.clone(), fill);
        }
        Ok(())
    }

    fn end_pass(&mut self, n_new: usize) -> Result<()> {
        self.capture.extend_len(n_new);
        Ok(())
    }
}
