//! Head scores measured while training: does the model have a previous-token head and an induction
//! head yet? The bundled model's tests (tests/bundled_model.rs) take the same measurements on more
//! sequences; the trainer uses fewer, so the log shows cheaply when each mechanism forms.

use color_eyre::eyre::{eyre, Result};
use tokenizers::Tokenizer;

use crate::analysis::heads::{best_head, induction_scores, previous_token_scores, HeadScore};
use crate::corpus;
use crate::model::hooks::{block_hook, BlockHook, NamesFilter};
use crate::model::Model;

/// Words in each copy of a repeated random-word sequence, or fewer, down to the minimum, when the
/// window is short.
const REPEAT_WORDS: usize = 20;
const MIN_REPEAT_WORDS: usize = 3;

/// How many sequences to score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeCounts {
    /// Held-out documents scored for previous-token attention.
    pub texts: usize,
    /// Repeated random-word sequences scored for induction.
    pub repeats: usize,
}

impl ProbeCounts {
    /// What the trainer measures every evaluation.
    pub const TRAINING: Self = Self {
        texts: 8,
        repeats: 6,
    };
}

/// Per-head scores, `[layer][head]`.
pub type HeadTable = Vec<Vec<f32>>;

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
    /// The trainer's probes, tokenized by the tokenizer it is training.
    pub fn new(tok: &Tokenizer, seed: u64, eot: u32, window: usize) -> Result<Self> {
        let encode = |text: &str| -> Result<Vec<u32>> {
            Ok(tok
                .encode(text, false)
                .map_err(|e| eyre!("tokenizing a probe: {e}"))?
                .get_ids()
                .to_vec())
        };
        Self::build(encode, seed, eot, window, ProbeCounts::TRAINING)
    }

    /// Probes from the corpus seeded by `seed`: `encode` tokenizes without BOS, `eot` starts every
    /// sequence, and no sequence is longer than `window`.
    pub fn build(
        encode: impl Fn(&str) -> Result<Vec<u32>>,
        seed: u64,
        eot: u32,
        window: usize,
        counts: ProbeCounts,
    ) -> Result<Self> {
        let mut texts = Vec::with_capacity(counts.texts);
        for doc in corpus::held_out(seed, counts.texts) {
            let mut ids = vec![eot];
            ids.extend(encode(&doc)?);
            ids.truncate(window);
            texts.push(ids);
        }
        let mut repeats = Vec::with_capacity(counts.repeats);
        for i in 0..counts.repeats as u64 {
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
    pub fn measure(&self, model: &Model) -> Result<HeadReport> {
        let (prev, induction) = self.scores(model)?;
        Ok(HeadReport {
            previous_token: best_head(&prev, 0).filter(|_| !self.texts.is_empty()),
            induction: best_head(&induction, 1).filter(|_| !self.repeats.is_empty()),
        })
    }

    /// Every head's mean previous-token score on the held-out texts and mean induction score on the
    /// repeated sequences.
    pub fn scores(&self, model: &Model) -> Result<(HeadTable, HeadTable)> {
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
        Ok((prev, induction))
    }
}
