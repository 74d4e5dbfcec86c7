//! From `--model` to a loaded model: a folder in Hugging Face layout, or a hub name found in the local
//! cache. Only safetensors are read (a pickle can run code); weights are memory-mapped while loading.

use std::path::{Path, PathBuf};

use candle_core::{safetensors::MmapedSafetensors, DType, Device};
use candle_nn::VarBuilder;
use color_eyre::eyre::{eyre, Result, WrapErr};
use serde::Deserialize;

use super::config::{Config, HfGpt2Config};
use super::gpt2::Gpt2;
use super::hub;
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
    pub config: PathBuf,
    pub tokenizer: PathBuf,
    /// One file, or the shards an index lists, in order.
    pub weights: Vec<PathBuf>,
}

/// A model ready to run.
pub struct LoadedModel {
    pub model: Gpt2,
    pub codec: TextCodec,
    pub files: ModelFiles,
    /// config.json exactly as read, so exports can carry it.
    pub config_json: String,
}

/// Find the folder for `spec` (None: the bundled model): an existing folder, else a hub name in the
/// local cache.
pub fn resolve_dir(spec: Option<&str>) -> Result<(String, PathBuf)> {
    let Some(spec) = spec else {
        return bundled_dir().map(|d| ("glassbox-tiny".to_string(), d));
    };
    let path = Path::new(spec);
    if path.is_dir() {
        let name = path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| spec.to_string());
        return Ok((name, path.to_path_buf()));
    }
    if path.exists() {
        return hinted(
            format!("--model {spec}: this is a file, not a model folder"),
            format!("pass the folder that holds it; {LAYOUT_HINT}"),
        );
    }
    if !hub::is_hub_name(spec) {
        return hinted(
            format!("--model {spec}: no such folder"),
            format!("check the path; {LAYOUT_HINT}"),
        );
    }
    find_in_hub_cache(spec).map(|d| (spec.to_string(), d))
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
                "run glassbox from the repository root, or pass --model FOLDER|HUB_NAME",
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
    let (name, dir) = resolve_dir(spec)?;
    let files = locate_files(name, &dir)?;
    load_files(files, device)
}

pub fn load_files(files: ModelFiles, device: &Device) -> Result<LoadedModel> {
    let config_json = std::fs::read_to_string(&files.config)
        .wrap_err_with(|| format!("reading {}", files.config.display()))?;
    let hf: HfGpt2Config = serde_json::from_str(&config_json).map_err(|e| {
        eyre!(Hinted::new(
            format!("{} is not a GPT-2 config: {e}", files.config.display()),
            "config.json needs n_embd, n_head, n_layer, n_positions and vocab_size",
        ))
    })?;
    let cfg = Config::from_hf(&hf).map_err(|e| {
        eyre!(Hinted::new(
            format!("{}: {e}", files.config.display()),
            "fix config.json to match the checkpoint",
        ))
    })?;
    let codec = TextCodec::from_file(&files.tokenizer, cfg.bos_token_id)?;
    if codec.vocab_size() > cfg.d_vocab {
        return hinted(
            format!(
                "{} has {} tokens but {} says vocab_size {}",
                files.tokenizer.display(),
                codec.vocab_size(),
                files.config.display(),
                cfg.d_vocab
            ),
            "use the tokenizer the model was trained with",
        );
    }
    let model = load_weights(&files, &cfg, device)?;
    Ok(LoadedModel {
        model,
        codec,
        files,
        config_json,
    })
}

fn load_weights(files: &ModelFiles, cfg: &Config, device: &Device) -> Result<Gpt2> {
    let shown = files
        .weights
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    // SAFETY: the files are mapped read-only for the duration of loading; every tensor is copied out
    // before the map is dropped (and its pages released right after, see `mapped_weights`). Changing a file while it loads is the only hazard, as with any mmap.
    let st = unsafe { MmapedSafetensors::multi(&files.weights) }.map_err(|e| {
        eyre!(Hinted::new(
            format!("{shown} is not a readable safetensors file: {e}"),
            "the file may be truncated or corrupt; download or export it again",
        ))
    })?;
    let prefixed = st.get("transformer.wte.weight").is_ok();
    if !prefixed && st.get("wte.weight").is_err() {
        return hinted(
            format!("{shown} has no token embedding (transformer.wte.weight or wte.weight)"),
            "glassbox reads GPT-2 checkpoints in Hugging Face naming",
        );
    }
    let vb = VarBuilder::from_backend(Box::new(ReleasingMmap(st)), DType::F32, device.clone());
    Gpt2::load(vb, cfg, prefixed).map_err(|e| {
        let first = e.to_string().lines().next().unwrap_or_default().to_string();
        eyre!(Hinted::new(
            format!(
                "the weights in {shown} do not match {}: {first}",
                files.config.display()
            ),
            "config.json must describe this checkpoint (n_embd, n_head, n_layer, n_positions, vocab_size, n_inner)",
        ))
    })
}
