//! The worker's answers to what views fetch ([`Query`]): computed from the trace's q, k and
//! residual stream when asked, with the answers that cost a sweep or a pass kept for the version.

use std::sync::Arc;

use candle_core::{IndexOp, Tensor};
use color_eyre::eyre::{Result, WrapErr};

use super::super::{Answer, Query};
use super::Session;
use crate::analysis::heads::Criterion;
use crate::analysis::heatmap::thumbnails_from_qk;
use crate::analysis::positions_kept;
use crate::analysis::predictions::row_losses;
use crate::model::attention_maps::{head_maps, layer_rows};
use crate::model::hook::{Chain, Recorder};
use crate::model::hooks::{block_hook, BlockHook};
use crate::model::interventions::ZeroAblation;
use crate::model::{Capture, Hook, NamesFilter};

impl Session {
    /// Compute what a view asked for from the current trace.
    pub(super) fn fetch(&mut self, query: &Query) -> Result<Answer> {
        Ok(match query {
            Query::Logits { pos } => Answer::Row(Arc::new(self.logits(*pos)?)),
            Query::AblatedLogits { heads, pos } => {
                let resid = self.ablated_resid(heads)?; // [n, d_model]
                Answer::Row(Arc::new(logits_at(&self.loaded.model, &resid, *pos)?))
            }
            Query::Head { layer, head } => {
                self.loaded.model.check_heads(&[(*layer, *head)])?;
                let cfg = self.loaded.model.config();
                let capture = self.current()?.capture();
                let (scores, pattern) = head_maps(capture, cfg, *layer, *head, None)?; // [n, n]
                Answer::Head {
                    scores: Arc::new(scores.flatten_all()?.to_vec1::<f32>()?),
                    pattern: Arc::new(pattern.flatten_all()?.to_vec1::<f32>()?),
                }
            }
            Query::Thumbnails { layer, rows, cols } => {
                self.loaded.model.check_heads(&[(*layer, 0)])?;
                let cfg = self.loaded.model.config();
                let capture = self.current()?.capture();
                let thumbs = thumbnails_from_qk(capture, cfg, *layer, *rows, *cols)?;
                Answer::Thumbnails(Arc::new(thumbs))
            }
            Query::HeadScores(criterion) => Answer::HeadScores(self.scores_by(*criterion)?),
            Query::Losses => Answer::Row(self.losses()?),
        })
    }

    /// The next-token logits after `pos`: the last position's are those generation samples from;
    /// another's are the last block's residual there through ln_final and the unembedding.
    fn logits(&self, pos: usize) -> Result<Vec<f32>> {
        let trace = self.current()?;
        if pos + 1 == trace.len() {
            return Ok(trace.next_logits().to_vec1::<f32>()?);
        }
        logits_at(&self.loaded.model, &self.last_resid()?, pos)
    }

    /// Every head's score by `criterion`, once per version. They need each head's whole pattern
    /// (seconds for a 30-layer model at 1,024 tokens), so the rows' parts are kept across versions
    /// (a generated token adds one row) and one sweep scores every criterion, ready when the learner
    /// switches (i).
    fn scores_by(&mut self, criterion: Criterion) -> Result<Arc<Vec<Vec<f32>>>> {
        if let Some(scores) = self.head_scores.get(&criterion) {
            return Ok(Arc::clone(scores));
        }
        let mut rows = self.row_scores.take().unwrap_or_default();
        let cfg = self.loaded.model.config();
        let trace = self.current()?;
        let keep = rows.keep(trace.ids());
        // One layer's patterns at a time: at 1,024 tokens a layer is tens of MB, all of them
        // gigabytes.
        rows.update(trace.ids(), cfg.n_layers, keep, |l, r| {
            layer_rows(trace.capture(), cfg, l, r)
        })?;
        for c in Criterion::ALL {
            self.head_scores.insert(c, Arc::new(rows.scores(c)));
        }
        self.row_scores = Some(rows);
        Ok(Arc::clone(&self.head_scores[&criterion]))
    }

    /// The last block's `hook_resid_post` of the current trace: [n, d_model].
    fn last_resid(&self) -> Result<Tensor> {
        let last = block_hook(
            self.loaded.model.config().n_layers - 1,
            BlockHook::ResidPost,
        );
        Ok(self.current()?.capture().require(&last)?.squeeze(0)?)
    }

    /// The last block's `hook_resid_post` [n, d_model] of the current prompt run with `heads`'
    /// outputs zeroed, and the snapshot's position what-if, so the two runs differ only by the
    /// heads. One pass per heads and version; another position is one product.
    fn ablated_resid(&mut self, heads: &[(usize, usize)]) -> Result<Tensor> {
        if let Some((h, resid)) = &self.ablated {
            if h.as_slice() == heads {
                return Ok(resid.clone());
            }
        }
        self.ablated = None;
        let model = &self.loaded.model;
        model.check_heads(heads)?;
        let ids = self.current()?.ids().to_vec();
        let last = block_hook(model.config().n_layers - 1, BlockHook::ResidPost);
        let filter = NamesFilter::names(&[last.as_str()]);
        let mut capture = Capture::default();
        let mut recorder = Recorder {
            filter: &filter,
            capture: &mut capture,
        };
        let mut ablation = ZeroAblation::new(heads);
        let mut hooks: Vec<&mut dyn Hook> = vec![&mut ablation, &mut recorder];
        if let Some((_, h)) = self.positions.as_mut() {
            hooks.insert(0, h);
        }
        model
            .record(&ids, &mut Chain(hooks))
            .wrap_err("running the model with heads ablated")?;
        let resid = capture.require(&last)?.squeeze(0)?; // [n, d_model]
        self.ablated = Some((heads.to_vec(), resid.clone()));
        Ok(resid)
    }

    /// The loss at each position on the next token, computed for new positions only.
    fn losses(&mut self) -> Result<Arc<Vec<f32>>> {
        let ids = self.current()?.ids().to_vec();
        let mut losses = match &self.losses {
            Some((old, l)) if *old == ids => return Ok(Arc::clone(l)),
            Some((old, l)) => l[..positions_kept(old, &ids).min(l.len())].to_vec(),
            None => Vec::new(),
        };
        let resid = self.last_resid()?; // [n, d_model]
        let model = &self.loaded.model;
        // A chunk of positions at a time: 64 rows of logits are 12 MB for a 49k vocabulary.
        const CHUNK: usize = 64;
        let end = ids.len().saturating_sub(1);
        let mut start = losses.len();
        while start < end {
            let n = CHUNK.min(end - start);
            let logits = model.logit_lens_rows(&resid.narrow(0, start, n)?)?; // [n, d_vocab]
            losses.extend(row_losses(&logits, &ids[start + 1..start + 1 + n])?);
            start += n;
        }
        let losses = Arc::new(losses);
        self.losses = Some((ids, Arc::clone(&losses)));
        Ok(losses)
    }
}

/// The next-token logits after position `pos` of a last-block residual [n, d_model]: [d_vocab].
fn logits_at(model: &crate::model::Model, resid: &Tensor, pos: usize) -> Result<Vec<f32>> {
    let n = resid.dim(0)?;
    if pos >= n {
        color_eyre::eyre::bail!("position {pos} is past the prompt ({n} tokens)");
    }
    Ok(model.logit_lens(&resid.i(pos)?)?.to_vec1::<f32>()?)
}
