//! Finding a model by its Hugging Face hub name in the local cache, without the network.
//!
//! The cache layout is `models--ORG--NAME/snapshots/REV/…`, with the revision `main` points at stored in
//! `models--ORG--NAME/refs/main`.

use std::path::{Path, PathBuf};

/// Whether `spec` looks like a hub name (`gpt2`, `openai-community/gpt2`) rather than a path.
pub fn is_hub_name(spec: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match spec.split_once('/') {
        None => ok(spec),
        Some((org, name)) => ok(org) && ok(name),
    }
}

/// The hub cache folder: HF_HUB_CACHE, else HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
/// ~/.cache/huggingface/hub (the order `huggingface_hub` uses).
pub fn cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(p) = var("HF_HUB_CACHE") {
        return Some(p);
    }
    if let Some(p) = var("HF_HOME") {
        return Some(p.join("hub"));
    }
    if let Some(p) = var("XDG_CACHE_HOME") {
        return Some(p.join("huggingface").join("hub"));
    }
    var("HOME").map(|h| h.join(".cache").join("huggingface").join("hub"))
}

/// Repository ids to look for: the name itself, and the other name of the GPT-2 checkpoints that moved
/// from the hub's root into organisations (`gpt2` is now `openai-community/gpt2`).
pub fn repo_candidates(name: &str) -> Vec<String> {
    const MOVED: [(&str, &str); 5] = [
        ("gpt2", "openai-community/gpt2"),
        ("gpt2-medium", "openai-community/gpt2-medium"),
        ("gpt2-large", "openai-community/gpt2-large"),
        ("gpt2-xl", "openai-community/gpt2-xl"),
        ("distilgpt2", "distilbert/distilgpt2"),
    ];
    let mut out = vec![name.to_string()];
    for (old, new) in MOVED {
        if name == old {
            out.push(new.into());
        } else if name == new {
            out.push(old.into());
        }
    }
    out
}

/// `models--ORG--NAME` for `ORG/NAME`.
pub fn repo_folder_name(repo_id: &str) -> String {
    format!("models--{}", repo_id.replace('/', "--"))
}

/// The snapshot folder of `repo_id` in `cache`: the revision refs/main names, else the only snapshot.
pub fn find_snapshot(cache: &Path, repo_id: &str) -> Option<PathBuf> {
    let repo = cache.join(repo_folder_name(repo_id));
    let snapshots = repo.join("snapshots");
    if let Ok(rev) = std::fs::read_to_string(repo.join("refs").join("main")) {
        let dir = snapshots.join(rev.trim());
        if dir.is_dir() {
            return Some(dir);
        }
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&snapshots)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    (dirs.len() == 1).then(|| dirs.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_names_and_paths() {
        assert!(is_hub_name("gpt2"));
        assert!(is_hub_name("openai-community/gpt2"));
        assert!(is_hub_name("distilgpt2"));
        assert!(!is_hub_name("./gpt2"));
        assert!(!is_hub_name("/tmp/x"));
        assert!(!is_hub_name("a/b/c"));
        assert!(!is_hub_name(".."));
    }

    #[test]
    fn moved_repos_are_tried_under_both_names() {
        assert_eq!(
            repo_candidates("gpt2"),
            vec!["gpt2", "openai-community/gpt2"]
        );
        assert_eq!(
            repo_candidates("distilbert/distilgpt2"),
            vec!["distilbert/distilgpt2", "distilgpt2"]
        );
        assert_eq!(repo_candidates("me/my-gpt"), vec!["me/my-gpt"]);
        assert_eq!(
            repo_folder_name("openai-community/gpt2"),
            "models--openai-community--gpt2"
        );
    }
}
