//! A model folder in Hugging Face layout: config.json (GPT-2 or Llama family), tokenizer.json and
//! safetensors weights, memory-mapped while they load.

use std::sync::Arc;

use candle_core::{safetensors::MmapedSafetensors, DType, Device};
use candle_nn::VarBuilder;
use color_eyre::eyre::{eyre, Result, WrapErr};
use serde::Deserialize;

use super::{check_vocab, LoadedModel, ModelFiles};
use crate::error::{hinted, Hinted};
use crate::model::chat::ChatTemplate;
use crate::model::config::{Arch, Config, HfGpt2Config};
use crate::model::family::Model;
use crate::model::gpt2::Gpt2;
use crate::model::llama::Llama;
use crate::model::llama_config::HfLlamaConfig;
use crate::model::mapped_weights::{Refused, ReleasingMmap};
use crate::model::tokenizer::TextCodec;
use crate::model::weight_check::{bad_weights, BadWeight, Recorded};

/// Which family a config.json describes, from its `model_type` (GPT-2 when absent, as older GPT-2
/// configs have none).
#[derive(Deserialize)]
struct ModelType {
    #[serde(default)]
    model_type: Option<String>,
}

/// Load a folder `resolve` found.
pub(super) fn load(files: ModelFiles, device: &Device) -> Result<LoadedModel> {
    let config_json = std::fs::read_to_string(&files.config)
        .wrap_err_with(|| format!("reading {}", files.config.display()))?;
    let kind: ModelType = serde_json::from_str(&config_json).map_err(|e| {
        eyre!(Hinted::new(
            format!("{} is not valid JSON: {e}", files.config.display()),
            "config.json must be the file Hugging Face's save_pretrained writes",
        ))
    })?;
    let cfg = match kind.model_type.as_deref() {
        Some("llama") => llama_config(&files, &config_json)?,
        None | Some("gpt2") => gpt2_config(&files, &config_json)?,
        Some(other) => {
            return hinted(
                format!(
                    "{}: model_type \"{other}\" is not supported",
                    files.config.display()
                ),
                "glassbox runs model_type \"gpt2\" (GPT-2 family) and \"llama\" (Llama family, e.g. SmolLM2)",
            )
        }
    };
    let codec = match cfg.arch {
        Arch::Gpt2 => TextCodec::from_file(&files.tokenizer, cfg.bos_token_id)?,
        Arch::Llama => TextCodec::from_file_llama(&files.tokenizer, cfg.bos_token_id)?,
    };
    check_vocab(&codec, &cfg, &files.tokenizer, &files.config)?;
    let (model, stored_as, bad_weights) = load_weights(&files, &cfg, device)?;
    // tokenizer_config.json beside tokenizer.json holds the chat template of an instruction-tuned model.
    let chat_template = tokenizer_config(&files)
        .and_then(|json| ChatTemplate::from_tokenizer_config(&json, &codec));
    Ok(LoadedModel {
        model,
        codec,
        files,
        config_json,
        stored_as,
        chat_template,
        bad_weights,
    })
}

/// tokenizer_config.json beside tokenizer.json, when there is one and it is JSON.
pub(super) fn tokenizer_config(files: &ModelFiles) -> Option<serde_json::Value> {
    let path = files.tokenizer.parent()?.join("tokenizer_config.json");
    let text = crate::textfile::read_text(&path, 16 << 20).ok()?;
    serde_json::from_str(&text).ok()
}

fn gpt2_config(files: &ModelFiles, json: &str) -> Result<Config> {
    let hf: HfGpt2Config = serde_json::from_str(json).map_err(|e| {
        eyre!(Hinted::new(
            format!("{} is not a GPT-2 config: {e}", files.config.display()),
            "config.json needs n_embd, n_head, n_layer, n_positions and vocab_size",
        ))
    })?;
    Config::from_hf(&hf).map_err(|e| {
        eyre!(Hinted::new(
            format!("{}: {e}", files.config.display()),
            "fix config.json to match the checkpoint",
        ))
    })
}

fn llama_config(files: &ModelFiles, json: &str) -> Result<Config> {
    let hf: HfLlamaConfig = serde_json::from_str(json).map_err(|e| {
        eyre!(Hinted::new(
            format!("{} is not a Llama config: {e}", files.config.display()),
            "config.json needs hidden_size, intermediate_size, num_attention_heads, num_hidden_layers and vocab_size",
        ))
    })?;
    Config::from_hf_llama(&hf).map_err(|e| {
        eyre!(Hinted::new(
            format!("{}: {e}", files.config.display()),
            "fix config.json to match the checkpoint",
        ))
    })
}

/// The model, how its weights were stored when not all float32, and the weights that are not numbers.
fn load_weights(
    files: &ModelFiles,
    cfg: &Config,
    device: &Device,
) -> Result<(Model, Option<String>, Vec<BadWeight>)> {
    let shown = files
        .weights
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    // SAFETY: the files are mapped read-only for the duration of loading; every tensor is copied out
    // before the map is dropped (and its pages released right after, see `mapped_weights`). Changing a
    // file while it loads is the only hazard, as with any mmap.
    let st = unsafe { MmapedSafetensors::multi(&files.weights) }.map_err(|e| {
        eyre!(Hinted::new(
            format!("{shown} is not a readable safetensors file: {e}"),
            "the file may be truncated or corrupt; download or export it again",
        ))
    })?;
    let (embedding, naming) = match cfg.arch {
        Arch::Gpt2 => ("transformer.wte.weight or wte.weight", "GPT-2"),
        Arch::Llama => ("model.embed_tokens.weight", "Llama"),
    };
    let prefixed = st.get("transformer.wte.weight").is_ok();
    let has_embedding = match cfg.arch {
        Arch::Gpt2 => prefixed || st.get("wte.weight").is_ok(),
        Arch::Llama => st.get("model.embed_tokens.weight").is_ok(),
    };
    if !has_embedding {
        return hinted(
            format!("{shown} has no token embedding ({embedding})"),
            format!("glassbox reads {naming} checkpoints in Hugging Face naming"),
        );
    }
    check_block_count(&st, cfg, files, &shown)?;
    let mut types = std::collections::BTreeMap::<String, usize>::new();
    for (_, view) in st.tensors() {
        *types.entry(format!("{:?}", view.dtype())).or_default() += 1;
    }
    let stored_as = (types.keys().any(|t| t != "F32")).then(|| {
        let list: Vec<String> = types.iter().map(|(t, n)| format!("{t} ({n})")).collect();
        format!("safetensors {}, converted to float32", list.join(", "))
    });
    let refused = Refused::default();
    let (backend, taken) = Recorded::new(ReleasingMmap::new(st, Arc::clone(&refused)));
    let vb = VarBuilder::from_backend(Box::new(backend), DType::F32, device.clone());
    let model: candle_core::Result<Model> = match cfg.arch {
        Arch::Gpt2 => Gpt2::load(vb, cfg, prefixed).map(Model::from),
        Arch::Llama => Llama::load(vb, cfg).map(Model::from),
    };
    if let (Err(_), Some((name, dtype))) = (&model, refused.get()) {
        return hinted(
            format!("{shown}: tensor {name} is stored as {dtype:?}; glassbox reads weights stored as floating point (F32, F16, BF16)"),
            "integer and 8-bit weights need their own dequantization: save the checkpoint in float32, float16 or bfloat16, or use a GGUF file",
        );
    }
    let model = model.map_err(|e| {
        let first = e.to_string().lines().next().unwrap_or_default().to_string();
        eyre!(Hinted::new(
            format!(
                "the weights in {shown} do not match {}: {first}",
                files.config.display()
            ),
            "config.json must describe this checkpoint (its sizes: layers, heads, hidden size, vocabulary)",
        ))
    })?;
    let taken = std::mem::take(&mut *taken.lock().map_err(|_| eyre!("loading failed"))?);
    let bad = bad_weights(&taken)?;
    Ok((model, stored_as, bad))
}

/// The checkpoint must hold exactly the blocks config.json counts. Blocks past the count would be
/// left out without a word (a truncated model that still runs), so extra blocks are a mismatch like
/// missing ones; other extra tensors (GPT-2's attention-mask buffers) are harmless and ignored.
fn check_block_count(
    st: &MmapedSafetensors,
    cfg: &Config,
    files: &ModelFiles,
    shown: &str,
) -> Result<()> {
    let (prefix, field) = match cfg.arch {
        Arch::Gpt2 => ("h.", "n_layer"),
        Arch::Llama => ("model.layers.", "num_hidden_layers"),
    };
    let block_of = |name: &str| -> Option<usize> {
        let name = name.strip_prefix("transformer.").unwrap_or(name);
        let rest = name.strip_prefix(prefix)?;
        rest.split_once('.')?.0.parse().ok()
    };
    let blocks = st
        .tensors()
        .iter()
        .filter_map(|(name, _)| block_of(name))
        .max()
        .map_or(0, |last| last + 1);
    if blocks == cfg.n_layers {
        return Ok(());
    }
    let which = match blocks {
        0 => format!("no {prefix}N tensors"),
        n => format!("{prefix}0 to {prefix}{}", n - 1),
    };
    hinted(
        format!(
            "{shown} holds {blocks} blocks ({which}), but {} says {field} {}",
            files.config.display(),
            cfg.n_layers
        ),
        format!("set {field} in config.json to {blocks}, the checkpoint's number of blocks"),
    )
}
