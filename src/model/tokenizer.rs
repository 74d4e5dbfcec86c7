//! The tokenizer (a Hugging Face `tokenizer.json`), with GPT-2's BOS handling.

use std::path::Path;
use std::sync::OnceLock;

use color_eyre::eyre::{eyre, Result};

use crate::error::Hinted;

pub const GPT2_BOS: &str = "<|endoftext|>";

/// The bytes a vocabulary entry stands for: a SentencePiece byte ("<0xE6>"), or a byte-level BPE
/// entry, whose every byte is written as one character of GPT-2's table (`bytes_to_unicode`: the
/// printable bytes as themselves, the others as U+0100 onwards, in order). None for anything else.
fn vocab_bytes(token: &str) -> Option<Vec<u8>> {
    if let Some(hex) = token.strip_prefix("<0x").and_then(|t| t.strip_suffix('>')) {
        return u8::from_str_radix(hex, 16).ok().map(|b| vec![b]);
    }
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    // The 68 bytes that are not printable, in order: U+0100 + n stands for the n-th of them.
    let shifted: Vec<u8> = (0..=255u8).filter(|&b| !printable(b)).collect();
    token
        .chars()
        .map(|c| {
            let code = c as u32;
            if code < 256 && printable(code as u8) {
                Some(code as u8)
            } else {
                code.checked_sub(256)
                    .and_then(|n| shifted.get(n as usize).copied())
            }
        })
        .collect()
}

#[derive(Clone)]
pub struct TextCodec {
    inner: tokenizers::Tokenizer,
    bos: Option<u32>,
    /// Whether a prompt starts with `bos` by default: always for GPT-2 (as TransformerLens does);
    /// for Llama-family models when their own tokenizer adds it (as transformers does).
    prepend_bos: bool,
    /// The longest vocabulary entry in bytes, measured once when first asked.
    longest: OnceLock<usize>,
}

impl TextCodec {
    /// Load `tokenizer.json`; the BOS id comes from config.json's `bos_token_id`, else `<|endoftext|>`.
    pub fn from_file(path: &Path, bos_from_config: Option<u32>) -> Result<Self> {
        let inner = tokenizers::Tokenizer::from_file(path).map_err(|e| {
            eyre!(Hinted::new(
                format!("cannot read tokenizer {}: {e}", path.display()),
                "the model folder needs a Hugging Face tokenizer.json (tokenizer.save() / save_pretrained() writes one)",
            ))
        })?;
        let bos = bos_from_config.or_else(|| inner.token_to_id(GPT2_BOS));
        Ok(Self {
            inner,
            bos,
            prepend_bos: true,
            longest: OnceLock::new(),
        })
    }

    /// A Llama-family tokenizer.json: BOS goes first only when the tokenizer's own post-processor puts
    /// it there (Llama 2 and 3 do, SmolLM2 does not), which is what transformers' tokenizer does.
    pub fn from_file_llama(path: &Path, bos_from_config: Option<u32>) -> Result<Self> {
        let mut codec = Self::from_file(path, bos_from_config)?;
        let with = codec.inner.encode("a", true).ok();
        let without = codec.inner.encode("a", false).ok();
        let added = match (with, without) {
            (Some(w), Some(wo)) if w.len() > wo.len() => w.get_ids().first().copied(),
            _ => None,
        };
        codec.bos = added.or(codec.bos);
        codec.prepend_bos = added.is_some();
        Ok(codec)
    }

    /// A tokenizer built elsewhere (a GGUF file's metadata).
    pub fn from_tokenizer(
        inner: tokenizers::Tokenizer,
        bos: Option<u32>,
        prepend_bos: bool,
    ) -> Self {
        Self {
            inner,
            bos,
            prepend_bos: prepend_bos && bos.is_some(),
            longest: OnceLock::new(),
        }
    }

    pub fn bos_id(&self) -> Option<u32> {
        self.bos
    }

    /// Whether prompts start with the BOS token unless asked otherwise (`--no-bos`).
    pub fn prepends_bos(&self) -> bool {
        self.prepend_bos
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The longest vocabulary entry (special tokens included), in bytes as the vocabulary spells it.
    /// That spelling is never shorter than the text the token stands for: byte-level BPE writes each
    /// byte as a character of one or two bytes ("Ġ" for a space), SentencePiece writes a space as the
    /// three-byte "▁" and a fallback byte as "<0x0A>".
    pub fn longest_token_bytes(&self) -> usize {
        *self.longest.get_or_init(|| {
            self.inner
                .get_vocab(true)
                .keys()
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
    }

    /// Token ids for `text`, with BOS in front when `bos` is set (as TransformerLens does by default).
    pub fn encode(&self, text: &str, bos: bool) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| eyre!("cannot tokenize the prompt: {e}"))?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        if bos {
            let id = self.bos.ok_or_else(|| {
                eyre!(Hinted::new(
                    "this tokenizer has no BOS token (<|endoftext|>) and config.json sets no bos_token_id",
                    "pass --no-bos",
                ))
            })?;
            ids.push(id);
        }
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    /// The text of one token as a reader sees it ("Ġthe" in the vocabulary is " the"); TransformerLens'
    /// `to_str_tokens` does the same.
    pub fn token_str(&self, id: u32) -> String {
        self.inner
            .decode(&[id], false)
            .unwrap_or_else(|_| format!("<{id}>"))
    }

    /// The id of a vocabulary entry written exactly as stored (a special token such as "<|im_end|>").
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn token_strs(&self, ids: &[u32]) -> Vec<String> {
        ids.iter().map(|&id| self.token_str(id)).collect()
    }

    /// A token as the screen, the figures and `inspect` show it: [`Self::token_str`], except for a
    /// token that is only part of a character's UTF-8 bytes (byte-level BPE splits 東 into two
    /// tokens), which decodes to "�" alone and is shown by its bytes instead, "⟨e6 9d⟩" (a thin space
    /// between bytes).
    pub fn token_label(&self, id: u32) -> String {
        let text = self.token_str(id);
        if !text.contains('\u{FFFD}') {
            return text;
        }
        match self.inner.id_to_token(id).and_then(|t| vocab_bytes(&t)) {
            Some(bytes) if std::str::from_utf8(&bytes).is_err() => {
                // Joined by a thin space: a plain one would be marked "·" as a space of the text.
                let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
                format!("⟨{}⟩", hex.join("\u{2009}"))
            }
            _ => text,
        }
    }

    pub fn token_labels(&self, ids: &[u32]) -> Vec<String> {
        ids.iter().map(|&id| self.token_label(id)).collect()
    }

    pub fn decode(&self, ids: &[u32]) -> String {
        self.inner.decode(ids, false).unwrap_or_default()
    }
}
