//! The one hook call a forward pass makes at each named point, as TransformerLens' `HookPoint`s do
//! (`pattern = self.hook_pattern(pattern)`).
//!
//! A [`Hook`] sees the value at a point and returns the value the pass goes on with: the same tensor to
//! only look (a [`Recorder`] keeping a [`Capture`], `glassbox dump` streaming to a file), or a
//! replacement (ablation, patching: see [`super::interventions`]). The point knows its own layout
//! ([`HookPoint::layout`]), so a hook needs nothing else to store or edit it.

use candle_core::{Result, Tensor};

use super::capture::Capture;
use super::hooks::{HookPoint, NamesFilter};

/// Something a forward pass calls at every named point it wants.
pub trait Hook {
    /// Whether to call [`Hook::hook`] at `point`. Wanting `ln_final.hook_normalized` or `logits` also
    /// makes the pass compute every position's logits, not only the last one's.
    fn wants(&self, point: HookPoint) -> bool;

    /// The value at `point` for positions `start..start + n` of the prompt (axis 1, or the query axis
    /// 2 of an attention tensor [1, head, n, n_keys]); returns the value the pass continues with.
    fn hook(&mut self, point: HookPoint, start: usize, value: Tensor) -> Result<Tensor>;

    /// Called once the pass has gone through every point for its `n_new` positions.
    fn end_pass(&mut self, _n_new: usize) -> Result<()> {
        Ok(())
    }
}

/// How a forward pass reaches its hook: where its positions start, and the hook if there is one.
pub struct Hooks<'a> {
    hook: Option<&'a mut dyn Hook>,
    start: usize,
}

impl<'a> Hooks<'a> {
    /// A pass over positions `start..` that calls `hook` (none: a plain run).
    pub fn new(hook: Option<&'a mut dyn Hook>, start: usize) -> Self {
        Self { hook, start }
    }

    /// A pass with no hook.
    pub fn none() -> Self {
        Self {
            hook: None,
            start: 0,
        }
    }

    pub fn start(&self) -> usize {
        self.start
    }

    pub fn is_active(&self) -> bool {
        self.hook.is_some()
    }

    pub fn wants(&self, point: HookPoint) -> bool {
        self.hook.as_deref().is_some_and(|h| h.wants(point))
    }

    /// The one call at `point`: the value itself when no hook wants it, else what the hook returns.
    pub fn at(&mut self, point: HookPoint, value: Tensor) -> Result<Tensor> {
        match self.hook.as_deref_mut() {
            Some(h) if h.wants(point) => {
                let dims = value.dims().to_vec();
                let out = h.hook(point, self.start, value)?;
                if out.dims() != dims.as_slice() {
                    candle_core::bail!(
                        "a hook on {} returned shape {:?}, not {dims:?}",
                        point.name(),
                        out.dims()
                    );
                }
                Ok(out)
            }
            _ => Ok(value),
        }
    }

    pub fn end_pass(&mut self, n_new: usize) -> Result<()> {
        match self.hook.as_deref_mut() {
            Some(h) => h.end_pass(n_new),
            None => Ok(()),
        }
    }
}

/// Keeps the hooks a filter selects in a [`Capture`].
pub struct Recorder<'a> {
    pub filter: &'a NamesFilter,
    pub capture: &'a mut Capture,
}

impl Hook for Recorder<'_> {
    fn wants(&self, point: HookPoint) -> bool {
        self.filter.matches(&point.name())
    }

    fn hook(&mut self, point: HookPoint, _start: usize, value: Tensor) -> Result<Tensor> {
        self.capture
            .push(&point.name(), point.layout(), value.clone());
        Ok(value)
    }

    fn end_pass(&mut self, n_new: usize) -> Result<()> {
        self.capture.extend_len(n_new);
        Ok(())
    }
}

/// Several hooks at the same points, called in order, each seeing what the one before returned: an
/// intervention first, then a recorder, so the capture holds the values the pass really used.
pub struct Chain<'a>(pub Vec<&'a mut dyn Hook>);

impl Hook for Chain<'_> {
    fn wants(&self, point: HookPoint) -> bool {
        self.0.iter().any(|h| h.wants(point))
    }

    fn hook(&mut self, point: HookPoint, start: usize, mut value: Tensor) -> Result<Tensor> {
        for h in &mut self.0 {
            if h.wants(point) {
                value = h.hook(point, start, value)?;
            }
        }
        Ok(value)
    }

    fn end_pass(&mut self, n_new: usize) -> Result<()> {
        self.0.iter_mut().try_for_each(|h| h.end_pass(n_new))
    }
}
