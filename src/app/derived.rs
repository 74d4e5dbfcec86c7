//! What the views read, from the snapshot and the worker's answers ([`super::fetch`]): the selected
//! head's heatmap, head scores, residual norms, position maps, next-token probabilities.

use std::rc::Rc;
use std::sync::Arc;

use super::worker::{Answer, PositionEncoding, Query};
use super::{App, View};
use crate::analysis::heads::Criterion;
use crate::analysis::heatmap::{self, Heatmap};
use crate::analysis::positions;
use crate::analysis::predictions::softmax;
use crate::analysis::residual::BlockNorms;

/// Analysis results computed once per snapshot version, on first use.
#[derive(Default)]
pub(super) struct Derived {
    version: u64,
    positions: Option<Vec<Heatmap>>,
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
        Some(softmax(&logits, self.sampling.temperature))
    }

    /// In chat mode, the bare question's next-token probabilities (after its last token, without
    /// the template) at the current temperature, and how many tokens the question is.
    pub fn bare_probs(&self) -> Option<(Vec<f32>, usize)> {
        let bare = self.snap.as_ref()?.bare.as_ref().filter(|_| self.chat)?;
        Some((
            softmax(&bare.logits, self.sampling.temperature),
            bare.n_tokens,
        ))
    }

    /// The next-token logits after position `pos`, once the worker has sent them.
    pub fn logits_row(&self, pos: usize) -> Option<Vec<f32>> {
        match self.answer(&Query::Logits { pos })? {
            Answer::Row(row) => Some(row.to_vec()),
            _ => None,
        }
    }

    /// Next-token probabilities at the cursor from the ablated run, once the worker has sent them.
    pub fn ablated_probs(&self) -> Option<Vec<f32>> {
        let head = self.what_if.ablation?;
        let query = Query::AblatedLogits {
            heads: vec![head],
            pos: self.cursor,
        };
        match self.answer(&query)? {
            Answer::Row(row) => Some(softmax(&row, self.sampling.temperature)),
            _ => None,
        }
    }

    /// The heatmap the Attention or Scores view shows for the selected head: built once per answer
    /// and shared, so drawing a frame never copies a long prompt's map.
    pub fn head_map(&self, view: View) -> Option<Rc<Heatmap>> {
        self.head_map_of(view, self.layer, self.head)
    }

    /// The same for any head, when the worker has sent its maps.
    pub fn head_map_of(&self, view: View, layer: usize, head: usize) -> Option<Rc<Heatmap>> {
        let snap = self.snap.as_ref()?;
        let info = self.info.as_ref()?;
        let key = CacheKey {
            version: snap.version,
            view,
            layer,
            head,
            unscaled: self.what_if.unscaled && view == View::Scores,
        };
        if let Some((k, map)) = self.cache.borrow().as_ref() {
            if *k == key {
                return Some(Rc::clone(map));
            }
        }
        let Answer::Head { scores, pattern } = self.answer(&Query::Head { layer, head })? else {
            return None;
        };
        let map = match view {
            View::Scores => heatmap::scores_map(
                layer,
                head,
                scores.to_vec(),
                &snap.tokens,
                info.config.d_head,
                key.unscaled,
            ),
            _ => heatmap::pattern_map(layer, head, pattern.to_vec(), &snap.tokens),
        };
        let map = Rc::new(map);
        *self.cache.borrow_mut() = Some((key, Rc::clone(&map)));
        Some(map)
    }

    /// A layer's heads as thumbnails of `rows` × `cols` for the heads grid, once the worker has
    /// sent them; asked for by the next [`App::fetches`] otherwise.
    pub fn thumbnails(&self, layer: usize, rows: usize, cols: usize) -> Option<Arc<Vec<Heatmap>>> {
        self.hits.borrow_mut().thumbnails.push((layer, rows, cols));
        match self.answer(&Query::Thumbnails { layer, rows, cols })? {
            Answer::Thumbnails(t) => Some(t),
            _ => None,
        }
    }

    /// The derived-results cache, emptied when the snapshot changed.
    fn derived(&self) -> Option<std::cell::RefMut<'_, Derived>> {
        let version = self.snap.as_ref()?.version;
        let mut d = self.derived.borrow_mut();
        if d.version != version {
            // The position maps depend on the model only.
            let positions = d.positions.take();
            *d = Derived { version, positions };
        }
        Some(d)
    }

    /// Every head's score by `criterion`, once the worker has sent them.
    pub fn head_scores_by(&self, criterion: Criterion) -> Option<Vec<Vec<f32>>> {
        match self.answer(&Query::HeadScores(criterion))? {
            Answer::HeadScores(s) => Some(s.to_vec()),
            _ => None,
        }
    }

    /// Residual-stream norms per block and position.
    pub fn block_norms(&self) -> Option<Vec<BlockNorms>> {
        Some(self.snap.as_ref()?.norms.to_vec())
    }

    /// The loss the model pays at each position on the token that really comes next (nats, T = 1):
    /// `n_tokens − 1` values, once the worker has sent them.
    pub fn token_losses(&self) -> Option<Vec<f32>> {
        match self.answer(&Query::Losses)? {
            Answer::Row(l) => Some(l.to_vec()),
            _ => None,
        }
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
                    positions::position_embedding(w, n_ctx).ok()?,
                    positions::position_similarity(w, n_sim).ok()?,
                    positions::sinusoidal(n_ctx, info.config.d_model),
                ],
                // A rotary model can run far past any table; show the first positions.
                PositionEncoding::Rotary(freqs) => vec![
                    positions::rotary_angles(freqs, n_sim, false),
                    positions::rotary_angles(freqs, n_sim, true),
                ],
            });
        }
        d.positions.clone()
    }
}
