//! From `--model` to a loaded model. [`resolve`] alone decides what `--model` names: the bundled model,
//! a folder in Hugging Face layout, a GGUF file, or a hub name found in the local cache; then one
//! loader per format reads it. Only safetensors and GGUF are read (a pickle can run code); weights are
//! memory-mapped while loading.

pub mod bundled;
mod folder;
pub mod known;
mod paths;
mod resolve;

use std::path::{Path, PathBuf};

use candle_core::Device;
use color_eyre::eyre::Result;

pub use bundled::scaling_dir;
pub use resolve::{locate_files, resolve};

use super::config::Config;
use super::family::Model;
use super::tokenizer::TextCodec;
use super::weight_check::BadWeight;
use crate::error::hinted;

/// The bundled model's name, as lessons written for it give it.
pub const BUNDLED_NAME: &str = "glassbox-tiny";

/// The bundled model's folder in the source tree, relative to the repository root (build.rs embeds it;
/// the binary reads the copy [`bundled::bundled_dir`] unpacks).
pub const BUNDLED_MODEL: &str = "models/glassbox-tiny";

/// glassbox's cache folder, where the bundled model is unpacked and tools/fetch_smollm2.sh puts what
/// it fetches: `$GLASSBOX_CACHE`, else `$XDG_CACHE_HOME/glassbox`, else `~/.cache/glassbox`.
pub fn cache_root() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    var("GLASSBOX_CACHE")
        .map(PathBuf::from)
        .or_else(|| var("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("glassbox")))
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache/glassbox")))
}

/// The files of a model, found but not yet read.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// What to call the model on screen and in exported files.
    pub name: String,
    pub dir: PathBuf,
    /// config.json (for a GGUF file: the file itself, which holds its configuration).
    pub config: PathBuf,
    /// tokenizer.json (for a GGUF file: the file itself).
    pub tokenizer: PathBuf,
    /// One file, or the shards an index lists, in order.
    pub weights: Vec<PathBuf>,
    pub format: Format,
}

/// How a model's files are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Hugging Face: config.json, tokenizer.json and safetensors.
    Folder,
    /// One GGUF file (llama.cpp, Ollama) holding configuration, tokenizer and weights.
    Gguf,
}

/// A model ready to run.
pub struct LoadedModel {
    pub model: Model,
    pub codec: TextCodec,
    pub files: ModelFiles,
    /// config.json exactly as read (for a GGUF file: the configuration it describes, in Hugging Face's
    /// names), so exports can carry it.
    pub config_json: String,
    /// How the weights were stored when that was not float32 ("GGUF Q4_1 (210), …, dequantized to
    /// float32", "safetensors BF16 (28), converted to float32"); glassbox always computes in float32.
    pub stored_as: Option<String>,
    /// A GGUF file's chat template, if it has one.
    pub chat_template: Option<crate::model::chat::ChatTemplate>,
    /// Weights holding NaN or infinite values, for a warning (loading itself prints nothing).
    pub bad_weights: Vec<BadWeight>,
}

/// Resolve `spec` and load everything.
pub fn load(spec: Option<&str>, device: &Device) -> Result<LoadedModel> {
    load_files(resolve(spec)?, device)
}

/// Read the files [`resolve`] found, with the loader for their format.
pub fn load_files(files: ModelFiles, device: &Device) -> Result<LoadedModel> {
    match files.format {
        Format::Gguf => super::gguf::load(files, device),
        Format::Folder => folder::load(files, device),
    }
}

/// Whether the model has a chat template, found without loading its weights (GGUF metadata, or
/// tokenizer_config.json's `chat_template`), so the tutor can refuse `--chat` before its screen opens.
/// A file whose header cannot be read counts as having one: loading it then says what is wrong.
pub fn has_chat_template(files: &ModelFiles) -> bool {
    match files.format {
        Format::Gguf => files
            .weights
            .first()
            .and_then(|w| super::gguf::has_chat_template(w))
            .unwrap_or(true),
        Format::Folder => folder::tokenizer_config(files).is_some_and(|json| {
            matches!(
                json.get("chat_template"),
                Some(serde_json::Value::String(_) | serde_json::Value::Array(_))
            )
        }),
    }
}

/// A tokenizer with more tokens than the embedding has rows would index past it.
pub(crate) fn check_vocab(
    codec: &TextCodec,
    cfg: &Config,
    tokenizer: &Path,
    config: &Path,
) -> Result<()> {
    if codec.vocab_size() > cfg.d_vocab {
        return hinted(
            format!(
                "{} has {} tokens but {} says the vocabulary has {}",
                tokenizer.display(),
                codec.vocab_size(),
                config.display(),
                cfg.d_vocab
            ),
            "use the tokenizer the model was trained with",
        );
    }
    Ok(())
}
