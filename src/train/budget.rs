//! Whether a training run can fit in this machine's memory, decided before any of it is allocated.
//!
//! Sizes are options a user types: `--d-model 1048576` or `--vocab-size 100000000` used to end in
//! "memory allocation of 8589934592 bytes failed" and a backtrace, minutes in. The estimate here is a
//! lower bound (it counts only what a run cannot do without), so it refuses no run that would fit.

use color_eyre::eyre::Result;

use super::TrainConfig;
use crate::error::hinted;

/// Bytes a generated document takes at least: its text (75 bytes for the shortest in 5,000) and its
/// token ids.
const MIN_DOC_BYTES: f64 = 64.0;

/// Bytes per parameter while training in float32: the weight, its gradient, and AdamW's two moments.
const BYTES_PER_PARAM: f64 = 16.0;

/// Bytes the tokenizer trainer sets aside per token of `--vocab-size` before it merges anything
/// (`--vocab-size 100000000` asked for 4.4 GB at once).
const BPE_BYTES_PER_TOKEN: f64 = 40.0;

/// The smallest vocabulary training can end with: 256 bytes and <|endoftext|>. The real one is
/// at most `--vocab-size`, but only as large as the corpus allows, which is known only after the
/// tokenizer is trained; so the model is counted with this one.
const MIN_VOCAB: usize = 257;

impl TrainConfig {
    /// Parameters of the model these options describe with a vocabulary of `vocab`, as a float so
    /// huge options cannot overflow.
    fn params_estimate(&self, vocab: usize) -> f64 {
        let (d, l) = (self.d_model as f64, self.n_layers as f64);
        let (vocab, ctx) = (vocab as f64, self.n_ctx as f64);
        // Embeddings (W_E tied to the unembedding, W_pos); per block: attention 4d², MLP 8d², biases
        // and LayerNorms 13d; the final LayerNorm.
        vocab * d + ctx * d + l * (12.0 * d * d + 13.0 * d) + 2.0 * d
    }

    /// The fewest bytes a run needs: the corpus, the tokenizer trainer's tables, the parameters with
    /// their gradients and AdamW moments, and one batch's logits and attention patterns (kept for
    /// the backward pass).
    fn min_memory_bytes(&self) -> f64 {
        let corpus = (self.docs as f64 + self.eval_docs as f64) * MIN_DOC_BYTES;
        let tokenizer = self.vocab_size as f64 * BPE_BYTES_PER_TOKEN;
        let positions = self.batch as f64 * self.seq_len as f64;
        let patterns = self.n_layers as f64 * self.n_heads as f64 * self.seq_len as f64;
        let activations = positions * (MIN_VOCAB as f64 + patterns) * 4.0;
        let model = self.params_estimate(MIN_VOCAB) * BYTES_PER_PARAM;
        corpus + tokenizer + model + activations
    }

    /// Refuse sizes whose run cannot fit in memory, naming what to lower.
    pub(super) fn check_memory(&self) -> Result<()> {
        let need = self.min_memory_bytes();
        let Some(have) = total_memory_bytes() else {
            return Ok(());
        };
        if need <= have as f64 {
            return Ok(());
        }
        hinted(
            format!(
                "training this model needs at least {} of memory ({} parameters or more, with their gradients and AdamW moments, the corpus and a batch), more than this machine's {}",
                gigabytes(need),
                count(self.params_estimate(MIN_VOCAB)),
                gigabytes(have as f64),
            ),
            "lower --d-model, --layers, --vocab-size, --context, --batch, --seq-len or --docs (the bundled model: 4 layers, d_model 128, 2048 tokens)",
        )
    }
}

/// 2.5 GB, 19.9 TB; past petabytes, 3.7e24 bytes.
fn gigabytes(bytes: f64) -> String {
    match bytes {
        b if b >= 1e15 => format!("{b:.1e} bytes"),
        b if b >= 1e12 => format!("{:.1} TB", b / 1e12),
        b => format!("{:.1} GB", b / 1e9),
    }
}

/// 1.2 million, 3.4 billion; 1e15 stays a number.
fn count(n: f64) -> String {
    match n {
        n if n >= 1e12 => format!("{n:.1e}"),
        n if n >= 1e9 => format!("{:.1} billion", n / 1e9),
        n if n >= 1e6 => format!("{:.1} million", n / 1e6),
        n => format!("{n:.0}"),
    }
}

/// The machine's memory (Linux: MemTotal in /proc/meminfo); `None` where it cannot be read, and then
/// no run is refused.
fn total_memory_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_recipe_needs_little_and_absurd_sizes_need_more_than_any_machine() {
        let bundled = TrainConfig::default();
        // The count the saved model's config gives, and well under a gigabyte.
        let exact = bundled.model_config(bundled.vocab_size, 0).n_params();
        assert_eq!(bundled.params_estimate(bundled.vocab_size), exact as f64);
        assert!(bundled.min_memory_bytes() < 1e9);
        for huge in [
            TrainConfig {
                d_model: 1 << 20,
                ..TrainConfig::default()
            },
            TrainConfig {
                vocab_size: usize::MAX,
                ..TrainConfig::default()
            },
            TrainConfig {
                n_layers: usize::MAX,
                ..TrainConfig::default()
            },
        ] {
            // More than 100 TB, and no overflow on the way there.
            assert!(huge.min_memory_bytes() > 1e14);
        }
    }
}
