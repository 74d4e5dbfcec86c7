//! A user's prompt, refused as too long before it is read or tokenized whole.
//!
//! Whether a prompt fits is a count of tokens, and counting means tokenizing, which for a 20 MB file
//! took seconds and gigabytes only to say "too long". But no token stands for more text than
//! [`max_prompt_bytes`] allows, so a longer text cannot fit, and reading stops there.

use std::path::Path;

use color_eyre::eyre::{eyre, Result};

use super::loader::LoadedModel;
use crate::error::{hinted, Hinted};
use crate::textfile::{read_text, TextFileError};

/// How much Unicode normalisation can shrink text: NFKC turns the four-byte "𝐀" into the one-byte
/// "A" (and the Kelvin sign, three bytes, into "k"). Byte-level BPE does not normalise, but a
/// tokenizer.json may.
const NORMALISATION_SLACK: usize = 4;

/// The fewest bytes one token is allowed to stand for: a UTF-8 character is at most four bytes, so
/// even a tokenizer with single-byte entries and one token per character stays under it.
const MIN_TOKEN_BYTES: usize = 4;

/// A prompt file read before any model is known (the tutor reads its prompt while the model loads)
/// may hold this much: a million-token context at 64 bytes a token. The model's own, tighter bound
/// applies when the prompt is encoded.
pub const ANY_MODEL_MAX_PROMPT_BYTES: u64 = 64 << 20;

/// The most bytes of text a prompt of `n_ctx` tokens can have, for a tokenizer whose longest
/// vocabulary entry is `longest_token` bytes.
///
/// Every byte of a prompt is covered by a token, and a token covers at most as many bytes as its
/// vocabulary entry spells (see `TextCodec::longest_token_bytes`), after normalisation, which shrinks
/// text at most [`NORMALISATION_SLACK`] times. So `n_ctx` tokens cover at most `n_ctx × longest × 4`
/// bytes, and a longer text cannot fit: the bound never refuses a prompt that fits. (Tokenizers that
/// drop text, such as a BERT-style whitespace splitter, could beat it; no GPT-2 or Llama tokenizer
/// does.) GPT-2 small: 1,024 × 128 × 4 bytes = 512 KiB.
pub fn max_prompt_bytes(n_ctx: usize, longest_token: usize) -> u64 {
    let per_token = longest_token.max(MIN_TOKEN_BYTES) * NORMALISATION_SLACK;
    (n_ctx as u64).saturating_mul(per_token as u64)
}

fn shorten_hint(n_ctx: usize) -> String {
    format!("shorten the prompt to at most {n_ctx} tokens")
}

impl LoadedModel {
    /// The most bytes of text a prompt that fits this model's context can have.
    pub fn max_prompt_bytes(&self) -> u64 {
        max_prompt_bytes(self.model.config().n_ctx, self.codec.longest_token_bytes())
    }

    /// Token ids for a prompt (BOS first when `bos`). A text too long for any prompt that fits is
    /// refused before the tokenizer sees it.
    pub fn encode_prompt(&self, text: &str, bos: bool) -> Result<Vec<u32>> {
        let n_ctx = self.model.config().n_ctx;
        let limit = self.max_prompt_bytes();
        if text.len() as u64 > limit {
            return hinted(
                format!(
                    "the prompt is {} bytes, more than this model's context of {n_ctx} tokens can hold (at most {limit} bytes)",
                    text.len()
                ),
                shorten_hint(n_ctx),
            );
        }
        self.codec.encode(text, bos)
    }
}

/// The text of a prompt file, read no further than a prompt that fits `model` could be (any model's
/// bound, [`ANY_MODEL_MAX_PROMPT_BYTES`], when it is not loaded yet).
pub fn read_prompt_file(path: &Path, model: Option<&LoadedModel>) -> Result<String> {
    let limit = model.map_or(ANY_MODEL_MAX_PROMPT_BYTES, LoadedModel::max_prompt_bytes);
    read_text(path, limit).map_err(|e| {
        let shown = path.display();
        let (message, hint) = match (&e, model) {
            (TextFileError::TooLong { .. }, Some(m)) => {
                let n_ctx = m.model.config().n_ctx;
                (
                    format!(
                        "the prompt file {shown} is longer than this model's context of {n_ctx} tokens can hold (more than {limit} bytes)"
                    ),
                    shorten_hint(n_ctx),
                )
            }
            (TextFileError::TooLong { .. }, None) => (
                format!("the prompt file {shown} is longer than {limit} bytes, more than any model's context holds"),
                "shorten the prompt".to_string(),
            ),
            (TextFileError::NotUtf8 { .. } | TextFileError::Binary { .. }, _) => (
                format!("the prompt file {shown} {e}"),
                "a prompt file is plain text in UTF-8; save it as UTF-8, or check that this is the file you meant".to_string(),
            ),
            (TextFileError::Io(_), _) => (
                format!("the prompt file {shown} {e}"),
                "check the path, or pass the text with --prompt".to_string(),
            ),
        };
        eyre!(Hinted::new(message, hint))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_scales_with_the_context_and_the_longest_token() {
        assert_eq!(max_prompt_bytes(1024, 128), 512 * 1024);
        // A vocabulary of single bytes still allows four-byte characters.
        assert_eq!(max_prompt_bytes(10, 1), 10 * 4 * 4);
        // A context too large to multiply saturates instead of wrapping to a small bound.
        assert_eq!(max_prompt_bytes(usize::MAX, 1000), u64::MAX);
    }
}
