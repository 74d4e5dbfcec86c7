//! From `--model` to a loaded model. [`resolve`] alone decides what `--model` names: the bundled model,
//! a folder in Hugging Face layout, a GGUF file, or a hub name found in the local cache; then one
//! loader per format reads it. Only safetensors and GGUF are read (a pickle can run code); weights are
//! memory-mapped while loading.

use std::path::{Path, PathBuf};

use candle_core::{safetensors::MmapedSafetensors, DType, Device};
use candle_nn::VarBuilder;
use color_eyre::eyre::{eyre, Result, WrapErr};
use serde::Deserialize;

use super::config::{Config, HfGpt2Config};
use super::family::Model;
use super::gpt2::Gpt2;
use super::hub;
use super::llama::Llama;
use super::llama_config::HfLlamaConfig;
use super::mapped_weights::ReleasingMmap;
use super::tokenizer::TextCodec;
use crate::error::{hinted, Hinted};

/// The bundled model's folder, relative to the repository root.
pub const BUNDLED_MODEL: &str = "models/glassbox-tiny";

const LAYOUT_HINT: &str =
    "a model folder holds config.json, tokenizer.json and model.safetensors (Hugging Face layout)";

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
    pub chat_template: Option<String>,
}

/// Decide what `spec` names (None: the bundled model) and find its files: a GGUF file, a folder in
/// Hugging Face layout (or a folder holding one GGUF file), else a hub name in the local cache.
pub fn resolve(spec: Option<&str>) -> Result<ModelFiles> {
    let Some(spec) = spec else {
        return locate_files("glassbox-tiny".to_string(), &bundled_dir()?);
    };
    let path = Path::new(spec);
    let shown_name = |p: &Path| {
        p.canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| spec.to_string())
    };
    if path.is_file() {
        if super::gguf::is_gguf(path) {
            return Ok(gguf_files(shown_name(path), path));
        }
        return hinted(
            format!("--model {spec}: this file is neither a GGUF file nor a model folder"),
            format!("pass a .gguf file, or the folder that holds the model; {LAYOUT_HINT}"),
        );
    }
    if path.is_dir() {
        if !path.join("config.json").is_file() {
            if let Some(gguf) = lone_gguf(path) {
                return Ok(gguf_files(shown_name(&gguf), &gguf));
            }
        }
        return locate_files(shown_name(path), path);
    }
    if path.exists() {
        return hinted(
            format!("--model {spec}: this is neither a file nor a folder"),
            format!("pass a .gguf file or a model folder; {LAYOUT_HINT}"),
        );
    }
    if !hub::is_hub_name(spec) {
        return hinted(
            format!("--model {spec}: no such file or folder"),
            format!("check the path; {LAYOUT_HINT}"),
        );
    }
    let dir = find_in_hub_cache(spec)?;
    locate_files(spec.to_string(), &dir)
}

fn gguf_files(name: String, path: &Path) -> ModelFiles {
    let name = name
        .strip_suffix(".gguf")
        .map(str::to_string)
        .unwrap_or(name);
    ModelFiles {
        name,
        dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        config: path.to_path_buf(),
        tokenizer: path.to_path_buf(),
        weights: vec![path.to_path_buf()],
        format: Format::Gguf,
    }
}

/// The one GGUF file in a folder without config.json (as a downloaded GGUF is often kept).
fn lone_gguf(dir: &Path) -> Option<PathBuf> {
    let mut found = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "gguf") && p.is_file());
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

fn find_in_hub_cache(name: &str) -> Result<PathBuf> {
    let candidates = hub::repo_candidates(name);
    let cache = hub::cache_dir();
    if let Some(cache) = &cache {
        for repo in &candidates {
            if let Some(dir) = hub::find_snapshot(cache, repo) {
                return Ok(dir);
            }
        }
    }
    #[cfg(feature = "hub")]
    if std::env::var_os("HF_HUB_OFFLINE").is_none() {
        return super::download::download(name);
    }
    let looked = match &cache {
        Some(c) => format!(
            "looked in {} for {}",
            c.display(),
            candidates
                .iter()
                .map(|r| hub::repo_folder_name(r))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "no cache folder: HF_HUB_CACHE, HF_HOME and HOME are all unset".to_string(),
    };
    let repo = candidates.last().unwrap_or(&candidates[0]);
    hinted(
        format!("model \"{name}\" is not in the local Hugging Face cache ({looked})"),
        format!(
            "download it once with `huggingface-cli download {repo} config.json tokenizer.json model.safetensors`, or pass a folder with --model"
        ),
    )
}

/// The bundled model: under the working directory, beside the executable's repository, or where this
/// crate was built.
fn bundled_dir() -> Result<PathBuf> {
    let mut roots: Vec<PathBuf> = vec![PathBuf::from(".")];
    if let Ok(exe) = std::env::current_exe() {
        // target/{debug,release}/glassbox -> the repository root three levels up.
        roots.extend(exe.ancestors().skip(1).take(3).map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots
        .iter()
        .map(|r| r.join(BUNDLED_MODEL))
        .find(|d| d.join("config.json").is_file())
        .ok_or_else(|| {
            eyre!(Hinted::new(
                format!("the bundled model ({BUNDLED_MODEL}) was not found"),
                "run glassbox from the repository root, or pass --model FOLDER|FILE.gguf|HUB_NAME",
            ))
        })
}

/// Locate the files inside a model folder, refusing pickles.
pub fn locate_files(name: String, dir: &Path) -> Result<ModelFiles> {
    let config = dir.join("config.json");
    if !config.is_file() {
        return hinted(format!("{} is missing", config.display()), LAYOUT_HINT);
    }
    let tokenizer = dir.join("tokenizer.json");
    if !tokenizer.is_file() {
        return hinted(
            format!("{} is missing", tokenizer.display()),
            "save the tokenizer beside the weights (tokenizer.save_pretrained(folder) writes tokenizer.json)",
        );
    }
    let single = dir.join("model.safetensors");
    let index = dir.join("model.safetensors.index.json");
    let weights = if single.is_file() {
        vec![single]
    } else if index.is_file() {
        shards_from_index(dir, &index)?
    } else if dir.join("pytorch_model.bin").is_file() {
        return hinted(
            format!(
                "{} has only pytorch_model.bin; glassbox reads only safetensors, because loading a pickle can run arbitrary code",
                dir.display()
            ),
            "convert it once in Python: AutoModelForCausalLM.from_pretrained(folder).save_pretrained(folder, safe_serialization=True)",
        );
    } else {
        return hinted(
            format!(
                "{} has no model.safetensors (nor model.safetensors.index.json)",
                dir.display()
            ),
            LAYOUT_HINT,
        );
    };
    Ok(ModelFiles {
        name,
        dir: dir.to_path_buf(),
        config,
        tokenizer,
        weights,
        format: Format::Folder,
    })
}

#[derive(Deserialize)]
struct ShardIndex {
    weight_map: std::collections::BTreeMap<String, String>,
}

fn shards_from_index(dir: &Path, index: &Path) -> Result<Vec<PathBuf>> {
    let text =
        std::fs::read_to_string(index).wrap_err_with(|| format!("reading {}", index.display()))?;
    let parsed: ShardIndex = serde_json::from_str(&text)
        .wrap_err_with(|| format!("{} is not a valid shard index", index.display()))?;
    let mut files: Vec<&String> = parsed.weight_map.values().collect();
    files.sort();
    files.dedup();
    let shards: Vec<PathBuf> = files.into_iter().map(|f| dir.join(f)).collect();
    if let Some(missing) = shards.iter().find(|p| !p.is_file()) {
        return hinted(
            format!(
                "{} lists {}, which is missing",
                index.display(),
                missing.display()
            ),
            "download every shard the index names",
        );
    }
    Ok(shards)
}

/// Resolve `spec` and load everything.
pub fn load(spec: Option<&str>, device: &Device) -> Result<LoadedModel> {
    load_files(resolve(spec)?, device)
}

/// Read the files [`resolve`] found, with the loader for their format.
pub fn load_files(files: ModelFiles, device: &Device) -> Result<LoadedModel> {
    match files.format {
        Format::Gguf => super::gguf::load(files, device),
        Format::Folder => load_folder(files, device),
    }
}

/// Which family a config.json describes, from its `model_type` (GPT-2 when absent, as older GPT-2
/// configs have none).
#[derive(Deserialize)]
struct ModelType {
    #[serde(default)]
    model_type: Option<String>,
}

fn load_folder(files: ModelFiles, device: &Device) -> Result<LoadedModel> {
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
        super::config::Arch::Gpt2 => TextCodec::from_file(&files.tokenizer, cfg.bos_token_id)?,
        super::config::Arch::Llama => {
            TextCodec::from_file_llama(&files.tokenizer, cfg.bos_token_id)?
        }
    };
    check_vocab(&codec, &cfg, &files.tokenizer, &files.config)?;
    let (model, stored_as) = load_weights(&files, &cfg, device)?;
    Ok(LoadedModel {
        model,
        codec,
        files,
        config_json,
        stored_as,
        chat_template: None,
    })
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

/// The model, and how its weights were stored when not all float32.
fn load_weights(
    files: &ModelFiles,
    cfg: &Config,
    device: &Device,
) -> Result<(Model, Option<String>)> {
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
        super::config::Arch::Gpt2 => ("transformer.wte.weight or wte.weight", "GPT-2"),
        super::config::Arch::Llama => ("model.embed_tokens.weight", "Llama"),
    };
    let prefixed = st.get("transformer.wte.weight").is_ok();
    let has_embedding = match cfg.arch {
        super::config::Arch::Gpt2 => prefixed || st.get("wte.weight").is_ok(),
        super::config::Arch::Llama => st.get("model.embed_tokens.weight").is_ok(),
    };
    if !has_embedding {
        return hinted(
            format!("{shown} has no token embedding ({embedding})"),
            format!("glassbox reads {naming} checkpoints in Hugging Face naming"),
        );
    }
    let mut types = std::collections::BTreeMap::<String, usize>::new();
    for (_, view) in st.tensors() {
        *types.entry(format!("{:?}", view.dtype())).or_default() += 1;
    }
    let stored_as = (types.keys().any(|t| t != "F32")).then(|| {
        let list: Vec<String> = types.iter().map(|(t, n)| format!("{t} ({n})")).collect();
        format!("safetensors {}, converted to float32", list.join(", "))
    });
    let vb = VarBuilder::from_backend(Box::new(ReleasingMmap(st)), DType::F32, device.clone());
    let model: candle_core::Result<Model> = match cfg.arch {
        super::config::Arch::Gpt2 => Gpt2::load(vb, cfg, prefixed).map(Model::from),
        super::config::Arch::Llama => Llama::load(vb, cfg).map(Model::from),
    };
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
    Ok((model, stored_as))
}
