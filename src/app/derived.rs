//! What the views read, computed from the snapshot once per change and cached: the selected head's
//! heatmap, head scores, residual norms, position maps, next-token probabilities.

use std::rc::Rc;

use candle_core::IndexOp;

use super::worker::PositionEncoding;
use super::{App, View};
use crate::analysis::heads::{head_scores, Criterion};
use crate::analysis::heatmap::{self, Heatmap};
use crate::analysis::predictions::{softmax, token_losses_from};
use crate::analysis::residual::{block_norms, BlockNorms};

/// Analysis results computed once per snapshot version, on first use.
#[derive(Default)]
pub(super) struct Derived {
    version: u64,
    head_scores: Option<(Criterion, Vec<Vec<f32>>)>,
    norms: Option<Vec<BlockNorms>>,
    positions: Option<Vec<Heatmap>>,
    /// −ln p of each next token of the text, at temperature 1 (nats), with the ids they are for:
    /// kept across snapshots, so a generated token costs one new position, not the whole prompt.
    losses: Option<(Vec<u32>, Vec<f32>)>,
    /// The position what-if of the run the losses are from: another one makes them all stale.
    losses_run: Option<crate::model::PositionEdit>,
}

/// Positions shown in the cosine-similarity map (it is n² · d_model to compute).
const SIMILARITY_POSITIONS: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct CacheKey {
    version: u64,
    view: View,
    layer: usize,
    head: usize,
    unscaled: bool,
}

impl App {
    /// Next-token probabilities after the cursor's token at the current temperature.
    pub fn next_probs(&self) -> Option<Vec<f32>> {
        let logits = self.logits_row(self.cursor)?;
        Some(softmax(&logits, self.temperature))
    }

    /// In chat mode, the bare question's next-token probabilities (after its last token, without
    /// the template) at the current temperature, and how many tokens the question is.
    pub fn bare_probs(&self) -> Option<(Vec<f32>, usize)> {
        let bare = self.snap.as_ref()?.bare.as_ref().filter(|_| self.chat)?;
        Some((softmax(&bare.logits, self.temperature), bare.n_tokens))
    }

    pub fn logits_row(&self, pos: usize) -> Option<Vec<f32>> {
        let snap = self.snap.as_ref()?;
        let logits = snap.capture.get("logits")?.ok()?;
        logits.i((0, pos)).ok()?.to_vec1::<f32>().ok()
    }

    /// Next-token probabilities at the cursor from the ablated run, if it is current.
    pub fn ablated_probs(&self) -> Option<Vec<f32>> {
        let run = self.ablated.as_ref()?;
        let snap = self.snap.as_ref()?;
        if run.version != snap.version || run.heads.first().copied() != self.ablation {
            return None;
        }
        let row = run.logits.i(self.cursor).ok()?.to_vec1::<f32>().ok()?;
        Some(softmax(&row, self.temperature))
    }

    /// The heatmap the Attention or Scores view shows for the selected head: computed once per change
    /// and shared, so drawing a frame never copies a long prompt's map.
    pub fn head_map(&self, view: View) -> Option<Rc<Heatmap>> {
        let snap = self.snap.as_ref()?;
        let info = self.info.as_ref()?;
        let key = CacheKey {
            version: snap.version,
            view,
            layer: self.layer,
            head: self.head,
            unscaled: self.unscaled && view == View::Scores,
        };
        if let Some((k, map)) = self.cache.borrow().as_ref() {
            if *k == key {
                return Some(Rc::clone(map));
            }
        }
        let map = match view {
            View::Scores => heatmap::attention_scores(
                &snap.capture,
                self.layer,
                self.head,
                &snap.tokens,
                info.config.d_head,
                key.unscaled,
            ),
            _ => heatmap::attention_pattern(&snap.capture, self.layer, self.head, &snap.tokens),
        }
        .ok()?;
        let map = Rc::new(map);
        *self.cache.borrow_mut() = Some((key, Rc::clone(&map)));
        Some(map)
    }

    /// The derived-results cache, emptied when the snapshot changed.
    fn derived(&self) -> Option<std::cell::RefMut<'_, Derived>> {
        let snap = self.snap.as_ref()?;
        let (version, run) = (snap.version, snap.positions);
        let mut d = self.derived.borrow_mut();
        if d.version != version {
            let positions = d.positions.take();
            // The same ids run with other positions have other logits: no loss carries over.
            let losses = d.losses.take().filter(|_| d.losses_run == run);
            *d = Derived {
                version,
                positions,
                losses,
                losses_run: run,
                ..Derived::default()
            };
        }
        Some(d)
    }

    /// Every head's score on this prompt by the metric the Heads view shows: `[layer][head]`.
    pub fn head_scores(&self) -> Vec<Vec<f32>> {
        let (n_layers, _) = self.dims();
        let metric = self.head_metric;
        let Some(mut d) = self.derived() else {
            return Vec::new();
        };
        let snap = self.snap.as_ref().expect("derived() checked it");
        if let Some((m, scores)) = &d.head_scores {
            if *m == metric {
                return scores.clone();
            }
        }
        let scores = head_scores(&snap.capture, &snap.ids, n_layers, metric).unwrap_or_default();
        d.head_scores = Some((metric, scores.clone()));
        scores
    }

    /// Residual-stream norms per block and position.
    pub fn block_norms(&self) -> Option<Vec<BlockNorms>> {
        let (n_layers, _) = self.dims();
        let mut d = self.derived()?;
        if d.norms.is_none() {
            let capture = &self.snap.as_ref()?.capture;
            d.norms = Some(block_norms(capture, n_layers).ok()?);
        }
        d.norms.clone()
    }

    /// The loss the model pays at each position on the token that really comes next (nats, T = 1):
    /// `n_tokens − 1` values, computed once per snapshot.
    pub fn token_losses(&self) -> Option<Vec<f32>> {
        let mut d = self.derived()?;
        let snap = self.snap.as_ref()?;
        let ids = &snap.ids;
        // The positions whose loss is known for these ids: those before the first token that
        // changed (a token appended keeps them all, a token removed all but the last).
        let keep = match &d.losses {
            Some((old, losses)) => {
                let same = old.iter().zip(ids).take_while(|(a, b)| a == b).count();
                same.saturating_sub(1).min(losses.len())
            }
            None => 0,
        };
        if d.losses.as_ref().is_some_and(|(old, _)| old == ids) {
            return d.losses.as_ref().map(|(_, l)| l.clone());
        }
        let logits = snap.capture.get("logits")?.ok()?;
        let mut losses = d.losses.take().map(|(_, l)| l).unwrap_or_default();
        losses.truncate(keep);
        losses.extend(token_losses_from(&logits, ids, keep).ok()?);
        d.losses = Some((ids.clone(), losses.clone()));
        Some(losses)
    }

    /// W_pos, the cosine similarity between positions, and the sinusoidal encoding; for a rotary
    /// model, the cos and sin of its rotation angles.
    pub fn position_maps(&self) -> Option<Vec<Heatmap>> {
        let info = self.info.as_ref()?;
        let mut d = self.derived()?;
        if d.positions.is_none() {
            let n_ctx = info.config.n_ctx;
            let n_sim = n_ctx.min(SIMILARITY_POSITIONS);
            d.positions = Some(match &info.positions {
                PositionEncoding::Learned(w) => vec![
                    heatmap::position_embedding(w, n_ctx).ok()?,
                    heatmap::position_similarity(w, n_sim).ok()?,
                    heatmap::sinusoidal(n_ctx, info.config.d_model),
                ],
                // A rotary model can run far past any table; show the first positions.
                PositionEncoding::Rotary(freqs) => vec![
                    heatmap::rotary_angles(freqs, n_sim, false),
                    heatmap::rotary_angles(freqs, n_sim, true),
                ],
            });
        }
        d.positions.clone()
    }
}
