//! Downloading a model into the local Hugging Face cache (only with the `hub` cargo feature).

use std::path::PathBuf;

use color_eyre::eyre::{Result, WrapErr};

/// Fetch config.json, tokenizer.json and the safetensors weights of `name`; returns the snapshot folder.
pub fn download(name: &str) -> Result<PathBuf> {
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(true)
        .build()
        .wrap_err("setting up the Hugging Face hub client")?;
    let repo = api.model(name.to_string());
    let fetch = |file: &str| {
        repo.get(file)
            .wrap_err_with(|| format!("downloading {file} of {name}"))
    };
    let config = fetch("config.json")?;
    fetch("tokenizer.json")?;
    if fetch("model.safetensors").is_err() {
        let index = fetch("model.safetensors.index.json")?;
        let text = std::fs::read_to_string(&index)?;
        let parsed: serde_json::Value = serde_json::from_str(&text)?;
        let mut shards: Vec<String> = parsed["weight_map"]
            .as_object()
            .map(|m| {
                m.values()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        shards.sort();
        shards.dedup();
        for shard in shards {
            fetch(&shard)?;
        }
    }
    Ok(config.parent().map(PathBuf::from).unwrap_or_default())
}
