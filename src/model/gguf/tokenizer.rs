//! A GGUF file's tokenizer, built from its own metadata with the tokenizers crate.
//!
//! It tokenizes exactly as transformers does when it loads the same file
//! (`AutoTokenizer.from_pretrained(dir, gguf_file=…)`, checked in tests/gguf.rs): for
//! `tokenizer.ggml.model = "gpt2"` that is a byte-level BPE over the file's tokens and merges, GPT-2's
//! pre-tokenizer (transformers ignores `tokenizer.ggml.pre` for names it does not know, "smollm" among
//! them, where llama.cpp would also split digits apart), every CONTROL token special, and BOS first only
//! when `tokenizer.ggml.add_bos_token` says so.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use color_eyre::eyre::{eyre, Result};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Merges, Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::Hinted;
use crate::model::chat::ChatTemplate;
use crate::model::tokenizer::TextCodec;

/// llama.cpp's token types (`tokenizer.ggml.token_type`).
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;

fn bad(file: &Path, what: impl std::fmt::Display) -> color_eyre::Report {
    eyre!(Hinted::new(
        format!("{}: {what}", file.display()),
        "the file's tokenizer metadata is damaged or of a kind glassbox does not read; convert the model again",
    ))
}

fn strings<'a>(
    meta: &'a HashMap<String, Value>,
    key: &str,
    file: &Path,
) -> Result<Option<Vec<&'a str>>> {
    let Some(v) = meta.get(key) else {
        return Ok(None);
    };
    let list = v
        .to_vec()
        .map_err(|_| bad(file, format!("metadata {key} is not a list")))?;
    list.iter()
        .map(|s| {
            s.to_string().map(String::as_str).map_err(|_| {
                bad(
                    file,
                    format!("metadata {key} holds something other than text"),
                )
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

fn id(meta: &HashMap<String, Value>, key: &str) -> Option<u32> {
    meta.get(key).and_then(|v| v.to_u32().ok())
}

/// The codec for a GGUF file, and its chat template if it has one.
pub(super) fn from_metadata(
    meta: &HashMap<String, Value>,
    file: &Path,
) -> Result<(TextCodec, Option<ChatTemplate>)> {
    let model = meta
        .get("tokenizer.ggml.model")
        .and_then(|v| v.to_string().ok())
        .map(String::as_str);
    let Some(tokens) = strings(meta, "tokenizer.ggml.tokens", file)? else {
        return Err(eyre!(Hinted::new(
            format!("{} has no tokenizer (no tokenizer.ggml.tokens)", file.display()),
            "use a GGUF file converted with its tokenizer, as llama.cpp's convert_hf_to_gguf.py writes it",
        )));
    };
    match model {
        Some("gpt2") => {}
        Some(other) => {
            return Err(eyre!(Hinted::new(
                format!(
                    "{}: tokenizer.ggml.model \"{other}\" is not supported",
                    file.display()
                ),
                "glassbox reads GGUF files with a byte-level BPE tokenizer (tokenizer.ggml.model \"gpt2\", as SmolLM2, Llama 3 and Qwen use)",
            )))
        }
        None => return Err(bad(file, "tokenizer.ggml.model is missing")),
    }
    let merges = strings(meta, "tokenizer.ggml.merges", file)?
        .ok_or_else(|| bad(file, "tokenizer.ggml.merges is missing"))?;
    let merges: Merges = merges
        .iter()
        .map(|m| match m.split_once(' ') {
            Some((a, b)) if !b.contains(' ') => Ok((a.to_string(), b.to_string())),
            _ => Err(bad(file, format!("merge {m:?} is not two tokens"))),
        })
        .collect::<Result<_>>()?;
    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), i as u32))
        .collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| bad(file, format!("the BPE tokenizer cannot be built: {e}")))?;
    let mut tok = Tokenizer::new(bpe);
    tok.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tok.with_decoder(Some(ByteLevelDecoder::default()));

    let types: Vec<i32> = match meta.get("tokenizer.ggml.token_type") {
        Some(v) => v
            .to_vec()
            .map_err(|_| bad(file, "tokenizer.ggml.token_type is not a list"))?
            .iter()
            .map(|t| t.to_i32().unwrap_or(1))
            .collect(),
        None => Vec::new(),
    };
    let named: Vec<u32> = [
        "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.unknown_token_id",
        "tokenizer.ggml.padding_token_id",
    ]
    .iter()
    .filter_map(|k| id(meta, k))
    .collect();
    let mut special: Vec<u32> = types
        .iter()
        .enumerate()
        .filter(|&(_, &t)| t == CONTROL)
        .map(|(i, _)| i as u32)
        .chain(named.iter().copied())
        .filter(|&i| (i as usize) < tokens.len())
        .collect();
    special.sort_unstable();
    special.dedup();
    tok.add_special_tokens(
        special
            .iter()
            .map(|&i| AddedToken::from(tokens[i as usize].to_string(), true)),
    )
    .map_err(|e| bad(file, format!("its special tokens cannot be added: {e}")))?;
    let user: Vec<AddedToken> = types
        .iter()
        .enumerate()
        .filter(|&(_, &t)| t == USER_DEFINED)
        .map(|(i, _)| AddedToken::from(tokens[i].to_string(), false).normalized(false))
        .collect();
    if !user.is_empty() {
        tok.add_tokens(user).map_err(|e| {
            bad(
                file,
                format!("its user-defined tokens cannot be added: {e}"),
            )
        })?;
    }

    let bos = id(meta, "tokenizer.ggml.bos_token_id").filter(|&b| (b as usize) < tokens.len());
    let add_bos = meta
        .get("tokenizer.ggml.add_bos_token")
        .and_then(|v| v.to_bool().ok())
        .unwrap_or(false);
    let eos = id(meta, "tokenizer.ggml.eos_token_id").filter(|&e| (e as usize) < tokens.len());
    let codec = TextCodec::from_tokenizer(tok, bos, add_bos);
    let template = meta
        .get("tokenizer.chat_template")
        .and_then(|v| v.to_string().ok())
        .map(|t| ChatTemplate::new(t.clone(), &codec, bos, eos));
    Ok((codec, template))
}
