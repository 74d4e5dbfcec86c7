//! Training a GPT-2-style byte-level BPE tokenizer on the corpus.

use std::collections::HashSet;

use color_eyre::eyre::{eyre, Result};
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{AddedToken, Tokenizer, TokenizerImpl};

use crate::model::tokenizer::GPT2_BOS;

type Impl = TokenizerImpl<
    BPE,
    NormalizerWrapper,
    PreTokenizerWrapper,
    PostProcessorWrapper,
    DecoderWrapper,
>;

/// Train on `docs` (none contains `<|endoftext|>`). The vocabulary holds the 256 byte symbols, the
/// merges, and `<|endoftext|>`; it is smaller than `vocab_size` if the text runs out of pairs to merge.
pub fn train_tokenizer(docs: &[String], vocab_size: usize) -> Result<Tokenizer> {
    // As GPT-2: no space added in front of the text, GPT-2's split regex, offsets trimmed.
    let byte_level = ByteLevel::new(false, true, true);
    let mut tok: Impl = TokenizerImpl::new(BPE::default());
    tok.with_pre_tokenizer(Some(byte_level))
        .with_decoder(Some(byte_level))
        .with_post_processor(Some(byte_level));
    // Every byte in the alphabet up front, so any text (not only the corpus's ASCII) can be encoded.
    let alphabet: HashSet<char> = ByteLevel::alphabet().into_iter().collect();
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .initial_alphabet(alphabet)
        .special_tokens(vec![AddedToken::from(GPT2_BOS, true)])
        .build();
    tok.train(&mut trainer, docs.iter())
        .map_err(|e| eyre!("training the BPE tokenizer: {e}"))?;
    Ok(Tokenizer::from(tok))
}

/// The token stream for `docs`: each document's tokens followed by `<|endoftext|>`, as if the
/// documents had been joined with it (the special token is never merged with its neighbours).
pub fn encode_docs(tok: &Tokenizer, docs: &[String], eot: u32) -> Result<Vec<u32>> {
    use rayon::prelude::*;
    let per_doc: Vec<Vec<u32>> = docs
        .par_iter()
        .map(|d| {
            tok.encode(d.as_str(), false)
                .map(|e| e.get_ids().to_vec())
                .map_err(|e| eyre!("tokenizing the corpus: {e}"))
        })
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(per_doc.iter().map(|d| d.len() + 1).sum());
    for ids in per_doc {
        out.extend(ids);
        out.push(eot);
    }
    Ok(out)
}
