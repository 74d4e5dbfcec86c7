//! What `--model` names: the bundled model, a folder in Hugging Face layout, a GGUF file (or a folder
//! holding one), or a hub name in the local cache; and the files of a folder, refusing pickles.

use std::path::{Component, Path, PathBuf};

use color_eyre::eyre::{eyre, Result, WrapErr};
use serde::Deserialize;

use super::known::KnownModel;
use super::paths::{present, why_unreachable};
use super::{Format, ModelFiles, BUNDLED_NAME};
use crate::error::{hinted, Hinted};
use crate::model::{gguf, hub};

const LAYOUT_HINT: &str =
    "a model folder holds config.json, tokenizer.json and model.safetensors (Hugging Face layout)";

/// Decide what `spec` names (None: the bundled model, unpacked from the binary) and find its files: a GGUF file, a folder in
/// Hugging Face layout (or a folder holding one GGUF file), else a hub name in the local cache.
pub fn resolve(spec: Option<&str>) -> Result<ModelFiles> {
    let Some(spec) = spec else {
        return locate_files(BUNDLED_NAME.to_string(), &super::bundled::bundled_dir()?);
    };
    let path = Path::new(spec);
    let shown_name = |p: &Path| {
        p.canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| spec.to_string())
    };
    // A known model's short name ("smollm2"), unless a file or folder of that name is here.
    if let Some(known) = KnownModel::named(spec).filter(|_| !path.exists()) {
        let file = known.require()?;
        return Ok(gguf_files(known.name.to_string(), &file));
    }
    if path.is_file() {
        if gguf::is_gguf(path) {
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
    // A link to nothing, a link loop, a path through a file: each said as it is, not as "missing".
    if let Err(e) = std::fs::metadata(path) {
        why_unreachable(path, &e)?;
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
    // The file a fetch script wrote goes by its model's name, wherever it was moved, so the lessons
    // written for that model know it.
    let name = match KnownModel::by_file_name(&name) {
        Some(known) => known.name.to_string(),
        None => name
            .strip_suffix(".gguf")
            .map(str::to_string)
            .unwrap_or(name),
    };
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
        return crate::model::download::download(name);
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

/// Locate the files inside a model folder, refusing pickles.
pub fn locate_files(name: String, dir: &Path) -> Result<ModelFiles> {
    let config = dir.join("config.json");
    if !present(&config)? {
        return hinted(format!("{} is missing", config.display()), LAYOUT_HINT);
    }
    let tokenizer = dir.join("tokenizer.json");
    if !present(&tokenizer)? {
        return hinted(
            format!("{} is missing", tokenizer.display()),
            "save the tokenizer beside the weights (tokenizer.save_pretrained(folder) writes tokenizer.json)",
        );
    }
    let single = dir.join("model.safetensors");
    let index = dir.join("model.safetensors.index.json");
    let weights = if present(&single)? {
        vec![single]
    } else if present(&index)? {
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

const INDEX_HINT: &str =
    "the index must be the model.safetensors.index.json save_pretrained writes; download it again";

fn shards_from_index(dir: &Path, index: &Path) -> Result<Vec<PathBuf>> {
    let text =
        std::fs::read_to_string(index).wrap_err_with(|| format!("reading {}", index.display()))?;
    let parsed: ShardIndex = serde_json::from_str(&text).map_err(|e| {
        eyre!(Hinted::new(
            format!("{} is not a valid shard index: {e}", index.display()),
            INDEX_HINT,
        ))
    })?;
    let mut files: Vec<&String> = parsed.weight_map.values().collect();
    files.sort();
    files.dedup();
    if files.is_empty() {
        return hinted(format!("{} lists no shards", index.display()), INDEX_HINT);
    }
    // An index names files beside it. One that climbs out of the folder (../../etc/passwd) or names
    // an absolute path is refused, never opened. (The shards themselves may be links, as in the
    // Hugging Face cache, whose snapshot files point into its blobs folder.)
    if let Some(outside) = files.iter().find(|f| !stays_inside(f)) {
        return hinted(
            format!(
                "{} names the shard \"{outside}\", which lies outside the model folder",
                index.display()
            ),
            "an index names its shards by file name, e.g. model-00001-of-00002.safetensors; download the index again",
        );
    }
    let shards: Vec<PathBuf> = files.into_iter().map(|f| dir.join(f)).collect();
    for shard in &shards {
        if !present(shard)? {
            return hinted(
                format!(
                    "{} lists {}, which is missing",
                    index.display(),
                    shard.display()
                ),
                "download every shard the index names",
            );
        }
    }
    Ok(shards)
}

/// Whether `name`, joined to a folder, stays inside it: a relative path of plain names only.
fn stays_inside(name: &str) -> bool {
    let path = Path::new(name);
    !name.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}
