//! Head scores measured while training: does the model have a previous-token head and an induction
//! head yet? The same measurements as the bundled model's tests (tests/bundled_model.rs), on fewer
//! sequences, so the log shows when each mechanism forms.

use color_eyre::eyre::{eyre, Result};
use tokenizers::Tokenizer;

use crate::analysis::heads::{best_head, induction_scores, previous_token_scores, HeadScore};
use crate::corpus;
use crate::model::hooks::{block_hook, BlockHook, NamesFilter};
use crate::model::Gpt2;

/// Held-out documents scored for previous-token attention.
const TEXTS: usize = 8;
/// Repeated random-word sequences scored for induction, and the words in each copy (as in the bundled
/// model's test), or fewer, down to the minimum, when the training window is short.
const REPEATS: usize = 6;
const REPEAT_WORDS: usize = 20;
const MIN_REPEAT_WORDS: usize = 3;

/// Token sequences to score heads on, each starting with `<|endoftext|>` as a prompt does.
pub struct HeadProbes {
    /// Held-out stories, cut to the training window.
    texts: Vec<Vec<u32>>,
    /// `[eot] + copy + copy` and the length of one copy.
    repeats: Vec<(Vec<u32>, usize)>,
}

/// The best previous-token head (any layer) and the best induction head (layer ≥ 1). `None` where
/// there is nothing to measure: a one-layer model has no induction layer, and a short training window
/// may leave no room for a repeated sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadReport {
    pub previous_token: Option<HeadScore>,
    pub induction: Option<HeadScore>,
}

impl HeadProbes {
    pub fn new(tok: &Tokenizer, seed: u64, eot: u32, window: usize) -> Result<Self> {
        let encode = |text: &str| -> Result<Vec<u32>> {
            Ok(tok
                .encode(text, false)
                .map_err(|e| eyre!("tokenizing a probe: {e}"))?
                .get_ids()
                .to_vec())
        };
        let mut texts = Vec::with_capacity(TEXTS);
        for doc in corpus::held_out(seed, TEXTS) {
            let mut ids = vec![eot];
            ids.extend(encode(&doc)?);
            ids.truncate(window);
            texts.push(ids);
        }
        let mut repeats = Vec::with_capacity(REPEATS);
        for i in 0..REPEATS as u64 {
            let text = corpus::repeated_random_words(i, REPEAT_WORDS); // the words, then again
            let words: Vec<&str> = text.split(' ').collect();
            // As many of the words as fit twice in the window (all 20 at the bundled model's 256).
            for n in (MIN_REPEAT_WORDS..=REPEAT_WORDS).rev() {
                // Each copy starts with a space, so both tokenize identically.
                let copy = encode(&format!(" {}", words[..n].join(" ")))?;
                if 2 * copy.len() < window {
                    // BOS and two copies fit.
                    let mut ids = vec![eot];
                    ids.extend(&copy);
                    ids.extend(&copy);
                    repeats.push((ids, copy.len()));
                    break;
                }
            }
        }
        Ok(Self { texts, repeats })
    }

    /// Score every head of `model` and report the best of each kind.
    pub fn measure(&self, model: &Gpt2) -> Result<HeadReport> {
        let (n_layers, n_heads) = (model.config().n_layers, model.config().n_heads);
        let mut prev = vec![vec![0f32; n_heads]; n_layers];
        let mut induction = vec![vec![0f32; n_heads]; n_layers];
        let patterns = NamesFilter::parse("blocks.*.attn.hook_pattern");
        let pattern = |trace: &crate::model::Trace, layer: usize| {
            trace
                .capture()
                .get(&block_hook(layer, BlockHook::Pattern))
                .ok_or_else(|| eyre!("the pattern of layer {layer} was not captured"))?
                .map_err(color_eyre::Report::from)
        };
        for ids in &self.texts {
            let trace = model.trace(ids, patterns.clone())?;
            for (layer, row) in prev.iter_mut().enumerate() {
                let scores = previous_token_scores(&pattern(&trace, layer)?)?;
                for (sum, s) in row.iter_mut().zip(scores) {
                    *sum += s / self.texts.len() as f32;
                }
            }
        }
        for (ids, period) in &self.repeats {
            let trace = model.trace(ids, patterns.clone())?;
            for (layer, row) in induction.iter_mut().enumerate() {
                let scores = induction_scores(&pattern(&trace, layer)?, 1, *period)?;
                for (sum, s) in row.iter_mut().zip(scores) {
                    *sum += s / self.repeats.len() as f32;
                }
            }
        }
        Ok(HeadReport {
            previous_token: best_head(&prev, 0).filter(|_| !self.texts.is_empty()),
            induction: best_head(&induction, 1).filter(|_| !self.repeats.is_empty()),
        })
    }
}
